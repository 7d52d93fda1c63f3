"""Accessibility and layout in a real browser, on every page of each kind of user.

- WCAG AA contrast: every visible text has a contrast ratio against its background of at least
  4.5 (3 for large text), computed from the rendered colours.
- Keyboard: the first Tab reaches the skip link, which moves focus to the main content; Tab
  reaches every link of the main navigation, each focused element is visible and shows a focus
  indicator.
- Forms: every visible field has a label (or an accessible name).
- Laptop and tablet: at 1366 x 768 and at 768 x 1024 no page scrolls sideways (wide tables
  scroll inside their own container).
"""

from __future__ import annotations

import pytest

from governance import metrics_services
from tests.e2e.conftest import sign_in
from tests.factories import (
    BusinessUnitFactory,
    GoalAlignmentFactory,
    ProjectFactory,
    member_of,
    user_with_role,
)

pytestmark = pytest.mark.django_db(transaction=True)

LAPTOP = {"width": 1366, "height": 768}
TABLET = {"width": 768, "height": 1024}

PAGES = {
    "lead": ["/", "/projects/", "/projects/ours/", "/projects/new/"],
    "reviewer": [
        "/governance/",
        "/import/",
        "/governance/reviews/",
        "/governance/overlaps/",
        "/governance/compliance/",
        "/governance/tools/",
    ],
    "executive": ["/", "/governance/executive/", "/projects/"],
}

# Contrast of every visible text node's element against its effective background (the first
# opaque background up the tree, translucent ones blended in). Text inside charts is checked by
# the palette choice, not here; disabled controls are exempt (WCAG 1.4.3).
CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = c && c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(',').map((s) => parseFloat(s));
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const blend = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const channel = (v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
  };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const s = getComputedStyle(e);
      if (s.backgroundImage && s.backgroundImage !== 'none') return null;
      const c = parse(s.backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg;
  };
  const bad = [];
  let checked = 0;
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el)) continue;
    seen.add(el);
    const skipped = 'svg, .js-plotly-plot, script, style, noscript, [hidden], [aria-hidden="true"]';
    if (el.closest(skipped)) continue;
    if (el.closest(':disabled')) continue;
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) continue;
    const s = getComputedStyle(el);
    if (s.visibility === 'hidden' || s.display === 'none') continue;
    const fg = parse(s.color);
    const bg = background(el);
    if (!fg || !bg) continue;
    const L1 = luminance(blend(fg, bg));
    const L2 = luminance(bg);
    const ratio = (Math.max(L1, L2) + 0.05) / (Math.min(L1, L2) + 0.05);
    const size = parseFloat(s.fontSize);
    const large = size >= 24 || (parseInt(s.fontWeight, 10) >= 700 && size >= 18.66);
    checked += 1;
    if (ratio < (large ? 3 : 4.5) - 0.005) {
      const cls = el.className ? '.' + String(el.className).trim() : '';
      const where = el.tagName.toLowerCase() + cls;
      bad.push(`${where} "${node.textContent.trim().slice(0, 40)}": ${ratio.toFixed(2)}`);
    }
  }
  return { checked, bad };
}
"""

FOCUSED_JS = """
() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const r = e.getBoundingClientRect();
  return {
    tag: e.tagName.toLowerCase(),
    href: e.getAttribute('href'),
    cls: String(e.className || ''),
    visible: r.width > 0 && r.height > 0 && s.visibility !== 'hidden',
    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
    shadow: s.boxShadow !== 'none',
    name: (e.getAttribute('aria-label') || e.innerText || e.value || '').trim().slice(0, 40),
  };
}
"""

UNLABELLED_JS = """
() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter((f) => f.type !== 'hidden' && f.type !== 'submit' && f.type !== 'button')
  .filter((f) => { const r = f.getBoundingClientRect(); return r.width > 0 && r.height > 0; })
  .filter((f) => !(f.labels && f.labels.length) && !f.getAttribute('aria-label')
                 && !f.getAttribute('aria-labelledby') && !f.getAttribute('title'))
  .map((f) => f.name || f.id || f.outerHTML.slice(0, 60))
