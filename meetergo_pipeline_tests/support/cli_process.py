"""The console script as a child process, its output collected as it comes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

SCRIPT = Path(sys.executable).parent / "meetergo-pipeline"


class CliProcess:
    """`meetergo-pipeline <args>` running in `cwd` with `env`; stdout and stderr as one text."""

    def __init__(
        self, args: list[str], cwd: Path, env: dict[str, str], *, new_session: bool = False
    ) -> None:
        self.process = subprocess.Popen(
            [str(SCRIPT), *args],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=new_session,
        )
        self._lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        return "".join(self._lines)

    def wait_for_output(self, text: str, timeout_s: float) -> bool:
        """Whether `text` appeared in the output within `timeout_s` (False if it exited first)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if text in self.output:
                return True
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                return text in self.output
            time.sleep(0.05)
        return False

    def wait(self, timeout_s: float) -> int:
        """The exit code (negative: killed by that signal); the output is complete after it."""
        code = self.process.wait(timeout=timeout_s)
        self._reader.join(timeout=10)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.append(line)
