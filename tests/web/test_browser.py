"""The web app in headless Chromium (Debian's, driven by Playwright): search in Japanese
and English, add a source through discovery and preview, mark a missed theme, switch the
language.  Screenshots at 375 and 1,280 px in both languages go to test-artifacts/web/.

Runs once (SQLite): the dialects are covered by the JSON search tests.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from digest.build import build_digest, load_theme_infos
from digest.periods import current_week
from migwatch.sampleweb import SampleWeb
from migwatch.web.server import WebServer
from tests.web.fixtures import JA_PHRASE, Collected, collect_demo, serve

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"
SITE = Path(__file__).resolve().parents[1] / "migwatch" / "data" / "site"
WIDTHS = (375, 1280)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("chromium is not installed: apt-get install -y chromium fonts-noto-cjk "
                    '(or deselect with -m "not browser")')
    return found


@pytest.fixture(scope="module")
def collected(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Collected, SampleWeb]]:
    root = tmp_path_factory.mktemp("web-browser")
    with SampleWeb() as demo_sites, SampleWeb(SITE) as other_site:
        demo = collect_demo(root / "demo", demo_sites, f"sqlite:///{root / 'db.sqlite3'}")
        now = datetime.now(UTC)
        for language in ("ja", "en"):  # the start page shows the latest issue
            build_digest(demo.app.sessions, demo.app.settings,
                         load_theme_infos(demo.app.config_path),
                         week=current_week(now, demo.app.settings.tz), language=language,
                         now=now)
        yield demo, other_site


@pytest.fixture(scope="module")
def web(collected: tuple[Collected, SampleWeb]) -> Iterator[WebServer]:
    with serve(collected[0].app) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=chromium_path(),
                                          args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    tab = context.new_page()
    errors: list[str] = []
    tab.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    yield tab
    context.close()
    assert not errors, errors  # a CSP violation or a script error shows up here


def _shoot_widths(page: object, name: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})  # type: ignore[attr-defined]
        wide = page.evaluate(  # type: ignore[attr-defined]
            "document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 1, f"{name} at {width}px is {wide}px wider than the screen"
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 1280, "height": 900})  # type: ignore[attr-defined]


def _shoot(page: object, name: str, *, both: bool = True) -> None:
    """Screenshots at both widths in the page's language, then (``both``) in the other one,
    switched with the page's own button and back."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    first = page.locator("html").get_attribute("lang")  # type: ignore[attr-defined]
    _shoot_widths(page, f"{name}-{first}")
    if both:
        for _ in range(2):
            page.click("#switch-lang")  # type: ignore[attr-defined]
            now = page.locator("html").get_attribute("lang")  # type: ignore[attr-defined]
            if now != first:
                _shoot_widths(page, f"{name}-{now}")
        assert page.locator("html").get_attribute("lang") == first  # type: ignore[attr-defined]


def test_search_in_japanese_and_english_then_switch_language(page: object, web: WebServer) -> None:
    page.goto(web.url)  # type: ignore[attr-defined]
    assert page.locator("html").get_attribute("lang") == "ja"  # digest.language: ja
    assert page.locator("#latest-issue .button").count() == 2  # type: ignore[attr-defined]
    _shoot(page, "home")
    page.fill("#top-q", JA_PHRASE)  # type: ignore[attr-defined]
    page.click("#top-search")  # type: ignore[attr-defined]
    first = page.locator("#results li").first  # type: ignore[attr-defined]
    assert "人身取引" in first.inner_text()
    assert page.locator("#results mark").count() >= 1  # type: ignore[attr-defined]
    _shoot(page, "search-ja-words")
    page.fill("#q", "funding cuts")  # type: ignore[attr-defined]
    page.select_option("#f-language", "en")  # type: ignore[attr-defined]
    page.click("#apply")  # type: ignore[attr-defined]
    text = page.locator("#results").inner_text().lower()  # type: ignore[attr-defined]
    assert "funding" in text
    page.click("#switch-lang")  # type: ignore[attr-defined]
    assert page.locator("html").get_attribute("lang") == "en"  # type: ignore[attr-defined]
    assert "best match first" in page.locator("#result-count").inner_text()  # type: ignore[attr-defined]
    assert page.input_value("#q") == "funding cuts"  # the search survived the switch
    _shoot(page, "search-en-words")
    page.click("#switch-lang")  # type: ignore[attr-defined]
    assert page.locator("html").get_attribute("lang") == "ja"  # type: ignore[attr-defined]


