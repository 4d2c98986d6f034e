"""The Dagster instance the command line records its runs in, the one `make dev` shows.

Its folder is DAGSTER_HOME when that is set, else `data/dagster_home` under the working
directory. A folder without a `dagster.yaml` gets the project's (`meetergo_pipeline/
dagster.yaml`: one warehouse writer at a time, run monitoring, run retries), so `make run`
and `make dev` share one instance with the same rules and the UI shows every run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
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
    """Create `home` if needed and give it the project's dagster.yaml if it has none.

    An existing dagster.yaml is left as it is (it may have been edited for the installation).
    Returns `home`.
    """
    home.mkdir(parents=True, exist_ok=True)
    target = home / INSTANCE_FILE
    if target.exists():
        return home
    # Written aside, then linked into place: a process starting at the same moment sees
    # either no file or the whole file, and the first link wins.
    draft = home / f".{INSTANCE_FILE}.{os.getpid()}"
    draft.write_text(files("meetergo_pipeline").joinpath(INSTANCE_FILE).read_text("utf-8"))
    try:
        os.link(draft, target)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return home


def persistent_instance(environ: Mapping[str, str] | None = None) -> DagsterInstance:
    """The instance in `dagster_home()`, prepared first; close it when done."""
    return DagsterInstance.from_config(str(prepare_dagster_home(dagster_home(environ))))
