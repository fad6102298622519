"""What the auditor reads for each kind of event, for the details it carries and for the
object it names: the one table of event names (a test checks that every event the code
records is in it; an event it does not know shows its code)."""

from jiceng.core import masking

ACTIONS = {
    "auth.login": "登录",
    "auth.logout": "退出登录",
    "auth.token_issue": "申请 API 令牌",
    "auth.token_revoke": "吊销 API 令牌",
    "auth.second_factor": "验证动态口令",
    "auth.second_factor_sms": "发送工作人员短信验证码",
    "user.second_factor_begin": "生成动态口令密钥（待绑定）",
    "user.second_factor_enrol": "绑定动态口令",
    "user.second_factor_reset": "重置他人动态口令",
    "user.create": "创建账号",
    "user.import": "批量导入账号",
    "user.activate": "启用账号",
    "user.deactivate": "停用账号",
    "user.password": "修改密码",
    "user.password_reset": "重置他人密码",
    "user.grant": "授予岗位（生效）",
    "user.grant_request": "申请敏感岗位",
    "user.grant_sign": "签批敏感岗位（第一人）",
    "user.grant_batch_sign": "签批授权批次",
    "user.grant_refuse": "驳回授权",
    "user.revoke": "撤销岗位",
    "user.assign": "任命（党支部书记等）",
    "user.work_phone": "设置网格公开工作电话",
    "person.reveal": "查看人员明文",
    "visit.reveal": "查看走访记录",
    "visit.log": "登记走访",
    "patrol.log": "登记巡查",
    "roster.upload": "上传花名册",
    "roster.import": "导入花名册",
    "roster.export": "导出花名册",
    "roster.files_purged": "删除过期的导入文件",
    "move.confirm": "确认人员迁出",
    "move.dispute": "对人员迁入提出异议",
    "move.settle": "裁决人员迁移",
    "region.create": "新增区划",
    "grid.update": "修改网格",
    "resident.login": "居民登录",
    "resident.otp_sent": "发送居民验证码",
    "resident.confirm": "核实居民身份",
    "case.submit": "登记诉求",
    "case.claim": "居民认领诉求",
    "case.accept": "诉求立案",
    "case.void": "诉求作废",
    "case.propose_void": "申请作废诉求",
    "case.void_declined": "作废申请未通过或撤回",
    "case.merge": "合并诉求",
    "case.dispatch": "诉求派单",
    "case.start": "诉求接单",
    "case.return": "诉求退单",
    "case.request_extension": "申请延期",
    "case.decide_extension": "审批延期",
    "case.handle": "诉求办结反馈",
    "case.check": "诉求核查",
    "case.rate": "居民评价",
    "case.reopen": "居民申请重办",
    "case.supervise": "督办",
    "case.supervision_export": "导出督办清单",
    "case.note": "诉求备注",
    "case.reveal_reporter": "查看反映人联系方式",
    "category.update": "修改诉求类别",
    "category.question_add": "新增诉求类别问题",
    "category.question_remove": "删除诉求类别问题",
    "open311.client_create": "新增 Open311 接入方",
    "open311.client_active": "启用或停用 Open311 接入方",
    "activity.create": "创建服务活动",
    "activity.publish": "发布活动认领",
    "activity.claim": "队伍抢单认领活动",
    "activity.assign": "活动派单",
    "activity.open_signup": "开放活动报名",
    "activity.hold": "活动开始",
    "activity.complete": "确认活动出勤",
    "activity.settle": "结算活动积分",
    "activity.cancel": "取消活动",
    "activity.update": "活动改期或修改",
    "activity.signup": "居民报名活动",
    "activity.signup_cancel": "居民取消报名",
    "activity.check_in": "活动签到",
    "activity.check_out": "活动签退",
    "activity.attendance": "确认或撤销出勤",
    "venue.create": "新增阵地",
    "team.create": "新增志愿服务队",
    "team.member_add": "志愿服务队添加队员",
    "need.record": "登记居民需求",
    "points.adjust": "积分调整",
    "points.adjust_ask": "积分调整超出限额，提交审批",
    "points.reverse": "积分冲正",
    "points.deed_propose": "申报好人好事积分",
    "points.deed_decide": "审核好人好事积分",
    "points.rule_create": "新增积分规则",
    "store.create": "新增文明超市",
    "store.clerk_add": "文明超市添加店员",
    "good.create": "新增商品",
    "good.restock": "商品补货",
    "good.stock_correct": "商品盘点更正（调低库存）",
    "good.reprice": "商品调价",
    "good.delist": "商品下架",
    "good.relist": "商品重新上架",
    "store.update": "修改文明超市地址和营业时间",
    "redemption.open": "开具兑换单",
    "redemption.confirm": "居民确认兑换",
    "redemption.cancel": "取消兑换",
    "personal_code.use": "扫描居民码",
    "audit.export": "导出审计日志",
    "system.backup": "备份",
    "system.restore": "恢复备份",
    "system.key_added": "登记主密钥",
    "system.keys_rotate": "更换主密钥（重新加密）",
    "system.keys_reindex": "重建盲索引",
    "demo.build": "生成演示数据",
    "admin.add": "运维后台新增",
    "admin.change": "运维后台修改",
    "admin.delete": "运维后台删除",
    "approval.ask": "提出审批",
    "approval.take": "先行处置（待复核）",
    "approval.approve": "批准",
    "approval.refuse": "不批准",
    "approval.cancel": "撤回审批",
    "approval.confirm": "复核无误",
    "approval.flag": "复核有疑",
    "alert.approval_flagged": "告警：先行处置复核有疑",
    "alert.login_attack": "告警：账号被反复尝试登录",
    "alert.server_grant": "告警：服务器命令授权",
    "alert.roster_elsewhere": "告警：导入大量已在他处登记的人员",
}
DETAILS = {
    "user": "账号",
    "username": "账号",
    "role_label": "岗位",
    "granted_by": "授予人",
    "approved_by": "审批人",
    "field": "字段",
    "reason": "原因",
    "file": "文件",
    "rows": "行数",
    "created": "新增人数",
    "updated": "更新人数",
    "elsewhere": "已在导入人可查看范围外登记的行数",
    "refused": "拒绝原因",
    "moved": "已迁入",
    "accounts": "账号数",
    "signed": "签批数",
    "via": "方式",
    "method": "验证方式",
    "recovery_left": "剩余恢复码",
    "text": "说明",
    "from": "原值",
    "to": "新值",
    "summary": "事项",
    "name_digest": "所填账号（摘要，不存在的账号只记摘要）",
    "object": "对象",
    "fields": "改动的字段",
    "related": "改动的关联记录",
}


