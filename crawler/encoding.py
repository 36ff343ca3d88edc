"""Turn downloaded bytes into text, the way a careful browser would, with Japanese in mind.

Contract: :func:`decode_document` never fails and never guesses silently.  It tries, in
order, the byte order mark, the HTTP ``Content-Type`` charset, the document's own
declaration (the XML declaration for feeds; ``<meta charset>`` or the ``http-equiv``
pragma in the first 4 KB for HTML), byte sniffing with charset-normalizer, and finally
UTF-8 with U+FFFD replacement.  A declared charset that does not decode the bytes strictly
is tried after the others, and kept (with U+FFFD for the broken bytes) when it reads all
but a few of them; only a label that breaks on most non-ASCII characters falls through to
sniffing.  The result names the codec actually used.

Japanese labels are mapped to the codecs browsers really use (WHATWG Encoding Standard,
https://encoding.spec.whatwg.org/#names-and-labels): every Shift_JIS label means
Windows-31J (``cp932``), so NEC and IBM vendor characters such as ① and ㈱ survive;
EUC-JP falls back to ``euc_jis_2004`` when a page uses JIS X 0213 characters.

:func:`xml_to_utf8` applies the same rules to a feed and hands feedparser clean UTF-8,
because feedparser's own decoding maps Shift_JIS to the strict codec and loses ①.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import charset_normalizer
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

logger = logging.getLogger(__name__)

# Labels w3lib (and Python's alias table) do not know, seen on old Japanese servers.
_EXTRA_LABELS = {
    "x-euc-jp": "euc_jp",
    "x_euc_jp": "euc_jp",
    "cseucpkdfmtjapanese": "euc_jp",
    "x-ms-cp932": "cp932",
    "x_ms_cp932": "cp932",
    "unicode-1-1-utf-8": "utf-8",
    "unicode11utf8": "utf-8",
    "unicode20utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
}

# Codecs that, declared, get one more strict try with a superset before sniffing.
_SUPERSETS = {"euc_jp": "euc_jis_2004", "iso2022_jp": "iso2022_jp_2004"}

_XML_DECLARATION = re.compile(
    rb"""^\s*<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE
)
_XML_DECLARATION_TEXT = re.compile(
    r"""^(\s*<\?xml\s[^>]*?encoding\s*=\s*["'])([A-Za-z0-9._:-]+)(["'])""", re.IGNORECASE
)
_SNIFF_BYTES = 64 * 1024
# A declared charset is kept, with U+FFFD for the bytes it cannot read, when it reads at
# least this many non-ASCII characters per broken one.  Text in another encoding read
# with the wrong label breaks on nearly every non-ASCII character, far below this.
_FEW_ERRORS_RATIO = 20


@dataclass(frozen=True)
class Decoded:
    """Text decoded from a document and the Python codec that decoded it."""

    text: str
    encoding: str


def normalize_encoding_name(name: str) -> str | None:
    """Map a charset label to the Python codec a browser would use, or None if unknown."""
    label = name.strip().strip("\"'").lower()
    if not label:
        return None
    if label in _EXTRA_LABELS:
        return _EXTRA_LABELS[label]
    # w3lib applies the WHATWG overrides: Shift_JIS/sjis/x-sjis/ms_kanji/windows-31j
    # → cp932, latin-1/ascii → cp1252, gb2312 → gb18030; it refuses utf-7.  It returns
    # Python's own codec name.
    return resolve_encoding(label)


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _first_strict(body: bytes, *encodings: str | None) -> Decoded | None:
    """The first of ``encodings`` that decodes ``body`` without an error."""
    for encoding in encodings:
        if encoding is not None:
            text = _strict(body, encoding)
            if text is not None:
                return Decoded(text, encoding)
    return None


def _declared_from_document(body: bytes, is_xml: bool) -> str | None:
    if is_xml:
        match = _XML_DECLARATION.match(body[:1024])
        return match.group(1).decode("ascii") if match else None
    label = html_body_declared_encoding(body[:4096])
    if label is None:
        return None
    # WHATWG "prescan a byte stream": a meta that claims UTF-16/32 is read as UTF-8,
    # since the bytes that carried an ASCII <meta> cannot be UTF-16.
    if label.startswith(("utf-16", "utf-32", "utf_16", "utf_32")):
        return "utf-8"
    return label


