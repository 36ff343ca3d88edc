"""``migwatch demo``: the whole pipeline, offline, against bundled sample sites on 127.0.0.1.

It writes a throw-away configuration and a fresh SQLite database under ``var/demo/``,
serves ``migwatch/demo_sites/`` on a free loopback port, and runs collect → tag → digest
exactly as a user's own configuration would.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from config.loader import DEFAULTS_DIR, THEMES_FILE
from migwatch.sampleweb import SampleWeb

DEMO_SETTINGS = """\
# Settings of the demo: the sample sites live on this machine, so private addresses
# are allowed and there is no delay between requests.
timezone: Asia/Tokyo
crawler:
  download_delay_seconds: 0
  timeout_seconds: 10
  user_agent: "migwatch-demo/0.1"
network:
  allow_private: true
digest:
  language: ja
  archive_dir: "{archive}"
  recipients: ["analyst@example.org", "desk@example.org"]
"""


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps its files."""

    root: Path
    config: Path
    database: Path
    archive: Path
    outbox: Path

    @property
    def db_url(self) -> str:
        """SQLite URL of the demo database."""
        return f"sqlite:///{self.database}"


def prepare_demo(root: Path, web: SampleWeb) -> DemoPaths:
    """Write the demo configuration for the running sample web; start from an empty DB."""
    paths = DemoPaths(root=root, config=root / "config", database=root / "demo.sqlite3",
                      archive=root / "archive", outbox=root / "outbox")
    if root.exists():
        shutil.rmtree(root)
    paths.config.mkdir(parents=True)
    template = (web.root / "sources.yaml").read_text(encoding="utf-8")
    (paths.config / "sources.yaml").write_text(template.replace("{base}", web.base_url),
                                               encoding="utf-8")
    (paths.config / "migwatch.yaml").write_text(
        DEMO_SETTINGS.format(archive=paths.archive.as_posix()), encoding="utf-8")
    shutil.copyfile(DEFAULTS_DIR / THEMES_FILE, paths.config / THEMES_FILE)
    return paths