def label(action: str) -> str:
    return ACTIONS.get(action, action)


def details(detail: dict) -> list[tuple[str, str]]:
    return [
        (DETAILS[k], "、".join(map(str, v)) if isinstance(v, list) else str(v))
        for k, v in (detail or {}).items()
        if k in DETAILS and v not in ("", [])
    ]


# How an object of each model is named to the auditor: its model, the text column that
# names it (plain text, read in one query for a page), and how it is masked. People are
# masked as everywhere (张*明); a model not listed is named by its type and id.
OBJECT_NAMES = {
    "accounts.user": ("full_name", None),
    "accounts.department": ("name", None),
    "places.region": ("name", None),
    "places.building": ("name", None),
    "places.household": ("number", lambda number: f"户号{number}"),
    "places.person": ("name", masking.mask_name),
    "places.movecheck": ("incoming_name", masking.mask_name),
    "places.importjob": ("original_name", None),
    "cases.case": ("tracking_code", None),
    "cases.category": ("name", None),
    "cases.open311client": ("name", None),
    "activities.activity": ("title", None),
    "activities.volunteerteam": ("name", None),
    "activities.venue": ("name", None),
    "points.store": ("name", None),
    "points.good": ("name", None),
    "points.earningrule": ("name", None),
    "core.approval": ("summary", None),
}
# A resident who acts is named by their phone, masked as everywhere (138****1234).
RESIDENT_PHONE = ("residents.resident", "phone")
# Objects recorded by a column other than their primary key: a region by its code.
OBJECT_KEYS = {"places.region": "code"}


def object_name(object_type: str, value) -> str:
    """The name of an object of `object_type` from the value of its naming column."""
    if value in (None, ""):
        return ""
    _, mask = OBJECT_NAMES[object_type]
    return mask(str(value)) if mask else str(value)
