"""Pages for the region browser, people search, roster import and export."""

import json
import re
import tempfile
from pathlib import Path

from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.accounts.selectors import account_get, account_options, region_staff
from jiceng.core import approvals, personal
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, Forbidden, NotFound
from jiceng.core.masking import SPECIAL_GROUPS_MASK
from jiceng.core.numbers import whole_number
from jiceng.core.pagination import page_of
from jiceng.party.selectors import organization_counts
from jiceng.places import imports, selectors, services, widgets
from jiceng.places.models import Region
from jiceng.places.roster import IMPORT_LEVELS, write_template


@require_GET
def home(request):
    """The start page: the user's roles and the parts of the county they cover."""
    user = request.user
    memberships = user.active_memberships()
    regions = {
        r.code: r for r in Region.objects.filter(code__in=[m.region_code for m in memberships])
    }
    roots = selectors.regions_visible(user=user)
    figures = [
        {
            "region": region,
            "households": selectors.household_list(user=user, region_code=region.code).count(),
            "persons": selectors.person_list(user=user, region_code=region.code).count(),
        }
        for region in roots
        if has_permission(user, "people.view", region.code)
    ]
    for membership in memberships:  # a branch's secretary: which branch
        if membership.object_id is not None and membership.building_id is None:
            model = apps.get_model(membership.object_type)
            membership.held_at = model._base_manager.filter(pk=membership.object_id).first()
    return render(
        request,
        "places/home.html",
        {
            "roles": [(m, regions.get(m.region_code)) for m in memberships],
            "roots": roots,
            "figures": figures,
            "awaiting": approvals.awaiting(user).count(),
        },
    )


class ChildRegionForm(forms.Form):
    code = forms.CharField(label="编码", max_length=24)
    name = forms.CharField(label="名称", max_length=64)
    grid_kind = forms.ChoiceField(
        label="网格类型", choices=[("", "（非网格不填）"), *Region.GridKind.choices], required=False
    )


class GridForm(forms.Form):
    name = forms.CharField(label="名称", max_length=64)
    grid_kind = forms.ChoiceField(label="网格类型", choices=Region.GridKind.choices)
    leader = forms.TypedChoiceField(label="网格长", coerce=int, required=False, empty_value=None)
    boundary = forms.CharField(
        label="边界（GeoJSON）", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )

    def clean_boundary(self):
        text = self.cleaned_data["boundary"].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError("边界不是有效的 JSON。") from None


@require_GET
def region_detail(request, code: str):
    user = request.user
    region = selectors.region_get(user=user, code=code)
    context = {
        "region": region,
        "crumbs": selectors.region_breadcrumbs(user=user, region=region)[:-1],
        "can_export": has_permission(user, "people.export", code)
        and has_permission(user, "people.view_sensitive", code),
        "can_import": has_permission(user, "people.import", code)
        and has_permission(user, "people.view_sensitive", code)
        and region.level in IMPORT_LEVELS,
        "can_manage": has_permission(user, "regions.manage", code),
        "can_people": has_permission(user, "people.view", code),
        "can_riders": has_permission(user, "residents.riders", code),
        "can_dual": region.level == Region.Level.COMMUNITY
        and has_permission(user, "party.dual", code),
        "party_counts": organization_counts(user=user, region_code=code)
        if has_permission(user, "party.view", code)
        else None,
    }
    if region.is_grid:
        context["buildings"] = selectors.grid_buildings(user=user, grid=region)
        if context["can_people"]:
            context["organizations"] = selectors.organization_list(user=user, region_code=code)
        context["staff"] = region_staff(user=user, region_code=code)
        if context["can_manage"]:
            context["grid_form"] = GridForm(
                initial={
                    "name": region.name,
                    "grid_kind": region.grid_kind,
                    "leader": region.leader_id,
                    "boundary": json.dumps(region.boundary, ensure_ascii=False)
                    if region.boundary
                    else "",
                }
            )
            context["grid_form"].fields["leader"].choices = [
                ("", "（未设）"),
                *account_options(user=user, region_code=code),
            ]
    else:
        context["children"] = selectors.region_children(user=user, region=region)
        if context["can_manage"]:
            context["child_form"] = ChildRegionForm()
    return render(request, "places/region_detail.html", context)


