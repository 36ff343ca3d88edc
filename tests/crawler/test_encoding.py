"""Decoding downloaded bytes: BOM, HTTP charset, declarations, sniffing, Japanese codecs."""

from __future__ import annotations

import codecs

import feedparser
import pytest

from crawler.encoding import decode_document, normalize_encoding_name, xml_to_utf8

NOTICE = (
    "出入国在留管理庁は、特定技能制度の運用状況について説明会を開きました。"
    "① 在留手続き ② 受入れ機関の義務 ③ 支援計画の作り方を取り上げました。"
)
PLAIN_NOTICE = (
    "国際移住機関と外務省は、外国人の受入れと社会統合に関する国際フォーラムを東京で開きました。"
)


def html_page(body: str, head: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{head}<title>お知らせ</title></head>"
        f"<body><p>{body}</p></body></html>"
    )


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        ("Shift_JIS", "cp932"),
        ("shift-jis", "cp932"),
        ("sjis", "cp932"),
        ("x-sjis", "cp932"),
        ("MS_Kanji", "cp932"),
        ("Windows-31J", "cp932"),
        ("EUC-JP", "euc_jp"),
        ("x-euc-jp", "euc_jp"),
        ("ISO-2022-JP", "iso2022_jp"),
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
    ],
)
def test_charset_labels_map_to_the_codecs_browsers_use(label: str, codec: str) -> None:
    assert normalize_encoding_name(label) == codec


def test_unknown_and_dangerous_labels_have_no_codec() -> None:
    assert normalize_encoding_name("klingon-8") is None
    assert normalize_encoding_name("utf-7") is None
    assert normalize_encoding_name("") is None


def test_shift_jis_page_keeps_vendor_characters_like_circled_digits() -> None:
    page = html_page(
        NOTICE, '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">'
    )
    decoded = decode_document(page.encode("cp932"), "text/html; charset=Shift_JIS")
    assert decoded.encoding == "cp932"
    assert "① 在留手続き ② 受入れ機関の義務 ③" in decoded.text


def test_euc_jp_page_is_decoded_from_its_meta_declaration() -> None:
    page = html_page(
        PLAIN_NOTICE, '<meta http-equiv="Content-Type" content="text/html; charset=EUC-JP">'
    )
    decoded = decode_document(page.encode("euc_jp"), "text/html")
    assert decoded.encoding == "euc_jp"
    assert PLAIN_NOTICE in decoded.text


def test_euc_jp_with_jis_x_0213_characters_falls_back_to_euc_jis_2004() -> None:
    text = PLAIN_NOTICE + "（㋐）"  # ㋐ exists in JIS X 0213 only
    page = html_page(text, '<meta charset="EUC-JP">')
    decoded = decode_document(page.encode("euc_jis_2004"))
    assert decoded.encoding == "euc_jis_2004"
    assert text in decoded.text


def test_utf8_with_bom_is_decoded_and_the_bom_removed() -> None:
    page = html_page(NOTICE)
    decoded = decode_document(
        codecs.BOM_UTF8 + page.encode("utf-8"), "text/html; charset=Shift_JIS"
    )
    assert decoded.encoding == "utf-8"
    assert decoded.text.startswith("<!DOCTYPE html>")
    assert NOTICE in decoded.text


def test_utf16_bom_wins_over_everything() -> None:
    decoded = decode_document(codecs.BOM_UTF16_LE + html_page(NOTICE).encode("utf-16-le"))
    assert decoded.encoding == "utf-16-le"
    assert NOTICE in decoded.text


def test_utf8_without_bom_or_declaration_is_recognised() -> None:
    decoded = decode_document(html_page(NOTICE).encode("utf-8"))
    assert decoded.encoding == "utf-8"
    assert NOTICE in decoded.text


def test_header_charset_wins_over_meta_when_it_decodes() -> None:
    page = html_page(PLAIN_NOTICE, '<meta charset="EUC-JP">')
    decoded = decode_document(page.encode("cp932"), "text/html; charset=Shift_JIS")
    assert decoded.encoding == "cp932"
    assert PLAIN_NOTICE in decoded.text


def test_wrong_header_charset_that_fails_to_decode_falls_through_to_meta() -> None:
    page = html_page(NOTICE, '<meta charset="Shift_JIS">')
    decoded = decode_document(page.encode("cp932"), "text/html; charset=EUC-JP")
    assert decoded.encoding == "cp932"
    assert NOTICE in decoded.text


def test_stale_legacy_header_on_a_utf8_page_gives_utf8() -> None:
    decoded = decode_document(html_page(NOTICE).encode("utf-8"), "text/html; charset=ISO-8859-1")
    assert decoded.encoding == "utf-8"
    assert NOTICE in decoded.text


