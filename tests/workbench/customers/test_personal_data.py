"""Personal data rules: normalization for blind indexes, ID check digits, surnames, masks."""

from __future__ import annotations

import pytest

from mobile_contracts.v1.identity import Role
from workbench.customers.personal_data import (
    id_check_digit,
    mask_id_number,
    mask_name,
    mask_phone,
    masked_for,
    normalize_id_number,
    normalize_name,
    normalize_phone,
    surname,
)

# GB 11643's published example, with an X check character.
SAMPLE_X = "11010519491231002X"


@pytest.mark.parametrize(
    "raw",
    [
        "13812345678",
        " 13812345678 ",
        "138 1234 5678",
        "138-1234-5678",
        "(138) 1234-5678",
        "+86 138 1234 5678",
        "+8613812345678",
        "8613812345678",
        "0086 138 1234 5678",
        "+86-138-1234-5678",
        "１３８１２３４５６７８",  # full-width digits, as some IMEs type them
    ],
)
def test_normalize_phone_accepts_common_formats(raw):
    assert normalize_phone(raw) == "13812345678"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "12812345678",  # second digit must be 3-9
        "23812345678",
        "010-12345678",  # a landline
        "861381234567",  # the country code does not make up for a missing digit
        "+85 13812345678",
        "1381234567a",
        "138.1234.5678",
    ],
)
def test_normalize_phone_rejects_non_mobile_numbers(raw):
    assert normalize_phone(raw) is None


@pytest.mark.parametrize("raw", ["+1 415 555 0100", "+1-415-555-0100", "+44 1632 960 000"])
def test_a_foreign_country_code_is_not_read_as_a_mainland_number(raw):
    # Eleven digits remain once "+" is dropped, but the number is explicitly not Chinese.
    assert normalize_phone(raw) is None


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_every_mobile_prefix_is_valid(prefix):
    assert normalize_phone(f"{prefix}012345678") == f"{prefix}012345678"


def test_id_check_digit_follows_gb_11643():
    assert id_check_digit(SAMPLE_X[:17]) == "X"
    assert id_check_digit("11010119900307123") == "3"
    # Every remainder maps to its own character; all eleven occur.
    seen = {id_check_digit(f"110101199003071{n:02}") for n in range(100)}
    assert seen == set("0123456789X")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (SAMPLE_X, SAMPLE_X),
        (SAMPLE_X.lower(), SAMPLE_X),
        (f"  {SAMPLE_X} ", SAMPLE_X),
        ("110101199003071233", "110101199003071233"),
        ("１１０１０１１９９００３０７１２３３", "110101199003071233"),  # full-width
    ],
)
def test_normalize_id_number_accepts_valid_numbers(raw, expected):
    assert normalize_id_number(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "110101199003071235",  # wrong check digit
        "11010519491231002 ",  # check character missing
        "110105194912310020",  # X expected, 0 given
        "11010119900307123X",  # 3 expected, X given
        "110101900307123",  # old 15-digit number
        "1101011990030712335",  # 19 characters
        "11010119900307123Y",
        "X10101199003071233",
        "1101 0119 9003 0712 33",  # inner spaces are not accepted
        "",
    ],
)
def test_normalize_id_number_rejects_invalid_numbers(raw):
    assert normalize_id_number(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("  张 三 ", "张 三"),
        ("Zhang  Wei", "zhang wei"),
        ("ＺＨＡＮＧ Ｗｅｉ", "zhang wei"),
        ("\tLi\u3000Ming\n", "li ming"),
    ],
)
def test_normalize_name(raw, expected):
    assert normalize_name(raw) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("张三", "张"),
        ("张小三", "张"),
        ("欧阳娜娜", "欧阳"),
        ("欧阳修", "欧阳"),
        ("司马光", "司马"),
        ("诸葛亮", "诸葛"),
        ("上官婉儿", "上官"),
        ("欧小明", "欧"),  # 欧 alone is a single-character surname
        ("马司令", "马"),
        ("张", "张"),
        ("zhang wei", "zhang"),
        ("wang xiao ming", "wang"),
        ("madonna", "m"),
    ],
)
def test_surname(name, expected):
    assert surname(normalize_name(name)) == expected


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三", "张*"),
        ("张小三", "张*三"),
        ("欧阳娜娜", "欧**娜"),
        ("司马相如", "司**如"),
        ("张", "*"),
        ("  张小三  ", "张*三"),
        ("", "*"),
    ],
)
def test_mask_name(name, masked):
    assert mask_name(name) == masked


def test_mask_name_of_a_latin_name_keeps_only_the_ends():
    masked = mask_name("Wang Xiaoming")
    assert masked[0] == "W"
    assert masked[-1] == "g"
    assert set(masked[1:-1]) == {"*"}
    assert len(masked) == len("WangXiaoming")  # one star a letter; the space is no letter


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("1234567") == "****"
    assert mask_phone("") == "****"


def test_mask_id_number():
    assert mask_id_number(SAMPLE_X) == "110***********002X"
    assert mask_id_number("110101199003071234") == "110***********1234"
    assert mask_id_number("1234567") == "*******"
    assert len(mask_id_number(SAMPLE_X)) == 18


@pytest.mark.parametrize("role", [Role.RM, Role.BRANCH_HEAD])
def test_staff_see_the_masks(role):
    assert masked_for(role, name="张小三", phone="13812345678", id_number=SAMPLE_X) == (
        "张*三",
        "138****5678",
        "110***********002X",
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.MARKETING, Role.COMPLIANCE])
def test_other_roles_see_nothing(role):
    shown = masked_for(role, name="张小三", phone="13812345678", id_number=SAMPLE_X)
    for part in shown:
        assert set(part) == {"*"}