def test_add_a_source_through_discovery_and_preview(
    page: object, web: WebServer, collected: tuple[Collected, SampleWeb]
) -> None:
    demo, site = collected
    page.goto(web.url + "sources")  # type: ignore[attr-defined]
    _shoot(page, "sources")
    page.fill("#source-url", site.url("/kaigai/"))  # type: ignore[attr-defined]
    page.click("#source-preview")  # type: ignore[attr-defined]
    assert page.inner_text("#preview-feed-url").endswith("/kaigai/feed.rss")  # type: ignore[attr-defined]
    page.click("#pick-2")  # the page's other feed, then back to the first  # type: ignore[attr-defined]
    assert page.inner_text("#preview-feed-url").endswith("/kaigai/comments.atom")  # type: ignore[attr-defined]
    page.click("#pick-1")  # type: ignore[attr-defined]
    assert page.inner_text("#preview-feed-url").endswith("/kaigai/feed.rss")  # type: ignore[attr-defined]
    assert page.locator("#preview-items li").count() >= 1  # type: ignore[attr-defined]
    _shoot(page, "source-preview", both=False)
    key = page.input_value("#add-key")  # type: ignore[attr-defined]
    page.click("#add-save")  # type: ignore[attr-defined]
    assert key in page.inner_text("#added")  # type: ignore[attr-defined]
    assert page.locator(f"#source-{key}").count() == 1  # type: ignore[attr-defined]
    written = (demo.config / "sources.yaml").read_text(encoding="utf-8")
    assert f"key: {key}" in written and "/kaigai/feed.rss" in written
    assert written.startswith("#")  # the file's comments are still there


def test_mark_a_missed_theme_writes_the_example_and_explains(
    page: object, web: WebServer, collected: tuple[Collected, SampleWeb]
) -> None:
    demo, _site = collected
    page.goto(web.url + "articles?q=" + JA_PHRASE)  # type: ignore[attr-defined]
    page.click("#results li h3 a")  # type: ignore[attr-defined]
    _shoot(page, "article")
    options = page.locator("#missed-theme option")  # type: ignore[attr-defined]
    theme = options.first.get_attribute("value")
    page.select_option("#missed-theme", theme)  # type: ignore[attr-defined]
    page.click("#missed-submit")  # type: ignore[attr-defined]
    assert page.locator("#example-saved").count() == 1  # type: ignore[attr-defined]
    assert page.locator("#fixes li").count() >= 1  # type: ignore[attr-defined]
    _shoot(page, "missed-theme", both=False)
    themes_yaml = (demo.config / "themes.yaml").read_text(encoding="utf-8")
    assert "人身取引" in themes_yaml.split(f"- id: {theme}", 1)[1].split("- id:", 1)[0]
    page.click("#switch-lang")  # the answer page switches back to its article
    assert page.locator("#article").count() == 1  # type: ignore[attr-defined]
    page.click("#switch-lang")  # type: ignore[attr-defined]
    page.goto(web.url + "themes")  # type: ignore[attr-defined]
    _shoot(page, "themes")
    page.fill("#test-text", "国際移住機関(IOM)は、スーダンからの避難民への支援を拡大すると発表した。")  # type: ignore[attr-defined]
    page.click("#test-submit")  # type: ignore[attr-defined]
    assert page.locator("#verdict-iom .yes").count() == 1  # type: ignore[attr-defined]
    _shoot(page, "theme-test", both=False)
