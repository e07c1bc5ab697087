"""The notifications service's error codes."""

from app.errors import define

DeliveryNotParked = define("DELIVERY_NOT_PARKED", 409, "只有发送失败或结果未知的消息可以重新发送")
UnknownReminderKind = define("NOTIFICATION_KIND_NOT_MUTABLE", 422, "只能关闭提醒类消息，审核结果等通知不能关闭")
