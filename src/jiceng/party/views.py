"""Pages of the party register: the tree (county → organizations → branch → members,
masked), an organization's page (committee, organizations below, members, twinning) and
its forms, a member's record, the 换届 queue, and first secretaries."""

import datetime
import io
import tempfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.core.access import assignments, has_permission, require, scopes
from jiceng.core.actors import Actor
from jiceng.core.deadlines import Clock
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.masking import mask_id_number, mask_phone
from jiceng.core.numbers import whole_number
from jiceng.core.pagination import page_of
from jiceng.core.region_codes import community_of, county_of
from jiceng.core.widgets import DateInput, TimeInput
from jiceng.gatherings.models import Venue
from jiceng.gatherings.selectors import venues_around
from jiceng.party import imports, selectors, services
from jiceng.party.models import (
    Appointment,
    DualEvaluation,
    DualReport,
    Meeting,
    MonthlyTheme,
    PartyMember,
    PartyOrganization,
)
from jiceng.party.workflow import PROCESS as TRANSFER
from jiceng.places.models import Region
from jiceng.places.selectors import (
    SEARCH_LIMIT,
    person_get,
    person_search,
    region_breadcrumbs,
    region_get,
    region_get_any,
)
from jiceng.places.services import import_job_create
from jiceng.residents.decorators import resident_required

K = PartyOrganization.Kind
MEMBERS_PER_PAGE = 50


def _refused(form: forms.Form, refusal: DomainError) -> None:
    form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)


@require_GET
def home(request):
    """党组织: the top of the user's tree, or the branch they keep."""
    user = request.user
    require(user, "party.view")
    codes = scopes(user, "party.view")
    if codes:
        return redirect("party:region", code=codes[0])
    held = assignments(user, selectors.ORGANIZATION, "party.view")
    return redirect("party:organization", pk=held[0].object_id)


@require_GET
def region_organizations(request, code: str):
    user = request.user
    region = region_get(user=user, code=code)
    organizations = selectors.organization_list(user=user, region_code=code)
    return render(
        request,
        "party/region.html",
        {
            "region": region,
            "crumbs": region_breadcrumbs(user=user, region=region),
            "page": page_of(request, organizations, 100),
            "counts": selectors.organization_counts(user=user, region_code=code),
            "may_manage": has_permission(user, "party.manage", code),
            "terms_due": has_permission(user, "party.manage", code),
        },
    )


@require_GET
def organization(request, pk: int):
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    members = selectors.member_list(user=user, organization=org)
    return render(
        request,
        "party/organization.html",
        {
            "org": org,
            "committee": selectors.committee(org),
            "children": selectors.children(org),
            "twinnings": selectors.twinnings(org),
            "page": page_of(request, members, MEMBERS_PER_PAGE),
            "member_count": members.count(),
            "may_manage": has_permission(user, "party.manage", org.region_code),
            "may_keep": has_permission(user, "party.branch", obj=org),
            "is_unit": org.kind in PartyOrganization.UNITS,
            "child_kinds": [
                (kind, K(kind).label)
                for kind, parents in PartyOrganization.PARENT_KINDS.items()
                if org.kind in parents
            ],
            "today": timezone.localdate(),
            "term_due": org.term_ends_on is not None
            and org.term_ends_on
            <= timezone.localdate() + datetime.timedelta(days=settings.JICENG_PARTY_TERM_DUE_DAYS),
        },
    )


# --- organizations ----------------------------------------------------------------------


class OrganizationForm(forms.Form):
    kind = forms.ChoiceField(label="类型", choices=K.choices)
    name = forms.CharField(label="名称", max_length=100)
    region_code = forms.ChoiceField(label="所在区划（网格）")
    founded_on = forms.DateField(label="成立日期", required=False, widget=DateInput())
    term_started_on = forms.DateField(
        label="本届任期开始（选举日期）", required=False, widget=DateInput()
    )


def _regions_under(parent: PartyOrganization | None, user) -> list[tuple[str, str]]:
    """Where a new organization may sit: the parent's node and the two levels below it
    (a community's grids), or the nodes the user keeps the register of."""
    if parent is None:
        roots = Region.objects.filter(code__in=scopes(user, "party.manage"))
        return [(r.code, r.name) for r in roots.order_by("code")]
    root = region_get_any(code=parent.region_code)
    levels = [root.level]
    for _ in range(2):
        levels.append(Region.CHILD_LEVEL.get(levels[-1]))
    nodes = Region.objects.filter(code__within=root.code, level__in=[x for x in levels if x])
    return [(r.code, r.name) for r in nodes.order_by("code")[:1000]]


