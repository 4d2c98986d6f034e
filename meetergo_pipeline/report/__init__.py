"""The bookings report: one self-contained HTML page rendered from the published snapshot.

It shows weekly bookings by meeting type, cancellations and reschedules, the lead-time
distribution, the busy weekdays and hours in each host's local time, the running month's
metered usage against the plan with its projection, and the webhook/API reconciliation.
`write_report` reads the snapshot read-only (never the working file), so the page holds only
what the published contract holds; it shows counts only and names no attendee and no host.

Charting library: Vega-Lite, through ``vl-convert-python`` (the Vega project's own
converter). Its wheel ships Vega, Vega-Lite and vega-embed, and ``javascript_bundle`` hands
them over as one script that the page inlines (about 0.9 MB), so the page works offline and
from a file:// URL with no CDN. The charts are declarative JSON specifications with their
data inside, rendered as SVG in the browser with tooltips, and the package has no Python
dependencies of its own. Plotly would inline 3.5 MB or more of JavaScript per page;
matplotlib would draw static pictures without tooltips; altair writes the same Vega-Lite
JSON, but needs vl-convert for an offline page anyway and brings jsonschema and narwhals
besides.

The sync renders the page in a child process (`renderer.py`), so pandas and the chart
engine never load into the sync or Dagster worker; `write_report` imports them when called.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import duckdb

from meetergo_pipeline.settings import DEFAULTS

REPORT_NAME = "meetergo_report.html"

__all__ = ["REPORT_NAME", "report_path_for", "write_report"]


def report_path_for(snapshot_path: str | Path) -> Path:
    """Where the report of the snapshot at `snapshot_path` goes by default: beside it."""
    return Path(snapshot_path).parent / REPORT_NAME


def write_report(
    snapshot_path: str | Path,
    output_path: str | Path | None = None,
    *,
    reconciliation_warn_threshold: int = DEFAULTS.reconciliation_warn_threshold,
) -> Path:
    """Render the report of the snapshot at `snapshot_path` to `output_path` and return it.

    `output_path` defaults to `report_path_for(snapshot_path)`; the page replaces any file
    there atomically and gets the snapshot's permission bits, so it is readable by the same
    people. `reconciliation_warn_threshold` grades the reconciliation as its check does.
    Raises ValueError saying what to do when the snapshot is missing or lacks a table.
    """
    from meetergo_pipeline.report.data import read_report_data  # pandas: loaded here only
    from meetergo_pipeline.report.page import render_page  # the chart engine: loaded here only

    snapshot = Path(snapshot_path)
    if not snapshot.is_file():
        raise ValueError(
            f"no snapshot at {snapshot} yet: run `meetergo-pipeline run` (or `sync`) first, "
            "or point MEETERGO_SNAPSHOT_PATH at the published file"
        )
    output = Path(output_path) if output_path is not None else report_path_for(snapshot)
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        data = read_report_data(con, reconciliation_warn_threshold=reconciliation_warn_threshold)
    finally:
        con.close()
    page = render_page(data, snapshot_name=snapshot.name)
    _replace_file(output, page, mode=stat.S_IMODE(snapshot.stat().st_mode))
    return output


def _replace_file(path: Path, text: str, *, mode: int) -> None:
    """Write `text` to a new file beside `path` with `mode`, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
