"""Pages for signing in and out, one's password and tokens, managing staff accounts, and
the security administrators' signing of sensitive roles."""

import tempfile
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.accounts import imports, second_factor, selectors, services
from jiceng.accounts.models import ApiToken, Department, GrantRequest, Membership, User
from jiceng.accounts.roles import ADMINISTRATOR_ROLES, ROLES
from jiceng.core import personal, step_up
from jiceng.core.access import has_permission, require, scope_filter
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, Forbidden, NotFound
from jiceng.core.links import safe_next
from jiceng.core.pagination import page_of
from jiceng.places.models import Region
from jiceng.places.selectors import (
    building_options,
    region_options,
)
from jiceng.places.widgets import PICKED_EVENT, RegionPickerField, picked, picker_roots


class LoginForm(forms.Form):
    username = forms.CharField(label="账号", max_length=150)
    password = forms.CharField(label="密码", widget=forms.PasswordInput, max_length=128)


@login_not_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request):
    form = LoginForm(request.POST or None)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            user = services.login_check(
                actor=Actor.of(request),
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if step_up.needed(user):
                return _await_second_factor(request, user, next_url)
            login(request, user)
            return redirect(next_url or "home")
    return render(
        request,
        "accounts/login.html",
        {"form": form, "next": next_url, "second_factor_off": not settings.JICENG_SECOND_FACTOR},
    )


# --- the second factor ------------------------------------------------------------------------
# Between the password and the second factor the session is not signed in: it holds only
# PENDING (whose password passed, when, and where to go), which no page but the second
# factor's reads. login() happens once the code has passed.

PENDING = "second_factor_pending"
SHOWN = "second_factor_shown"  # the digest of the unconfirmed secret this session was shown
PENDING_MINUTES = 10


def _await_second_factor(request, user, next_url: str):
    if request.user.is_authenticated:
        logout(request)  # someone else's session on this browser ends here
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "next": next_url,
        "since": timezone.now().timestamp(),
    }
    return redirect("accounts:second_factor")


def _pending_user(request):
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict):
        return None
    if timezone.now().timestamp() - pending.get("since", 0) > PENDING_MINUTES * 60:
        del request.session[PENDING]
        return None
    return User.objects.filter(pk=pending.get("user"), is_active=True).first()


class CodeForm(forms.Form):
    code = forms.CharField(
        label="动态口令",
        max_length=32,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}
        ),
        error_messages={"required": "请输入动态口令。"},
    )


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _factor_page(request, user, *, on_pass, next_url: str, action: str):
    """Enrolment (QR code, then a code from it, then the recovery codes once) for an account
    without a second factor, else the code page (TOTP, recovery or SMS code)."""
    actor = Actor.staff(user)
    typed = request.method == "POST" and request.POST.get("send") != "sms"
    form = CodeForm(request.POST if typed else None)
    factor = second_factor.confirmed(user)
    if factor is None:
        seen = request.session.get(SHOWN, "")
        begun = second_factor.second_factor_begin(actor=actor, user=user, seen=seen)
        if request.method == "POST" and form.is_valid():
            try:
                codes = second_factor.second_factor_confirm(
                    actor=actor, user=user, code=form.cleaned_data["code"], seen=seen
                )
            except DomainError as error:
                form.add_error("code", error.message)
            else:
                request.session.pop(SHOWN, None)
                on_pass()
                return render(
                    request, "accounts/recovery_codes.html", {"codes": codes, "next": next_url}
                )
        request.session[SHOWN] = second_factor.shown(begun)
        return render(
            request,
            "accounts/second_factor_enrol.html",
            {
                "form": form,
                "uri": second_factor.provisioning_uri(begun),
                "secret": _grouped(personal.clear(begun.secret)),
                "next": next_url,
                "action": action,
            },
        )
    if request.method == "POST" and request.POST.get("send") == "sms":
        try:
            second_factor.second_factor_sms_send(actor=actor, user=user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "验证码已发到您登记的手机，5分钟内有效。")
        return redirect(action)
    if request.method == "POST" and form.is_valid():
        try:
            second_factor.second_factor_verify(
                actor=actor, user=user, code=form.cleaned_data["code"]
            )
        except DomainError as error:
            form.add_error("code", error.message)
        else:
            on_pass()
            return redirect(next_url)
    return render(
        request,
        "accounts/second_factor.html",
        {
            "form": form,
            "may_sms": second_factor.may_send_sms(user),
            "next": next_url,
            "action": action,
        },
    )


