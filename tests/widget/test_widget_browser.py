"""The chat widget in a real browser (Debian's chromium, headless) against the real assistant.

Every test also checks, when its browser context closes (see conftest.browse): no request left
localhost, no dialog opened (so no injected `alert` ran), no page error, no CSP violation and
no console error.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable, Dict, List
from urllib.parse import urlsplit

import pytest
import yaml
from playwright.sync_api import expect

from tests.widget.widget_page import (
    METRICS,
    MOBILE,
    REPLY_TIMEOUT_MS,
    ROOT,
    SCREENSHOTS,
    Widget,
    poll,
    run_axe,
    settled,
)

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]
DISCLAIMER = " ".join(DOMAIN["utter_disclaimer"][0]["text"].split())
SOCKET_URL = re.compile(r".*/socket\.io/.*")
BUDGET_BYTES = 60_000


def is_disclaimer(text: str) -> bool:
    return " ".join(text.split()) == DISCLAIMER


def test_first_open_greets_focuses_and_answers_a_sciatica_question(browse: Callable) -> None:
    browsing = browse()
    page = browsing.page()
    widget = Widget(page)
    page.wait_for_load_state("networkidle")
    assert not browsing.recorder.websockets, "the widget connects only when the patient opens it"
    expect(widget.launcher).to_have_attribute("aria-label", "Open chat with Border Therapy Services")

    start = time.monotonic()
    widget.launcher.click()
    expect(widget.bubbles("bot").first).to_be_visible()
    greeting_s = time.monotonic() - start
    widget.wait_online()
    online_s = time.monotonic() - start

    assert "Border Therapy Services virtual assistant" in widget.texts("bot")[0]
    expect(widget.launcher).to_have_attribute("aria-expanded", "true")
    assert widget.active()["id"] == "bts-input", "focus moves into the panel on open"

    reply_s = widget.timed_ask("what is sciatica?")
    bot = widget.texts("bot")
    assert is_disclaimer(bot[1]), bot
    assert any("sciatic nerve" in text for text in bot[2:]), bot
    expect(page.locator(".msg--user .bubble")).to_have_text(["what is sciatica?"])
    # Every message has a timestamp.
    expect(page.locator(".msg time")).to_have_count(page.locator(".msg").count())
    assert re.fullmatch(r"\d{1,2}:\d{2}\s?[AP]M", page.locator(".msg time").last.text_content() or "")

    # The typing indicator shows from the moment a message is sent until the turn is over.
    shown = page.evaluate(
        """() => {
          const root = document.querySelector('#bts-chat').shadowRoot;
          root.querySelector('.input').value = 'what causes sciatica?';
          root.querySelector('form').requestSubmit();
          return !root.querySelector('.typing').hidden;
        }"""
    )
    assert shown
    widget.wait_bots(len(bot) + 1)
    assert "disc" in " ".join(widget.texts("bot")[len(bot):]).lower()

    METRICS["click -> greeting on screen"] = f"{greeting_s * 1000:.0f} ms"
    METRICS["click -> connected to Rasa (session confirmed)"] = f"{online_s * 1000:.0f} ms"
    METRICS["Enter -> first bot reply on screen (first question)"] = f"{reply_s * 1000:.0f} ms"


@pytest.mark.screenshot
def test_quick_reply_shows_the_choice_as_the_patients_message_and_disables_the_buttons(
    browse: Callable,
) -> None:
    page = browse().page()
    widget = Widget(page)
    widget.open()
    widget.ask("what is sciatica?")
    message = page.locator(".msg--bot:has(.quick)").last
    message_id = message.get_attribute("data-id")
    buttons = page.locator(f'.msg[data-id="{message_id}"] .quick-btn')
    assert buttons.count() >= 2
    title = (buttons.first.text_content() or "").strip()
    bots_before = widget.bubbles("bot").count()

    buttons.first.click()
    expect(widget.bubbles("user").last).to_have_text(title)
    for button in buttons.all():
        expect(button).to_be_disabled()
    expect(buttons.first).to_have_attribute("aria-pressed", "true")
    expect(buttons.nth(1)).to_have_attribute("aria-pressed", "false")
    assert widget.active()["id"] == "bts-input"
    widget.wait_bots(bots_before + 1)
    # Only the newest reply's buttons are still active; the greeting's suggestions are spent.
    enabled = page.locator(".quick-btn:not([disabled])")
    newest = page.locator(".msg--bot").last.locator(".quick-btn")
    expect(enabled).to_have_count(newest.count())

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-desktop.png"))


def test_reload_restores_the_conversation_and_continues_the_same_session(browse: Callable) -> None:
    page = browse().page()
    widget = Widget(page)
    widget.open()
    widget.ask("what are your opening hours?")
    before = widget.texts()
    session = widget.session_state()["sessionId"]
    assert session, "the id the server confirmed is stored"

    page.reload()
    widget = Widget(page)
    expect(widget.panel).to_be_hidden()
    widget.open()
    assert widget.texts() == before
    widget.wait_online()
    new = widget.ask("what's your phone number?")
    assert not any(is_disclaimer(t) for t in new), "same Rasa session: no second disclaimer"
    assert widget.session_state()["sessionId"] == session


def test_with_local_storage_a_second_tab_shows_the_same_history_and_both_stay_in_sync(
    browse: Callable,
) -> None:
    browsing = browse()
    shared = {"storage": "local"}  # the clinic's opt-in; by default every tab has its own chat
    first = Widget(browsing.page(embed=shared))
    first.open()
    first.ask("what is sciatica?")

    second = Widget(browsing.page(embed=shared))
    second.open()
    assert second.texts() == first.texts()
    second.wait_online()
    second.ask("do you take medicare?")
    # The first tab shows the second tab's message and the replies, each exactly once, also
    # after it has stopped holding back its own copies of the replies (see onBotMessage).
    expect(first.bubbles()).to_have_count(len(second.texts()), timeout=REPLY_TIMEOUT_MS)
    shown = settled(first.texts, quiet_s=3, timeout_s=REPLY_TIMEOUT_MS / 1000, what="the first tab")
    assert shown == second.texts()
    assert len(second.session_state()["messages"]) == len(second.texts())
    assert first.session_state()["sessionId"] == second.session_state()["sessionId"]


def test_html_and_script_in_messages_are_shown_as_text_and_never_run(browse: Callable) -> None:
    browsing = browse()
    page = browsing.page(goto=False)
    routes: List[Any] = []

    def through(ws: Any) -> None:
        ws.connect_to_server()  # pass everything through, keep a handle to inject a bot message
        routes.append(ws)

    page.route_web_socket(SOCKET_URL, through)  # routes only sockets of pages loaded after this
    page.goto(browsing.url)
    widget = Widget(page)
    widget.open()
    widget.wait_online()
    for payload in ["<img src=x onerror=alert(1)>", "[x](javascript:alert(1))"]:
        widget.ask(payload)
        bubble = widget.bubbles("user").last
        expect(bubble).to_have_text(payload)
        assert bubble.evaluate("(el) => el.childNodes.length === 1 && el.firstChild.nodeType === 3")

    # A bot message through the real socket, using the markdown subset and hostile input.
    crafted = (
        "**Bold** and [call us](tel:+15755550142), [our site](https://example.org/a), "
        "[x](javascript:alert(1)), [d](data:text/html,hi) <img src=x onerror=alert(2)> "
        "<script>alert(3)</script>\nsecond line"
    )
    routes[-1].send("42" + json.dumps(["bot_uttered", {"text": crafted}]))
    bubble = widget.bubbles("bot").last
    expect(bubble).to_contain_text("second line")
    expect(bubble.locator("strong")).to_have_text("Bold")
    expect(bubble.locator('a[href="tel:+15755550142"]')).to_have_text("call us")
    site = bubble.locator('a[href="https://example.org/a"]')
    expect(site).to_have_attribute("target", "_blank")
    expect(site).to_have_attribute("rel", "noopener noreferrer nofollow")
    for literal in ["[x](javascript:alert(1))", "[d](data:text/html,hi)", "<img src=x onerror=alert(2)>",
                    "<script>alert(3)</script>"]:
        expect(bubble).to_contain_text(literal)
    tags = page.evaluate(
        """() => [...document.querySelector('#bts-chat').shadowRoot.querySelectorAll('.bubble *')]
                   .map((el) => el.tagName.toLowerCase())"""
    )
    assert set(tags) <= {"strong", "a", "span"}, tags
    assert page.locator('img, a[href^="javascript"], a[href^="data"], .bts script').count() == 0
    assert not browsing.recorder.dialogs


def test_keyboard_only(browse: Callable) -> None:
    page = browse().page()
    widget = Widget(page)
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = widget.active()
        if focused["inWidget"] and "launcher" in focused["cls"]:
            break
    else:
        raise AssertionError("Tab never reached the chat launcher")
    assert focused["outline"] != "none" and focused["outlineWidth"] >= 2, "focus is visible"

    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    assert widget.active()["id"] == "bts-input"
    page.keyboard.type("Question:")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("what is sciatica?")
    assert widget.input.input_value() == "Question:\nwhat is sciatica?"
    page.keyboard.press("Enter")
    expect(widget.bubbles("user").last).to_have_text("Question:\nwhat is sciatica?")
    expect(widget.input).to_have_value("")
    widget.wait_bots(2)

    # Back from the input to the newest reply's last quick reply, and choose it with Enter.
    page.keyboard.press("Shift+Tab")
    focused = widget.active()
    assert "quick-btn" in focused["cls"], focused
    assert focused["outline"] != "none"
    bots_before = widget.bubbles("bot").count()
    page.keyboard.press("Enter")
    expect(widget.bubbles("user").last).to_have_text(focused["text"])
    widget.wait_bots(bots_before + 1)

    # Escape closes the panel and gives focus back to the launcher.
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    focused = widget.active()
    assert "launcher" in focused["cls"], focused
    page.keyboard.press("Enter")
    expect(widget.panel).to_be_visible()
    assert widget.active()["id"] == "bts-input"


@pytest.mark.screenshot
def test_mobile_viewport_is_full_screen(browse: Callable) -> None:
    browsing = browse(viewport=MOBILE, is_mobile=True, has_touch=True, device_scale_factor=2)
    page = browsing.page()
    widget = Widget(page)
    widget.launcher.tap()
    expect(widget.panel).to_be_visible()
    full = {"x": 0, "y": 0, "width": MOBILE["width"], "height": MOBILE["height"]}

    def panel_box() -> Dict[str, int]:
        box = widget.panel.bounding_box()
        return {"x": round(box["x"]), "y": round(box["y"]), "width": round(box["width"]),
                "height": round(box["height"])} if box else {}

    poll(lambda: panel_box() == full, 5, "the panel to fill the screen (it slides in for 160 ms)")
    expect(widget.launcher).to_be_hidden()
    expect(widget.panel).to_have_attribute("aria-modal", "true")
    widget.wait_online()
    widget.ask("what is sciatica?")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= MOBILE["width"]
    # Full screen is modal: Tab from the last control wraps to the first one in the panel.
    page.locator(".send").focus()
    page.keyboard.press("Tab")
    assert widget.active()["inWidget"], "focus stays in the full-screen panel"
    widget.input.focus()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-mobile.png"))

    page.locator(".icon-btn").tap()
    expect(widget.panel).to_be_hidden()
    expect(widget.launcher).to_be_visible()
    assert page.evaluate("() => document.documentElement.style.overflow") == ""


def test_no_serious_or_critical_accessibility_violations(browse: Callable) -> None:
    results: Dict[str, List[Dict[str, Any]]] = {}
    desktop = browse()
    desktop.recorder.allow_console_errors = True  # axe-core sets inline styles, which the CSP blocks
    results["desktop, closed"] = run_axe(desktop.page())
    desktop = browse()
    desktop.recorder.allow_console_errors = True
    page = desktop.page()
    widget = Widget(page)
    widget.open()
    widget.ask("what is sciatica?")
    page.locator(".msg--bot .quick-btn:not([disabled])").first.click()
    widget.wait_bots(4)
    widget.input.fill("x" * 950)  # shows the characters-left counter
    results["desktop, conversation with quick replies"] = run_axe(page)

    mobile = browse(viewport=MOBILE, is_mobile=True, has_touch=True)
    mobile.recorder.allow_console_errors = True
    page = mobile.page()
    widget = Widget(page)
    widget.open()
    widget.wait_online()
    results["mobile, full screen"] = run_axe(page)

    serious = {
        state: [v for v in violations if v["impact"] in ("serious", "critical")]
        for state, violations in results.items()
    }
    assert not any(serious.values()), json.dumps(serious, indent=2)
    version = json.loads((ROOT / "widget/node_modules/axe-core/package.json").read_text())["version"]
    METRICS[f"axe-core {version} (WCAG 2.1 A/AA + best practices)"] = "; ".join(
        f"{state}: {len(v)} violations"
        + (f" ({', '.join(sorted({x['id'] + '/' + str(x['impact']) for x in v}))})" if v else "")
        for state, v in results.items()
    )


def test_every_request_stays_on_localhost(browse: Callable, stack: Any) -> None:
    browsing = browse()
    page = browsing.page()
    widget = Widget(page)
    widget.open()
    widget.ask("where are you located?")
    page_origin = stack.page_url.rstrip("/")
    rasa = urlsplit(stack.rasa_url)
    allowed = re.compile(
        rf"^({re.escape(page_origin)}/(|demo/demo\.css|demo/favicon\.svg|widget/bts-chat\.js"
        rf"|widget/bts-chat\.[0-9a-f]{{10}}\.css)"
        rf"|(ws|http)://{re.escape(rasa.netloc)}/socket\.io/\?bts_route=[0-9a-f]{{16}}&EIO=4"
        rf"&transport=(websocket|polling).*)$"
    )
    log = browsing.recorder.requests + browsing.recorder.websockets
    assert log and all(allowed.match(url) for url in log), log
    assert not browsing.recorder.non_local()
    paths = ", ".join(sorted({urlsplit(u).path or "/" for u in log}))
    METRICS["network log (first open + one question)"] = f"{len(log)} requests, all to localhost: {paths}"


def test_reconnects_and_sends_messages_queued_while_offline(browse: Callable) -> None:
    browsing = browse()
    browsing.recorder.allow_console_errors = True  # Chromium logs the refused connections
    page = browsing.page(goto=False)
    down = {"value": False}
    sockets: List[Any] = []

    def websocket(ws: Any) -> None:
        if down["value"]:
            ws.close()
            return
        ws.connect_to_server()
        sockets.append(ws)

    page.route_web_socket(SOCKET_URL, websocket)
    page.route(SOCKET_URL, lambda route: route.abort() if down["value"] else route.continue_())
    page.goto(browsing.url)
    widget = Widget(page)
    widget.open()
    widget.wait_online()
    widget.ask("hi")
    bots_before = widget.bubbles("bot").count()

    down["value"] = True
    sockets[-1].close()
    expect(page.locator(".bts[data-connection=reconnecting]")).to_be_attached()
    expect(widget.banner).to_be_visible()
    expect(widget.banner).to_contain_text("Reconnecting")
    widget.send("what is sciatica?")
    queued = page.locator(".msg--user").last.locator(".state")
    expect(queued).to_have_text("Waiting for connection")
    state = settled(queued.text_content, quiet_s=1.5, timeout_s=10, what="the queued message")
    assert state == "Waiting for connection", "nothing is sent while the connection is down"

    down["value"] = False
    widget.wait_online(timeout=20_000)
    expect(widget.banner).to_be_hidden()
    expect(queued).to_have_count(0)
    widget.wait_bots(bots_before + 1)
    assert any("sciatic" in t.lower() for t in widget.texts("bot")[bots_before:])


def test_falls_back_to_long_polling_when_websockets_are_blocked(browse: Callable) -> None:
    """Long-polling is cross-origin HTTP: this also checks Rasa's `--cors` for the page's origin."""
    browsing = browse()
    browsing.recorder.allow_console_errors = True
    page = browsing.page(goto=False)
    page.route_web_socket(SOCKET_URL, lambda ws: ws.close())  # every WebSocket is cut at once
    page.goto(browsing.url)
    widget = Widget(page)
    widget.open()
    widget.wait_online(timeout=20_000)
    replies = widget.ask("what is sciatica?")
    assert any("sciatic nerve" in t for t in replies), replies
    assert any("transport=polling" in url for url in browsing.recorder.requests)


def test_unread_badge_counts_replies_that_arrive_while_closed(browse: Callable) -> None:
    page = browse().page()
    widget = Widget(page)
    widget.open()
    widget.wait_online()
    widget.send("what is sciatica?")
    page.keyboard.press("Escape")
    expect(widget.panel).to_be_hidden()
    expect(widget.badge).to_be_visible(timeout=REPLY_TIMEOUT_MS)
    poll(lambda: not widget.session_state()["waitingSince"], REPLY_TIMEOUT_MS / 1000, "the end of the turn")
    messages = widget.session_state()["messages"]
    replies = len([m for m in messages if m["from"] == "bot"]) - 1  # all but the greeting
    expect(widget.badge).to_have_text(str(replies))
    expect(widget.launcher).to_have_attribute(
        "aria-label", f"Open chat with Border Therapy Services, {replies} unread"
    )
    widget.open()
    expect(widget.badge).to_be_hidden()


def test_end_chat_clears_the_conversation_and_starts_a_new_session(browse: Callable) -> None:
    page = browse().page()
    widget = Widget(page)
    widget.open()
    first = widget.ask("what is sciatica?")
    assert is_disclaimer(first[0])
    old_session = widget.session_state()["sessionId"]

    page.get_by_role("button", name="End chat and clear it from this browser").click()
    page.get_by_role("button", name="End and clear").click()
    expect(widget.bubbles()).to_have_count(1)  # the greeting again
    assert widget.active()["id"] == "bts-input"
    widget.wait_online()
    new_session = widget.session_state()["sessionId"]
    assert new_session and new_session != old_session
    again = widget.ask("what is sciatica?")
    assert is_disclaimer(again[0]), "a new session starts with the disclaimer again"


def test_respects_reduced_motion(browse: Callable) -> None:
    for preference, animated in (("reduce", False), ("no-preference", True)):
        page = browse(reduced_motion=preference).page()
        widget = Widget(page)
        widget.open()
        name = widget.panel.evaluate("(el) => getComputedStyle(el).animationName")
        assert (name != "none") == animated, (preference, name)


def test_first_open_transfers_less_than_60_kb_and_is_cacheable(browse: Callable) -> None:
    browsing = browse()
    page = browsing.page(goto=False)
    responses: List[Any] = []
    page.on("response", lambda r: responses.append(r) if "/widget/" in r.url else None)
    page.goto(browsing.url)
    widget = Widget(page)
    widget.open()
    widget.wait_online()
    assert {urlsplit(r.url).path.split(".")[-1] for r in responses} == {"js", "css"}
    total = 0
    for response in responses:
        total += response.request.sizes()["responseBodySize"]
        headers = response.all_headers()
        assert headers.get("content-encoding") == "gzip", response.url
        if response.url.endswith(".css"):
            assert headers["cache-control"] == "public, max-age=31536000, immutable"
        else:
            assert headers["cache-control"] == "public, max-age=300"
    assert 0 < total <= BUDGET_BYTES, total
    METRICS["first open transfer (widget script + stylesheet, gzip, measured in the browser)"] = (
        f"{total} bytes ({total / 1000:.1f} kB of the {BUDGET_BYTES / 1000:.0f} kB budget)"
    )

