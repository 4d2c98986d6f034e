"""Receivers' writes to the PostgreSQL inbox (see ``inbox.py``): group commit from the event
loop through one worker thread, since psycopg2 blocks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import psycopg2  # type: ignore[import-untyped]
from psycopg2.extensions import connection  # type: ignore[import-untyped]
from psycopg2.extras import execute_values  # type: ignore[import-untyped]

from meetergo_pipeline.sql import load_sql
from meetergo_pipeline.webhooks.group_commit import GroupCommit
from meetergo_pipeline.webhooks.inbox import (
    InboxUnavailable,
    connect_inbox,
    inbox_location,
    unavailable,
)

logger = logging.getLogger("meetergo_pipeline.webhooks.inbox")

T = TypeVar("T")


@dataclass
class _Pending:
    received_at: datetime
    body: bytes | None
    quarantine_reason: str | None
    raw: bytes
    done: asyncio.Future[None]


class InboxWriter:
    """Group commit into the inbox: concurrent ``store`` calls share one INSERT and COMMIT.

    psycopg2 blocks, so one worker thread owns the connection and does every write; while it
    commits a batch, new deliveries queue up and the next batch takes all of them. ``store``
    returns once its row is committed and raises InboxUnavailable otherwise (nothing may be
    acknowledged then). A connection that broke while idle (a server restart) is replaced
    once per batch before the INSERT; a COMMIT that fails is not repeated, since whether it
    took effect is unknown (the sender's retry may then be stored twice, which the ingest
    counts as a second delivery of the same event).
    """

    def __init__(self, url: str) -> None:
        self._url = url
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-inbox")
        self._commits = GroupCommit(self._write, self._write_failed, self._worker)
        self._con: connection | None = None  # used in the worker thread only

    @property
    def location(self) -> str:
        return inbox_location(self._url)

    async def open(self) -> None:
        """Connect ahead of the first delivery; if the inbox is down, say so and carry on."""
        try:
            await self._in_worker(self._connection)
        except InboxUnavailable as error:
            logger.error("%s; deliveries get 503 until it answers", error)

    async def store(
        self, received_at: datetime, body: bytes | None, quarantine_reason: str | None, raw: bytes
    ) -> None:
        """Commit one delivery: ``body`` to the inbox, or ``raw`` to its quarantine."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._commits.submit(_Pending(received_at, body, quarantine_reason, raw, done))

    async def aclose(self) -> None:
        await self._commits.drain()
        await self._in_worker(self._close)
        self._worker.shutdown()

    def _write_failed(self, error: Exception) -> BaseException:
        if isinstance(error, InboxUnavailable):
            return error
        return unavailable(self._url, "cannot write to", error)

    async def _in_worker(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._worker, call)

    def _write(self, batch: list[_Pending]) -> None:
        """Insert and commit the whole batch, or raise InboxUnavailable for all of it."""
        deliveries = [(p.received_at, p.body) for p in batch if p.body is not None]
        refused = [
            (p.received_at, p.quarantine_reason, len(p.raw), p.raw)
            for p in batch
            if p.quarantine_reason is not None
        ]
        while True:
            fresh = self._con is None
            con = self._connection()
            try:
                with con.cursor() as cur:
                    if deliveries:
                        sql = load_sql("webhooks/inbox/insert_deliveries.sql")
                        execute_values(cur, sql, deliveries, page_size=len(deliveries))
                    if refused:
                        sql = load_sql("webhooks/inbox/insert_quarantined.sql")
                        execute_values(cur, sql, refused, page_size=len(refused))
            except psycopg2.Error as error:
                self._close()
                if fresh:
                    raise unavailable(self._url, "cannot write to", error) from None
                continue  # nothing was committed: try once more on a new connection
            try:
                con.commit()
            except psycopg2.Error as error:
                self._close()
                raise unavailable(self._url, "commit failed at", error) from None
            return

    def _connection(self) -> connection:
        if self._con is None:
            self._con = connect_inbox(self._url, "meetergo-webhook-receiver")
        return self._con

    def _close(self) -> None:
        con, self._con = self._con, None
        if con is not None:
            con.close()
