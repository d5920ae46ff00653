"""Vietnamese phone numbers: every spelling of a line gives one key; junk gives none."""

from __future__ import annotations

import random
import string

import phonenumbers
import pytest
from phonenumbers import PhoneNumberFormat

from vbot_call_history.services import phone
from vbot_call_history.services.phone import (
    COLLIDING_LANDLINE_CODES,
    LANDLINE_CODES,
    LEGACY_MOBILE_PREFIXES,
    convert_legacy_mobile,
    match_key,
    match_keys,
    national_format,
    normalize,
    search_forms,
)

SAME_MOBILE = [
    "0912345678",
    "+84912345678",
    "84912345678",
    "0084912345678",
    "0912 345 678",
    "(+84) 91-234-5678",
    "0912.345.678",
    "+84 (0) 912 345 678",
    "+84 0912345678",
    " 0912-345-678 ",
    "0912\u00a0345\u00a0678",
    "912345678",
    912345678,
    "0912345678 ext 12",
    "0912345678 ext. 12",
    "0912345678#12",
    "0912345678 x12",
    "0912345678, máy lẻ 12",
]


@pytest.mark.parametrize("number", SAME_MOBILE)
def test_every_spelling_of_a_mobile_gives_one_key(number):
    assert normalize(number) == "+84912345678"
    assert match_key(number) == "+84912345678"
    assert match_keys(number) == ["+84912345678"]


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("0364307520", "+84364307520"),  # the real sample's customer
        ("842455599940", "+842455599940"),  # the real sample's hotline (Hà Nội landline)
        ("024 3822 2222", "+842438222222"),
        ("028 3822 2222", "+842838222222"),
        ("0236 3822 222", "+842363822222"),
        ("0210 3822 222", "+842103822222"),  # Phú Thọ kept its code
        ("0523 123 456", "+84523123456"),
        ("0868 123 456", "+84868123456"),
        ("+1 650 253 0000", "+16502530000"),
        ("0016502530000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_current_numbers(number, expected):
    assert normalize(number) == expected
    assert match_key(number) == expected


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("19001234", "19001234"),
        ("1900 1234", "19001234"),
        ("1900-6600", "19006600"),
        ("1800 1234", "18001234"),
        ("1800 123 456", "1800123456"),
    ],
)
def test_service_numbers_are_kept_verbatim(number, expected):
    assert normalize(number) == expected
    assert match_key(number) == expected


@pytest.mark.parametrize(("old", "new"), sorted(LEGACY_MOBILE_PREFIXES.items()))
def test_each_legacy_mobile_prefix_converts(old, new):
    number = f"0{old}1234567"
    assert convert_legacy_mobile(number) == f"0{new}1234567"
    assert match_key(number) == f"+84{new}1234567"
    assert normalize(number) is None  # phonenumbers alone calls the old form invalid


@pytest.mark.parametrize(
    "number", ["01681234567", "841681234567", "+84 168 123 4567", "0168 123 4567", "0168.123.4567"]
)
def test_legacy_mobile_in_any_form(number):
    assert convert_legacy_mobile(number) == "0381234567"
    assert match_key(number) == "+84381234567"
    assert match_keys(number) == ["+84381234567"]


@pytest.mark.parametrize("number", ["0912345678", "01701234567", "", None, "abc", "0168123456"])
def test_convert_legacy_mobile_leaves_other_numbers(number):
    assert convert_legacy_mobile(number) is None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("04 3822 2222", "+842438222222"),  # Hà Nội 4 -> 24
        ("(04) 38.222.222", "+842438222222"),
        ("+84 4 3822 2222", "+842438222222"),
        ("0511 3822 222", "+842363822222"),  # Đà Nẵng 511 -> 236
        ("031 3822 222", "+842253822222"),  # Hải Phòng 31 -> 225
        ("0320 3822 222", "+842203822222"),  # Hải Dương 320 -> 220
        ("0240 3822 222", "+842043822222"),  # Bắc Giang 240 -> 204
        ("0241 3822 222", "+842223822222"),  # Bắc Ninh 241 -> 222
        ("0280 3822 222", "+842083822222"),  # Thái Nguyên 280 -> 208
        ("0710 3822 222", "+842923822222"),  # Cần Thơ 710 -> 292
        ("064 3822 222", "+842543822222"),  # Bà Rịa - Vũng Tàu 64 -> 254
        ("030 3822 222", "+842293822222"),  # Ninh Bình 30 -> 229
    ],
)
def test_old_landline_gives_the_new_number(old, new):
    assert match_key(old) == new
    assert match_key(old) == match_key(new)  # the same line, saved before and after 2017


def test_every_non_colliding_old_code_converts():
    for old, new in LANDLINE_CODES.items():
        if old in COLLIDING_LANDLINE_CODES:
            continue
        subscriber = "38222222" if len(old) == 1 else "3822222"
        assert match_key(f"0{old}{subscriber}") == f"+84{new}{subscriber}", old


def test_landline_table_covers_59_provinces():
    assert len(LANDLINE_CODES) == 59
    assert len(set(LANDLINE_CODES.values())) == 59
    assert set(LANDLINE_CODES) >= COLLIDING_LANDLINE_CODES


