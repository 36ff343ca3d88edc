"""``migwatch extract`` on a saved file and on a page served from 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from migwatch.cli import main

PAGES = Path(__file__).parents[1] / "crawler" / "pages"


class PageHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/news/soudan3.html":
            body = (PAGES / "ja_shift_jis.html").read_bytes()
            content_type = "text/html; charset=Shift_JIS"
        elif self.path == "/old-address":
            self.send_response(301)
            self.send_header("Location", "/news/soudan3.html")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        else:
            body, content_type = b"not found", "text/plain"
            self.send_response(404)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def site() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), PageHandler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def config_dir(tmp_path: Path, yaml_text: str) -> Path:
    directory = tmp_path / "config"
    directory.mkdir()
    (directory / "migwatch.yaml").write_text(yaml_text, encoding="utf-8")
    return directory


def run(args: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(args)
    code = exited.value.code
    return code if isinstance(code, int) else 1


def test_extract_file_prints_json_with_japanese_unescaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        [
            "--config",
            str(tmp_path / "absent"),
            "extract",
            str(PAGES / "ja_reiwa_only.html"),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    data = json.loads(out)
    assert set(data) == {
        "url",
        "title",
        "author",
        "published_at",
        "language",
        "text",
        "description",
        "canonical_url",
    }
    assert data["title"] == "特定技能外国人の受入れ状況に関する説明会の開催について"
    assert data["published_at"] == "2025-03-23T00:00:00+09:00"  # the day, not 15:00 UTC before
    assert data["language"] == "ja"
    assert "特定技能" in out  # ensure_ascii=False


def test_extract_file_without_json_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(
        ["--config", str(tmp_path / "absent"), "extract", str(PAGES / "en_news_jsonld.html")]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Funding shortfall forces cuts to migrant assistance across the Sahel" in out
    assert "2025-03-18T17:30:00+09:00 (2025-03-18 17:30 Asia/Tokyo)" in out
    assert "Amara Okonkwo-Reyes" in out


def test_extract_url_from_a_local_server_when_private_addresses_are_allowed(
    tmp_path: Path, site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_dir(tmp_path, "network:\n  allow_private: true\n")
    code = run(["--config", str(config), "extract", f"{site}/old-address", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["url"] == f"{site}/news/soudan3.html"
    assert data["title"] == "外国人住民のための生活相談会（第３回）を開催しました"
    assert "① 在留手続き" in data["text"]
    assert data["published_at"] == "2025-03-23T14:05:00+09:00"


def test_extract_url_on_loopback_is_refused_by_default(
    tmp_path: Path, site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_dir(tmp_path, "timezone: Asia/Tokyo\n")
    code = run(["--config", str(config), "extract", f"{site}/news/soudan3.html"])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.out == ""
    assert captured.err.strip() == (
        "error: refused: 127.0.0.1 is a private/loopback address; "
        "set network.allow_private: true only if you trust this source"
    )


def test_extract_url_with_http_error_exits_1(
    tmp_path: Path, site: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_dir(tmp_path, "network: {allow_private: true}\n")
    code = run(["--config", str(config), "extract", f"{site}/gone.html"])
    assert code == 1
    assert capsys.readouterr().err.strip() == f"error: HTTP 404 Not Found from {site}/gone.html"


def test_extract_page_without_text_exits_1_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = PAGES / "nearly_empty.html"
    code = run(["--config", str(tmp_path / "absent"), "extract", str(target)])
    assert code == 1
    assert capsys.readouterr().err.strip() == f"error: no article text found in {target}"


@pytest.mark.parametrize("target", ["ftp://ftp.example.org/page.html", "no-such-page.html"])
def test_extract_neither_file_nor_web_address_is_a_usage_error(
    tmp_path: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run(["--config", str(tmp_path / "absent"), "extract", target])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: {target}: neither a file nor an http:// or https:// address")
    assert err.count("\n") == 1


def test_extract_with_a_broken_config_file_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_dir(tmp_path, "network:\n  allow_privat: true\n")
    code = run(["--config", str(config), "extract", str(PAGES / "en_news_jsonld.html")])
    assert code == 2
    assert "allow_privat" in capsys.readouterr().err


def test_extract_reads_a_day_only_date_in_the_named_sources_zone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_dir(tmp_path, "timezone: Asia/Tokyo\n")
    (config / "sources.yaml").write_text(
        "sources:\n"
        "  - {key: paris-desk, name: Paris desk, kind: feed, url: 'https://paris.example/rss',"
        " timezone: Europe/Paris}\n",
        encoding="utf-8",
    )
    page = str(PAGES / "ja_reiwa_only.html")
    code = run(["--config", str(config), "extract", page, "--json", "--source", "paris-desk"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["published_at"] == "2025-03-23T00:00:00+01:00"  # that day in Paris
    code = run(["--config", str(config), "extract", page, "--json", "--source", "nope"])
    assert code == 2
    assert capsys.readouterr().err.strip() == (
        "error: --source nope: no such source in sources.yaml; "
        "`migwatch sources list` shows the keys"
    )
