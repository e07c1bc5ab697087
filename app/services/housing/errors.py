"""The housing service's error codes (registered in the one catalogue, app.errors)."""

from app.errors import define

HousingRealNameRequired = define("HOUSING_REAL_NAME_REQUIRED", 403, "申请保障性租赁住房需要先完成实名认证（填写姓名和身份证号）")
HousingNotEligible = define("HOUSING_NOT_ELIGIBLE", 422, "您暂不符合该项目的申请条件，具体见各项说明")
HousingDuplicateApplication = define("HOUSING_DUPLICATE_APPLICATION", 409, "您已申请过该项目，请勿重复申请")
HousingApplicationLimit = define("HOUSING_APPLICATION_LIMIT", 409, "同时进行中的住房申请已达上限，请先处理已有申请")
HousingApplicationsClosed = define("HOUSING_APPLICATIONS_CLOSED", 409, "该项目已截止申请")
HousingApplicationState = define("HOUSING_APPLICATION_STATE", 409, "该申请当前状态不允许此操作")
# The lapse found on the way is passed on (committed) even though the answer is refused.
HousingOfferExpired = define("HOUSING_OFFER_EXPIRED", 409, "确认入住已超时，房源已顺延给下一位申请人", keep_changes=True)
HousingUnitTypeInUse = define("HOUSING_UNIT_TYPE_IN_USE", 409, "该户型已有人申请，不能删除或修改租金、押金")
HousingUnitsBelowTaken = define("HOUSING_UNITS_BELOW_TAKEN", 409, "可分配套数不能少于已发出和已确认的房源数")
HousingAllocationLocked = define("HOUSING_ALLOCATION_LOCKED", 409, "项目已有申请，不能再更改分配方式")
HousingNotLottery = define("HOUSING_NOT_LOTTERY", 409, "该项目按申请先后分配，不需要摇号")
HousingLotteryState = define("HOUSING_LOTTERY_STATE", 409, "摇号当前所处阶段不允许此操作")
HousingUndecidedApplications = define("HOUSING_UNDECIDED_APPLICATIONS", 409, "还有未审核的申请，请全部审核后再封存摇号名单")
HousingLotteryEmpty = define("HOUSING_LOTTERY_EMPTY", 409, "没有审核通过的申请，无法封存摇号名单")
HousingListFrozen = define("HOUSING_LIST_FROZEN", 409, "摇号名单已封存，不能再审核或修改申请")
HousingRedrawAfterAccept = define("HOUSING_REDRAW_AFTER_ACCEPT", 409, "已有申请人确认入住，不能重新抽签")
HousingSeedReused = define("HOUSING_SEED_REUSED", 409, "重新抽签必须使用新的公开随机数，不能与之前的相同")
