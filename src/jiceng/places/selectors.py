"""Scoped reads of the region tree and 一标三实. Every function takes the viewing user."""

from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import Substr
from django.utils import timezone

from jiceng.core.access import assigned, reach_q, require, scope_filter, scope_q, scopes, within
from jiceng.core.errors import DomainError, NotFound
from jiceng.places.models import (
    Building,
    BuildingUnit,
    Dwelling,
    Household,
    MoveCheck,
    Organization,
    Person,
    Region,
)
from jiceng.places.ordering import (
    building_key,
    buildings_in_order,
    dwellings_in_order,
    floor_of,
)

SEARCH_LIMIT = 50


def region_get_any(*, code: str) -> Region:
    """Unscoped lookup, for services that have already checked the actor's scope."""
    region = Region.objects.filter(code=code).first()
    if region is None:
        raise NotFound("未找到该区划或网格。")
    return region


def region_get(*, user, code: str) -> Region:
    require(user, "regions.view", code)
    return region_get_any(code=code)


def regions_visible(*, user) -> list[Region]:
    """The top nodes of the user's view of the tree (one per scope)."""
    return list(Region.objects.filter(code__in=scopes(user, "regions.view")))


def region_options(*, user, permission: str) -> list[Region]:
    """The nodes at which the user holds `permission` (for choosing a target)."""
    return list(Region.objects.filter(code__in=scopes(user, permission)).order_by("code"))


def nodes_under(
    *, user, permission: str, level: str | tuple[str, ...], limit: int = 2000
) -> list[Region]:
    """The communities (or grids …, or the nodes of several levels) at or under the nodes
    where the user holds `permission`: the choices for a form's community or grid."""
    roots = scopes(user, permission)
    if not roots:
        return []
    levels = (level,) if isinstance(level, str) else level
    nodes = Region.objects.filter(scope_q(roots, "code"), level__in=levels)
    return list(nodes.order_by("code")[:limit])


def community_choices(user, permission: str) -> list[tuple[str, str]]:
    """(code, name) of the communities under the user's scope for `permission`, for a
    form's choice of community."""
    return [
        (r.code, r.name)
        for r in nodes_under(user=user, permission=permission, level=Region.Level.COMMUNITY)
    ]


def check_report_scope(region_code: str, start, end) -> None:
    """A report's region is a code and its period runs forwards, for at most ten years."""
    if not region_code.isdigit():
        raise DomainError("区划编码只能由数字组成。", code="bad_region_code")
    if end < start or (end - start).days > 3660:
        raise DomainError("时段无效：结束日期不能早于开始日期。", code="bad_period")


def region_breadcrumbs(*, user, region: Region) -> list[Region]:
    """The region and its ancestors that the user may open, top first."""
    allowed = scopes(user, "regions.view")
    codes = [c for c in region.ancestor_codes() if within(c, allowed)]
    crumbs = list(Region.objects.filter(code__in=codes).order_by("code"))
    return [*crumbs, region] if within(region.code, allowed) else crumbs


