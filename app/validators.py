"""Check characters of Chinese identity numbers (GB 11643-1999) and credit codes (GB 32100-2015)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from app import clock

SHANGHAI = ZoneInfo("Asia/Shanghai")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


class InvalidIdNumber(ValueError):
    pass


def parse_id_number(raw: str, today: date | None = None) -> tuple[str, date, str]:
    """Validate a resident ID number; return (normalised number, birth date, gender)."""
    value = raw.strip().upper()
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise InvalidIdNumber("身份证号应为18位，最后一位可以是数字或X")
    if value[0] not in "12345678":
        raise InvalidIdNumber("身份证号的地区码无效")
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    if _ID_CHECK[total % 11] != value[17]:
        raise InvalidIdNumber("身份证号校验位不正确，请核对")
    try:
        birth = datetime.strptime(value[6:14], "%Y%m%d").date()
    except ValueError:
        raise InvalidIdNumber("身份证号中的出生日期无效")
    today = today or today_shanghai()
    if birth > today or birth.year < 1900:
        raise InvalidIdNumber("身份证号中的出生日期无效")
    gender = "male" if int(value[16]) % 2 == 1 else "female"
    return value, birth, gender


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
