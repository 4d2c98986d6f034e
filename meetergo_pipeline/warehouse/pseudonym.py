"""The key behind the attendee pseudonyms of the published snapshot.

Attendees are published only as HMAC-SHA256 of their lower-cased e-mail address under a
secret key, so the same person keeps the same pseudonym across appointments and runs, and
nobody without the key can recover an address or confirm a guess. The key is
`MEETERGO_PSEUDONYM_KEY` when set; otherwise one is generated on first use and kept, owner-only
(0600), in `meetergo_pseudonym.key` beside the working DuckDB file. Its text is the key, so
copying the file's content into `MEETERGO_PSEUDONYM_KEY` keeps the pseudonyms unchanged.
Changing or losing the key changes every pseudonym.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from meetergo_pipeline.warehouse.durable import fsync_directory

PSEUDONYM_KEY_VARIABLE = "MEETERGO_PSEUDONYM_KEY"
PSEUDONYM_KEY_FILE = "meetergo_pseudonym.key"
MIN_KEY_LENGTH = 16
HMAC_BLOCK_SIZE = 64  # bytes, SHA-256's block


def pseudonym_key(key_dir: Path, configured: str | None) -> bytes:
    """`configured` (the checked `MEETERGO_PSEUDONYM_KEY`), else the key kept in `key_dir`
    (generated there on first use).

    Raises ValueError naming the file when the kept key is too short to be secret.
    """
    if configured:
        return configured.encode()
    return _kept_key(key_dir / PSEUDONYM_KEY_FILE)


def hmac_pads(key: bytes) -> tuple[bytes, bytes]:
    """(ipad, opad) of HMAC-SHA256 for `key`: HMAC(key, m) = H(opad || H(ipad || m))."""
    if len(key) > HMAC_BLOCK_SIZE:
        key = hashlib.sha256(key).digest()
    block = key.ljust(HMAC_BLOCK_SIZE, b"\0")
    return bytes(b ^ 0x36 for b in block), bytes(b ^ 0x5C for b in block)


def _kept_key(path: Path) -> bytes:
    if not path.exists():
        _create_key_file(path)
    text = path.read_text(encoding="utf-8").strip()
    if len(text) < MIN_KEY_LENGTH:
        raise ValueError(
            f"{path} holds no usable pseudonym key (fewer than {MIN_KEY_LENGTH} characters): "
            f"restore it from a backup, or set {PSEUDONYM_KEY_VARIABLE}"
        )
    return text.encode()


def _create_key_file(path: Path) -> None:
    """Write a fresh key, owner-only; a concurrent creator's key wins if it got there first.

    The key is written and fsync'd under a private name, then hard-linked into place, so no
    reader ever sees a partly written key and two creators cannot end up with different keys.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as staged_file:
            staged_file.write(secrets.token_urlsafe(32) + "\n")
            staged_file.flush()
            os.fsync(staged_file.fileno())
        try:
            os.link(staged, path)
        except FileExistsError:
            return
        fsync_directory(path.parent)
    finally:
        staged.unlink(missing_ok=True)
