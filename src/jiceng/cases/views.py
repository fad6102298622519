"""Staff pages for requests: work queues, one request with its actions, staff entry,
supervision, the inbox, and the figures."""

import datetime

from django import forms
from django.contrib import messages
from django.db.models import Count
from django.http import FileResponse, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.accounts.models import Department
from jiceng.accounts.selectors import grid_posts
from jiceng.cases import actions, exports, selectors, services
from jiceng.cases.catalogue import catalogue_list, category_groups
from jiceng.cases.models import Case, Photo
from jiceng.cases.posters import grid_posters
from jiceng.cases.triage import suggest_categories, suggest_handler
from jiceng.cases.workflow import ABOUT_STAFF, event_label
from jiceng.core import approvals, personal
from jiceng.core.access import has_permission, require, scope_q, scopes
from jiceng.core.actors import Actor
from jiceng.core.errors import DomainError, Forbidden, NotFound
from jiceng.core.intake import new_submission_key
from jiceng.core.links import public_base_url
from jiceng.core.numbers import whole_number
from jiceng.core.pagination import CappedPaginator, page_of
from jiceng.core.photos import clean_photo
from jiceng.core.region_codes import ancestors_of, community_of, county_of
from jiceng.places.models import Region
from jiceng.places.region_names import region_name
from jiceng.places.reports import region_and_period
from jiceng.places.selectors import buildings_assigned, nodes_under

S = Case.Status


def _category_choices(county_code: str) -> list:
    return [("", "（请选择）"), *category_groups(county_code)]


@require_GET
def queue(request):
    user = request.user
    if not selectors.may_see_requests(user):
        raise Forbidden()
    name = request.GET.get("queue") or ("mine" if has_permission(user, "cases.handle") else "open")
    query = request.GET.get("q", "")[:50]
    region = request.GET.get("region", "")
    proposal = whole_number(request.GET.get("proposal"))
    cases = selectors.case_queue(
        user=user,
        queue=name,
        region_code=region if region.isdigit() else None,
        query=query,
        proposal=proposal,
    )
    page = page_of(request, cases, 50)
    clock = selectors.Clock.current()
    context = {
        "page": page,
        "rows": [(case, clock.lateness(case)) for case in page],
        "queue": name,
        "queues": selectors.queues_for(user),
        "query": query,
        "region": region,
        "proposal": proposal,
    }
    if name == "suspect":
        context["suspect_grids"] = _suspect_grids(user)
    return render(request, "cases/queue.html", context)


def _suspect_grids(user) -> list[tuple[str, str, int]]:
    """(code, name, count) of the grids in the user's triage scope that have suspects a
    bulk void would take (received, not held by a proposal), for 按网格和日期作废: staff
    pick a grid by its name rather than type its code. One query (names are cached)."""
    counts = (
        Case.objects.filter(
            scope_q(scopes(user, "cases.triage")),
            status=S.RECEIVED,
            is_suspect=True,
            void_proposal__isnull=True,
            void_pending=False,
        )
        .values("region_code")
        .annotate(count=Count("pk"))
        .order_by("region_code")
    )
    return [(row["region_code"], region_name(row["region_code"]), row["count"]) for row in counts]


def _day(text: str, *, after: bool = False):
    """The start of a day typed as 2026-09-30 (of the next day with `after`), or None."""
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise DomainError("日期格式应为 2026-09-30。", code="date_invalid") from None
    if after:
        day += datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


@require_POST
def suspects_void(request):
    """Propose voiding the suspect submissions ticked in 可疑提交, or all of a grid's in a
    period; another staff member decides it on the approvals page."""
    require(request.user, "cases.triage")
    post = request.POST
    ids = [pk for pk in (whole_number(v) for v in post.getlist("case")) if pk is not None]
    try:
        approval = services.suspects_void_propose(
            actor=Actor.of(request),
            reason=post.get("reason", ""),
            case_ids=ids,
            grid_code="" if ids else post.get("grid", "").strip()[:24],
            since=None if ids else _day(post.get("since", "")),
            until=None if ids else _day(post.get("until", ""), after=True),
        )
    except DomainError as error:
        if error.status == 404:
            raise
        messages.error(request, error.message)
        return redirect(f"{reverse('cases:queue')}?queue=suspect")
    messages.success(request, f"已提出{approval.summary}，待另一位工作人员审批。")
    return redirect("approval_detail", pk=approval.pk)


