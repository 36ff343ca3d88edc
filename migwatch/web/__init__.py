"""The local web app: read and search what was collected, configure sources, tune themes.

Server-rendered pages (Flask and Jinja2, no build step, every asset in this package)
over the same database and YAML files the commands use, served by waitress
(:mod:`.server`).  :mod:`.security` holds what keeps it safe; :mod:`.tagger` is the one
place it calls the theme tagger.
"""
