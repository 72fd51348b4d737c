"""The display theme: ISA-101 grey for normal states, a dark variant, kept per browser."""

from __future__ import annotations

import pytest

from tests.pages.conftest import screenshot, wait_loaded

pytestmark = pytest.mark.e2e

ROUTES = ["/", "/trend?tag=D200&window=24h", "/tech?tag=D200&window=24h", "/comm?tag=D100"]

# computed colours as [r, g, b] (getComputedStyle gives rgb(...) / rgba(...))
RGB_JS = """(el, prop) => getComputedStyle(el)[prop].match(/\\d+(\\.\\d+)?/g).slice(0, 3).map(Number)"""


def chroma(rgb) -> float:
    """max - min of the channels: 0 for a grey, large for a saturated colour."""
    return max(rgb) - min(rgb)


def luminance(rgb) -> float:
    return (0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2]) / 255


def colour(page, selector: str, prop: str):
    return page.eval_on_selector(selector, RGB_JS, prop)


def test_normal_states_are_grey_and_abnormal_ones_coloured(seeded_app, page):
    page.goto(f"{seeded_app.url}/?window=24h")
    wait_loaded(page)
    page.wait_for_selector("[data-testid=kpi-tile]")
    tones = page.eval_on_selector_all("[data-testid=kpi-tile]", "els => els.map(e => e.dataset.tone)")
    normal = [t for t in tones if t == "normal"]
    assert normal, f"the seeded data has a normal tile: {tones}"
    # ISA-101: a normal state is not green (nor any colour): grey
    assert chroma(colour(page, "[data-testid=kpi-tile][data-tone=normal]", "borderTopColor")) < 24
    assert chroma(colour(page, "[data-testid=db-status] .dot", "backgroundColor")) < 24
    # direction of change carries no colour either
    assert chroma(colour(page, "[data-testid=kpi-delta]", "color")) < 24
    # abnormal states keep a saturated colour (the classes the pages use for them)
    for cls in ("alarm-warn", "alarm-crit", "badge-stale"):
        page.evaluate("c => { const s = document.createElement('span'); s.className = 'badge ' + c;"
                      " s.id = 'probe-' + c; s.textContent = c; document.querySelector('main').append(s); }", cls)
        assert chroma(colour(page, f"#probe-{cls}", "color")) > 60, cls


def test_dark_switch_is_kept_by_the_browser(seeded_app, page):
    page.goto(f"{seeded_app.url}/?window=24h")
    wait_loaded(page)
    assert page.get_attribute("[data-testid=app]", "data-theme") == "light"
    assert luminance(colour(page, "[data-testid=app]", "backgroundColor")) > 0.7
    page.click("[data-testid=theme-switch]")
    page.wait_for_selector("[data-testid=app][data-theme=dark]")
    assert luminance(colour(page, "[data-testid=app]", "backgroundColor")) < 0.2
    assert luminance(colour(page, "main", "color")) > 0.7
    assert page.evaluate("localStorage.getItem('ksys-theme')") == "dark"
    # the choice belongs to the browser: a reload and the other pages open dark
    for route in ROUTES:
        page.goto(seeded_app.url + route)
        # ksys.js puts the stored choice on <html> when the page mounts
        page.wait_for_function("document.documentElement.dataset.theme === 'dark'")
        wait_loaded(page)
        page.wait_for_selector("[data-testid=app][data-theme=dark]")
        assert luminance(colour(page, "[data-testid=app]", "backgroundColor")) < 0.2
        name = route.strip("/").split("?")[0] or "dashboard"
        page.wait_for_timeout(600)  # let the chart draw for the screenshot
        screenshot(page, f"theme_dark_{name}")
    page.click("[data-testid=theme-switch]")
    page.wait_for_selector("[data-testid=app][data-theme=light]")
    assert luminance(colour(page, "[data-testid=app]", "backgroundColor")) > 0.7
    assert page.evaluate("document.documentElement.dataset.theme") == "light"


def test_an_unknown_stored_theme_is_ignored(seeded_app, page):
    page.goto(f"{seeded_app.url}/")
    page.evaluate("localStorage.setItem('ksys-theme', 'x onmouseover=alert(1)')")
    page.reload()
    wait_loaded(page)
    page.wait_for_selector("[data-testid=app][data-theme=light]")
    assert page.get_attribute("[data-testid=app]", "class") == "app theme-light"


# Records <html data-theme> when the parser inserts <body>: after <head>, before anything is
# painted (and before React, or assets/ksys.js, which React puts into the page, has run).
_THEME_AT_BODY_JS = """
(() => {
  try { localStorage.setItem('ksys-theme', 'dark'); } catch (e) { return; }
  const obs = new MutationObserver(() => {
    if (document.body && window.__themeAtBody === undefined) {
      window.__themeAtBody = document.documentElement.getAttribute('data-theme') || 'none';
      window.__reactRan = !!document.querySelector('script[src$="/ksys.js"]');
      obs.disconnect();
    }
  });
  obs.observe(document, {childList: true, subtree: true});
})();
"""


def test_a_stored_dark_theme_is_on_before_the_first_paint(seeded_app, browser):
    """A browser that chose dark gets it before the page is painted: the theme script is in
    every exported page's <head> (ops/runtime/frontend.THEME_SCRIPT), where the assets'
    ksys.js only arrives once React runs, after a white first paint."""
    context = browser.new_context(viewport={"width": 800, "height": 480})
    context.add_init_script(_THEME_AT_BODY_JS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))  # a hydration error (#418) included
    try:
        for route in ("/", "/trend?tag=D100", "/alarms"):
            page.goto(seeded_app.url + route)
            assert page.evaluate("window.__themeAtBody") == "dark", route
            assert page.evaluate("window.__reactRan") is False, route  # it was the head's script
            wait_loaded(page)
            page.wait_for_selector("[data-testid=app][data-theme=dark]")
            assert luminance(colour(page, "[data-testid=app]", "backgroundColor")) < 0.2
            # the script removed itself before React hydrated <head>
            assert page.locator("head script:not([src])").evaluate_all(
                "els => els.filter(e => e.textContent.includes('ksys-theme')).length") == 0
        assert errors == []
    finally:
        context.close()
