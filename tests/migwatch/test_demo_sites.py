"""The bundled sample web: its sources.yaml is valid and every feed, listing and page works."""

from __future__ import annotations

import re
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from parsel import Selector
from ruamel.yaml import YAML

from config.schema import SourceConfig, SourcesFile
from migwatch.sampleweb import DEMO_SITES, SampleWeb

NEWS_NS = {
    "sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
    "news": "http://www.google.com/schemas/sitemap-news/0.9",
}
EXPECTED_ENTRIES = {"gmw-wire": 8, "mirai-national": 6, "humanitarian-ledger": 6}
EXPECTED_LISTING_PAGES = {"govportal-info": [8, 8, 2], "kyosei-press": [3]}
EXPECTED_ARTICLES = 43


@pytest.fixture(scope="module")
def web() -> Iterator[SampleWeb]:
    with SampleWeb() as server:
        yield server


@pytest.fixture(scope="module")
def sources(web: SampleWeb) -> dict[str, SourceConfig]:
    text = (DEMO_SITES / "sources.yaml").read_text(encoding="utf-8")
    data = YAML(typ="safe").load(text.replace("{base}", web.base_url))
    parsed = SourcesFile.model_validate(data).sources
    return {source.key: source for source in parsed}


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, response.read()


def listing_pages(source: SourceConfig) -> list[tuple[str, Selector]]:
    assert source.listing is not None
    pages: list[tuple[str, Selector]] = []
    url: str | None = source.url
    while url is not None and len(pages) < source.listing.max_pages:
        _, headers, body = fetch(url)
        charset = headers["content-type"].split("charset=")[-1]
        page = Selector(text=body.decode(charset.replace("Shift_JIS", "cp932")))
        pages.append((url, page))
        following = page.css(source.listing.next_page).attrib.get("href") if (
            source.listing.next_page
        ) else None
        url = urljoin(url, following) if following else None
    return pages


def listing_links(source: SourceConfig) -> list[str]:
    assert source.listing is not None
    links = []
    for url, page in listing_pages(source):
        for item in page.css(source.listing.item):
            links.append(urljoin(url, item.css(source.listing.link).attrib["href"]))
    return links


def feed_links(source: SourceConfig) -> list[str]:
    parsed = feedparser.parse(fetch(source.url)[2])
    return [entry.link for entry in parsed.entries]


def sitemap_links(source: SourceConfig) -> list[str]:
    root = ET.fromstring(fetch(source.url)[2])
    return [loc.text or "" for loc in root.findall("sm:url/sm:loc", NEWS_NS)]


def article_links(source: SourceConfig) -> list[str]:
    if source.kind == "feed":
        return feed_links(source)
    if source.kind == "sitemap":
        return sitemap_links(source)
    return listing_links(source)


def test_sources_file_validates_with_unique_keys_on_the_server(
    web: SampleWeb, sources: dict[str, SourceConfig]
) -> None:
    assert set(sources) == {
        "gmw-wire", "gmw-news-sitemap", "mirai-national",
        "humanitarian-ledger", "govportal-info", "kyosei-press",
    }
    assert all(source.url.startswith(web.base_url + "/") for source in sources.values())
    assert sources["humanitarian-ledger"].fetch_articles is False


def test_every_feed_parses_cleanly_with_dates_and_ids(
    sources: dict[str, SourceConfig],
) -> None:
    for key, count in EXPECTED_ENTRIES.items():
        parsed = feedparser.parse(fetch(sources[key].url)[2])
        assert not parsed.bozo, (key, parsed.get("bozo_exception"))
        assert len(parsed.entries) == count, key
        for entry in parsed.entries:
            assert entry.get("published_parsed") or entry.get("updated_parsed"), key
            assert entry.get("id"), key
    versions = {k: feedparser.parse(fetch(sources[k].url)[2]).version for k in EXPECTED_ENTRIES}
    assert versions == {
        "gmw-wire": "rss20", "mirai-national": "rss10", "humanitarian-ledger": "atom10"
    }


def test_atom_feed_carries_html_content_for_some_entries(sources: dict[str, SourceConfig]) -> None:
    parsed = feedparser.parse(fetch(sources["humanitarian-ledger"].url)[2])
    with_content = [e for e in parsed.entries if e.get("content")]
    assert 0 < len(with_content) < len(parsed.entries)
    assert all(e.content[0].type == "text/html" for e in with_content)


