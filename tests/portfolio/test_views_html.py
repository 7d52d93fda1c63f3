"""Every page of the web app, for every role that can open it: no inline script, no inline event
handler, nothing from another origin, and the accessibility basics (language, landmarks, skip
link, one h1, a label for every control, unique ids)."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

import pytest
from django.test import Client

from portfolio import services
from portfolio.models import ImportJob, Project
from tests.factories import ProjectFactory, ToolFactory

pytestmark = pytest.mark.django_db

CONTROLS = {"input", "select", "textarea"}
UNLABELLED_INPUT_TYPES = {"hidden", "submit", "button", "reset", "image"}


class PageAudit(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.ids: Counter[str] = Counter()
        self.label_targets: set[str] = set()
        self.controls: list[tuple[str, dict[str, str | None], bool]] = []
        self.label_depth = 0
        self.h1 = 0
        self.lang = None
        self.main_ids: list[str | None] = []
        self.skip_link = False
        self.scripts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        for name, value in attrs:
            if name.lower().startswith("on"):
                self.problems.append(f"inline event handler {name}= on <{tag}>")
            if name in {"href", "src", "action", "formaction"} and value:
                lowered = value.strip().lower()
                if lowered.startswith("javascript:"):
                    self.problems.append(f"javascript: URL on <{tag}>")
                if lowered.startswith(("http://", "https://", "//")):
                    self.problems.append(f"other origin {value} on <{tag}>")
        if attributes.get("id"):
            self.ids[attributes["id"]] += 1
        if tag == "html":
            self.lang = attributes.get("lang")
        elif tag == "script":
            src = attributes.get("src")
            if not src and attributes.get("type") != "application/json":
                self.problems.append("inline <script> without src")
            self.scripts.append(src or "")
        elif tag == "main":
            self.main_ids.append(attributes.get("id"))
        elif tag == "h1":
            self.h1 += 1
        elif tag == "a" and attributes.get("href") == "#main":
            self.skip_link = True
        elif tag == "label":
            self.label_depth += 1
            if attributes.get("for"):
                self.label_targets.add(attributes["for"])
        elif tag in CONTROLS:
            if tag == "input" and attributes.get("type") in UNLABELLED_INPUT_TYPES:
                return
            self.controls.append((tag, attributes, self.label_depth > 0))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth = max(0, self.label_depth - 1)

    def audit(self) -> list[str]:
        problems = list(self.problems)
        if not self.lang:
            problems.append("no lang on <html>")
        if self.main_ids != ["main"]:
            problems.append(f"expected one <main id=main>, got {self.main_ids}")
        if not self.skip_link:
            problems.append("no skip link to #main")
        if self.h1 != 1:
            problems.append(f"{self.h1} <h1> elements")
        duplicates = [i for i, n in self.ids.items() if n > 1]
        if duplicates:
            problems.append(f"duplicate ids {duplicates}")
        for tag, attributes, wrapped in self.controls:
            named = (
                wrapped
                or attributes.get("id") in self.label_targets
                or attributes.get("aria-label")
                or attributes.get("aria-labelledby")
            )
            if not named:
                problems.append(f"<{tag} name={attributes.get('name')}> has no label")
        return problems


def audit(html: str) -> PageAudit:
    parser = PageAudit()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture
def pages(member, lead, unit, other_unit):
    """One example of every page, with content in it."""
    tool = ToolFactory(name="Westlaw Edge")
    project = services.project_register(
        actor=member,
        data={"name": "Letter summariser", "business_unit": unit, "problem": "Letters."},
    )
    project.tools.add(tool)
    project = services.project_update(
        actor=member, project=project, expected_version=1, data={"stage": Project.Stage.PILOT}
    )
    ProjectFactory.create_batch(3, business_unit=other_unit)
    running = ImportJob.objects.create(
        format="omb-2023", original_name="a.csv", content=b"x", status="running", total_rows=4
    )
    finished = ImportJob.objects.create(
        format="omb-2023",
        original_name="b.csv",
        content=b"x",
        status="succeeded",
        report={
            "created": 1,
            "updated": 0,
            "unchanged": 0,
            "rejected": 1,
            "errors": [{"row": 3, "reason": "No title."}],
        },
    )
    return {"project": project, "running": running, "finished": finished}


def urls_for(pages: dict) -> dict[str, list[str]]:
    p, running, finished = pages["project"], pages["running"], pages["finished"]
    everyone = [
        "/",
        "/projects/",
        "/projects/?stage=pilot&ordering=-name",
        "/projects/?q=nothing-matches-this",
        "/projects/ours/",
        f"/projects/{p.pk}/",
    ]
    editors = [*everyone, "/projects/new/", f"/projects/{p.pk}/edit/"]
    return {
        "member": editors,
        "lead": editors,
        "executive": everyone,
        "reviewer": [
            *editors,
            "/import/",
            f"/import/{running.pk}/",
            f"/import/{finished.pk}/",
        ],
        "admin_user": [*editors, "/import/"],
    }


@pytest.mark.parametrize("role", ["member", "lead", "executive", "reviewer", "admin_user"])
def test_every_page_is_csp_clean_and_accessible(client: Client, request, role, pages):
    client.force_login(request.getfixturevalue(role))
    for url in urls_for(pages)[role]:
        response = client.get(url)
        assert response.status_code == 200, url
        page = audit(response.content.decode())
        assert page.audit() == [], url
        assert "/static/js/maestro.js" in page.scripts, url
        assert not any("plotly" in src for src in page.scripts), url


def test_error_pages_and_forms_with_errors_are_clean(client: Client, member, pages, other_unit):
    project = pages["project"]
    hidden = ProjectFactory(business_unit=other_unit, visibility=Project.Visibility.RESTRICTED)
    client.force_login(member)
    responses = {
        "form errors": client.post("/projects/new/", {"name": "", "action": "register"}),
        "conflict": client.post(
            f"/projects/{project.pk}/edit/",
            {
                "name": "Mine",
                "business_unit": project.business_unit_id,
                "stage": "idea",
                "visibility": "organisation",
                "version": 1,
            },
        ),
        "not found": client.get(f"/projects/{hidden.pk}/"),
        "forbidden": client.get("/import/"),
    }
    assert [r.status_code for r in responses.values()] == [200, 409, 404, 403]
    for name, response in responses.items():
        assert audit(response.content.decode()).audit() == [], name


def test_sign_in_page_is_clean(client: Client):
    assert audit(client.get("/accounts/login/").content.decode()).audit() == []


def test_import_form_with_errors_is_clean(client: Client, reviewer, monkeypatch):
    import sys
    import types

    try:
        from portfolio.importers import FORMATS  # noqa: F401
    except ImportError:
        stub = types.ModuleType("portfolio.importers")
        stub.FORMATS = {"omb-2023": "Federal inventory 2023"}
        monkeypatch.setitem(sys.modules, "portfolio.importers", stub)
    client.force_login(reviewer)
    response = client.post("/import/", {"format": "omb-2023"})
    assert response.status_code == 200
    assert audit(response.content.decode()).audit() == []
