"""Error codes of organisations and their members."""

from __future__ import annotations

from app.errors import define

CreditCodeTaken = define("CREDIT_CODE_TAKEN", 409, "该统一社会信用代码已注册")
OrgStateInvalid = define("ORG_STATE_INVALID", 409, "机构当前状态不允许此操作")
LastOwner = define("ORG_LAST_OWNER", 409, "机构至少需要保留一位负责人")
