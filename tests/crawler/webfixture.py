"""A small fixture web for end-to-end crawl tests, written into a temporary folder.

Every kind of source and every encoding the crawler must handle, plus hostile servers
(added as routes by the tests).  Pages are generated from short texts so each test can
see at a glance what the crawler should find.
"""

from __future__ import annotations

from pathlib import Path

ARTICLE = """<!DOCTYPE html>
<html lang="{lang}"><head><meta charset="{charset}"><title>{title}</title>{meta}</head>
<body><header><nav><a href="/">Home</a> | <a href="/about">About</a></nav></header>
<article><h1>{title}</h1>{dateline}
{paragraphs}
</article>
<aside><h2>Related</h2><ul><li><a href="/other">Other stories</a></li></ul></aside>
<footer>Sample newsroom - contact desk</footer></body></html>
"""

EN_BODY = [
    "The International Organization for Migration said on Tuesday that it would scale back "
    "several programmes after its largest donor reduced contributions for the coming year.",
    "Officials at the agency's headquarters described the decision as painful but "
    "unavoidable, adding that field offices in three regions would consolidate their work "
    "and that support for returning migrants would be prioritised.",
    "Member states are expected to discuss the shortfall at a meeting of the governing "
    "council next month, where a revised budget will be presented for approval.",
]
JA_BODY = [
    "国際移住機関(IOM)駐日事務所は、外国人住民の子どもの就学を支援する事業について、"
    "自治体やNPOとの連携を広げる方針を明らかにした。",
    "同事務所によると、日本語の学習機会が限られる子どもが各地で増えており、"
    "教室の運営費や教材の確保が課題になっているという。",
    "担当者は「地域ごとに事情が異なるため、自治体同士の情報共有が欠かせない」と話した。",
]


def article_page(title: str, body: list[str], *, lang: str, charset: str = "utf-8",
                 dateline: str = "", meta: str = "") -> str:
    """An article page with a title, a dateline and paragraphs."""
    paragraphs = "\n".join(f"<p>{p}</p>" for p in body * 2)
    return ARTICLE.format(lang=lang, charset=charset, title=title, meta=meta,
                          dateline=f"<p class='date'>{dateline}</p>" if dateline else "",
                          paragraphs=paragraphs)


def rss(items: list[tuple[str, str, str]], *, title: str = "Sample wire") -> str:
    """An RSS 2.0 feed of (title, link, pubDate) items."""
    entries = "\n".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>{date}</pubDate><description>{t} — summary.</description></item>"
        for t, link, date in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>{title}</title><link>{{base}}/</link><description>d</description>"
            f"<ttl>60</ttl>{entries}</channel></rss>\n")


def write(root: Path, path: str, text: str, encoding: str = "utf-8") -> None:
    """Write a file of the fixture web."""
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(text.encode(encoding))


