"""The Dagster instance the command line records its runs in, the one `make dev` shows.

Its folder is DAGSTER_HOME when that is set, else `data/dagster_home` under the working
directory. A folder without a `dagster.yaml` gets the project's (`meetergo_pipeline/
dagster.yaml`: one warehouse writer at a time, run monitoring, run retries), so `make run`
and `make dev` share one instance with the same rules and the UI shows every run.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from importlib.resources import files
from pathlib import Path

from dagster import DagsterInstance

DEFAULT_DAGSTER_HOME = Path("data/dagster_home")
INSTANCE_FILE = "dagster.yaml"


def dagster_home(environ: Mapping[str, str] | None = None) -> Path:
    """The instance folder, absolute: DAGSTER_HOME when set, else `data/dagster_home`."""
    env = os.environ if environ is None else environ
    return Path(env.get("DAGSTER_HOME", "").strip() or DEFAULT_DAGSTER_HOME).resolve()


def prepare_dagster_home(home: Path) -> Path:
    """Create `home` if needed, give it the project's dagster.yaml if it has none, and create
    the instance's storage; returns `home`.

    An existing dagster.yaml is left as it is (it may have been edited for the installation).
    """
    with _preparing(home):
        DagsterInstance.from_config(str(home)).dispose()
    return home


def persistent_instance(environ: Mapping[str, str] | None = None) -> DagsterInstance:
    """The instance in `dagster_home()`, prepared as `prepare_dagster_home` does; close it
    when done."""
    home = dagster_home(environ)
    with _preparing(home):
        return DagsterInstance.from_config(str(home))


@contextmanager
def _preparing(home: Path) -> Iterator[None]:
    """`home` with its dagster.yaml, held by this process for the block.

    Processes opening the same new home at once (`make run` while `make dev` starts) take
    turns: two creating the same SQLite storage would collide.
    """
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".prepare.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        config = home / INSTANCE_FILE
        if not config.exists():
            shipped = files("meetergo_pipeline").joinpath(INSTANCE_FILE)
            config.write_text(shipped.read_text(encoding="utf-8"))
        yield
