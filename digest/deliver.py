"""Delivery: each built issue reaches each configured recipient once, by SMTP.

Contract: ``send_digest`` sends one multipart/alternative message (text and HTML) per
recipient and returns a :class:`DeliveryReport`.  The ledger in ``db.ledger`` makes it
safe to repeat: a recipient already ``sent`` is skipped, a ``failed`` one is tried again,
and a row left ``sending`` by a process that died between the SMTP transaction and the
bookkeeping is sent again (at most one duplicate, never a lost issue; the Message-ID is
the same, so many clients fold the two).  The Message-ID is derived from the issue and
the recipient's full address: stable across resends, unique per recipient (RFC 5322
§3.6.4), as the ledger needs.

An empty week (no new article) is not mailed when ``digest.skip_empty`` is on: each
recipient's row is recorded ``skipped`` with the reason, so ``migwatch status`` and a
later run know why nothing went out.  Runs for one issue never overlap: they hold a
builder lock.

Giving up: a recipient whose attempt fails when it has had ``digest.max_attempts``
attempts for the issue becomes ``given-up`` and is not tried again; so does one whose
address the server refuses for good (a 5xx reply to RCPT TO that is about the address,
such as 5.1.1 unknown mailbox: an unknown mailbox does not heal by itself).  Other 5xx
replies (relaying denied, login, sender, message) and every 4xx, network or TLS error
count as ordinary attempts, since they concern the server or the setup, not the address,
and a fix there lets the next run through.  The step to ``given-up`` is logged once, as a
warning naming the recipient, the issue and the command that tries again
(``retry_given_up`` resets those rows first).

SMTP replies are untrusted input: every smtplib or socket error becomes a one-line
:class:`DeliveryError` text, sanitised, recorded on that recipient's row, and the run
goes on with the next recipient.  The password comes only from
``MIGWATCH_SMTP_PASSWORD``.  ``dry_run_dir`` writes ``.eml`` files instead and leaves the
ledger untouched.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import smtplib
import ssl
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from config.errors import ConfigError, DeliveryError
from config.schema import Settings, SmtpSettings
from db.instance import this_process
from db.ledger import (
    GIVEN_UP,
    SKIPPED,
    DeliveryRow,
    builder_lock,
    claim_delivery,
    ensure_deliveries,
    give_up_failed,
    list_deliveries,
    mark_failed,
    mark_given_up,
    mark_sent,
    reset_given_up,
    skip_pending,
)
from digest.archive import write_atomically
from digest.model import BuiltDigest, DeliveryOutcome, DeliveryReport
from digest.render import digest_title
from digest.sanitize import one_line

log = logging.getLogger(__name__)

PASSWORD_ENV = "MIGWATCH_SMTP_PASSWORD"
AfterSend = Callable[[str], None]


def message_id_for(period: str, language: str, recipient: str, sender: str) -> str:
    """A Message-ID stable across resends and unique per recipient of an issue."""
    address = recipient.strip().lower()
    token = hashlib.sha256(f"{period}|{language}|{address}".encode()).hexdigest()[:24]
    host = sender.rsplit("@", 1)[-1].strip().lower() if "@" in sender else ""
    if not re.fullmatch(r"[a-z0-9.-]+", host):
        host = "migwatch.invalid"
    return f"<digest.{period}.{language}.{token}@{host}>"


def compose_message(
    built: BuiltDigest, *, sender: str, title: str, recipient: str, message_id: str,
    now: datetime,
) -> EmailMessage:
    """The mail for one recipient: text first, HTML as the preferred alternative."""
    message = EmailMessage()
    message["Subject"] = built.subject
    message["From"] = formataddr((digest_title(title), sender))
    message["To"] = recipient
    message["Date"] = format_datetime(now if now.tzinfo else now.replace(tzinfo=UTC))
    message["Message-ID"] = message_id
    # RFC 3834: tells vacation responders not to answer a machine
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(built.text)
    message.add_alternative(built.html, subtype="html")
    return message


def describe_smtp_error(exc: BaseException, smtp: SmtpSettings) -> str:
    """One sanitised line saying what the server or network did, and what to check."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        answers = [
            f"{code} {_decode(text)}" for code, text in exc.recipients.values()
        ] or ["no reason given"]
        return one_line(f"server refused the recipient: {'; '.join(answers)}")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return one_line(
            f"login refused ({exc.smtp_code} {_decode(exc.smtp_error)}); "
            f"check smtp.username and {PASSWORD_ENV}"
        )
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return one_line(
            f"server refused the sender ({exc.smtp_code} {_decode(exc.smtp_error)}); "
            "check smtp.sender"
        )
    if isinstance(exc, smtplib.SMTPResponseException):
        return one_line(f"server answered {exc.smtp_code} {_decode(exc.smtp_error)}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return one_line(f"server {smtp.host}:{smtp.port} closed the connection: {exc}")
    if isinstance(exc, ssl.SSLError):
        return one_line(
            f"TLS with {smtp.host}:{smtp.port} failed ({exc.reason or exc}); "
            "check smtp.ssl / smtp.starttls and the port"
        )
    if isinstance(exc, OSError):
        return one_line(
            f"cannot reach {smtp.host}:{smtp.port} ({exc.strerror or exc}); "
            "check smtp.host and smtp.port"
        )
    return one_line(f"SMTP error: {exc}")


class RecipientRefusedError(DeliveryError):
    """The server refused the recipient's address for good (5xx to RCPT TO)."""


ENHANCED_STATUS = re.compile(rb"^\s*5\.(\d{1,3})\.\d{1,3}\b")


def refuses_the_address(code: int, text: bytes | str) -> bool:
    """Whether one RCPT TO reply says the address itself is bad, for good.

    An enhanced status code (RFC 3463) decides when there is one: class 5.1.x is about
    the address (unknown mailbox, bad domain); 5.7.x (relaying denied, authentication
    required) and the rest are about the server or the setup, which a fix can heal.
    Without one, 550/551/553 refuse the address unless the text speaks of relaying.
    """
    if not 500 <= code < 600:
        return False
    raw = text.encode("utf-8", "replace") if isinstance(text, str) else text
    enhanced = ENHANCED_STATUS.match(raw)
    if enhanced:
        return enhanced.group(1) == b"1"
    return code in (550, 551, 553) and b"relay" not in raw.lower()


def is_permanent_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is a permanent refusal of the address of every recipient."""
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and bool(exc.recipients) and all(
        refuses_the_address(code, text) for code, text in exc.recipients.values()
    )


def resend_hint(period: str, language: str) -> str:
    """The command that tries the given-up recipients of an issue again."""
    return f"migwatch digest --week {period} --lang {language} --send --retry-given-up"


def smtp_password(smtp: SmtpSettings) -> str | None:
    """``MIGWATCH_SMTP_PASSWORD``; ConfigError when ``smtp.username`` needs it and it is unset."""
    password = os.environ.get(PASSWORD_ENV)
    if smtp.username and not password:
        raise ConfigError(f"smtp.username is set but {PASSWORD_ENV} is not; export it first")
    return password


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class Mailer:
    """One SMTP connection, opened on first use and reopened after a connection error."""

    def __init__(self, smtp: SmtpSettings, password: str | None) -> None:
        self.smtp = smtp
        self.password = password
        self.connection: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = self.smtp
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if smtp.ssl:
            connection = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_seconds, context=context
            )
        else:
            connection = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds)
        try:
            connection.ehlo()
            if smtp.starttls:
                connection.starttls(context=context)
                connection.ehlo()
            if smtp.username:
                connection.login(smtp.username, self.password or "")
        except BaseException:
            connection.close()
            raise
        return connection

    def check(self) -> None:
        """Connect, EHLO, STARTTLS or SSL and log in as configured, then QUIT; send nothing.

        Raises DeliveryError with the same one-line reason a failed send gives.
        """
        self.close()
        try:
            self.connection = self._connect()
        except (smtplib.SMTPException, OSError, UnicodeError, ValueError) as exc:
            raise DeliveryError(describe_smtp_error(exc, self.smtp)) from exc
        self.close()

    def send(self, message: EmailMessage) -> None:
        """Send ``message``; raise DeliveryError with a one-line reason."""
        try:
            if self.connection is None:
                self.connection = self._connect()
            self.connection.send_message(message)
        except (smtplib.SMTPException, OSError, UnicodeError, ValueError) as exc:
            # after any error the conversation may be out of step (a malformed multi-line
            # reply, a half-read answer): start the next recipient on a fresh connection
            self.close()
            reason = describe_smtp_error(exc, self.smtp)
            if is_permanent_refusal(exc):
                raise RecipientRefusedError(reason) from exc
            raise DeliveryError(reason) from exc

    def close(self) -> None:
        """Say QUIT if possible; forget the connection either way."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()


def _eml_name(period: str, language: str, recipient: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9@._-]", "_", recipient)
    return f"{period}.{language}.{safe}.eml"


def send_digest(
    sessions: sessionmaker[Session],
    settings: Settings,
    built: BuiltDigest,
    *,
    now: datetime,
    dry_run_dir: Path | None = None,
    after_send: AfterSend | None = None,
    retry_given_up: bool = False,
) -> DeliveryReport:
    """Mail ``built`` to every configured recipient not yet served; report each outcome.

    ``retry_given_up`` first gives the issue's given-up recipients a fresh set of attempts.
    """
    recipients = list(dict.fromkeys(settings.digest.recipients))
    if not recipients:
        raise ConfigError("digest.recipients in migwatch.yaml is empty; add an email address")
    smtp = settings.smtp
    ids = {
        r: message_id_for(built.period, built.language, r, smtp.sender) for r in recipients
    }

    def compose(recipient: str) -> EmailMessage:
        return compose_message(
            built, sender=smtp.sender, title=settings.digest.title, recipient=recipient,
            message_id=ids[recipient], now=now,
        )

    if dry_run_dir is not None:
        outcomes = []
        for recipient in recipients:
            path = dry_run_dir / _eml_name(built.period, built.language, recipient)
            write_atomically(path, compose(recipient).as_string(policy=SMTP))
            outcomes.append(DeliveryOutcome(recipient, "dry-run", 0, None, path))
        return DeliveryReport(built.period, built.language, tuple(outcomes))
    if built.is_empty and settings.digest.skip_empty:
        return _skip_empty(sessions, built, ids, now=now)
    if not built.is_complete:
        raise ConfigError(
            f"week {built.period} is still in progress; it can be built and previewed "
            "with --dry-run, but is mailed only once it is over"
        )
    password = smtp_password(smtp)
    max_attempts = settings.digest.max_attempts
    mailer = Mailer(smtp, password)
    report: list[DeliveryOutcome] = []
    name = f"digest-send:{built.period}:{built.language}"
    with builder_lock(sessions, name, holder=this_process(), now=now), sessions() as session:
        ensure_deliveries(session, built.period, built.language, ids, now)
        if retry_given_up:
            reset = reset_given_up(session, built.period, built.language, now)
            if reset:
                log.info("digest period=%s lang=%s retrying %d given-up recipients",
                         built.period, built.language, reset)
        ledger = list_deliveries(session, built.period, built.language)
        rows = {row.recipient: row for row in ledger}
        try:
            for recipient in recipients:
                row = rows[recipient]
                if row.status == "failed" and row.attempts >= max_attempts:
                    # the limit was lowered since the last run: no attempt left
                    if give_up_failed(session, row.id, now):
                        _log_given_up(row, row.last_error)
                    row = replace(row, status=GIVEN_UP)
                if row.status == GIVEN_UP:
                    report.append(
                        DeliveryOutcome(recipient, GIVEN_UP, row.attempts, row.last_error)
                    )
                    continue
                claimed = None if row.status == "sent" else claim_delivery(session, row.id, now)
                if claimed is None:
                    report.append(DeliveryOutcome(recipient, "already-sent", row.attempts, None))
                    continue
                try:
                    mailer.send(compose(recipient))
                except DeliveryError as exc:
                    reason = str(exc)
                    permanent = isinstance(exc, RecipientRefusedError)
                    if not permanent and claimed.attempts < max_attempts:
                        mark_failed(session, claimed.id, reason, now)
                        report.append(
                            DeliveryOutcome(recipient, "failed", claimed.attempts, reason)
                        )
                        continue
                    if mark_given_up(session, claimed.id, reason, now):
                        _log_given_up(claimed, reason)
                    report.append(DeliveryOutcome(recipient, GIVEN_UP, claimed.attempts, reason))
                    continue
                if after_send is not None:
                    after_send(recipient)
                mark_sent(session, claimed.id, now)
                report.append(DeliveryOutcome(recipient, "sent", claimed.attempts, None))
        finally:
            mailer.close()
    result = DeliveryReport(built.period, built.language, tuple(report))
    counts = Counter(outcome.status for outcome in report)
    log.info(
        "digest delivered period=%s lang=%s sent=%d failed=%d given_up=%d already_sent=%d "
        "status=%s",
        built.period, built.language, counts["sent"], counts["failed"], counts[GIVEN_UP],
        counts["already-sent"], "error" if result.has_failures else "ok",
    )
    return result


def skip_reason(period: str) -> str:
    """Why an issue was not mailed, as the ledger keeps it."""
    return f"no new articles in {period}; not mailed (digest.skip_empty)"


def _skip_empty(
    sessions: sessionmaker[Session], built: BuiltDigest, ids: dict[str, str], *, now: datetime
) -> DeliveryReport:
    """Record every recipient of an empty week as skipped, with the reason; send nothing."""
    reason = skip_reason(built.period)
    name = f"digest-send:{built.period}:{built.language}"
    with builder_lock(sessions, name, holder=this_process(), now=now), sessions() as session:
        ensure_deliveries(session, built.period, built.language, ids, now)
        skip_pending(session, built.period, built.language, reason, now)
        rows = list_deliveries(session, built.period, built.language)
    log.info("digest period=%s lang=%s empty week: not mailed status=skipped",
             built.period, built.language)
    outcomes = tuple(
        DeliveryOutcome(row.recipient, row.status, row.attempts,
                        row.last_error if row.status == SKIPPED else None)
        for row in rows
        if row.recipient in ids
    )
    return DeliveryReport(built.period, built.language, outcomes)


def _log_given_up(row: DeliveryRow, reason: str | None) -> None:
    """The one warning a user gets about a recipient given up."""
    attempts = row.attempts
    log.warning(
        "gave up mailing %s (%s) to %s after %d attempt%s: %s; check the address and the "
        "smtp settings, then run: %s",
        row.period, row.language, row.recipient, attempts, "" if attempts == 1 else "s",
        reason or "no reason recorded", resend_hint(row.period, row.language),
    )