@require_POST
def region_child_create(request, code: str):
    parent = selectors.region_get(user=request.user, code=code)
    form = ChildRegionForm(request.POST)
    if form.is_valid():
        try:
            child = services.region_create(
                actor=Actor.of(request),
                parent=parent,
                code=form.cleaned_data["code"],
                name=form.cleaned_data["name"],
                grid_kind=form.cleaned_data["grid_kind"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, f"已新增“{child.name}”。")
            return redirect("places:region", code=child.code)
    else:
        messages.error(request, "请填写编码和名称。")
    return redirect("places:region", code=parent.code)


@require_POST
def grid_update(request, code: str):
    grid = selectors.region_get(user=request.user, code=code)
    form = GridForm(request.POST)
    form.fields["leader"].choices = [
        ("", ""),
        *account_options(user=request.user, region_code=code),
    ]
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("places:region", code=code)
    leader = None
    if form.cleaned_data["leader"]:
        leader = account_get(user=request.user, pk=form.cleaned_data["leader"], region_code=code)
    try:
        services.grid_update(
            actor=Actor.of(request),
            grid=grid,
            name=form.cleaned_data["name"],
            grid_kind=form.cleaned_data["grid_kind"],
            leader=leader,
            boundary=form.cleaned_data["boundary"],
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "网格信息已保存。")
    return redirect("places:region", code=code)


@require_POST
def region_export(request, code: str):
    """Start an export; its page shows the progress and then offers the file."""
    region = selectors.region_get(user=request.user, code=code)
    job = imports.export_job_create(actor=Actor.of(request), region_code=region.code)
    return redirect("places:import_detail", pk=job.pk)


@require_GET
def building_detail(request, pk: int):
    user = request.user
    building = selectors.building_get(user=user, pk=pk)
    grid = selectors.region_get_any(code=building.region_code)
    may_appoint = has_permission(user, "places.captains", building.region_code)
    return render(
        request,
        "places/building_detail.html",
        {
            "building": building,
            "grid": grid,
            "crumbs": selectors.region_breadcrumbs(user=user, region=grid),
            "units": selectors.building_rooms(user=user, building=building),
            "posts": selectors.building_captains(building=building),
            "may_appoint": may_appoint,
            "candidates": selectors.building_residents(user=user, building=building)
            if may_appoint
            else [],
            "candidates_shown": selectors.CANDIDATES_SHOWN,
        },
    )


@require_POST
def building_captain(request, pk: int):
    """任命或免去楼栋长（胡同长）、单元长: a resident of the building's grid, by the grid
    worker or the community."""
    user = request.user
    building = selectors.building_get(user=user, pk=pk)
    unit_number = request.POST.get("unit", "")
    unit = None
    if unit_number:
        unit = building.units.filter(number=whole_number(unit_number) or 0).first()
        if unit is None:
            raise NotFound()
    chosen = whole_number(request.POST.get("person", ""))
    try:
        person = selectors.person_get(user=user, pk=chosen) if chosen else None
        services.captain_appoint(
            actor=Actor.of(request), building=building, person=person, unit=unit
        )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "已任命。" if person else "已免去。")
    return redirect("places:building", pk=building.pk)


@require_GET
def household_detail(request, pk: int):
    user = request.user
    household = selectors.household_get(user=user, pk=pk)
    grid = selectors.region_get_any(code=household.region_code)
    return render(
        request,
        "places/household_detail.html",
        {
            "household": household,
            "grid": grid,
            "crumbs": selectors.region_breadcrumbs(user=user, region=grid),
            "members": selectors.household_members(user=user, household=household),
            "can_reveal": has_permission(user, "people.view_sensitive", household.region_code),
        },
    )


@require_GET
def person_detail(request, pk: int):
    user = request.user
    person = selectors.person_get(user=user, pk=pk)
    grid = selectors.region_get_any(code=person.region_code)
    return render(
        request,
        "places/person_detail.html",
        {
            "person": person,
            "grid": grid,
            "crumbs": selectors.region_breadcrumbs(user=user, region=grid),
            "groups_mask": SPECIAL_GROUPS_MASK,
            "can_reveal": has_permission(user, "people.view_sensitive", person.region_code),
            "can_confirm": has_permission(user, "residents.confirm", person.region_code),
            "resident_account": getattr(person, "resident", None),
        },
    )


