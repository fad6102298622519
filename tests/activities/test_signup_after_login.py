"""A resident who taps 报名 while signed out signs in by SMS code and lands back on the
activity, one tap from the sign-up; the way back is only ever to this site."""

import re

from django.test import Client

from jiceng.gatherings.models import SignUp


def _hidden_next(html: str) -> str:
    return re.search(r'name="next" value="([^"]*)"', html).group(1).replace("&amp;", "&")


def test_the_signup_intent_survives_the_sms_login(
    make_activity, team, sms, django_capture_on_commit_callbacks
):
    activity = make_activity("signup", team=team)
    phone = Client()
    page = phone.get(f"/a/{activity.gathering_id}/").content.decode()
    assert "我要报名" in page
    form = re.search(r'<form method="post" action="/a/\d+/signup/">.*?</form>', page, re.S).group(0)

    # Signed out, the tap leads to the sign-in, which knows where to come back to.
    tapped = phone.post(f"/a/{activity.gathering_id}/signup/", {"next": _hidden_next(form)})
    assert tapped.status_code == 302 and tapped["Location"].startswith("/me/login/?next=")
    login = phone.get(tapped["Location"]).content.decode()
    back = _hidden_next(login)
    assert back.startswith(f"/a/{activity.gathering_id}/")

    with django_capture_on_commit_callbacks(execute=True):
        phone.post("/me/login/", {"phone": "13900005555", "step": "send", "next": back})
    code = re.search(r"验证码为 (\d{6})", sms[-1][1]).group(1)
    signed_in = phone.post(
        "/me/login/", {"phone": "13900005555", "code": code, "step": "verify", "next": back}
    )
    assert signed_in.status_code == 302 and signed_in["Location"] == back

    landed = phone.get(back).content.decode()
    assert "确认报名" in landed  # one tap from it
    assert not SignUp.objects.exists()
    phone.post(f"/a/{activity.gathering_id}/signup/")
    assert SignUp.objects.get().status == SignUp.Status.CONFIRMED


def test_the_way_back_after_signing_in_stays_on_this_site(make_activity, team):
    activity = make_activity("signup", team=team)
    tapped = Client().post(
        f"/a/{activity.gathering_id}/signup/", {"next": "https://evil.example/x"}
    )
    assert tapped.status_code == 302
    assert "evil.example" not in tapped["Location"]
