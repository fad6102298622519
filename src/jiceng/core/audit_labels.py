"""What the auditor reads for each kind of event, for the details it carries and for the
object it names: the one table of event names (a test checks that every event the code
records is in it; an event it does not know shows its code), and the one table of the
coded values the details carry (`VALUES`: a value it does not know shows as it is)."""

import functools

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist

from jiceng.core import masking

ACTIONS = {
    "auth.login": "登录",
    # The password of an account that signs in with a second factor: not yet signed in.
    "auth.login_password": "密码验证通过（待动态口令）",
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
    "party.organization_create": "成立党组织",
    "party.organization_update": "修改党组织",
    "party.organization_elect": "登记换届",
    "party.organization_close": "撤销党组织",
    "party.appoint": "党组织班子成员任职",
    "party.appointment_end": "党组织班子成员离任",
    "party.twinning_create": "联建共建结对",
    "party.member_add": "登记党员",
    "party.member_update": "修改党员信息",
    "party.member_full": "预备党员转正",
    "party.member_link": "党员关联实有人口",
    "party.dual_report": "双报到登记",
    "party.probation_remind": "提醒预备期满",
    "party.dual_end": "结束双报到",
    "party.dual_evaluate": "社区评价双报到",
    "party.dual_export": "导出双报到年度报告",
    "party.member_import": "导入党员名册",
    "party.ledger_export": "导出党支部台账（脱敏）",
    "party.meeting_schedule": "安排组织生活",
    "party.meeting_minutes": "归档组织生活会议记录",
    "party.theme_set": "发布主题党日月度主题",
    "party_transfer.request": "申请组织关系转接",
    "party_transfer.release": "同意组织关系转出",
    "party_transfer.accept": "接收组织关系",
    "party_transfer.return": "退回组织关系转接",
    "party_transfer.cancel": "撤回组织关系转接",
    "party_transfer.leave": "组织关系转出县外",
    "user.assign": "任命（党支部书记等）",
    "user.unassign": "免去任命（党支部书记等）",
    "building.captain": "任免楼栋长（胡同长）",
    "unit.captain": "任免单元长",
    "rider.register": "登记红骑手",
    "rider.end": "红骑手退出",
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
    "case.confirm_genuine": "可疑提交确认为真实诉求",
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
    # Written before activities ran on gatherings; the trail keeps them as they were.
    "activity.signup": "居民报名活动",
    "activity.signup_cancel": "居民取消报名",
    "activity.check_in": "活动签到",
    "activity.check_out": "活动签退",
    "activity.attendance": "确认或撤销出勤",
    "gathering.schedule": "安排活动会议时间地点",
    "gathering.series": "安排定期活动会议",
    "gathering.phase": "活动会议进入下一阶段",
    "gathering.update": "活动会议改期或修改",
    "gathering.cancel": "取消活动会议",
    "gathering.signup": "居民报名",
    "gathering.invite": "邀请参加",
    "gathering.signup_cancel": "居民取消报名",
    "gathering.signup_promoted": "候补递补",
    "gathering.check_in": "签到",
    "gathering.check_out": "签退",
    "gathering.attendance": "确认、划去出勤或记录请假",
    "gathering.sheet": "上传纸质签到表",
    "gathering.sheet_view": "查看纸质签到表",
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
    "alert.reveal_quota": "告警：查看明文次数达到上限",
    "alert.reveal_emergency": "告警：先行紧急查看明文",
}
# The events of a reveal of personal data (the actions passed to core.personal.reveal and
# reveal_target): what an emergency reveal's review lists.
REVEALS = ("person.reveal", "visit.reveal", "case.reveal_reporter")
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
    "window": "时段",
    "cause": "紧急情况",
}


def label(action: str) -> str:
    return ACTIONS.get(action, action)


def details(detail: dict, object_type: str = "") -> list[tuple[str, str]]:
    """The details the auditor reads, named, each coded value in Chinese (`VALUES`; the
    fields and statuses of the event's object by its model, `object_type`)."""

    def shown(key: str, value) -> str:
        values = value if isinstance(value, list) else [value]
        return "、".join(value_label(key, item, object_type) for item in values)

    return [
        (DETAILS[k], shown(k, v))
        for k, v in (detail or {}).items()
        if k in DETAILS and v not in ("", [])
    ]


# --- the coded values of details (and the names of the system's jobs and public channels) --

