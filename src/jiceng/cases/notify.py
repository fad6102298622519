"""Notifications about requests: an in-app inbox row for each recipient and, in the same
transaction, its outbound copy in the outbox (core.outbox), which `jiceng worker` sends
through the configured notice sender (a messaging gateway, or the log) once the action
commits, retrying until it is delivered.

Nobody is told of their own step: every helper takes the actor, who is left out of the
recipients (a grid worker who dispatches to themself, or enters a request, needs no
message about it).

Each Notification has a unique key, so a deadline warning is created once however often
the checker runs; its outbound copy carries the same key to the gateway, so it is shown
once however often it is delivered.
"""

import datetime
import logging
import uuid

from django.conf import settings
from django.urls import reverse

from jiceng.accounts.selectors import staff_at
from jiceng.cases.models import Notification
from jiceng.cases.selectors import names
from jiceng.core import outbox, personal, phones
from jiceng.core.links import public_base_url
from jiceng.core.process import actor_required
from jiceng.core.region_codes import COMMUNITY, community_of, county_of, is_above, town_of

logger = logging.getLogger(__name__)


def notify(users, case, kind: str, text: str, key: str | None = None, *,
           actor) -> list[Notification]:  # fmt: skip
    """Create inbox rows (once per key) and queue their outbound copies, in the caller's
    transaction, for each of `users` but the actor. Without a key every call is a new
    occurrence."""
    acting = actor_required(actor).user_id
    rows = {
        (f"{key}:{user.pk}" if key else f"{kind}:{case.pk}:{user.pk}:{uuid.uuid4().hex}"): user
        for user in users
        if (acting is None or user.pk != acting) and not names(user, case)
    }
    if key:
        for existing in Notification.objects.filter(key__in=list(rows)).values_list(
            "key", flat=True
        ):
            del rows[existing]
    created = Notification.objects.bulk_create(
        [
            Notification(user=user, case=case, kind=kind, text=text[:300], key=row_key)
            for row_key, user in rows.items()
        ]
    )
    outbox.put(
        outbox.notice(user=n.user, kind=kind, text=n.text, key=f"notice:{n.key}") for n in created
    )
    return created


def triage_staff(case, kind: str, text: str, key: str | None = None, *, actor):
    """The grid's workers and the community's staff, who accept and dispatch; the town's
    staff for a request placed at the town (反映工作人员, or one through an interface not
    yet put in a grid)."""
    if is_above(case.region_code, COMMUNITY):
        staff = staff_at(roles=("town_staff",), region_codes=[town_of(case.region_code)])
    else:
        staff = staff_at(
            roles=("grid_worker", "community_worker"),
            region_codes=[case.region_code, community_of(case.region_code)],
        )
    return notify(staff, case, kind, text, key, actor=actor)


def handlers(case, kind: str, text: str, key: str | None = None, *, actor):
    """The assigned handler, or the assigned department's staff posted around the grid."""
    if case.handler_id:
        return notify([case.handler], case, kind, text, key, actor=actor)
    if case.handler_department_id:
        staff = staff_at(
            roles=("specialist_grid_worker",),
            region_codes=[
                case.region_code,
                community_of(case.region_code),
                town_of(case.region_code),
            ],
        ).filter(department_id=case.handler_department_id)
        return notify(staff, case, kind, text, key, actor=actor)
    return triage_staff(case, kind, text, key, actor=actor)


def checkers(case, kind: str, text: str, key: str | None = None, *, actor):
    """Community staff, who check on site, close, and approve extensions; the town's
    staff when the only community worker is the one who acted (nobody checks their own
    work, so someone else must hear of it)."""
    staff = staff_at(roles=("community_worker",), region_codes=[community_of(case.region_code)])
    acting = actor_required(actor).user_id
    if not any(user.pk != acting for user in staff):
        staff = staff_at(roles=("town_staff",), region_codes=[town_of(case.region_code)])
    return notify(staff, case, kind, text, key, actor=actor)


approvers = checkers


def supervisors(case, kind: str, text: str, key: str | None = None, *, actor):
    """Town staff and the county's command centre."""
    staff = staff_at(
        roles=("town_staff", "county_staff"),
        region_codes=[town_of(case.region_code), county_of(case.region_code)],
    )
    return notify(staff, case, kind, text, key, actor=actor)


TRACKING_TEMPLATES = ("case_received", "case_closed", "case_link")


def resident_tracking_link(case, template: str, key: str) -> bool:
    """Text the reporter their private tracking link (`case_received` at submission,
    `case_closed` at 办结), in the caller's transaction: only to a mobile number, never
    for a suspect submission, and at most JICENG_TRACKING_SMS_PER_DAY a day to one number
    (a flood of submissions must not become a flood of texts to someone's phone).
    Returns whether one was queued."""
    number = phones.mobile(personal.clear(case.reporter_phone) or "")
    if number is None or case.is_suspect:
        return False
    day = datetime.timedelta(days=1)
    if outbox.queued_to(phone=number, templates=TRACKING_TEMPLATES, within=day) >= (
        settings.JICENG_TRACKING_SMS_PER_DAY
    ):
        return False
    try:
        base = public_base_url()
    except ValueError:  # no address to text (`jiceng check --deploy` says so)
        logger.warning("JICENG_PUBLIC_URL is not set: no tracking link sent for %s", case.pk)
        return False
    path = reverse("cases_public:tracking", args=[case.tracking_code, case.access_token])
    outbox.put(
        [
            outbox.sms(
                phone=number,
                template=template,
                params={
                    "code": case.tracking_code,
                    "url": base.rstrip("/") + path,
                },
                key=key,
            )
        ]
    )
    return True
