"""Read numbered pages consistently from an API with no cursors.

meetergo pages by offset (`/v4/user`) or by page number (`/v4/appointment/paginated`), and
rows can move between pages while we read them (a booking created at the head of a
createdAt-descending list pushes every row one place back). The reader therefore:

- stops on an empty page, a short page, or once it has read `total` rows;
- re-reads a page that is an exact repeat of the previous one (a server hiccup), and fails
  if the repeat persists;
- yields each id once per listing, and when `total` changes or an id comes back mid-listing
  (rows shifted), reads the listing again from the start so that no row slips through.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from meetergo_pipeline.client.errors import MeetergoPaginationError

log = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass(frozen=True)
class Page:
    """One page of a listing: the response body as received, and the keys paging needs.

    The warehouse stores each row's JSON straight from `body`, so a sync never builds (or
    re-serialises) Python objects for its payloads; `ids` and `created_at` are decoded
    without them (see `models.decode_page`). `rows()` parses the rows for callers that
    want them. `rows_key` names the array in the body; None when the body is a bare array.
    """

    body: bytes = field(repr=False)
    rows_key: str | None
    ids: list[str]
    created_at: list[str | None]
    total: int | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def rows(self) -> list[Row]:
        document = json.loads(self.body)
        return document if self.rows_key is None else document.get(self.rows_key) or []

    def without(self, ids: set[str]) -> Page:
        """This page minus the rows with these ids and repeats of its own rows.

        Re-encodes the body, which only happens when rows shifted between pages.
        """
        skip = set(ids)
        keep = []
        for i, row_id in enumerate(self.ids):
            if row_id not in skip:
                keep.append(i)
                skip.add(row_id)
        rows = self.rows()
        kept_rows = [rows[i] for i in keep]
        document: Any = kept_rows if self.rows_key is None else {self.rows_key: kept_rows}
        return Page(
            body=json.dumps(document, ensure_ascii=False).encode(),
            rows_key=self.rows_key,
            ids=[self.ids[i] for i in keep],
            created_at=[self.created_at[i] for i in keep],
            total=self.total,
        )


PageFetcher = Callable[[int], Page]
"""Fetches page number n (0-based)."""


def iter_consistent_pages(
    fetch_page: PageFetcher,
    page_size: int,
    *,
    stop_after: Callable[[Page], bool] | None = None,
    max_passes: int = 3,
) -> Iterator[Page]:
    """Yield pages holding only rows not yet yielded in this listing.

    `stop_after(page)` lets a caller end the listing early (incremental reads that reach
    their high-water mark); an early stop never triggers a re-read.
    """
    seen: set[str] = set()
    for pass_number in range(1, max_passes + 1):
        shifted = False
        rows_read = 0
        totals: set[int] = set()
        previous_ids: list[str] | None = None
        page_number = 0
        while True:
            page = fetch_page(page_number)
            if page.ids and page.ids == previous_ids:
                log.info("page %d repeated the previous page; re-reading it", page_number)
                page = fetch_page(page_number)
                if page.ids == previous_ids:
                    raise MeetergoPaginationError(
                        f"the server returned page {page_number - 1} again as page {page_number}"
                    )
            if page.total is not None:
                totals.add(page.total)
            repeats = not seen.isdisjoint(page.ids) or len(set(page.ids)) < len(page)
            fresh = page.without(seen) if repeats else page
            if pass_number == 1 and len(fresh) < len(page):
                shifted = True
            seen.update(page.ids)
            rows_read += len(page)
            if len(fresh):
                yield fresh
            if stop_after is not None and len(page) and stop_after(page):
                return
            total = page.total
            if not len(page) or len(page) < page_size or (total is not None and rows_read >= total):
                break
            previous_ids = page.ids
            page_number += 1
        shifted = shifted or len(totals) > 1
        if not shifted and (total is None or len(seen) >= total):
            return
        log.info("rows shifted while paging (pass %d); reading the listing again", pass_number)
    log.warning("rows kept shifting after %d passes; later syncs will catch up", max_passes)
