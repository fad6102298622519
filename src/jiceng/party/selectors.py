"""Scoped reads of the party register: organizations, their committees and members, the
terms falling due, and first secretaries. A role at a region reaches what lies in it; a
branch's secretary reaches their branch (and what lies in it) by assignment alone."""

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from jiceng.core.access import has_permission, reach_q, require, scope_filter, scopes
from jiceng.core.deadlines import Clock, open_deadlines, with_warn_at
from jiceng.core.errors import NotFound
from jiceng.core.region_codes import county_of, is_within
from jiceng.gatherings.kinds import Note
from jiceng.party.models import (
    Appointment,
    DualEvaluation,
    DualReport,
    FirstSecretary,
    Meeting,
    MonthlyTheme,
    PartyMember,
    PartyOrganization,
    Tally,
    Transfer,
    Twinning,
)
from jiceng.places.selectors import SEARCH_LIMIT

ORGANIZATION = "party.partyorganization"
K = PartyOrganization.Kind


def _organizations(user, permission: str = "party.view") -> QuerySet:
    """The organizations in the user's scope, and those assigned to them with what lies
    under them (a secretary's branch, its groups and contact households)."""
    return scope_filter(
        PartyOrganization.objects.all(),
        user,
        permission,
        via={ORGANIZATION: ("id", "parent_id", "parent__parent_id")},
    )


def with_secretary(organizations: QuerySet) -> QuerySet:
    """Each organization with `secretary_name` (its current secretary's, or None) and its
    current members' count."""
    secretary = Appointment.objects.filter(
        organization=OuterRef("pk"), post=Appointment.Post.SECRETARY, ended_on__isnull=True
    ).values("person__name")[:1]
    members = (
        PartyMember.objects.filter(organization=OuterRef("pk"), left_on__isnull=True)
        .order_by()
        .values("organization")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )
    return organizations.annotate(
        secretary_name=Subquery(secretary), member_count=Coalesce(Subquery(members), 0)
    )


def organization_list(*, user, region_code: str, include_closed: bool = False) -> QuerySet:
    """The organizations under a node (groups and contact households are on their
    branch's page), each with its secretary and member count."""
    require(user, "party.view", region_code)
    organizations = PartyOrganization.objects.filter(region_code__within=region_code).exclude(
        kind__in=(K.BUILDING_GROUP, K.MEMBER_HOUSEHOLD)
    )
    if not include_closed:
        organizations = organizations.filter(closed_on__isnull=True)
    return with_secretary(organizations).order_by("region_code", "kind", "name")


