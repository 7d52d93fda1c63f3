"""Browser tests: Playwright driving Debian's Chromium against a live Django server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("MAESTRO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the
    # test itself (fixtures, assertions) are still synchronous and safe here.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, base_url=live_server.url)
    page = context.new_page()
    page.console_errors = []
    page.on(
        "console",
        lambda message: (
            page.console_errors.append(message.text) if message.type == "error" else None
        ),
    )
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.on(
        "response",
        lambda response: (
            page.console_errors.append(f"{response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    )
    yield page
    context.close()


def sign_in(page, username: str, password: str = "correct-horse-battery") -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def ocr_portfolio(**existing: object) -> tuple[object, object, object]:
    """A tax office registering, and a permits office that already runs invoice OCR: the
    similar project the journeys and the panel's tests expect to appear while typing.
    Returns (home unit, other unit, the existing OCR project)."""
    from tests.factories import BusinessUnitFactory, ProjectFactory

    home = BusinessUnitFactory(code="TAX", name="Tax office")
    elsewhere = BusinessUnitFactory(code="PERMITS", name="Permits office")
    project = ProjectFactory(
        business_unit=elsewhere,
        name="Invoice OCR digitisation",
        problem="Scanned paper invoices are typed in by hand. Optical character recognition "
        "reads the scanned invoices and extracts supplier, amount and date.",
        stage="production",
        **existing,
    )
    return home, elsewhere, project