@login_not_required
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def second_factor_view(request):
    """The second step of signing in, for an account whose password has just passed."""
    user = _pending_user(request)
    if user is None:
        messages.error(request, "请重新登录。")
        return redirect("accounts:login")
    next_url = request.session[PENDING].get("next") or reverse("home")

    def signed_in():
        request.session.pop(PENDING, None)
        login(request, user)
        step_up.mark(request)

    return _factor_page(
        request,
        user,
        on_pass=signed_in,
        next_url=next_url,
        action=reverse("accounts:second_factor"),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def step_up_view(request):
    """再次验证: the second factor again, before a sensitive step (core.step_up)."""
    next_url = safe_next(
        request, request.POST.get("next") or request.GET.get("next"), reverse("home")
    )
    if not step_up.needed(request.user):
        return redirect(next_url)
    return _factor_page(
        request,
        request.user,
        on_pass=lambda: step_up.mark(request),
        next_url=next_url,
        action=step_up.verify_url(request, next_url),
    )


@require_POST
@step_up.step_up
def user_second_factor_reset(request, pk: int):
    """A security administrator takes an account's second factor away (audited)."""
    account = selectors.user_get(actor=request.user, pk=pk)
    try:
        second_factor.second_factor_reset(actor=Actor.of(request), user=account)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已重置动态口令：对方已退出登录，下次登录时须重新绑定。")
    return redirect("accounts:user_detail", pk=account.pk)


@require_POST
def logout_view(request):
    services.user_logout(actor=Actor.of(request), request=request)
    return redirect("accounts:login")


class PasswordForm(forms.Form):
    old_password = forms.CharField(label="原密码", widget=forms.PasswordInput)
    new_password = forms.CharField(label="新密码", widget=forms.PasswordInput)
    new_password_again = forms.CharField(label="再次输入新密码", widget=forms.PasswordInput)

    def clean(self):
        data = super().clean()
        if data.get("new_password") != data.get("new_password_again"):
            raise forms.ValidationError("两次输入的新密码不一致。")
        return data


@require_http_methods(["GET", "POST"])
def password_view(request):
    form = PasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not request.user.check_password(form.cleaned_data["old_password"]):
            form.add_error("old_password", "原密码不正确。")
        else:
            try:
                services.user_set_password(
                    actor=Actor.of(request), password=form.cleaned_data["new_password"]
                )
            except DomainError as error:
                form.add_error("new_password", error.message)
            else:
                update_session_auth_hash(request, request.user)
                messages.success(request, "密码已修改。")
                return redirect("home")
    return render(
        request,
        "accounts/password.html",
        {"form": form, "must_change": request.user.password_must_change},
    )


class UserForm(forms.Form):
    username = forms.CharField(label="账号", max_length=150, help_text=services.USERNAME_RULE)
    full_name = forms.CharField(label="姓名", max_length=64)
    phone = forms.CharField(
        label="手机号", max_length=20, help_text="本人手机：初始密码以短信发到这里，管理员看不到。"
    )
    region_code = forms.ChoiceField(label="所属区划")
    department = forms.TypedChoiceField(
        label="所属部门", coerce=int, required=False, empty_value=None
    )


class UserFilterForm(forms.Form):
    role = forms.ChoiceField(
        label="岗位",
        required=False,
        choices=[("", "全部岗位")] + [(r.code, r.label) for r in ROLES.values()],
        widget=forms.Select(attrs={"aria-label": "岗位"}),
    )
    region = RegionPickerField(
        label="区划", required=False, permissions=selectors.ACCOUNT_PERMISSIONS
    )


class GrantForm(forms.Form):
    role = forms.ChoiceField(label="角色", error_messages={"required": "请选择角色。"})
    region_code = RegionPickerField(label="任职区划", permissions=selectors.ACCOUNT_PERMISSIONS)
    building = forms.IntegerField(
        label="楼栋（楼栋长必选）",
        required=False,
        min_value=1,
        widget=forms.Select(choices=[("", "（选到网格后选择）")]),
    )


def _grant_form(user, data=None, account=None) -> GrantForm:
    """The roles this administrator may give or ask for (administrator roles are given
    only on the server), opening on no role; choosing a grid offers its buildings."""
    form = GrantForm(data)
    form.fields["region_code"].for_user(user)
    if account is not None:
        form.fields["building"].widget.attrs.update(
            {
                "hx-get": reverse("accounts:grant_buildings", args=[account.pk]),
                "hx-trigger": f"{PICKED_EVENT} from:body",
                "hx-include": "#picker-region_code",
            }
        )
    manages = has_permission(user, "users.manage")
    signs = has_permission(user, "security.grant")
    form.fields["role"].choices = [("", "请选择")] + [
        (role.code, role.label + ("（须两名安全管理员审批）" if role.is_sensitive else ""))
        for role in ROLES.values()
        if role.code not in ADMINISTRATOR_ROLES[1:] and (manages or (signs and role.is_sensitive))
    ]
    return form


def _manageable_regions(user) -> list[tuple[str, str]]:
    return [(r.code, r.name) for r in region_options(user=user, permission="users.manage")]


def _require_accounts(user) -> None:
    if not any(has_permission(user, p) for p in selectors.ACCOUNT_PERMISSIONS):
        raise Forbidden()


@require_http_methods(["GET", "POST"])
@step_up.step_up_writes
def user_list(request):
    _require_accounts(request.user)
    may_create = has_permission(request.user, "users.manage")
    query = request.GET.get("q", "").strip()[:50]
    form = UserForm(request.POST or None)
    form.fields["region_code"].choices = _manageable_regions(request.user)
    departments = {
        d.pk: d for d in scope_filter(Department.objects.all(), request.user, "users.manage")
    }
    form.fields["department"].choices = [("", "（无）")] + [
        (pk, d.name) for pk, d in departments.items()
    ]
    if request.method == "POST" and may_create and form.is_valid():
        data = form.cleaned_data
        try:
            account = services.user_create(
                actor=Actor.of(request),
                username=data["username"],
                full_name=data["full_name"],
                phone=data["phone"],
                region_code=data["region_code"],
                department=departments.get(data["department"]),
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                f"已创建账号 {account.username}，初始密码已发到本人手机；请为其分配岗位。",
            )
            return redirect("accounts:user_detail", pk=account.pk)
    filters = UserFilterForm(request.GET)
    filters.fields["region"].for_user(request.user)
    chosen = filters.cleaned_data if filters.is_valid() else {}
    users = selectors.user_list(
        actor=request.user,
        query=query,
        role=chosen.get("role", ""),
        region_code=chosen.get("region", ""),
    )
    return render(
        request,
        "accounts/user_list.html",
        {
            "users": page_of(request, users, 50),
            "filters": filters,
            "form": form if may_create else None,
            "query": query,
        },
    )


@require_GET
def user_detail(request, pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    memberships = list(
        account.memberships.filter(is_active=True)
        .select_related("building")
        .order_by("region_code")
    )
    pending = list(selectors.user_grant_requests(account=account))
    server_managed = any(m.role in selectors.SERVER_MANAGED for m in memberships) or any(
        g.role in selectors.SERVER_MANAGED for g in pending
    )
    return render(
        request,
        "accounts/user_detail.html",
        {
            "account": account,
            "memberships": memberships,
            "pending": pending,
            "grant_form": None if server_managed else _grant_form(request.user, account=account),
            "manages": has_permission(request.user, "users.manage", account.region_code)
            and not server_managed,
            "second_factor": second_factor.confirmed(account),
            "resets_second_factor": has_permission(
                request.user, "security.grant", account.region_code
            )
            and account.pk != request.user.pk
            and not server_managed,
        },
    )


@require_POST
@step_up.step_up
def user_grant(request, pk: int):
    """Give a role without sensitive rights, or file a sensitive one for signing."""
    account = selectors.user_get(actor=request.user, pk=pk)
    form = _grant_form(request.user, request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("accounts:user_detail", pk=account.pk)
    role = form.cleaned_data["role"]
    region_code = form.cleaned_data["region_code"]
    try:
        if ROLES[role].is_sensitive:
            services.grant_request(
                actor=Actor.of(request), user=account, role=role, region_code=region_code
            )
            messages.success(request, "已提交，须经两名安全管理员签批后生效。")
        else:
            services.membership_grant(
                actor=Actor.of(request),
                user=account,
                role=role,
                region_code=region_code,
                building=_grant_building(request.user, region_code, form.cleaned_data["building"]),
            )
            messages.success(request, "已分配岗位。")
    except DomainError as error:
        messages.error(request, error.message)
    return redirect("accounts:user_detail", pk=account.pk)


def _grant_building(user, region_code: str, pk: int | None):
    """The chosen building, looked up only among the grid's (so that an id from elsewhere
    is answered like one that does not exist)."""
    if pk is None:
        return None
    options = building_options(user=user, permission="users.manage", grid_code=region_code)
    building = next((b for b in options if b.pk == pk), None)
    if building is None:
        raise DomainError("该楼栋不在所填网格内。", code="building_scope", field="building")
    return building


@require_GET
def grant_buildings(request, pk: int):
    """The buildings of the grid chosen in the grant form's region picker (an htmx fragment)."""
    selectors.user_get(actor=request.user, pk=pk)
    code = picked(request.GET.getlist("region_code"), picker_roots(request.user, ("users.manage",)))
    buildings = (
        building_options(user=request.user, permission="users.manage", grid_code=code)
        if code
        else []
    )
    return render(request, "accounts/_grant_buildings.html", {"buildings": buildings})


@require_POST
@step_up.step_up
def user_revoke(request, pk: int, membership_pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    membership = Membership.objects.filter(pk=membership_pk, user=account).first()
    if membership is None:
        messages.error(request, "该岗位不存在。")
    else:
        try:
            services.membership_revoke(actor=Actor.of(request), membership=membership)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "已撤销岗位。")
    return redirect("accounts:user_detail", pk=account.pk)


@require_POST
@step_up.step_up
def user_set_active(request, pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    try:
        services.user_set_active(
            actor=Actor.of(request), user=account, is_active=request.POST.get("active") == "1"
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已保存。")
    return redirect("accounts:user_detail", pk=account.pk)


@require_POST
@step_up.step_up
def user_reset_password(request, pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    try:
        services.user_reset_password(actor=Actor.of(request), user=account)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "新密码已以短信发到本人手机，账号已解锁；对方登录后须修改密码。")
    return redirect("accounts:user_detail", pk=account.pk)


class ImportForm(forms.Form):
    file = forms.FileField(label="账号表（.xlsx、.xls 或 .csv）")


@require_http_methods(["GET", "POST"])
@step_up.step_up_writes
def user_import(request):
    """Accounts from a spreadsheet: every row checked first; first passwords go by SMS."""
    require(request.user, "users.manage")
    form = ImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with tempfile.NamedTemporaryFile(suffix=Path(upload.name).suffix.lower()) as source:
            for chunk in upload.chunks():
                source.write(chunk)
            source.flush()
            try:
                result = imports.account_import(
                    actor=Actor.of(request), path=Path(source.name), original_name=upload.name
                )
            except DomainError as error:
                form.add_error("file", error.message)
    return render(
        request,
        "accounts/user_import.html",
        {"form": form, "result": result, "roles": imports.IMPORTABLE},
    )


@require_GET
def user_import_template(request):
    require(request.user, "users.manage")
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115  closed by FileResponse
    imports.write_template(handle.name)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="账号导入模板.xlsx")


# --- the security administrators' signing ------------------------------------------------


@require_GET
def grant_list(request):
    """待审批授权: batches (one line each, with what this administrator may sign), single
    requests, and what was decided, each list paged."""
    pending = selectors.grant_requests_pending(actor=request.user)
    batches = []
    for batch in selectors.grant_batches_pending(actor=request.user):
        waiting = [g for g in pending.filter(batch=batch)]
        batch.pending = len(waiting)
        batch.signable = sum(not services.signable_refusal(Actor.of(request), g) for g in waiting)
        batches.append(batch)
    singles = page_of(request, pending.filter(batch__isnull=True), 50)
    decided = page_of(
        request, selectors.grant_requests_decided(actor=request.user), 50, parameter="done"
    )
    _mark_signable(Actor.of(request), singles)
    return render(
        request,
        "accounts/grant_list.html",
        {
            "batches": batches,
            "singles": singles,
            "decided": decided,
        },
    )


def _mark_signable(actor: Actor, grants) -> None:
    for grant in grants:
        grant.signable = not services.signable_refusal(actor, grant)


@require_GET
def grant_batch(request, pk: int):
    """One batch, every request in it, paged: what a signature on the batch signs."""
    batch = selectors.grant_batch_get(actor=request.user, pk=pk)
    requests = selectors.grant_requests_pending(actor=request.user).filter(batch=batch)
    page = page_of(request, requests, 100)
    _mark_signable(Actor.of(request), page)
    return render(
        request,
        "accounts/grant_batch.html",
        {
            "batch": batch,
            "page": page,
            "total": requests.count(),
            "signable": sum(not services.signable_refusal(Actor.of(request), g) for g in requests),
        },
    )


def _grant_text(grant: GrantRequest) -> str:
    region = Region.objects.filter(code=grant.region_code).values_list("name", flat=True).first()
    return f"{grant.user} {grant.get_role_display()}（{region or grant.region_code}）"


@require_POST
@step_up.step_up
def grant_sign(request, pk: int):
    grant = selectors.grant_request_get(actor=request.user, pk=pk)
    try:
        grant = services.grant_sign(actor=Actor.of(request), request=grant)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if grant.status == GrantRequest.Status.APPROVED:
            messages.success(request, f"已审批：{_grant_text(grant)} 已生效。")
        else:
            messages.success(request, f"已签批：{_grant_text(grant)}，待另一名安全管理员审批。")
    return redirect("accounts:grant_list")


@require_POST
@step_up.step_up
def grant_refuse(request, pk: int):
    grant = selectors.grant_request_get(actor=request.user, pk=pk)
    try:
        services.grant_refuse(
            actor=Actor.of(request), request=grant, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"已驳回：{_grant_text(grant)}。")
    return redirect("accounts:grant_list")


@require_POST
@step_up.step_up
def grant_batch_sign(request, pk: int):
    batch = selectors.grant_batch_get(actor=request.user, pk=pk)
    try:
        signed, left = services.grant_batch_sign(actor=Actor.of(request), batch=batch)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        note = f"，另有 {left} 项须由另一名安全管理员办理" if left else ""
        messages.success(request, f"已签批本批次 {signed} 项{note}。")
    return redirect("accounts:grant_list")


# --- one's own API tokens -----------------------------------------------------------------


@require_GET
def token_list(request):
    return render(
        request,
        "accounts/token_list.html",
        {
            "tokens": page_of(request, selectors.api_token_list(user=request.user)),
            "now": timezone.now(),
            "idle_days": settings.JICENG_API_TOKEN_IDLE_DAYS,
        },
    )


@require_POST
def token_revoke(request, pk: int):
    token = ApiToken.objects.filter(pk=pk, user=request.user).first()
    if token is None:
        raise NotFound()
    services.api_token_revoke(actor=Actor.of(request), token=token)
    messages.success(request, "令牌已吊销。")
    return redirect("accounts:token_list")