def organization_counts(*, user, region_code: str) -> list[tuple[str, int]]:
    """(kind label, count) of the open party organizations under a node, top level first."""
    require(user, "party.view", region_code)
    rows = (
        PartyOrganization.objects.filter(region_code__within=region_code, closed_on__isnull=True)
        .values("kind")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts = {row["kind"]: row["n"] for row in rows}
    return [(label, counts[kind]) for kind, label in K.choices if kind in counts]


def first_secretary_list(*, user):
    return scope_filter(FirstSecretary.objects.all(), user, "party.view").order_by(
        "region_code", "term_start", "pk"
    )


def organization_get(*, user, pk: int) -> PartyOrganization:
    """One party organization, for a role at its region or an assignment to it (its
    secretary): a branch's secretary sees their branch, not the next one in the grid."""
    organization = (
        _organizations(user).select_related("parent", "unit", "building").filter(pk=pk).first()
    )
    if organization is None:
        raise NotFound()
    return organization


def branch_options(user) -> QuerySet:
    """Open organizations holding members in the user's view, by region and name (what
    may lead a volunteer team)."""
    return (
        _organizations(user)
        .filter(kind__in=PartyOrganization.HOLDS_MEMBERS, closed_on__isnull=True)
        .order_by("region_code", "name")
    )


def children(organization: PartyOrganization) -> QuerySet:
    return with_secretary(organization.children.filter(closed_on__isnull=True)).order_by(
        "kind", "name"
    )


def committee(organization: PartyOrganization) -> list[Appointment]:
    """The current committee, the secretary first."""
    order = {post: i for i, post in enumerate(Appointment.Post.values)}
    rows = list(
        organization.appointments.filter(ended_on__isnull=True).select_related("person", "account")
    )
    return sorted(rows, key=lambda a: (order[a.post], a.started_on, a.pk))


def twinnings(organization: PartyOrganization) -> list[tuple[Twinning, PartyOrganization]]:
    """The organizations it is paired with now, each with its pairing."""
    rows = Twinning.objects.filter(
        Q(first=organization) | Q(second=organization), ended_on__isnull=True
    ).select_related("first", "second")
    return [(t, t.second if t.first_id == organization.pk else t.first) for t in rows]


def member_list(
    *, user, organization: PartyOrganization | None = None, include_left: bool = False
) -> QuerySet:
    """Party members in the user's scope or in the organizations assigned to them."""
    members = scope_filter(
        PartyMember.objects.all(),
        user,
        "party.view",
        via={ORGANIZATION: "organization"},
    )
    if organization is not None:
        members = members.filter(organization=organization)
    if not include_left:
        members = members.filter(left_on__isnull=True)
    return members.select_related("person", "organization").order_by("organization", "name", "id")


def duplicate_members(*, user, region_code: str) -> list[PartyMember]:
    """疑似重复党籍: current members who share an ID number with another current member,
    both in the user's register — a record entered where the one before it could not be
    seen. A member without a person keeps their own number, a linked one their person's
    (sealed under another key): the first are digested under the person's key to meet
    the second. Each pair stands together."""
    from jiceng.core.personal import clear
    from jiceng.places.models import Person

    members = member_list(user=user).filter(region_code__within=region_code)
    unlinked = list(members.filter(person__isnull=True).exclude(id_number_index=""))
    as_person = Person._meta.get_field("id_number_index").digest
    key_of = {m.pk: as_person(clear(m.id_number)) for m in unlinked}
    linked = members.filter(person__id_number_index__in=set(key_of.values()))
    groups: dict[str, list[PartyMember]] = {}
    for member in unlinked:
        groups.setdefault(key_of[member.pk], []).append(member)
    for member in linked:
        groups.setdefault(member.person.id_number_index, []).append(member)
    return [m for key in sorted(groups) if len(groups[key]) > 1 for m in groups[key]]


def member_get(*, user, pk: int) -> PartyMember:
    member = member_list(user=user, include_left=True).filter(pk=pk).first()
    if member is None:
        raise NotFound()
    return member


def terms_due(*, user, region_code: str | None = None, days: int | None = None) -> QuerySet:
    """换届 queue: open elected organizations in scope whose committee's term ends within
    `days` (JICENG_PARTY_TERM_DUE_DAYS), or has ended, soonest first."""
    days = settings.JICENG_PARTY_TERM_DUE_DAYS if days is None else days
    until = timezone.localdate() + datetime.timedelta(days=days)
    organizations = scope_filter(PartyOrganization.objects.all(), user, "party.manage")
    if region_code:
        organizations = organizations.filter(region_code__within=region_code)
    return with_secretary(
        organizations.filter(
            closed_on__isnull=True,
            kind__in=PartyOrganization.ELECTED,
            term_ends_on__lte=until,
        )
    ).order_by("term_ends_on", "region_code", "pk")


def without_secretary(organizations: QuerySet) -> QuerySet:
    return organizations.filter(
        ~Exists(
            Appointment.objects.filter(
                organization=OuterRef("pk"), post=Appointment.Post.SECRETARY, ended_on__isnull=True
            )
        )
    )


def transfer_targets(*, user, member: PartyMember, query: str) -> list[PartyOrganization]:
    """Branches of the member's county a transfer may go to, found by name: the county's
    directory of party organizations (names, not people), open to whoever keeps a branch."""
    query = (query or "").strip()[:50]
    if not query:
        return []
    require(user, "party.branch", obj=member.organization)
    return list(
        PartyOrganization.objects.filter(
            region_code__within=county_of(member.region_code),
            kind__in=PartyOrganization.HOLDS_MEMBERS,
            closed_on__isnull=True,
            name__contains=query,
        )
        .exclude(pk=member.organization_id)
        .order_by("region_code", "name")[:SEARCH_LIMIT]
    )


def transfer_list(*, user, open_only: bool = False, late: bool = False) -> QuerySet:
    """Transfers leaving or joining a branch the user keeps, the most pressing first;
    `late`: those yellow or red on the deadline clock now (督办)."""
    leaving = reach_q(user, "party.branch", via={ORGANIZATION: "from_organization"})
    joining = reach_q(
        user, "party.branch", field="to_region_code", via={ORGANIZATION: "to_organization"}
    )
    transfers = Transfer.objects.filter(leaving | joining)
    if open_only:
        transfers = transfers.filter(status__in=Transfer.OPEN)
    if late:
        rows = open_deadlines("party_transfer").filter(Clock.current().late_q())
        transfers = transfers.filter(pk__in=rows.values("object_id"))
    return with_warn_at(
        transfers.select_related("member", "from_organization", "to_organization"),
        "party_transfer",
    ).order_by(F("closed_at").desc(nulls_first=True), "due_at", "-pk")


def transfer_get(*, user, pk: int) -> Transfer:
    transfer = transfer_list(user=user).filter(pk=pk).first()
    if transfer is None:
        raise NotFound()
    return transfer


# --- organization life ---------------------------------------------------------------------


def meeting_organizes(actor, gathering) -> bool:
    """Who organizes a meeting's gathering: whoever keeps its branch."""
    meeting = Meeting.objects.select_related("organization").filter(gathering=gathering).first()
    return meeting is not None and has_permission(actor, "party.branch", obj=meeting.organization)


def meeting_notes(gatherings: list) -> dict:
    found = {}
    for meeting in Meeting.objects.filter(gathering__in=gatherings).select_related("organization"):
        found[meeting.gathering_id] = Note(
            status="已归档" if meeting.is_held else "",
            facts=(("党组织", meeting.organization.name), ("类型", meeting.get_kind_display())),
            categories=(meeting.get_kind_display(),),
            line=f"{meeting.organization.name} · {meeting.get_kind_display()}",
        )
    return found


def meeting_url(gathering, actor) -> str:
    pk = Meeting.objects.filter(gathering=gathering).values_list("pk", flat=True).first()
    return reverse("party:meeting", args=[pk]) if pk and actor.is_staff else ""


def meeting_list(*, user, organization: PartyOrganization) -> QuerySet:
    require(user, "party.view", obj=organization)
    return (
        Meeting.objects.filter(organization=organization)
        .select_related("gathering", "theme")
        .order_by("-held_on", "-pk")
    )


def meeting_get(*, user, pk: int) -> Meeting:
    meeting = (
        Meeting.objects.select_related("organization", "gathering__venue", "theme")
        .filter(pk=pk)
        .first()
    )
    if meeting is None or not has_permission(user, "party.view", obj=meeting.organization):
        raise NotFound()
    return meeting


def theme_list(*, user, region_code: str) -> QuerySet:
    require(user, "party.view", region_code)
    return MonthlyTheme.objects.filter(region_code=county_of(region_code)).order_by("-month")


QUARTER = re.compile(r"^(20\d\d)Q([1-4])$")


def quarter_of(day: datetime.date) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_label(quarter: str) -> str:
    """2026Q4 as people write it: 2026年第四季度."""
    found = QUARTER.match(quarter or "")
    return f"{found[1]}年第{'一二三四'[int(found[2]) - 1]}季度" if found else quarter


def quarter_bounds(quarter: str) -> tuple[datetime.date, datetime.date]:
    """The first and last day of a quarter written 2026Q4 (the current one otherwise)."""
    found = QUARTER.match(quarter or "") or QUARTER.match(quarter_of(timezone.localdate()))
    year, number = int(found[1]), int(found[2])
    first = datetime.date(year, 3 * number - 2, 1)
    following = datetime.date(year + (number == 4), 1 if number == 4 else 3 * number + 1, 1)
    return first, following - datetime.timedelta(days=1)


@dataclass(frozen=True)
class Completeness:
    """One branch's organization life in a quarter: held (minutes filed) against required
    (the county's rhythm, the committee meeting only where a committee exists, the group
    meeting only where groups exist)."""

    organization_id: int
    name: str
    region_code: str
    held: dict
    required: dict
    due: dict  # what should be held by now: all of it once the quarter is over

    @property
    def behind(self) -> list[str]:
        """The kinds held fewer times than are due by now."""
        return [k for k, n in self.due.items() if self.held.get(k, 0) < n]

    @property
    def rows(self) -> list[tuple[str, int, int]]:
        return [(Meeting.Kind(k).label, self.held.get(k, 0), n) for k, n in self.required.items()]


# The organizations that keep organization life: branches, and general branches.
KEEPS_LIFE = (*PartyOrganization.BRANCHES, K.GENERAL_BRANCH)


def completeness(
    *, user, region_code: str, quarter: str, as_of: datetime.date | None = None
) -> list[Completeness]:
    """组织生活完成情况: every open branch under `region_code`, by region and name, for
    the quarter (as of `as_of`, today by default) — in two queries whatever the number of
    branches. A branch's secretary (who holds no region) sees their own branch."""
    require(user, "party.view", region_code if scopes(user, "party.view") else None)
    branches = _organizations(user).filter(
        region_code__within=region_code, kind__in=KEEPS_LIFE, closed_on__isnull=True
    )
    return life_rows(branches, quarter, as_of=as_of)


def due_share(quarter: str, as_of: datetime.date | None = None) -> float:
    """How much of a quarter's rhythm is due by `as_of` (today): the share of its days
    gone by — none before it starts, all of it once it is over. Three theme days a
    quarter are due one by one as its months pass, not all on its first day."""
    first, last = quarter_bounds(quarter)
    as_of = as_of or timezone.localdate()
    if as_of > last:
        return 1.0
    return max(0, (as_of - first).days) / ((last - first).days + 1)


def life_rows(
    branches: QuerySet,
    quarter: str,
    *,
    with_place: bool = True,
    as_of: datetime.date | None = None,
) -> list[Completeness]:
    """The completeness of each of these branches in the quarter, in two queries: by
    region and name `with_place`, else in no order and without either."""
    first, last = quarter_bounds(quarter)
    share = due_share(quarter, as_of)
    rhythm = {kind: n for kind, n in settings.JICENG_PARTY_RHYTHM.items() if n}
    # The quarter's meetings with minutes filed, one row per branch with a count per kind.
    counts = (
        Meeting.objects.filter(
            organization__in=branches,
            held_on__range=(first, last),
            minutes_filed_at__isnull=False,
        )
        .values_list("organization")
        .annotate(**{kind: Count("pk", filter=Q(kind=kind)) for kind in rhythm})
        .order_by()
    )
    held = {}
    for org, *n in fetch_rows(counts) if rhythm else ():
        held[org] = {kind: k for kind, k in zip(rhythm, n, strict=True) if k}
    # Each branch, with whether it has a committee and groups (what it must hold).
    committee = Appointment.objects.filter(
        organization=OuterRef("pk"), ended_on__isnull=True
    ).exclude(post=Appointment.Post.SECRETARY)
    groups = PartyOrganization.objects.filter(
        parent=OuterRef("pk"), kind=K.BUILDING_GROUP, closed_on__isnull=True
    )
    place = ("name", "region_code") if with_place else ()
    rows = (
        branches.annotate(has_committee=Exists(committee), has_groups=Exists(groups))
        .order_by(*(("region_code", "name") if place else ()))
        .values_list("pk", "has_committee", "has_groups", *place)
    )
    result = []
    for pk, has_committee, has_groups, *where in fetch_rows(rows):
        required = dict(rhythm)
        if not has_committee:
            required.pop("committee", None)
        if not has_groups:
            required.pop("group", None)
        name, code = where or ("", "")
        due = {kind: int(n * share) for kind, n in required.items()}
        result.append(Completeness(pk, name, code, held.get(pk, {}), required, due))
    return result


def fetch_rows(rows: QuerySet) -> list[tuple]:
    """Thousands of plain rows (ids, names, counts, flags), read as the database gives
    them, past the ORM's per-row conversion (none of these columns needs one)."""
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- the organization department's overview ------------------------------------------------


@dataclass(frozen=True)
class Overview:
    region_code: str
    by_kind: list[tuple[str, int]]
    grids: int
    grids_without_branch: int
    branches: int
    without_secretary: int
    terms_due: int
    members: dict[str, int]  # category → count
    without_person: int
    probation_due: int
    mobile: int
    quarter: str
    behind: int
    committee_members: int
    buildings: int
    buildings_with_captain: int
    unit_captains: int
    late_transfers: int
    property_companies: int
    property_grid_workers: int
    riders: int
    units_reported: int
    members_reported: int
    counted_at: datetime.datetime | None  # when the members and life behind were counted

    @property
    def quarter_label(self) -> str:
        return quarter_label(self.quarter)

    @property
    def captains(self) -> int:
        """楼栋长、胡同长 and 单元长: the posts filled."""
        return self.buildings_with_captain + self.unit_captains


PROBATION_NOTICE = datetime.timedelta(days=30)


def probation_due_q(today: datetime.date) -> Q:
    """Probationary members whose year ends within PROBATION_NOTICE of `today`, or has
    ended without their 转正 being decided: the overview's figure and the reminder's."""
    return Q(
        category=PartyMember.Category.PROBATIONARY,
        joined_on__lte=today - datetime.timedelta(days=365) + PROBATION_NOTICE,
    )


TALLIED = ("full", "probationary", "without_person", "probation_due", "mobile")


def overview(*, user, region_code: str) -> Overview:
    """组织部总览: the register of a region at a glance — organizations by kind, grids
    without a branch, branches without a secretary, terms due, members by category and
    those whose probation ends within a month, organization life behind this quarter,
    committee members, captains per building, red property (property companies and their
    part-time grid workers) and riders. A query or two for each figure; the members' and
    organization life's are summed from the worker's count (`tally.tally_count`,
    dated by `counted_at`)."""
    from jiceng.accounts.models import Department, Membership
    from jiceng.places.models import Building, BuildingUnit, Region
    from jiceng.residents.models import Rider

    require(user, "party.manage", region_code)
    today = timezone.localdate()
    under = PartyOrganization.objects.filter(
        region_code__within=region_code, closed_on__isnull=True
    )
    grid_branches = under.filter(kind=K.GRID_BRANCH)
    grids = Region.objects.filter(code__within=region_code, level=Region.Level.GRID)
    branches = under.filter(kind__in=PartyOrganization.BRANCHES)
    quarter = quarter_of(today)
    # The members' figures and organization life behind, as the worker last counted them.
    counted = Tally.objects.filter(region_code__within=region_code).aggregate(
        **{field: Coalesce(Sum(field), 0) for field in TALLIED},
        behind=Count("pk", filter=Q(behind=True, quarter=quarter)),
        counted_at=Min("counted_at"),
    )
    buildings = Building.objects.filter(region_code__within=region_code)
    reported = DualReport.objects.filter(region_code__within=region_code, ended_on__isnull=True)
    property_posts = Membership.objects.filter(
        role="property_grid_worker",
        is_active=True,
        user__is_active=True,
        region_code__within=region_code,
    )
    return Overview(
        region_code=region_code,
        by_kind=organization_counts(user=user, region_code=region_code),
        grids=grids.count(),
        grids_without_branch=grids.exclude(code__in=grid_branches.values("region_code")).count(),
        branches=branches.count(),
        without_secretary=without_secretary(branches).count(),
        terms_due=terms_due(user=user, region_code=region_code).count(),
        members={c: counted[c] for c in PartyMember.Category.values},
        without_person=counted["without_person"],
        probation_due=counted["probation_due"],
        mobile=counted["mobile"],
        quarter=quarter,
        behind=counted["behind"],
        counted_at=counted["counted_at"],
        committee_members=Appointment.objects.filter(
            organization__in=grid_branches, ended_on__isnull=True
        ).count(),
        buildings=buildings.count(),
        buildings_with_captain=buildings.filter(captain__isnull=False).count(),
        unit_captains=BuildingUnit.objects.filter(
            region_code__within=region_code, captain__isnull=False
        ).count(),
        late_transfers=open_deadlines("party_transfer")
        .filter(Clock.current().late_q(), region_code__within=region_code)
        .count(),
        property_companies=Department.objects.filter(
            kind=Department.Kind.PROPERTY,
            staff__memberships__in=property_posts,
        )
        .distinct()
        .count(),
        property_grid_workers=property_posts.values("user").distinct().count(),
        riders=Rider.objects.filter(region_code__within=region_code, ended_on__isnull=True).count(),
        units_reported=reported.filter(kind=DualReport.Kind.UNIT).count(),
        members_reported=reported.filter(kind=DualReport.Kind.MEMBER).count(),
    )


# --- 双报到 ---------------------------------------------------------------------------------


def dual_to_community(*, user, code: str, year: int) -> QuerySet:
    """The units and members reported to a community and in force at some time in `year`
    (ended since included): for the community, and for who keeps the register. Read a
    page of them through `dual_year_of`."""
    if not (has_permission(user, "party.dual", code) or has_permission(user, "party.manage", code)):
        raise NotFound()
    return (
        DualReport.objects.filter(_active_in(year), region_code=code)
        .select_related("organization", "member__organization", "member__person")
        .order_by("kind", "reported_on", "pk")
    )


def dual_of_unit(organization: PartyOrganization) -> tuple[DualReport | None, QuerySet]:
    """A unit's own report, and its members' reports to where they live (not ended)."""
    own = organization.dual_reports.filter(ended_on__isnull=True).first()
    members = (
        DualReport.objects.filter(member__organization=organization, ended_on__isnull=True)
        .select_related("member__person")
        .order_by("region_code", "member__name", "pk")
    )
    return own, members


def _active_in(year: int) -> Q:
    return Q(reported_on__lte=datetime.date(year, 12, 31)) & (
        Q(ended_on__isnull=True) | Q(ended_on__gte=datetime.date(year, 1, 1))
    )


def dual_of_unit_in(
    organization: PartyOrganization, year: int
) -> tuple[list[DualReport], list[DualReport]]:
    """A unit's own reports and its members' that were in force at some time in `year`
    (ended since, or replaced by a report elsewhere, included): the year report's rows."""
    own = list(organization.dual_reports.filter(_active_in(year)).order_by("reported_on", "pk"))
    members = list(
        DualReport.objects.filter(_active_in(year), member__organization=organization)
        .select_related("member__person")
        .order_by("member__name", "member_id", "reported_on", "pk")
    )
    return own, members


def dual_year_of(reports, year: int) -> list[DualReport]:
    """The reports, each with its community's evaluation of `year` (`evaluation`, or
    None) and what was done there (`activities`, `hours`: see `participation`)."""
    reports = list(reports)
    graded = {e.report_id: e for e in DualEvaluation.objects.filter(report__in=reports, year=year)}
    done = participation(reports, year)
    for report in reports:
        report.evaluation = graded.get(report.pk)
        report.activities, report.hours = done[report.pk]
    return reports


def _window(report: DualReport, year: int) -> tuple[datetime.date, datetime.date]:
    """The days of `year` the report was in force."""
    year_end = datetime.date(year, 12, 31)
    start = max(report.reported_on, datetime.date(year, 1, 1))
    return start, min(report.ended_on or year_end, year_end)


def participation(reports, year: int) -> dict[int, tuple[int, Decimal]]:
    """Report id → (volunteer activities attended, service hours) in `year`, read from
    the activities' confirmed attendance: only activities held in the community reported
    to (or below it), on the days the report was in force. A member's report counts the
    member's person; a unit's counts its members' (each until they left), since what the
    unit commits to is done by its members. Two queries, however many reports."""
    from jiceng.gatherings.models import SignUp

    reports = list(reports)
    who: dict[int, list[tuple[int, datetime.date | None]]] = {}  # report → (person, left on)
    for report in reports:
        if report.member_id and report.member.person_id:
            who[report.pk] = [(report.member.person_id, None)]
    units = {report.organization_id for report in reports if report.organization_id}
    if units:
        staff: dict[int, list[tuple[int, datetime.date | None]]] = {}
        for organization, person, left_on in (
            PartyMember.objects.filter(organization__in=units, person__isnull=False)
            .exclude(left_on__lt=datetime.date(year, 1, 1))
            .values_list("organization", "person", "left_on")
        ):
            staff.setdefault(organization, []).append((person, left_on))
        for report in reports:
            if report.organization_id:
                who[report.pk] = staff.get(report.organization_id, [])
    persons = {person for pairs in who.values() for person, _ in pairs}
    attended: dict[int, list[tuple[str, datetime.date, Decimal]]] = {}
    if persons:
        places = Q()
        for code in {report.region_code for report in reports}:
            places |= Q(gathering__region_code__within=code)
        rows = (
            SignUp.objects.filter(
                places,
                gathering__kind="activity",
                gathering__starts_at__year=year,
                attendance=SignUp.Attendance.CONFIRMED,
            )
            .filter(Q(person__in=persons) | Q(resident__person__in=persons))
            .annotate(who=Coalesce("person", "resident__person"))
            .values_list("who", "gathering__region_code", "gathering__starts_at", "hours")
            .order_by()
        )
        for person, region_code, starts_at, hours in rows:
            day = timezone.localtime(starts_at).date()
            attended.setdefault(person, []).append((region_code, day, hours or Decimal(0)))
    done = {}
    for report in reports:
        start, end = _window(report, year)
        count, total = 0, Decimal(0)
        for person, left_on in who.get(report.pk, []):
            last = min(end, left_on) if left_on else end
            for region_code, day, hours in attended.get(person, []):
                if start <= day <= last and is_within(region_code, report.region_code):
                    count, total = count + 1, total + hours
        done[report.pk] = (count, total)
    return done
