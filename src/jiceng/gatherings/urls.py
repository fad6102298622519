from django.urls import path

from jiceng.gatherings import organizer, public, views

# Residents' pages (no staff login): the calendar of every public kind, one gathering,
# sign-up and check-in.
public_patterns = (
    [
        path("calendar/", public.index, name="index"),
        path("calendar/<str:code>/", public.month, name="month"),
        path("calendar/<str:code>/activities.ics", public.ical, name="ical"),
        path("calendar/<str:code>/rss/", public.feed, name="rss"),
        path("a/<int:pk>/", public.gathering, name="gathering"),
        path("a/<int:pk>/signup/", public.signup, name="signup"),
        path("a/<int:pk>/cancel/", public.signup_cancel, name="signup_cancel"),
        path("a/<int:pk>/checkin/<str:code>/", public.check_in, name="check_in"),
        path("a/<int:pk>/checkout/", public.check_out, name="check_out"),
    ],
    "calendar",
)

# The organizer's pages (staff, or a resident who organizes), and the venues.
organizer_patterns = (
    [
        path("venues/", views.venues, name="venues"),
        path("a/<int:pk>/roster/", organizer.roster, name="roster"),
        path("a/<int:pk>/code/", organizer.code, name="code"),
        path("a/<int:pk>/attendance/<int:signup_pk>/", organizer.attendance, name="attendance"),
        path("a/<int:pk>/leave/<int:signup_pk>/", organizer.leave, name="leave"),
        path("a/<int:pk>/attendance/confirm/", organizer.confirm_claims, name="confirm_claims"),
        path("a/<int:pk>/add/", organizer.add, name="add"),
        path("a/<int:pk>/sheet/", organizer.sheet, name="sheet"),
        path("a/<int:pk>/sheet/<int:page>.jpg", organizer.sheet_photo, name="sheet_photo"),
    ],
    "gatherings",
)
