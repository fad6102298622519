"""Browser tests: a real Chromium (Debian's package) driven by Playwright against a live
server. Run with `make test-browser`; `make test` leaves them out.

Every page any test opens, in any browser context, is checked on load for horizontal
overflow (a document wider than the phone's viewport); a test that met one fails.

They run with the second factor on: the world's staff hold an authenticator with a known
secret (tests.factories.TOTP_SECRET), and `second_factor` types what it shows; an account
made during a test enrols on its first sign-in from the secret its page shows."""

import os
import re
from pathlib import Path

import pyotp
import pytest

CHROMIUM = os.environ.get("JICENG_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}  # the narrowest phones still in use

WIDTHS = "[document.documentElement.scrollWidth, window.innerWidth]"
# A phone (is_mobile) zooms out to show a page wider than the screen, and window.innerWidth
# then grows with it: the viewport's configured width is the measure as well.
_overflows: list[str] = []


def assert_fits(page) -> None:
    """The page is no wider than its viewport (a wide table scrolls inside its own box)."""
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    width = page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size["width"]
    assert fits and width <= screen, f"{page.url} is {width}px wide on a {screen}px screen"


def _check_on_load(page) -> None:
    from playwright.sync_api import Error

    try:
        width, viewport = page.evaluate(WIDTHS)
    except Error:  # navigated on before the check: the next page's load is checked
        return
    screen = page.viewport_size["width"]
    if width > min(viewport, screen):
        _overflows.append(f"{page.url}: {width}px on a {screen}px screen")


def _watched(page):
    page.on("load", lambda: _check_on_load(page))
    return page


@pytest.fixture(autouse=True)
def _no_page_overflows():
    """Fails the test if any page it loaded was wider than the viewport."""
    _overflows.clear()
    yield
    found, _overflows[:] = list(_overflows), []
    assert found == [], "pages wider than the phone's viewport"


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(__file__).parent in Path(item.fspath).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(autouse=True)
def _second_factor_on(test_settings, settings):
    settings.JICENG_SECOND_FACTOR = True


@pytest.fixture
def world(world):
    """The shared world, each of its staff with an authenticator enrolled."""
    from tests.factories import enrol

    for user in [*world.users_a.values(), *world.users_b.values()]:
        enrol(user)
    return world


def second_factor(page, username: str) -> None:
    """After the password: the code the account's authenticator shows, if its role asks
    for one; an account without one enrols first (from the secret on the page) and passes
    the recovery codes it is shown."""
    from playwright.sync_api import expect

    from jiceng.accounts.models import SecondFactor, User
    from jiceng.core import step_up
    from tests.factories import totp_code

    user = User.objects.get(username=username)
    if not step_up.needed(user):
        return
    expect(page.get_by_role("heading", name=re.compile("动态口令"))).to_be_visible()
    if SecondFactor.objects.filter(user=user, confirmed_at__isnull=False).exists():
        page.get_by_label("动态口令").fill(totp_code(user))
        page.get_by_role("button", name="验证").click()
        return
    secret = page.locator("#totp-secret").inner_text().replace(" ", "")
    page.get_by_label("动态口令").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认绑定").click()
    expect(page.get_by_role("heading", name="动态口令已绑定")).to_be_visible()
    page.get_by_role("link", name="我已保存，继续").click()


@pytest.fixture(autouse=True)
def _reference_data(reference_data):
    """Live-server tests empty the database after each test, migration data included."""


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls in the tests
    # are still plain synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (install Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        open_context = browser.new_context

        def new_context(*args, **kwargs):
            context = open_context(*args, **kwargs)
            open_page = context.new_page
            context.new_page = lambda: _watched(open_page())
            return context

        browser.new_context = new_context
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, live_server):
    context = browser.new_context(
        viewport=PHONE, is_mobile=True, has_touch=True, locale="zh-CN", base_url=live_server.url
    )
    page = context.new_page()
    yield page
    context.close()
