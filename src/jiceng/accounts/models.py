"""Staff accounts, their roles at region nodes, and API tokens."""

import datetime
import hashlib

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.crypto import salted_hmac

from jiceng.accounts.roles import ASSIGNMENT_CHOICES, ASSIGNMENT_KINDS, ROLE_CHOICES, ROLES
from jiceng.core.access import minimal_prefixes
from jiceng.core.fields import RegionCodeField
from jiceng.core.personal import PersonalField
from jiceng.core.region_codes import common_ancestor, county_of


class Department(models.Model):
    """职能部门、公用事业单位或物业服务企业 whose staff handle the requests routed to it:
    specialist grid workers (专业网格员), a property company's part-time grid workers
    (物业兼职网格员)."""

    class Kind(models.TextChoices):
        DEPARTMENT = "department", "县直部门"
        UTILITY = "utility", "公用事业单位"
        PROPERTY = "property", "物业服务企业"

    region_code = RegionCodeField(db_index=True, help_text="所属县（市、区）")
    name = models.CharField("名称", max_length=64)
    kind = models.CharField("类别", max_length=16, choices=Kind.choices)
    # A property company is also a unit of the register (实有单位), where its party
    # branch (红色物业) is attached.
    organization = models.OneToOneField(
        "places.Organization",
        verbose_name="实有单位",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="department",
    )

    class Meta:
        verbose_name = verbose_name_plural = "部门与单位"
        ordering = ["region_code", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["region_code", "name"], name="department_name")
        ]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    """A staff account. Each person has their own; nobody shares one (等保 2.0)."""

    region_code = RegionCodeField(
        "所属区划", blank=True, db_index=True, help_text="管理本账号的区划；账号管理按此限定范围"
    )
    full_name = models.CharField("姓名", max_length=64, blank=True)
    phone = PersonalField("手机号", kind="phone", blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name="所属部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="staff",
    )
    login_unlocked_at = models.DateTimeField(
        "解锁时间", null=True, blank=True, help_text="此前的登录失败不再计入锁定"
    )
    password_must_change = models.BooleanField(
        "须修改密码", default=False, help_text="初始或重置的密码，登录后须先修改"
    )
    # Raised to end every signed-in session of the account without changing its password
    # (a second factor taken away: a lost phone may go with a laptop still signed in).
    session_epoch = models.PositiveIntegerField("会话代次", default=0, db_default=0)

    class Meta:
        verbose_name = verbose_name_plural = "账号"

    def __str__(self) -> str:
        return self.full_name or self.username

    def _get_session_auth_hash(self, secret=None):
        """What a session keeps of the account to stay valid: its password, as Django's,
        and its session epoch."""
        return salted_hmac(
            "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash",
            f"{self.password}:{self.session_epoch}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    def active_memberships(self) -> list["Membership"]:
        """This account's roles, read once per request (the user object lives that long)."""
        cached = self.__dict__.get("_memberships")
        if cached is None:
            cached = list(self.memberships.filter(is_active=True).order_by("region_code"))
            self.__dict__["_memberships"] = cached
        return cached

    def audit_region_code(self) -> str:
        """Where this account's own doings (signing in and out, its tokens) are audited:
        the county it is managed from and those of its roles, or the narrowest node above
        them all when they are several (a city); "" for none (the platform operator), which
        an auditor above the counties reads."""
        homes = [m.region_code for m in self.active_memberships()]
        if self.region_code:
            homes.append(self.region_code)
        return common_ancestor(county_of(code) for code in homes)

    def role_codes(self) -> set[str]:
        """The roles this account holds now (core.step_up asks who needs a second factor)."""
        return {m.role for m in self.active_memberships() if m.is_current()}

    def scope_codes(self, permission: str) -> tuple[str, ...]:
        """Where a role held at a region node grants `permission` (the node and below). A
        membership that names a building or another object grants nothing here: it is an
        assignment (accounts.assignments, read through core.access)."""
        # The platform operator (superuser) configures the platform and holds no data role.
        if not self.is_active or self.is_superuser:
            return ()
        return minimal_prefixes(
            m.region_code
            for m in self.active_memberships()
            if permission in m.permissions and not m.is_assignment and m.is_current()
        )


class Membership(models.Model):
    """任职: a role held at a region node. The node bounds everything the role may touch.

    A membership may instead be an assignment to one object (core.access.Assignment),
    reaching only that object and what lies in it: a role held at buildings (楼栋长) names
    its `building`; a post of accounts.roles.ASSIGNMENT_KINDS (党支部书记) names its object
    by `object_id`, of the kind's model. region_code is then where the object lies.
    `valid_from`/`valid_until` bound a term (a day outside it grants nothing)."""

    user = models.ForeignKey(
        User, verbose_name="账号", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField("角色", max_length=32, choices=ROLE_CHOICES + ASSIGNMENT_CHOICES)
    region_code = RegionCodeField(db_index=True)
    object_id = models.PositiveBigIntegerField(
        "任命对象", null=True, blank=True, help_text="党支部书记等：所任的那一个对象"
    )
    valid_from = models.DateField("任期开始", null=True, blank=True)
    valid_until = models.DateField("任期结束", null=True, blank=True)
    building = models.ForeignKey(
        "places.Building",
        verbose_name="楼栋",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="楼栋长只管本楼栋",
    )
    work_phone = models.CharField(
        "公开工作电话",
        max_length=20,
        blank=True,
        db_default="",
        help_text="网格岗位对外公布的工作电话，印在二维码海报上；不是本人手机号",
    )
    is_active = models.BooleanField("有效", default=True)
    created_at = models.DateTimeField("授予时间", auto_now_add=True)
    created_by = models.ForeignKey(
        User,
        verbose_name="授予人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "角色任职"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "region_code"],
                condition=models.Q(object_id__isnull=True),
                name="membership_unique",
            ),
            models.UniqueConstraint(
                fields=["user", "role", "object_id"],
                condition=models.Q(object_id__isnull=False),
                name="membership_unique_object",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_until__isnull=True)
                | models.Q(valid_from__isnull=True)
                | models.Q(valid_until__gte=models.F("valid_from")),
                name="membership_term_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} @ {self.region_code}"

    @property
    def is_assignment(self) -> bool:
        """Held at one object (a building, a branch), not at a region node."""
        return self.building_id is not None or self.object_id is not None

    @property
    def object_type(self) -> str:
        """The model label of the object an assignment names ("" for a region role)."""
        if self.building_id is not None:
            return "places.building"
        kind = ASSIGNMENT_KINDS.get(self.role)
        return kind.object_type if kind and self.object_id is not None else ""

    def is_current(self, today: datetime.date | None = None) -> bool:
        today = today or timezone.localdate()
        return (self.valid_from is None or self.valid_from <= today) and (
            self.valid_until is None or today <= self.valid_until
        )

    @property
    def permissions(self) -> frozenset[str]:
        kind = ASSIGNMENT_KINDS.get(self.role)
        if kind is not None:  # a post held at one object grants nothing without it
            ok = self.object_id is not None and self.building_id is None
            return kind.permissions if ok else frozenset()
        role = ROLES.get(self.role)
        if role is None or self.object_id is not None:
            return frozenset()
        # A role held at buildings grants nothing without one, and a building grants
        # nothing to a role held at region nodes: a row made before the rule (a captain
        # posted to a whole grid) must not open the grid.
        if ("building" in role.levels) != (self.building_id is not None):
            return frozenset()
        return role.permissions


class GrantBatch(models.Model):
    """授权批次: sensitive roles requested together (an account import) and signed together."""

    region_code = RegionCodeField(db_index=True, help_text="申请人所在县（市、区）")
    name = models.CharField("说明", max_length=200)
    created_by = models.ForeignKey(
        User, verbose_name="申请人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("申请时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "授权批次"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class GrantRequest(models.Model):
    """待审批授权: a role with reveal, export, audit or security rights, which takes effect
    once two security administrators (neither of them the account itself) have signed it.
    A request by the system administrator (an account import) carries no signature yet; a
    security administrator's own request carries theirs."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审批"
        APPROVED = "approved", "已生效"
        REFUSED = "refused", "已驳回"

    user = models.ForeignKey(
        User, verbose_name="账号", on_delete=models.CASCADE, related_name="grant_requests"
    )
    role = models.CharField("角色", max_length=32, choices=ROLE_CHOICES)
    region_code = RegionCodeField(db_index=True)
    batch = models.ForeignKey(
        GrantBatch,
        verbose_name="批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="requests",
    )
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        User, verbose_name="申请人", on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField("申请时间", auto_now_add=True)
    first_signed_by = models.ForeignKey(
        User,
        verbose_name="授予人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    first_signed_at = models.DateTimeField("授予时间", null=True, blank=True)
    second_signed_by = models.ForeignKey(
        User,
        verbose_name="审批人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField("办结时间", null=True, blank=True)
    decided_by = models.ForeignKey(
        User,
        verbose_name="办结人",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    reason = models.CharField("驳回理由", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "待审批授权"
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "region_code"],
                condition=models.Q(status="pending"),
                name="grant_request_one_pending",
            ),
            models.CheckConstraint(
                condition=models.Q(second_signed_by__isnull=True)
                | ~models.Q(second_signed_by=models.F("first_signed_by")),
                name="grant_request_two_signers",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_role_display()} @ {self.region_code}"


class ApiToken(models.Model):
    """个人访问令牌 for the API. Only a digest is stored; the token is shown once."""

    PREFIX = "jct_"

    user = models.ForeignKey(
        User, verbose_name="账号", on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField("用途", max_length=64, blank=True)
    digest = models.CharField("摘要", max_length=64, unique=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    expires_at = models.DateTimeField("过期时间")
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    # When its issue passed the second factor: a token issued without one (the account did
    # not need one then) stops working once the account needs one.
    second_factor_at = models.DateTimeField("动态口令验证时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "API 令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.name}"

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


class SecondFactor(models.Model):
    """动态口令: a staff account's TOTP secret (RFC 6238, for an authenticator app), sealed
    like personal data; confirmed once the holder has typed a code from it. `last_step` is
    the time step of the last code accepted: no code of that step or an earlier one is
    accepted again (a code seen over a shoulder cannot be replayed). `sms_digest` is the
    digest of the last code sent by SMS, until it is used or expires."""

    user = models.OneToOneField(
        User, verbose_name="账号", on_delete=models.CASCADE, related_name="second_factor"
    )
    secret = PersonalField("密钥", kind="text")
    created_at = models.DateTimeField("生成时间", auto_now_add=True)
    confirmed_at = models.DateTimeField("绑定时间", null=True, blank=True)
    last_step = models.BigIntegerField("最近使用的时间步", default=0)
    sms_digest = models.CharField("短信验证码摘要", max_length=64, blank=True)
    sms_expires_at = models.DateTimeField("短信验证码过期时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "动态口令"

    def __str__(self) -> str:
        return str(self.user)


class RecoveryCode(models.Model):
    """恢复码: one of the codes shown once at enrolment, for signing in without the phone.
    Only its digest is kept; each is accepted once."""

    factor = models.ForeignKey(
        SecondFactor,
        verbose_name="动态口令",
        on_delete=models.CASCADE,
        related_name="recovery_codes",
    )
    digest = models.CharField("摘要", max_length=64)
    used_at = models.DateTimeField("使用时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "恢复码"
        constraints = [
            models.UniqueConstraint(fields=["factor", "digest"], name="recovery_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.factor} {self.pk}"

    @staticmethod
    def digest_of(code: str) -> str:
        return hashlib.sha256(code.encode()).hexdigest()
