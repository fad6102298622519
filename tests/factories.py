"""Test data: a few real-looking rows at a time (the demo generator makes the big sets)."""

import datetime
import random

import factory
import pyotp
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from jiceng.accounts.models import Membership, SecondFactor, User
from jiceng.core import personal
from jiceng.core.idnumber import check_character
from jiceng.places.models import Building, BuildingUnit, Dwelling, Household, Person, Region

PASSWORD = "Test-Passw0rd!"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a known secret, as an authenticator holds it
_PASSWORD_HASH = make_password(PASSWORD)
_rng = random.Random(7)


def make_id_number(birth: datetime.date | None = None, male: bool = True, area="370829") -> str:
    birth = birth or datetime.date(1980, 1, 1) + datetime.timedelta(days=_rng.randrange(15000))
    sequence = _rng.randrange(0, 500) * 2 + (1 if male else 0)
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ["code"]

    name = factory.Sequence(lambda n: f"测试区划{n}")


def community(code: str, name: str = "") -> Region:
    return RegionFactory(
        code=code, name=name or f"社区{code[-3:]}", level=Region.Level.COMMUNITY, parent_id=code[:9]
    )


def grid(code: str, name: str = "") -> Region:
    return RegionFactory(
        code=code,
        name=name or f"网格{code[-3:]}",
        level=Region.Level.GRID,
        parent_id=code[:12],
        grid_kind=Region.GridKind.COMPREHENSIVE,
    )


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"测试员{n}")
    password = _PASSWORD_HASH


def staff(
    role: str, region_code: str, username: str | None = None, building=None, **fields
) -> User:
    """An account holding `role` at `region_code` (at `building` of that grid, for a role
    held at buildings), managed from that region."""
    user = UserFactory(
        username=username or f"{role}-{region_code}", region_code=region_code, **fields
    )
    Membership.objects.create(user=user, role=role, region_code=region_code, building=building)
    return user


def enrol(user: User, secret: str = TOTP_SECRET) -> SecondFactor:
    """The account's second factor enrolled with a known secret (its authenticator's)."""
    return SecondFactor.objects.create(user=user, secret=secret, confirmed_at=timezone.now())


def totp_code(user: User) -> str:
    """What the account's authenticator shows now; if this step's code has been used, the
    next step's (accepted too: one step of clock drift), as a person would wait for it."""
    factor = SecondFactor.objects.get(user=user)
    step = max(int(timezone.now().timestamp()) // 30, factor.last_step + 1)
    return pyotp.TOTP(personal.clear(factor.secret)).at(step * 30)


class BuildingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Building

    name = factory.Sequence(lambda n: f"{n + 1}号楼")


def dwelling(grid_code: str, building: Building | None = None, room: str = "101") -> Dwelling:
    building = building or BuildingFactory(region_code=grid_code)
    unit, _ = BuildingUnit.objects.get_or_create(building=building, number=1, region_code=grid_code)
    return Dwelling.objects.create(region_code=grid_code, building=building, unit=unit, room=room)


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    number = factory.Sequence(lambda n: f"H{n:06d}")
    address = "建设路1号"


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    name = factory.Sequence(lambda n: f"张{'一二三四五六七八九十'[n % 10]}明{n}")
    id_number = factory.LazyFunction(make_id_number)
    id_tail = factory.LazyAttribute(lambda p: p.id_number[-4:])
    gender = "M"
    birth_date = datetime.date(1980, 1, 1)
    phone = factory.Sequence(lambda n: f"138{n:08d}")
    phone_tail = factory.LazyAttribute(lambda p: p.phone[-4:])
    relation_to_head = "户主"


def household_with_people(grid_code: str, size: int = 2, **person_fields) -> Household:
    household = HouseholdFactory(region_code=grid_code, dwelling=dwelling(grid_code))
    people = [
        PersonFactory(
            region_code=grid_code,
            household=household,
            relation_to_head="户主" if i == 0 else "配偶",
            **(person_fields if i == 0 else {}),
        )
        for i in range(size)
    ]
    household.head = people[0]
    household.save()
    return household


_phones = iter(range(10**7, 10**8))


def resident(person=None, phone: str | None = None, **fields):
    """A signed-up resident, linked to `person` (and its region) if given."""
    from jiceng.residents.models import Resident

    return Resident.objects.create(
        phone=phone or f"139{next(_phones):08d}",
        person=person,
        region_code=person.region_code if person else fields.pop("region_code", ""),
        **fields,
    )


def paper_sheet(gathering):
    """A photographed paper sign-in sheet on the gathering: what a hand mark rests on."""
    from django.core.files.base import ContentFile

    from jiceng.gatherings.models import SheetPage

    page = SheetPage(gathering=gathering)
    page.photo.save("sheet.jpg", ContentFile(b"\xff\xd8 sheet"))
    return page