def test_meta_charset_only_is_honoured() -> None:
    page = html_page(NOTICE, '<meta charset="windows-31j">')
    decoded = decode_document(page.encode("cp932"))
    assert decoded.encoding == "cp932"
    assert NOTICE in decoded.text


def test_undeclared_shift_jis_is_sniffed() -> None:
    decoded = decode_document(html_page(NOTICE * 3).encode("cp932"))
    assert decoded.encoding == "cp932"
    assert NOTICE in decoded.text


def test_bytes_no_charset_decodes_cleanly_end_up_as_utf8_with_replacement() -> None:
    body = html_page(PLAIN_NOTICE).encode("utf-8") + b"\xff\xfe\xfa"
    decoded = decode_document(body, "text/html; charset=utf-8")
    assert decoded.encoding == "utf-8"
    assert PLAIN_NOTICE in decoded.text
    assert "\ufffd" in decoded.text


def test_xml_declaration_only_is_honoured_for_feeds() -> None:
    feed = (
        '<?xml version="1.0" encoding="Shift_JIS"?>\n'
        f'<rss version="2.0"><channel><title>新着情報</title><item><title>{NOTICE}</title>'
        "</item></channel></rss>"
    )
    decoded = decode_document(feed.encode("cp932"), "application/rss+xml", is_xml=True)
    assert decoded.encoding == "cp932"
    assert NOTICE in decoded.text


def test_xml_to_utf8_rewrites_the_declaration_and_feedparser_keeps_circled_digits() -> None:
    feed = (
        '<?xml version="1.0" encoding="Shift_JIS"?>\n'
        '<rss version="2.0"><channel><title>市からのお知らせ</title><link>https://city.example/</link>'
        f"<item><title>{NOTICE}</title><link>https://city.example/news/1.html</link></item>"
        "</channel></rss>"
    )
    converted = xml_to_utf8(feed.encode("cp932"), "text/xml")
    assert converted.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    parsed = feedparser.parse(converted)
    assert parsed.entries[0].title == NOTICE


def test_iso_2022_jp_is_decoded_when_declared() -> None:
    page = html_page(PLAIN_NOTICE, '<meta charset="ISO-2022-JP">')
    decoded = decode_document(page.encode("iso2022_jp"))
    assert decoded.encoding == "iso2022_jp"
    assert PLAIN_NOTICE in decoded.text


def test_undeclared_iso_2022_jp_is_not_mistaken_for_ascii() -> None:
    decoded = decode_document(html_page(PLAIN_NOTICE * 2).encode("iso2022_jp"))
    assert PLAIN_NOTICE in decoded.text


SPANISH = (
    "La Organización Internacional para las Migraciones señaló que los países de tránsito "
    "necesitarán más apoyo para la acogida de familias desplazadas este año. "
)


def test_declared_utf8_with_one_bad_byte_stays_utf8_instead_of_being_resniffed() -> None:
    page = (f"<html><head><meta charset='utf-8'><title>Migración</title></head>"
            f"<body><p>{SPANISH * 5}</p></body></html>")
    body = page.encode("utf-8").replace("señaló".encode(), b"se\xf1al\xc3\xb3", 1)  # one Latin-1 byte
    for content_type in ("text/html; charset=utf-8", None):
        decoded = decode_document(body, content_type)
        assert decoded.encoding == "utf-8", content_type
        assert decoded.text.count("\ufffd") == 1
        assert "Organización" in decoded.text and "tránsito" in decoded.text


def test_declared_utf8_feed_with_a_bad_byte_keeps_its_japanese() -> None:
    feed = (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t'
            f"</title><item><title>{PLAIN_NOTICE}</title></item></channel></rss>")
    body = feed.encode("utf-8").replace("東京".encode(), b"\x93\x8c\x8b\x9e", 1)
    text = xml_to_utf8(body, "application/rss+xml").decode("utf-8")
    assert "国際移住機関と外務省" in text and "\ufffd" in text


def test_declared_shift_jis_with_one_broken_byte_stays_cp932() -> None:
    body = html_page(NOTICE * 2, '<meta charset="Shift_JIS">').encode("cp932") + b"\x81"
    decoded = decode_document(body)
    assert decoded.encoding == "cp932" and NOTICE in decoded.text


def test_a_page_in_another_encoding_than_declared_is_still_sniffed() -> None:
    # Wrongly labelled: nearly every non-ASCII character breaks, so the label loses.
    decoded = decode_document(html_page(NOTICE * 3).encode("cp932"), "text/html; charset=utf-8")
    assert decoded.encoding == "cp932" and NOTICE in decoded.text
    euc = decode_document(html_page(PLAIN_NOTICE * 3).encode("euc_jp"),
                          "text/html; charset=utf-8")
    assert euc.encoding == "euc_jp" and PLAIN_NOTICE in euc.text
