"""``python -m migwatch``."""

from migwatch.cli import main

main()
