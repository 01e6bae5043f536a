"""Real headless Chromium, driven through Playwright, against pytest-django's live server.

The browser is Debian's `chromium` package (EVQC_CHROMIUM names another binary), never
one Playwright downloads; without it the browser tests are skipped and say what to
install. One browser serves the whole session; each test gets a fresh context (no
cookies) and a page that fails the test on a console error, an uncaught script error, a
failed request or a server error from the live server, or a request that leaves it.
Screenshots go to EVQC_SCREENSHOT_DIR, by default `<DJANGO_DATA_DIR>/screenshots/`.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Response,
    expect,
    sync_playwright,
)

from batches.models import Batch
from tests.api import conftest as api

site = api.site
batches = api.batches
PASSWORD = api.PASSWORD

CHROMIUM_PACKAGES = "chromium chromium-driver"
# Headless and offline: no sandbox (CI runs as root in a container), no GPU, and none of
# the browser's own traffic (updates, sync, safe browsing, field trials, first-run pages).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    "--disable-client-side-phishing-detection",
    "--disable-field-trial-config",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--no-pings",
    "--password-store=basic",
]
# A tablet on the lab bench, held in landscape.
VIEWPORT = {"width": 1024, "height": 768}
# How long `expect(...)` waits for the page to show what a test looks for.
expect.set_options(timeout=10_000)


def chromium_path() -> Path:
    return Path(os.environ.get("EVQC_CHROMIUM") or "/usr/bin/chromium")


def screenshot_dir() -> Path:
    return Path(os.environ.get("EVQC_SCREENSHOT_DIR") or settings.DATA_DIR / "screenshots")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run after every other test of the session: the session's browser
    (and the event loop Playwright keeps running in the test thread, see `browser`) then
    lives only while they run."""
    items[:] = sorted(items, key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    path = chromium_path()
    if not path.is_file():
        pytest.skip(
            f"no Chromium at {path}: install Debian's {CHROMIUM_PACKAGES} packages "
            f"(apt-get install {CHROMIUM_PACKAGES}) or set EVQC_CHROMIUM to a Chromium binary"
        )
    # Playwright's sync API keeps an asyncio event loop running in the test thread while
    # the browser is open, and Django refuses ORM calls from a thread with a running loop
    # (SynchronousOnlyOperation), which the tests' set-up, waits and database flushes all
    # make. No coroutine of ours runs in that loop, so the check is off for exactly as
    # long as Playwright runs: the browser tests, which run last.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Watch:
    """What went wrong in the browser during a test, as lines for its failure message."""

    origin: str
    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow_console_error(self, pattern: str) -> None:
        """Let console errors matching `pattern` pass: the browser logs one for a page the
        test means to be refused (a 404, say)."""
        self.allowed.append(re.compile(pattern))

    def console(self, message: ConsoleMessage) -> None:
        url = message.location["url"]
        if message.type != "error" or any(p.search(message.text) for p in self.allowed):
            return
        if url == f"{self.origin}/favicon.ico":
            return  # Chromium asks for one on its own, and the portal has none (yet)
        self.problems.append(f"console error at {url}: {message.text}")

    def page_error(self, error: Error) -> None:
        self.problems.append(f"uncaught script error: {error.message}")

    def request(self, request: Request) -> None:
        if not request.url.startswith((self.origin + "/", "data:", "blob:", "about:")):
            self.problems.append(f"request left the live server: {request.method} {request.url}")

    def request_failed(self, request: Request) -> None:
        if request.url.startswith(self.origin + "/"):
            self.problems.append(
                f"request failed: {request.method} {request.url}: {request.failure}"
            )

    def response(self, response: Response) -> None:
        if response.url.startswith(self.origin + "/") and response.status >= 500:
            self.problems.append(f"server error {response.status}: {response.url}")


@pytest.fixture
def watch(live_server) -> Watch:
    return Watch(origin=live_server.url)


@pytest.fixture
def page(browser: Browser, live_server, watch: Watch) -> Iterator[Page]:
    """A fresh browser context (no cookies) on the live server, watched for problems."""
    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale="en-GB")
    page = context.new_page()
    page.on("console", watch.console)
    page.on("pageerror", watch.page_error)
    context.on("request", watch.request)
    context.on("requestfailed", watch.request_failed)
    context.on("response", watch.response)
    yield page
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail a browser test that passed its assertions if the browser saw a problem."""
    result = yield
    funcargs: dict[str, Any] = getattr(item, "funcargs", {})
    page, watch = funcargs.get("page"), funcargs.get("watch")
    if isinstance(page, Page) and isinstance(watch, Watch):
        if not page.is_closed():
            page.evaluate("0")  # a round trip: events the page sent before it are handled
        if watch.problems:
            pytest.fail("the browser saw:\n" + "\n".join(watch.problems), pytrace=False)
    return result


def screenshot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save the whole page (or, with `full_page=False`, what the viewport shows) as
    `<screenshot dir>/<name>.png`."""
    folder = screenshot_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=path, full_page=full_page)
    return path


def sign_in(page: Page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the login form, as a person does, and land on the dashboard."""
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Dashboard", level=1)).to_be_visible()


def wait_for(condition: Callable[[], object], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def lab_batches(celery_worker, batches) -> dict[str, Batch]:
    """Lab A's batches and lab B's (tests/api/conftest.py), once the real worker has done
    the checks their import asked for: pages then show settled gaps, and no task is left
    running when the test's database is emptied."""
    assert wait_for(lambda: not Batch.objects.filter(check_pending=True).exists())
    return batches
