"""Writing a roster: checked rows stream in while the file is still being read.

Used by `roster.roster_import` inside its transaction. Rows are taken in batches; each
batch's persons are looked up by ID number wherever they are registered and its
households by their keys, then its new persons go to the database at once (COPY on
PostgreSQL). Households, buildings and dwellings, which rows keep adding detail to, are
written at the end, together with changes to records that already existed. Ids are handed
out ahead (core.bulk.IdAllocator), so every row can name its household and every
household its head before either is written.
"""

import datetime

from django.db import connection, transaction

from jiceng.core import keys
from jiceng.core.access import scopes, within
from jiceng.core.actors import Actor
from jiceng.core.bulk import IdAllocator, RowStream, bulk_insert
from jiceng.core.region_codes import is_within
from jiceng.places.constants import HEAD
from jiceng.places.models import (
    Building,
    BuildingUnit,
    Dwelling,
    Household,
    MoveCheck,
    Person,
    SpecialGroup,
)

# Plain strings: COPY does not write enum members as their values.
CONFIRMED, PENDING = Person.Registration.CONFIRMED.value, Person.Registration.PENDING.value
PERSON_FIELDS = [
    "id", "region_code", "household", "name", "id_number", "id_number_index", "id_tail",
    "gender", "birth_date", "birth_year", "phone", "phone_index", "phone_tail", "ethnicity",
    "political_status", "relation_to_head", "residence_type", "registration", "updated_at",
]  # fmt: skip
# What decides that a known person changed; the ID number identifies them. The phone is
# compared by its blind index, so that no stored phone needs opening.
PERSON_COMPARED = [
    "region_code", "household_id", "name", "phone_index", "ethnicity", "political_status",
    "relation_to_head", "residence_type",
]  # fmt: skip
_field = Person._meta.get_field


class Sealer:
    """The sealed and hashed columns of a person, computed here because COPY bypasses
    the fields (core.personal) that do it for the ORM."""

    def __init__(self):
        keys.verify()  # before any stream opens: verifying queries the database
        self.id_number, self.birth_date, self.phone = (
            _field(n).seal for n in ("id_number", "birth_date", "phone")
        )
        self.id_number_index, self.id_tail, self.phone_index, self.phone_tail = (
            _field(n).digest for n in ("id_number_index", "id_tail", "phone_index", "phone_tail")
        )


def person_digests(id_numbers: list[str]) -> dict[str, str]:
    """blind index -> ID number, for looking a file's ID numbers up."""
    digest = _field("id_number_index").digest
    return {digest(n): n for n in id_numbers}


MOVE_CHECK_FIELDS = [
    "region_code", "person", "incoming", "to_region_code", "incoming_name", "requested_by",
    "created_at", "status", "dispute", "decision",
]  # fmt: skip


def persons_by_id_number(id_numbers: list[str]) -> list[tuple]:
    """(id_number, registration, id, *PERSON_COMPARED) of every registration of these ID
    numbers, wherever it lies: the confirmed one and any pending (PERSON_COMPARED starts
    with the region code). Each half reads its own index, the pending one being small.
    Looked up by blind index; the ID numbers come back as the file gave them."""
    by_digest = person_digests(id_numbers)
    digests = list(by_digest)
    columns = ["id_number_index", "registration", "id", *PERSON_COMPARED]
    found: list[tuple] = []
    if connection.vendor != "postgresql":
        for start in range(0, len(digests), 5000):
            chunk = [keys.Digest(d) for d in digests[start : start + 5000]]
            for registration in (CONFIRMED, PENDING):
                found += Person.objects.filter(
                    registration=registration, id_number_index__in=chunk
                ).values_list(*columns)
        return [(by_digest[row[0]], *row[1:]) for row in found]
    # One array parameter instead of thousands of placeholders (each costs parsing).
    select = f"SELECT {', '.join(columns)} FROM {Person._meta.db_table}"  # noqa: S608
    sql = (
        f"{select} WHERE id_number_index = ANY(%s) AND registration = '{CONFIRMED}' "
        f"UNION ALL {select} WHERE id_number_index = ANY(%s) AND registration = '{PENDING}'"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(digests), 50_000):
            chunk = digests[start : start + 50_000]
            cursor.execute(sql, [chunk, chunk])
            found += cursor.fetchall()
    return [(by_digest[row[0]], *row[1:]) for row in found]