def test_news_sitemap_has_publication_dates_and_titles(sources: dict[str, SourceConfig]) -> None:
    root = ET.fromstring(fetch(sources["gmw-news-sitemap"].url)[2])
    urls = root.findall("sm:url", NEWS_NS)
    assert len(urls) == 6
    for node in urls:
        assert node.findtext("news:news/news:publication/news:name", namespaces=NEWS_NS)
        assert node.findtext("news:news/news:publication_date", namespaces=NEWS_NS)
        assert node.findtext("news:news/news:title", namespaces=NEWS_NS)
    languages = {
        n.findtext("news:news/news:publication/news:language", namespaces=NEWS_NS) for n in urls
    }
    assert languages == {"en", "ja"}


def test_listing_selectors_find_the_expected_items_per_page(
    sources: dict[str, SourceConfig],
) -> None:
    for key, counts in EXPECTED_LISTING_PAGES.items():
        source = sources[key]
        assert source.listing is not None
        pages = listing_pages(source)
        assert [len(page.css(source.listing.item)) for _, page in pages] == counts, key
        for _, page in pages:
            for item in page.css(source.listing.item):
                assert item.css(source.listing.link).attrib["href"]
                assert source.listing.date and item.css(source.listing.date)


def test_every_linked_article_page_answers_200(sources: dict[str, SourceConfig]) -> None:
    pages: set[str] = set()
    for source in sources.values():
        links = article_links(source)
        assert links, source.key
        for link in links:
            status, headers, body = fetch(link)
            assert status == 200, link
            assert headers["content-type"].startswith("text/html"), link
            assert b"<h1" in body, link
            pages.add(urlsplit(link).path)
    assert len(pages) == EXPECTED_ARTICLES


def test_one_story_is_cross_posted_with_and_without_tracking_parameters(
    sources: dict[str, SourceConfig],
) -> None:
    in_feed = feed_links(sources["gmw-wire"])
    in_sitemap = set(sitemap_links(sources["gmw-news-sitemap"]))
    tracked = [link for link in in_feed if "utm_source=rss" in link]
    assert len(tracked) == 1
    assert tracked[0].split("?")[0] in in_sitemap


def test_one_wire_story_is_syndicated_under_another_url(web: SampleWeb) -> None:
    body = fetch(web.url("/ledger/2026/11/cities-centre-stage-japan-integration-forum/"))[2]
    original = web.url("/gmw/news/2026/11/japan-iom-integration-forum-cities.html")
    assert f'"isBasedOn": "{original}"'.encode() in body
    assert b"Cities take centre stage" in body
    assert b"Cities take centre stage" not in fetch(original)[2]


def test_legacy_pages_decode_strictly_in_their_declared_encodings(web: SampleWeb) -> None:
    legacy = [
        ("/kyosei/press/index.html", "cp932", "Shift_JIS"),
        ("/kyosei/press/r08/r081125_01.html", "cp932", "Shift_JIS"),
        ("/kyosei/press/r08/r081124_01.html", "cp932", "Shift_JIS"),
        ("/kyosei/press/r08/r081120_01.html", "cp932", "Shift_JIS"),
        ("/mirai/chiiki/shizuoka/20261121-02.html", "euc_jp", "EUC-JP"),
    ]
    for path, codec, label in legacy:
        _, headers, body = fetch(web.url(path))
        assert headers["content-type"] == f"text/html; charset={label}"
        text = body.decode(codec)  # strict: a single bad byte fails the test
        assert f"charset={label}" in text or f'charset="{label}"' in text
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
    sjis = fetch(web.url("/kyosei/press/r08/r081125_01.html"))[2].decode("cp932")
    assert "①" in sjis and "㈱" in sjis and "令和8年11月25日" in sjis
    assert not re.search(r"20\d\d[-/年]", sjis)  # only era dates on the legacy site


def test_no_sample_page_links_under_private(web: SampleWeb) -> None:
    robots = fetch(web.url("/robots.txt"))[2].decode()
    assert "Disallow: /private/" in robots
    for path in DEMO_SITES.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".xml", ".rss", ".rdf", ".atom"}:
            assert b"/private/" not in path.read_bytes(), path


def test_demo_files_use_base_placeholder_not_fixed_hosts() -> None:
    for path in DEMO_SITES.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".xml", ".rss", ".rdf", ".atom", ".yaml"}:
            data = path.read_bytes()
            assert b"127.0.0.1" not in data and b"localhost" not in data, path


def test_readme_lists_every_sample_source(sources: dict[str, SourceConfig]) -> None:
    readme = (Path(DEMO_SITES) / "README.md").read_text(encoding="utf-8")
    for key in sources:
        assert f"`{key}`" in readme
