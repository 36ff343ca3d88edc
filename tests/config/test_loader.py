"""Configuration errors name the file, the line and the field, all at once."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import BaseModel

from config import ConfigError, load_settings, load_sources
from config.schema import Settings, parse_duration


def write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    return directory


def test_every_source_problem_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    write(tmp_path, "sources.yaml", """\
sources:
  - key: good
    name: Good
    kind: feed
    url: https://example.org/feed
  - key: Bad Key
    name: Bad
    kind: rss
    url: ftp://example.org/x
  - key: typo
    name: T
    kind: feed
    url: https://example.org/news
    colour: blue
""")
    with pytest.raises(ConfigError) as caught:
        load_sources(tmp_path)
    problems = caught.value.problems
    path = tmp_path / "sources.yaml"
    assert any(p.startswith(f"{path}:6: source Bad Key: key: 'Bad Key' cannot be a key; use "
                            "lower-case letters") for p in problems), problems
    assert f"{path}:8: source Bad Key: kind: 'rss' is not allowed; write one of: feed, listing, sitemap" in problems
    assert any(p.startswith(f"{path}:9: source Bad Key: url:") and "http" in p for p in problems)
    assert any(p.startswith(f"{path}:14: source typo: colour: unknown key") for p in problems)


def test_a_listing_source_without_selectors_is_explained(tmp_path: Path) -> None:
    write(tmp_path, "sources.yaml", """\
sources:
  - key: ministry
    name: Ministry
    kind: listing
    url: https://example.org/news
""")
    with pytest.raises(ConfigError, match=r"sources.yaml:2: source ministry: a 'listing' source"):
        load_sources(tmp_path)


def test_duplicate_source_keys_are_reported_with_both_lines(tmp_path: Path) -> None:
    write(tmp_path, "sources.yaml", """\
sources:
  - {key: a, name: A, kind: feed, url: "https://example.org/1"}
  - {key: a, name: B, kind: feed, url: "https://example.org/2"}
""")
    with pytest.raises(ConfigError) as caught:
        load_sources(tmp_path)
    assert "sources.yaml:3: source a: key: 'a' is used twice (first on line 2)" in str(
        caught.value)


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    write(tmp_path, "migwatch.yaml", "crawler:\n  timeout_seconds: [1,\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert str(caught.value).endswith(
        "migwatch.yaml:2: a list opened with '[' on line 2 is not closed with ']'")


def test_settings_errors_cover_nested_fields(tmp_path: Path) -> None:
    write(tmp_path, "migwatch.yaml", """\
timezone: Mars/Olympus
crawler:
  timeout_seconds: -1
schedule:
  tick: soon
