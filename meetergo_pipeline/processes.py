"""Whether a process is still alive, for state a dead process may have left behind."""

from __future__ import annotations

import os


def process_exists(pid: int) -> bool:
    """Whether a process with `pid` exists on this machine (any user's)."""
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    return True
