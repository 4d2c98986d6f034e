"""A persistent Dagster instance in a temporary folder, its daemon, and runs launched into it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import yaml
from dagster import DagsterEventType, DagsterInstance

BIN = Path(sys.executable).parent
TARGET = ["-m", "meetergo_pipeline.definitions", "-a", "defs"]
PROJECT = Path(__file__).parents[2]


def dagster_home(root: Path, instance_yaml: Callable[[Path], str]) -> Path:
    """A DAGSTER_HOME under `root` with its dagster.yaml and its SQLite storage created."""
    home = root / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(instance_yaml(home))
    # Created once here, before the daemon and the CLI would race to create it.
    DagsterInstance.from_config(str(home)).dispose()
    return home


def deployment_instance_yaml(home: Path) -> str:
    """The project's dagster.yaml (its storage is under `home`) with a 1 s monitoring poll."""
    del home
    shipped = files("meetergo_pipeline").joinpath("dagster.yaml").read_text(encoding="utf-8")
    config = yaml.safe_load(shipped)
    config["run_monitoring"]["poll_interval_seconds"] = 1
    return yaml.safe_dump(config)


def start_daemon(cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", *TARGET],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    daemon.terminate()
    daemon.wait(timeout=30)


def launch_sync(cwd: Path, env: dict[str, str], max_runtime_s: int | None = None) -> None:
    """`dagster job launch` of the sync job, as an operator would (optionally a max runtime)."""
    tags = {"dagster/max_runtime": str(max_runtime_s)} if max_runtime_s else {}
    launched = subprocess.run(
        [
            str(BIN / "dagster"),
            "job",
            "launch",
            *TARGET,
            "-j",
            "meetergo_sync",
            "--tags",
            json.dumps(tags),
        ],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert launched.returncode == 0, launched.stderr[-2000:]


def wait_for(predicate: Callable[[], object], timeout_s: float, poll_s: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return False


def worker_pid(instance: DagsterInstance, run_id: str) -> int | None:
    for entry in instance.all_logs(run_id):
        found = re.search(r"Started process for run \(pid: (\d+)\)", entry.message or "")
        if found:
            return int(found.group(1))
    return None


def step_events(instance: DagsterInstance, run_id: str, event_type: DagsterEventType) -> list[str]:
    """The step keys of the run's events of `event_type`, in order."""
    return [
        entry.step_key or ""
        for entry in instance.all_logs(run_id, of_type=event_type)
        if entry.dagster_event is not None
    ]
