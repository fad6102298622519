import datetime

import pytest

from jiceng.core.errors import DomainError
from jiceng.core.idnumber import check_character, parse_id_number


def test_the_standard_example_is_valid_and_tells_birth_date_and_gender():
    parsed = parse_id_number("11010519491231002X")
    assert parsed.birth_date == datetime.date(1949, 12, 31)
    assert parsed.gender == "F"  # sequence 002 is even


def test_lower_case_x_and_spaces_are_normalized():
    assert parse_id_number(" 11010519491231002x ").value == "11010519491231002X"


def test_an_odd_sequence_is_male():
    first17 = "37082919800101001"
    assert parse_id_number(first17 + check_character(first17)).gender == "M"


def test_a_retired_address_code_is_accepted():
    first17 = "37290119700101003"  # 菏泽地区's old code lives on in older numbers
    assert parse_id_number(first17 + check_character(first17)).value.startswith("372901")


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("110105194912310021", "id_number_check_digit"),
        ("11010519491231002", "id_number_length"),
        ("1101051949123100211", "id_number_length"),
        ("11010519491331002X", "id_number_birth_date"),
        ("11010519490230002X", "id_number_birth_date"),
        ("1101051949A231002X", "id_number_characters"),
        ("", "id_number_length"),
    ],
)
def test_invalid_numbers_are_refused_with_a_stable_code(value, code):
    with pytest.raises(DomainError) as error:
        parse_id_number(value)
    assert error.value.code == code
    assert error.value.message  # a Chinese sentence for the page


def test_a_birth_date_in_the_future_is_refused():
    first17 = "37082920990101001"
    with pytest.raises(DomainError) as error:
        parse_id_number(first17 + check_character(first17), today=datetime.date(2026, 11, 28))
    assert error.value.code == "id_number_birth_date"
