"""County settings for requests: the catalogue of request types and Open311 client apps."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from jiceng.accounts.models import Department
from jiceng.cases import services
from jiceng.cases.catalogue import category_update
from jiceng.cases.catalogue import question_add as catalogue_question_add
from jiceng.cases.catalogue import question_remove as catalogue_question_remove
from jiceng.cases.models import Category, Open311Client, Question
from jiceng.core.access import require, scope_filter, scopes
from jiceng.core.actors import Actor
from jiceng.core.calendar import UNITS
from jiceng.core.errors import DomainError
from jiceng.core.region_codes import county_of


def _county(user) -> str:
    require(user, "cases.manage_catalogue")
    return county_of(scopes(user, "cases.manage_catalogue")[0])


@require_http_methods(["GET", "POST"])
def open311_clients(request):
    county = _county(request.user)
    new_key = ""
    if request.method == "POST":
        try:
            client, new_key = services.open311_client_create(
                actor=Actor.of(request), name=request.POST.get("name", ""), county_code=county
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, f"已为“{client.name}”生成 api_key，请立即复制保存，之后不再显示。"
            )
    clients = scope_filter(Open311Client.objects.all(), request.user, "cases.manage_catalogue")
    return render(
        request,
        "cases/settings/open311.html",
        {"clients": clients.order_by("-created_at"), "new_key": new_key, "county": county},
    )


@require_POST
def open311_client_active(request, pk: int):
    clients = scope_filter(Open311Client.objects.all(), request.user, "cases.manage_catalogue")
    client = get_object_or_404(clients, pk=pk)
    services.open311_client_set_active(
        actor=Actor.of(request), client=client, is_active=request.POST.get("active") == "1"
    )
    return redirect("cases_settings:open311")


class CategoryForm(forms.Form):
    name = forms.CharField(label="名称", max_length=64)
    is_active = forms.BooleanField(label="启用", required=False)
    accept_limit = forms.IntegerField(label="受理时限", min_value=1, max_value=60)
    accept_unit = forms.ChoiceField(label="单位", choices=UNITS)
    handle_limit = forms.IntegerField(label="办理时限", min_value=1, max_value=60)
    handle_unit = forms.ChoiceField(label="单位", choices=UNITS)
    check_limit = forms.IntegerField(label="核查时限", min_value=1, max_value=60)
    check_unit = forms.ChoiceField(label="单位", choices=UNITS)
    return_limit_days = forms.IntegerField(label="退单时限（工作日）", min_value=1, max_value=10)
    max_extension_days = forms.IntegerField(label="最多延期（工作日）", min_value=0, max_value=9)
    default_department = forms.TypedChoiceField(
        label="默认承办部门", coerce=int, required=False, empty_value=None
    )


@require_http_methods(["GET", "POST"])
def catalogue(request):
    county = _county(request.user)
    categories = (
        Category.objects.filter(region_code=county, parent__isnull=False)
        .select_related("parent", "default_department")
        .order_by("parent__sort_order", "sort_order")
    )
    return render(request, "cases/settings/catalogue.html", {"categories": categories})


@require_http_methods(["GET", "POST"])
def category_edit(request, pk: int):
    county = _county(request.user)
    category = get_object_or_404(Category, pk=pk, region_code=county, parent__isnull=False)
    departments = {d.pk: d for d in Department.objects.filter(region_code=county)}
    fields = list(CategoryForm.base_fields)
    initial = {name: getattr(category, name) for name in fields if name != "default_department"}
    initial["default_department"] = category.default_department_id
    form = CategoryForm(request.POST or None, initial=initial)
    form.fields["default_department"].choices = [("", "（所在网格的网格员）")] + [
        (pk, d.name) for pk, d in departments.items()
    ]
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data["default_department"] = departments.get(data["default_department"])
        try:
            category_update(actor=request.user, category=category, **data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"已保存“{category}”。")
            return redirect("cases_settings:catalogue")
    return render(
        request,
        "cases/settings/category.html",
        {
            "form": form,
            "category": category,
            "questions": category.questions.all(),
            "datatypes": Question.Datatype.choices,
        },
    )


@require_POST
def question_add(request, pk: int):
    county = _county(request.user)
    category = get_object_or_404(Category, pk=pk, region_code=county, parent__isnull=False)
    post = request.POST
    try:
        catalogue_question_add(
            actor=request.user,
            category=category,
            code=post.get("code", ""),
            label=post.get("label", ""),
            datatype=post.get("datatype", ""),
            required=post.get("required") == "on",
            values_text=post.get("values", ""),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已添加问题。")
    return redirect("cases_settings:category", pk=category.pk)


@require_POST
def question_remove(request, pk: int, question_pk: int):
    county = _county(request.user)
    question = get_object_or_404(
        Question, pk=question_pk, category_id=pk, category__region_code=county
    )
    catalogue_question_remove(actor=request.user, question=question)
    messages.success(request, "已删除问题。")
    return redirect("cases_settings:category", pk=pk)
