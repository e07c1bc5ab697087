"""The counselling service's error codes (registered in the one catalogue, app.errors)."""

from __future__ import annotations

from app.errors import define

ProfileRequired = define("COUNSELLING_PROFILE_REQUIRED", 403, "预约心理咨询前请先完成实名信息（姓名和身份证号）")
SlotTaken = define("COUNSELLING_SLOT_TAKEN", 409, "这个时段刚刚被预约了，请选择其他时段")
NoticeTooShort = define("COUNSELLING_NOTICE_TOO_SHORT", 409, "距离咨询开始的时间太近，请选择更晚的时段")
Overlap = define("COUNSELLING_OVERLAP", 409, "您在这个时间已经有其他咨询预约")
TooManyUpcoming = define("COUNSELLING_TOO_MANY_UPCOMING", 409, "您未开始的预约已达上限，请先完成或取消已有预约")
ModeNotOffered = define("COUNSELLING_MODE_NOT_OFFERED", 422, "这位咨询师不提供所选的咨询方式")
OtherCentre = define("COUNSELLING_OTHER_CENTRE", 422, "只能改约到同一个咨询中心的时段")
BookingState = define("COUNSELLING_BOOKING_STATE", 409, "该预约当前的状态不允许此操作")
SessionStarted = define("COUNSELLING_SESSION_STARTED", 409, "咨询已经开始或已结束，不能再取消或改约")
SessionNotStarted = define("COUNSELLING_SESSION_NOT_STARTED", 409, "咨询还没有开始，暂时不能进行此操作")
SlotOverlap = define("COUNSELLING_SLOT_OVERLAP", 409, "该时段与这位咨询师已有的时段重叠")
SlotBooked = define("COUNSELLING_SLOT_BOOKED", 409, "该时段已有预约，请先取消预约再撤下时段")
NoteAuthor = define("COUNSELLING_NOTE_NOT_ALLOWED", 403, "只有负责这次咨询的咨询师可以填写咨询记录")
BookingRestricted = define("COUNSELLING_BOOKING_RESTRICTED", 403, "您近期多次爽约或临时取消，暂时不能自助预约心理咨询")
CareTeamOnly = define("COUNSELLING_CARE_TEAM_ONLY", 403, "只有负责这次咨询的咨询师和中心的值班咨询师可以查看或处理来访者的登记内容")
DutyOrOwnerOnly = define("COUNSELLING_DUTY_OR_OWNER_ONLY", 403, "只有机构负责人或值班咨询师可以进行此操作")
NotFlagged = define("COUNSELLING_NOT_FLAGGED", 409, "该预约没有风险提示，无需跟进记录")
NothingToWaive = define("COUNSELLING_NOTHING_TO_WAIVE", 409, "该预约没有计入爽约或临时取消记录")
DutyNotMember = define("COUNSELLING_DUTY_NOT_MEMBER", 422, "值班名单只能包含本机构的成员账号")
