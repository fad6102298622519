import pytest

from jiceng.core import phones


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("13905371234", "13905371234"),
        ("139 0537 1234", "13905371234"),
        ("139-0537-1234", "13905371234"),
        ("+86 139 0537 1234", "13905371234"),
        ("0086-13905371234", "13905371234"),
        ("８６１３９０５３７１２３４", "13905371234"),
        ("１３９０５３７１２３４", "13905371234"),
        ("12905371234", None),
        ("1390537123", None),
        ("", None),
        ("电话13905371234", None),
    ],
)
def test_mobile_numbers_as_people_type_them(typed, expected):
    assert phones.mobile(typed) == expected


def test_a_landline_keeps_its_area_code():
    assert phones.phone("0537-6543210") == "0537-6543210"
    assert phones.phone("（0537）6543210") == "05376543210"
    assert phones.phone("6543210") == "6543210"  # a local number
    assert phones.phone("65432") is None
