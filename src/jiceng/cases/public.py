"""The resident's pages, without login: the form behind a grid's QR code, and the private
tracking page with rating and reopening. Nothing here shows any resident's phone or name."""

import datetime

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiceng.accounts.selectors import grid_posts
from jiceng.cases import services
from jiceng.cases.catalogue import catalogue_list
from jiceng.cases.models import Case, Photo
from jiceng.cases.views import answers_of, category_groups, category_questions
from jiceng.cases.workflow import ABOUT_STAFF, event_label, resident_status
from jiceng.core import personal, phones
from jiceng.core.actors import Actor
from jiceng.core.calendar import WorkCalendar
from jiceng.core.errors import DomainError
from jiceng.core.intake import (
    DEVICE_COOKIE,
    Sender,
    client_fingerprint,
    device_of,
    device_token_new,
    new_submission_key,
    reporting_as,
)
from jiceng.core.masking import mask_phone
from jiceng.core.middleware import client_ip
from jiceng.core.numbers import whole_number
from jiceng.core.photos import clean_photo
from jiceng.core.region_codes import county_of
from jiceng.places.models import Building, Region
from jiceng.places.ordering import buildings_in_order

PUBLIC_NOTES = {"void", "handle", "merge", "rate", "reopen", "check"}


# 反映工作人员: such a request goes to the town; the grid's workers do not see it.


class IntakeForm(forms.Form):
    category = forms.TypedChoiceField(
        label="问题类别", coerce=int, required=False, empty_value=None
    )
    description = forms.CharField(
        label="遇到了什么问题",
        max_length=services.MAX_DESCRIPTION,
        widget=forms.Textarea(
            attrs={"rows": 5, "placeholder": "请写清楚是什么问题、在哪里、持续多久了"}
        ),
        error_messages={
            "max_length": "问题描述不能超过 4000 字。",
            "required": "请描述遇到的问题。",
        },
    )
    building = forms.TypedChoiceField(label="楼栋", coerce=int, required=False, empty_value=None)
    unit_number = forms.IntegerField(label="单元", min_value=1, max_value=99, required=False)
    address = forms.CharField(label="具体位置", max_length=200, required=False)
    share_location = forms.BooleanField(label="使用照片里的拍摄位置", required=False)
    reporter_phone = forms.CharField(label="联系电话（选填）", max_length=20, required=False)
    share_reporter_with_grid = forms.BooleanField(
        label="也允许本网格的网格员查看我的联系方式", required=False
    )
    about_staff = forms.ChoiceField(
        label="反映的是工作人员的问题吗", required=False, choices=ABOUT_STAFF
    )
    named_post = forms.CharField(
        label="反映哪位工作人员或哪个岗位（选填）", max_length=60, required=False
    )
    submission = forms.CharField(widget=forms.HiddenInput)

    def clean_reporter_phone(self) -> str:
        """A number the handler can call back: a mobile, or a landline with its area code
        (a bare 7-digit number is a typo as often as a local line)."""
        text = self.cleaned_data["reporter_phone"].strip()
        if not text:
            return ""
        number = phones.reachable(text)
        if number is None:
            raise forms.ValidationError(PHONE_MESSAGE, code="phone_invalid")
        return number


PHONE_MESSAGE = "请填写11位手机号，或带区号的固定电话（如 0537-1234567）。"


def _grid(grid_code: str) -> Region:
    grid = Region.objects.filter(code=grid_code, level=Region.Level.GRID).first()
    if grid is None:
        raise Http404("未找到该网格，请重新扫码。")
    return grid


def _form(grid: Region, data=None) -> IntakeForm:
    form = IntakeForm(data, initial={"submission": new_submission_key()})
    form.fields["category"].choices = [
        ("", "不清楚，请工作人员判断"),
        *category_groups(county_of(grid.code)),
    ]
    buildings = buildings_in_order(Building.objects.filter(region_code=grid.code))
    form.fields["building"].choices = [("", "（不在楼内或不清楚）")] + [
        (b.pk, b.name) for b in buildings
    ]
    return form


