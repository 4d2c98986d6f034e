"""RateBudget: the client's share of meetergo's per-key rate limit.

meetergo allows 100 requests/minute per API key with bursts to 200 (a token bucket), and the
same key is used by the customer's own application, which creates the bookings. The pipeline
therefore spends only a share of that bucket (`MEETERGO_API_BUDGET_SHARE`) so it never starves
the customer. One RateBudget per key is shared by every thread of the process
(`RateBudget.shared`); with `state_path` it is shared between processes as well, through a
small locked state file (the client's settings put it under `MEETERGO_API_BUDGET_DIR`).
Its waits end with `StopRequested` as soon as a stop is requested (`meetergo_pipeline.stop`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from meetergo_pipeline import stop
from meetergo_pipeline.settings import DEFAULTS

_shared: dict[tuple[str, float, float, str | None], RateBudget] = {}
_shared_lock = threading.Lock()


class RateBudget:
    """Token bucket: `burst` tokens at most, refilled at `per_minute` tokens per minute."""

    def __init__(
        self,
        per_minute: float,
        burst: float,
        *,
        state_path: Path | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = stop.sleep,
    ) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("a rate budget needs per_minute > 0 and burst >= 1")
        self.per_minute = per_minute
        self.burst = burst
        self.state_path = state_path
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = burst
        self._updated = clock()
        self.requests_granted = 0
        self.seconds_waited = 0.0

    @classmethod
    def from_share(
        cls,
        share: float,
        *,
        limit_per_minute: float = DEFAULTS.api_rate_limit_per_minute,
        limit_burst: float = DEFAULTS.api_rate_limit_burst,
        **kwargs: object,
    ) -> RateBudget:
        """The budget that uses `share` (0-1] of one key's limit: refill and burst both scaled.

        `limit_per_minute`/`limit_burst` are the key's limit (meetergo's default 100/200);
        override them for a key with a raised limit or a simulator with its limit scaled up.
        """
        if not 0 < share <= 1:
            raise ValueError("the rate budget share must be in (0, 1]")
        return cls(limit_per_minute * share, max(1.0, limit_burst * share), **kwargs)  # type: ignore[arg-type]

    @classmethod
    def shared(
        cls, key_fingerprint: str, per_minute: float, burst: float, state_dir: Path | None = None
    ) -> RateBudget:
        """The process-wide budget of one API key (created on first use)."""
        state_path = state_dir / f"rate-budget-{key_fingerprint}.json" if state_dir else None
        registry_key = (key_fingerprint, per_minute, burst, str(state_path) if state_path else None)
        with _shared_lock:
            if registry_key not in _shared:
                _shared[registry_key] = cls(per_minute, burst, state_path=state_path)
            return _shared[registry_key]

    def acquire(self) -> float:
        """Take one token, sleeping until one is available; returns the seconds waited.

        Raises `StopRequested` instead once a stop is requested, waiting or not.
        """
        waited = 0.0
        while True:
            stop.raise_if_stopped()
            with self._lock:
                wait = self._try_take()
            if wait <= 0:
                self.requests_granted += 1
                self.seconds_waited += waited
                return waited
            self._sleep(wait)
            waited += wait

    def drain(self) -> None:
        """Empty the bucket: after a 429 every worker sharing the key slows down, not just one."""
        with self._lock:
            if self.state_path is None:
                self._tokens, self._updated = 0.0, self._clock()
            else:
                with _locked_state(self.state_path) as state:
                    state.update(tokens=0.0, updated=self._clock())

    def _try_take(self) -> float:
        """Refill, then take a token if there is one; else the seconds until there is."""
        if self.state_path is None:
            self._tokens, self._updated, wait = self._refill_and_take(self._tokens, self._updated)
            return wait
        with _locked_state(self.state_path) as state:
            tokens, updated = state.get("tokens", self.burst), state.get("updated", self._clock())
            state["tokens"], state["updated"], wait = self._refill_and_take(tokens, updated)
            return wait

    def _refill_and_take(self, tokens: float, updated: float) -> tuple[float, float, float]:
        now = self._clock()
        rate = self.per_minute / 60.0
        tokens = min(self.burst, tokens + max(0.0, now - updated) * rate)
        if tokens >= 1.0:
            return tokens - 1.0, now, 0.0
        return tokens, now, (1.0 - tokens) / rate


@contextlib.contextmanager
def _locked_state(path: Path) -> Iterator[dict[str, float]]:
    """Read-modify-write of the shared state file under an exclusive flock."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        raw = os.pread(fd, 4096, 0)
        try:
            state: dict[str, float] = json.loads(raw) if raw else {}
        except ValueError:
            state = {}
        yield state
        data = json.dumps(state).encode()
        # Overwrite, then cut to length: truncating to zero first makes ext4 flush the file
        # on close (its replace-by-truncate safeguard), milliseconds on every request.
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))
    finally:
        os.close(fd)
