"""The events service's notification kinds (the catalogue, app.services.notifications.catalogue)."""

from __future__ import annotations

from app.services.notifications.catalogue import define

# The "event" template: 活动名称, 活动时间, 报名状态 (a phrase of at most 5 汉字), 备注.


def _keywords(state: str, note: str) -> dict[str, str]:
    return {"thing1": "event", "time2": "starts_at", "phrase3": f"={state}", "thing4": note}


# To a person waiting in a quota, when a place was given to them.
PROMOTED = define(
    "event.promoted", title="候补成功，您获得了活动名额",
    body="您候补的「{event}」有了空位，已为您确认报名。活动时间：{starts_at}，地点：{venue}。如不能参加请及时取消报名。",
    params=("event", "starts_at", "venue"), wechat="event", keywords=_keywords("候补成功", "venue"),
)
# To everyone holding or waiting for a place, when the organiser moved the time or the place. People
# signed up before the change may cancel without it counting as a late cancellation.
CHANGED = define(
    "event.changed", title="活动时间或地点有调整",
    body="您报名的「{event}」调整为 {starts_at} 在 {venue} 举行。如不能参加，可在活动开始前取消报名，不计为临时取消。",
    params=("event", "starts_at", "venue"), wechat="event", keywords=_keywords("时间调整", "venue"),
)
CANCELLED = define(
    "event.cancelled", title="活动已取消",
    body="很抱歉，您报名的「{event}」（{starts_at}）已被主办方取消。原因：{reason}",
    params=("event", "starts_at", "reason"), wechat="event", keywords=_keywords("已取消", "reason"),
)
# After the event, to a confirmed person who never checked in (one strike under the shared policy).
NO_SHOW = define(
    "event.no_show", title="活动签到记录：未到场",
    body="您报名了「{event}」（{starts_at}）但没有签到，已记为一次爽约。多次爽约将暂时不能报名新的活动。",
    params=("event", "starts_at"), wechat="event", keywords=_keywords("未签到", "title"),
)
# To the person, when the organiser waives the no-show or late cancellation of one of their registrations.
STRIKE_WAIVED = define(
    "event.strike_waived", title="爽约记录已撤销",
    body="您报名的「{event}」（{starts_at}）不再计为爽约或临时取消。原因：{reason}。",
    params=("event", "starts_at", "reason"), wechat="event", keywords=_keywords("已撤销", "reason"),
)
