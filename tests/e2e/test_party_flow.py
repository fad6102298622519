"""The party register on phones: the organization department creates a grid branch and
appoints its secretary; the secretary imports members from a workbook (one bad row:
nothing written, the error workbook downloaded), schedules the month's theme day on the
county's theme at a venue; two members check in by the rotating code; minutes are filed
and the quarter's completeness shows the meeting; a member's transfer to another branch
is approved by both branches."""

import datetime
import re

from django.utils import timezone
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from jiceng.accounts.models import Membership
from jiceng.core.personal import clear
from jiceng.gatherings.models import SignUp
from jiceng.gatherings.services import venue_create
from jiceng.party.models import Appointment, Meeting, PartyMember, PartyOrganization, Transfer
from tests.e2e.test_points_flow import phone_for, resident_login
from tests.e2e.test_request_flow import login, staff_phone
from tests.factories import PersonFactory, UserFactory, enrol, resident

GRID = "370829001001002"


def _workbook(path, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["姓名*", "身份证号*", "党员类别*", "入党日期*", "转正日期", "手机号", "工作单位"])
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_a_branch_from_its_founding_to_a_theme_day_and_a_transfer(
    world, browser, live_server, sms, tmp_path
):
    people = [PersonFactory(region_code=GRID, name=n) for n in ("王书记", "李党员", "赵党员")]
    account = UserFactory(username="wang-sj", region_code=GRID, full_name="王书记")
    enrol(account)
    venue = venue_create(
        actor=world.a("community_worker"), region_code="370829001001", name="城南红帆驿站",
        kind="station", capacity=60, opens_at=datetime.time(0), closes_at=datetime.time(23, 59),
    )  # fmt: skip
    committee = world.branch_a.parent

    # The organization department founds the branch, enters its secretary-to-be from the
    # register and appoints them with their own account.
    department = staff_phone(browser, live_server)
    login(department, world.a("org_department").username)
    department.goto(f"/party/o/{committee.pk}/")
    department.get_by_role("link", name="网格党支部", exact=True).click()
    department.get_by_label("名称").fill("城南社区第2网格党支部")
    department.get_by_label("所在区划（网格）").select_option(GRID)
    department.get_by_role("button", name="成立").click()
    expect(department.get_by_text("已成立“城南社区第2网格党支部”")).to_be_visible()
    branch = PartyOrganization.objects.get(name="城南社区第2网格党支部")
    assert (branch.parent, branch.kind, branch.region_code) == (committee, "grid_branch", GRID)
    department.get_by_role("link", name="登记党员").click()
    department.get_by_label("在实有人口中查找").fill("王书记")
    department.get_by_role("button", name="查找").click()
    department.get_by_role("link", name="王书记").click()
    department.get_by_label("入党日期").fill("2003-07-01")
    department.get_by_role("button", name="登记").click()
    expect(department.get_by_text("已登记党员 王书记")).to_be_visible()
    department.get_by_role("link", name="班子成员任职").click()
    department.get_by_label("党员").select_option(label="王书记（城南社区第2网格党支部）")
    department.get_by_label("工作账号（书记、组织委员，选填）").fill("wang-sj")
    department.get_by_role("button", name="保存").click()
    expect(department.get_by_text("已登记任职")).to_be_visible()
    assert Appointment.objects.get(organization=branch, post="secretary").person == people[0]
    assert Membership.objects.filter(user=account, role="branch_secretary", object_id=branch.pk)
    # The county's theme of the month.
    department.goto("/party/themes/")
    department.get_by_label("月份").fill(f"{timezone.localdate():%Y-%m}")
    department.get_by_label("主题", exact=True).fill("学党章、守党纪")
    department.once("dialog", lambda dialog: dialog.accept())  # it replaces a month's theme
    department.get_by_role("button", name="发布").click()
    expect(department.get_by_text("学党章、守党纪")).to_be_visible()

    # The secretary imports the members: one bad row refuses the whole file.
    secretary = staff_phone(browser, live_server)
    login(secretary, "wang-sj")
    secretary.goto("/party/")
    expect(secretary.get_by_role("heading", name="城南社区第2网格党支部")).to_be_visible()
    rows = [
        ["李党员", clear(people[1].id_number), "正式党员", "2010-07-01", "2011-07-01", "", ""],
        ["赵党员", clear(people[2].id_number), "正式党员", "二〇一二年", "", "", ""],
        ["钱党员", "37082919800101123X", "预备党员", str(timezone.localdate()), "", "", ""],
    ]
    secretary.get_by_role("link", name="导入党员").click()
    secretary.get_by_label("党员名册（.xlsx、.xls 或 .csv）").set_input_files(
        str(_workbook(tmp_path / "党员名册.xlsx", rows))
    )
    secretary.get_by_role("button", name="上传并导入").click()
    expect(secretary.locator("[data-status]")).to_have_text("校验未通过", timeout=20_000)
    assert PartyMember.objects.filter(organization=branch).count() == 1  # the secretary alone
    with secretary.expect_download() as download:
        secretary.get_by_role("link", name="下载错误清单").click()
    errors = tmp_path / "errors.xlsx"
    download.value.save_as(errors)
    found = list(load_workbook(errors).active.iter_rows(values_only=True))
    assert [row[:2] for row in found[1:]] == [(3, "入党日期"), (4, "身份证号")]
    rows[1][3], rows[2][1] = "2012-07-01", None
    rows = rows[:2]
    secretary.goto(f"/party/o/{branch.pk}/members/import/")
    secretary.get_by_label("党员名册（.xlsx、.xls 或 .csv）").set_input_files(
        str(_workbook(tmp_path / "党员名册.xlsx", rows))
    )
    secretary.get_by_role("button", name="上传并导入").click()
    expect(secretary.locator("[data-status]")).to_have_text("已完成", timeout=20_000)
    assert PartyMember.objects.filter(organization=branch).count() == 3
    # The department links the imported members to their persons in the register.
    for person in people[1:]:
        member = PartyMember.objects.get(organization=branch, name=person.name)
        department.goto(f"/party/members/{member.pk}/link/")
        department.once("dialog", lambda dialog: dialog.accept())
        department.get_by_role("button", name="关联").first.click()
        expect(department.get_by_text("已关联实有人口")).to_be_visible()

    # The theme day of the month, at the venue: the members are told by SMS.
    # In ten minutes (check-in opens half an hour before), for an hour; a meeting ends on
    # the day it starts, so late in the evening it is shorter, or starts after midnight.
    start = timezone.localtime() + datetime.timedelta(minutes=10)
    if start.hour == 23 and start.minute >= 55:
        start = (start + datetime.timedelta(days=1)).replace(hour=0, minute=5)
    end = min(start + datetime.timedelta(hours=1), start.replace(hour=23, minute=59))
    secretary.goto(f"/party/o/{branch.pk}/meetings/new/")
    secretary.get_by_label("会议类型").select_option(label="主题党日")
    secretary.get_by_label("日期").fill(f"{start:%Y-%m-%d}")
    secretary.get_by_label("开始").fill(f"{start:%H:%M}")
    secretary.get_by_label("结束").fill(f"{end:%H:%M}")
    secretary.get_by_label("阵地").select_option(label="城南红帆驿站")
    secretary.get_by_role("button", name="安排并通知党员").click()
    expect(secretary.get_by_role("heading", name="学党章、守党纪")).to_be_visible()
    meeting = Meeting.objects.get(organization=branch)
    assert meeting.theme.title == "学党章、守党纪" and meeting.gathering.venue == venue
    phones = [f"1390000{n:04d}" for n in (1, 2)]
    members = []
    for person, number in zip(people[1:], phones, strict=True):
        resident(person=person, phone=number)
        members.append(phone_for(browser, live_server))
        resident_login(members[-1], number, sms)

    secretary.get_by_role("button", name="开始签到").click()
    secretary.get_by_role("link", name="签到、请假与签到表").click()
    secretary.get_by_role("link", name="显示签到码").click()
    link = secretary.locator("[data-check-in-url]")
    expect(link).to_be_visible()
    for member in members:
        member.goto(link.get_attribute("href").replace("http://testserver", ""))
        member.get_by_role("button", name="确认签到").click()
        expect(member.get_by_text("签到成功")).to_be_visible()
    secretary.goto(f"/a/{meeting.gathering_id}/roster/")
    secretary.get_by_role("button", name="全部确认（2 人待确认）").click()
    secretary.goto(f"/party/meetings/{meeting.pk}/")
    secretary.once("dialog", lambda dialog: dialog.accept())
    secretary.get_by_role("button", name="结束会议（出勤定稿）").click()
    secretary.get_by_label("会议记录").fill("集体学习党章第一章，交流学习体会。")
    secretary.once("dialog", lambda dialog: dialog.accept())
    secretary.get_by_role("button", name="归档会议记录").click()
    expect(secretary.get_by_text("会议记录已归档")).to_be_visible()
    confirmed = SignUp.objects.filter(gathering=meeting.gathering, attendance="confirmed")
    assert confirmed.count() == 2
    secretary.goto(f"/party/completeness/?region={GRID}")
    expect(secretary.get_by_text(re.compile("主题党日 1/3"))).to_be_visible()

    # A member moves to the next community's branch: both branches approve.
    joining = UserFactory(username="b-sj", region_code=world.grid_b.code)
    enrol(joining)
    Membership.objects.create(
        user=joining, role="branch_secretary", object_id=world.branch_b.pk,
        region_code=world.grid_b.code,
    )  # fmt: skip
    moving = PartyMember.objects.get(organization=branch, name="赵党员")
    secretary.goto(f"/party/members/{moving.pk}/")
    secretary.get_by_role("link", name="组织关系转接").click()
    secretary.get_by_label("接收党组织名称").fill("卧龙山第1网格")
    secretary.get_by_role("button", name="查找").click()
    secretary.get_by_placeholder("如：工作调动、居住地变更").first.fill("居住地变更")
    secretary.get_by_role("button", name="申请转入该组织").first.click()
    expect(secretary.get_by_text("已登记组织关系转接")).to_be_visible()
    secretary.once("dialog", lambda dialog: dialog.accept())
    secretary.get_by_role("button", name="同意转出").click()
    expect(secretary.get_by_text("已同意转出")).to_be_visible()
    other = staff_phone(browser, live_server)
    login(other, "b-sj")
    other.goto("/party/transfers/")
    other.get_by_role("link", name="赵党员").click()
    other.once("dialog", lambda dialog: dialog.accept())
    other.get_by_role("button", name="接收").click()
    expect(other.get_by_text("已接收。")).to_be_visible()
    moving.refresh_from_db()
    assert moving.organization == world.branch_b
    assert Transfer.objects.get(member=moving).status == "accepted"