@require_POST
def person_reveal(request, pk: int, field: str):
    """Show one unmasked field (an htmx fragment). Audited by the service."""
    person = personal.reveal_target(
        actor=request.user, action="person.reveal", object_type="places.person", object_id=pk,
        find=lambda: selectors.person_get(user=request.user, pk=pk),
    )  # fmt: skip
    value = services.person_reveal(actor=Actor.of(request), person=person, field=field)
    return render(
        request, "places/_revealed.html", {"value": value, "is_phone": field.endswith("phone")}
    )


@require_GET
def search(request):
    user = request.user
    require(user, "people.view")
    query = request.GET.get("q", "").strip()
    region_code = request.GET.get("region", "").strip()
    error = ""
    results = []
    if region_code and not region_code.isdigit():
        region_code = ""
    if query:
        try:
            results = selectors.person_search(
                user=user, query=query, region_code=region_code or None
            )
        except DomainError as failure:
            error = failure.message
    template = "places/_search_results.html" if request.htmx else "places/search.html"
    return render(
        request,
        template,
        {
            "query": query,
            "region_code": region_code,
            "results": results,
            "error": error,
            "limit": selectors.SEARCH_LIMIT,
        },
    )


class ImportForm(forms.Form):
    region = forms.ChoiceField(label="导入到")
    file = forms.FileField(label="花名册文件（.xlsx、.xls 或 .csv）")


def _import_targets(user) -> list[tuple[str, str]]:
    options = []
    for region in selectors.region_options(user=user, permission="people.import"):
        options.append((region.code, f"{region.name}（{region.get_level_display()}）"))
        if region.level != Region.Level.GRID:
            for child in region.children.order_by("code"):
                options.append((child.code, f"　{child.name}"))
    return options


@require_http_methods(["GET", "POST"])
def import_list(request):
    user = request.user
    require(user, "people.import")
    form = ImportForm(request.POST or None, request.FILES or None, label_suffix="")
    form.fields["region"].choices = _import_targets(user)
    if request.GET.get("region"):
        form.initial["region"] = request.GET["region"]
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.import_job_create(
                actor=Actor.of(request),
                region_code=form.cleaned_data["region"],
                upload=form.cleaned_data["file"],
            )
        except DomainError as error:
            form.add_error("file" if error.field == "file" else None, error.message)
        else:
            return redirect("places:import_detail", pk=job.pk)
    jobs = page_of(request, imports.import_job_list(user=user), 20)
    return render(request, "places/import_list.html", {"form": form, "jobs": jobs})


@require_GET
def import_detail(request, pk: int):
    job = imports.import_job_get(user=request.user, pk=pk)
    template = "places/_import_status.html" if request.htmx else "places/import_detail.html"
    return render(
        request,
        template,
        {
            "job": job,
            "progress": imports.import_job_progress(job),
            "stalled": imports.is_stalled(job),
            "errors_expire_at": imports.error_workbook_expires_at(job),
            "errors_expired": imports.error_workbook_has_expired(job),
            # The job's own target, which its owner was allowed to import into.
            "region_name": selectors.region_get_any(code=job.region_code).name
            if job.is_finished
            else None,
            "back": imports.IMPORTERS[job.importer].back(job)
            if job.kind == job.Kind.IMPORT
            else None,
        },
    )


@require_GET
def export_file(request, pk: int):
    """The finished export, to the account that asked for it."""
    job = imports.import_job_get(user=request.user, pk=pk)
    if job.kind != job.Kind.EXPORT or job.status != job.Status.DONE or not job.file:
        return HttpResponse(
            "没有可下载的文件。", status=404, content_type="text/plain; charset=utf-8"
        )
    return FileResponse(job.file.open("rb"), as_attachment=True, filename=job.original_name)


