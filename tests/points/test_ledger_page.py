"""The staff ledger page: who each entry is for (masked), the amount and the balance after
it, a search by name or phone tail before anything is reversed, Chinese labels instead of
internal keys, and a reversal that asks first."""

import re

from jiceng.core.actors import Actor
from jiceng.core.masking import mask_name, mask_phone
from jiceng.core.personal import clear
from jiceng.points import services
from jiceng.points.models import JournalEntry
from tests.conftest import client_for
from tests.factories import resident

from .conftest import COMMUNITY_A


def _rows(page) -> list[tuple[str, str, str]]:
    """(holder, amount, balance after) of each line shown, newest first."""
    text = page.content.decode()
    return re.findall(
        r'data-holder="[^"]*">(.*?)</span>.*?data-amount>([^<]+)<.*?data-balance-after>([^<]+)<',
        text,
        flags=re.S,
    )


def test_each_entry_shows_its_holder_amount_and_balance_after(world, award, someone):
    award(someone, 10)
    award(someone, 5)
    other = resident(region_code=COMMUNITY_A, display_name="李四")
    award(other, 7)
    page = client_for(world.a("community_worker")).get(f"/points/?region={COMMUNITY_A}")
    assert page.status_code == 200
    name = mask_name(someone.person.name)
    rows = _rows(page)
    assert [(h.split()[0], a, b) for h, a, b in rows] == [
        ("李*", "+7", "7"),
        (name, "+5", "15"),
        (name, "+10", "10"),
    ]
    text = page.content.decode()
    assert someone.person.name not in text  # masked, and so is the phone
    assert clear(someone.phone) not in text and mask_phone(someone.phone) in text


def test_the_ledger_is_searched_by_name_or_phone_tail(world, award, someone):
    award(someone, 10)
    other = resident(region_code=COMMUNITY_A, display_name="李四", phone="13912345678")
    award(other, 7)
    staff = client_for(world.a("community_worker"))

    by_tail = staff.get(f"/points/?region={COMMUNITY_A}&q=5678")
    assert [row[1:] for row in _rows(by_tail)] == [("+7", "7")]
    by_name = staff.get(f"/points/?region={COMMUNITY_A}&q={someone.person.name}")
    assert [row[1:] for row in _rows(by_name)] == [("+10", "10")]
    by_display_name = staff.get(f"/points/?region={COMMUNITY_A}&q=李四")
    assert [row[1:] for row in _rows(by_display_name)] == [("+7", "7")]
    nobody = staff.get(f"/points/?region={COMMUNITY_A}&q=0000")
    assert _rows(nobody) == [] and "没有符合条件" in nobody.content.decode()
    # a number as people type it: grouped, with +86, in full width
    for typed in ("139 1234 5678", "+8613912345678", "５６７８"):
        found = staff.get("/points/", {"region": COMMUNITY_A, "q": typed})
        assert [row[1:] for row in _rows(found)] == [("+7", "7")], typed


def test_entries_are_labelled_in_chinese_not_by_their_keys(world, award, someone):
    entry = award(someone, 10, key="checkin:4711")
    staff = world.a("community_worker")
    services.reverse(actor=Actor.staff(staff), entry=entry, reason="重复发放")
    reversal = JournalEntry.objects.get(kind=JournalEntry.Kind.REVERSE)
    assert "checkin:4711" not in reversal.memo  # what the board and the resident read
    page = client_for(staff).get(f"/points/?region={COMMUNITY_A}").content.decode()
    assert "checkin:4711" not in page and "reverse:" not in page
    assert "冲正" in page and "获得积分" in page
    assert [row[1:] for row in _rows_text(page)] == [("-10", "0"), ("+10", "10")]


def test_a_reversal_asks_for_confirmation(world, award, someone):
    award(someone, 10)
    page = client_for(world.a("community_worker")).get(f"/points/?region={COMMUNITY_A}")
    text = page.content.decode()
    form = re.search(r'<form[^>]*action="/points/entries/\d+/reverse/"[^>]*>', text)
    assert form and "data-confirm=" in form.group(0)


def _rows_text(text: str):
    return re.findall(
        r'data-holder="[^"]*">(.*?)</span>.*?data-amount>([^<]+)<.*?data-balance-after>([^<]+)<',
        text,
        flags=re.S,
    )
