"""The tagger: which themes of ``themes.yaml`` an article is about, and why.

The stage reads like its pipeline:

- :mod:`digest.tagging.loader` — the one cached loader: themes file → validated config →
  compiled :class:`~digest.tagging.compile.ThemeSet` (recompiled when the file changes);
- :mod:`digest.tagging.compile` — the rules as one automaton and per-theme rules;
- :mod:`digest.tagging.scan` — one automaton pass per field into per-field hit buckets;
- :mod:`digest.tagging.combos` — concepts that meet in one window count like a term;
- :mod:`digest.tagging.match` — decide per theme: ``tag_article``, ``tag_articles``;
- :mod:`digest.tagging.explain` — every theme's decision with its reasons, for people;
- :mod:`digest.tagging.store` — tag stored articles in batches, re-tag one article.
"""
