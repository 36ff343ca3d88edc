"""Main text and metadata from real-shaped news pages, English and Japanese, any encoding."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.errors import ExtractError
from crawler.extract import detect_language, extract_article

PAGES = Path(__file__).parent / "pages"
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2025, 6, 1, tzinfo=UTC)


def page(name: str) -> bytes:
    return (PAGES / name).read_bytes()


def test_english_news_page_gets_json_ld_timestamp_author_and_canonical_url() -> None:
    article = extract_article(
        page("en_news_jsonld.html"),
        "https://news.harbourline.example/world/2025/03/sahel-migrant-assistance-cuts?utm_source=x",
        content_type="text/html; charset=utf-8",
        tz=TOKYO,
        now=NOW,
    )
    assert article.title == "Funding shortfall forces cuts to migrant assistance across the Sahel"
    assert article.author == "Amara Okonkwo-Reyes"
    # 09:30 at +01:00 from JSON-LD, not the date-only "18 March 2025" in the text
    assert article.published_at == datetime(2025, 3, 18, 8, 30, tzinfo=UTC)
    assert article.language == "en"
    assert article.canonical_url == (
        "https://news.harbourline.example/world/2025/03/sahel-migrant-assistance-cuts"
    )
    assert article.description is not None
    assert article.description.startswith("Humanitarian agencies say a sharp drop")
    assert "three transit centres near Agadez" in article.text
    assert "Newsletters" not in article.text
    assert "All rights reserved" not in article.text


def test_japanese_page_whose_only_date_is_reiwa_gets_that_date() -> None:
    article = extract_article(
        page("ja_reiwa_only.html"),
        "https://minato-tabunka.example/news/0323.html",
        tz=TOKYO,
        now=NOW,
    )
    assert article.title == "特定技能外国人の受入れ状況に関する説明会の開催について"
    assert article.published_at == datetime(2025, 3, 22, 15, 0, tzinfo=UTC)
    assert article.language == "ja"  # no lang attribute: detected from the text
    assert "育成就労制度への移行" in article.text
    assert "アクセス" not in article.text
    assert article.canonical_url is None


def test_shift_jis_page_is_decoded_with_vendor_characters_and_dated_to_the_minute() -> None:
    article = extract_article(
        page("ja_shift_jis.html"), "https://city.example/kokusai/soudan3.html", tz=TOKYO, now=NOW
    )
    assert article.title == "外国人住民のための生活相談会（第３回）を開催しました"
    assert "① 在留手続き・仕事に関する相談" in article.text
    assert "③ 子育て・教育に関する相談" in article.text
    assert article.published_at == datetime(2025, 3, 23, 5, 5, tzinfo=UTC)
    assert article.language == "ja"
    assert "ホーム" not in article.text  # the menu table is navigation, not article


def test_euc_jp_page_is_decoded_and_dated_from_its_heisei_date() -> None:
    article = extract_article(page("ja_euc_jp.html"), None, tz=TOKYO, now=NOW)
    assert article.title == "難民認定制度に関する公開講座のご案内"
    assert "補完的保護の考え方" in article.text
    assert article.published_at == datetime(2019, 4, 25, 15, 0, tzinfo=UTC)


def test_header_charset_is_used_for_bytes() -> None:
    html = (
        "<html><head><title>難民支援の現場から</title></head><body><article><h1>難民支援の現場から</h1>"
        "<p>難民申請者の生活を支える団体の活動について、担当者に話を聞きました。住まいの確保や医療へのアクセス、"
        "日本語学習の機会づくりなど、課題は多岐にわたります。</p></article></body></html>"
    )
    article = extract_article(
        html.encode("cp932"), None, content_type="text/html; charset=Shift_JIS", tz=TOKYO
    )
    assert "住まいの確保" in article.text


def test_text_input_is_used_as_is() -> None:
    html = (PAGES / "ja_reiwa_only.html").read_text(encoding="utf-8")
    article = extract_article(html, None, tz=TOKYO, now=NOW)
    assert article.published_at == datetime(2025, 3, 22, 15, 0, tzinfo=UTC)


def test_page_with_almost_no_text_raises_extract_error_naming_the_url() -> None:
    with pytest.raises(ExtractError, match=r"no article text found in https://app\.example/news/1"):
        extract_article(page("nearly_empty.html"), "https://app.example/news/1", tz=TOKYO, now=NOW)


def test_empty_bytes_raise_extract_error() -> None:
    with pytest.raises(ExtractError, match="no article text found"):
        extract_article(b"", "https://app.example/empty", tz=TOKYO)


def test_dates_after_now_plus_a_year_are_ignored() -> None:
    html = (PAGES / "ja_reiwa_only.html").read_text(encoding="utf-8")
    article = extract_article(html, None, tz=TOKYO, now=datetime(2020, 1, 1, tzinfo=UTC))
    assert article.published_at is None


def test_script_contradicting_html_lang_wins() -> None:
    html = (
        (PAGES / "ja_reiwa_only.html")
        .read_text(encoding="utf-8")
        .replace("<html>", '<html lang="en">')
    )
    assert extract_article(html, None, tz=TOKYO).language == "ja"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("国際移住機関（IOM）は本日、アジア太平洋地域の移住に関する報告書を発表しました。", "ja"),
        ("国际移民组织今天发布了关于亚太地区移民问题的最新报告，呼吁各国加强合作。", "zh"),
        ("국제이주기구는 오늘 아시아 태평양 지역 이주에 관한 보고서를 발표했습니다.", "ko"),
        (
            "The International Organization for Migration said on Tuesday that funding for "
            "its operations in the region had fallen sharply.",
            "en",
        ),
        (
            "L'Organisation internationale pour les migrations a publié un rapport sur la "
            "situation des migrants dans la région et les besoins de financement.",
            "fr",
        ),
        (
            "La Organización Internacional para las Migraciones publicó un informe sobre la "
            "situación de los migrantes en la región y las necesidades de financiación.",
            "es",
        ),
        (
            "Die Internationale Organisation für Migration hat einen Bericht über die Lage der "
            "Migranten in der Region und den Finanzierungsbedarf veröffentlicht.",
            "de",
        ),
        ("12345 67890", None),
        ("", None),
    ],
)
def test_detect_language_reads_script_and_function_words(text: str, language: str | None) -> None:
    assert detect_language(text) == language
