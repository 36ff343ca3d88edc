"""The article search as JSON, over articles the real pipeline collected, on both dialects."""

from __future__ import annotations

import urllib.parse
from pathlib import Path

from migwatch.sampleweb import SampleWeb
from tests.web.fixtures import (
    EN_ARTICLE,
    EN_PHRASE,
    JA_ARTICLE,
    JA_PHRASE,
    collect_demo,
    fetch,
    serve,
)


def _api(base: str, **params: str) -> dict:
    reply = fetch(f"{base}api/articles?{urllib.parse.urlencode(params)}")
    assert reply.status == 200, reply.body
    assert reply.headers["Content-Type"].startswith("application/json")
    return reply.json()


def test_a_phrase_from_an_articles_text_finds_it_in_both_languages(
    db_url: str, tmp_path: Path
) -> None:
    with SampleWeb() as sites:
        collected = collect_demo(tmp_path / "demo", sites, db_url)
        with serve(collected.app) as web:
            ja = _api(web.url, q=JA_PHRASE)
            en = _api(web.url, q=EN_PHRASE.lower())  # search ignores case
            # every word must match; a word the article lacks leaves it out
            none = _api(web.url, q=f"{JA_PHRASE} 存在しない語句")
            short = _api(web.url, q="難民")  # two characters: no trigram of its own
            iom_ja = _api(web.url, q="国際移住機関", theme="iom")
            future = _api(web.url, q="IOM", since="2099-01-01")
            everything = _api(web.url)
    assert ja["total"] >= 1 and JA_ARTICLE in ja["articles"][0]["url"]
    assert en["total"] >= 1 and EN_ARTICLE in en["articles"][0]["url"]
    first = ja["articles"][0]
    assert set(first) == {"id", "title", "url", "source", "language", "published_at",
                          "first_seen_at", "themes"}
    assert first["language"] == "ja" and "iom" in first["themes"]
    assert none["total"] == 0 and none["articles"] == []
    assert short["total"] >= 1
    assert all("難民" in a["title"] or a["id"] for a in short["articles"])
    assert iom_ja["total"] >= 1 and all("iom" in a["themes"] for a in iom_ja["articles"])
    assert future["total"] == 0
    assert everything["total"] == len(everything["articles"]) > 30
    times = [a["first_seen_at"] for a in everything["articles"]]
    assert times == sorted(times, reverse=True)  # newest first without words
