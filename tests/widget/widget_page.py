"""A page object for the chat widget (Playwright's CSS locators reach into its open shadow root).

Only locator-based waiting is used: the demo page's CSP forbids `eval`, which
`page.wait_for_function` needs.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, TypeVar

from playwright.sync_api import Locator, Page, expect

from scripts.model_files import ROOT

AXE_SOURCE = (ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js").read_text()
REPLY_TIMEOUT_MS = 45_000  # the assistant shares 2 CPU cores with everything else
# Test runs never overwrite the README's pictures; `make screenshots` refreshes them on purpose.
SCREENSHOTS = Path(os.environ.get("BTS_WIDGET_SCREENSHOTS", ROOT / "results" / "widget"))
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 390, "height": 844}

# Numbers the tests measure; conftest prints them at the end of the run.
METRICS: Dict[str, str] = {}

T = TypeVar("T")


def run_axe(page: Page) -> List[Dict[str, Any]]:
    """Injects axe-core (from npm) into the page and returns its WCAG 2.1 A/AA violations."""
    page.evaluate("() => { window.__btsCspBeforeAxe = window.__btsCsp.length; }")
    page.evaluate(AXE_SOURCE)
    violations: List[Dict[str, Any]] = page.evaluate(
        """() => axe.run(document, {
              resultTypes: ['violations'],
              runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']},
            }).then((r) => r.violations.map((v) => ({
              id: v.id, impact: v.impact, help: v.help,
              targets: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)),
            })))"""
    )
    return violations


def poll(check: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.1) -> T:
    """Calls `check` until it returns something truthy, or fails after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what} (last: {value!r})")
        time.sleep(interval_s)


def settled(read: Callable[[], T], quiet_s: float, timeout_s: float, what: str) -> T:
    """Polls `read` until its value has not changed for `quiet_s`, and returns that value."""
    deadline = time.monotonic() + timeout_s
    value = read()
    since = time.monotonic()
    while time.monotonic() - since < quiet_s:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} kept changing for {timeout_s} s (last: {value!r})")
        time.sleep(0.1)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


class Widget:
    """The widget on one tab."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.launcher = page.locator(".launcher")
        self.panel = page.locator(".panel")
        self.input = page.locator(".input")
        self.typing = page.locator(".typing")
        self.banner = page.locator(".banner")
        self.badge = page.locator(".badge")
        self.wrapper = page.locator(".bts")

    # ------------------------------------------------------------ reading

    def bubbles(self, who: Optional[str] = None) -> Locator:
        return self.page.locator(f".msg--{who} .bubble" if who else ".msg .bubble")

    def texts(self, who: Optional[str] = None) -> List[str]:
        return [t.strip() for t in self.bubbles(who).all_text_contents()]

    def quick_buttons(self) -> Locator:
        return self.page.locator(".msg--bot .quick-btn")

    def active(self) -> Dict[str, Any]:
        """What has the keyboard focus: in the page, or inside the widget's shadow root."""
        return self.page.evaluate(
            """() => {
              const host = document.querySelector('#bts-chat');
              const inWidget = document.activeElement === host;
              const el = inWidget ? host.shadowRoot.activeElement : document.activeElement;
              if (!el) return {inWidget, tag: null};
              const style = getComputedStyle(el);
              return {inWidget, tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
                      text: el.textContent.trim(), label: el.getAttribute('aria-label'),
                      outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth)};
            }"""
        )

    def stored(self) -> Dict[str, Dict[str, str]]:
        """Everything the widget keeps in Web Storage: {"local"|"session": {key: raw value}}."""
        return self.page.evaluate(
            """() => {
              const dump = (area) => Object.fromEntries(Object.keys(area)
                .filter((k) => k.startsWith('bts-chat:'))
                .map((k) => [k, area.getItem(k)]));
              return {local: dump(localStorage), session: dump(sessionStorage)};
            }"""
        )

    def session_state(self) -> Dict[str, Any]:
        """The stored conversation, wherever the widget keeps it ({} when nothing is stored)."""
        areas = self.stored()
        values = list(areas["session"].values()) + list(areas["local"].values())
        state: Dict[str, Any] = json.loads(values[0]) if values else {}
        return state

    def lang(self) -> Dict[str, Optional[str]]:
        """The `lang` of the widget's host element and of the root inside its shadow tree."""
        return {"host": self.page.locator("#bts-chat").get_attribute("lang"),
                "root": self.wrapper.get_attribute("lang")}

    # ------------------------------------------------------------ acting

    def open(self) -> None:
        expect(self.launcher).to_be_visible()
        self.launcher.click()
        expect(self.panel).to_be_visible()

    def wait_online(self, timeout: float = REPLY_TIMEOUT_MS) -> None:
        expect(self.page.locator(".bts[data-connection=online]")).to_be_attached(timeout=timeout)

    def wait_bots(self, count: int, timeout: float = REPLY_TIMEOUT_MS) -> None:
        """Waits until at least `count` bot messages are shown and the turn is over."""
        expect(self.page.locator(".msg--bot").nth(count - 1)).to_be_attached(timeout=timeout)
        expect(self.typing).to_be_hidden(timeout=timeout)

    def send(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def ask(self, text: str) -> List[str]:
        """Sends `text`, waits for the whole reply, and returns the new bot messages."""
        before = self.bubbles("bot").count()
        self.send(text)
        self.wait_bots(before + 1)
        return self.texts("bot")[before:]

    def timed_ask(self, text: str) -> float:
        """Seconds from pressing Enter to the first reply on screen."""
        before = self.bubbles("bot").count()
        self.input.fill(text)
        start = time.monotonic()
        self.input.press("Enter")
        expect(self.page.locator(".msg--bot").nth(before)).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        elapsed = time.monotonic() - start
        expect(self.typing).to_be_hidden(timeout=REPLY_TIMEOUT_MS)
        return elapsed
