"""Deployment checks of our own (`jiceng check --deploy`): what would leak or silently
fail in production."""

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

SENDERS = {
    "JICENG_SMS_SENDER": "JICENG_SMS_WEBHOOK_URL",
    "JICENG_NOTIFY_SENDER": "JICENG_NOTIFY_WEBHOOK_URL",
}


@checks.register(checks.Tags.security, deploy=True)
def senders(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The log senders write one-time codes and notices into the server's log: for the
    demo and development only. A webhook sender needs its gateway's address."""
    problems = []
    for name, url_name in SENDERS.items():
        sender = getattr(settings, name)
        if sender.endswith(".LogSender"):
            problems.append(
                checks.Error(
                    f"{name} is the log sender, which writes one-time codes into the log.",
                    hint=f"Set {name} to a WebhookSender and {url_name} to the SMS gateway.",
                    id="jiceng.E001",
                )
            )
        elif sender.endswith(".WebhookSender") and not getattr(settings, url_name):
            problems.append(
                checks.Error(f"{name} posts to {url_name}, which is not set.", id="jiceng.E002")
            )
    return problems


@checks.register()
def senders_exist(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A sender that cannot be imported would fail only when the worker first sends."""
    problems = []
    for name in SENDERS:
        try:
            import_string(getattr(settings, name))
        except ImportError:
            problems.append(
                checks.Error(
                    f"{name} names {getattr(settings, name)}, which cannot be imported.",
                    hint="Senders are jiceng.core.senders.WebhookSender and LogSender.",
                    id="jiceng.E003",
                )
            )
    return problems


@checks.register(checks.Tags.security, deploy=True)
def public_url(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """The tracking links texted to residents are addresses on JICENG_PUBLIC_URL: without
    it they would be bare paths nobody can open, so none is sent."""
    if settings.JICENG_PUBLIC_URL:
        return []
    return [
        checks.Error(
            "JICENG_PUBLIC_URL is not set: residents get no tracking link by SMS.",
            hint="Set it to the address residents reach the site at, e.g. https://jc.example.gov.cn",
            id="jiceng.E004",
        )
    ]


@checks.register()
def master_key(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """A wrong JICENG_MASTER_KEY fails at start-up, not at the first person read."""
    from django.core.exceptions import ImproperlyConfigured

    from jiceng.core import keys

    try:
        keys.verify()
    except ImproperlyConfigured as error:
        return [checks.Critical(str(error), id="jiceng.E010")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def second_factor(app_configs, **kwargs) -> list[checks.CheckMessage]:
    """等保 2.0 level 3 asks two factors of administrators and of staff who read personal
    data: JICENG_SECOND_FACTOR=0 is for the demo only."""
    if settings.JICENG_SECOND_FACTOR and settings.JICENG_SECOND_FACTOR_ROLES:
        return []
    return [
        checks.Warning(
            "The second factor is off (JICENG_SECOND_FACTOR=0 or JICENG_SECOND_FACTOR_ROLES "
            "empty): staff sign in with a password alone.",
            hint="Unset JICENG_SECOND_FACTOR (it defaults to on) for a deployment.",
            id="jiceng.W001",
        )
    ]
