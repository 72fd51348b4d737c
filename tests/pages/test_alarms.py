"""/alarms in Chromium over the seeded database, the app acting as eco_operator.

The seeded readings (tests/pages/conftest.py) put D100..D300 beyond their limits, so
after `ksys.run_alarms()` there are unacknowledged high and medium alarms. Operators
are rows of ksys.operators made here. Forged websocket events are real frames the
page sent, rewritten on their way to the server (Playwright's route_web_socket).
"""

from __future__ import annotations

import json
import re
import uuid

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from ksys_app.domain.operators import hash_password
from tests.pages.conftest import (
    SCREENSHOTS,
    SERVER_ENV,
    app_server,
    operator_dsn,
    screenshot,
    wait_loaded,
)
from tests.pages.layout_probe import sideways, small_targets, summarize

pytestmark = pytest.mark.e2e

PASSWORD = "correct horse 42"
OPERATORS = {"alice": "Alice Kim", "bob": "Bob Park"}
SIZES = {"pi": {"viewport": {"width": 800, "height": 480}, "has_touch": True},
         "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
         "desktop": {"viewport": {"width": 1366, "height": 768}}}


@pytest.fixture(scope="module")
def alarms_ready(seeded_app):
    with psycopg.connect(seeded_app.admin_dsn, autocommit=True) as conn:
        for _ in range(40):  # a tick works off at most a day of readings
            conn.execute("SELECT ksys.run_alarms()")
            if not conn.execute("SELECT count(*) FROM ksys.pending_ranges WHERE consumer = 'alarms'").fetchone()[0]:
                break
        for name, display in OPERATORS.items():
            conn.execute("INSERT INTO ksys.operators (name, display_name, password_hash) VALUES (%s, %s, %s) "
                         "ON CONFLICT (name) DO NOTHING", (name, display, hash_password(PASSWORD)))
    return seeded_app


def unack_counts(db) -> tuple[int, int]:
    rows = dict(db.execute("SELECT priority, count(*) FROM alarm_states WHERE state IN ('unack', 'rtn_unack') "
                           "GROUP BY priority").fetchall())
    return rows.get("high", 0), rows.get("medium", 0)


def wait_banner(page, db) -> tuple[int, int]:
    high, medium = unack_counts(db)
    page.wait_for_function(
        "([h, m]) => { const b = document.querySelector('[data-testid=alarm-banner]');"
        " return b && b.dataset.high === String(h) && b.dataset.medium === String(m); }",
        arg=[high, medium], timeout=15_000)
    return high, medium


def log_in(page, url: str, name: str = "alice", password: str = PASSWORD, next_path: str = "/alarms") -> None:
    page.goto(f"{url}/login?next={next_path}")
    wait_loaded(page)
    page.fill("[data-testid=login-name]", name)
    page.fill("[data-testid=login-password]", password)
    page.click("[data-testid=login-submit]")


def wait_logged_in(page, name: str = "alice") -> None:
    page.wait_for_selector(f"[data-testid=auth-operator][data-operator={name}]", timeout=15_000)


def action_message(page) -> str:
    page.wait_for_selector("[data-testid=action-message]", timeout=15_000)
    return page.inner_text("[data-testid=action-message-text]")


def first_row(page, selector: str, row_selector: str = "[data-testid=alarm-row]"):
    """The first alarm row that has this button, and its (tag, kind)."""
    row = page.locator(row_selector, has=page.locator(selector)).first
    return row, (row.get_attribute("data-tag"), row.get_attribute("data-kind"))


def state_of(db, tag: str, kind: str) -> str:
    return db.execute("SELECT state FROM alarm_states WHERE tag_name = %s AND kind = %s", (tag, kind)).fetchone()[0]


def actions_written(db) -> int:
    return db.execute("SELECT count(*) FROM ksys.alarm_actions").fetchone()[0]


