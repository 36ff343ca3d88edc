"""The Flask application: pages, language, formatting helpers and errors.

Built by :func:`create_app` from the same :class:`~migwatch.context.AppContext` the
commands use, so the web app reads the database and edits the YAML files exactly as the
CLI does.  Pages are registered from :mod:`.reading`, :mod:`.sources` and :mod:`.themes`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from flask import Flask, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from config.errors import MigwatchError
from config.i18n import gettext, ngettext, normalise_language
from migwatch.context import AppContext
from migwatch.web.security import Guard, check_password, install_guard

log = logging.getLogger(__name__)
PACKAGE_DIR = Path(__file__).parent
LANG_COOKIE = "migwatch_lang"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


@dataclass
class WebState:
    """What every request handler needs: the configuration, the database, the clock."""

    app: AppContext
    guard: Guard
    clock: Clock


def state() -> WebState:
    """The running app's :class:`WebState`."""
    return cast(WebState, current_app.extensions["migwatch"])


def lang() -> str:
    """The language of this request's page."""
    return cast(str, g.get("lang", "en"))


def _(message: str, **values: object) -> str:
    """``message`` in the page's language."""
    return gettext(lang(), message, **values)


def n_(singular: str, plural: str, count: int, **values: object) -> str:
    """The singular or plural form of a message in the page's language."""
    return ngettext(lang(), singular, plural, count, **values)


def quote(text: str) -> str:
    """``text`` in the page language's quotation marks."""
    return f"「{text}」" if lang() == "ja" else f"“{text}”"


def format_when(moment: datetime | None) -> str:
    """A moment in the configured time zone, to the minute; ``—`` for none."""
    if moment is None:
        return "—"
    if moment.tzinfo is None:  # as stored: naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(state().app.settings.tz).strftime("%Y-%m-%d %H:%M")


def back_path() -> str:
    """Where the language switch returns to: this page, or for a form's answer the page
    the form belongs to (a GET of a POST-only address would fail)."""
    if request.method == "GET":
        return request.full_path
    article_id = (request.view_args or {}).get("article_id")
    if article_id is not None:
        return url_for("reading.article", article_id=article_id)
    if request.blueprint in ("sources", "themes"):
        return url_for(f"{request.blueprint}.{request.blueprint}_page")
    return url_for("reading.home")


def _pick_language() -> None:
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("ja", "en"):
        g.lang = chosen
    else:
        g.lang = normalise_language(state().app.settings.digest.language)


def _safe_next(target: str | None) -> str:
    """A same-site path to go back to (never another host)."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("reading.home")


def create_app(app_ctx: AppContext, guard: Guard, *, clock: Clock = utc_now) -> Flask:
    """The web app over ``app_ctx``'s configuration and database."""
    flask_app = Flask("migwatch.web", root_path=str(PACKAGE_DIR),
                      template_folder="templates", static_folder="static")
    flask_app.extensions["migwatch"] = WebState(app=app_ctx, guard=guard, clock=clock)
    flask_app.jinja_env.globals.update(_=_, n_=n_, when=format_when, lang=lang, quote=quote,
                                     back_path=back_path)
    flask_app.jinja_env.trim_blocks = True
    flask_app.jinja_env.lstrip_blocks = True
    install_guard(flask_app, guard)
    flask_app.before_request(_pick_language)

    from migwatch.web import reading, sources, themes  # the pages need the helpers above
    flask_app.register_blueprint(reading.pages)
    flask_app.register_blueprint(sources.pages)
    flask_app.register_blueprint(themes.pages)

    @flask_app.post("/language")
    def language() -> ResponseReturnValue:
        chosen = normalise_language(request.form.get("lang"))
        response = redirect(_safe_next(request.form.get("next")), code=303)
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="Lax",
                            httponly=True, secure=guard.behind_https)
        return response

    @flask_app.route("/login", methods=["GET", "POST"])
    def login() -> ResponseReturnValue:
        error = ""
        if request.method == "POST":
            if check_password(guard, request.form.get("password", "")):
                from flask import session
                session.clear()
                session["signed_in"] = True
                return redirect(_safe_next(request.args.get("next")), code=303)
            error = _("Wrong password.")
        return render_template("login.html", error=error)

    @flask_app.post("/logout")
    def logout() -> ResponseReturnValue:
        from flask import session
        session.clear()
        return redirect(url_for("login"), code=303)

    @flask_app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        messages = {
            400: _("This address is not served here (check the host name in the address bar)."),
            403: _("The form expired or came from another site. Go back, reload the page "
                   "and try again."),
            404: _("There is no such page."),
        }
        code = exc.code or 500
        message = messages.get(code, exc.description or "")
        return render_template("error.html", code=code, message=message), code

    @flask_app.errorhandler(MigwatchError)
    def migwatch_error(exc: MigwatchError) -> tuple[str, int]:
        problems = getattr(exc, "problems", None) or [str(exc)]
        return render_template("error.html", code=exc.exit_code, message=problems[0],
                               problems=problems[1:]), 400

    return flask_app


def page_url(endpoint: str, **values: Any) -> str:
    """``url_for`` without empty query values (keeps filter links short)."""
    return url_for(endpoint, **{k: v for k, v in values.items() if v not in (None, "", ())})

