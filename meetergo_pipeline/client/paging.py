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

import logging
from collections.abc import Callable, Iterator
from typing import Any

from meetergo_pipeline.client.errors import MeetergoPaginationError

log = logging.getLogger(__name__)

Row = dict[str, Any]
PageFetcher = Callable[[int], tuple[list[Row], int | None]]
"""Fetches page number n (0-based) and returns its rows and the server's `total` (if sent)."""


def iter_consistent_pages(
    fetch_page: PageFetcher,
    page_size: int,
    *,
    stop_after: Callable[[list[Row]], bool] | None = None,
    max_passes: int = 3,
) -> Iterator[list[Row]]:
    """Yield pages of rows not yet yielded in this listing.

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
            rows, total = fetch_page(page_number)
            ids = [str(row["id"]) for row in rows]
            if ids and ids == previous_ids:
                log.info("page %d repeated the previous page; re-reading it", page_number)
                rows, total = fetch_page(page_number)
                ids = [str(row["id"]) for row in rows]
                if ids == previous_ids:
                    raise MeetergoPaginationError(
                        f"the server returned page {page_number - 1} again as page {page_number}"
                    )
            if total is not None:
                totals.add(total)
            fresh = [row for row, row_id in zip(rows, ids, strict=True) if row_id not in seen]
            if pass_number == 1 and len(fresh) < len(rows):
                shifted = True
            seen.update(ids)
            rows_read += len(rows)
            if fresh:
                yield fresh
            if stop_after is not None and rows and stop_after(rows):
                return
            if not rows or len(rows) < page_size or (total is not None and rows_read >= total):
                break
            previous_ids = ids
            page_number += 1
        shifted = shifted or len(totals) > 1
        if not shifted and (total is None or len(seen) >= total):
            return
        log.info("rows shifted while paging (pass %d); reading the listing again", pass_number)
    log.warning("rows kept shifting after %d passes; later syncs will catch up", max_passes)
