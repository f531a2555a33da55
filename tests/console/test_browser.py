"""Browser test: Playwright drives Debian's Chromium through the console like a staff member.

Log in, filter on red flags, open a transcript, tag it, mark it reviewed, log out. Screenshots go
to results/screenshots/ (ignored); `make console-screenshots` writes the README's into
docs/screenshots/ through CONSOLE_SCREENSHOT_DIR.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Iterator

import pytest
import support
from werkzeug.serving import make_server

from console.db import indexer
from console.web import create_app

pytestmark = pytest.mark.browser
CHROMIUM = os.environ.get("CONSOLE_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(os.environ.get("CONSOLE_SCREENSHOT_DIR", support.ROOT / "results" / "screenshots"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    engine = support.make_db(tmp_path / "bts.db")
    settings = support.settings_for(tmp_path / "bts.db")
    app = create_app(settings, engine)
    indexer.sync(engine, settings.low_confidence)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        engine.dispose()


def test_staff_review_a_red_flag_conversation_in_a_browser(server: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)  # a new empty profile
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("dialog", lambda dialog: errors.append("dialog: " + dialog.message))

        page.goto(server + "/")
        assert "/login" in page.url
        page.fill("#username", "sam")
        page.fill("#password", support.PASSWORD)
        page.screenshot(path=str(SHOTS / "console-login.png"))
        page.click("#login")
        page.wait_for_url("**/conversations")
        assert page.locator("#conversations tbody tr").count() == 6

        page.select_option("#filter-red_flag", "yes")
        page.click("#apply")
        page.wait_for_url("**red_flag=yes**")
        rows = page.locator("#conversations tbody tr")
        assert rows.count() == 1
        assert "red flag" in rows.first.inner_text()
        page.screenshot(path=str(SHOTS / "console-red-flags.png"), full_page=True)

        rows.first.locator("td.preview a").click()
        page.wait_for_url("**/conversations/*")
        assert page.locator(".msg.user.is-red").count() == 1
        assert "intent red_flag 1.00" in page.locator(".msg.user.is-red .intent").inner_text()

        page.fill("#tag", "urgent-callback")
        page.click("#add-tag")
        page.wait_for_url("**msg=tagged**")
        assert "urgent-callback" in page.locator("ul.tags").inner_text()
        page.click("#mark-reviewed")
        page.wait_for_url("**msg=reviewed**")
        assert "Reviewed by sam" in page.locator("aside").inner_text()
        page.screenshot(path=str(SHOTS / "console-transcript.png"), full_page=True)

        page.goto(server + "/conversations?reviewed=yes&tag=urgent-callback")
        assert page.locator("#conversations tbody tr").count() == 1
        page.goto(server + "/analytics?from=2000-01-01")
        assert page.locator("svg.chart").count() == 3
        page.screenshot(path=str(SHOTS / "console-analytics.png"), full_page=True)

        page.click("#logout")
        page.wait_for_url("**/login")
        page.goto(server + "/conversations")
        assert "/login" in page.url
        assert errors == []
        browser.close()