def test_log_in_acknowledge_shelve_and_log_out(alarms_ready, page, db):
    url = alarms_ready.url
    page.goto(f"{url}/alarms")
    wait_loaded(page)
    page.wait_for_selector("[data-testid=alarm-row]")
    high, medium = wait_banner(page, db)
    assert high + medium > 0
    # not logged in: the list, no buttons, a line saying how to act
    assert page.locator("[data-testid=ack-btn]").count() == 0
    assert page.locator("[data-testid=login-hint]").is_visible()

    log_in(page, url)
    page.wait_for_url(re.compile(r"/alarms"))
    wait_logged_in(page)
    page.wait_for_selector("[data-testid=ack-btn]")
    page.reload()  # the browser keeps the session; the server checks it again
    wait_loaded(page)
    wait_logged_in(page)

    row, (tag, kind) = first_row(page, "[data-testid=ack-btn]")
    page.fill("[data-testid=alarm-note]", "checked the pump")
    page.wait_for_timeout(400)
    row.locator("[data-testid=ack-btn]").click()
    assert action_message(page) == "1 alarm acknowledged"
    assert state_of(db, tag, kind) in ("acked", "normal")

    page.select_option("[data-testid=shelve-for]", "15")
    row2, (tag2, kind2) = first_row(page, "[data-testid=shelve-btn]", "[data-testid=alarm-row][data-state=unack]")
    row2.locator("[data-testid=shelve-btn]").click()
    page.wait_for_function("document.querySelector('[data-testid=action-message-text]').innerText.includes('shelved')")
    assert page.inner_text("[data-testid=action-message-text]") == "1 alarm shelved for 15 min"
    assert state_of(db, tag2, kind2) == "shelved"
    page.wait_for_selector(f"[data-testid=alarm-row][data-tag={tag2}][data-kind={kind2}][data-state=shelved]")

    after = wait_banner(page, db)
    assert sum(after) == high + medium - 2

    # the journal: who did what, with the note
    page.wait_for_function("Array.from(document.querySelectorAll('[data-testid=journal-row]'))"
                           ".some(r => r.innerText.includes('checked the pump'))")
    texts = page.eval_on_selector_all("[data-testid=journal-row]", "rs => rs.map(r => r.innerText)")
    assert any("alice" in x and "acknowledged" in x and "checked the pump" in x and tag in x for x in texts)
    assert any("alice" in x and "shelved" in x and tag2 in x for x in texts)
    assert db.execute("SELECT operator, note FROM ksys.alarm_actions WHERE action = 'ack' AND tag_name = %s "
                      "AND kind = %s ORDER BY at DESC LIMIT 1", (tag, kind)).fetchone() == ("alice", "checked the pump")
    screenshot(page, "alarms_logged_in")

    # the banner follows on another page too, without a click
    page.goto(f"{url}/comm?tag=D100")
    wait_loaded(page)
    wait_banner(page, db)
    page.click("[data-testid=alarm-banner]")
    page.wait_for_url(re.compile(r"/alarms"))
    wait_loaded(page)

    token = page.evaluate("localStorage.getItem('ksys-operator-session')")
    assert token
    page.click("[data-testid=logout-btn]")
    page.wait_for_selector("[data-testid=login-link]")
    assert page.locator("[data-testid=ack-btn]").count() == 0
    open_sessions = db.execute("SELECT count(*) FROM ksys.operator_sessions WHERE token_sha256 = sha256(convert_to(%s, "
                               "'UTF8')) AND closed_at IS NULL", (token,)).fetchone()[0]
    assert open_sessions == 0


def test_a_wrong_password_or_unknown_name_gives_one_message_and_no_session(alarms_ready, page, db):
    before = db.execute("SELECT count(*) FROM ksys.operator_sessions").fetchone()[0]
    for name, password in (("bob", "not the password"), (f"nobody{uuid.uuid4().hex[:6]}", PASSWORD)):
        log_in(page, alarms_ready.url, name, password)
        page.wait_for_selector("[data-testid=login-message]")
        assert page.inner_text("[data-testid=login-message]") == "Unknown operator or wrong password"
        assert not page.evaluate("localStorage.getItem('ksys-operator-session')")
        assert page.locator("[data-testid=auth-operator]").count() == 0
    assert db.execute("SELECT count(*) FROM ksys.operator_sessions").fetchone()[0] == before
    # a name the domain refuses never reaches the database
    log_in(page, alarms_ready.url, "Robert'); DROP TABLE x;--", PASSWORD)
    # the message of the attempt before may still be up (the tab's state outlives the reload)
    page.wait_for_function("t => (document.querySelector('[data-testid=login-message]') || {}).innerText?.includes(t)",
                           arg="operator name is 1-32 characters")


def test_a_hostile_note_is_stored_and_shown_as_text(alarms_ready, page, db):
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script><b>bold</b>'
    log_in(page, alarms_ready.url)
    wait_logged_in(page)
    page.wait_for_selector("[data-testid=ack-btn]")
    row, (tag, kind) = first_row(page, "[data-testid=ack-btn]")
    page.fill("[data-testid=alarm-note]", hostile)
    page.wait_for_timeout(400)
    row.locator("[data-testid=ack-btn]").click()
    assert action_message(page).endswith("acknowledged")
    stored = db.execute("SELECT note FROM ksys.alarm_actions WHERE tag_name = %s AND kind = %s ORDER BY at DESC LIMIT 1",
                        (tag, kind)).fetchone()[0]
    assert stored == hostile
    page.wait_for_function("h => Array.from(document.querySelectorAll('[data-testid=journal-row] .note-cell'))"
                           ".some(c => c.innerText === h)", arg=hostile)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("[data-testid=journal-table] img, [data-testid=journal-table] script, "
                        "[data-testid=journal-table] .note-cell b").count() == 0


