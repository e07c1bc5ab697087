"""WeChat subscribe-message keyword values: each type's rule (``check``, what WeChat refuses with
47003) and how we shape any text into a value the rule accepts (``shape``).

A keyword field is named by its type and a number (``thing1``, ``time2``, ``character_string3``): the
type is the name without its trailing digits. Rules (shared/docs/wave2.md): ``thing`` ≤ 20 characters,
``number`` ≤ 32 digits (a decimal point allowed), ``letter`` ≤ 32 letters, ``symbol`` ≤ 5 symbols,
``character_string`` ≤ 32 digits, letters and symbols, ``time`` a 24-hour time with an optional date
("~" between two for a range), ``date`` a date with an optional time, ``amount`` one currency sign and
≤ 10 digits with an optional "元", ``phone_number`` ≤ 17 digits and symbols, ``car_number`` ≤ 8,
``name`` ≤ 10 汉字 or ≤ 20 letters, ``phrase`` ≤ 5 汉字; no value may be empty or carry control
characters.

Lengths: WeChat counts UTF-16 units (JavaScript's ``length``), so an emoji outside the Basic
Multilingual Plane counts twice; shaping drops those characters (and control, format and private-use
characters, which WeChat refuses or shows as boxes) so that Python's length is WeChat's.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime

from app.validators import SHANGHAI

THING_MAX = 20
STRING_MAX = 32
PHRASE_MAX = 5
NAME_HAN_MAX = 10
NAME_LATIN_MAX = 20

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_ASCII_SYMBOLS = re.escape("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
# WeChat documents 年月日 ("2019年10月1日 15:01") and accepts ISO-style dates ("2019-10-01 15:01").
_DAY = r"(?:\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{1,2}-\d{1,2})"
_TIME_ONE = rf"(?:{_DAY}\s?)?\d{{1,2}}:\d{{2}}(?::\d{{2}})?"
_DATE_ONE = rf"{_DAY}(?:\s?\d{{1,2}}:\d{{2}}(?::\d{{2}})?)?"
_RULES: dict[str, re.Pattern[str]] = {
    "number": re.compile(r"\d{1,32}(?:\.\d+)?"),
    "letter": re.compile(r"[A-Za-z]{1,32}"),
    "symbol": re.compile(rf"[{_ASCII_SYMBOLS}]{{1,5}}"),
    "character_string": re.compile(rf"[0-9A-Za-z{_ASCII_SYMBOLS}]{{1,32}}"),
    "time": re.compile(rf"{_TIME_ONE}(?:~{_TIME_ONE})?"),
    "date": re.compile(rf"{_DATE_ONE}(?:~{_DATE_ONE})?"),
    "amount": re.compile(r"[¥$€£]\d{1,10}(?:\.\d{1,2})?元?"),
    "phone_number": re.compile(r"[0-9+\-() ]{1,17}"),
    "car_number": re.compile(rf"[{_HAN}A-Z0-9]{{1,8}}"),
    "name": re.compile(rf"[{_HAN}·]{{1,{NAME_HAN_MAX}}}|[A-Za-z .\-]{{1,{NAME_LATIN_MAX}}}"),
    "phrase": re.compile(rf"[{_HAN}]{{1,{PHRASE_MAX}}}"),
}
TYPES = frozenset({"thing", "enum", *_RULES})


def type_of(field: str) -> str:
    """``thing12`` → ``thing``; ValueError for a field that names no WeChat keyword type."""
    kind = field.rstrip("0123456789")
    if kind not in TYPES or kind == field:
        raise ValueError(f"{field!r} is not a WeChat keyword field (a type and a number, e.g. thing1)")
    return kind


def _bad_char(ch: str) -> bool:
    return ord(ch) > 0xFFFF or unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


def check(field: str, value: object) -> str | None:
    """Why WeChat would refuse ``value`` for ``field`` (None when it accepts it)."""
    try:
        kind = type_of(field)
    except ValueError as exc:
        return str(exc)
    if not isinstance(value, str) or not value.strip():
        return "empty"
    if any(_bad_char(ch) for ch in value):
        return "control or unsupported character"
    if kind == "thing":
        return None if len(value) <= THING_MAX else f"longer than {THING_MAX}"
    if kind == "enum":
        return None
    return None if _RULES[kind].fullmatch(value) else f"not a valid {kind}"


# --- shaping -------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Drop what no keyword may carry; collapse whitespace (newlines included) to single spaces."""
    kept = "".join(" " if ch.isspace() else ch for ch in text if ch.isspace() or not _bad_char(ch))
    return " ".join(kept.split())


def _cut(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(SHANGHAI)


def _plain_date(value: object) -> date | None:
    """A date without a time (a ``date``, or its ISO text), else None."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _fmt_date(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def shape(field: str, value: object, *, fallback_at: datetime) -> str:
    """A value for ``field`` that ``check`` accepts, made from ``value`` (a parameter as stored: text,
    a number, an ISO datetime or date). Time and date fields fall back to ``fallback_at`` (the
    notification's time) when the value is not a time."""
    kind = type_of(field)
    if kind in ("time", "date"):
        day = _plain_date(value)
        at = None if day else (_as_datetime(value) or fallback_at.astimezone(SHANGHAI))
        if kind == "date":
            return _fmt_date(day or at.date())  # type: ignore[union-attr]
        return f"{_fmt_date(day)} 00:00" if day else f"{_fmt_date(at.date())} {at:%H:%M}"  # type: ignore[union-attr]
    text = clean("" if value is None else str(value))
    if kind == "thing" or kind == "enum":
        return _cut(text, THING_MAX) or "—"
    if kind == "number":
        m = re.search(r"\d+(?:\.\d+)?", text.replace(",", ""))
        return m.group(0)[:STRING_MAX].rstrip(".") if m else "0"
    if kind == "letter":
        return "".join(ch for ch in text if ch.isascii() and ch.isalpha())[:STRING_MAX] or "NA"
    if kind == "symbol":
        return "".join(ch for ch in text if re.fullmatch(f"[{_ASCII_SYMBOLS}]", ch))[:5] or "-"
    if kind == "character_string":
        out = "".join(ch for ch in text if re.fullmatch(f"[0-9A-Za-z{_ASCII_SYMBOLS}]", ch))
        return out[:STRING_MAX] or "-"
    if kind == "amount":
        m = re.search(r"\d{1,10}(?:\.\d{1,2})?", text.replace(",", ""))
        return f"¥{m.group(0)}" if m else "¥0"
    if kind == "phone_number":
        return "".join(ch for ch in text if re.fullmatch(r"[0-9+\-() ]", ch)).strip()[:17] or "-"
    if kind == "car_number":
        out = "".join(ch for ch in text.upper() if re.fullmatch(f"[{_HAN}A-Z0-9]", ch))
        return out[:8] or "-"
    if kind == "name":
        han = "".join(ch for ch in text if re.fullmatch(f"[{_HAN}·]", ch)).strip("·")
        if han:
            return han[:NAME_HAN_MAX]
        latin = " ".join("".join(ch for ch in text if ch.isascii() and (ch.isalpha() or ch in " .-")).split())
        return latin[:NAME_LATIN_MAX].strip() or "用户"
    # phrase: a short status word in Chinese ("已通过"); anything else becomes a neutral word.
    han = "".join(ch for ch in text if re.fullmatch(f"[{_HAN}]", ch))
    return han[:PHRASE_MAX] or "通知"