""")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    text = "\n".join(caught.value.problems)
    assert "migwatch.yaml:1: timezone:" in text
    assert "migwatch.yaml:3: crawler.timeout_seconds:" in text
    assert "migwatch.yaml:5: schedule.tick:" in text and "30s, 15m, 2h or 1d" in text


@pytest.mark.parametrize("cron", ["0 25 * * mon", "0 8 * * someday", "0 8 * mon"])
def test_a_digest_time_that_is_not_a_crontab_line_is_explained(
    tmp_path: Path, cron: str
) -> None:
    write(tmp_path, "migwatch.yaml", f"schedule:\n  digest_cron: '{cron}'\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    (problem,) = caught.value.problems
    assert "migwatch.yaml:2: schedule.digest_cron:" in problem
    assert "'0 8 * * mon'" in problem or "five crontab fields" in problem


def test_digest_limits_are_at_least_one(tmp_path: Path) -> None:
    digest = load_settings(tmp_path).digest
    assert (digest.max_attempts, digest.feed_entries) == (5, 20)
    write(tmp_path, "migwatch.yaml", "digest:\n  max_attempts: 0\n  feed_entries: 0\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    first, second = caught.value.problems
    assert first.endswith("migwatch.yaml:2: digest.max_attempts: must be at least 1")
    assert second.endswith("migwatch.yaml:3: digest.feed_entries: must be at least 1")


def test_a_missing_settings_file_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    assert settings.timezone == "Asia/Tokyo"
    assert settings.crawler.max_feed_bytes == 15 * 1024 * 1024
    assert settings.crawler.max_page_bytes == 32 * 1024 * 1024


def test_a_missing_config_directory_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="migwatch init"):
        load_settings(tmp_path / "nowhere")


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("15m", 900), ("2h", 7200),
                                               ("1d", 86400), (45, 45)])
def test_durations_are_written_with_units(text: str | int, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize(("text", "expected"), [
    ("crawler:\n  timeout_seconds: 3\n    retries: 2\n",
     "migwatch.yaml:3: line 3 is indented differently from the one above; line up keys of "
     "the same block, and use spaces, not tabs"),
    ("crawler:\n\ttimeout_seconds: 3\n",
     "migwatch.yaml:2: line 2 starts with a tab; indent with spaces, not tabs"),
    ("digest:\n  title: Weekly: migration\n",
     "migwatch.yaml:2: a value holds ': '; put the whole value in quotes"),
    ("digest:\n  title: \"Weekly\n  language: en\n",
     "migwatch.yaml:2: a quote opened on line 2 is never closed; add the closing quote"),
    ("timezone: UTC\ntimezone: Asia/Tokyo\n",
     "migwatch.yaml:2: 'timezone' is written twice in the same block; keep one"),
    ("digest:\n  language: en\n  recipients\n  title: x\n",
     "migwatch.yaml:3: line 3 has no ':' after its key; write it as key: value"),
])
def test_yaml_syntax_errors_are_said_in_words(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "migwatch.yaml", text)
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    (problem,) = caught.value.problems
    assert problem.startswith(f"{tmp_path}/{expected}"), problem
    assert "<block" not in problem and "token" not in problem


def test_an_unknown_key_gets_the_closest_known_one(tmp_path: Path) -> None:
    write(tmp_path, "migwatch.yaml", "crawler:\n  download_delay_second: 2\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    assert caught.value.problems == [
        f"{tmp_path}/migwatch.yaml:2: crawler.download_delay_second: unknown key; "
        "did you mean 'download_delay_seconds'?"]


def test_a_source_is_named_by_its_key_and_a_missing_field_in_words(tmp_path: Path) -> None:
    entries = "".join(f"  - {{key: s{i}, name: S, kind: feed, url: 'https://e.org/{i}'}}\n"
                      for i in range(53))
    write(tmp_path, "sources.yaml", "sources:\n" + entries
          + "  - {key: un-news, name: UN, kind: feed, url: 'un.org/feed'}\n"
          + "  - {name: Nameless, kind: feed}\n")
    with pytest.raises(ConfigError) as caught:
        load_sources(tmp_path)
    path = tmp_path / "sources.yaml"
    assert caught.value.problems == [
        f"{path}:55: source un-news: url: must be an http:// or https:// address",
        f"{path}:56: source #55: key: missing; add a line 'key: …'",
        f"{path}:56: source #55: url: missing; add a line 'url: …'",
    ]


@pytest.mark.parametrize(("written", "problem"), [
    ("Japanese", "'Japanese' is a language name; use ja"),
    ("日本語", "'日本語' is a language name; use ja"),
    ("english", "'english' is a language name; use en"),
    ("jp-x", "'jp-x' is not a language tag; write a BCP 47 tag such as ja, en or zh"),
])
def test_a_source_language_must_be_a_bcp47_tag(tmp_path: Path, written: str,
                                               problem: str) -> None:
    write(tmp_path, "sources.yaml", "sources:\n  - {key: a, name: A, kind: feed, "
          f"url: 'https://e.org/f', language: '{written}'}}\n")
    with pytest.raises(ConfigError) as caught:
        load_sources(tmp_path)
    assert caught.value.problems == [f"{tmp_path}/sources.yaml:2: source a: language: {problem}"]


@pytest.mark.parametrize(("written", "stored"), [("ja", "ja"), ("ja-JP", "ja"), ("en_US", "en"),
                                                 ("zh-Hant", "zh"), ("fil", "fil")])
def test_a_language_tag_is_kept_as_its_primary_subtag(tmp_path: Path, written: str,
                                                      stored: str) -> None:
    write(tmp_path, "sources.yaml", "sources:\n  - {key: a, name: A, kind: feed, "
          f"url: 'https://e.org/f', language: '{written}'}}\n")
    assert load_sources(tmp_path)[0].language == stored


def _time_fields() -> list[tuple[str, str]]:
    """(section, key) of every setting of migwatch.yaml that is a duration or a float."""
    found = []
    for section, info in Settings.model_fields.items():
        model = info.annotation
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for key, field in model.model_fields.items():
            if field.annotation in (float, timedelta):
                found.append((section, key))
    return found


@pytest.mark.parametrize("value", [".inf", ".nan", "-.inf", "1e300"])
@pytest.mark.parametrize(("section", "key"), _time_fields(), ids=[".".join(f) for f in _time_fields()])
def test_every_duration_and_number_of_seconds_is_bounded(
    tmp_path: Path, section: str, key: str, value: str
) -> None:
    write(tmp_path, "migwatch.yaml", f"{section}:\n  {key}: {value}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    (problem,) = caught.value.problems
    assert f"migwatch.yaml:2: {section}.{key}: " in problem
    message = problem.split(f"{section}.{key}: ", 1)[1]
    assert sum(word.isalpha() for word in message.split()) >= 3, message  # said in words
    assert "Traceback" not in message and "Overflow" not in message


def test_the_bounds_name_their_limit(tmp_path: Path) -> None:
    write(tmp_path, "migwatch.yaml",
          "crawler:\n  timeout_seconds: .inf\nschedule:\n  tick: 2d\n  min_interval: 40d\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    timeout, tick, interval = caught.value.problems
    assert "600" in timeout and "10 minutes" in timeout
    assert tick.endswith("schedule.tick: must be at most 1 day")
    assert interval.endswith("schedule.min_interval: must be at most 30 days")
    assert parse_duration("366d").days == 366
    with pytest.raises(ValueError, match="too long"):
        parse_duration("400d")
