"""The catalogue: every kind renders with any parameters, and every kind's WeChat keywords come out in
a shape WeChat accepts, whatever the parameters hold (long text, emoji, control characters, empty)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

import app.main  # noqa: F401  (imports every service, so every kind is declared)
from app.config import get_settings
from app.services.notifications import catalogue
from app.services.notifications.catalogue import KINDS, TEMPLATES, CatalogueError, define, notify
from app.wechat import keywords as kw

AT = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)  # the next Shanghai day already

HOSTILE: dict[str, object] = {
    "long": "春城青年" * 80,
    "emoji": "🎉🏠活动😀👨‍👩‍👧‍👦报名成功🇨🇳" * 5,
    "controls": "第一行\n第二行\r\n\t制表\x00\x07\x1b[31m红\u202eevil\u200b\u2066隐藏\ufeff",
    "empty": "",
    "spaces": "   ",
    "none": None,
    "number": 12345678901234567890123456789012345678,
    "float": 2.75,
    "negative": -3,
    "latin": "Robert'); DROP TABLE students;-- " * 3,
    "symbols": "=HYPERLINK(\"x\")~!@#$%^&*()_+{}|:<>?",
    "datetime": AT,
    "date": date(2026, 2, 29 - 1),
    "iso": "2026-12-01T09:30:00+08:00",
    "braces": "{project}{0}{}",
    "surrogates": "a\ud800b",
    "private": "\ue000\uf8ff私有",
    "amount": "¥1,234.50元",
}


def kind_ids() -> list[str]:
    return sorted(KINDS)


def test_the_catalogue_is_complete():
    # The kinds the notifications issue lists (events' and openings' come with their services).
    for key in ("posting.approved", "posting.rejected", "posting.taken_down", "org.verified", "org.rejected",
                "housing.eligible", "housing.ineligible", "housing.offered", "remind.housing_offer",
                "counselling.booked", "counselling.moved", "counselling.cancelled_by_centre",
                "volunteer.signed_up", "volunteer.hours_confirmed", "volunteer.hours_adjusted",
                "volunteer.certificate_revoked", "restriction.applied", "remind.event", "remind.counselling",
                "remind.volunteer_shift"):
        assert key in KINDS, key
    ids = get_settings().wechat_templates
    for kind in KINDS.values():
        if kind.wechat:
            assert kind.wechat in TEMPLATES and kind.wechat in ids, kind.key
            assert set(kind.keywords) == set(TEMPLATES[kind.wechat].fields), kind.key


@pytest.mark.parametrize("key", kind_ids())
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_every_kind_with_hostile_parameters_renders_and_fills_valid_keywords(key, case):
    kind = KINDS[key]
    raw = {p: HOSTILE[case] for p in kind.params}
    title, body = kind.render(raw)
    stored = {p: catalogue._stored(v) for p, v in raw.items()}
    for params in (raw, stored):
        data = kind.fill(params, title=title[:100], body=body[:500], sent_at=AT)
        assert set(data) == set(kind.keywords)
        for field, value in data.items():
            assert kw.check(field, value) is None, (key, case, field, value)


@pytest.mark.parametrize("field,value,expected", [
    ("thing1", "一" * 25, "一" * 19 + "…"),
    ("thing1", "🎉好🎉", "好"),
    ("thing1", "a\n\nb", "a b"),
    ("phrase2", "审核通过了吗", "审核通过了"),
    ("phrase2", "OK", "通知"),
    ("name3", "张三丰·Smith", "张三丰"),
    ("name3", "Alexander Bartholomew Smith", "Alexander Bartholome"),
    ("character_string1", "VC-2026-0001 作废", "VC-2026-0001"),
    ("character_string1", "x" * 40, "x" * 32),
    ("number2", "3.5小时", "3.5"),
    ("amount1", "1,200", "¥1200"),
    ("time2", AT, "2027年1月1日 07:59"),
    ("time2", "2026-05-04", "2026年5月4日 00:00"),
    ("date2", "2026-05-04", "2026年5月4日"),
    ("date2", AT, "2027年1月1日"),
    ("time2", "not a time", "2027年1月1日 07:59"),
])
def test_shaping_rules(field, value, expected):
    assert kw.shape(field, value, fallback_at=AT) == expected
    assert kw.check(field, expected) is None


@pytest.mark.parametrize("field,value", [
    ("thing1", "一" * 21), ("thing1", "好🎉"), ("thing1", ""), ("thing1", "a\x07"), ("phrase1", "通过了审核吗"),
    ("phrase1", "ok"), ("character_string1", "中文"), ("character_string1", "x" * 33), ("time1", "明天"),
    ("date1", "2026/01/01"), ("time1", "25点"), ("number1", "3小时"), ("name1", "一" * 11), ("amount1", "100"), ("bogus1", "x"),
])
def test_the_rules_refuse_what_wechat_refuses(field, value):
    assert kw.check(field, value) is not None


def test_kinds_are_checked_when_declared_and_used():
    with pytest.raises(CatalogueError):
        define("test.bad_template", title="t", body="b", wechat="no_such_template", keywords={"thing1": "title"})
    with pytest.raises(CatalogueError):  # the template has three fields: all of them, no more
        define("test.missing_field", title="t", body="b", wechat="account", keywords={"thing1": "title"})
    with pytest.raises(CatalogueError):
        define("test.unknown_param", title="t", body="b", wechat="account",
               keywords={"thing1": "title", "thing2": "=第{n}位", "time3": "sent_at"})
    with pytest.raises(CatalogueError):
        notify(None, KINDS["posting.approved"], 1, label="x", posting="y")  # type: ignore[arg-type]
    with pytest.raises(CatalogueError):
        notify(None, KINDS["posting.approved"], 1, label="x", posting="y", at=AT, extra=1)  # type: ignore[arg-type]
