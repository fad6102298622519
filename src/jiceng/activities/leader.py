"""The team leader's pages (a resident leading a volunteer team): claim published
activities (抢单), open sign-up, start the activity and show the rotating check-in code,
confirm or strike out each check-in (and mark present those without a phone), and make
attendance final when the activity is over."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from jiceng.activities import selectors, services
from jiceng.activities.models import Activity, SignUp, VolunteerTeam
from jiceng.activities.workflow import PROCESS
from jiceng.core.access import has_permission
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.links import public_base_url
from jiceng.residents.decorators import resident_required

LEADER_STEPS = {
    "open_signup": services.activity_open_signup,
    "hold": services.activity_hold,
    "complete": services.activity_complete,
}


def _led_team(request, pk: int) -> VolunteerTeam:
    team = VolunteerTeam.objects.filter(pk=pk, is_active=True).first()
    if team is None or not has_permission(
        Actor.of_resident(request.resident), "activities.lead", obj=team
    ):
        raise NotFound()
    return team


@resident_required
@require_GET
def team(request, pk: int):
    own = _led_team(request, pk)
    return render(
        request,
        "activities/leader/team.html",
        {
            "team": own,
            "claimable": selectors.claimable(own)[:50],
            "activities": selectors.team_activities(own)[:50],
        },
    )


@resident_required
@require_POST
def claim(request, pk: int, activity_pk: int):
    own = _led_team(request, pk)
    target = selectors.claimable(own).filter(pk=activity_pk).first()
    try:
        if target is None:
            raise DomainError(
                "来晚了，该活动已被其他队伍认领或已不能认领。", code="already_claimed"
            )
        services.activity_claim(actor=Actor.of(request), activity=target, team=own)
    except DomainError as refusal:
        messages.error(request, refusal.message)
        return redirect("leader:team", pk=pk)
    messages.success(request, f"认领成功：{target.title}")
    return redirect("leader:activity", pk=activity_pk)


@resident_required
@require_GET
def activity(request, pk: int):
    item = selectors.led_activity(request.resident, pk)
    signups = selectors.activity_signups(item)
    return render(
        request,
        "activities/leader/activity.html",
        {
            "activity": item,
            "signups": signups,
            "claims": sum(s.attendance == SignUp.Attendance.CLAIMED for s in signups),
            "actions": PROCESS.available_actions(Actor.of(request), item),
        },
    )


@resident_required
@require_POST
def act(request, pk: int, action: str):
    item = selectors.led_activity(request.resident, pk)
    step = LEADER_STEPS.get(action)
    if step is None:
        raise NotFound()
    try:
        step(actor=Actor.of(request), activity=item)
    except DomainError as refusal:
        messages.error(request, refusal.message)
        return redirect("leader:activity", pk=pk)
    messages.success(request, "已完成。")
    if action == "hold":
        return redirect("leader:code", pk=pk)
    return redirect("leader:activity", pk=pk)


@resident_required
@require_POST
def attendance(request, pk: int, signup_pk: int):
    item = selectors.led_activity(request.resident, pk)
    signup = SignUp.objects.filter(pk=signup_pk, activity=item).select_related("activity").first()
    if signup is None:
        raise NotFound()
    try:
        services.attendance_mark(
            actor=Actor.of(request), signup=signup, attended=request.POST.get("attended") == "1"
        )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return redirect("leader:activity", pk=pk)


@resident_required
@require_POST
def confirm_claims(request, pk: int):
    """全部确认: every check-in still waiting is confirmed at once."""
    item = selectors.led_activity(request.resident, pk)
    try:
        count = services.attendance_confirm_claims(actor=Actor.of(request), activity=item)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"已确认 {count} 人出勤。")
    return redirect("leader:activity", pk=pk)


@resident_required
@require_GET
def code(request, pk: int):
    """签到码: a QR code of the check-in address, changing every CODE_SECONDS seconds (the
    page fetches the new one itself), so a photo sent to a friend is soon useless."""
    item = selectors.led_activity(request.resident, pk)
    if item.status != Activity.Status.HELD:
        # No live code before the activity has started, nor after attendance is final.
        messages.error(request, "活动开始后才显示签到码。")
        return redirect("leader:activity", pk=pk)
    current = services.check_in_code(item)
    path = reverse("calendar:check_in", args=[item.pk, current])
    context = {
        "activity": item,
        "url": f"{public_base_url(request).rstrip('/')}{path}",
        "seconds": services.CODE_SECONDS,
        "checked_in": item.signups.filter(checked_in_at__isnull=False).count(),
    }
    if request.htmx:
        return render(request, "activities/leader/_code.html", context)
    return render(request, "activities/leader/code.html", context)
