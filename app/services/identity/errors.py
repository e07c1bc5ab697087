"""The identity service's error codes."""

from app.errors import define

IdentityYouthOnly = define("IDENTITY_YOUTH_ONLY", 403, "只有青年用户需要填写实名信息")
IdentityLocked = define("IDENTITY_LOCKED", 409, "实名信息已绑定，不能自行修改；如需更正，请完成人脸核验或提交更正申请")
IdentityVerificationRequired = define("IDENTITY_VERIFICATION_REQUIRED", 403, "请先完成微信人脸核验，再绑定实名信息")
IdentityVerificationFailed = define("IDENTITY_VERIFICATION_FAILED", 422, "人脸核验未通过，请确认姓名和身份证号后重新核验")
IdentityVerifierUnavailable = define("IDENTITY_VERIFIER_UNAVAILABLE", 409, "暂不支持人脸核验，请提交申请由工作人员审核")
IdentityClaimOpen = define("IDENTITY_CLAIM_OPEN", 409, "您已有一份实名申请正在审核，请等待审核结果")
IdentityClaimDecided = define("IDENTITY_CLAIM_DECIDED", 409, "该申请已审核")
IdentityAlreadyYours = define("IDENTITY_ALREADY_YOURS", 409, "该身份证号已绑定在您的账号上")