@pytest.mark.parametrize(
    "number",
    [
        "0333 822 222",  # Quảng Ninh's old 33 is Viettel's 033 now
        "0363 822 222",
        "0373 822 222",
        "0383 822 222",
        "0393 822 222",
        "0523 822 222",
        "0563 822 222",
        "0583 822 222",
        "0593 822 222",
        "0703 822 222",
        "0763 822 222",
        "0773 822 222",
        "0793 822 222",
        "08 3822 2222",  # old TP.HCM vs VinaPhone 083
    ],
)
def test_colliding_old_codes_are_not_converted(number):
    assert match_key(number) == normalize(number)
    assert match_key(number).startswith("+84")
    assert len(match_keys(number)) == 1


def test_low_confidence_extra_key():
    # phonenumbers reads 031 + 7 digits as a mobile; no carrier holds 031: the converted
    # Hải Phòng number comes first, that reading after it.
    assert match_keys("031 3822 222") == ["+842253822222", "+84313822222"]


@pytest.mark.parametrize(
    "number",
    [
        None,
        "",
        "   ",
        "101",
        "104",
        "anonymous",
        "Anonymous",
        "sip:101@pbx.vbot.vn",
        "sip:0912345678@pbx.vbot.vn",
        "ext 12",
        "#12",
        "abc",
        "0912abc678",
        "0912345678 / 0987654321",
        "+84 91 + 2345678",
        "113",
        "12345",
        "0240 1822 222",  # a subscriber number never starts with 1
        "0" * 80,
        True,
        3.5,
        ["0912345678"],
        {"phone": "0912345678"},
        b"0912345678",
        "+",
        "()",
        "84",
    ],
)
def test_junk_gives_no_key(number):
    assert normalize(number) is None
    assert match_key(number) is None
    assert match_keys(number) == []


IDEMPOTENT = [
    *SAME_MOBILE,
    "01681234567",
    "04 3822 2222",
    "0511 3822 222",
    "031 3822 222",
    "0373 822 222",
    "08 3822 2222",
    "19001234",
    "+1 650 253 0000",
]


@pytest.mark.parametrize("number", IDEMPOTENT)
def test_match_key_is_idempotent(number):
    key = match_key(number)
    assert key is not None
    assert match_key(key) == key
    assert normalize(key) == key


def test_fuzz_never_raises_and_stays_idempotent():
    rng = random.Random(7)
    alphabet = string.digits * 4 + " +-().#x,;/" + "abcsip:@"
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        keys = match_keys(text)
        assert len(keys) == len(set(keys))
        key = match_key(text)
        assert key == (keys[0] if keys else None)
        if key is not None:
            assert match_key(key) == key
        normalize(text)
        convert_legacy_mobile(text)


# -- national display format -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("0912345678", "0912 345 678"),
        ("+84 91-234-5678", "0912 345 678"),
        ("0084912345678", "0912 345 678"),
        (84912345678, "0912 345 678"),
        ("0168 123 4567", "0381 234 567"),  # today's number, the one to dial
        ("02838221234", "028 3822 1234"),
        ("(04) 3942 1234", "024 3942 1234"),
        ("19001234", "1900 1234"),
        ("1800 123 456", "1800 123 456"),
        ("+1 650 253 0000", "+1 650-253-0000"),
        ("anonymous", "anonymous"),
        (" 101 ", "101"),
        ("", ""),
        (None, ""),
        (True, ""),
    ],
)
def test_national_format(number, shown):
    assert national_format(number) == shown


# -- what Fetch calls asks VBot for (issue 7) ------------------------------------------------


@pytest.mark.parametrize(
    ("number", "forms"),
    [
        ("0122 556 7594", ["0122 556 7594", "0775567594"]),  # pre-2018: 9 calls, not 0
        ("+84 912 345 678", ["+84 912 345 678", "0912345678"]),
        ("0912345678", ["0912345678"]),
        ("1900 1234", ["1900 1234", "19001234"]),
        ("", []),
        (None, []),
    ],
)
def test_search_forms(number, forms):
    assert search_forms(number) == forms


def test_phonenumbers_reads_numbers_alike_by_length_and_first_digits():
    """Validity and national format are remembered per length and first digits: for every
    Vietnamese prefix and length, numbers with other last digits are read exactly as
    :mod:`phonenumbers` reads each of them (the installed metadata holds to it)."""
    rng = random.Random(84)
    nationals = [
        f"{prefix}{rng.randrange(10 ** (length - 4)):0{length - 4}d}"
        for length in range(7, 11)
        for prefix in range(1000, 10000)
        for _ in range(2)
    ]
    nationals += [f"{rng.randrange(10**5, 10**6)}" for _ in range(500)]
    nationals += [f"{rng.randrange(10**10, 10**11)}" for _ in range(500)]
    phone._shapes.clear()
    for national in nationals:
        if national.startswith(("1800", "1900")) and len(national) in (8, 10):
            continue  # service numbers: their bare digits, before phonenumbers is asked
        try:
            parsed = phonenumbers.parse("+84" + national)
            valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            valid = False
        expected = phonenumbers.format_number(parsed, PhoneNumberFormat.E164) if valid else None
        assert phone._e164("84", national) == expected, national
        key = match_key("+84" + national)  # today's number (old plans converted)
        if key and key.startswith("+84"):
            written = phonenumbers.format_number(
                phonenumbers.parse(key), PhoneNumberFormat.NATIONAL
            )
            assert phone._national("+84" + national) == written, national
    assert len(phone._shapes) < 40000  # shared, not one per number
