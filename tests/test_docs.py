"""Documentation keeps up with the code: every setting and every command is documented."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from pydantic import BaseModel

from config.schema import ListingSelectors, Settings, SourceConfig
from migwatch.cli import _register, cli

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
README = (ROOT / "README.md").read_text(encoding="utf-8")


def setting_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys += setting_keys(annotation, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys


@pytest.mark.parametrize("key", setting_keys(Settings))
def test_every_setting_is_documented(key: str) -> None:
    assert f"`{key}`" in CONFIGURATION


@pytest.mark.parametrize("key", [*(k for k in setting_keys(SourceConfig) if k != "listing"),
                                 *(f"listing.{k}" for k in setting_keys(ListingSelectors))])
def test_every_source_key_is_documented(key: str) -> None:
    assert f"`{key}`" in CONFIGURATION


def test_every_top_level_command_is_in_the_readme() -> None:
    _register()
    for name, command in cli.commands.items():
        assert f"migwatch {name}" in README, name
        assert isinstance(command, click.Command)


def test_the_readme_opens_with_the_two_commands() -> None:
    block = README.split("```", 2)[1]
    lines = [line.split("#")[0].strip() for line in block.splitlines()[1:] if line.strip()]
    assert lines == ["make demo", "make test"]
