"""Settings, read from environment variables only (see README, "Configuration")."""

import datetime
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value in (None, ""):
        if default is None:
            raise ImproperlyConfigured(f"Environment variable {name} must be set.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if value == "":
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}.") from None


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name, "").strip()
    if value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(env_str("JICENG_VAR_DIR", str(Path.cwd() / "var"))).resolve()

DEBUG = env_bool("JICENG_DEBUG", False)
if DEBUG:
    SECRET_KEY = env_str("JICENG_SECRET_KEY", "django-insecure-development-only-key")
else:
    SECRET_KEY = env_str("JICENG_SECRET_KEY")
# Personal data is sealed under subkeys of the master key (core.keys): 64 hex digits.
# Earlier master keys stay listed while `jiceng keys rotate` moves the data off them.
MASTER_KEY = env_str(
    "JICENG_MASTER_KEY",
    # A fixed key for development and the demo only, like the secret key above.
    "6465762d6f6e6c792d6d61737465722d6b65792d6e6f742d666f722d70726f64" if DEBUG else None,
)
MASTER_KEYS_PREVIOUS = env_list("JICENG_MASTER_KEYS_PREVIOUS", [])
ALLOWED_HOSTS = env_list("JICENG_ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("JICENG_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "ninja",
    "jiceng.core",
    "jiceng.places",
    "jiceng.accounts",
    "jiceng.party",
    "jiceng.cases",
    "jiceng.patrols",
    "jiceng.residents",
    "jiceng.gatherings",
    "jiceng.activities",
    "jiceng.points",
    "jiceng.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "jiceng.core.middleware.BodyLimitMiddleware",
    "jiceng.core.middleware.PrivateResponseMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "jiceng.core.middleware.NulByteMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "jiceng.core.middleware.OperatorAdminMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "jiceng.accounts.middleware.SignInCompleteMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "jiceng.core.middleware.LoginRequiredMiddleware",
    "jiceng.core.middleware.AuditContextMiddleware",
    "jiceng.core.middleware.DomainErrorMiddleware",
    "jiceng.core.middleware.DatabaseUnavailableMiddleware",
    "jiceng.core.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "jiceng.urls"
WSGI_APPLICATION = "jiceng.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "jiceng.core.context_processors.nav",
                "jiceng.cases.context_processors.inbox",
                "jiceng.residents.context_processors.resident",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("JICENG_DATABASE_URL", f"sqlite:///{VAR_DIR / 'jiceng.sqlite3'}"),
        conn_max_age=env_int("JICENG_DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # The embedded default: WAL lets readers run beside the one writer; IMMEDIATE takes
    # the write lock at BEGIN so two writers queue instead of deadlocking on upgrade.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("JICENG_TEST_SQLITE", ":memory:")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    # JIT compiling costs 50–70 ms on each figures or ranking query and saves less: our
    # queries are short, indexed and many (measured in bench/RESULTS.md, city scale).
    DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "jiceng.accounts.hashers.GeneratedPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "jiceng.accounts.validators.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "jiceng.accounts.validators.CharacterClassValidator"},
]
# 等保 2.0: lock an account after repeated failures, expire idle sessions. The lock holds
# for one account from one address, so that a stranger cannot lock every grid worker out;
# failures on one name from everywhere only slow its tries (one checked every so many
# seconds) and alert the auditor.
JICENG_LOGIN_MAX_FAILURES = env_int("JICENG_LOGIN_MAX_FAILURES", 5)
JICENG_LOGIN_LOCK_MINUTES = env_int("JICENG_LOGIN_LOCK_MINUTES", 15)
JICENG_LOGIN_FAILURES_PER_HOUR_ADDRESS = env_int("JICENG_LOGIN_FAILURES_PER_HOUR_ADDRESS", 100)
JICENG_LOGIN_ACCOUNT_ALERT = env_int("JICENG_LOGIN_ACCOUNT_ALERT", 20)
JICENG_LOGIN_SLOWDOWN_SECONDS = env_int("JICENG_LOGIN_SLOWDOWN_SECONDS", 10)
SESSION_COOKIE_AGE = env_int("JICENG_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# 等保 2.0 wants two factors for administrators and for staff who read personal data: the
# holders of these roles sign in with a TOTP code (an authenticator app, no outside
# service; recovery codes, or an SMS code by the county's gateway, if the phone is lost).
# The default is every role holding a reveal, export, account, security or audit right
# (accounts.roles.SENSITIVE_PERMISSIONS; a test keeps the two lists together). Approving
# a sensitive step (signing a grant) asks again once the last check is older than
# JICENG_STEP_UP_MINUTES (core.step_up). JICENG_SECOND_FACTOR=0 is for the demo only.
JICENG_SECOND_FACTOR = env_bool("JICENG_SECOND_FACTOR", True)
JICENG_SECOND_FACTOR_ROLES = env_list(
    "JICENG_SECOND_FACTOR_ROLES",
    [
        "county_admin",
        "security_admin",
        "auditor",
        "county_staff",
        "town_staff",
        "community_worker",
        "grid_worker",
        "specialist_grid_worker",
    ],
)
JICENG_STEP_UP_MINUTES = env_int("JICENG_STEP_UP_MINUTES", 5)
JICENG_API_TOKEN_DAYS = env_int("JICENG_API_TOKEN_DAYS", 30)
JICENG_API_TOKEN_IDLE_DAYS = env_int("JICENG_API_TOKEN_IDLE_DAYS", 7)
# Reveal quotas (core.quota): clear values one staff member may reveal in the last hour and
# since midnight; past them a security administrator may grant more for the day, and an
# emergency (flood, fire) takes an allowance at once, reviewed afterwards.
JICENG_REVEAL_PER_HOUR = env_int("JICENG_REVEAL_PER_HOUR", 30)
JICENG_REVEAL_PER_DAY = env_int("JICENG_REVEAL_PER_DAY", 100)
JICENG_REVEAL_EMERGENCY_EXTRA = env_int("JICENG_REVEAL_EMERGENCY_EXTRA", 50)
JICENG_REVEAL_EMERGENCY_HOURS = env_int("JICENG_REVEAL_EMERGENCY_HOURS", 2)


def env_office_hours(name: str, default: str) -> list[tuple[datetime.time, datetime.time]]:
    """Office hours as "08:30-12:00,13:30-17:30": working-hour time limits count only these."""
    periods = []
    for part in env_str(name, default).split(","):
        try:
            opens, closes = (datetime.time.fromisoformat(t.strip()) for t in part.split("-"))
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {part!r} is not like 08:30-12:00") from None
        if opens >= closes:
            raise ImproperlyConfigured(f"{name}: {part!r} closes before it opens")
        periods.append((opens, closes))
    return sorted(periods)


JICENG_OFFICE_HOURS = env_office_hours("JICENG_OFFICE_HOURS", "08:30-12:00,13:30-17:30")


def env_fraction(name: str, default: str) -> float:
    """A fraction strictly between 0 and 1, written as 0.67 or 2/3."""
    text = env_str(name, default)
    try:
        top, _, bottom = text.partition("/")
        value = float(top) / float(bottom or 1)
    except (ValueError, ZeroDivisionError):
        raise ImproperlyConfigured(f"{name} must be a fraction like 2/3, not {text!r}.") from None
    if not 0 < value < 1:
        raise ImproperlyConfigured(f"{name} must lie between 0 and 1, not {text!r}.")
    return value


# 黄牌: a step turns yellow once this share of its time limit (in office time) has passed.
JICENG_YELLOW_FRACTION = env_fraction("JICENG_YELLOW_FRACTION", "2/3")

# Resident requests.
JICENG_PHOTO_MAX_MB = env_int("JICENG_PHOTO_MAX_MB", 10)
JICENG_REOPEN_DAYS = env_int("JICENG_REOPEN_DAYS", 7)  # a resident may ask for rework this long
# Anonymous submissions an hour: past a sender's limit (per device token the server
# issued, per client address, per registered Open311 client app) they are refused; past a
# grid's, they are kept as suspect (可疑) for triage to confirm or void, and nobody is texted.
JICENG_INTAKE_PER_HOUR_DEVICE = env_int("JICENG_INTAKE_PER_HOUR_DEVICE", 5)
JICENG_INTAKE_PER_HOUR_ADDRESS = env_int("JICENG_INTAKE_PER_HOUR_ADDRESS", 20)
JICENG_INTAKE_PER_HOUR_CLIENT = env_int("JICENG_INTAKE_PER_HOUR_CLIENT", 600)
JICENG_INTAKE_PER_HOUR_GRID = env_int("JICENG_INTAKE_PER_HOUR_GRID", 60)
# What a limit per client address counts (sign-ins, intake): the address's network of
# this prefix length (an IPv6 host often holds a whole /64).
JICENG_ADDRESS_PREFIX_IPV4 = env_int("JICENG_ADDRESS_PREFIX_IPV4", 32)
JICENG_ADDRESS_PREFIX_IPV6 = env_int("JICENG_ADDRESS_PREFIX_IPV6", 64)
# The resident's tracking link by SMS (at submission and at 办结): at most so many a day to
# one number; lookups by 查询码 and the phone's last four digits, per address and per code.
JICENG_TRACKING_SMS_PER_DAY = env_int("JICENG_TRACKING_SMS_PER_DAY", 3)
JICENG_TRACKING_LOOKUPS_PER_HOUR = env_int("JICENG_TRACKING_LOOKUPS_PER_HOUR", 10)
NINJA_PAGINATION_CLASS = "jiceng.core.pagination.BoundedPagination"
# Codes checked per hour: strictly per phone, generously per client address (residents at
# one venue share its Wi-Fi at check-in).
JICENG_OTP_VERIFY_PER_HOUR_PHONE = env_int("JICENG_OTP_VERIFY_PER_HOUR_PHONE", 10)
JICENG_OTP_VERIFY_PER_HOUR_ADDRESS = env_int("JICENG_OTP_VERIFY_PER_HOUR_ADDRESS", 60)
# Points adjustments (积分调整) one worker adds alone: at most so many points in one entry
# and so many in a day (what they posted alone today and what they have waiting). A larger
# one is not posted but asked for approval (大额积分调整) and posted when a second person
# approves it; deductions post at once.
JICENG_POINTS_ADJUST_MAX_ENTRY = env_int("JICENG_POINTS_ADJUST_MAX_ENTRY", 200)
JICENG_POINTS_ADJUST_MAX_DAY_PER_WORKER = env_int("JICENG_POINTS_ADJUST_MAX_DAY_PER_WORKER", 500)
# The party register (party.services): how many years a committee serves before its
# re-election (换届) falls due — branches and general branches, committees above them,
# village organizations (STANDARDS); and how many days ahead a term's end is shown due.
JICENG_PARTY_TERM_YEARS = {
    "branch": env_int("JICENG_PARTY_TERM_YEARS_BRANCH", 3),
    "committee": env_int("JICENG_PARTY_TERM_YEARS_COMMITTEE", 5),
    "village": env_int("JICENG_PARTY_TERM_YEARS_VILLAGE", 5),
}
JICENG_PARTY_TERM_DUE_DAYS = env_int("JICENG_PARTY_TERM_DUE_DAYS", 90)
# A membership transfer within the county is to be done in so many working days.
JICENG_PARTY_TRANSFER_DAYS = env_int("JICENG_PARTY_TRANSFER_DAYS", 10)
# Disagreements a day an account may have when linking a member to a person by ID number
# (the number is checked against one the account sees only masked).
JICENG_PARTY_LINK_MISMATCHES_PER_DAY = env_int("JICENG_PARTY_LINK_MISMATCHES_PER_DAY", 5)
# Organization life each branch holds per quarter (STANDARDS: the member assembly
# quarterly, the committee and the group monthly, a party lecture at least quarterly, the
# theme day monthly); a committee meeting only where a committee exists, a group meeting
# only where groups exist.
JICENG_PARTY_RHYTHM = {
    "assembly": env_int("JICENG_PARTY_RHYTHM_ASSEMBLY", 1),
    "committee": env_int("JICENG_PARTY_RHYTHM_COMMITTEE", 3),
    "group": env_int("JICENG_PARTY_RHYTHM_GROUP", 3),
    "lecture": env_int("JICENG_PARTY_RHYTHM_LECTURE", 1),
    "theme_day": env_int("JICENG_PARTY_RHYTHM_THEME_DAY", 3),
}
# The address residents use (printed in QR codes), e.g. https://jiceng.county.gov.cn
JICENG_PUBLIC_URL = env_str("JICENG_PUBLIC_URL", "")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Uploads: rosters are the largest files we accept.
JICENG_MAX_UPLOAD_MB = env_int("JICENG_MAX_UPLOAD_MB", 100)
JICENG_INTAKE_MAX_PHOTOS = 3  # photos a resident may attach to a request
# Roster imports (places.roster): rows one account may import in 24 hours (empty: twice
# the persons confirmed in the target plus 1,000), and how many rows of one import meeting
# a registration outside the importer's reveal scope raise an alert for the auditor.
JICENG_IMPORT_ROWS_PER_DAY = env_int("JICENG_IMPORT_ROWS_PER_DAY", 0) or None
JICENG_IMPORT_ELSEWHERE_ALERT = env_int("JICENG_IMPORT_ELSEWHERE_ALERT", 50)
# A rejected import's error workbook (it repeats the offending cells) is kept this many
# days for the importer, then deleted; the uploaded roster goes when its import ends.
JICENG_ERROR_WORKBOOK_DAYS = env_int("JICENG_ERROR_WORKBOOK_DAYS", 30)
# The most audit events one .xlsx export may hold (a larger selection is to be narrowed).
JICENG_AUDIT_EXPORT_MAX = env_int("JICENG_AUDIT_EXPORT_MAX", 50_000)
# A request body larger than its sender may upload is refused before it is read
# (core.middleware.BodyLimitMiddleware): an anonymous sender at most the intake's photos,
# signed-in staff at most a roster, each with a megabyte for the rest of the form.
_MB = 1024 * 1024
JICENG_BODY_MAX_ANONYMOUS = (JICENG_PHOTO_MAX_MB * JICENG_INTAKE_MAX_PHOTOS + 1) * _MB
JICENG_BODY_MAX_STAFF = (JICENG_MAX_UPLOAD_MB + 1) * _MB
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_TEMP_DIR = None

# Messages leave through the outbox (core.outbox), sent by `jiceng worker`: SMS (one-time
# codes, first passwords, activity notices) and the outbound copy of staff's in-app
# notices, each channel through its own sender and gateway (core.senders).
JICENG_SMS_SENDER = env_str("JICENG_SMS_SENDER", "jiceng.core.senders.LogSender")
JICENG_SMS_WEBHOOK_URL = env_str("JICENG_SMS_WEBHOOK_URL", "")
JICENG_SMS_SIGNATURE = env_str("JICENG_SMS_SIGNATURE", "基层治理")  # as registered
JICENG_NOTIFY_SENDER = env_str("JICENG_NOTIFY_SENDER", "jiceng.core.senders.LogSender")
JICENG_NOTIFY_WEBHOOK_URL = env_str("JICENG_NOTIFY_WEBHOOK_URL", "")
JICENG_OUTBOX_MAX_ATTEMPTS = env_int("JICENG_OUTBOX_MAX_ATTEMPTS", 12)  # about 6 hours
JICENG_OUTBOX_RETRY_SECONDS = env_int("JICENG_OUTBOX_RETRY_SECONDS", 30)  # doubling, to 1 h
JICENG_OUTBOX_LEASE_SECONDS = env_int("JICENG_OUTBOX_LEASE_SECONDS", 60)  # then reclaimed
JICENG_OUTBOX_KEEP_DAYS = env_int("JICENG_OUTBOX_KEEP_DAYS", 90)
JICENG_SMS_PER_HOUR_RECIPIENT = env_int("JICENG_SMS_PER_HOUR_RECIPIENT", 10)  # 0: no cap
JICENG_NOTICE_PER_HOUR_RECIPIENT = env_int("JICENG_NOTICE_PER_HOUR_RECIPIENT", 60)
JICENG_WORKER_POLL_SECONDS = env_int("JICENG_WORKER_POLL_SECONDS", 2)

# Long jobs a page watches (roster imports): a thread after commit, or inline (tests,
# commands). See core.tasks.
JICENG_TASKS_EAGER = env_bool("JICENG_TASKS_EAGER", False)

# Security. Behind a TLS-terminating proxy in production; JICENG_HTTPS=0 only for the demo
# on a laptop and for the test suite.
HTTPS = env_bool("JICENG_HTTPS", True)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("JICENG_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
BEHIND_PROXY = env_bool("JICENG_BEHIND_PROXY", False)
if BEHIND_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("JICENG_LOG_LEVEL", "WARNING")},
}

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 100
