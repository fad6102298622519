"""The team leader's pages (a resident leading a volunteer team): claim published
activities (抢单), open sign-up, start the activity, and make attendance final when it is
over. The roster, the rotating check-in code and the marks are the gathering's
(gatherings.organizer), shown here as its roster fragment."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from jiceng.activities import selectors, services
from jiceng.activities.models import VolunteerTeam
from jiceng.activities.workflow import PROCESS
from jiceng.core.access import has_permission
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.gatherings.selectors import roster_context
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
    messages.success(request, f"认领成功：{target.gathering.title}")
    return redirect("leader:activity", pk=activity_pk)


@resident_required
@require_GET
def activity(request, pk: int):
    item = selectors.led_activity(request.resident, pk)
    actor = Actor.of(request)
    return render(
        request,
        "activities/leader/activity.html",
        {
            "activity": item,
            "actions": PROCESS.available_actions(actor, item),
            **roster_context(item.gathering, actor, request.get_full_path()),
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
        return redirect("gatherings:code", pk=item.gathering_id)
    return redirect("leader:activity", pk=pk)
