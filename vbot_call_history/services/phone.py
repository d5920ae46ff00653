"""Vietnamese phone numbers: normalisation and the keys that match calls to contacts.

The same line reaches Odoo in many spellings (``0912345678``, ``+84 91-234-5678``,
``0084912345678``, ``(+84) 91.234.5678 ext 12``...) and from two numbering plans older than
the CRM data they meet. Everything here is pure, never raises, and returns ``None`` (or an
empty list) for anything that is not a phone number.

``normalize(number)``
    The number as it is written today: E.164 (``+84912345678``) when :mod:`phonenumbers`
    (region ``VN``) calls it *valid*; 1800/1900 service numbers as their bare digits
    (``19001234``, they have no ``0``/``84`` form); ``None`` otherwise (empty, too short,
    internal extensions such as ``101``, SIP URIs, ``anonymous``, text). An extension
    (``ext 12``, ``#12``, ``x12``) is dropped: the key is the main line's.

``match_key(number)``
    :func:`normalize` after converting the two old numbering plans below, so that a contact
    saved in 2015 and a call from 2026 meet on the same key.

``match_keys(number)``
    ``match_key`` first, then any low-confidence extra key (see below).

``national_format(number)``
    The number as a Vietnamese reader writes it, for screens: ``0912 345 678``,
    ``028 3822 1234``, ``1900 1234``; a foreign number in international form; anything
    that is not a phone number as it was given.

Pre-2018 mobiles (11 digits, ``01xx``)
    Carriers moved them to 10 digits in 2018 keeping the last 7 digits (``0168 123 4567`` ->
    ``038 123 4567``). :mod:`phonenumbers` calls the old form invalid, so it is converted
    before validating. The prefixes are listed in :data:`LEGACY_MOBILE_PREFIXES`.

2017 landline area codes
    In 2017 (Quyết định 2036/QĐ-BTTTT, three phases Feb–Apr) 59 of the 63 provinces got a new
    area code; Vĩnh Phúc 0211, Phú Thọ 0210, Hòa Bình 0218 and Hà Giang 0219 kept theirs. The
    subscriber part was kept, so an old number converts by swapping the code
    (:data:`LANDLINE_CODES`). Whether that is safe depends on the digit count (without the
    trunk ``0``; subscriber numbers never start with ``0`` or ``1``):

    * old 1-digit codes (Hà Nội 4, TP.HCM 8) + 8 digits = 9 digits;
    * old 2-digit codes + 7 digits = 9 digits;
    * old 3-digit codes + 7 digits = 10 digits;
    * today every landline has 10 digits (``2xx`` + 7 or ``24``/``28`` + 8) and every
      mobile 9 (``3x``, ``5x``, ``7x``, ``8x``, ``9x`` + 7).

    Decision: an old number is converted - and ``match_key`` returns the *new* number, which
    is the same line - unless its shape is also a real number today:

    * 10-digit old numbers (codes 230, 231, 240, 241, 280, 281, 320, 321, 350, 351, 500,
      501, 510, 511, 650, 651, 710, 711, 780, 781) never clash with a mobile (9 digits).
      240/241/280/281 share their first digits with today's Hà Nội 24 / TP.HCM 28 numbers,
      but those never continue with ``0``/``1`` - converted.
    * 9-digit old numbers with a code that is a mobile prefix today are ambiguous:
      ``033``, ``036``-``039``, ``052``, ``055``, ``056``, ``058``, ``059``, ``070``,
      ``076``, ``077``, ``079`` and the old TP.HCM ``08`` (vs. ``081``-``089``) are
      **never** converted (:data:`COLLIDING_LANDLINE_CODES`): ``0373 123 456`` is a Viettel
      mobile, whatever it was in 2016. These keep what :mod:`phonenumbers` says.
    * the other 9-digit old numbers (Hà Nội 4 and the 2-digit codes 20, 22, 25-27, 29-31,
      53, 54, 57, 60-64, 66-68, 72-75) are not in use as mobiles - converted.
      :mod:`phonenumbers` happens to accept ``030``/``031`` + 7 digits as mobiles (its
      pattern is ``3x``; no carrier holds them): for those its reading is kept as a
      low-confidence extra key in ``match_keys``, after the converted one.

    Stored numbers are never rewritten by this module; it only computes keys.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

__all__ = [
    "COLLIDING_LANDLINE_CODES",
    "LANDLINE_CODES",
    "LEGACY_MOBILE_PREFIXES",
    "convert_legacy_mobile",
    "is_mobile",
    "match_key",
    "match_keys",
    "national_format",
    "normalize",
    "search_forms",
]

#: Pre-2018 11-digit mobile prefix -> today's 10-digit prefix (both without the trunk 0).
LEGACY_MOBILE_PREFIXES: dict[str, str] = {
    # MobiFone
    "120": "70",
    "121": "79",
    "122": "77",
    "126": "76",
    "128": "78",
    # VinaPhone
    "123": "83",
    "124": "84",
    "125": "85",
    "127": "81",
    "129": "82",
    # Viettel
    "162": "32",
    "163": "33",
    "164": "34",
    "165": "35",
    "166": "36",
    "167": "37",
    "168": "38",
    "169": "39",
    # Vietnamobile
    "186": "56",
    "188": "58",
    # Gmobile
    "199": "59",
}

#: The 2017 area-code change, old code -> new code (without the trunk 0), for the 59
#: provinces that changed. Codes of :data:`COLLIDING_LANDLINE_CODES` are listed for the
#: record but never converted.
LANDLINE_CODES: dict[str, str] = {
    # Phase 1, 11 Feb 2017
    "22": "212",  # Sơn La
    "231": "213",  # Lai Châu
    "20": "214",  # Lào Cai
    "230": "215",  # Điện Biên
    "29": "216",  # Yên Bái
    "52": "232",  # Quảng Bình
    "53": "233",  # Quảng Trị
    "54": "234",  # Thừa Thiên Huế
    "510": "235",  # Quảng Nam
    "511": "236",  # Đà Nẵng
    "37": "237",  # Thanh Hóa
    "38": "238",  # Nghệ An
    "39": "239",  # Hà Tĩnh
    # Phase 2, 15 Mar 2017
    "33": "203",  # Quảng Ninh
    "240": "204",  # Bắc Giang
    "25": "205",  # Lạng Sơn
    "26": "206",  # Cao Bằng
    "27": "207",  # Tuyên Quang
    "280": "208",  # Thái Nguyên
    "281": "209",  # Bắc Kạn
    "320": "220",  # Hải Dương
    "321": "221",  # Hưng Yên
    "241": "222",  # Bắc Ninh
    "31": "225",  # Hải Phòng
    "351": "226",  # Hà Nam
    "36": "227",  # Thái Bình
    "350": "228",  # Nam Định
    "30": "229",  # Ninh Bình
    "55": "255",  # Quảng Ngãi
    "56": "256",  # Bình Định
    "57": "257",  # Phú Yên
    "58": "258",  # Khánh Hòa
    "68": "259",  # Ninh Thuận
    "60": "260",  # Kon Tum
    "501": "261",  # Đắk Nông
    "500": "262",  # Đắk Lắk
    "63": "263",  # Lâm Đồng
    "59": "269",  # Gia Lai
    # Phase 3, 14 Apr 2017
    "4": "24",  # Hà Nội
    "8": "28",  # TP. Hồ Chí Minh
    "61": "251",  # Đồng Nai
    "62": "252",  # Bình Thuận
    "64": "254",  # Bà Rịa - Vũng Tàu
    "70": "270",  # Vĩnh Long
    "651": "271",  # Bình Phước
    "72": "272",  # Long An
    "73": "273",  # Tiền Giang
    "650": "274",  # Bình Dương
    "75": "275",  # Bến Tre
    "66": "276",  # Tây Ninh
    "67": "277",  # Đồng Tháp
    "780": "290",  # Cà Mau
    "781": "291",  # Bạc Liêu
    "710": "292",  # Cần Thơ
    "711": "293",  # Hậu Giang
    "74": "294",  # Trà Vinh
    "76": "296",  # An Giang
    "77": "297",  # Kiên Giang
    "79": "299",  # Sóc Trăng
}

#: Old codes whose old numbers look exactly like a mobile number of today: never converted.
COLLIDING_LANDLINE_CODES: frozenset[str] = frozenset(
    {"33", "36", "37", "38", "39", "52", "55", "56", "58", "59", "70", "76", "77", "79", "8"}
)

_SERVICE_PREFIXES = ("1800", "1900")
_MAX_INPUT = 64
# An extension starts at "#", ",", ";", "ext", "x" or the Vietnamese "máy lẻ" / "nhánh".
_EXTENSION = re.compile(r"(?i)\s*(?:#|,|;|\bext\b|\bext\.|\bextension\b|x|máy lẻ|nhánh)")
_TRUNK_IN_BRACKETS = re.compile(r"\(\s*0\s*\)")
_ALLOWED = re.compile(r"[\d\s+\-().\u00a0]+")


def _main_digits(number: object) -> tuple[str, bool] | None:
    """The digits of the main line and whether it was written with a leading ``+``."""
    if isinstance(number, bool) or not isinstance(number, str | int):
        return None
    text = str(number).strip()
    if not text or len(text) > _MAX_INPUT:
        return None
    text = _EXTENSION.split(text, maxsplit=1)[0]
    text = _TRUNK_IN_BRACKETS.sub(" ", text).strip()
    if not text or not _ALLOWED.fullmatch(text):
        return None
    plus = text.lstrip("(").startswith("+")
    if "+" in text.lstrip("(")[1:]:
        return None
    digits = re.sub(r"\D", "", text)
    return (digits, plus) if digits else None


def _split(number: object) -> tuple[str, str] | None:
    """``(country calling code, national digits)``; the country is ``'84'`` for local forms.

    ``+84…``, ``0084…``, ``84…`` (11+ digits), ``0…`` and bare national digits are Vietnamese;
    ``+CC…`` and ``00CC…`` with another code are returned with an empty country code and the
    international digits, for :mod:`phonenumbers` to read.
    """
    main = _main_digits(number)
    if main is None:
        return None
    digits, plus = main
    if not plus and digits.startswith("00"):
        digits, plus = digits[2:], True
    if plus:
        if not digits.startswith("84"):
            return "", digits
        digits = digits[2:]
    elif digits.startswith("84") and len(digits) >= 11:
        digits = digits[2:]
    # "+84 0912…" is a common slip: a national number never starts with its trunk 0.
    return "84", digits.removeprefix("0")


def _e164(country: str, national: str) -> str | None:
    """E.164 of a number :mod:`phonenumbers` calls valid, or the bare service number."""
    if not national:
        return None
    if country == "84" and national.startswith(_SERVICE_PREFIXES) and len(national) in (8, 10):
        return national
    if (
        country == "84"
        and len(national) > _SHAPE_PREFIX
        and national.isdigit()
        and national[0] != "0"
    ):
        return "+84" + national if _vn_shape(national)[0] else None
    try:
        parsed = phonenumbers.parse("+" + country + national)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


#: Digits that, with the length, decide how :mod:`phonenumbers` reads a Vietnamese number:
#: its metadata tells numbers apart by their first digits (at most 4 for Vietnam: ``121x``,
#: ``1800``...), then the count of the rest. What it says of one number (valid or not, and
#: how it is written) is remembered for every other number of that length and prefix: a
#: million calls bring a few hundred thousand distinct numbers, but a few thousand
#: prefixes. ``tests/test_phone.py`` holds the installed metadata to it.
_SHAPE_PREFIX = 4
_SHAPES_MAX = 100_000
_shapes: dict[tuple[int, str], tuple[bool, str | None]] = {}


def _vn_shape(national: str) -> tuple[bool, str | None]:
    """``(valid, national format template)`` of a Vietnamese number's national digits,
    as :mod:`phonenumbers` reads the first number of its length and prefix.

    The template is the national format with a ``{}`` for each national digit (None when
    the number is invalid, or its format does not end with its digits)."""
    key = (len(national), national[:_SHAPE_PREFIX])
    shape = _shapes.get(key)
    if shape is None:
        if len(_shapes) >= _SHAPES_MAX:
            _shapes.clear()
        try:
            parsed = phonenumbers.parse("+84" + national)
            valid = phonenumbers.is_valid_number(parsed)
        except phonenumbers.NumberParseException:
            parsed, valid = None, False
        template = None
        if valid:
            written = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            template = _template(written, national)
        shape = _shapes[key] = (valid, template)
    return shape


def _template(written: str, national: str) -> str | None:
    """``written`` with each of ``national``'s digits, matched from the end, made a ``{}``
    slot; None when its last digits are not ``national``."""
    chars = [char.replace("{", "{{").replace("}", "}}") for char in written]
    left = len(national)
    for index in range(len(chars) - 1, -1, -1):
        if left and chars[index].isdigit():
            if chars[index] != national[left - 1]:
                return None
            chars[index] = "{}"
            left -= 1
    return None if left else "".join(chars)


def _legacy_mobile(national: str) -> str | None:
    """Today's national digits of a pre-2018 mobile, or None."""
    if len(national) == 10 and national[:3] in LEGACY_MOBILE_PREFIXES:
        return LEGACY_MOBILE_PREFIXES[national[:3]] + national[3:]
    return None


