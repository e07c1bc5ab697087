"""Error codes of reports (the publishing workflow's codes are shared with the kit: app.errors)."""

from __future__ import annotations

from app.errors import define

ReportTargetNotFound = define("REPORT_TARGET_NOT_FOUND", 404, "举报的内容不存在或已不再公开")
ReportTargetKindUnknown = define("REPORT_TARGET_KIND_UNKNOWN", 422, "不支持举报这类内容")
ReportResolved = define("REPORT_ALREADY_RESOLVED", 409, "该举报已由其他工作人员作出不同的处理")