def _counts_by_child(queryset: QuerySet, parent: Region) -> dict[str, int]:
    """Rows of `queryset` under `parent`, counted per child node in one query."""
    child_length = Region.CODE_LENGTHS.get(Region.CHILD_LEVEL.get(parent.level), 0)
    if not child_length:
        return {}
    rows = (
        queryset.filter(region_code__within=parent.code)
        .annotate(child=Substr("region_code", 1, child_length))
        .values("child")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {row["child"]: row["n"] for row in rows}


def region_children(*, user, region: Region) -> list[Region]:
    """The node's children with `household_count` and `person_count` set on each."""
    require(user, "regions.view", region.code)
    children = list(region.children.select_related("leader").order_by("code"))
    households = _counts_by_child(Household.objects.all(), region)
    persons = _counts_by_child(Person.objects.all(), region)
    for child in children:
        child.household_count = households.get(child.code, 0)
        child.person_count = persons.get(child.code, 0)
    return children


def grid_buildings(*, user, grid: Region) -> list[Building]:
    require(user, "regions.view", grid.code)
    return buildings_in_order(
        Building.objects.filter(region_code=grid.code).annotate(
            household_count=Count("dwellings__households")
        )
    )


def building_options(*, user, permission: str, grid_code: str) -> list[Building]:
    """The buildings of a grid where the user holds `permission` (for choosing one)."""
    require(user, permission, grid_code)
    return buildings_in_order(Building.objects.filter(region_code=grid_code))


def buildings_assigned(*, user, permission: str) -> list[Building]:
    """The buildings the user holds `permission` in by assignment (a captain's own)."""
    buildings = assigned(user, permission)
    if not buildings:
        return []
    found = Building.objects.filter(pk__in=sorted(buildings))
    return sorted(found, key=lambda building: (building.region_code, building_key(building)))


# Where each register row lies: a building captain (楼栋长) reaches the rows in the
# buildings assigned to them, and nothing else of the grid.
HOUSEHOLD_BUILDING = "dwelling__building"
PERSON_BUILDING = "household__dwelling__building"


def building_get(*, user, pk: int) -> Building:
    building = scope_filter(Building.objects.all(), user, "people.view", building="pk")
    building = building.filter(pk=pk).first()
    if building is None:
        raise NotFound()
    return building


def building_captains(*, building: Building) -> list[tuple[BuildingUnit | None, Person | None]]:
    """Who captains the building (楼栋长, 胡同长) and each of its units (单元长)."""
    units = list(building.units.select_related("captain").order_by("number"))
    captain = Person.objects.filter(pk=building.captain_id).first() if building.captain_id else None
    return [(None, captain)] + [(unit, unit.captain) for unit in units]


CANDIDATES_SHOWN = 500
CAPTAIN_MIN_AGE = 18


def building_residents(*, user, building: Building) -> list[Person]:
    """The adults registered in the building, room by room, to name a captain among
    them; each with `room` (1单元301) that tells two of one name apart. At most
    CANDIDATES_SHOWN."""
    adult_since = timezone.localdate().year - CAPTAIN_MIN_AGE
    persons = list(
        _persons(user)
        .filter(household__dwelling__building=building)
        .filter(Q(birth_year__lte=adult_since) | Q(birth_year__isnull=True))
        .annotate(
            unit_number=F("household__dwelling__unit__number"),
            room_number=F("household__dwelling__room"),
        )
        .order_by("unit_number", "room_number", "pk")[:CANDIDATES_SHOWN]
    )
    for person in persons:
        person.room = f"{person.unit_number}单元{person.room_number}"
    return persons


@dataclass
class Floor:
    """One floor of a unit: its rooms in order, each with `households_here` (those
    registered there; none for a room with nobody registered)."""

    number: int | None  # None: the rooms whose number names no floor (东户, 12)
    dwellings: list


@dataclass
class UnitRooms:
    number: int
    floors: list[Floor]


def building_rooms(*, user, building: Building) -> list[UnitRooms]:
    """The building's rooms by unit and floor (lowest first), with who lives in each: the
    building page's grid. Two queries however many rooms."""
    require(user, "people.view", building.region_code, building.pk)
    households = Household.objects.select_related("head").annotate(member_count=Count("members"))
    dwellings = list(
        Dwelling.objects.filter(building=building)
        .select_related("unit")
        .prefetch_related(
            Prefetch(
                "households", queryset=households.order_by("number"), to_attr="households_here"
            )
        )
    )
    units: dict[int, dict[int | None, list]] = {}
    for dwelling in dwellings:
        dwelling.building = building
    for dwelling in dwellings_in_order(dwellings):
        floors = units.setdefault(dwelling.unit.number, {})
        floors.setdefault(floor_of(dwelling.room), []).append(dwelling)
    return [
        UnitRooms(
            number=number,
            floors=[
                Floor(floor, rooms)
                for floor, rooms in sorted(
                    floors.items(), key=lambda item: (item[0] is None, item[0] or 0)
                )
            ],
        )
        for number, floors in sorted(units.items())
    ]


def household_list(*, user, region_code: str | None = None) -> QuerySet:
    queryset = scope_filter(
        Household.objects.all(), user, "people.view", building=HOUSEHOLD_BUILDING
    )
    if region_code:
        queryset = queryset.filter(region_code__within=region_code)
    return queryset.select_related("head", "dwelling__building", "dwelling__unit")


def household_get(*, user, pk: int) -> Household:
    household = household_list(user=user).filter(pk=pk).first()
    if household is None:
        raise NotFound()
    return household


def household_members(*, user, household: Household) -> list[Person]:
    building = household.dwelling.building_id if household.dwelling_id else None
    require(user, "people.view", household.region_code, building)
    return list(household.members.order_by("id"))


def _persons(user) -> QuerySet:
    return scope_filter(Person.objects.all(), user, "people.view", building=PERSON_BUILDING)


def person_list(*, user, region_code: str | None = None) -> QuerySet:
    queryset = _persons(user)
    if region_code:
        queryset = queryset.filter(region_code__within=region_code)
    return queryset


def person_get(*, user, pk: int) -> Person:
    person = _persons(user).select_related("household").filter(pk=pk).first()
    if person is None:
        raise NotFound()
    return person


def person_search(*, user, query: str, region_code: str | None = None) -> list[Person]:
    """Find people in scope by name, the last 4 characters of an ID number or of a phone
    number, or part of an address. Never matches on a full ID or phone number: staff
    search by what they can see (the masked tail), and the audit log stays meaningful."""
    query = query.strip()
    if len(query) < 1:
        return []
    if len(query) > 50:
        raise DomainError("搜索内容过长。", code="query_too_long")
    people = person_list(user=user, region_code=region_code).select_related("household")
    tail = query.upper()
    if len(tail) == 4 and (tail.isdigit() or (tail[:3].isdigit() and tail[3] == "X")):
        condition = Q(id_tail=tail) | Q(phone_tail=tail)
    else:
        condition = Q(name__contains=query) | Q(household__address__contains=query)
    return list(people.filter(condition).order_by("region_code", "name")[:SEARCH_LIMIT])


ORGANIZATIONS_SHOWN = 200


def organization_list(*, user, region_code: str) -> list[Organization]:
    """实有单位 under a node, by name: the first ORGANIZATIONS_SHOWN and one more, so that
    the page says when there are more."""
    require(user, "people.view", region_code)
    organizations = Organization.objects.filter(region_code__within=region_code)
    return list(organizations.order_by("name")[: ORGANIZATIONS_SHOWN + 1])


MOVE_TABS = {
    "open": (MoveCheck.Status.OPEN,),
    "disputed": (MoveCheck.Status.DISPUTED,),
    "done": (MoveCheck.Status.MOVED, MoveCheck.Status.STAYED),
}
MOVE_PERMISSIONS = ("people.verify_move", "people.settle_move")


def _move_checks(user) -> QuerySet:
    """The checks of the grids the user verifies for and of the towns they settle for."""
    return MoveCheck.objects.filter(
        reduce(or_, (reach_q(user, permission) for permission in MOVE_PERMISSIONS))
    )


def move_check_counts(*, user) -> dict[str, int]:
    counts = dict(_move_checks(user).values_list("status").annotate(n=Count("id")))
    return {tab: sum(counts.get(s, 0) for s in statuses) for tab, statuses in MOVE_TABS.items()}


def move_checks(*, user, tab: str) -> QuerySet:
    """迁入迁出核实 of one tab, in the user's scope (newest first)."""
    return (
        _move_checks(user)
        .filter(status__in=MOVE_TABS[tab])
        .select_related("person", "requested_by")
    )


def move_check_get(*, user, pk: int) -> MoveCheck:
    """A check the user may verify or settle (404 otherwise)."""
    check = (
        _move_checks(user)
        .select_related("person", "incoming", "requested_by", "decided_by", "disputed_by")
        .filter(pk=pk)
        .first()
    )
    if check is None:
        raise NotFound()
    return check