@login_not_required
@require_http_methods(["GET", "POST"])
def intake(request, grid_code: str):
    """The page a resident reaches by scanning the grid's (or building's) QR code."""
    grid = _grid(grid_code)
    post = grid_posts(region_codes=[grid.code]).get(grid.code)
    worker = post.user if post else None
    form = _form(grid, request.POST or None)
    chosen = whole_number(
        request.GET.get("b") if request.method == "GET" else request.POST.get("building")
    )
    building = (
        Building.objects.filter(pk=chosen, region_code=grid.code).first()
        if chosen is not None
        else None
    )
    # A captain (for their building) or a rider signed in reports as one. Their phone is
    # offered in the form, where they see it and may change or clear it; what is stored
    # is what the form carries, never a number added behind their back.
    reported_as, own_phone = reporting_as(request, building)
    if request.method == "GET":
        if chosen is not None:
            form.initial["building"] = chosen
        if own_phone:
            form.initial["reporter_phone"] = own_phone
    county = county_of(grid.code)
    error = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sender = Sender.of(client_ip(request), request.COOKIES.get(DEVICE_COOKIE))
        try:
            uploads = request.FILES.getlist("photos")
            if len(uploads) > services.MAX_PHOTOS:
                raise DomainError(
                    f"最多上传 {services.MAX_PHOTOS} 张照片。", code="too_many_photos"
                )
            photos = [clean_photo(f, keep_location=data["share_location"]) for f in uploads]
            category = catalogue_list(county_code=county).filter(pk=data["category"]).first()
            case, _ = services.case_submit(
                actor=Actor.public(Case.Channel.QR),
                channel=Case.Channel.QR,
                region_code=grid.code,
                description=data["description"],
                category=category,
                answers=answers_of(request.POST),
                building=building,
                unit_number=data["unit_number"],
                address=data["address"],
                reporter_phone=data["reporter_phone"],
                reported_as=reported_as,
                share_reporter_with_grid=data["share_reporter_with_grid"],
                about_staff=bool(data["about_staff"]),
                named_staff=worker if data["about_staff"] == "grid_worker" else None,
                named_post=data["named_post"],
                device_id=sender.device,
                sender=sender,
                photos=photos,
                idempotency_key=f"qr:{grid.code}:{data['submission']}",
            )
        except DomainError as failure:
            error = failure.message
        else:
            return redirect(tracking_url(case))
    category_id = whole_number(str(form["category"].value() or ""))
    category = (
        catalogue_list(county_code=county).filter(pk=category_id).first()
        if category_id is not None
        else None
    )
    response = render(
        request,
        "cases/public/intake.html",
        {
            "grid": grid,
            "worker": worker,
            "worker_phone": mask_phone(worker.phone) if worker else "",
            "work_phone": post.work_phone if post else "",
            "worker_name": (worker.full_name or worker.username) if worker else "",
            "form": form,
            "category_groups": category_groups(county),
            "selected_category": category_id,
            "questions": category_questions(category, answers_of(request.POST)),
            "error": error,
            "reporting_as": Case.ReportedAs(reported_as).label if reported_as else "",
        },
        status=400 if error or (request.method == "POST" and not form.is_valid()) else 200,
    )
    # The server's own device token; a missing, expired or forged one is replaced (and
    # counted as none meanwhile).
    if not device_of(request.COOKIES.get(DEVICE_COOKIE)):
        response.set_cookie(
            DEVICE_COOKIE,
            device_token_new(),
            max_age=3600 * 24 * 365,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    return response


@login_not_required
@require_GET
def intake_questions(request, grid_code: str):
    """The extra questions of the chosen category (an htmx fragment)."""
    grid = _grid(grid_code)
    category_id = whole_number(request.GET.get("category"))
    category = (
        catalogue_list(county_code=county_of(grid.code)).filter(pk=category_id).first()
        if category_id is not None
        else None
    )
    return render(
        request, "cases/public/_questions.html", {"questions": category_questions(category)}
    )


class LookupForm(forms.Form):
    code = forms.CharField(
        label="查询码", max_length=12, error_messages={"required": "请填写查询码。"}
    )
    tail = forms.RegexField(
        label="手机号后四位",
        regex=r"^\d{4}$",
        error_messages={"required": "请填写手机号后四位。", "invalid": "请填写手机号后四位数字。"},
    )


@login_not_required
@never_cache
@require_http_methods(["GET", "POST"])
def lookup(request, code: str = ""):
    """/t/ and /t/<查询码>/ without the private token: find the request again by its 查询码
    and the last four digits of the phone it was given with. What it shows is what Open311
    publishes (status, dates, the public reply); the private link, with the resident's own
    words, photos and rating, is texted again to that phone."""
    form = LookupForm(request.POST or None, initial={"code": code.upper()})
    error, status = "", 200
    if request.method == "POST":
        if form.is_valid():
            try:
                case = services.case_lookup(
                    fingerprint=client_fingerprint(client_ip(request)),
                    tracking_code=form.cleaned_data["code"],
                    tail=form.cleaned_data["tail"],
                )
            except DomainError as failure:
                error = failure.message
                status = 429 if failure.code == "rate_limited" else 400
            else:
                sent = services.case_link_resend(case=case)
                return render(
                    request,
                    "cases/public/lookup_result.html",
                    {
                        "case": case,
                        "status_text": resident_status(case),
                        "sent": sent,
                        "phone": mask_phone(personal.clear(case.reporter_phone) or ""),
                    },
                )
        else:
            status = 400
    return render(
        request, "cases/public/lookup.html", {"form": form, "error": error}, status=status
    )


def tracking_url(case: Case) -> str:
    return reverse("cases_public:tracking", args=[case.tracking_code, case.access_token])


def _link_actor(request) -> Actor:
    """Who acts through a private tracking link: the signed-in resident, else whoever
    holds the link (the public)."""
    actor = Actor.of(request)
    return actor if actor.is_resident else Actor.public("tracking_link")


def _resident_case(code: str, token: str) -> Case:
    try:
        return services.case_for_resident(tracking_code=code, access_token=token)
    except DomainError as error:
        raise Http404(error.message) from None


def _timeline(case: Case, *, staff_only: bool = False) -> list[dict]:
    """The public steps of a request. The reporter of a duplicate merged into it sees only
    the staff's steps: never what its own resident wrote (a rating's comment, a reason for
    reopening)."""
    events = case.events.filter(is_public=True)
    if staff_only:
        events = events.filter(actor__isnull=False)
    return [
        {
            "at": event.at,
            "who": event.actor_label,
            "what": event_label(event),
            "note": _public_note(event),
        }
        for event in events.order_by("at", "id")
    ]


def _public_note(event) -> str:
    """What the resident reads of a step: its note where the note is written for them;
    of 办结反馈, the handler's reply (答复), never the internal result, which can name
    people (a step recorded before replies existed shows none)."""
    if event.action == "handle":
        return (event.data or {}).get("reply", "")
    return event.note if event.action in PUBLIC_NOTES else ""


def _photos(own: Case, case: Case) -> list[Photo]:
    """The resident's own photos and the handler's; never another resident's."""
    return list(own.photos.all()) + (
        list(case.photos.filter(kind=Photo.Kind.RESULT)) if case.pk != own.pk else []
    )


def _render_tracking(request, own: Case, error: str = ""):
    case = own.merged_into if own.merged_into_id else own  # a duplicate follows the original
    is_own = own.pk == case.pk
    closed = case.status == Case.Status.CLOSED
    already_rated = bool(case.rated_at and case.closed_at and case.rated_at >= case.closed_at)
    recent = closed and timezone.now() - case.closed_at <= datetime.timedelta(
        days=settings.JICENG_REOPEN_DAYS
    )
    due = case.handle_due_at or case.due_at
    return render(
        request,
        "cases/public/tracking.html",
        {
            "own": own,
            "case": case,
            "status_text": resident_status(case),
            "is_own": is_own,
            "timeline": _timeline(case, staff_only=not is_own),
            "photos": _photos(own, case),
            "due_note": WorkCalendar().provisional_note(timezone.localtime(due).date())
            if due and case.is_open
            else "",
            "may_rate": is_own and closed and not already_rated,
            "may_reopen": is_own and recent,
            "ratings": Case.Rating.choices,
            "error": error,
        },
        status=400 if error else 200,
    )


@login_not_required
@never_cache  # the private link: the resident's own words and photos
@require_GET
def tracking(request, code: str, token: str):
    return _render_tracking(request, _resident_case(code, token))


@login_not_required
@require_POST
def rate(request, code: str, token: str):
    case = _resident_case(code, token)
    try:
        services.case_rate(
            actor=_link_actor(request),
            case=case,
            rating=whole_number(request.POST.get("rating")) or 0,
            comment=request.POST.get("comment", ""),
        )
    except DomainError as error:
        return _render_tracking(request, case, error.message)
    return redirect(tracking_url(case))


@login_not_required
@require_POST
def reopen(request, code: str, token: str):
    case = _resident_case(code, token)
    try:
        services.case_reopen(
            actor=_link_actor(request), case=case, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        return _render_tracking(request, case, error.message)
    return redirect(tracking_url(case))


@login_not_required
@never_cache  # the private link: the resident's own words and photos
@require_GET
def photo(request, code: str, token: str, photo_id: int):
    own = _resident_case(code, token)
    case = own.merged_into if own.merged_into_id else own
    image = next((p for p in _photos(own, case) if p.pk == photo_id), None)
    if image is None:
        raise Http404("未找到该照片。")
    return FileResponse(image.image.open("rb"), content_type="image/jpeg")
