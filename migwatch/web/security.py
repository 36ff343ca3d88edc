"""What keeps the web app safe on a laptop and on a shared server.

* **Where it listens.** 127.0.0.1 unless told otherwise; on any other address it refuses to
  start without a password (``MIGWATCH_WEB_PASSWORD``, or a hash of one in
  ``MIGWATCH_WEB_PASSWORD_HASH`` made by ``migwatch web --hash-password``), and then every
  page but the login form needs the session cookie (HttpOnly, SameSite=Lax, Secure when
  served behind https).
* **DNS rebinding.** A page on another site can make a browser send requests to
  127.0.0.1 under that site's name; requests whose ``Host`` is not one this server was
  started for are refused with 400.
* **CSRF.** Every POST carries the session's token (a hidden form field or the
  ``X-CSRF-Token`` header); without it, 403.
* **Content-Security-Policy.** Scripts and styles only from the app's own static files, no
  inline script, no framing; untrusted article text is reduced to plain text by the
  digest's sanitiser before it reaches a template, and only http(s) links are rendered.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import Flask, Response, abort, g, redirect, request, session, url_for
from werkzeug.security import check_password_hash, generate_password_hash

from config.errors import ConfigError

PASSWORD_ENV = "MIGWATCH_WEB_PASSWORD"
PASSWORD_HASH_ENV = "MIGWATCH_WEB_PASSWORD_HASH"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
# The archive's issue pages are our own sanitised HTML with inline styles (mail clients
# need them); they get no script at all and run sandboxed.
ARCHIVE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src http: https: data:; "
               "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; "
               "sandbox allow-popups allow-popups-to-escape-sandbox "
               "allow-top-navigation-by-user-activation")
_OPEN_ENDPOINTS = frozenset({"login", "static"})


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Guard:
    """The security choices of one running web app."""

    host: str
    port: int
    password_hash: str | None = None
    extra_hosts: tuple[str, ...] = ()
    behind_https: bool = False
    allowed_hosts: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {self.host, *self.extra_hosts}
        if is_loopback(self.host):
            names |= {"127.0.0.1", "localhost", "[::1]"}
        allowed = {f"{name}:{self.port}" for name in names}
        if self.port in (80, 443):
            allowed |= names
        object.__setattr__(self, "allowed_hosts", frozenset(a.lower() for a in allowed))

    @property
    def needs_login(self) -> bool:
        """Whether pages need the password (always when not on loopback)."""
        return self.password_hash is not None


def password_hash_from(environ: Mapping[str, str], host: str) -> str | None:
    """The password hash from the environment; ConfigError when off loopback without one."""
    stored = environ.get(PASSWORD_HASH_ENV, "").strip()
    plain = environ.get(PASSWORD_ENV, "")
    if stored:
        return stored
    if plain:
        return generate_password_hash(plain)
    if not is_loopback(host):
        raise ConfigError(
            f"the web app would listen on {host}, reachable from other machines: set "
            f"{PASSWORD_ENV} (or {PASSWORD_HASH_ENV} from `migwatch web --hash-password`) "
            "first, or use --host 127.0.0.1")
    return None


def csrf_token() -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def _check_csrf() -> None:
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not isinstance(expected, str) or not hmac.compare_digest(expected, sent):
        abort(403, description="csrf")


def check_password(guard: Guard, password: str) -> bool:
    """Whether ``password`` is the configured one."""
    return guard.password_hash is not None and check_password_hash(guard.password_hash,
                                                                   password)


def install_guard(app: Flask, guard: Guard) -> None:
    """Host check, login, CSRF and security headers on every request of ``app``."""
    app.config.update(
        SECRET_KEY=os.urandom(32),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=guard.behind_https,
        SESSION_COOKIE_NAME="migwatch_session",
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,  # an OPML upload is a few KiB
    )

    @app.before_request
    def _guard() -> Response | None:
        if (request.host or "").lower() not in guard.allowed_hosts:
            abort(400, description="host")
        g.csrf_token = csrf_token()
        if request.method == "POST":
            _check_csrf()
        if (guard.needs_login and not session.get("signed_in")
                and request.endpoint not in _OPEN_ENDPOINTS):
            return redirect(url_for("login", next=request.full_path))  # type: ignore[return-value]
        return None

    @app.after_request
    def _headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers.setdefault("Cache-Control", "no-store")
        return response
