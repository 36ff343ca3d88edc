"""``migwatch web``: the local web app over this configuration and database."""

from __future__ import annotations

import contextlib
import getpass

import click

from config.errors import ConfigError
from migwatch.cli import cli
from migwatch.cli import unwrapped_console as console
from migwatch.context import AppContext


def run_web(app: AppContext, host: str, port: int, allowed_hosts: tuple[str, ...] = (),
            behind_https: bool = False) -> int:
    """Serve the web app in the foreground until Ctrl-C."""
    from migwatch.web.server import WebServer, guard_for  # heavy: flask, waitress
    try:
        server = WebServer(app, guard_for(host, port, extra_hosts=allowed_hosts,
                                          behind_https=behind_https))
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
                          "choose another --port") from exc
    console.print(f"[bold]migwatch web: {server.url}[/]  (Ctrl-C stops it)")
    with contextlib.suppress(KeyboardInterrupt):  # waitress itself returns on Ctrl-C
        server.run()
    console.print("web app stopped")
    return 0


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; any but loopback needs MIGWATCH_WEB_PASSWORD.")
@click.option("--port", default=8470, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="Another host name the app is reached by (behind a proxy); repeat for more.")
@click.option("--behind-https", is_flag=True,
              help="A proxy serves the app over https: mark the session cookie Secure.")
@click.option("--hash-password", is_flag=True,
              help="Ask for a password and print its hash for MIGWATCH_WEB_PASSWORD_HASH.")
@click.pass_obj
def web(app: AppContext, host: str, port: int, allowed_hosts: tuple[str, ...],
        behind_https: bool, hash_password: bool) -> int:
    """Open the collected articles, the sources and the themes in a browser."""
    if hash_password:
        from werkzeug.security import generate_password_hash
        password = getpass.getpass("password: ")
        if not password:
            raise ConfigError("an empty password cannot protect anything; type one")
        click.echo(generate_password_hash(password))
        return 0
    return run_web(app, host, port, allowed_hosts, behind_https)