def _old_landline(national: str) -> str | None:
    """Today's national digits of an unambiguous pre-2017 landline, or None."""
    for size in (1, 2, 3):
        code = national[:size]
        subscriber = national[size:]
        wanted = 8 if size == 1 else 7
        if (
            code in LANDLINE_CODES
            and code not in COLLIDING_LANDLINE_CODES
            and len(subscriber) == wanted
            and subscriber[0] not in "01"
        ):
            return LANDLINE_CODES[code] + subscriber
    return None


def normalize(number: object) -> str | None:
    """The number in E.164 (``'+84912345678'``), a bare service number, or None.

    No old-plan conversion here (see :func:`match_key`); never raises.
    """
    split = _split(number)
    return _e164(*split) if split else None


def convert_legacy_mobile(digits: object) -> str | None:
    """A pre-2018 11-digit mobile in any form -> today's 10-digit national form, else None.

    ``'01681234567'``, ``'841681234567'`` and ``'+84 168 123 4567'`` give ``'0381234567'``.
    """
    split = _split(digits)
    if split is None or split[0] != "84":
        return None
    converted = _legacy_mobile(split[1])
    return "0" + converted if converted else None


def _keys(number: object) -> tuple[str, ...]:
    # The same numbers come back page after page (a customer calls often): parsing is
    # the costly part of mapping a call, so text inputs are memoised.
    if isinstance(number, str):
        return _text_keys(number)
    return _parse_keys(number)


