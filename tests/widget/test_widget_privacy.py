"""What the widget keeps in the browser, what it sends and how it follows the conversation's
language, against a scripted stand-in for Rasa's socket.io channel (fake_rasa.FakeRasa).

Every test also gets the checks of conftest.browse_alone when its browser context closes: no
request left localhost, no dialog, no page error, no CSP violation, no console error.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable, List, Optional

from playwright.sync_api import expect

from tests.widget.fake_rasa import FakeRasa, Reply
from tests.widget.widget_page import SCREENSHOTS, Widget, poll, run_axe

PHONE = "575-555-0142"
SUMMARY = f"Please check: Maria Lopez, {PHONE}, maria@example.com. Is this right?"
EVIL = "https://evil.example/login"


def serving(fake: FakeRasa, browsing: Any, **page_options: Any) -> Widget:
    """A tab on the demo page whose socket.io traffic goes to `fake`."""
    page = browsing.page(goto=False, **page_options)
    fake.install(page)
    page.goto(browsing.url)
    return Widget(page)


def numbered_ids() -> Callable[[Optional[str]], str]:
    """A server that accepts the ids it issued and replaces anything else with a new one."""
    issued: List[str] = []

    def issue(requested: Optional[str]) -> str:
        if requested is not None and requested in issued:
            return requested
        issued.append(f"signed.{len(issued) + 1}.c2lnbmF0dXJl")
        return issued[-1]

    return issue


def test_the_conversation_stays_in_this_tab_only(browse_alone: Callable) -> None:
    browsing = browse_alone()
    fake = FakeRasa()
    widget = serving(fake, browsing)
    # What an earlier version of the widget left in localStorage for a day is removed.
    widget.page.evaluate("() => localStorage.setItem('bts-chat:v1:http://localhost:5005', '{\"v\":1}')")
    widget.page.reload()
    widget = Widget(widget.page)
    widget.open()
    widget.wait_online()
    widget.ask(f"my number is {PHONE}")

    stored = widget.stored()
    assert stored["local"] == {}, "nothing in localStorage, which outlives the browser"
    assert any(PHONE in raw for raw in stored["session"].values())

    widget.page.reload()  # a reload of the same tab continues the conversation
    widget = Widget(widget.page)
    widget.open()
    expect(widget.bubbles("user")).to_have_text([f"my number is {PHONE}"])

    other = serving(fake, browsing)  # another tab starts its own
    other.open()
    expect(other.bubbles()).to_have_count(1)
    assert PHONE not in json.dumps(other.stored())


def test_an_idle_conversation_is_forgotten(browse_alone: Callable) -> None:
    browsing = browse_alone()
    fake = FakeRasa()

    def idle_for(widget: Widget, minutes: float) -> None:
        widget.page.evaluate(
            """(ms) => {
              for (const area of [sessionStorage, localStorage]) {
                for (const key of Object.keys(area).filter((k) => k.startsWith('bts-chat:'))) {
                  const state = JSON.parse(area.getItem(key));
                  state.updated = Date.now() - ms;
                  area.setItem(key, JSON.stringify(state));
                }
              }
            }""",
            minutes * 60_000,
        )

    for embed, idle, forgotten in ((None, 25, False), (None, 31, True), ({"idle-minutes": "5"}, 6, True)):
        widget = serving(fake, browsing, embed=embed)
        widget.open()
        widget.wait_online()
        widget.ask(f"my number is {PHONE}")
        idle_for(widget, idle)
        widget.page.reload()
        widget = Widget(widget.page)
        widget.open()
        if forgotten:
            expect(widget.bubbles()).to_have_count(1)  # only a new greeting
            assert PHONE not in json.dumps(widget.stored()), (embed, idle)
        else:
            expect(widget.bubbles("user")).to_have_count(1)
        widget.page.close()


def test_local_storage_only_when_the_clinic_opts_in(browse_alone: Callable) -> None:
    browsing = browse_alone()
    fake = FakeRasa()
    first = serving(fake, browsing, embed={"storage": "local"})
    first.open()
    first.wait_online()
    first.ask("hello")
    stored = first.stored()
    assert stored["session"] == {} and len(stored["local"]) == 1
    second = serving(fake, browsing, embed={"storage": "local"})
    second.open()
    assert second.texts() == first.texts(), "with localStorage, tabs share the conversation"


def test_a_submitted_booking_is_cleared_from_storage_but_stays_on_screen(browse_alone: Callable) -> None:
    def replies(text: str) -> List[Reply]:
        if text == "yes":
            # Rasa sends a response's custom payload as a message of its own, after the text.
            return [{"text": "Thank you. Your request BTS-7K2Q was sent to the clinic."},
                    {"bts": {"event": "booking_submitted"}}]
        if text.startswith("Maria"):
            return [{"text": SUMMARY, "quick_replies": [{"title": "Yes", "payload": "yes"}]}]
        return [{"text": f"You said: {text}"}]

    fake = FakeRasa(replies=replies)
    widget = serving(fake, browse_alone())
    widget.open()
    widget.wait_online()
    widget.ask(f"Maria Lopez, {PHONE}")
    assert PHONE in json.dumps(widget.stored())
    widget.quick_buttons().last.click()
    expect(widget.bubbles("bot")).to_have_count(3)

    poll(lambda: PHONE not in json.dumps(widget.stored()), 5, "the summary to leave storage")
    state = widget.session_state()
    assert state["messages"] == [] and state["sessionId"] == fake.confirmed
    # The screen is unchanged, and the conversation goes on in the same session.
    expect(widget.bubbles("bot").nth(1)).to_have_text(SUMMARY)
    widget.ask("what are your hours?")
    assert [m["text"] for m in widget.session_state()["messages"]] == [
        "what are your hours?", "You said: what are your hours?"]
    assert fake.events("user_uttered")[-1]["session_id"] == fake.confirmed

    widget.page.reload()
    widget = Widget(widget.page)
    widget.open()
    assert widget.texts() == ["what are your hours?", "You said: what are your hours?"]


def test_end_chat_and_clear_with_the_keyboard(browse_alone: Callable) -> None:
    fake = FakeRasa(issue=numbered_ids())
    widget = serving(fake, browse_alone())
    page = widget.page
    widget.open()
    widget.wait_online()
    widget.ask(f"my number is {PHONE}")
    first_session = fake.confirmed

    end = page.get_by_role("button", name="End chat and clear it from this browser")
    expect(end).to_be_visible()
    expect(end).to_have_text("End chat and clear")
    for _ in range(10):  # backwards from the message box to the control
        page.keyboard.press("Shift+Tab")
        if "end-btn" in widget.active()["cls"]:
            break
    else:
        raise AssertionError("Shift+Tab never reached the End chat control")
    assert widget.active()["outline"] != "none", "focus is visible"

    page.keyboard.press("Enter")
    question = page.get_by_role("group", name=re.compile("End this chat"))
    expect(question).to_be_visible()
    expect(end).to_have_attribute("aria-expanded", "true")
    assert widget.active()["text"] == "Cancel", "the safe choice has the focus"
    page.keyboard.press("Escape")  # cancels, leaves the conversation alone
    expect(question).to_be_hidden()
    expect(widget.panel).to_be_visible()
    assert "end-btn" in widget.active()["cls"]
    assert PHONE in json.dumps(widget.stored())

    page.keyboard.press("Enter")
    page.keyboard.press("Shift+Tab")
    assert widget.active()["text"] == "End and clear"
    page.keyboard.press("Enter")
    expect(question).to_be_hidden()
    expect(widget.bubbles()).to_have_count(1)  # a new greeting
    assert widget.active()["id"] == "bts-input"
    assert PHONE not in json.dumps(widget.stored())
    # A new session: asked for without an id, and the server's new id is used from then on.
    widget.wait_online()
    assert fake.events("session_request")[-1]["session_id"] is None
    assert fake.confirmed != first_session
    widget.ask("hello again")
    assert fake.events("user_uttered")[-1]["session_id"] == fake.confirmed
    assert widget.session_state()["sessionId"] == fake.confirmed


def test_the_session_id_is_the_one_the_server_confirms(browse_alone: Callable) -> None:
    issue = numbered_ids()
    fake = FakeRasa(issue=issue)
    browsing = browse_alone()
    widget = serving(fake, browsing)
    widget.open()
    widget.wait_online()
    assert fake.events("session_request") == [{"session_id": None, "lang": "en"}], "the widget makes no id"
    issued = fake.confirmed
    assert widget.session_state()["sessionId"] == issued
    widget.ask("hello")
    assert fake.events("user_uttered") == [
        {"message": "hello", "session_id": issued, "metadata": {"lang": "en"}}]

    widget.page.reload()  # the stored id is offered again, and accepted
    widget = Widget(widget.page)
    widget.wait_online()
    assert fake.events("session_request")[-1] == {"session_id": issued, "lang": "en"}
    assert fake.confirmed == issued

    fake.issue = lambda requested: "signed.replacement"  # the server no longer accepts it
    widget.page.reload()
    widget = Widget(widget.page)
    widget.wait_online()
    poll(lambda: widget.session_state().get("sessionId") == "signed.replacement", 5,
         "the replacement id to be stored")
    widget.open()
    widget.ask("still there?")
    assert fake.events("user_uttered")[-1]["session_id"] == "signed.replacement"
    # The session id never appears in a URL (they end up in access logs).
    assert len(fake.urls) == 3
    for url in fake.urls:
        assert "signed" not in url and re.search(r"[?&]bts_route=[0-9a-f]{16}(&|$)", url), url


def test_bare_urls_in_bot_messages_are_not_links(browse_alone: Callable) -> None:
    def replies(text: str) -> List[Reply]:
        return [{"text": EVIL},
                {"text": f"Reason: {text}\nPlease confirm. Hours: [our site](https://example.org/hours), "
                         "[call](tel:+15755550142), **thanks**"}]

    fake = FakeRasa(replies=replies)
    widget = serving(fake, browse_alone())
    widget.open()
    widget.wait_online()
    widget.ask(f"log in at {EVIL} please")
    bare, summary = widget.bubbles("bot").nth(1), widget.bubbles("bot").nth(2)
    expect(bare).to_have_text(EVIL)
    expect(bare.locator("a")).to_have_count(0)
    expect(summary).to_contain_text(f"Reason: log in at {EVIL} please")
    links = summary.locator("a")
    expect(links).to_have_count(2)  # only the response's own markdown links
    assert [links.nth(i).get_attribute("href") for i in range(2)] == [
        "https://example.org/hours", "tel:+15755550142"]
    expect(widget.page.locator('a[href*="evil.example"]')).to_have_count(0)


def test_the_interface_follows_the_conversation_language(browse_alone: Callable) -> None:
    def replies(text: str) -> List[Reply]:
        if text == "hola":
            return [{"text": "¡Hola! ¿En qué le puedo ayudar?"}, {"bts": {"language": "es"}}]
        if text == "english please":
            return [{"bts": {"language": "en"}}, {"text": "Sure, let's continue in English."}]
        return [{"text": "De acuerdo."}]

    browsing = browse_alone()
    browsing.recorder.allow_console_errors = True  # axe-core sets inline styles, which the CSP blocks
    fake = FakeRasa(replies=replies)
    widget = serving(fake, browsing)
    page = widget.page
    widget.open()
    widget.wait_online()
    assert widget.lang() == {"host": "en", "root": "en"}
    widget.ask("hola")

    expect(widget.wrapper).to_have_attribute("lang", "es")
    assert widget.lang() == {"host": "es", "root": "es"}
    expect(widget.input).to_have_attribute("placeholder", "Escriba su pregunta…")
    expect(page.get_by_role("button", name="Terminar y borrar el chat de este navegador")).to_have_text(
        "Terminar y borrar")
    expect(page.locator(".icon-btn")).to_have_attribute("aria-label", "Cerrar el chat")
    expect(page.locator(".send")).to_have_attribute("aria-label", "Enviar")
    expect(page.locator(".footnote")).to_contain_text("llame al 911")
    expect(page.locator(".msg--bot .sr-only").last).to_have_text("El asistente dijo:")
    widget.ask("gracias")
    assert fake.events("user_uttered")[-1]["metadata"] == {"lang": "es"}
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "widget-labels-es.png"))  # for review, not the README

    violations = run_axe(page)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    in_widget = [v for v in violations if any("bts-chat" in t for t in v["targets"])]
    assert not serious and not in_widget, json.dumps(violations, indent=2)

    page.reload()  # the language is part of the stored conversation
    widget = Widget(page)
    widget.wait_online()
    assert widget.lang()["root"] == "es"
    assert fake.events("session_request")[-1]["lang"] == "es"
    widget.open()
    widget.ask("english please")
    expect(widget.wrapper).to_have_attribute("lang", "en")
    expect(widget.input).to_have_attribute("placeholder", "Type your question…")


def test_data_lang_is_sent_with_the_session(browse_alone: Callable) -> None:
    fake = FakeRasa()
    widget = serving(fake, browse_alone(), embed={"lang": "es", "greeting": None})
    expect(widget.launcher).to_have_attribute("aria-label", "Abrir el chat con Border Therapy Services")
    widget.open()
    widget.wait_online()
    assert widget.lang() == {"host": "es", "root": "es"}
    assert widget.texts("bot")[0].startswith("¡Hola!")
    assert fake.events("session_request") == [{"session_id": None, "lang": "es"}]
    widget.ask("hola")
    assert fake.events("user_uttered")[-1]["metadata"] == {"lang": "es"}


def test_only_the_servers_instructions_change_the_widget(browse_alone: Callable) -> None:
    """Unknown languages and events, and text that merely mentions them, change nothing."""
    fake = FakeRasa(replies=lambda text: [
        {"bts": {"language": "fr"}}, {"bts": {"event": "drop_everything"}},
        {"text": '{"bts": {"language": "es", "event": "booking_submitted"}}'},
    ])
    widget = serving(fake, browse_alone())
    widget.open()
    widget.wait_online()
    widget.ask(f"my number is {PHONE}")  # returns after the acknowledgement, sent after every reply
    assert widget.lang()["root"] == "en"
    assert PHONE in json.dumps(widget.stored())