def build_site(root: Path) -> None:
    """Write the whole fixture web under ``root``."""
    write(root, "robots.txt", "User-agent: *\nDisallow: /private/\n")
    write(root, "_headers.yaml", """
/list/sjis.html:
  Content-Type: text/html; charset=Shift_JIS
/ja/eucjp.html:
  Content-Type: text/html; charset=EUC-JP
/lm/feed.rss:
  ETag: null
""")
    # RSS 2.0 (en): three articles, one link with tracking parameters.
    write(root, "en/feed.rss", rss([
        ("IOM scales back programmes after donor cut", "{base}/en/a1.html",
         "Tue, 24 Nov 2026 09:00:00 GMT"),
        ("UN liquidity crisis deepens as arrears grow",
         "{base}/en/a2.html?utm_source=rss&amp;utm_medium=feed", "Wed, 25 Nov 2026 10:30:00 +0000"),
        ("Forum on migration opens in Geneva", "{base}/en/a3.html",
         "Thu, 26 Nov 2026 08:15:00 -0500"),
    ]))
    for name, title in (("a1", "IOM scales back programmes after donor cut"),
                        ("a2", "UN liquidity crisis deepens as arrears grow"),
                        ("a3", "Forum on migration opens in Geneva")):
        write(root, f"en/{name}.html", article_page(
            title, EN_BODY, lang="en",
            meta='<meta property="article:published_time" content="2026-11-24T09:00:00Z">'))
    # RSS 1.0 / RDF (ja) with dc:date; one article only dated in the Japanese era form,
    # one article page in EUC-JP.
    write(root, "ja/feed.rdf", """<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/ja/feed.rdf"><title>サンプル新聞</title><link>{base}/ja/</link>
<description>速報</description><dc:language>ja</dc:language>
<items><rdf:Seq><rdf:li rdf:resource="{base}/ja/b1.html"/><rdf:li rdf:resource="{base}/ja/eucjp.html"/></rdf:Seq></items>
</channel>
<item rdf:about="{base}/ja/b1.html"><title>IOM駐日事務所、就学支援を拡大</title><link>{base}/ja/b1.html</link>
<dc:date>2026-11-25T09:00:00+09:00</dc:date></item>
<item rdf:about="{base}/ja/eucjp.html"><title>多文化共生の国際フォーラム開催へ</title><link>{base}/ja/eucjp.html</link>
<dc:date>2026-11-26T10:00:00+09:00</dc:date></item>
</rdf:RDF>
""")
    write(root, "ja/b1.html", article_page(
        "IOM駐日事務所、就学支援を拡大", JA_BODY, lang="ja", dateline="令和8年11月25日"))
    write(root, "ja/eucjp.html", article_page(
        "多文化共生の国際フォーラム開催へ", JA_BODY, lang="ja", charset="EUC-JP",
        dateline="2026年11月26日"), encoding="euc_jp")
    # Atom (en): the feed content is the article.
    write(root, "atom/feed.atom", """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Policy notes</title>
<id>tag:example.org,2026:notes</id><updated>2026-11-26T12:00:00Z</updated>
<entry><title>Seasonal worker schemes and regular pathways</title>
<id>tag:example.org,2026:notes/1</id><link href="{base}/atom/n1.html"/>
<updated>2026-11-26T12:00:00Z</updated>
<content type="html">&lt;p&gt;Labour migration schemes are expanding across the region.&lt;/p&gt;</content></entry>
<entry><title>Refugee resettlement quotas under review</title>
<id>tag:example.org,2026:notes/2</id><link href="{base}/atom/n2.html"/>
<published>2026-11-25T12:00:00Z</published><updated>2026-11-25T12:00:00Z</updated>
<summary>Governments weigh resettlement places for next year.</summary></entry>
</feed>
""")
    # A paginated listing (ja), the first item in Shift_JIS with vendor characters.
    page = """<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>新着情報</title></head>
<body><ul class="news">{items}</ul>{next}</body></html>"""
    items1 = "".join(
        f'<li class="item"><a href="{href}">{title}</a><time datetime="2026-11-2{n}">'
        f"2026年11月2{n}日</time></li>"
        for n, (href, title) in enumerate([
            ("/list/sjis.html", "①外国人材の受入れに関するお知らせ"),
            ("/list/c2.html", "在留外国人の生活相談窓口を拡充"),
        ], start=3)
    )
    write(root, "list/index.html", page.format(
        items=items1, next='<div class="pager"><a class="next" href="/list/page2.html">次へ</a></div>'))
    write(root, "list/page2.html", page.format(
        items='<li class="item"><a href="/list/c3.html">人身取引被害者の帰国支援</a>'
              '<time datetime="2026-11-20">2026年11月20日</time></li>',
        next=""))
    write(root, "list/sjis.html", article_page(
        "①外国人材の受入れに関するお知らせ", [*JA_BODY, "㈱サンプル商事ほか①②③の事業者が参加した。"],
        lang="ja", charset="Shift_JIS", dateline="令和8年11月23日"), encoding="cp932")
    for name, title in (("c2", "在留外国人の生活相談窓口を拡充"), ("c3", "人身取引被害者の帰国支援")):
        write(root, f"list/{name}.html", article_page(title, JA_BODY, lang="ja",
                                                     dateline="2026年11月24日"))
    # A Google News sitemap: one URL also in the RSS feed (tracking variant), one new.
    write(root, "sitemap/news.xml", """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{base}/en/a2.html?utm_campaign=sitemap</loc><news:news><news:publication>
<news:name>Sample</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-25T10:30:00Z</news:publication_date>
<news:title>UN liquidity crisis deepens as arrears grow</news:title></news:news></url>
<url><loc>{base}/sm/d1.html</loc><news:news><news:publication>
<news:name>Sample</news:name><news:language>en</news:language></news:publication>
<news:publication_date>2026-11-26T07:00:00Z</news:publication_date>
<news:title>Climate displacement rises in coastal regions</news:title></news:news></url>
</urlset>
""")
    write(root, "sm/d1.html", article_page("Climate displacement rises in coastal regions",
                                           EN_BODY, lang="en"))
    # Feeds in legacy Japanese encodings: RDF in Shift_JIS (with vendor characters that
    # only cp932 has) and RSS 2.0 in EUC-JP, declared only in the XML declaration.
    write(root, "legacy/sjis.rdf", """<?xml version="1.0" encoding="Shift_JIS"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
 xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="{base}/legacy/sjis.rdf"><title>県国際課のお知らせ</title>
<link>{base}/legacy/</link><description>新着</description></channel>
<item rdf:about="{base}/legacy/n1.html"><title>①外国人相談窓口の開設時間を延長します</title>
<link>{base}/legacy/n1.html</link><description>㈱協力のもと、通訳を配置します。</description>
<dc:date>2026-11-24T10:00:00+09:00</dc:date></item>
</rdf:RDF>
""", encoding="cp932")
    write(root, "legacy/eucjp.rss", """<?xml version="1.0" encoding="EUC-JP"?>
<rss version="2.0"><channel><title>市民活動だより</title><link>{base}/legacy/</link>
<description>d</description>
<item><title>日本語教室のボランティアを募集</title><link>{base}/legacy/n2.html</link>
<description>外国にルーツを持つ子どもの学習を支えます。</description>
<pubDate>Wed, 25 Nov 2026 01:00:00 GMT</pubDate></item></channel></rss>
""", encoding="euc_jp")
    # Entries without a link or a date, and one whose link is a javascript: URL.
    write(root, "odd/feed.rss", """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Odd entries</title><link>{base}/</link><description>d</description>
<item><title>Statement on the regional consultation</title>
<description>The consultation closed with a joint statement on labour mobility.</description></item>
<item><title>Click me</title><link>javascript:alert(1)</link>
<description>An entry whose link is a script.</description></item>
</channel></rss>
""")
    write(root, "robots-test/index.html", page.format(
        items='<li class="item"><a href="/private/secret.html">内部資料</a></li>'
              '<li class="item"><a href="/list/c2.html">在留外国人の生活相談窓口を拡充</a></li>',
        next=""))
    write(root, "private/secret.html", article_page("内部資料", JA_BODY, lang="ja"))
    write(root, "broken/notxml.rss", "<html><body><p>This is not a feed at all.</p></body></html>")
    write(root, "lm/feed.rss", rss([("Family reunification rules eased", "{base}/en/a3.html",
                                     "Thu, 26 Nov 2026 08:15:00 GMT")], title="LM only"))


