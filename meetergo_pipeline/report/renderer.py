"""The report rendered in a child process, started ahead of the snapshot it renders.

`ReportRenderer` starts ``python -m meetergo_pipeline.report.renderer`` at once: the child
loads pandas and the chart engine while the caller builds the snapshot, then waits for one
line on its stdin, a JSON object ``{"snapshot": path, "reconciliation_warn_threshold": n}``.
It writes the report beside the snapshot (`write_report`), prints the page's path as its
last line and exits 0. End of input without a line means "nothing to render": it exits 0
without writing. Any failure exits non-zero with the reason on stderr.

Keeping the renderer out of the caller's process keeps the sync's memory to its own work and
means a failing chart engine cannot take the run down with it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import import_module
from pathlib import Path
from types import TracebackType

RENDER_TIMEOUT_S = 300.0


class ReportRendererError(RuntimeError):
    """The renderer process failed; the message carries the end of its stderr."""


class ReportRenderer:
    """A report renderer process, started on entering the `with` block.

    Call `render` at most once; leaving the block without it ends the child unused.
    """

    def __init__(self, *, reconciliation_warn_threshold: int) -> None:
        self._threshold = reconciliation_warn_threshold
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> ReportRenderer:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "meetergo_pipeline.report.renderer"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        return self

    def render(self, snapshot_path: str | Path) -> Path:
        """Render the report of the snapshot at `snapshot_path`; returns the page's path.

        Raises ReportRendererError with the child's reason when it fails or times out.
        """
        process = self._running()
        request = {
            "snapshot": str(snapshot_path),
            "reconciliation_warn_threshold": self._threshold,
        }
        try:
            stdout, stderr = process.communicate(
                json.dumps(request) + "\n", timeout=RENDER_TIMEOUT_S
            )
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise ReportRendererError(
                f"the report renderer did not finish within {RENDER_TIMEOUT_S:.0f} s"
            ) from None
        if process.returncode != 0:
            reason = "\n".join(stderr.strip().splitlines()[-5:]) or f"exit {process.returncode}"
            raise ReportRendererError(f"the report renderer failed: {reason}")
        return Path(stdout.strip().splitlines()[-1])

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        process = self._running()
        if process.returncode is None:  # render was not called: end the child unused
            try:
                process.communicate("", timeout=RENDER_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()

    def _running(self) -> subprocess.Popen[str]:
        if self._process is None:
            raise RuntimeError("use ReportRenderer in a `with` block")
        return self._process


def main() -> int:
    """The child's side: load the renderer, wait for one request, render it."""
    from meetergo_pipeline.report import write_report

    import_module(
        "meetergo_pipeline.report.page"
    )  # pandas and the chart engine, before the request

    line = sys.stdin.readline()
    if not line.strip():
        return 0
    request = json.loads(line)
    try:
        page = write_report(
            request["snapshot"],
            reconciliation_warn_threshold=int(request["reconciliation_warn_threshold"]),
        )
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    print(page)
    return 0


if __name__ == "__main__":
    # The parent waits for this process to end: end it without tearing down pandas and the
    # chart engine, once the answer is flushed.
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