def _supervision_filter(request, queue) -> tuple[str, list]:
    """The community chosen to filter the queue by, and the choices: one of the viewer's
    scope, or none (a code outside it is answered like one that does not exist)."""
    communities = selectors.supervision_communities(user=request.user, queue=queue)
    community = request.GET.get("community", "")[:24]
    if community and community not in {code for code, _, _ in communities}:
        raise NotFound("未找到该社区，或它不在您的督办范围内。")
    return community, communities


@require_GET
def supervision(request):
    clock = selectors.Clock.current()
    everything = selectors.supervision_queue(user=request.user, clock=clock)
    community, communities = _supervision_filter(request, everything)
    cases = (
        selectors.supervision_queue(user=request.user, clock=clock, region_code=community)
        if community
        else everything
    )
    counts = selectors.supervision_counts(queue=cases, clock=clock)
    paginator = CappedPaginator(cases, 50)
    paginator.count = counts["total"]  # counted above with the rest
    page = paginator.get_page(request.GET.get("page"))
    rows = []
    for case in page:
        case.community_code, case.grid_code = selectors.community_and_grid(case.region_code)
        rows.append((case, clock.lateness(case)))
    return render(
        request,
        "cases/supervision.html",
        {
            "page": page,
            "rows": rows,
            "community": community,
            "communities": communities,
            "counts": counts,
            "show_places": True,
        },
    )


@require_GET
def supervision_export(request):
    """The queue as the page filters it, as .xlsx (audited; personal data masked)."""
    clock = selectors.Clock.current()
    everything = selectors.supervision_queue(user=request.user, clock=clock)
    community, _ = _supervision_filter(request, everything)
    content, _ = exports.supervision_export(actor=Actor.of(request), community=community)
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    name = region_name(community) if community else "全部"
    filename = f"督办清单-{name}-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


class StaffEntryForm(forms.Form):
    region_code = forms.ChoiceField(label="网格")
    building = forms.TypedChoiceField(label="楼栋", coerce=int)
    category = forms.TypedChoiceField(label="类别", coerce=int, required=False, empty_value=None)
    description = forms.CharField(label="诉求内容", widget=forms.Textarea(attrs={"rows": 4}))
    address = forms.CharField(label="地点", max_length=200, required=False)
    reporter_name = forms.CharField(label="反映人", max_length=64, required=False)
    reporter_phone = forms.CharField(label="联系电话", max_length=20, required=False)
    # A caller's complaint about staff goes to the town, as a resident's from the QR page.
    about_staff = forms.ChoiceField(
        label="反映的是工作人员的问题吗", required=False, choices=ABOUT_STAFF
    )
    named_post = forms.CharField(
        label="反映哪位工作人员或哪个岗位（选填）", max_length=60, required=False
    )
    submission = forms.CharField(widget=forms.HiddenInput)


def _grid_choices(user) -> list[tuple[str, str]]:
    grids = nodes_under(user=user, permission="cases.submit", level=Region.Level.GRID)
    return [(g.code, g.name) for g in grids]


# The answers to a category's extra questions ride in the form as `q_<code>` fields
# (cases/public/_questions.html), on the QR page and on the staff entry form alike.
ANSWER_PREFIX = "q_"


def answers_of(data) -> dict[str, str]:
    """The answers to the extra questions that a posted form carries."""
    return {
        key.removeprefix(ANSWER_PREFIX): value
        for key, value in data.items()
        if key.startswith(ANSWER_PREFIX)
    }