SOURCES = """
sources:
  - {{key: wire-en, name: Sample wire, kind: feed, url: "{base}/en/feed.rss", language: en}}
  - {{key: paper-ja, name: サンプル新聞, kind: feed, url: "{base}/ja/feed.rdf", language: ja}}
  - {{key: notes-atom, name: Policy notes, kind: feed, url: "{base}/atom/feed.atom",
     language: en, fetch_articles: false}}
  - key: gov-list
    name: 新着情報
    kind: listing
    url: "{base}/list/index.html"
    language: ja
    listing: {{item: "ul.news li.item", link: a, date: time, next_page: "div.pager a.next",
              max_pages: 3}}
  - {{key: news-sitemap, name: Sample sitemap, kind: sitemap, url: "{base}/sitemap/news.xml"}}
  - {{key: lm-only, name: Validator test, kind: feed, url: "{base}/lm/feed.rss"}}
"""

SETTINGS = """
timezone: Asia/Tokyo
crawler:
  download_delay_seconds: 0
  timeout_seconds: {timeout}
  retries: {retries}
  user_agent: "migwatch-test/1.0"
network:
  allow_private: {allow_private}
  proxy: "{proxy}"
"""


def write_config(directory: Path, base: str, *, extra_sources: str = "",
                 allow_private: bool = True, timeout: float = 5, retries: int = 0,
                 proxy: str = "") -> Path:
    """A config directory pointing at the fixture web."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "sources.yaml").write_text(SOURCES.format(base=base) + extra_sources,
                                            encoding="utf-8")
    (directory / "migwatch.yaml").write_text(
        SETTINGS.format(timeout=timeout, allow_private=str(allow_private).lower(),
                        retries=retries, proxy=proxy),
        encoding="utf-8")
    return directory