"""

OVERFLOW_JS = """
() => ({ scroll: document.documentElement.scrollWidth, view: document.documentElement.clientWidth })
"""


@pytest.fixture
def users():
    """Two units with look-alike projects, metrics computed; a lead, a reviewer, an executive."""
    home = BusinessUnitFactory(code="TAX", name="Tax office")
    other = BusinessUnitFactory(code="PERMITS", name="Permits office")
    for i in range(8):
        project = ProjectFactory(
            business_unit=home if i % 2 else other,
            name=f"Invoice OCR digitisation {i}",
            problem="Scanned paper invoices are typed in by hand; character recognition "
            "reads them and extracts supplier, amount and date.",
            stage="production" if i % 3 else "pilot",
            annual_cost=10000 * (i + 1),
        )
        if i % 2:
            GoalAlignmentFactory(project=project)
    metrics_services.metrics_compute()
    member_of(home, role="lead", username="lena")
    user_with_role("reviewer", username="rita")
    user_with_role("executive", username="eddie")
    return {"lead": "lena", "reviewer": "rita", "executive": "eddie"}


def _open(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status == 200, path
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("role", list(PAGES))
def test_text_contrast_meets_wcag_aa(page, users, role):
    sign_in(page, users[role])
    for path in PAGES[role]:
        _open(page, path)
        result = page.evaluate(CONTRAST_JS)
        assert result["checked"] > 10, f"{path}: too little text checked ({result['checked']})"
        assert result["bad"] == [], f"{path}: text below the WCAG AA contrast ratio"


@pytest.mark.parametrize("role", list(PAGES))
def test_fields_have_labels(page, users, role):
    sign_in(page, users[role])
    for path in PAGES[role]:
        _open(page, path)
        assert page.evaluate(UNLABELLED_JS) == [], f"{path}: fields without a label"


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
@pytest.mark.parametrize("role", list(PAGES))
def test_no_page_scrolls_sideways(page, users, role, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, users[role])
    for path in PAGES[role]:
        _open(page, path)
        width = page.evaluate(OVERFLOW_JS)
        assert width["scroll"] <= width["view"] + 1, f"{path} at {viewport}: {width}"
    assert page.console_errors == []


@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_keyboard_reaches_skip_link_navigation_and_shows_focus(page, users, viewport):
    page.set_viewport_size(viewport)
    sign_in(page, users["reviewer"])
    _open(page, "/governance/")
    nav_links = set(
        page.eval_on_selector_all(".main-nav a", "links => links.map(a => a.getAttribute('href'))")
    )
    assert len(nav_links) >= 4

    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED_JS)
    assert first is not None and "skip-link" in first["cls"] and first["visible"]
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    _open(page, "/governance/")
    reached: set[str] = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused is None:
            continue
        assert focused["visible"], f"focus on an invisible element: {focused}"
        assert focused["outline"] or focused["shadow"], f"no focus indicator: {focused}"
        if focused["href"] in nav_links:
            reached.add(focused["href"])
        if reached == nav_links:
            break
    assert reached == nav_links, f"not reached by Tab: {sorted(nav_links - reached)}"


def test_the_checks_catch_what_they_look_for(page, users):
    """The checks above are not vacuous: a grey-on-white text, an unlabelled field and a block
    wider than the screen, added to a real page, are each reported."""
    sign_in(page, users["reviewer"])
    _open(page, "/governance/")
    page.evaluate(
        """() => {
        const main = document.querySelector('main');
        main.insertAdjacentHTML('beforeend',
          '<p id="pale" style="color:#aaaaaa;background:#ffffff">Pale grey text</p>' +
          '<input id="nameless" type="text">' +
          '<div style="width:3000px;height:4px"></div>');
        }"""
    )
    assert any("Pale grey text" in line for line in page.evaluate(CONTRAST_JS)["bad"])
    assert "nameless" in page.evaluate(UNLABELLED_JS)
    width = page.evaluate(OVERFLOW_JS)
    assert width["scroll"] > width["view"] + 1
