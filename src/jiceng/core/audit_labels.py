"""What the auditor reads for each kind of event, and for the details it carries."""

ACTIONS = {
    "auth.login": "登录",
    "auth.token_issue": "申请 API 令牌",
    "auth.token_revoke": "吊销 API 令牌",
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
    "person.reveal": "查看人员明文",
    "visit.reveal": "查看走访记录",
    "visit.log": "登记走访",
    "patrol.log": "登记巡查",
    "roster.upload": "上传花名册",
    "roster.import": "导入花名册",
    "roster.export": "导出花名册",
    "region.create": "新增区划",
    "grid.update": "修改网格",
    "resident.login": "居民登录",
    "resident.otp_sent": "发送居民验证码",
    "resident.confirm": "核实居民身份",
    "case.submit": "登记诉求",
    "case.accept": "诉求立案",
    "case.void": "诉求作废",
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
    "case.note": "诉求备注",
    "case.reveal_reporter": "查看反映人联系方式",
    "points.adjust": "积分调整",
    "points.reverse": "积分冲正",
    "points.deed_propose": "申报好人好事积分",
    "points.deed_decide": "审核好人好事积分",
    "points.rule_create": "新增积分规则",
    "redemption.open": "开具兑换单",
    "redemption.confirm": "居民确认兑换",
    "redemption.cancel": "取消兑换",
    "personal_code.use": "扫描居民码",
    "system.backup": "备份",
    "system.restore": "恢复备份",
    "admin.add": "运维后台新增",
    "admin.change": "运维后台修改",
    "admin.delete": "运维后台删除",
    "alert.login_attack": "告警：账号被反复尝试登录",
    "alert.server_grant": "告警：服务器命令授权",
    "alert.roster_elsewhere": "告警：导入大量已在他处登记的人员",
}
PREFIXES = {
    "activity.": "服务活动",
    "case.": "诉求",
    "points.": "积分",
    "store.": "文明超市",
    "good.": "商品",
    "team.": "志愿服务队",
    "venue.": "阵地",
    "category.": "诉求类别",
    "need.": "居民需求",
    "alert.": "告警",
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
    "accounts": "账号数",
    "signed": "签批数",
    "via": "方式",
    "text": "说明",
}


def label(action: str) -> str:
    if action in ACTIONS:
        return ACTIONS[action]
    for prefix, name in PREFIXES.items():
        if action.startswith(prefix):
            return f"{name}·{action.removeprefix(prefix)}"
    return action


def details(detail: dict) -> list[tuple[str, str]]:
    return [(DETAILS[k], str(v)) for k, v in (detail or {}).items() if k in DETAILS and v != ""]
