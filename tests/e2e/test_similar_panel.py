"""The similar-projects panel of the registration form while the user types (static/js/similar.js).

1. Typing key by key sends a check when typing pauses, not one per key, and the panel shows the
   answer for the text typed last.
2. An older answer that arrives late never replaces the answer for the latest text.
"""

from __future__ import annotations

import contextlib
import json

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.e2e.conftest import ocr_portfolio, sign_in
from tests.factories import ProjectFactory, member_of

pytestmark = pytest.mark.django_db(transaction=True)

SIMILAR = "**/api/v1/projects/similar/"


@pytest.fixture
def ocr_project():
    home, _, existing = ocr_portfolio()
    ProjectFactory(business_unit=home, name="Chatbot for citizen questions", stage="pilot")
    member_of(home, username="nina")
    return existing


def rendered_drafts(page) -> list[dict[str, str]]:
    return page.evaluate("window.__rendered")


RECORD_RENDERS = """
window.__rendered = [];
document.addEventListener("similar:rendered", (event) => {
  window.__rendered.push(event.detail.draft);
});
"""


def test_typing_sends_a_check_per_pause_and_shows_the_answer_for_the_final_text(page, ocr_project):
    page.add_init_script(RECORD_RENDERS)
    sent: list[dict[str, str]] = []
    page.on(
        "request",
        lambda request: (
            sent.append(json.loads(request.post_data or "{}"))
            if request.method == "POST" and request.url.endswith("/api/v1/projects/similar/")
            else None
        ),
    )
    sign_in(page, "nina")
    page.goto("/projects/new/")
    text = "Optical character recognition of scanned invoices"
    page.click("#id_name")
    page.keyboard.type(text, delay=10)

    panel = page.locator("#similar-panel")
    panel.get_by_text(ocr_project.name).wait_for(timeout=15000)
    page.wait_for_function(
        "(text) => window.__rendered.some((draft) => draft.name === text)", arg=text
    )
    assert 1 <= len(sent) < len(text) // 4
    assert sent[-1]["name"] == text
    assert rendered_drafts(page)[-1]["name"] == text
    assert page.console_errors == []


def test_an_older_answer_arriving_late_does_not_replace_the_latest(page, ocr_project):
    page.add_init_script(RECORD_RENDERS)
    held = []

    def handle(route):
        draft = json.loads(route.request.post_data or "{}")
        if draft.get("name") == "Chatbot answering":
            held.append(route)  # the first check: answered later, after the second one
        else:
            route.continue_()

    page.route(SIMILAR, handle)
    sign_in(page, "nina")
    page.goto("/projects/new/")
    page.fill("#id_name", "Chatbot answering")
    for _ in range(300):
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the first check was never sent"
    page.fill("#id_name", "Invoice OCR for scanned invoices")
    panel = page.locator("#similar-panel")
    panel.get_by_text(ocr_project.name).wait_for(timeout=15000)

    stale = {
        "results": [
            {
                "project": {"id": 1, "name": "Stale answer", "stage": "pilot"},
                "score": 0.9,
                "grade": "duplicate",
                "reasons": [],
            }
        ]
    }
    # The page has aborted that request already; answering it may fail, which is fine.
    with contextlib.suppress(PlaywrightError):
        held[0].fulfill(status=200, content_type="application/json", body=json.dumps(stale))
    # Let the late answer reach the page, were it still listened to.
    page.wait_for_timeout(500)
    assert panel.get_by_text("Stale answer").count() == 0
    assert panel.get_by_text(ocr_project.name).is_visible()
    assert [draft["name"] for draft in rendered_drafts(page)] == [
        "Invoice OCR for scanned invoices"
    ]
