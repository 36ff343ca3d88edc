"""The issue in headless Chromium at phone and desktop widths, in both languages: every
section visible, nothing wider than the viewport.  Screenshots go to test-artifacts/.

Driven over the DevTools protocol (``--remote-debugging-port`` on 127.0.0.1), so the
digest HTML itself never needs a measuring script.  Missing Chromium fails under CI;
locally the test is deselected only with ``-m "not browser"``.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from db import create_db_engine, migrate
from tests.digest.fixtures.setup import build, seed, settings_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "digest"
SECTIONS = ("masthead", "highlights", "summary", "theme-iom", "theme-forums", "theme-funding",
            "quiet", "health", "footer")
MEASURE = """
(() => {
  const ids = %s;
  const width = window.innerWidth;
  const sections = {};
  for (const id of ids) {
    const el = document.getElementById(id);
    if (!el) { sections[id] = null; continue; }
    const r = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    sections[id] = {w: r.width, h: r.height, left: r.left, right: r.right,
                    hidden: style.display === 'none' || style.visibility === 'hidden'};
  }
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && (r.right > width + 0.5 || r.left < -0.5)) {
      wide.push(el.tagName + ' ' + (el.id || '') + ' ' + Math.round(r.right));
    }
  }
  const pre = document.getElementById('preheader');
  const preheader = pre ? {shown: pre.getBoundingClientRect().height > 0 &&
                                  getComputedStyle(pre).display !== 'none'} : null;
  return JSON.stringify({width: width, scroll: document.documentElement.scrollWidth,
                         sections: sections, wide: wide.slice(0, 10), preheader: preheader});
})()
"""


def chromium_path() -> str:
    """The Chromium binary; missing is a failure, not a skip."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("chromium is not installed: apt-get install -y chromium "
                '(or deselect with -m "not browser")')


class DevTools:
    """A minimal DevTools-protocol client over one page target."""

    def __init__(self, url: str) -> None:
        self.socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def close(self) -> None:
        self.socket.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [chromium_path(), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={profile}",
         "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
         "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        # Chromium writes its chosen port here once it listens; poll the file, not a timer
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        page = next(t for t in targets if t.get("type") == "page")
        tools = DevTools(page["webSocketDebuggerUrl"])
        yield tools
        tools.close()
    finally:
        process.terminate()
        process.wait(timeout=20)


def _load(tools: DevTools, path: Path, width: int) -> None:
    tools.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
               deviceScaleFactor=1, mobile=width < 600)
    tools.call("Page.enable")
    tools.call("Page.navigate", url=path.as_uri())
    for _ in range(200):
        state = tools.call("Runtime.evaluate", expression="document.readyState",
                           returnByValue=True)
        if state["result"]["value"] == "complete":
            return
        time.sleep(0.02)
    pytest.fail(f"{path} did not finish loading")


@pytest.mark.browser
@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_section_is_visible_and_nothing_overflows_at_phone_and_desktop_widths(
    browser: DevTools, tmp_path: Path, language: str
) -> None:
    # the page does not depend on the dialect, so one SQLite database is enough here
    engine = create_db_engine(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
    migrate(engine)
    seed(engine)
    built = build(engine, tmp_path, language=language, settings=settings_for(max_per_theme=1))
    mail_page = tmp_path / f"mail.{language}.html"
    mail_page.write_text(built.html, encoding="utf-8")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for page, kind in ((mail_page, "mail"), (built.html_path, "archive")):
        for width in (375, 1200):
            _load(browser, page, width)
            found = browser.call("Runtime.evaluate", expression=MEASURE % json.dumps(SECTIONS),
                                 returnByValue=True)
            report = json.loads(found["result"]["value"])
            shot = browser.call("Page.captureScreenshot", format="png",
                                captureBeyondViewport=True)
            name = f"digest-{kind}-{language}-{width}.png"
            (ARTIFACTS / name).write_bytes(base64.b64decode(shot["data"]))
            assert report["width"] == width
            assert report["scroll"] <= width, f"{name}: page scrolls sideways {report}"
            assert report["wide"] == [], f"{name}: wider than the viewport {report['wide']}"
            if kind == "mail":
                # in the inbox preview, never on the page
                assert report["preheader"] == {"shown": False}, name
            else:
                assert report["preheader"] is None, name
            for section, box in report["sections"].items():
                assert box is not None, f"{name}: section {section} missing"
                assert not box["hidden"] and box["w"] > 0 and box["h"] > 0, (name, section)
                assert box["right"] <= width + 0.5, (name, section, box)
    engine.dispose()
