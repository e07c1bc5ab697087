"""Check characters of Chinese identity numbers (GB 11643-1999) and credit codes (GB 32100-2015)."""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from app import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# ASCII only: str.isdigit() and \d also take full-width and other Unicode digits, which would make
# one number many different lookup hashes.
_ID_SHAPE = re.compile(r"[0-9]{17}[0-9X]")
# Province-level codes of GB/T 2260 that resident ID numbers start with.
PROVINCES = frozenset({
    *range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66), 71,
    *range(81, 84),
})
MAX_AGE = 120


class InvalidIdNumber(ValueError):
    pass


def parse_id_number(raw: str, today: date | None = None) -> tuple[str, date, str]:
    """Validate a resident ID number (GB 11643-1999) or a foreigner's permanent-residence ID number
    (2023 card: "9", the issuing province, a three-digit nationality code, then the same birth date,
    sequence and check character); return (normalised number, birth date, gender)."""
    value = raw.strip().upper()
    if not _ID_SHAPE.fullmatch(value):
        raise InvalidIdNumber("身份证号应为18位半角数字，最后一位可以是数字或X")
    province = value[1:3] if value[0] == "9" else value[:2]
    if int(province) not in PROVINCES:
        raise InvalidIdNumber("身份证号的地区码无效")
    if id_check_char(value[:17]) != value[17]:
        raise InvalidIdNumber("身份证号校验位不正确，请核对")
    try:
        birth = datetime.strptime(value[6:14], "%Y%m%d").date()
    except ValueError:
        raise InvalidIdNumber("身份证号中的出生日期无效")
    today = today or today_shanghai()
    if birth > today or age_on(birth, today) > MAX_AGE:
        raise InvalidIdNumber("身份证号中的出生日期无效")
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return value, birth, gender


def is_ascii_id_spelling(value: str) -> bool:
    """Whether a stored number is spelled as the validator now requires (used to audit old rows)."""
    return bool(_ID_SHAPE.fullmatch(value))


def id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def mask_id_number(value: str) -> str:
    return value[:4] + "*" * 10 + value[-4:]


def mask_phone(value: str) -> str:
    return value[:3] + "****" + value[-4:] if len(value) >= 7 else "****"


def today_shanghai() -> date:
    return clock.now().astimezone(SHANGHAI).date()


def age_on(birth: date, day: date | None = None) -> int:
    day = day or today_shanghai()
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


_CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def credit_code_check_char(first17: str) -> str:
    total = sum(_CC_CHARS.index(c) * w for c, w in zip(first17, _CC_WEIGHTS, strict=True))
    return _CC_CHARS[(31 - total % 31) % 31]


def validate_credit_code(raw: str) -> str:
    value = raw.strip().upper()
    if len(value) != 18 or any(c not in _CC_CHARS for c in value):
        raise ValueError("统一社会信用代码应为18位数字或大写字母（不含I、O、Z、S、V）")
    if credit_code_check_char(value[:17]) != value[17]:
        raise ValueError("统一社会信用代码校验位不正确，请核对")
    return value
