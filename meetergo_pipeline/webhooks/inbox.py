"""The PostgreSQL inbox (``MEETERGO_WEBHOOK_INBOX_URL``): one durable store several receivers
share, in place of each one's local log.

Tables (``sql/webhooks/inbox/create.sql``, created when missing by the first receiver or
ingest to connect): ``meetergo_webhook_inbox`` holds one accepted delivery per row (its body
as the receiver's one-line JSON object, as bytes), ``meetergo_webhook_inbox_quarantine`` what
was refused, ``meetergo_webhook_inbox_identity`` the inbox's id. Needs PostgreSQL 13 or later
(``xid8``, ``pg_current_snapshot``) and psycopg2 (the ``postgres`` extra).

A receiver commits each delivery before its 2xx (``inbox_writer.InboxWriter``); the ingest
reads rows in the order of the transaction that wrote them and only below the oldest
transaction still running (``InboxReader``), so a row that commits after a higher id was read
is never skipped.

The URL may carry a password: it is never logged, and errors are rewritten without it
(``InboxUnavailable``); logs name the inbox by host, port and database only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meetergo_pipeline.settings import variable
from meetergo_pipeline.sql import load_sql

try:
    import psycopg2  # type: ignore[import-untyped]
    from psycopg2.extensions import (  # type: ignore[import-untyped]
        ISOLATION_LEVEL_REPEATABLE_READ,
        connection,
        parse_dsn,
    )
    from psycopg2.extras import execute_values  # type: ignore[import-untyped]
except ImportError:  # the postgres extra is not installed: check_inbox_url says so
    psycopg2 = None

INBOX_TABLE = "meetergo_webhook_inbox"
URL_VARIABLE = variable("webhook_inbox_url")
CONNECT_TIMEOUT_S = 5
READ_ROWS_PER_FETCH = 1000


class InboxUnavailable(OSError):
    """The inbox could not be reached or written; the message holds no URL or password."""


def check_inbox_url(url: str) -> None:
    """Raise ValueError, naming the variable but not the URL, when psycopg2 is missing or
    libpq cannot read ``url``."""
    try:
        _parse(url)
    except InboxUnavailable as error:
        raise ValueError(str(error)) from None


def inbox_location(url: str) -> str:
    """``host:port/database`` of the inbox: how logs name it (no user, no password)."""
    try:
        params = _parse(url)
    except (InboxUnavailable, ValueError):
        return "<unreadable URL>"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    return f"{host}:{params.get('port') or 5432}/{params.get('dbname') or '(default)'}"


def connect_inbox(url: str, application_name: str) -> connection:
    """A connection to the inbox with its tables in place (created if missing).

    Raises InboxUnavailable when it cannot be had (server down, refused login, bad URL).
    """
    params = {
        "connect_timeout": str(CONNECT_TIMEOUT_S),
        "keepalives": "1",
        "keepalives_idle": "30",
        "keepalives_interval": "10",
        "keepalives_count": "3",
        "application_name": application_name,
        **_parse(url),
    }
    try:
        con = psycopg2.connect(**params)
    except psycopg2.Error as error:
        raise unavailable(url, "cannot connect to", error) from None
    try:
        with con.cursor() as cur:
            cur.execute(load_sql("webhooks/inbox/tables_exist.sql"))
            (exists,) = cur.fetchone()
            if not exists:
                cur.execute(load_sql("webhooks/inbox/create.sql"))
        con.commit()
    except psycopg2.Error as error:
        con.close()
        raise unavailable(url, "cannot create the tables of", error) from None
    return con


def unavailable(url: str, doing: str, error: BaseException) -> InboxUnavailable:
    """InboxUnavailable for ``error``, its text stripped of the URL and its password."""
    text = " ".join(str(error).split()) or type(error).__name__
    secrets = [url]
    with contextlib.suppress(InboxUnavailable, ValueError):
        secrets.append(_parse(url).get("password") or "")
    for secret in filter(None, secrets):
        text = text.replace(secret, "***")
    return InboxUnavailable(f"{doing} the webhook inbox at {inbox_location(url)}: {text}")


@dataclass(frozen=True)
class InboxPosition:
    """Where the ingest stands in the inbox: the (xid, id) of the last row it read."""

    xid: int = 0
    id: int = 0


@dataclass(frozen=True)
class InboxRow:
    id: int
    xid: int
    received_at: datetime
    body: bytes

    @property
    def position(self) -> InboxPosition:
        return InboxPosition(self.xid, self.id)


class InboxReader:
    """One consistent, read-only view of the inbox (a REPEATABLE READ transaction).

    ``horizon`` is the oldest transaction still running when the view was taken: every row
    below it that will ever exist is visible now, so ``rows`` returns only those and a cursor
    past them can never skip a row. Rows at or above it wait for a later read.
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._con = connect_inbox(url, "meetergo-webhook-ingest")
        try:
            self._con.set_session(isolation_level=ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
            inbox_id, horizon, next_xid = self._one(load_sql("webhooks/inbox/snapshot.sql"))
        except BaseException:
            self._con.close()
            raise
        if inbox_id is None:
            self._con.close()
            raise InboxUnavailable(
                f"the webhook inbox at {inbox_location(url)} has no row in "
                "meetergo_webhook_inbox_identity: insert one (INSERT INTO "
                "meetergo_webhook_inbox_identity (inbox_id) VALUES (gen_random_uuid()))"
            )
        self.inbox_id: str = inbox_id
        self.horizon = int(horizon)
        self.next_xid = int(next_xid)

    def rows(self, after: InboxPosition) -> Iterator[InboxRow]:
        """The rows after ``after`` and below the horizon, in (xid, id) order, streamed."""
        if after.xid >= self.next_xid:
            raise ValueError(
                f"the ingest's cursor into the webhook inbox at {self.location} is at "
                f"transaction {after.xid}, beyond any this server has assigned ({self.next_xid}): "
                "the inbox was copied into another cluster under the same id. Give it a new id "
                "(UPDATE meetergo_webhook_inbox_identity SET inbox_id = gen_random_uuid()): the "
                "ingest then reads it from the start, and deliveries it had read already count "
                "once more in delivery_count"
            )
        params = {"xid": str(after.xid), "id": after.id, "horizon": str(self.horizon)}
        try:
            with self._con.cursor(name="webhook_inbox_rows") as cur:
                cur.itersize = READ_ROWS_PER_FETCH
                cur.execute(load_sql("webhooks/inbox/read_rows.sql"), params)
                for row_id, xid, received_at, body in cur:
                    yield InboxRow(row_id, int(xid), received_at, bytes(body))
        except psycopg2.Error as error:
            raise unavailable(self._url, "cannot read", error) from None

    def held_back(self) -> int:
        """Committed rows at or above the horizon (the next read takes them)."""
        sql = load_sql("webhooks/inbox/count_held_back.sql")
        (count,) = self._one(sql, {"horizon": str(self.horizon)})
        return int(count)

    @property
    def location(self) -> str:
        return inbox_location(self._url)

    def close(self) -> None:
        self._con.close()

    def _one(self, sql: str, params: dict[str, Any] | None = None) -> tuple[Any, ...]:
        try:
            with self._con.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchone()
        except psycopg2.Error as error:
            raise unavailable(self._url, "cannot read", error) from None


def quarantine_in_inbox(url: str, refused: list[tuple[datetime, str, bytes]]) -> None:
    """Commit ``(received_at, reason, raw)`` records to the inbox's quarantine table."""
    con = connect_inbox(url, "meetergo-webhook-ingest")
    try:
        with con.cursor() as cur:
            rows = [(at, reason, len(raw), raw) for at, reason, raw in refused]
            execute_values(cur, load_sql("webhooks/inbox/insert_quarantined.sql"), rows)
        con.commit()
    except psycopg2.Error as error:
        raise unavailable(url, "cannot write to", error) from None
    finally:
        con.close()


def newest_receipt(url: str) -> datetime | None:
    """When the inbox's newest delivery was received; None while it is empty."""
    con = connect_inbox(url, "meetergo-webhook-ingest")
    try:
        with con.cursor() as cur:
            cur.execute(load_sql("webhooks/inbox/newest_receipt.sql"))
            found = cur.fetchone()
        return None if found is None else found[0]
    except psycopg2.Error as error:
        raise unavailable(url, "cannot read", error) from None
    finally:
        con.close()


def _parse(url: str) -> dict[str, str]:
    """libpq's reading of ``url``; ValueError when psycopg2 is missing."""
    if psycopg2 is None:
        raise ValueError(
            f"{URL_VARIABLE} needs psycopg2: install the postgres extra "
            "(pip install -e '.[postgres]')"
        )
    try:
        return parse_dsn(url)
    except psycopg2.Error:
        # libpq's message may quote the URL: say only that it could not be read.
        raise InboxUnavailable(
            f"{URL_VARIABLE} is not a connection URL libpq can read (the value is not shown)"
        ) from None