def category_questions(category, answers: dict | None = None) -> list:
    """The extra questions of `category` for cases/public/_questions.html, each with what
    was answered to it (`answer`), so that a form shown again keeps the answers."""
    questions = list(category.questions.all()) if category is not None else []
    for question in questions:
        question.answer = (answers or {}).get(question.code, "")
    return questions


def _grid_worker(grid_code: str):
    post = grid_posts(region_codes=[grid_code]).get(grid_code)
    return post.user if post else None


@require_http_methods(["GET", "POST"])
def case_new(request):
    """代为登记: staff enter a request for a caller or a walk-in; a building captain (楼栋长)
    enters one for their building."""
    user = request.user
    require(user, "cases.submit")
    form = StaffEntryForm(request.POST or None, initial={"submission": new_submission_key()})
    grids = _grid_choices(user)
    buildings = {b.pk: b for b in buildings_assigned(user=user, permission="cases.submit")}
    if grids:
        del form.fields["building"]
        form.fields["region_code"].choices = grids
    else:  # held only by assignment: the request is placed in one's building
        del form.fields["region_code"]
        form.fields["building"].choices = [(pk, str(b)) for pk, b in buildings.items()]
    county = (
        county_of(grids[0][0])
        if grids
        else next((county_of(b.region_code) for b in buildings.values()), "")
    )
    form.fields["category"].choices = _category_choices(county)
    # The chosen category's questions come from the QR page's fragment: its questions are
    # the county's, and any grid of the county names it.
    a_grid = grids[0][0] if grids else next((b.region_code for b in buildings.values()), "")
    if a_grid:
        form.fields["category"].widget.attrs.update(
            {
                "hx-get": reverse("cases_public:questions", args=[a_grid]),
                "hx-target": "#questions",
                "hx-trigger": "change",
            }
        )
    answers = answers_of(request.POST)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        building = buildings.get(data.get("building"))
        region_code = building.region_code if building else data["region_code"]
        category = (
            catalogue_list(county_code=county_of(region_code)).filter(pk=data["category"]).first()
        )
        try:
            case, _ = services.case_submit(
                channel=Case.Channel.STAFF,
                region_code=region_code,
                building=building,
                description=data["description"],
                category=category,
                answers=answers,
                address=data["address"],
                reporter_name=data["reporter_name"],
                reporter_phone=data["reporter_phone"],
                about_staff=bool(data["about_staff"]),
                named_staff=_grid_worker(region_code)
                if data["about_staff"] == "grid_worker"
                else None,
                named_post=data["named_post"],
                actor=Actor.of(request),
                photos=[clean_photo(f) for f in request.FILES.getlist("photos")[:3]],
                idempotency_key=f"staff:{user.pk}:{data['submission']}",
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if case.about_staff:  # the town's, out of the grid's and community's sight
                messages.success(
                    request,
                    f"已登记，查询码 {case.tracking_code}。反映工作人员的诉求由街道（乡镇）办理。",
                )
                return redirect("cases:queue")
            messages.success(request, f"已登记，查询码 {case.tracking_code}。")
            return redirect("cases:detail", pk=case.pk)
    chosen = whole_number(str(form["category"].value() or ""))
    category = catalogue_list(county_code=county).filter(pk=chosen).first() if chosen else None
    return render(
        request,
        "cases/new.html",
        {"form": form, "questions": category_questions(category, answers)},
    )


class DispatchForm(forms.Form):
    target = forms.ChoiceField(label="承办")
    note = forms.CharField(label="派单说明", required=False, max_length=500)


def _dispatch_choices(case: Case) -> list:
    people = [
        (f"user:{u.pk}", f"{u}（{u.department or '网格'}）") for u in services.handlers_for(case)
    ]
    departments = Department.objects.filter(region_code=county_of(case.region_code))
    # 红色物业: the property companies whose part-time grid workers serve this grid first.
    serving = set(
        departments.filter(
            kind=Department.Kind.PROPERTY,
            staff__is_active=True,
            staff__memberships__role="property_grid_worker",
            staff__memberships__is_active=True,
            staff__memberships__region_code__in=[*ancestors_of(case.region_code), case.region_code],
        ).values_list("pk", flat=True)
    )
    groups = {True: [], False: []}
    for department in departments.order_by("kind", "name"):
        groups[department.pk in serving].append((f"department:{department.pk}", department.name))
    here = [("服务本网格的物业", groups[True])] if groups[True] else []
    return [("人员", people), *here, ("部门", groups[False])]


@require_GET
def case_detail(request, pk: int):
    user = request.user
    case = selectors.case_get(user=user, pk=pk)
    services.notifications_mark_read(user=user, case=case)
    actions = selectors.available_actions(user, case)
    context = {
        "case": case,
        "answers": selectors.case_answers(case),
        "events": [(event, event_label(event)) for event in selectors.case_events(case=case)],
        "photos": list(case.photos.all()),
        "actions": actions,
        "lateness": selectors.Clock.current().lateness(case),
        "may_see_reporter": selectors.may_see_reporter(user, case),
        "may_reveal_reporter": selectors.may_reveal_reporter(user, case),
        "void_approval": approvals.pending_of(kind=services.VOID, obj=case)
        if case.void_pending
        else None,
        "may_open_grid": has_permission(user, "regions.view", case.region_code),
        # A grid's worker proposes a void; the community confirms it.
        "voids_directly": has_permission(user, "cases.triage", community_of(case.region_code)),
    }
    if actions & {"accept", "dispatch"}:
        context["suggestions"] = suggest_categories(case)
        context["duplicates"] = selectors.duplicates_of(case)
        context["categories"] = category_groups(county_of(case.region_code))
    if "dispatch" in actions:
        form = DispatchForm(label_suffix="", auto_id="id_dispatch_%s")
        form.fields["target"].choices = _dispatch_choices(case)
        guess = suggest_handler(case, case.category) if case.category else None
        if guess:
            form.initial["target"] = f"{guess[0]}:{guess[1]}"
        context["dispatch_form"] = form
    return render(request, "cases/detail.html", context)


def _step_input(request) -> actions.StepInput:
    post = request.POST
    given = actions.StepInput(
        note=post.get("note", "")[:2000],
        category_id=whole_number(post.get("category")),
        grid=post.get("grid", "").strip(),
        into=post.get("into", ""),
        days=whole_number(post.get("days")) or 0,
        approve=post.get("approve") == "1",
        passed=post.get("passed") == "1",
        result=post.get("result", ""),
        reply=post.get("reply", ""),
    )
    if "target" in post:
        kind, _, text = post["target"].partition(":")
        pk = whole_number(text)
        if pk is None:
            raise DomainError("请选择承办人或承办部门。", code="handler_required")
        if kind == "user":
            given.handler_id = pk
        else:
            given.department_id = pk
    if "photos" in request.FILES:
        given.photos = [clean_photo(f) for f in request.FILES.getlist("photos")[:3]]
    return given


@require_POST
def case_act(request, pk: int, action: str):
    """One workflow step from the request page; the service checks everything."""
    user = request.user
    case = selectors.case_get(user=user, pk=pk)
    try:
        done = actions.case_act(
            actor=Actor.of(request), case=case, action=action, given=_step_input(request)
        )
    except DomainError as error:
        if error.status == 404:
            raise
        messages.error(request, error.message)
    else:
        proposed = action == "void" and done.void_pending
        messages.success(
            request, "已申请作废，待社区确认。" if proposed else f"已{actions.label(action)}。"
        )
    if Case.objects.filter(selectors.visible_q(user), pk=case.pk).exists():
        return redirect("cases:detail", pk=case.pk)
    return redirect("cases:queue")


@require_POST
def case_reporter(request, pk: int):
    """Show the reporter's name and phone (an htmx fragment), audited."""
    case = personal.reveal_target(
        actor=request.user, action="case.reveal_reporter", object_type="cases.case",
        object_id=pk, find=lambda: selectors.case_get(user=request.user, pk=pk),
    )  # fmt: skip
    phone = services.case_reveal_reporter(actor=Actor.of(request), case=case)
    return render(request, "cases/_reporter.html", {"case": case, "reporter_phone": phone})


@require_GET
def case_photo(request, pk: int, photo_id: int):
    case = selectors.case_get(user=request.user, pk=pk)
    photo = get_object_or_404(Photo, pk=photo_id, case=case)
    return FileResponse(photo.image.open("rb"), content_type="image/jpeg")


@require_GET
def inbox(request):
    notes = selectors.inbox(user=request.user)
    page = page_of(request, notes, 30)
    return render(request, "cases/inbox.html", {"page": page})


@require_POST
def inbox_read(request):
    services.notifications_mark_read(user=request.user)
    return redirect("cases:inbox")


@require_GET
def figures(request):
    """诉求统计 for a region and period, as a page (the API has the same figures)."""
    user = request.user
    require(user, "cases.figures")
    today = timezone.localdate()
    roots, region, start, end = region_and_period(
        request, "cases.figures", today.replace(month=1, day=1)
    )
    data = selectors.case_figures(user=user, region_code=region, start=start, end=end)
    children = Region.objects.filter(parent_id=region).order_by("code")
    return render(
        request,
        "cases/figures.html",
        {"figures": data, "roots": roots, "region": region, "children": children},
    )


@require_GET
def posters(request, code: str):
    """Printable QR posters (one A4 page each) for the grids, or buildings, under a node."""
    from jiceng.places.selectors import region_get

    region = region_get(user=request.user, code=code)
    per_building = request.GET.get("buildings") == "1"
    items = list(
        grid_posters(
            region=region, base_url=public_base_url(request), per_building=per_building, limit=300
        )
    )
    desk = community_of(region.code) if region.is_grid else region.code
    may_set_phones = has_permission(request.user, "cases.triage", desk)
    return render(
        request,
        "cases/posters.html",
        {"region": region, "posters": items, "may_set_phones": may_set_phones},
    )


@require_http_methods(["GET", "POST"])
def work_phones(request, code: str):
    """公开工作电话 of the grid posts under a community (or above): what each grid's poster
    and intake page publish, set by the community's staff."""
    from jiceng.accounts.selectors import grid_posts
    from jiceng.accounts.services import membership_set_work_phone
    from jiceng.places.selectors import region_get

    region = region_get(user=request.user, code=code)
    desk = community_of(region.code) if region.is_grid else region.code
    require(request.user, "cases.triage", desk)
    grids = list(
        Region.objects.filter(level=Region.Level.GRID, code__within=region.code).order_by("code")[
            :300
        ]
    )
    posts = grid_posts(region_codes=[g.code for g in grids])
    error, status = "", 200
    if request.method == "POST":
        grid_code = request.POST.get("grid", "")
        post = posts.get(grid_code)
        try:
            if post is None:
                raise DomainError("该网格还没有网格员，不能设置工作电话。", code="post_missing")
            membership_set_work_phone(
                actor=Actor.of(request),
                membership=post,
                work_phone=request.POST.get("work_phone", ""),
            )
        except DomainError as failure:
            error, status = failure.message, 400
        else:
            messages.success(request, "已保存，海报和扫码页将显示新的工作电话。")
            return redirect("cases:work_phones", code=region.code)
    rows = [{"grid": g, "post": posts.get(g.code)} for g in grids]
    return render(
        request,
        "cases/work_phones.html",
        {"region": region, "rows": rows, "error": error},
        status=status,
    )


@require_GET
def poster_download(request, code: str):
    """One grid's poster as an SVG file."""
    from jiceng.places.selectors import region_get

    grid = region_get(user=request.user, code=code)
    if not grid.is_grid:
        raise DomainError("只有网格有二维码海报。", code="not_grid")
    name, svg = next(grid_posters(region=grid, base_url=public_base_url(request)))
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
