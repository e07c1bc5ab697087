"""The counselling service's notification kinds (the catalogue, app.services.notifications.catalogue).

Messages to a centre name no person and quote nothing of the intake; messages to the person say
nothing of the centre's internal handling of a risk answer."""

from __future__ import annotations

from app.services.notifications.catalogue import define

# To the first on the centre's duty list and the booked counsellor, when a booking carries a risk answer.
RISK_FLAGGED = define(
    "counselling.risk_flagged", title="有预约需要优先关注",
    body="{starts_at} 的一个预约在登记时表示最近有伤害自己的想法，请在{due_at}前主动联系来访者并记录跟进情况。",
    params=("starts_at", "due_at"), wechat="counselling",
    keywords={"thing1": "title", "time2": "starts_at", "thing3": "=请在{due_at}前跟进"},
)
# To everyone on the duty list once the acknowledgement time has passed with no follow-up.
RISK_ESCALATED = define(
    "counselling.risk_escalated", title="风险预约超时未跟进",
    body="{starts_at} 的一个有风险提示的预约在{due_at}前无人跟进，请值班咨询师立即联系来访者并记录。",
    params=("starts_at", "due_at"), wechat="counselling",
    keywords={"thing1": "title", "time2": "starts_at", "thing3": "=请立即联系来访者"},
)
# To the person, when the centre cancels their booking.
CANCELLED_BY_CENTRE = define(
    "counselling.cancelled_by_centre", title="心理咨询预约已取消",
    body="很抱歉，您 {starts_at} 与{counsellor}老师的咨询预约已被咨询中心取消。原因：{reason}。欢迎重新预约其他时段。",
    params=("starts_at", "counsellor", "reason"), wechat="counselling",
    keywords={"thing1": "title", "time2": "starts_at", "thing3": "reason"},
)
# To the person, when the centre waives the no-show or late cancellation of one of their bookings.
STRIKE_WAIVED = define(
    "counselling.strike_waived", title="爽约记录已撤销",
    body="您 {starts_at} 的心理咨询预约不再计为爽约或临时取消。原因：{reason}。",
    params=("starts_at", "reason"), wechat="counselling",
    keywords={"thing1": "title", "time2": "starts_at", "thing3": "reason"},
)
# To the person, when their booking is made (the confirmation they can find again) and when they move it.
BOOKED = define(
    "counselling.booked", title="心理咨询预约成功",
    body="您已预约 {starts_at} 与{counsellor}老师的心理咨询。如不能前来，请至少提前{notice}小时取消。",
    params=("starts_at", "counsellor", "notice"), wechat="counselling",
    keywords={"thing1": "title", "time2": "starts_at", "thing3": "={counsellor}老师"},
)
MOVED = define(
    "counselling.moved", title="心理咨询预约已改期",
    body="您的心理咨询预约已改到 {starts_at}，与{counsellor}老师。原时段已释放。",
    params=("starts_at", "counsellor"), wechat="counselling",
    keywords={"thing1": "title", "time2": "starts_at", "thing3": "={counsellor}老师"},
)