class RosterWriter:
    """Each batch of rows costs the same lookups whatever the database holds, so that
    neither an import's answer, its counts nor its timing tell the importer anything of
    registrations outside their reveal scope. A row whose confirmed registration lies
    inside that scope moves the person into the target; one outside it becomes a pending
    registration, counted as new, and a MoveCheck for the grid holding the other."""

    BATCH = 20_000

    def __init__(self, region_code: str, *, actor: Actor):
        self.region_code = region_code
        self.actor = actor
        # Where the importer may reveal (None: the server's command line, everywhere),
        # read once, so that a row met elsewhere costs no query of its own.
        self.reveal_scope = None if actor.is_system else scopes(actor, "people.view_sensitive")
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.sealer = Sealer()
        # Locks the tables against other writers, so what is read below stays true.
        self.ids = IdAllocator(Building, BuildingUnit, Dwelling, Household, Person)
        self.persons_before: dict[str, tuple] = {}  # id number -> (id, *PERSON_COMPARED)
        self.elsewhere: dict[str, tuple] = {}  # id number -> (id, region) outside scope
        self.households_before: dict[tuple, tuple] = {}  # key -> (id, address, dwelling, head)
        self.household_ids: dict[tuple, int] = {}
        self.household_seen: dict[tuple, dict] = {}  # key -> first row, address, spot, head
        self.groups: dict[int, tuple[str, ...]] = {}  # person id -> group codes in the file
        self.known: set[int] = set()  # ids of the file's persons that existed before
        self.updates: list[Person] = []
        self.move_checks: list[tuple] = []
        self.regridded: dict[str, list[int]] = {}  # grid -> known persons moving into it
        self.created = 0
        self.households_created = 0
        self.buildings_created = 0
        self.pending: list = []

    def flush(self) -> None:
        """Write the rows taken since the last batch (once the whole file was clean)."""
        self._write_batch()

    def add(self, entry) -> None:
        """One checked row (roster.Entry)."""
        self.pending.append(entry)
        if len(self.pending) >= self.BATCH:
            self._write_batch()

    def _may_reveal(self, region_code: str) -> bool:
        return self.reveal_scope is None or within(region_code, self.reveal_scope)

    def _learn(self, id_numbers: list[str]) -> None:
        """Which registration each ID number's row updates: one in the target, else one
        elsewhere in the importer's reveal scope (which moves in), the confirmed one
        before a pending one either way. Pending and confirmed are treated alike inside
        the scope, so that moving a file's persons between two targets tells nothing of
        which of them are registered outside it. Failing both, a confirmed registration
        outside the scope makes the row a pending one (`elsewhere`)."""
        best: dict[str, tuple] = {}  # id number -> (rank, row); the lowest rank wins
        for id_number, registration, *row in persons_by_id_number(id_numbers):
            if is_within(row[1], self.region_code):
                rank = 0
            elif self._may_reveal(row[1]):
                rank = 2
            elif registration == CONFIRMED:
                rank = 4
            else:
                continue  # someone else's pending import
            rank += registration != CONFIRMED
            if id_number not in best or rank < best[id_number][0]:
                best[id_number] = (rank, tuple(row))
        for id_number, (rank, row) in best.items():
            if rank < 4:
                self.persons_before[id_number] = row
            else:
                self.elsewhere[id_number] = row[:2]

    def _households(self, households, keys: set[tuple] | None) -> None:
        for row in households.values_list(
            "region_code", "number", "id", "address", "dwelling_id", "head_id"
        ):
            if keys is None or (row[0], row[1]) in keys:
                self.households_before[(row[0], row[1])] = row[3:]
                self.household_ids[(row[0], row[1])] = row[2]

    def _write_batch(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        # A savepoint per batch: a conflict rolls back this batch alone and leaves the
        # connection usable, so that the import goes on checking the file and reports it.
        with transaction.atomic():
            self._write(batch)

    def _write(self, batch: list) -> None:
        self._learn([e.id_number for e in batch])
        keys = {(e.grid, e.household_number) for e in batch} - self.household_ids.keys()
        if keys:
            households = Household.objects.filter(
                region_code__in={grid for grid, _ in keys},
                number__in={number for _, number in keys},
                region_code__within=self.region_code,
            )
            self._households(households, keys)
        with RowStream(Person, PERSON_FIELDS) as stream:
            for entry in batch:
                self._add(entry, stream)

    def _add(self, entry, stream: RowStream) -> None:
        key = (entry.grid, entry.household_number)
        household_id = self.household_ids.get(key)
        if household_id is None:
            household_id = self.household_ids[key] = self.ids.take(Household)
        seen = self.household_seen.get(key)
        if seen is None:
            seen = self.household_seen[key] = {
                "row": entry.row,
                "address": "",
                "spot": None,
                "head": None,
            }
        if entry.address and not seen["address"]:
            seen["address"] = entry.address
        if entry.building and entry.room and seen["spot"] is None:
            seen["spot"] = (entry.grid, entry.building, entry.unit, entry.room)

        before = self.persons_before.get(entry.id_number)
        if before is None:
            person_id = self.ids.take(Person)
            other = self.elsewhere.get(entry.id_number)
            seal = self.sealer
            stream.write(
                (person_id, entry.grid, household_id, entry.name, seal.id_number(entry.id_number),
                 seal.id_number_index(entry.id_number), seal.id_tail(entry.id_number),
                 entry.gender, seal.birth_date(entry.birth_date), entry.birth_date.year,
                 seal.phone(entry.phone), seal.phone_index(entry.phone),
                 seal.phone_tail(entry.phone), entry.ethnicity, entry.political_status,
                 entry.relation, entry.residence_type, CONFIRMED if other is None else PENDING,
                 self.now)
            )  # fmt: skip
            if other is not None:
                self.move_checks.append(
                    (other[1], other[0], person_id, entry.grid, entry.name,
                     self.actor.user_id, self.now, MoveCheck.Status.OPEN.value, "", "")
                )  # fmt: skip
            self.created += 1
            if entry.groups:
                self.groups[person_id] = entry.groups
        else:
            person_id = before[0]
            self.known.add(person_id)
            if before[1] != entry.grid:
                self.regridded.setdefault(entry.grid, []).append(person_id)
            phone_index = keys.Digest(self.sealer.phone_index(entry.phone))
            after = (entry.grid, household_id, entry.name, phone_index, entry.ethnicity,
                     entry.political_status, entry.relation, entry.residence_type)  # fmt: skip
            if after != before[1:]:
                self.updates.append(
                    Person(
                        pk=person_id,
                        **dict(zip(PERSON_COMPARED, after, strict=True)),
                        phone=self.sealer.phone(entry.phone),
                        phone_tail=keys.Digest(self.sealer.phone_tail(entry.phone)),
                        updated_at=self.now,
                    )
                )
            self.groups[person_id] = entry.groups
        if entry.relation == HEAD:
            seen["head"] = person_id

    def finish(self) -> tuple[int, int]:
        """Write households, dwellings and changes; return (created, updated) persons."""
        dwelling_ids = self._dwellings({s["spot"] for s in self.household_seen.values()} - {None})
        new_households = []
        household_updates = []
        for key, seen in self.household_seen.items():
            dwelling_id = dwelling_ids.get(seen["spot"])
            before = self.households_before.get(key)
            if before is None:
                new_households.append(
                    (self.household_ids[key], *key, seen["address"], dwelling_id, seen["head"],
                     self.now)
                )  # fmt: skip
                continue
            pk = self.household_ids[key]
            address, old_dwelling, head = before
            after = (seen["address"] or address, dwelling_id or old_dwelling, seen["head"] or head)
            if after != (address, old_dwelling, head):
                household_updates.append(
                    Household(pk=pk, address=after[0], dwelling_id=after[1], head_id=after[2],
                              updated_at=self.now)
                )  # fmt: skip
        bulk_insert(
            Household,
            ["id", "region_code", "number", "address", "dwelling", "head", "updated_at"],
            new_households,
        )
        self.households_created = len(new_households)
        Household.objects.bulk_update(
            household_updates, ["address", "dwelling", "head", "updated_at"], batch_size=2000
        )
        Person.objects.bulk_update(
            self.updates,
            [*PERSON_COMPARED, "phone", "phone_tail", "updated_at"],
            batch_size=2000,
        )
        regrouped = self._special_groups()
        bulk_insert(MoveCheck, MOVE_CHECK_FIELDS, self.move_checks)
        # A pending registration moved on: its check names the grid it now waits in.
        for grid, person_ids in self.regridded.items():
            for start in range(0, len(person_ids), 5000):
                MoveCheck.objects.filter(
                    incoming_id__in=person_ids[start : start + 5000],
                    status__in=MoveCheck.OPEN_STATUSES,
                ).update(to_region_code=grid)
        self.ids.close()
        return self.created, len({p.pk for p in self.updates} | regrouped)

    def _dwellings(self, spots: set[tuple]) -> dict[tuple, int]:
        """Ids of the dwellings at these (grid, building, unit, room), creating the
        buildings, units and dwellings that do not exist yet."""
        if not spots:
            return {}
        # Only the buildings the file names, their units and dwellings.
        buildings = {
            (grid, name): pk
            for grid, name, pk in Building.objects.filter(
                region_code__in={spot[0] for spot in spots},
                name__in={spot[1] for spot in spots},
            ).values_list("region_code", "name", "id")
        }
        units = {
            (building, number): pk
            for building, number, pk in BuildingUnit.objects.filter(
                building_id__in=buildings.values()
            ).values_list("building_id", "number", "id")
        }
        dwellings = {
            (unit, room): pk
            for unit, room, pk in Dwelling.objects.filter(unit_id__in=units.values()).values_list(
                "unit_id", "room", "id"
            )
        }
        new_buildings, new_units, new_dwellings = [], [], []
        result = {}
        for grid, name, number, room in sorted(spots):
            building = buildings.get((grid, name))
            if building is None:
                building = buildings[(grid, name)] = self.ids.take(Building)
                new_buildings.append((building, grid, name, Building.Kind.BLOCK, ""))
            unit = units.get((building, number))
            if unit is None:
                unit = units[(building, number)] = self.ids.take(BuildingUnit)
                new_units.append((unit, grid, building, number))
            dwelling = dwellings.get((unit, room))
            if dwelling is None:
                dwelling = dwellings[(unit, room)] = self.ids.take(Dwelling)
                new_dwellings.append((dwelling, grid, building, unit, room))
            result[(grid, name, number, room)] = dwelling
        bulk_insert(Building, ["id", "region_code", "name", "kind", "address"], new_buildings)
        self.buildings_created = len(new_buildings)
        bulk_insert(BuildingUnit, ["id", "region_code", "building", "number"], new_units)
        bulk_insert(Dwelling, ["id", "region_code", "building", "unit", "room"], new_dwellings)
        return result

    def _special_groups(self) -> set[int]:
        """Make each person's special groups what the file says; return the ids of known
        persons whose groups changed (a new person's first groups are not a change)."""
        through = Person.special_groups.through
        group_pk = dict(SpecialGroup.objects.values_list("code", "pk"))
        current: dict[int, set[int]] = {}
        known = list(self.known)  # new persons have no groups yet
        for start in range(0, len(known), 10_000):
            for person_id, group_id in through.objects.filter(
                person_id__in=known[start : start + 10_000]
            ).values_list("person_id", "specialgroup_id"):
                current.setdefault(person_id, set()).add(group_id)
        replaced, rows, changed = [], [], set()
        for person_id, codes in self.groups.items():
            wanted = {group_pk[c] for c in codes}
            have = current.get(person_id, set())
            if wanted == have:
                continue
            if have:
                replaced.append(person_id)
            if person_id in self.known:
                changed.add(person_id)
            rows += [(person_id, g) for g in wanted]
        for start in range(0, len(replaced), 2000):
            through.objects.filter(person_id__in=replaced[start : start + 2000]).delete()
        bulk_insert(through, ["person", "specialgroup"], rows)
        return changed
