import pytest

from jiceng.core.masking import mask_id_number, mask_name, mask_phone, mask_text


def test_id_numbers_keep_the_area_and_the_last_four():
    assert mask_id_number("37082919800101123X") == "370829********123X"


def test_phones_keep_the_first_three_and_the_last_four():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("0537-6812345") == "053*****2345"


@pytest.mark.parametrize(
    ("name", "masked"), [("张三", "张*"), ("张三明", "张*明"), ("欧阳小明", "欧**明"), ("", "")]
)
def test_names_for_public_lists(name, masked):
    assert mask_name(name) == masked


def test_sensitive_text_shows_only_that_it_exists():
    assert mask_text("残疾人") == "******"
    assert mask_text("") == ""
