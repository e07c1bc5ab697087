"""What the housing service tells applicants: its notification kinds, declared once in the catalogue.

Every kind is sent with the housing subscribe template (``wechat="housing"``): the project, a status
word, a note (the reason, or what to do next) and the time that matters to the applicant (the
answer-by time of an offer, the time of a decision).
"""

from app.services.notifications.catalogue import define

_H = "housing"

OFFERED = define(
    "housing.offered", title="您有一套保障性租赁住房待确认",
    body="「{project}」为您保留了房源，请在 {answer_by} 前确认入住，逾期将顺延给下一位申请人。",
    params=("project", "answer_by"), wechat=_H, keywords={"thing1": "project", "phrase2": "=待确认", "thing3": "=请按时确认入住", "time4": "answer_by"},
)
OFFER_EXPIRED = define(
    "housing.offer_expired", title="住房确认已超时",
    body="您未在期限内确认「{project}」的房源，名额已顺延给下一位申请人。",
    params=("project", "answer_by"), wechat=_H, keywords={"thing1": "project", "phrase2": "=已超时", "thing3": "=名额已顺延给下一位", "time4": "answer_by"},
)
OFFER_WITHDRAWN = define(
    "housing.offer_withdrawn", title="住房房源确认已撤销",
    body="「{project}」撤销了为您保留的房源，原因：{reason}",
    params=("project", "reason", "at"), wechat=_H, keywords={"thing1": "project", "phrase2": "=已撤销", "thing3": "reason", "time4": "at"},
)
ELIGIBLE = define(
    "housing.eligible", title="住房申请审核通过", body="您申请的「{project}」已审核通过，{next_step}",
    params=("project", "next_step", "at"), wechat=_H, keywords={"thing1": "project", "phrase2": "=审核通过", "thing3": "next_step", "time4": "at"},
)
INELIGIBLE = define(
    "housing.ineligible", title="住房申请未通过审核", body="您申请的「{project}」未通过审核：{reason}",
    params=("project", "reason", "at"), wechat=_H, keywords={"thing1": "project", "phrase2": "=未通过", "thing3": "reason", "time4": "at"},
)
DECISION_CORRECTED = define(
    "housing.decision_corrected", title="住房申请审核结果已更正",
    body="您申请的「{project}」审核结果已更正为「{result}」，原因：{reason}",
    params=("project", "result", "reason", "at"), wechat=_H, keywords={"thing1": "project", "phrase2": "result", "thing3": "reason", "time4": "at"},
)
LOTTERY_WAITING = define(
    "housing.lottery_waiting", title="住房摇号结果",
    body="「{project}」已完成摇号，您的顺序为第 {position} 位；有房源空出时将按顺序依次通知。",
    params=("project", "position", "at"), wechat=_H, keywords={"thing1": "project", "phrase2": "=已摇号", "thing3": "=顺序第{position}位", "time4": "at"},
)
REDRAW = define(
    "housing.redraw", title="住房摇号将重新进行",
    body="「{project}」因故重新抽签（{reason}），之前的房源确认作废，请留意新的结果。",
    params=("project", "reason", "at"), wechat=_H, keywords={"thing1": "project", "phrase2": "=重新摇号", "thing3": "reason", "time4": "at"},
)
