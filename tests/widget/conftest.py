"""Browser tests of the website widget, against the real assistant or a scripted stand-in.

Serves the demo page with bts/widget_server.py in a thread and drives Debian's chromium headless with
Playwright for Python. `browse` also starts the real action server and Rasa server (as tests/e2e
does, with a temporary tracker store and `--cors` for the widget page's origin); `browse_alone`
does not: its tests answer the widget's socket with tests/widget/fake_rasa.py.

Environment:
    BTS_CHROMIUM                   browser binary (default /usr/bin/chromium)
    BTS_WIDGET_TEST_RASA_URL       use an already running Rasa server instead of starting one
                                   (development only; it needs `--cors` for the page's origin)
    BTS_WIDGET_TEST_WIDGET_PORT    port of the demo page server (default: a free port)
    BTS_WIDGET_TEST_CREDENTIALS    credentials file for Rasa (default: the project's)
    BTS_WIDGET_TEST_MODEL          model to serve (default: the current model)
    BTS_WIDGET_SCREENSHOTS         where screenshots go (default: results/widget; `make screenshots`
                                   points it at docs/screenshots on purpose)
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional
from urllib.parse import urlsplit

import pytest
import yaml

from bts import widget_server as serve
from bts.dev.model_files import ROOT, current_model
from tests.e2e.conftest import RASA_PORT, Servers
from tests.widget.widget_page import DESKTOP, METRICS

CHROMIUM = os.environ.get("BTS_CHROMIUM", "/usr/bin/chromium")
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
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}

# Records Content-Security-Policy violations in every page (an init script is injected by the
# DevTools protocol, so the page's CSP does not apply to it).
CSP_RECORDER = """
window.__btsCsp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__btsCsp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def check_socketio_channel(credentials: Path) -> None:
    """Fails early if Rasa's stock socket.io channel would drop every bot reply."""
    channels = yaml.safe_load(credentials.read_text()) or {}
    if "socketio" not in channels:
        return
    from socketio import AsyncServer

    if inspect.iscoroutinefunction(AsyncServer.enter_room):
        pytest.fail(
            f"{credentials} uses Rasa's stock `socketio` channel, which never joins the session "
            "room with python-socketio >= 5.10, so the widget gets no replies. Use "
            "`bts.runtime.channels.socketio.SocketIOInput` instead."
        )


@dataclass
class Stack:
    """Where the running pieces are."""

    page_url: str
    rasa_url: str


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "screenshot: takes a picture for the README (make screenshots)")


