"""Account lists as offices write them read through the same table of variants as
rosters (places.constants.VARIANTS): full-width brackets, short role names."""

from jiceng.accounts.models import Membership, User


def test_role_names_as_offices_write_them(world, login, sms, tmp_path):
    path = tmp_path / "账号.csv"
    path.write_text(
        "账号,姓名,手机号,所属区划,角色,任职区划\n"
        # The label itself, whose full-width brackets NFKC turns into ASCII ones.
        "zhangsan,张三,13905371236,370829001,社区（村）工作人员,370829001001\n"
        "lisi,李四,13905371237,370829001,网格员,370829001001001\n"
        "wangwu,王五,13905371238,370829001,文明超市 店员,370829001001\n",
        encoding="gbk",
    )
    with open(path, "rb") as handle:
        page = login(world.a("county_admin")).post("/accounts/users/import/", {"file": handle})
    assert "已创建 3 个账号" in page.content.decode()
    assert set(
        User.objects.filter(username__in=["zhangsan", "lisi", "wangwu"]).values_list(
            "username", flat=True
        )
    ) == {"zhangsan", "lisi", "wangwu"}
    # Sensitive roles wait for two signatures; the clerk's is granted at once.
    assert Membership.objects.filter(user__username="wangwu", role="store_clerk").exists()
    from jiceng.accounts.models import GrantRequest

    assert set(
        GrantRequest.objects.filter(user__username__in=["zhangsan", "lisi"]).values_list(
            "role", flat=True
        )
    ) == {"community_worker", "grid_worker"}