@require_http_methods(["GET", "POST"])
def organization_new(request):
    """成立党组织 under a parent (`?parent=`), or a county committee at the top."""
    user = request.user
    require(user, "party.manage")
    parent_pk = whole_number(request.GET.get("parent") or request.POST.get("parent") or "")
    parent = selectors.organization_get(user=user, pk=parent_pk) if parent_pk else None
    if parent is not None:
        require(user, "party.manage", parent.region_code)
    kinds = [
        (kind, K(kind).label)
        for kind, parents in PartyOrganization.PARENT_KINDS.items()
        if (parent.kind in parents if parent else not parents)
    ]
    initial = {"kind": request.GET.get("kind", "")}
    form = OrganizationForm(request.POST or None, initial=initial)
    form.fields["kind"].choices = kinds
    form.fields["region_code"].choices = _regions_under(parent, user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.organization_create(
                actor=Actor.of(request),
                kind=data["kind"],
                name=data["name"],
                region_code=data["region_code"],
                parent=parent,
                founded_on=data["founded_on"],
                term_started_on=data["term_started_on"],
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            messages.success(request, f"已成立“{created.name}”。")
            return redirect("party:organization", pk=created.pk)
    return render(request, "party/organization_new.html", {"form": form, "parent": parent})


class OrganizationEditForm(forms.Form):
    name = forms.CharField(label="名称", max_length=100)
    founded_on = forms.DateField(label="成立日期", required=False, widget=DateInput())


@require_http_methods(["GET", "POST"])
def organization_edit(request, pk: int):
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.manage", org.region_code)
    form = OrganizationEditForm(
        request.POST or None, initial={"name": org.name, "founded_on": org.founded_on}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_update(
                actor=Actor.of(request),
                organization=org,
                name=form.cleaned_data["name"],
                parent=org.parent,
                founded_on=form.cleaned_data["founded_on"],
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            messages.success(request, "已保存。")
            return redirect("party:organization", pk=org.pk)
    return render(request, "party/form.html", {"form": form, "org": org, "title": "修改党组织"})


class CloseForm(forms.Form):
    closed_on = forms.DateField(label="撤销日期", widget=DateInput())
    reason = forms.CharField(label="撤销原因", max_length=200)


@require_http_methods(["GET", "POST"])
def organization_close(request, pk: int):
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.manage", org.region_code)
    form = CloseForm(request.POST or None, initial={"closed_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_close(
                actor=Actor.of(request),
                organization=org,
                closed_on=form.cleaned_data["closed_on"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            messages.success(request, f"“{org.name}”已撤销。")
            return redirect("party:organization", pk=org.pk)
    return render(
        request,
        "party/form.html",
        {
            "form": form,
            "org": org,
            "title": "撤销党组织",
            "danger": True,
            "note": "党组织不删除：撤销前须先转出全部党员、撤销下级组织；班子成员随之离任。",
        },
    )


class ElectForm(forms.Form):
    started_on = forms.DateField(label="选举日期（本届任期开始）", widget=DateInput())


@require_http_methods(["GET", "POST"])
def organization_elect(request, pk: int):
    """换届: the new committee's term starts."""
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.manage", org.region_code)
    form = ElectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.organization_elect(
                actor=Actor.of(request),
                organization=org,
                started_on=form.cleaned_data["started_on"],
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            messages.success(request, "已登记换届。")
            return redirect("party:organization", pk=org.pk)
    return render(request, "party/form.html", {"form": form, "org": org, "title": "登记换届"})


# --- committee ---------------------------------------------------------------------------


class AppointForm(forms.Form):
    member = forms.ModelChoiceField(
        label="党员", queryset=PartyMember.objects.none(), empty_label="请选择党员"
    )
    post = forms.ChoiceField(label="职务", choices=Appointment.Post.choices)
    started_on = forms.DateField(label="任职日期", widget=DateInput())
    account = forms.CharField(
        label="工作账号（书记、组织委员，选填）",
        max_length=150,
        required=False,
        help_text="填写后，该账号可维护本支部的党员和组织生活，任期届满或离任时自动收回。",
    )


def _appointable(org: PartyOrganization):
    """Members who may join the committee: of the organization or those below it."""
    ids = [org.pk]
    frontier = [org.pk]
    for _ in range(7):
        frontier = list(
            PartyOrganization.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)
        )
        if not frontier:
            break
        ids.extend(frontier)
    return PartyMember.objects.filter(
        organization_id__in=ids, left_on__isnull=True, person__isnull=False
    ).order_by("name", "pk")


@require_http_methods(["GET", "POST"])
def appoint(request, pk: int):
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.manage", org.region_code)
    form = AppointForm(request.POST or None, initial={"started_on": timezone.localdate()})
    form.fields["member"].queryset = _appointable(org)
    form.fields["member"].label_from_instance = lambda m: f"{m.name}（{m.organization}）"
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.appointment_create(
                actor=Actor.of(request),
                organization=org,
                member=data["member"],
                post=data["post"],
                started_on=data["started_on"],
                account=data["account"],
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            messages.success(request, "已登记任职。")
            return redirect("party:organization", pk=org.pk)
    note = (
        ""
        if form.fields["member"].queryset.exists()
        else "本组织及其下级还没有已关联实有人口的党员：请先登记党员，再任职。"
    )
    return render(
        request,
        "party/form.html",
        {"form": form, "org": org, "title": "班子成员任职", "note": note},
    )


@require_POST
def appointment_end(request, pk: int):
    user = request.user
    appointment = Appointment.objects.select_related("organization").filter(pk=pk).first()
    if appointment is None:
        raise NotFound()
    org = selectors.organization_get(user=user, pk=appointment.organization_id)
    require(user, "party.manage", org.region_code)
    try:
        services.appointment_end(
            actor=Actor.of(request),
            appointment=appointment,
            ended_on=_date(request.POST.get("ended_on")) or timezone.localdate(),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "已登记离任。")
    return redirect("party:organization", pk=org.pk)


def _date(text: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat((text or "").strip())
    except ValueError:
        return None


@require_http_methods(["GET", "POST"])
def twin(request, pk: int):
    """联建共建: find the organization to pair with by name, in the user's view."""
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.manage", org.region_code)
    query = (request.GET.get("q") or "").strip()[:50]
    found = []
    if query:
        found = list(
            selectors._organizations(user)
            .filter(name__contains=query, closed_on__isnull=True)
            .exclude(pk=org.pk)
            .order_by("region_code", "name")[:SEARCH_LIMIT]
        )
    if request.method == "POST":
        second_pk = whole_number(request.POST.get("second", ""))
        try:
            second = selectors.organization_get(user=user, pk=second_pk or 0)
            services.twinning_create(
                actor=Actor.of(request),
                first=org,
                second=second,
                started_on=_date(request.POST.get("started_on")) or timezone.localdate(),
                note=request.POST.get("note", ""),
            )
        except DomainError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, f"已与“{second.name}”结对共建。")
            return redirect("party:organization", pk=org.pk)
    return render(
        request,
        "party/twin.html",
        {"org": org, "query": query, "found": found, "today": timezone.localdate()},
    )


# --- members -----------------------------------------------------------------------------


class MemberForm(forms.Form):
    category = forms.ChoiceField(label="党员类别", choices=PartyMember.Category.choices)
    joined_on = forms.DateField(label="入党日期", widget=DateInput())
    full_on = forms.DateField(label="转正日期", required=False, widget=DateInput())
    work_unit = forms.CharField(label="工作单位", max_length=100, required=False)
    mobility = forms.ChoiceField(
        label="流动情况", choices=PartyMember.Mobility.choices, required=False
    )
    mobility_place = forms.CharField(label="流出（流入）地", max_length=100, required=False)


class NewMemberForm(MemberForm):
    name = forms.CharField(label="姓名", max_length=64, required=False)
    id_number = forms.CharField(label="身份证号", max_length=18, required=False)
    phone = forms.CharField(label="手机号", max_length=20, required=False)

    field_order = ["name", "id_number", "phone"]


@require_http_methods(["GET", "POST"])
def member_new(request, pk: int):
    """登记党员: pick the person from the register (staff who may see it), or enter one who
    is not in it by name and ID number."""
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.branch", obj=org)
    may_search = has_permission(user, "people.view")
    query = (request.GET.get("q") or "").strip()
    found, person = [], None
    try:
        if may_search and query:
            found = person_search(user=user, query=query)
        person_pk = whole_number(request.GET.get("person") or request.POST.get("person") or "")
        if may_search and person_pk:
            person = person_get(user=user, pk=person_pk)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    form = NewMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            member = services.member_add(
                actor=Actor.of(request),
                organization=org,
                person=person,
                name=data["name"],
                id_number=data["id_number"],
                phone=data["phone"],
                category=data["category"],
                joined_on=data["joined_on"],
                full_on=data["full_on"],
                work_unit=data["work_unit"],
                mobility=data["mobility"],
                mobility_place=data["mobility_place"],
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            messages.success(request, f"已登记党员 {member.name}。")
            return redirect("party:organization", pk=org.pk)
    return render(
        request,
        "party/member_new.html",
        {
            "org": org,
            "form": form,
            "may_search": may_search,
            "query": query,
            "found": found,
            "found_more": len(found) >= SEARCH_LIMIT,
            # A person holds one membership: who of those found holds one already.
            "members": set(
                PartyMember.objects.filter(person__in=found, left_on__isnull=True).values_list(
                    "person", flat=True
                )
            )
            if found
            else set(),
            "person": person,
        },
    )


@require_http_methods(["GET", "POST"])
def member(request, pk: int):
    """A member's record, and its correction by whoever keeps the branch."""
    user = request.user
    record = selectors.member_get(user=user, pk=pk)
    may_keep = record.is_current and has_permission(user, "party.branch", obj=record.organization)
    form = MemberForm(
        request.POST or None,
        initial={
            field: getattr(record, field)
            for field in (
                "category",
                "joined_on",
                "full_on",
                "work_unit",
                "mobility",
                "mobility_place",
            )
        },
    )
    if request.method == "POST":
        if not may_keep:
            raise NotFound()
        if form.is_valid():
            try:
                services.member_update(actor=Actor.of(request), member=record, **form.cleaned_data)
            except DomainError as refusal:
                _refused(form, refusal)
            else:
                messages.success(request, "已保存。")
                return redirect("party:member", pk=record.pk)
    return render(
        request,
        "party/member.html",
        {
            "member": record,
            "form": form,
            "may_keep": may_keep,
            "may_link": record.person_id is None
            and has_permission(user, "party.manage", record.region_code),
            "phone": mask_phone(record.phone) if record.phone else "",
            "today": timezone.localdate(),
            "may_see_person": record.person_id is not None
            and has_permission(user, "people.view", record.person.region_code),
        },
    )


@require_POST
def member_full(request, pk: int):
    user = request.user
    record = selectors.member_get(user=user, pk=pk)
    try:
        services.member_make_full(
            actor=Actor.of(request),
            member=record,
            on=_date(request.POST.get("on")) or timezone.localdate(),
        )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"{record.name} 已转为正式党员。")
    return redirect("party:member", pk=record.pk)


@require_http_methods(["GET", "POST"])
def member_link(request, pk: int):
    """关联实有人口: find the member's person in the register, masked."""
    user = request.user
    record = selectors.member_get(user=user, pk=pk)
    require(user, "party.manage", record.region_code)
    query = (request.GET.get("q") or record.name).strip()
    found = []
    try:
        found = person_search(user=user, query=query) if query else []
        if request.method == "POST":
            person = person_get(user=user, pk=whole_number(request.POST.get("person", "")) or 0)
            services.member_link(actor=Actor.of(request), member=record, person=person)
            messages.success(request, "已关联实有人口。")
            return redirect("party:member", pk=record.pk)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return render(
        request, "party/member_link.html", {"member": record, "query": query, "found": found}
    )


@require_GET
def terms(request):
    """换届提醒: committees whose term ends within the notice period, or has ended."""
    user = request.user
    require(user, "party.manage")
    due = selectors.terms_due(user=user)
    return render(
        request,
        "party/terms.html",
        {"page": page_of(request, due, 100), "today": timezone.localdate()},
    )


@require_GET
def duplicates(request):
    """疑似重复党籍: members entered twice under one ID number, pair by pair, to be
    resolved by a transfer or by closing the stray record."""
    user = request.user
    require(user, "party.manage")
    region_code = request.GET.get("region") or scopes(user, "party.manage")[0]
    require(user, "party.manage", region_code)
    rows = selectors.duplicate_members(user=user, region_code=region_code)
    return render(request, "party/duplicates.html", {"page": page_of(request, rows, 100)})


@require_GET
def first_secretaries(request):
    require(request.user, "party.view")
    page = page_of(request, selectors.first_secretary_list(user=request.user))
    rows = [(secretary, mask_phone(secretary.phone)) for secretary in page]
    return render(request, "party/first_secretaries.html", {"rows": rows, "page": page})


# --- membership transfers ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def transfer_new(request, pk: int):
    """组织关系转接: to a branch of the county, found by name; or out of the county."""
    user = request.user
    record = selectors.member_get(user=user, pk=pk)
    require(user, "party.branch", obj=record.organization)
    query = (request.GET.get("q") or "").strip()
    found = selectors.transfer_targets(user=user, member=record, query=query)
    if request.method == "POST":
        try:
            if request.POST.get("out") == "1":
                transfer = services.transfer_out_of_county(
                    actor=Actor.of(request),
                    member=record,
                    destination=request.POST.get("destination", ""),
                    reason=request.POST.get("reason", ""),
                    on=_date(request.POST.get("on")) or timezone.localdate(),
                )
            else:
                target = whole_number(request.POST.get("to", "")) or 0
                transfer = services.transfer_request(
                    actor=Actor.of(request),
                    member=record,
                    to_organization=_target(target),
                    reason=request.POST.get("reason", ""),
                )
        except DomainError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(request, "已登记组织关系转接。")
            return redirect("party:transfer", pk=transfer.pk)
    return render(
        request,
        "party/transfer_new.html",
        {"member": record, "query": query, "found": found, "today": timezone.localdate()},
    )


def _target(pk: int) -> PartyOrganization:
    """The branch chosen from the county's directory (the service checks its county)."""
    target = PartyOrganization.objects.filter(pk=pk).first()
    if target is None:
        raise NotFound()
    return target


@require_GET
def transfers(request):
    user = request.user
    require(user, "party.branch")
    clock = Clock.current()
    late = request.GET.get("late") == "1"
    page = page_of(request, selectors.transfer_list(user=user, late=late), 50)
    rows = [(t, clock.lateness(t)) for t in page]
    return render(request, "party/transfers.html", {"page": page, "rows": rows, "late": late})


@require_GET
def transfer(request, pk: int):
    user = request.user
    record = selectors.transfer_get(user=user, pk=pk)
    clock = Clock.current()
    return render(
        request,
        "party/transfer.html",
        {
            "transfer": record,
            "lateness": clock.lateness(record, kind=TRANSFER.name),
            "events": [(e, TRANSFER.steps[e.action].label) for e in record.events.all()],
            "actions": TRANSFER.available_actions(Actor.of(request), record),
        },
    )


TRANSFER_STEPS = {
    "release": lambda actor, t, post: services.transfer_release(actor=actor, transfer=t),
    "accept": lambda actor, t, post: services.transfer_accept(actor=actor, transfer=t),
    "return": lambda actor, t, post: services.transfer_return(
        actor=actor, transfer=t, reason=post.get("reason", "")
    ),
    "cancel": lambda actor, t, post: services.transfer_cancel(actor=actor, transfer=t),
}


@require_POST
def transfer_act(request, pk: int, action: str):
    step = TRANSFER_STEPS.get(action)
    record = selectors.transfer_get(user=request.user, pk=pk)
    if step is None:
        raise NotFound()
    try:
        step(Actor.of(request), record, request.POST)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"已{TRANSFER.steps[action].label}。")
    return redirect("party:transfer", pk=record.pk)


# --- organization life ---------------------------------------------------------------------


class MeetingForm(forms.Form):
    kind = forms.ChoiceField(label="会议类型", choices=Meeting.Kind.choices)
    title = forms.CharField(
        label="会议主题", max_length=80, required=False,
        help_text="主题党日留空则采用县委组织部发布的本月主题。",
    )  # fmt: skip
    date = forms.DateField(label="日期", widget=DateInput())
    start = forms.TimeField(label="开始", widget=TimeInput())
    end = forms.TimeField(label="结束", widget=TimeInput())
    venue = forms.ModelChoiceField(
        label="阵地", queryset=Venue.objects.none(), required=False, empty_label="不在阵地举行"
    )
    place = forms.CharField(label="地点说明", max_length=200, required=False)
    agenda = forms.CharField(
        label="议程", max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


@require_http_methods(["GET", "POST"])
def meeting_new(request, pk: int):
    """安排组织生活: members are put on the roster and told by SMS."""
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.branch", obj=org)
    form = MeetingForm(request.POST or None, initial={"kind": request.GET.get("kind", "")})
    form.fields["venue"].queryset = venues_around([org.region_code])
    theme = services.month_theme(org.region_code, timezone.localdate())
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        when = [
            timezone.make_aware(datetime.datetime.combine(data["date"], data[t]))
            for t in ("start", "end")
        ]
        try:
            meeting = services.meeting_schedule(
                actor=Actor.of(request),
                organization=org,
                kind=data["kind"],
                title=data["title"],
                starts_at=when[0],
                ends_at=when[1],
                venue=data["venue"],
                place=data["place"],
                agenda=data["agenda"],
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            messages.success(request, "已安排，并已短信通知本支部党员。")
            return redirect("party:meeting", pk=meeting.pk)
    return render(request, "party/meeting_new.html", {"org": org, "form": form, "theme": theme})


@require_GET
def meetings(request, pk: int):
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    page = page_of(request, selectors.meeting_list(user=user, organization=org), 50)
    return render(
        request,
        "party/meetings.html",
        {"org": org, "page": page, "may_keep": has_permission(user, "party.branch", obj=org)},
    )


@require_GET
def meeting(request, pk: int):
    user = request.user
    record = selectors.meeting_get(user=user, pk=pk)
    gathering = record.gathering
    signups = list(gathering.signups.select_related("person", "resident__person"))
    return render(
        request,
        "party/meeting.html",
        {
            "meeting": record,
            "gathering": gathering,
            "signups": signups,
            "present": sum(s.attendance == s.Attendance.CONFIRMED for s in signups),
            "on_leave": sum(s.attendance == s.Attendance.LEAVE for s in signups),
            "may_keep": has_permission(user, "party.branch", obj=record.organization),
            # Members not yet linked to a person are not on the roster: the keeper is told.
            "unlisted": 0
            if record.is_held
            else record.organization.members.filter(
                left_on__isnull=True, person__isnull=True
            ).count(),
        },
    )


MEETING_STEPS = {
    "begin": lambda actor, m, post: services.meeting_begin(actor=actor, meeting=m),
    "close": lambda actor, m, post: services.meeting_close(actor=actor, meeting=m),
    "cancel": lambda actor, m, post: services.meeting_cancel(
        actor=actor, meeting=m, reason=post.get("reason", "")
    ),
    "minutes": lambda actor, m, post: services.meeting_minutes(
        actor=actor,
        meeting=m,
        minutes=post.get("minutes", ""),
        resolutions=post.get("resolutions", ""),
    ),
}
MEETING_DONE = {"begin": "已开始签到。", "close": "已结束，出勤已确认。", "cancel": "已取消。",
                "minutes": "会议记录已归档。"}  # fmt: skip


@require_POST
def meeting_act(request, pk: int, action: str):
    step = MEETING_STEPS.get(action)
    record = selectors.meeting_get(user=request.user, pk=pk)
    if step is None:
        raise NotFound()
    try:
        step(Actor.of(request), record, request.POST)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, MEETING_DONE[action])
    return redirect("party:meeting", pk=record.pk)


class ThemeForm(forms.Form):
    month = forms.CharField(
        label="月份", max_length=7, widget=forms.TextInput(attrs={"type": "month"})
    )
    title = forms.CharField(label="主题", max_length=80)
    note = forms.CharField(label="说明", max_length=500, required=False)


@require_http_methods(["GET", "POST"])
def themes(request):
    """一月一主题: the county's theme calendar, set by its organization department."""
    user = request.user
    require(user, "party.view")
    codes = scopes(user, "party.view")
    held = assignments(user, selectors.ORGANIZATION, "party.view")
    county = county_of(codes[0] if codes else held[0].region_code)
    may_set = has_permission(user, "party.manage", county)
    form = ThemeForm(request.POST or None)
    if request.method == "POST":
        require(user, "party.manage", county)
        if form.is_valid():
            try:
                month = datetime.date.fromisoformat(form.cleaned_data["month"] + "-01")
            except ValueError:
                form.add_error("month", "请选择月份。")
            else:
                try:
                    services.theme_set(
                        actor=Actor.of(request), region_code=county, month=month,
                        title=form.cleaned_data["title"], note=form.cleaned_data["note"],
                    )  # fmt: skip
                except DomainError as refusal:
                    _refused(form, refusal)
                else:
                    messages.success(request, "已发布。")
                    return redirect("party:themes")
    rows = MonthlyTheme.objects.filter(region_code=county).order_by("-month")
    return render(
        request,
        "party/themes.html",
        {"rows": rows, "form": form, "may_set": may_set, "county": county},
    )


@require_GET
def completeness(request):
    """组织生活完成情况: held against required per branch for a quarter; `behind=1` lists
    only the branches behind."""
    user = request.user
    require(user, "party.view")
    codes = scopes(user, "party.view")
    region_code = request.GET.get("region") or (codes[0] if codes else "")
    if not region_code:
        held = assignments(user, selectors.ORGANIZATION, "party.view")
        region_code = held[0].region_code
    quarter = request.GET.get("quarter", "")
    first, last = selectors.quarter_bounds(quarter)
    try:
        rows = selectors.completeness(
            user=user, region_code=region_code, quarter=selectors.quarter_of(first)
        )
    except DomainError:
        raise NotFound() from None
    behind = [r for r in rows if r.behind]
    shown = behind if request.GET.get("behind") == "1" else rows
    previous = first - datetime.timedelta(days=1)
    return render(
        request,
        "party/completeness.html",
        {
            "page": page_of(request, shown, 100),
            "total": len(rows),
            "behind_count": len(behind),
            "quarter": selectors.quarter_of(first),
            "quarter_label": selectors.quarter_label(selectors.quarter_of(first)),
            "previous": selectors.quarter_of(previous),
            "following": selectors.quarter_of(last + datetime.timedelta(days=1)),
            "region_code": region_code,
            "only_behind": request.GET.get("behind") == "1",
            "in_progress": 0 < selectors.due_share(selectors.quarter_of(first)) < 1,
        },
    )


# --- import and ledger ---------------------------------------------------------------------


class MemberImportForm(forms.Form):
    file = forms.FileField(label="党员名册（.xlsx、.xls 或 .csv）")


@require_http_methods(["GET", "POST"])
def member_import(request, pk: int):
    """导入党员: through the one import pipeline; the result page is the pipeline's."""
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.branch", obj=org)
    form = MemberImportForm(request.POST or None, request.FILES or None, label_suffix="")
    if request.method == "POST" and form.is_valid():
        try:
            job = import_job_create(
                actor=Actor.of(request),
                region_code=org.region_code,
                upload=form.cleaned_data["file"],
                importer="party_members",
                target_id=org.pk,
            )
        except DomainError as refusal:
            _refused(form, refusal)
        else:
            return redirect("places:import_detail", pk=job.pk)
    return render(request, "party/member_import.html", {"org": org, "form": form})


@require_GET
def member_template(request):
    require(request.user, "party.branch")
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115  closed by FileResponse
    imports.write_template(handle.name)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename="党员名册导入模板.xlsx")


@require_GET
def ledger(request, pk: int):
    """党支部工作台账 of a year, masked, as .xlsx."""
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    year = whole_number(request.GET.get("year", "")) or timezone.localdate().year
    if not 2000 <= year <= 2100:
        raise NotFound()
    return _workbook(imports.write_ledger, request, org, year, f"{org.name}{year}年台账.xlsx")


@require_GET
def overview(request):
    """组织部总览 of a region the user keeps the register of."""
    user = request.user
    require(user, "party.manage")
    codes = scopes(user, "party.manage")
    region_code = request.GET.get("region") or codes[0]
    figures = selectors.overview(user=user, region_code=region_code)
    return render(request, "party/overview.html", {"o": figures})


# --- 双报到 ---------------------------------------------------------------------------------


def _communities(county: str) -> list[tuple[str, str]]:
    towns = dict(
        Region.objects.filter(code__within=county, level=Region.Level.TOWN).values_list(
            "code", "name"
        )
    )
    return [
        (c.code, f"{towns.get(c.parent_id, '')} · {c.name}")
        for c in Region.objects.filter(code__within=county, level=Region.Level.COMMUNITY).order_by(
            "code"
        )
    ]


class UnitReportForm(forms.Form):
    community = forms.ChoiceField(label="报到社区（村）")
    reported_on = forms.DateField(label="报到日期", widget=DateInput())
    commitments = forms.CharField(
        label="服务承诺（认领的服务项目）",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class MemberReportForm(forms.Form):
    member = forms.ModelChoiceField(
        label="在职党员", queryset=PartyMember.objects.none(), empty_label="请选择党员"
    )
    community = forms.ChoiceField(
        label="居住地社区（村）", required=False, help_text="已关联实有人口的，按其居住地"
    )


@require_http_methods(["GET", "POST"])
def dual_unit(request, pk: int):
    """双报到 of a unit: its report to a community, and its in-service members' reports to
    where they live, with the year's report."""
    user = request.user
    org = selectors.organization_get(user=user, pk=pk)
    require(user, "party.branch", obj=org)
    if org.kind not in PartyOrganization.UNITS:
        raise NotFound()
    own, reports = selectors.dual_of_unit(org)
    page = page_of(request, reports, 50)
    communities = _communities(county_of(org.region_code))
    unit_form = UnitReportForm(
        request.POST if request.POST.get("form") == "unit" else None,
        initial={"reported_on": timezone.localdate()},
    )
    unit_form.fields["community"].choices = communities
    member_form = MemberReportForm(request.POST if request.POST.get("form") == "member" else None)
    member_form.fields["member"].queryset = (
        org.members.filter(left_on__isnull=True)
        .exclude(
            pk__in=DualReport.objects.filter(ended_on__isnull=True, member__isnull=False).values(
                "member"
            )
        )
        .select_related("person")
        .order_by("name", "pk")
    )
    # Two of one name are told apart by their masked ID numbers.
    member_form.fields["member"].label_from_instance = lambda member: (
        f"{member.name}（{mask_id_number(member.known_id_number)}）"
    )
    member_form.fields["community"].choices = [("", "（按居住地）"), *communities]
    if request.method == "POST":
        form = unit_form if request.POST.get("form") == "unit" else member_form
        if form.is_valid():
            data = form.cleaned_data
            try:
                if form is unit_form:
                    services.unit_report(
                        actor=Actor.of(request), organization=org,
                        community_code=data["community"], reported_on=data["reported_on"],
                        commitments=data["commitments"],
                    )  # fmt: skip
                else:
                    services.member_report(
                        actor=Actor.of(request), member=data["member"],
                        community_code=data["community"],
                    )  # fmt: skip
            except DomainError as refusal:
                _refused(form, refusal)
            else:
                messages.success(request, "已登记报到。")
                return redirect("party:dual_unit", pk=org.pk)
    year = timezone.localdate().year
    return render(
        request,
        "party/dual_unit.html",
        {
            "org": org,
            "own": own,
            "page": page,
            "unit_form": unit_form,
            "member_form": member_form,
            "years": [year, year - 1],
        },
        status=400 if unit_form.errors or member_form.errors else 200,
    )


@require_GET
def dual_year(request, pk: int, year: int):
    org = selectors.organization_get(user=request.user, pk=pk)
    if org.kind not in PartyOrganization.UNITS or not 2000 <= year <= 2100:
        raise NotFound()
    return _workbook(
        imports.write_dual_year, request, org, year, f"{org.name}{year}年双报到报告.xlsx"
    )


def _workbook(write, request, org: PartyOrganization, year: int, name: str) -> HttpResponse:
    """A branch's workbook of a year (the ledger, the 双报到 report), written by `write`."""
    content = io.BytesIO()
    write(actor=Actor.of(request), organization=org, year=year, target=content)
    response = HttpResponse(
        content.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@require_GET
def dual_community(request, code: str):
    """双报到 at a community: the units and in-service members reported to it in a year
    (`?year=`, this year by default; the years since its first report are offered), what
    each did here that year, and its evaluation of each for that year."""
    user = request.user
    this_year = timezone.localdate().year
    year = whole_number(request.GET.get("year", "")) or this_year
    reports = selectors.dual_to_community(user=user, code=code, year=year)  # may they look
    first = DualReport.objects.filter(region_code=code).order_by("reported_on").first()
    years = list(range(this_year, (first.reported_on.year if first else this_year) - 1, -1))
    if year not in years:
        raise NotFound()
    page = page_of(request, reports, 50)
    page.object_list = selectors.dual_year_of(page.object_list, year)
    return render(
        request,
        "party/dual_community.html",
        {
            "region": region_get_any(code=code),
            "page": page,
            "grades": DualEvaluation.Grade.choices,
            "year": year,
            "years": years,
            "may_evaluate": has_permission(user, "party.dual", code),
        },
    )


def _dual_report(user, pk: int) -> DualReport:
    report = (
        DualReport.objects.select_related("organization", "member__organization")
        .filter(pk=pk)
        .first()
    )
    if report is None:
        raise NotFound()
    if not (
        has_permission(user, "party.dual", report.region_code)
        or has_permission(user, "party.branch", obj=report.unit)
    ):
        raise NotFound()
    return report


@require_POST
def dual_evaluate(request, pk: int):
    report = _dual_report(request.user, pk)
    try:
        services.dual_evaluate(
            actor=Actor.of(request), report=report,
            year=whole_number(request.POST.get("year", "")) or 0,
            grade=request.POST.get("grade", ""), comment=request.POST.get("comment", ""),
        )  # fmt: skip
        messages.success(request, "已记录评价。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    back = reverse("party:dual_community", args=[report.region_code])
    year = whole_number(request.POST.get("year", ""))
    return redirect(f"{back}?year={year}" if year else back)


@require_POST
def dual_end(request, pk: int):
    report = _dual_report(request.user, pk)
    try:
        services.dual_report_end(
            actor=Actor.of(request), report=report, reason=request.POST.get("reason", "")
        )
        messages.success(request, "已结束报到。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    # Back to the page it was ended from: the unit's (which says so), else the community's.
    if request.POST.get("back") != "unit" and has_permission(
        request.user, "party.dual", report.region_code
    ):
        return redirect("party:dual_community", code=report.region_code)
    return redirect("party:dual_unit", pk=report.unit.pk)


@resident_required
@require_http_methods(["GET", "POST"])
def me_dual(request):
    """党员报到: an in-service member, signed in as a resident linked to their person,
    reports to the community where they live."""
    resident = request.resident
    member = (
        PartyMember.objects.filter(person_id=resident.person_id, left_on__isnull=True)
        .select_related("organization", "person")
        .first()
        if resident.person_id
        else None
    )
    report = member.dual_reports.filter(ended_on__isnull=True).first() if member else None
    error = ""
    if request.method == "POST" and member is not None:
        try:
            services.member_report(actor=Actor.of_resident(resident), member=member)
        except DomainError as refusal:
            error = refusal.message
        else:
            messages.success(request, "已向居住地社区报到。")
            return redirect("me:dual")
    home = region_get_any(code=community_of(member.person.region_code)) if member else None
    # The community the report was made to: entered by the branch, or made before a move,
    # it need not be where the register says they live now.
    reported_to = region_get_any(code=report.region_code) if report else None
    return render(
        request,
        "party/me_dual.html",
        {
            "resident": resident,
            "member": member,
            "report": report,
            "reported_to": reported_to,
            "home": home,
            "in_service": member is not None
            and member.organization.kind in PartyOrganization.UNITS,
            "error": error,
        },
        status=400 if error else 200,
    )
