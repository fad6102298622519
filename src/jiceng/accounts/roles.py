"""Permissions and roles, declared in one place.

A permission is a named code; a role is a set of codes that may be held at nodes of one
or more region levels.

Separation of duties (三权分立, 等保 2.0): the system administrator (county_admin) manages
accounts and configuration and grants only roles without reveal, export, audit or
security rights; the security administrator grants those, each grant waiting for a second
security administrator; the auditor reads the audit trail and nothing else. The three
administrator roles are held alone: an account holding one holds no other role.
"""

from dataclasses import dataclass

PERMISSIONS = {
    "regions.view": "查看区划与网格",
    "regions.manage": "维护区划与网格",
    "people.view": "查看户与人口（脱敏）",
    "people.view_sensitive": "查看个人敏感信息明文",
    "people.import": "导入花名册",
    "people.export": "导出花名册",
    "people.verify_move": "核实人口迁入迁出",
    "people.settle_move": "裁决人口迁移异议",
    "places.captains": "任免楼栋长、单元长、胡同长",
    "party.view": "查看党组织、党员与第一书记（脱敏）",
    "party.manage": "维护党组织、班子与党员，办理组织关系转接",
    "party.branch": "维护本支部党员与组织生活",
    "party.dual": "接收双报到，评价报到单位与党员",
    "activities.lead": "带领志愿服务队（队长）",
    "users.manage": "管理账号，授予一般角色",
    "security.grant": "授予与审批敏感角色",
    "audit.view": "查看审计日志",
    "cases.view": "查看诉求",
    "cases.view_reporter": "查看反映人联系方式",
    "cases.view_own_reporter": "查看本人承办诉求的反映人联系方式",
    "cases.submit": "代居民登记诉求",
    "cases.triage": "受理、作废、合并、派单",
    "cases.handle": "承办诉求",
    "cases.check": "核查结案",
    "cases.approve_extension": "审批延期",
    "cases.supervise": "督办",
    "cases.figures": "查看诉求统计",
    "cases.manage_catalogue": "维护诉求类别与 Open311 应用",
    "patrols.log": "登记巡查走访",
    "patrols.view": "查看巡查走访",
    "residents.confirm": "核实居民账号",
    "residents.riders": "登记红骑手并与网格员结对",
    "activities.view": "查看服务活动",
    "activities.manage": "策划、发布、派单、结算服务活动",
    "activities.needs": "登记居民需求",
    "gatherings.view": "查看阵地与聚会",
    "gatherings.venues": "维护阵地",
    "points.view": "查看积分账目",
    "points.manage": "积分规则、审核、调整",
    "stores.manage": "管理文明超市与商品",
    "stores.serve": "文明超市收银兑换",
}


# Rights a system administrator may not hand out: a role holding one is granted by a
# security administrator and approved by a second one.
SENSITIVE_PERMISSIONS = frozenset(
    {
        "people.view_sensitive",
        "people.import",
        "people.export",
        "cases.view_reporter",
        "cases.view_own_reporter",
        "audit.view",
        "users.manage",
        "security.grant",
    }
)
ADMINISTRATOR_ROLES = ("county_admin", "security_admin", "auditor")


@dataclass(frozen=True)
class Role:
    code: str
    label: str
    levels: tuple[str, ...]
    permissions: frozenset[str]
    # Held only by the staff of a department of this kind (accounts.Department.Kind).
    department_kind: str = ""

    @property
    def is_sensitive(self) -> bool:
        """Granted only by two security administrators."""
        return bool(self.permissions & SENSITIVE_PERMISSIONS)

    @property
    def is_administrator(self) -> bool:
        """Held alone (separation of duties)."""
        return self.code in ADMINISTRATOR_ROLES


def _role(
    code: str, label: str, levels: tuple[str, ...], *permissions: str, department_kind=""
) -> Role:
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown:
        raise ValueError(f"Role {code} names unknown permissions {sorted(unknown)}")
    return Role(code, label, levels, frozenset(permissions), department_kind)


