"""Points pages: the public ranking board (张榜公示), and for staff a community's ledger with
adjustments, reversals, earning rules and good-deed approvals."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from jiceng.core import approvals, step_up
from jiceng.core.access import has_permission, require
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.intake import new_submission_key
from jiceng.core.models import Approval
from jiceng.core.numbers import whole_number
from jiceng.core.pagination import page_of
from jiceng.core.region_codes import COUNTY, is_above
from jiceng.places.models import Region
from jiceng.places.selectors import community_choices
from jiceng.points import selectors, services
from jiceng.points.ledger import ledger_for
from jiceng.points.models import Account, DeedClaim, EarningRule, JournalEntry
from jiceng.residents.services import resident_by_phone

KINDS = {
    Account.Kind.RESIDENT: "个人",
    Account.Kind.HOUSEHOLD: "家庭",
    Account.Kind.TEAM: "志愿队伍",
}


@login_not_required
@require_GET
def ranking(request, code: str):
    """张榜公示: a printable board of who earned most in a month or a year, names masked,
    with the period's corrections and their reasons."""
    region = Region.objects.filter(code=code).exclude(level=Region.Level.GRID).first()
    if region is None or is_above(code, COUNTY):
        raise Http404("未找到该区划。")
    kind = request.GET.get("kind", Account.Kind.RESIDENT)
    if kind not in KINDS:
        kind = Account.Kind.RESIDENT
    error, text = "", request.GET.get("period", "").strip()
    try:
        period = selectors.Period.parse(text) if text else None
    except DomainError as refusal:  # a typed or stale link: the board, with a word
        error, period = refusal.message, None
    if period is None:
        period = selectors.latest_period(region_code=code, kind=kind)
    return render(
        request,
        "points/ranking.html",
        {
            "region": region,
            "period": period,
            "previous": period.previous,
            "following": None if period.following.is_future else period.following,
            "error": error,
            "kind": kind,
            "kinds": KINDS.items(),
            "ranks": selectors.ranking(region_code=code, kind=kind, period=period, size=50),
            "corrections": selectors.corrections(region_code=code, period=period),
        },
    )


def _community(request, permission: str) -> tuple[str, list]:
    choices = community_choices(request.user, permission)
    code = (
        request.GET.get("region")
        or request.POST.get("region")
        or (choices[0][0] if choices else "")
    )
    require(request.user, permission, code or None)
    return code, choices


@require_GET
def ledger(request):
    """A community's points: entries, rules and deeds awaiting approval."""
    user = request.user
    require(user, "points.view")
    code, choices = _community(request, "points.view")
    entries = selectors.ledger_entries(user=user, region_code=code)
    kind = request.GET.get("kind", "")
    if kind in JournalEntry.Kind.values:
        entries = entries.filter(kind=kind)
    query = request.GET.get("q", "").strip()[:32]
    search_error = ""
    try:
        entries = selectors.ledger_search(entries, query)
    except DomainError as refusal:
        search_error, entries = refusal.message, entries.none()
    may_manage = has_permission(user, "points.manage", code)
    ledger = ledger_for(code)
    page = page_of(request, entries, 50)
    lines = selectors.ledger_lines(list(page))
    for entry in page:
        entry.lines = lines.get(entry.pk, [])
    return render(
        request,
        "points/ledger.html",
        {
            "region": code,
            "communities": choices,
            "ledger": ledger,
            "page": page,
            "kinds": JournalEntry.Kind.choices,
            "kind": kind,
            "query": query,
            "search_error": search_error,
            # The masked holder links to the person's card, where the name and phone can
            # be revealed (and each reveal is audited) by those who may.
            "may_reveal": has_permission(user, "people.view_sensitive", code),
            "may_manage": may_manage,
            "rules": ledger.rules.all(),
            "claims": DeedClaim.objects.filter(rule__ledger=ledger, status="pending")
            .select_related("rule", "resident__person", "proposed_by")
            .order_by("proposed_at"),
            # Large additions waiting for a second person, decided on the approval's page.
            "adjustments": approvals.labelled(
                approvals.visible(user)
                .filter(
                    kind=services.ADJUST_APPROVAL,
                    region_code=ledger.region_code,
                    status=Approval.Status.PENDING,
                )
                .select_related("requested_by")
                .order_by("requested_at", "pk")
            ),
            "submission": new_submission_key(),
        },
    )


def _back(code: str):
    response = redirect("points:ledger")
    response["Location"] += f"?region={code}"
    return response


@require_POST
def adjust(request):
    code, _ = _community(request, "points.manage")
    try:
        amount = int(request.POST.get("amount") or 0)
        done = services.adjust(
            actor=Actor.of(request),
            resident=resident_by_phone(request.POST.get("phone", "")),
            region_code=code,
            amount=amount,
            reason=request.POST.get("reason", ""),
            key=request.POST.get("submission", "")[:40] or new_submission_key(),
        )
        if isinstance(done, Approval):
            messages.success(
                request,
                "已提交审批：一人单笔最多增加"
                f"{settings.JICENG_POINTS_ADJUST_MAX_ENTRY}分、每天合计最多"
                f"{settings.JICENG_POINTS_ADJUST_MAX_DAY_PER_WORKER}分（待审批的也计入），"
                "超出的须另一位工作人员批准后入账。",
            )
        else:
            messages.success(request, "积分已调整，将在积分榜公示。")
    except ValueError:
        messages.error(request, "调整数额须为整数。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return _back(code)


@require_POST
def reverse(request, pk: int):
    entry = selectors.entry_get(user=request.user, pk=pk)
    try:
        services.reverse(
            actor=Actor.of(request), entry=entry, reason=request.POST.get("reason", "")
        )
        messages.success(request, "已冲正。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return _back(entry.ledger.region_code)


@require_POST
def rule_create(request):
    code, _ = _community(request, "points.manage")
    try:
        services.rule_create(
            actor=Actor.of(request),
            region_code=code,
            name=request.POST.get("name", ""),
            kind=request.POST.get("kind", ""),
            points=int(request.POST.get("points") or 0),
        )
        messages.success(request, "积分规则已添加。")
    except ValueError:
        messages.error(request, "分值须为整数。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return _back(code)


@require_POST
def deed_propose(request):
    code, _ = _community(request, "points.manage")
    rule = EarningRule.objects.filter(
        pk=whole_number(request.POST.get("rule")), ledger__region_code=code
    ).first()
    try:
        if rule is None:
            raise DomainError("请选择积分规则。", code="rule_required")
        services.deed_propose(
            actor=Actor.of(request),
            rule=rule,
            resident=resident_by_phone(request.POST.get("phone", "")),
            description=request.POST.get("description", ""),
        )
        messages.success(request, "已提交，待另一位工作人员审核。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return _back(code)


@require_POST
@step_up.step_up
def deed_decide(request, pk: int):
    claim = DeedClaim.objects.select_related("rule__ledger").filter(pk=pk).first()
    if claim is None:
        raise NotFound()
    require(request.user, "points.manage", claim.rule.ledger.region_code)
    try:
        services.deed_decide(
            actor=Actor.of(request), claim=claim, approve=request.POST.get("approve") == "1"
        )
        messages.success(request, "已审核。")
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return _back(claim.rule.ledger.region_code)
