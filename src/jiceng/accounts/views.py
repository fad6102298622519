"""Pages for signing in and out, one's password, and managing staff accounts."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_not_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.accounts import selectors, services
from jiceng.accounts.models import Department, Membership
from jiceng.accounts.roles import ROLE_CHOICES
from jiceng.core.access import require, scope_filter
from jiceng.core.errors import DomainError
from jiceng.places.selectors import building_options, region_options


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
                request=request,
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            login(request, user)
            return redirect(next_url or "home")
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


@require_POST
def logout_view(request):
    logout(request)
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
                    actor=request.user,
                    user=request.user,
                    password=form.cleaned_data["new_password"],
                )
            except DomainError as error:
                form.add_error("new_password", error.message)
            else:
                update_session_auth_hash(request, request.user)
                messages.success(request, "密码已修改。")
                return redirect("home")
    return render(request, "accounts/password.html", {"form": form})


class UserForm(forms.Form):
    username = forms.CharField(label="账号", max_length=150)
    full_name = forms.CharField(label="姓名", max_length=64)
    phone = forms.CharField(label="手机号", max_length=20, required=False)
    region_code = forms.ChoiceField(label="所属区划")
    department = forms.TypedChoiceField(
        label="所属部门", coerce=int, required=False, empty_value=None
    )
    password = forms.CharField(label="初始密码", widget=forms.PasswordInput)


class GrantForm(forms.Form):
    role = forms.ChoiceField(label="角色", choices=ROLE_CHOICES)
    region_code = forms.CharField(label="区划或网格编码", max_length=24)
    building = forms.IntegerField(
        label="楼栋（楼栋长必选）",
        required=False,
        min_value=1,
        widget=forms.Select(choices=[("", "（填网格编码后选择）")]),
    )


def _manageable_regions(user) -> list[tuple[str, str]]:
    return [
        (r.code, f"{r.name}（{r.code}）")
        for r in region_options(user=user, permission="users.manage")
    ]


@require_http_methods(["GET", "POST"])
def user_list(request):
    require(request.user, "users.manage")
    query = request.GET.get("q", "").strip()[:50]
    form = UserForm(request.POST or None)
    form.fields["region_code"].choices = _manageable_regions(request.user)
    departments = {
        d.pk: d for d in scope_filter(Department.objects.all(), request.user, "users.manage")
    }
    form.fields["department"].choices = [("", "（无）")] + [
        (pk, d.name) for pk, d in departments.items()
    ]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            account = services.user_create(
                actor=request.user,
                username=data["username"],
                full_name=data["full_name"],
                phone=data["phone"],
                region_code=data["region_code"],
                department=departments.get(data["department"]),
                password=data["password"],
            )
        except DomainError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"已创建账号 {account.username}，请为其分配岗位。")
            return redirect("accounts:user_detail", pk=account.pk)
    users = selectors.user_list(actor=request.user, query=query)[:200]
    return render(
        request, "accounts/user_list.html", {"users": users, "form": form, "query": query}
    )


@require_GET
def user_detail(request, pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    grant_form = GrantForm()
    grant_form.fields["region_code"].widget.attrs.update(
        {
            "hx-get": reverse("accounts:grant_buildings", args=[account.pk]),
            "hx-target": "#id_building",
            "hx-trigger": "change",
        }
    )
    return render(
        request,
        "accounts/user_detail.html",
        {
            "account": account,
            "memberships": account.memberships.filter(is_active=True)
            .select_related("building")
            .order_by("region_code"),
            "grant_form": grant_form,
        },
    )


@require_POST
def user_grant(request, pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    form = GrantForm(request.POST)
    if form.is_valid():
        region_code = form.cleaned_data["region_code"].strip()
        try:
            services.membership_grant(
                actor=request.user,
                user=account,
                role=form.cleaned_data["role"],
                region_code=region_code,
                building=_grant_building(request.user, region_code, form.cleaned_data["building"]),
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "已分配岗位。")
    else:
        messages.error(request, "请选择角色并填写区划编码。")
    return redirect("accounts:user_detail", pk=account.pk)


@require_POST
def user_revoke(request, pk: int, membership_pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    membership = Membership.objects.filter(pk=membership_pk, user=account).first()
    if membership is None:
        messages.error(request, "该岗位不存在。")
    else:
        try:
            services.membership_revoke(actor=request.user, membership=membership)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "已撤销岗位。")
    return redirect("accounts:user_detail", pk=account.pk)


@require_POST
def user_set_active(request, pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    try:
        services.user_set_active(
            actor=request.user, user=account, is_active=request.POST.get("active") == "1"
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已保存。")
    return redirect("accounts:user_detail", pk=account.pk)


@require_POST
def user_reset_password(request, pk: int):
    account = selectors.user_get(actor=request.user, pk=pk)
    try:
        services.user_set_password(
            actor=request.user, user=account, password=request.POST.get("password", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "密码已重置，账号已解锁。")
    return redirect("accounts:user_detail", pk=account.pk)


def _grant_building(user, region_code: str, pk: int | None):
    """The chosen building, looked up only among the grid's (so that an id from elsewhere
    is answered like one that does not exist)."""
    if pk is None:
        return None
    building = building_options(user=user, permission="users.manage", grid_code=region_code)
    building = building.filter(pk=pk).first()
    if building is None:
        raise DomainError("该楼栋不在所填网格内。", code="building_scope", field="building")
    return building


@require_GET
def grant_buildings(request, pk: int):
    """The buildings of the grid typed into the grant form (an htmx fragment)."""
    selectors.user_get(actor=request.user, pk=pk)
    code = request.GET.get("region_code", "").strip()
    buildings = (
        building_options(user=request.user, permission="users.manage", grid_code=code)
        if code.isdigit()
        else []
    )
    return render(request, "accounts/_grant_buildings.html", {"buildings": buildings})