@pytest.fixture(scope="session")
def site() -> Iterator[Stack]:
    """The demo page (bts/widget_server.py), pointing the widget at where Rasa is or will be."""
    if not (ROOT / "widget" / "dist" / "bts-chat.js").exists():
        pytest.fail("the widget is not built: run `bash widget/setup.sh`")
    rasa_url = os.environ.get("BTS_WIDGET_TEST_RASA_URL") or f"http://localhost:{RASA_PORT}"
    port = int(os.environ.get("BTS_WIDGET_TEST_WIDGET_PORT", "0"))
    server = serve.make_server(port, rasa_url, quiet=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Stack(page_url=f"http://localhost:{server.server_address[1]}/", rasa_url=rasa_url)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def stack(site: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The demo page with the real assistant behind it."""
    servers: Optional[Servers] = None
    try:
        if not os.environ.get("BTS_WIDGET_TEST_RASA_URL"):
            credentials = Path(os.environ.get("BTS_WIDGET_TEST_CREDENTIALS", ROOT / "credentials.yml"))
            check_socketio_channel(credentials)
            model = Path(os.environ.get("BTS_WIDGET_TEST_MODEL", current_model()))
            if not model.exists():
                pytest.fail("no trained model for the current data: run `make train` first")
            servers = Servers(tmp_path_factory.mktemp("widget"))
            servers.start_receiver()  # where the action server delivers bookings, as in tests/e2e
            servers.start_actions()
            # `--cors` for the page's origin: long-polling is cross-origin HTTP.
            servers.start_rasa(credentials=credentials, cors=site.page_url.rstrip("/"), model=model)
        yield site
    finally:
        if servers:
            servers.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `bash widget/setup.sh --with-browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Recorder:
    """Everything a browser context did that a test may want to check afterwards."""

    requests: List[str] = field(default_factory=list)
    websockets: List[str] = field(default_factory=list)
    dialogs: List[str] = field(default_factory=list)
    page_errors: List[str] = field(default_factory=list)
    console_errors: List[str] = field(default_factory=list)
    allow_console_errors: bool = False

    def non_local(self) -> List[str]:
        urls = self.requests + self.websockets
        return [u for u in urls if urlsplit(u).scheme not in ("data", "blob", "about")
                and urlsplit(u).hostname not in LOCAL_HOSTS]


@dataclass
class Browsing:
    """A browser context with its recorder; `page()` opens a tab on the demo page."""

    context: Any
    recorder: Recorder
    url: str
    pages: List[Any] = field(default_factory=list)

    def page(self, goto: bool = True, embed: Optional[Dict[str, Optional[str]]] = None) -> Any:
        """A new tab; `embed` changes the demo page's script tag (a `data-` name to a value, or
        None to remove the attribute), as a clinic would embed the widget differently."""
        page = self.context.new_page()
        self.pages.append(page)
        page.on("pageerror", lambda error: self.recorder.page_errors.append(str(error)))
        page.on("websocket", lambda ws: self.recorder.websockets.append(ws.url))

        def on_dialog(dialog: Any) -> None:
            self.recorder.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on(
            "console",
            lambda msg: self.recorder.console_errors.append(msg.text) if msg.type == "error" else None,
        )
        if embed:
            page.add_init_script(f"({EMBED_SCRIPT})({json.dumps(embed)})")
        if goto:
            page.goto(self.url)
        return page

    def csp_violations(self) -> List[str]:
        found: List[str] = []
        for page in self.pages:
            if page.is_closed():
                continue
            # Violations after axe-core was injected are axe's own (it sets inline styles).
            found += page.evaluate("() => window.__btsCsp.slice(0, window.__btsCspBeforeAxe ?? undefined)")
        return found


# Changes the widget's script tag as the parser adds it, before the deferred script runs (a page
# rewritten by request routing would lose its address space, and Chromium would then refuse its
# connections to localhost).
EMBED_SCRIPT = """
(embed) => new MutationObserver((changes, observer) => {
  const tag = document.querySelector('script[src="/widget/bts-chat.js"]');
  if (!tag) return;
  for (const [name, value] of Object.entries(embed)) {
    if (value === null) tag.removeAttribute(`data-${name}`);
    else tag.setAttribute(`data-${name}`, value);
  }
  observer.disconnect();
}).observe(document, {childList: true, subtree: true})
"""


@pytest.fixture
def browse(browser: Any, stack: Stack) -> Iterator[Callable[..., Browsing]]:
    """Factory: `browse(viewport=..., **context_options)` gives a fresh context (empty storage)
    on the demo page with the real assistant."""
    yield from browsing_contexts(browser, stack)


@pytest.fixture
def browse_alone(browser: Any, site: Stack) -> Iterator[Callable[..., Browsing]]:
    """Like `browse`, without Rasa: the test answers the widget's socket (fake_rasa.FakeRasa)."""
    yield from browsing_contexts(browser, site)


def browsing_contexts(browser: Any, stack: Stack) -> Iterator[Callable[..., Browsing]]:
    opened: List[Browsing] = []

    def make(viewport: Optional[Dict[str, int]] = None, **options: Any) -> Browsing:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="en-US", **options)
        context.set_default_timeout(15_000)
        context.add_init_script(CSP_RECORDER)
        recorder = Recorder()
        context.on("request", lambda request: recorder.requests.append(request.url))
        browsing = Browsing(context=context, recorder=recorder, url=stack.page_url)
        opened.append(browsing)
        return browsing

    yield make
    problems: List[str] = []
    for browsing in opened:
        rec = browsing.recorder
        problems += [f"request left localhost: {u}" for u in rec.non_local()]
        problems += [f"dialog opened: {d}" for d in rec.dialogs]
        problems += [f"page error: {e}" for e in rec.page_errors]
        problems += [f"CSP violation: {v}" for v in browsing.csp_violations()]
        if not rec.allow_console_errors:
            problems += [f"console error: {e}" for e in rec.console_errors]
        browsing.context.close()
    assert not problems, "\n".join(problems)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if METRICS:
        terminalreporter.section("widget measurements")
        for name, value in METRICS.items():
            terminalreporter.write_line(f"{name}: {value}")