# Why something was refused: a sign-in, a second factor, a reveal, a roster, a code.
REASONS = {
    "credentials": "账号或密码不正确",
    "inactive": "账号已停用",
    "locked": "连续失败次数过多，已暂时锁定",
    "slowed": "该账号被反复尝试，已放慢尝试",
    "address": "同一网络地址失败次数过多",
    "wrong": "验证码或动态口令不正确",
    "replayed": "动态口令已用过（重放）",
    "expired": "验证码已过期",
    "limited": "尝试次数过多，已限制",
    "reveal_quota": "查看明文次数已达上限",
    "counter_locked": "数字码输错过多，收银台暂停输入",
    "code_invalid": "无效的居民码",
    "code_used": "居民码已被使用",
    "code_expired": "居民码已过期",
    "file_type": "文件类型不支持",
    "empty_file": "空文件",
    "encoding": "文件编码无法识别",
    "csv_malformed": "CSV 格式错误",
    "xls_invalid": "XLS 文件无法读取",
    "xlsx_invalid": "XLSX 文件无法读取",
    "xlsx_too_large": "XLSX 文件过大",
    "too_many_rows": "行数超过上限",
    "header_missing": "缺少必需的表头",
    "header_duplicate": "表头重复",
}
# How a second factor passed or failed.
METHODS = {"totp": "动态口令", "recovery": "恢复码", "sms": "短信验证码"}
# The jobs the system runs as (`Actor.system(name)`).
SYSTEM_ACTORS = {
    "alert": "告警",
    "jiceng grant": "服务器授权命令（jiceng grant）",
    "jiceng keys": "服务器密钥命令（jiceng keys）",
    "keys": "密钥维护",
    "worker": "后台任务",
    "backup": "备份",
    "restore": "恢复备份",
    "demo": "生成演示数据",
    "import-roster": "花名册导入命令",
    "points expire": "积分到期处理",
    "cases.deadline_notices": "诉求时限提醒",
}
# How something was done other than by a person's page (`via`).
VIA = {"jiceng grant": SYSTEM_ACTORS["jiceng grant"], "import": "批量导入"}


@functools.cache
def _model(object_type: str):
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


@functools.cache
def _choices(object_type: str, field: str) -> dict[str, str]:
    """The labels of a model field's choices ({} for a model or field there is not)."""
    model = _model(object_type) if object_type else None
    try:
        choices = model._meta.get_field(field).choices if model is not None else None
    except (LookupError, FieldDoesNotExist):
        return {}
    return {str(value): str(label) for value, label in choices or ()}


def _states(object_type: str) -> dict[str, str]:
    """The labels of an object's states: its status, or a gathering's phase."""
    return _choices(object_type, "status") or _choices(object_type, "phase")


@functools.cache
def _field_names(object_type: str) -> dict[str, str]:
    """The verbose names of a model's fields (身份证号 for places.person's id_number)."""
    model = _model(object_type) if object_type else None
    if model is None:
        return {}
    return {
        field.name: str(field.verbose_name)
        for field in model._meta.get_fields()
        if getattr(field, "verbose_name", None)
    }


def _quota(name: str):
    def table(object_type: str) -> dict[str, str]:
        from jiceng.core import quota  # here: core.quota imports the trail, which imports this

        return getattr(quota, name)

    return table


def _public_channels(object_type: str) -> dict[str, str]:
    return {**_choices("cases.case", "channel"), "tracking_link": "诉求查询链接"}


# The one table: what a detail's coded value means, by the detail's key (and, under
# "actor.…", who a system job or a public channel is). Each entry is a table, or reads
# one for the event's object type: the object's field names, its statuses (the steps of
# an approval, a request), a model's choices, core.quota's windows and causes.
VALUES = {
    "reason": REASONS,
    "refused": REASONS,
    "method": METHODS,
    "via": VIA,
    "window": _quota("WINDOWS"),
    "cause": _quota("CAUSES"),
    "field": _field_names,
    "fields": _field_names,
    "from": _states,
    "to": _states,
    "actor.system": SYSTEM_ACTORS,
    "actor.public": _public_channels,
}


def value_label(key: str, value, object_type: str = "") -> str:
    """How the auditor reads `value` of the detail `key` (of an event about an object of
    `object_type`): its Chinese label, or the value as it is."""
    source = VALUES.get(key)
    table = source(object_type) if callable(source) else source
    text = str(value)
    return (table or {}).get(text, text)


def field_label(object_type: str, field: str) -> str:
    """A field of an object of `object_type` by its verbose name (the field as it is when
    the model has no such field)."""
    return value_label("field", field, object_type)


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
    "activities.activity": ("gathering__title", None),  # a path to the column is fine
    "activities.volunteerteam": ("name", None),
    "gatherings.gathering": ("title", None),
    "gatherings.venue": ("name", None),
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
