"""The console script as a user runs it: help texts, configuration errors, the main job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.cli import main
from meetergo_pipeline.defs.env import SETTINGS

SCRIPT = Path(sys.executable).parent / "meetergo-pipeline"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["sync"],
        ["fetch"],
        ["shell"],
        ["simulate"],
        ["webhooks"],
        ["webhooks", "serve"],
    ],
)
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    assert "usage: meetergo-pipeline" in capsys.readouterr().out


def test_sync_without_api_key_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("MEETERGO_API_KEY", raising=False)
    assert main(["sync"]) == 2
    assert "MEETERGO_API_KEY is not set" in capsys.readouterr().err


def test_sync_with_malformed_key_says_what_is_expected(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEETERGO_API_KEY", "ak_live:SENTINEL")
    assert main(["sync"]) == 2
    err = capsys.readouterr().err
    assert "expected a platform API key ak_live:<uuid>:<secret>" in err
    assert "SENTINEL" not in err


def test_readme_documents_every_setting() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    missing = [name for name in SETTINGS if f"`{name}`" not in readme]
    assert missing == []


def run_on_embedded_default(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The console script as `make run` starts it: no MEETERGO_* variables set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETERGO_")}
    completed = subprocess.run(
        [str(SCRIPT), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def test_run_on_the_embedded_default_builds_the_snapshot(tmp_path: Path) -> None:
    """`make run`'s command: simulator child + Dagster sync + published snapshot."""
    completed = run_on_embedded_default(tmp_path, "run", "--users", "4", "--appointments", "300")
    assert "sync succeeded" in completed.stdout
    assert "api: mode full, " in completed.stdout
    assert "core.appointments" in completed.stdout
    con = duckdb.connect(str(tmp_path / "data" / "meetergo_analytics.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM core.users").fetchone() == (4,)
        assert con.execute("SELECT count(*) FROM core.appointments").fetchone() == (300,)
    finally:
        con.close()


def test_fetch_prints_what_it_read(tmp_path: Path) -> None:
    completed = run_on_embedded_default(tmp_path, "fetch", "--users", "3", "--appointments", "250")
    assert "appointments:   250 distinct" in completed.stdout
    assert "requests spent:" in completed.stdout
    assert "0 answered 429" in completed.stdout
