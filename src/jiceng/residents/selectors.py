"""What a resident serves as: the buildings they captain (楼栋长, 单元长, 胡同长: named on
the building by the grid worker, places.services.captain_appoint) and their rider
registration. A captain holds their building by assignment (core.access): the register's
own selectors then show it to them, masked, as they show it to staff."""

from collections.abc import Iterator

from django.db.models import F, Q

from jiceng.core.access import BUILDING, Assignment, register_assignments, scope_filter
from jiceng.core.actors import Actor
from jiceng.core.intake import register_reporting_as
from jiceng.core.personal import clear
from jiceng.places.models import Building
from jiceng.places.ordering import buildings_in_order
from jiceng.residents.models import Resident, Rider

# A captain sees their building's households and persons, masked, and reports requests
# for it; nothing else of the grid.
CAPTAIN_PERMISSIONS = frozenset({"people.view", "cases.submit"})


def captained_buildings(resident: Resident) -> frozenset[int]:
    """The buildings the resident captains, or captains a unit of (one query, kept on the
    resident for the request)."""
    return frozenset(_captain_posts_held(resident))


def _captain_posts_held(resident: Resident) -> dict[int, frozenset[int] | None]:
    """Building id → the unit numbers the resident captains in it, or None for the whole
    building (楼栋长、胡同长). A post counts while its holder still lives in the
    building's grid: whoever moves away stops seeing it, whatever moved them."""
    if not resident.person_id:
        return {}
    cached = resident.__dict__.get("_captained")
    if cached is None:
        person = resident.person_id
        posts = Building.objects.filter(
            Q(captain_id=person, captain__region_code=F("region_code"))
            | Q(units__captain_id=person, units__captain__region_code=F("region_code"))
        ).values_list("pk", "captain_id", "units__number", "units__captain_id")
        cached = {}
        for pk, captain, unit, unit_captain in posts:
            if captain == person:
                cached[pk] = None
            elif unit_captain == person and cached.get(pk, frozenset()) is not None:
                cached[pk] = cached.get(pk, frozenset()) | {unit}
        resident.__dict__["_captained"] = cached
    return cached


def _captain_posts(actor: Actor) -> Iterator[Assignment]:
    if not actor.is_resident:
        return
    buildings = Building.objects.filter(pk__in=captained_buildings(actor.resident))
    for building in buildings.only("pk", "region_code"):
        yield Assignment(
            kind="captain",
            object_type=BUILDING,
            object_id=building.pk,
            permissions=CAPTAIN_PERMISSIONS,
            region_code=building.region_code,
        )


def reporting_as(resident: Resident, building=None) -> str:
    """What a resident's report is tagged as: a rider's while they are registered, else a
    captain's for the building they captain; else nothing."""
    if Rider.objects.filter(resident=resident, ended_on__isnull=True).exists():
        return "rider"
    if building is not None and building.pk in captained_buildings(resident):
        return "captain"
    return ""


def _reporting_as(request, building) -> tuple[str, str]:
    from jiceng.residents.services import current_resident

    resident = current_resident(request)
    found = reporting_as(resident, building) if resident else ""
    return (found, clear(resident.phone)) if found else ("", "")


def register() -> None:
    register_assignments(BUILDING, CAPTAIN_PERMISSIONS, _captain_posts)
    register_reporting_as(_reporting_as)


def captain_buildings(resident: Resident) -> list[Building]:
    """The buildings a resident captains, in the grid's order, each with `units_held`:
    the unit numbers a 单元长 serves, or None for the whole building."""
    held = _captain_posts_held(resident)
    if not held:
        return []
    buildings = buildings_in_order(Building.objects.filter(pk__in=sorted(held)))
    for building in buildings:
        units = held[building.pk]
        building.units_held = None if units is None else sorted(units)
    return buildings


def rider_of(resident: Resident) -> Rider | None:
    return (
        Rider.objects.filter(resident=resident, ended_on__isnull=True)
        .select_related("paired_with")
        .first()
    )


def rider_list(*, actor, region_code: str = ""):
    """The riders registered in the actor's scope (in `region_code`, if given), newest
    first."""
    riders = scope_filter(Rider.objects.all(), actor, "residents.riders")
    if region_code:
        riders = riders.filter(region_code__within=region_code)
    return riders.select_related("resident__person", "paired_with")
