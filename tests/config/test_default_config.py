"""The shipped defaults: migwatch.yaml equals the schema's defaults, sources.yaml is sane."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from ruamel.yaml import YAML

import config
from config.loader import load_settings, load_sources
from config.schema import Settings, SourceConfig

DEFAULTS = Path(config.__file__).parent


@pytest.fixture(scope="module")
def sources() -> list[SourceConfig]:
    return load_sources(DEFAULTS)


def _all_keys(model: type[Settings] | type[object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    fields = getattr(model, "model_fields", {})
    for name, info in fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
            keys |= _all_keys(annotation, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def _written_keys(data: dict[str, object], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in data.items():
        if isinstance(value, dict):
            keys |= _written_keys(value, f"{prefix}{name}.")
        else:
            keys.add(f"{prefix}{name}")
    return keys


def test_shipped_settings_load_and_equal_the_schema_defaults() -> None:
    settings = load_settings(DEFAULTS)
    assert settings == Settings.model_validate({})
    assert settings.network.allow_private is False


def test_shipped_settings_write_out_every_key() -> None:
    data = YAML(typ="safe").load((DEFAULTS / "migwatch.yaml").read_text(encoding="utf-8"))
    assert _written_keys(data) == _all_keys(Settings)


def test_source_keys_are_unique(sources: list[SourceConfig]) -> None:
    keys = [source.key for source in sources]
    assert len(keys) == len(set(keys))


def test_source_urls_are_http_and_public(sources: list[SourceConfig]) -> None:
    for source in sources:
        parts = urlsplit(source.url)
        assert parts.scheme in ("http", "https"), source.key
        host = parts.hostname or ""
        assert host and "." in host and host != "localhost", source.key
        assert not host.endswith((".local", ".internal", ".localhost")), source.key
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            continue  # a name, not a literal address
        assert address.is_global, source.key


def test_every_listing_has_selectors(sources: list[SourceConfig]) -> None:
    listings = [source for source in sources if source.kind == "listing"]
    assert listings
    for source in listings:
        assert source.listing is not None and source.listing.item, source.key


def test_government_aggregator_reads_two_pages(sources: list[SourceConfig]) -> None:
    (aggregator,) = [s for s in sources if s.url.startswith("https://www.gov-online.go.jp/")]
    assert aggregator.enabled and aggregator.listing is not None
    assert aggregator.listing.max_pages == 2
    assert aggregator.listing.next_page and aggregator.listing.date


def test_google_news_urls_are_well_formed_and_not_fetched(sources: list[SourceConfig]) -> None:
    google = [s for s in sources if urlsplit(s.url).hostname == "news.google.com"]
    assert {s.language for s in google} == {"ja", "en"}
    for source in google:
        parts = urlsplit(source.url)
        assert parts.path == "/rss/search", source.key
        assert " " not in source.url, source.key
        query = parse_qs(parts.query)
        assert query["q"][0].strip(), source.key
        assert set(query) == {"q", "hl", "gl", "ceid"}, source.key
        hl, gl, ceid = query["hl"][0], query["gl"][0], query["ceid"][0]
        assert ceid == f"{gl}:{hl.split('-')[0]}", source.key
        assert source.kind == "feed" and source.fetch_articles is False, source.key


def test_weights_favour_iom_and_un_primary_sources(sources: list[SourceConfig]) -> None:
    by_key = {s.key: s for s in sources}
    media = max(s.weight for s in sources if "ja-media" in s.categories)
    assert by_key["un-news-migrants"].weight > media
    assert by_key["iom-rss"].weight > media


def test_unverified_and_disabled_sources_say_why(sources: list[SourceConfig]) -> None:
    text = (DEFAULTS / "sources.yaml").read_text(encoding="utf-8")
    assert "# unverified:" in text
    for source in sources:
        if not source.enabled:
            assert source.note, source.key
