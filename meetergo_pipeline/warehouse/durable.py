"""fsync helpers: make a file's content, and a folder's entries, reach the disk."""

from __future__ import annotations

import os
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush `path`'s content and metadata (its mode included) to disk."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_directory(path: Path) -> None:
    """Flush the entries of folder `path` (a rename or link into it survives a power cut)."""
    fsync_file(path)
