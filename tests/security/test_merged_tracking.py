"""A duplicate merged into another request (M3): its reporter's tracking page follows the
other request, showing the staff's steps and the reply to the public (答复), and nothing
the other request's resident wrote (their rating, its comment, their reason for
reopening)."""

from django.test import Client

from jiceng.cases import services
from jiceng.cases.catalogue import catalogue_seed
from jiceng.cases.models import Case, Category
from jiceng.cases.public import tracking_url
from jiceng.core.actors import Actor

PUBLIC = Actor.public("test")

COMMENT = "楼下张大爷家门口的灯也是我报的"
REASON = "晚上又不亮了，我家孩子在13812345678等我"


def _close(world, case: Case, reply: str) -> Case:
    """Handled with an internal result that names a neighbour, and a reply to the public."""
    worker = world.a("grid_worker")
    case = services.case_start(actor=worker, case=case)
    case = services.case_handle(actor=worker, case=case, result=f"王某某家：{reply}", reply=reply)
    return services.case_check(actor=world.a("community_worker"), case=case, passed=True)


def test_a_merged_request_shows_staff_steps_and_the_result_only(world):
    catalogue_seed(county_code="370829")
    worker = world.a("grid_worker")
    light = Category.objects.get(code="facilities.street-light")
    original, _ = services.case_submit(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="3号楼路灯不亮",
        category=light,
    )
    duplicate, _ = services.case_submit(
        actor=PUBLIC,
        channel="qr",
        region_code=world.grid_a.code,
        description="路灯坏了",
        category=light,
    )
    original = services.case_accept(actor=worker, case=original)
    original = services.case_dispatch(actor=worker, case=original, handler=worker)
    services.case_merge(actor=world.a("community_worker"), case=duplicate, into=original)
    original = _close(world, original, "已更换灯泡")
    original = services.case_rate(
        actor=PUBLIC, case=original, rating=Case.Rating.SATISFIED, comment=COMMENT
    )
    original = services.case_reopen(actor=PUBLIC, case=original, reason=REASON)
    original = _close(world, original, "已更换整套灯具")
    original.refresh_from_db()
    assert original.rating_comment == COMMENT  # a real pair, rated with a comment

    duplicate.refresh_from_db()
    page = Client().get(tracking_url(duplicate))
    assert page.status_code == 200
    text = page.content.decode()
    assert COMMENT not in text and REASON not in text and "13812345678" not in text
    assert "您的评价" not in text and original.get_rating_display() not in text
    assert "已更换整套灯具" in text  # the reply
    assert "王某某" not in text  # never the internal result
    assert "路灯坏了" in text and "3号楼路灯不亮" not in text  # its own description only
    assert text.count("<li>") == original.events.filter(is_public=True, actor__isnull=False).count()

    own = Client().get(tracking_url(original)).content.decode()
    assert COMMENT in own and REASON in own  # the original's resident still sees their own