def _is_utf8_with_non_ascii(body: bytes) -> bool:
    if body.isascii():
        return False
    return _strict(body, "utf-8") is not None


def _mostly_decodes(body: bytes, encoding: str) -> Decoded | None:
    """``body`` decoded with replacement when at most one in :data:`_FEW_ERRORS_RATIO` of
    its non-ASCII characters is a replacement; otherwise None (the label is wrong)."""
    try:
        text = body.decode(encoding, "replace")
    except LookupError:
        return None
    errors = text.count("\ufffd")
    readable = sum(1 for ch in text if ch > "\x7f") - errors
    return Decoded(text, encoding) if errors * _FEW_ERRORS_RATIO <= readable else None


def _sniff(body: bytes) -> str | None:
    best = charset_normalizer.from_bytes(body[:_SNIFF_BYTES]).best()
    if best is None:
        return None
    return normalize_encoding_name(best.encoding)


def decode_document(
    body: bytes, content_type: str | None = None, *, is_xml: bool = False
) -> Decoded:
    """Decode a page or feed: BOM, HTTP charset, in-document declaration, sniffing, UTF-8."""
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        return Decoded(body[len(bom) :].decode(bom_encoding, "replace"), bom_encoding)

    declared: list[str] = []
    for label in (http_content_type_encoding(content_type), _declared_from_document(body, is_xml)):
        encoding = normalize_encoding_name(label) if label else None
        if encoding and encoding not in declared:
            declared.append(encoding)

    for encoding in declared:
        if encoding != "utf-8" and _is_utf8_with_non_ascii(body):
            # Multi-byte UTF-8 is practically never valid by accident in a legacy
            # encoding, while servers that announce a stale default (Shift_JIS,
            # ISO-8859-1) for pages saved as UTF-8 are common.
            logger.debug("declared %s but the body is valid UTF-8; using UTF-8", encoding)
            return Decoded(body.decode("utf-8"), "utf-8")
        decoded = _first_strict(body, encoding, _SUPERSETS.get(encoding))
        if decoded is not None:
            return decoded
        logger.debug("declared charset %s does not decode the body strictly", encoding)

    # A declared charset that reads almost all of the body wins over a sniff: a UTF-8
    # page with one broken byte is a UTF-8 page, while a sniffer handed it guesses a
    # single-byte codec (ISO-8859-10, Shift_JIS_2004) that turns every accent to mojibake.
    for encoding in declared:
        decoded = _mostly_decodes(body, _SUPERSETS.get(encoding) or encoding)
        if decoded is not None:
            logger.debug("declared %s decodes all but a few bytes; using it", encoding)
            return decoded

    # Pure 7-bit bytes are ASCII (so UTF-8), unless they carry ISO-2022-JP escapes
    # (ESC $ B ...), which is 7-bit too.
    seven_bit = body.isascii() and b"\x1b" not in body
    sniffed = "utf-8" if seven_bit else _sniff(body)
    if sniffed is not None:
        # charset-normalizer names the JIS X 0213 superset for EUC-JP; report the
        # common codec when it suffices.
        base = "euc_jp" if sniffed in ("euc_jis_2004", "euc_jisx0213") else sniffed
        decoded = _first_strict(body, base, sniffed, _SUPERSETS.get(base))
        if decoded is not None:
            return decoded

    # Nothing decodes cleanly: keep the declared charset if there was one (a page in
    # cp932 with one broken byte reads better as cp932 than as UTF-8), else UTF-8.
    fallback = declared[0] if declared else "utf-8"
    logger.debug("no charset decodes the body strictly; using %s with replacement", fallback)
    return Decoded(body.decode(fallback, "replace"), fallback)


def xml_to_utf8(body: bytes, content_type: str | None) -> bytes:
    """Decode an XML feed with :func:`decode_document` and re-encode it as UTF-8 bytes."""
    text = decode_document(body, content_type, is_xml=True).text
    # The declaration must now say utf-8, or the XML parser would decode twice.
    text = _XML_DECLARATION_TEXT.sub(r"\1utf-8\3", text, count=1)
    return text.encode("utf-8")