@functools.lru_cache(maxsize=65536)
def _text_keys(number: str) -> tuple[str, ...]:
    return _parse_keys(number)


def _parse_keys(number: object) -> tuple[str, ...]:
    split = _split(number)
    if split is None:
        return ()
    country, national = split
    current = _e164(country, national)
    if country != "84":
        return (current,) if current else ()
    converted = _legacy_mobile(national) or _old_landline(national)
    primary = _e164(country, converted) if converted else None
    return tuple(dict.fromkeys(key for key in (primary, current) if key))


def match_key(number: object) -> str | None:
    """The key that matches calls to contacts: :func:`normalize` after old-plan conversion.

    ``'01681234567'`` -> ``'+84381234567'``; ``'04 3822 2222'`` -> ``'+842438222222'``;
    ``'0373 123 456'`` -> ``'+84373123456'`` (a colliding code: never converted).
    """
    keys = _keys(number)
    return keys[0] if keys else None


def match_keys(number: object) -> list[str]:
    """:func:`match_key` first, then the low-confidence extra keys; unique, maybe empty.

    The only extra key is the unconverted reading of an old landline that
    :mod:`phonenumbers` also accepts as a number of today (``031 382 2222``: Hải Phòng's old
    landline, converted to ``+842253822222``, and a ``+84313822222`` "mobile" no carrier
    holds).
    """
    return list(_keys(number))