ROLES = {
    role.code: role
    for role in [
        _role(
            "county_admin",
            "县级管理员",
            ("county",),
            "regions.view",
            "regions.manage",
            "people.view",
            "party.view",
            "users.manage",
            "cases.figures",
            "cases.manage_catalogue",
            "activities.view",
            "gatherings.view",
            "gatherings.venues",
            "points.view",
            "stores.manage",
        ),
        _role("security_admin", "安全管理员", ("county",), "security.grant"),
        _role("auditor", "审计管理员", ("province", "city", "county"), "audit.view"),
        _role(
            "county_staff",
            "县级指挥中心",
            ("county",),
            "regions.view",
            "people.view",
            "party.view",
            "cases.view",
            "cases.view_reporter",
            "cases.submit",
            "cases.triage",
            "cases.check",
            "cases.approve_extension",
            "cases.supervise",
            "cases.figures",
            "patrols.view",
            "activities.view",
            "gatherings.view",
            "points.view",
        ),
        _role(
            "town_staff",
            "乡镇（街道）工作人员",
            ("town",),
            "regions.view",
            "people.view",
            "people.view_sensitive",
            "people.import",
            "people.export",
            "people.settle_move",
            "party.view",
            "cases.view",
            "cases.view_reporter",
            "cases.submit",
            "cases.triage",
            "cases.check",
            "cases.approve_extension",
            "cases.supervise",
            "cases.figures",
            "patrols.view",
            "residents.confirm",
            "residents.riders",
            "activities.view",
            "gatherings.view",
            "activities.manage",
            "gatherings.venues",
            "points.view",
            "points.manage",
        ),
        _role(
            "community_worker",
            "社区（村）工作人员",
            ("community",),
            "regions.view",
            "people.view",
            "people.view_sensitive",
            "people.import",
            "people.export",
            "people.verify_move",
            "party.view",
            "party.dual",
            "cases.view",
            "cases.view_reporter",
            "cases.submit",
            "cases.triage",
            "cases.handle",
            "cases.check",
            "cases.approve_extension",
            "cases.supervise",
            "cases.figures",
            "patrols.view",
            "residents.confirm",
            "residents.riders",
            "places.captains",
            "activities.view",
            "gatherings.view",
            "activities.manage",
            "gatherings.venues",
            "activities.needs",
            "points.view",
            "points.manage",
            "stores.manage",
        ),
        _role(
            "grid_worker",
            "专职网格员",
            ("grid",),
            "regions.view",
            "people.view",
            "people.view_sensitive",
            "people.import",
            "people.verify_move",
            "cases.view",
            "cases.view_reporter",
            "cases.submit",
            "cases.triage",
            "cases.handle",
            "patrols.log",
            "patrols.view",
            "residents.confirm",
            "residents.riders",
            "places.captains",
            "activities.view",
            "gatherings.view",
            "activities.needs",
        ),
        # The organization department (组织部) and a town's organization member (组织委员)
        # keep the party register of their region: organizations, committees, members,
        # transfers, the theme calendar. They see the register of people masked, to link
        # members to persons, and nothing of requests.
        _role(
            "org_department",
            "组织部工作人员",
            ("county",),
            "regions.view",
            "people.view",
            "party.view",
            "party.manage",
            "party.branch",
            "activities.view",
            "gatherings.view",
        ),
        _role(
            "town_organizer",
            "乡镇（街道）组织委员",
            ("town",),
            "regions.view",
            "people.view",
            "party.view",
            "party.manage",
            "party.branch",
            "activities.view",
            "gatherings.view",
        ),
        # Department staff see the requests routed to them (as handler, or to their
        # department), not the grid's register or its other requests.
        _role(
            "specialist_grid_worker",
            "专业网格员",
            ("grid", "community", "town"),
            "cases.handle",
            # To call back the residents of the requests they handle (a reveal right, so
            # the role takes two signatures).
            "cases.view_own_reporter",
        ),
        # A property company's staff posted to the grids it serves (红色物业): they report
        # requests there and handle those routed to their company, and see none of the
        # register or the grid's other requests.
        _role(
            "property_grid_worker",
            "物业兼职网格员",
            ("grid",),
            "cases.submit",
            "cases.handle",
            department_kind="property",
        ),
        _role("store_clerk", "文明超市店员", ("community",), "stores.serve"),
        # Held at one building of a grid (Membership.building): these reach that
        # building's households, persons and requests only, never the grid's.
        _role(
            "building_captain",
            "楼栋长",
            ("building",),
            "people.view",
            "cases.view",
            "cases.submit",
        ),
    ]
}

ROLE_CHOICES = [(role.code, role.label) for role in ROLES.values()]


@dataclass(frozen=True)
class AssignmentKind:
    """A post held by being assigned to one object rather than at a region node
    (core.access.Assignment): what it is called, the kind of object it names, and the
    permissions it grants there and in what lies in it."""

    code: str
    label: str
    object_type: str  # model label, lower case
    permissions: frozenset[str]
    # Who may assign an account to the post: the holder of this permission at the
    # object's region (the system administrator, unless the post is the business of a
    # department that keeps its own register).
    granted_with: str = "users.manage"


def _kind(
    code: str, label: str, object_type: str, *permissions: str, granted_with="users.manage"
) -> AssignmentKind:
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown or granted_with not in PERMISSIONS:
        raise ValueError(f"Assignment {code} names unknown permissions {sorted(unknown)}")
    return AssignmentKind(code, label, object_type, frozenset(permissions), granted_with)


# Posts a staff account holds at one object: a Membership naming the object by its id
# (core.access.Assignment). A building captain's is a role held at a building; a team
# leader is a resident, named by the team itself. The cadres app adds a retiree's contact
# (cadres.retiree) and a reserve cadre's mentor (cadres.reservecadre) here.
ASSIGNMENT_KINDS = {
    kind.code: kind
    for kind in [
        # A branch's secretary and organization member keep their branch, and no other
        # branch of the grid: assigned with the appointment (party.services).
        _kind(
            "branch_secretary",
            "党支部书记",
            "party.partyorganization",
            "party.view",
            "party.branch",
            granted_with="party.manage",
        ),
        _kind(
            "branch_organizer",
            "党支部组织委员",
            "party.partyorganization",
            "party.view",
            "party.branch",
            granted_with="party.manage",
        ),
    ]
}
ASSIGNMENT_CHOICES = [(k.code, k.label) for k in ASSIGNMENT_KINDS.values()]