@require_GET
def import_errors(request, pk: int):
    job = imports.import_job_get(user=request.user, pk=pk)
    if imports.error_workbook_has_expired(job):
        return HttpResponse(
            f"错误清单已超过保留期限（{settings.JICENG_ERROR_WORKBOOK_DAYS} 天）并已删除；"
            "请修改原文件后重新导入，将生成新的错误清单。",
            status=410,
            content_type="text/plain; charset=utf-8",
        )
    if not job.error_file:
        return HttpResponse("没有错误清单。", status=404, content_type="text/plain; charset=utf-8")
    return FileResponse(
        job.error_file.open("rb"),
        as_attachment=True,
        filename=f"错误清单-{Path(job.original_name).stem}.xlsx",
    )


@require_GET
def import_template(request):
    require(request.user, "people.import")
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115  closed by FileResponse
    write_template(handle.name)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="花名册导入模板.xlsx")


MOVE_TAB_LABELS = {"open": "待核实", "disputed": "有异议", "done": "已办结"}


@require_GET
def move_list(request):
    """迁入迁出核实: imports of persons registered in the user's grids (to confirm or
    dispute), disputes for the town to settle, and what was decided."""
    user = request.user
    if not any(has_permission(user, p) for p in selectors.MOVE_PERMISSIONS):
        require(user, "people.verify_move")
    tab = request.GET.get("tab", "")
    tab = tab if tab in MOVE_TAB_LABELS else "open"
    counts = selectors.move_check_counts(user=user)
    checks = page_of(request, selectors.move_checks(user=user, tab=tab), 50)
    tabs = [(key, label, counts[key]) for key, label in MOVE_TAB_LABELS.items()]
    return render(request, "places/move_list.html", {"tabs": tabs, "tab": tab, "checks": checks})


@require_http_methods(["GET", "POST"])
def move_detail(request, pk: int):
    user = request.user
    check = selectors.move_check_get(user=user, pk=pk)
    if request.method == "POST":
        action = request.POST.get("action", "")
        reason = request.POST.get("reason", "")
        try:
            if action == "confirm":
                services.move_confirm(actor=Actor.of(request), check=check)
                messages.success(request, "已确认迁出，该人员已迁入新网格。")
            elif action == "dispute":
                services.move_dispute(actor=Actor.of(request), check=check, reason=reason)
                messages.success(request, "已提出异议，等待乡镇（街道）裁决。")
            elif action in ("moved", "stayed"):
                services.move_settle(
                    actor=Actor.of(request), check=check, moved=action == "moved", reason=reason
                )
                messages.success(request, "已裁决。")
            else:
                raise DomainError("未知操作。", code="unknown_action")
        except DomainError as error:
            if error.status == 404:
                raise
            messages.error(request, error.message)
        return redirect("places:move", pk=check.pk)
    # The name the incoming registration bears now (a re-import may have changed it).
    incoming_name = check.incoming.name if check.incoming else check.incoming_name
    return render(
        request,
        "places/move_detail.html",
        {
            "check": check,
            "can_verify": check.status == check.Status.OPEN
            and has_permission(user, "people.verify_move", check.region_code),
            "can_settle": check.is_open
            and check.disputed_by_id != user.pk
            and has_permission(user, "people.settle_move", check.region_code),
            "incoming_name": incoming_name,
            "names_differ": incoming_name != check.person.name,
            "note_max": services.NOTE_MAX,
        },
    )


@require_GET
def region_picker(request):
    """The region picker's selects after a choice (an htmx fragment): the next level's
    nodes among those where the user holds one of the form's permissions."""
    name = request.GET.get("name", "")
    permissions = tuple(
        p for p in request.GET.get("for", "").split(",")[:4] if widgets.PERMISSION.match(p)
    )
    if not re.fullmatch(r"[a-z_]{1,40}", name) or not permissions:
        raise Forbidden()
    roots = widgets.picker_roots(request.user, permissions)
    if not roots:
        raise Forbidden()
    picker = widgets.RegionPicker(permissions)
    picker.user = request.user
    response = HttpResponse(picker.render(name, widgets.picked(request.GET.getlist(name), roots)))
    response["HX-Trigger"] = widgets.PICKED_EVENT
    return response