def national_format(number: object) -> str:
    """The number as people read it: ``'0912 345 678'``, ``'028 3822 1234'``, ``'1900 1234'``.

    Today's number is shown (a pre-2018 ``0168 123 4567`` reads ``0381 234 567``, the
    number to dial). Foreign numbers are shown in international form (``+1 650-253-0000``);
    anything that is not a phone number (``anonymous``, an extension) is returned stripped,
    as given; ``None`` and non-text give ``''``. Never raises.
    """
    if isinstance(number, bool) or not isinstance(number, str | int):
        return ""
    if isinstance(number, str):
        return _national_text(number)
    return _national(number)


@functools.lru_cache(maxsize=65536)
def _national_text(number: str) -> str:
    return _national(number)


def _national(number: str | int) -> str:
    key = match_key(number)
    if not key:
        return str(number).strip()[:_MAX_INPUT]
    if not key.startswith("+"):  # 1800/1900 service numbers
        if len(key) == 8:
            return f"{key[:4]} {key[4:]}"
        return f"{key[:4]} {key[4:7]} {key[7:]}"
    if key.startswith("+84") and len(key) > 3 + _SHAPE_PREFIX:
        template = _vn_shape(key[3:])[1]
        if template:
            return template.format(*key[3:])
    parsed = phonenumbers.parse(key)
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 84
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def is_mobile(number: object) -> bool:
    """Whether the number (any format, old plans included) is a mobile number today."""
    key = match_key(number)
    if not key or not key.startswith("+"):
        return False
    number_type = phonenumbers.number_type(phonenumbers.parse(key))
    return number_type in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


def search_forms(number: object) -> list[str]:
    """The spellings to ask VBot for when looking up ``number``'s calls (``phone`` filter).

    VBot matches the ``phone`` filter against the numbers it stored, in national format
    (``0364307520``). A CRM may hold the number in another spelling or from an older plan
    (``0122 556 7594`` is today's ``0775 567 594``), so: the number as written (stripped),
    then each :func:`match_keys` key in national format (``0`` + the digits after ``+84``;
    service numbers and foreign numbers as the key is). Unique, maybe empty.
    """
    forms: list[str] = []
    if isinstance(number, str) and number.strip() and len(number) <= _MAX_INPUT:
        forms.append(number.strip())
    for key in match_keys(number):
        forms.append("0" + key[3:] if key.startswith("+84") else key)
    return list(dict.fromkeys(forms))