def forge(page) -> dict:
    """Rewrite the page's next event of handler `armed["name"]` on its way to the server once
    `armed["on"]` is set: its payload becomes `armed["payload"]` (what a client other than
    this page could send)."""
    armed = {"on": False, "sent": 0, "name": "", "payload": {}}

    def route(ws):
        server = ws.connect_to_server()

        def from_page(message):
            # socket.io: 42<namespace>,["event", {...}]
            if armed["on"] and isinstance(message, str) and message.startswith("42") and "[" in message:
                head, body = message[:message.index("[")], message[message.index("["):]
                try:
                    frame = json.loads(body)
                except ValueError:
                    frame = None
                if frame and frame[0] == "event" and str(frame[1].get("name", "")).endswith("." + armed["name"]):
                    frame[1]["payload"] = armed["payload"]
                    message = head + json.dumps(frame)
                    armed["on"], armed["sent"] = False, armed["sent"] + 1
            server.send(message)

        ws.on_message(from_page)

    page.route_web_socket(re.compile(r"/_event"), route)
    return armed


def test_forged_notes_and_shelve_durations_are_refused_and_write_nothing(alarms_ready, browser, db):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    try:
        forged = forge(page)
        log_in(page, alarms_ready.url)
        wait_logged_in(page)
        page.wait_for_selector("[data-testid=shelve-btn]")
        before = actions_written(db)
        # a 5 kB note (the box holds 1000 characters; an event carries what it likes, up to the
        # 10,000 characters per string the frame check lets through: ksys_app/eventguard.py)
        forged.update(on=True, name="set_note", payload={"value": "x" * 5000})
        page.fill("[data-testid=alarm-note]", "short")
        page.wait_for_timeout(600)
        assert forged["sent"] == 1
        row, _ = first_row(page, "[data-testid=ack-btn]")
        row.locator("[data-testid=ack-btn]").click()
        assert action_message(page) == ("A note may be at most 1000 characters (this one has 5000); "
                                        "nothing was written")
        assert actions_written(db) == before
        page.fill("[data-testid=alarm-note]", "")
        page.wait_for_timeout(400)
        # durations the select never offers
        sent = forged["sent"]
        for i, bad in enumerate(("99999", "0", "-15", "abc", 60.5, None, "15; DROP TABLE x", True)):
            forged.update(on=True, name="set_shelve_for", payload={"value": bad})
            page.select_option("[data-testid=shelve-for]", ("60", "240")[i % 2])
            page.wait_for_timeout(400)
            assert forged["sent"] == sent + i + 1
            row, _ = first_row(page, "[data-testid=shelve-btn]")
            row.locator("[data-testid=shelve-btn]").click()
            page.wait_for_function("document.querySelector('[data-testid=action-message]')?.dataset.failed === '1'")
            assert action_message(page) == "Shelve for one of 15, 60, 240, 480 minutes; nothing was written", bad
            page.click("[data-testid=action-message] .notice-close")
        assert actions_written(db) == before
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_alarms_page_at_each_screen(alarms_ready, browser, size):
    """Logged in (the buttons shown): no sideways scroll, 44 px targets on touch screens."""
    context = browser.new_context(**SIZES[size])
    page = context.new_page()
    try:
        log_in(page, alarms_ready.url)
        wait_logged_in(page)
        page.wait_for_selector("[data-testid=alarm-row]")
        page.wait_for_timeout(300)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"alarms_{size}.png"))
        page.screenshot(path=str(SCREENSHOTS / f"alarms_{size}_full.png"), full_page=True)
        wide = sideways(page)
        assert wide["scrollWidth"] <= wide["clientWidth"], f"/alarms at {size} scrolls sideways: {wide}"
        if size != "desktop":
            violators = small_targets(page)
            assert not violators, f"/alarms at {size}: " + summarize(violators)
            box = page.locator("[data-testid=alarm-row] [data-testid=shelve-btn]").first.bounding_box()
            assert box["x"] + box["width"] <= SIZES[size]["viewport"]["width"], "the row's buttons are off screen"
    finally:
        context.close()


@pytest.fixture(scope="module")
def login_required_app(alarms_ready, pg_server):
    dbname = conninfo_to_dict(alarms_ready.admin_dsn)["dbname"]
    env = {**SERVER_ENV, "KSYS_OPERATOR_DSN": operator_dsn(pg_server, dbname), "KSYS_REQUIRE_LOGIN": "1"}
    log = SCREENSHOTS.parent / "e2e-server-require-login.log"
    with app_server(alarms_ready.app_dsn, log, env) as (url, _proc):
        yield url


def test_with_require_login_every_page_shows_the_login_form(login_required_app, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    try:
        for path in ("/", "/alarms", "/trend?tag=D200"):
            page.goto(login_required_app + path)
            page.wait_for_selector("[data-testid=login-card] [data-testid=login-name]")
            assert page.locator("[data-testid=kpi-tile], [data-testid=alarm-row], [data-testid=trend-chart]").count() == 0
        page.goto(login_required_app + "/")
        page.wait_for_selector("[data-testid=login-name]")
        page.fill("[data-testid=login-name]", "alice")
        page.fill("[data-testid=login-password]", PASSWORD)
        page.click("[data-testid=login-submit]")
        page.wait_for_selector("[data-testid=kpi-tile]", timeout=20_000)
        wait_logged_in(page)
        page.click("[data-testid=logout-btn]")
        page.wait_for_selector("[data-testid=login-card] [data-testid=login-name]", timeout=20_000)
    finally:
        context.close()
