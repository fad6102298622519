"""The organizer's pages, for staff and for residents who organize (a team's leader): the
day's roster (who signed up, who is here, marked by hand, on leave), the rotating
check-in code, and the marks. Who organizes a gathering is what its kind declares."""

from functools import wraps
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, NotFound
from jiceng.core.links import public_base_url, safe_next
from jiceng.gatherings import selectors, services
from jiceng.gatherings.kinds import kind_of
from jiceng.gatherings.models import Gathering, SignUp
from jiceng.places.selectors import SEARCH_LIMIT, person_get, person_search
from jiceng.residents.models import Resident
from jiceng.residents.services import current_resident

P = Gathering.Phase


def organizer_required(view):
    """A page of the gathering's organizer, signed in as staff or as a resident; anyone
    else is sent to sign in, and a signed-in non-organizer finds nothing (404)."""

    @login_not_required
    @wraps(view)
    def wrapped(request, pk: int, *args, **kwargs):
        if request.user.is_authenticated:
            actor = Actor.staff(request.user)
        elif (resident := current_resident(request)) is not None:
            request.resident = resident
            actor = Actor.of_resident(resident)
        else:
            back = request.get_full_path() if request.method == "GET" else reverse("me:home")
            return redirect(f"{reverse('me:login')}?next={quote(back)}")
        gathering = Gathering.objects.select_related("venue").filter(pk=pk).first()
        if gathering is None or not services.organizes(actor, gathering):
            raise NotFound()
        request.actor = actor
        return view(request, gathering, *args, **kwargs)

    return wrapped


def _back(request, gathering: Gathering):
    return redirect(
        safe_next(
            request, request.POST.get("next"), reverse("gatherings:roster", args=[gathering.pk])
        )
    )


@organizer_required
@require_GET
def roster(request, gathering: Gathering):
    """签到与出勤: the organizer's page for the day."""
    kind = kind_of(gathering)
    context = selectors.roster_context(gathering, request.actor, request.get_full_path())
    context.update(
        {
            "kind": kind,
            "manage": kind.manage_url(gathering, request.actor) if kind.manage_url else "",
            "here": sum(
                s.attended or (s.checked_in_at is not None and s.attendance != s.Attendance.STRUCK)
                for s in context["signups"]
            ),
            "base": "base.html" if request.actor.is_staff else "residents/base.html",
        }
    )
    return render(request, "gatherings/organizer/roster.html", context)


@organizer_required
@require_GET
def code(request, gathering: Gathering):
    """签到码: a QR code of the check-in address, changing every CODE_SECONDS seconds (the
    page fetches the new one itself), so a photo sent to a friend is soon useless."""
    if gathering.phase != P.UNDER_WAY:
        # No live code before it has started, nor after attendance is final.
        messages.error(request, "开始后才显示签到码。")
        return redirect("gatherings:roster", pk=gathering.pk)
    current = services.check_in_code(gathering)
    path = reverse("calendar:check_in", args=[gathering.pk, current])
    kind = kind_of(gathering)
    context = {
        "gathering": gathering,
        "url": f"{public_base_url(request).rstrip('/')}{path}",
        "seconds": services.CODE_SECONDS,
        "checked_in": gathering.signups.filter(checked_in_at__isnull=False).count(),
        "manage": kind.manage_url(gathering, request.actor) if kind.manage_url else "",
        "base": "base.html" if request.actor.is_staff else "residents/base.html",
    }
    if request.htmx:
        return render(request, "gatherings/organizer/_code.html", context)
    return render(request, "gatherings/organizer/code.html", context)


def _signup(gathering: Gathering, signup_pk: int) -> SignUp:
    signup = SignUp.objects.filter(pk=signup_pk, gathering=gathering).first()
    if signup is None:
        raise NotFound()
    return signup


@organizer_required
@require_POST
def attendance(request, gathering: Gathering, signup_pk: int):
    try:
        services.attendance_mark(
            actor=request.actor,
            signup=_signup(gathering, signup_pk),
            attended=request.POST.get("attended") == "1",
            reason=request.POST.get("reason", ""),
        )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    return _back(request, gathering)


@organizer_required
@require_POST
def leave(request, gathering: Gathering, signup_pk: int):
    try:
        services.attendance_leave(
            actor=request.actor,
            signup=_signup(gathering, signup_pk),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "已记录请假。")
    return _back(request, gathering)


@organizer_required
def add(request, gathering: Gathering):
    """添加名单外的人: staff find someone of the register (masked, within what they may
    see) who is there without a phone account, and put them on the roster; their
    attendance is then confirmed like anyone's. A resident organizer cannot search the
    register, so finds nothing here."""
    if not request.actor.is_staff:
        raise NotFound()
    if request.method == "POST":
        person = person_get(user=request.user, pk=_int(request.POST.get("person")))
        try:
            added = services.signup_invite(
                actor=request.actor, gathering=gathering, persons=[person]
            )
        except DomainError as refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(
                request, "已加入名单，请在名单中为其确认出勤。" if added else "此人已在名单中。"
            )
        return _back(request, gathering)
    query = request.GET.get("q", "").strip()
    try:
        found = person_search(user=request.user, query=query) if query else []
    except DomainError as refusal:
        messages.error(request, refusal.message)
        found = []
    on_roster = {s.who.pk for s in selectors.roster(gathering) if s.who}
    with_account = set(
        Resident.objects.filter(person__in=found).values_list("person_id", flat=True)
    )
    context = {
        "gathering": gathering,
        "query": query,
        "found": [(p, p.pk in on_roster, p.pk in with_account) for p in found],
        "limit": SEARCH_LIMIT,
        "base": "base.html",
    }
    return render(request, "gatherings/organizer/add.html", context)


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise NotFound() from None


@organizer_required
@require_POST
def sheet(request, gathering: Gathering):
    """上传纸质签到表 (a photo)."""
    upload = request.FILES.get("sheet")
    try:
        if upload is None:
            raise DomainError("请选择签到表照片。", code="sheet_required")
        services.sheet_attach(actor=request.actor, gathering=gathering, upload=upload)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, "已添加一页签到表。")
    return _back(request, gathering)


@organizer_required
@require_GET
def sheet_photo(request, gathering: Gathering, page: int):
    photo = services.sheet_open(actor=request.actor, gathering=gathering, page_pk=page)
    response = FileResponse(photo, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response


@organizer_required
@require_POST
def confirm_claims(request, gathering: Gathering):
    """全部确认: every check-in still waiting is confirmed at once."""
    try:
        count = services.attendance_confirm_claims(actor=request.actor, gathering=gathering)
    except DomainError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"已确认 {count} 人出勤。")
    return _back(request, gathering)
