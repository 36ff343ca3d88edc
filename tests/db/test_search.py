"""Search edge cases on both dialects: short words (SQLite answers them from the trigram
index), a word at the very end of a title or text, words found only apart, and edits."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine

from db import session_factory
from db.models import Article
from db.search import ArticleQuery, search_articles, search_words
from db.store import NewArticle, SourceSpec, store_batch, sync_sources

NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
ARTICLES = (  # (title, text): the short words sit at the very end of a column
    ("ウクライナ難民", "避難した人々の受け入れについて自治体が協議した。"),
    ("Sudan border aid stepped up", "The agency said the plan was agreed with the UN"),
    ("技能実習制度の見直し", "政府は技能実習に代わる新しい制度の案を示した。"),
    ("Dues unpaid", "Member states owe the budget, and the funding gap grows."),
)


def _store(engine: Engine) -> dict[str, int]:
    with session_factory(engine)() as session:
        ids = sync_sources(session, [SourceSpec(key="wire", name="Wire", kind="feed",
                                                url="https://wire.example/feed",
                                                language=None, weight=1.0, enabled=True)], NOW)
        session.commit()
    found: dict[str, int] = {}
    for number, (title, text) in enumerate(ARTICLES):
        url = f"https://wire.example/{number}"
        with engine.begin() as conn:
            stored = store_batch(conn, [(ids["wire"], NewArticle(
                source_key="wire", identity=url, canonical_url=url, url=url, guid=None,
                content_hash=str(number), title=title, summary="", text=text, language=None,
                author=None, published_at=NOW, is_fetched=True))], [], NOW)
        found[title] = stored.stored[url]
    return found


def _titles(engine: Engine, text: str) -> set[str]:
    with session_factory(engine)() as session:
        page = search_articles(session, ArticleQuery(words=search_words(text)))
    return {hit.title for hit in page.hits}


def test_short_words_are_found_at_the_end_of_a_column_and_missing_ones_find_nothing(
    engine: Engine,
) -> None:
    _store(engine)
    assert _titles(engine, "難民") == {"ウクライナ難民"}  # last two characters of a title
    assert _titles(engine, "un") == {"Sudan border aid stepped up", "Dues unpaid"}
    assert _titles(engine, "ZZ") == set()
    assert _titles(engine, "制") == {"技能実習制度の見直し"}
    assert _titles(engine, "UN 難民") == set()  # each word is in an article, not both
    assert _titles(engine, "技能実習 案") == {"技能実習制度の見直し"}
    assert _titles(engine, "funding dues") == {"Dues unpaid"}  # title and text together
    assert _titles(engine, '"unpaid Member"') == set()  # a phrase never spans title and text


def test_an_edited_or_removed_article_is_searched_as_it_now_is(engine: Engine) -> None:
    ids = _store(engine)
    with session_factory(engine)() as session:
        session.execute(update(Article).where(Article.id == ids["ウクライナ難民"])
                        .values(title="ウクライナ避難民の支援", text="支援は続く。"))
        session.execute(delete(Article).where(Article.id == ids["Dues unpaid"]))
        session.commit()
    assert _titles(engine, "難民") == {"ウクライナ避難民の支援"}
    assert _titles(engine, "協議") == set()
    assert _titles(engine, "funding") == set()
    assert _titles(engine, "un") == {"Sudan border aid stepped up"}
