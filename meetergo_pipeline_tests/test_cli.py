"""The console script as a user runs it: help texts, configuration errors, the main job."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, DagsterInstance, DagsterRunStatus

from meetergo_pipeline.cli import main
from meetergo_pipeline.report import report_path_for
from meetergo_pipeline.run_sync import _print_summary
from meetergo_pipeline.settings import SETTINGS, markdown_table
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync

SCRIPT = Path(sys.executable).parent / "meetergo-pipeline"
README = Path(__file__).parents[1] / "README.md"


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["run"],
        ["sync"],
        ["check"],
        ["dev"],
        ["fetch"],
        ["settings"],
        ["docs"],
        ["shell"],
        ["report"],
        ["simulate"],
        ["webhooks"],
        ["webhooks", "serve"],
        ["webhooks", "register"],
        ["webhooks", "list"],
        ["webhooks", "unregister"],
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
    assert "MEETERGO_API_KEY must be a platform API key ak_live:<uuid>:<secret>" in err
    assert "SENTINEL" not in err


def test_dev_outside_the_project_folder_says_where_to_run_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["dev"]) == 2
    assert f"workspace.yaml not found in {tmp_path}" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # nothing started, nothing created


def test_readme_configuration_table_is_the_settings_table(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The README's table is `settings --markdown` verbatim: names, defaults, meanings, order."""
    assert main(["settings", "--markdown"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == markdown_table()
    section = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    readme_table = "\n".join(line for line in section.splitlines() if line.startswith("|"))
    assert readme_table == printed
    names = [line.split("`")[1] for line in readme_table.splitlines()[2:]]
    assert names == [setting.name for setting in SETTINGS]


def test_report_without_a_snapshot_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEETERGO_SNAPSHOT_PATH", str(tmp_path / "none.duckdb"))
    assert main(["report"]) == 2
    assert capsys.readouterr().err == (
        f"error: no snapshot at {tmp_path / 'none.duckdb'} yet: run `meetergo-pipeline run` "
        "(or `sync`) first, or point MEETERGO_SNAPSHOT_PATH at the published file\n"
    )
    assert not (tmp_path / "meetergo_report.html").exists()


def test_settings_shows_values_in_effect_but_never_a_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEETERGO_WEBHOOK_TOKEN", "SENTINEL-token-0123456789")
    monkeypatch.setenv("MEETERGO_SYNC_WORKERS", "7")
    monkeypatch.delenv("MEETERGO_API_KEY", raising=False)
    monkeypatch.delenv("MEETERGO_SNAPSHOT_PATH", raising=False)
    assert main(["settings"]) == 0
    lines = {
        line.split()[0]: line.split(maxsplit=1)[1] for line in capsys.readouterr().out.splitlines()
    }
    assert list(lines) == [setting.name for setting in SETTINGS]
    assert lines["MEETERGO_SYNC_WORKERS"] == "7  [environment]"
    assert lines["MEETERGO_SNAPSHOT_PATH"] == "data/meetergo_analytics.duckdb  [default]"
    assert lines["MEETERGO_WEBHOOK_TOKEN"] == "(set, not shown)  [environment]"
    assert lines["MEETERGO_API_KEY"] == "(not set)  [default]"


def test_settings_names_every_bad_variable_at_once(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MEETERGO_SYNC_WORKERS", "many")
    monkeypatch.setenv("MEETERGO_PLAN_CURRENCY", "euro")
    monkeypatch.setenv("MEETERGO_WEBHOOK_TOKEN", "SENTINEL")
    assert main(["settings"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "error: 3 settings are invalid:",
        "  MEETERGO_SYNC_WORKERS must be a whole number >= 1, got 'many'",
        "  MEETERGO_WEBHOOK_TOKEN must be at least 16 URL-safe characters (letters, digits, "
        "- _ . ~), the value given is not shown",
        "  MEETERGO_PLAN_CURRENCY must be a three-letter ISO 4217 code like EUR, got 'euro'",
    ]


def test_summary_grades_failed_checks_and_ends_with_billing_and_the_snapshot(
    pipeline_env: PipelineEnv,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A plan of one booking puts the running month over plan (an ERROR check); no webhook
    log yet makes the silence check WARN. Neither blocks, so the run succeeds."""
    monkeypatch.setenv("MEETERGO_PLAN_INCLUDED_BOOKINGS", "1")
    result = run_sync()
    assert result.success
    capsys.readouterr()
    snapshot = pipeline_env.snapshot_path
    _print_summary(result, 1.0, snapshot)
    out = capsys.readouterr().out
    lines = out.splitlines()

    failed = [check for check in result.get_asset_check_evaluations() if not check.passed]
    assert {(c.check_name, c.severity.value) for c in failed} >= {
        ("webhook_log_not_silent", "WARN"),
        ("usage_within_plan", "ERROR"),
    }
    for check in failed:
        line = f"check {check.asset_key.to_user_string()} {check.check_name}: {check.description}"
        assert f"  {check.severity.value:<5} {line}" in lines
    assert "check failed" not in out

    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        month, so_far, share, cost, projected, projected_share, projected_cost, status, rule = (
            con.execute(
                "SELECT u.billing_month, u.api_bookings, u.share_of_plan, u.estimated_cost, "
                "u.projected_api_bookings, u.projected_share_of_plan, "
                "u.projected_estimated_cost, u.alert_status, u.alert_rule "
                "FROM analytics.usage_billing_monthly AS u "
                "JOIN analytics.report_settings AS s ON u.billing_month = s.running_month"
            ).fetchone()  # type: ignore[misc]
        )
    finally:
        con.close()
    assert status == "over_plan"
    assert lines[-5:] == [
        f"billing:  {month:%Y-%m} so far {so_far} metered bookings = {share * 100:.1f} % of the "
        f"1 included, cost {cost} EUR",
        f"          projected {projected} by month end = {projected_share * 100:.1f} % of the "
        f"1 included, cost {projected_cost} EUR; alert over_plan ({rule})",
        "",
        f"analysts: meetergo-pipeline shell (or duckdb -readonly {snapshot})",
        f"report:   {report_path_for(snapshot)}",
    ]


def run_on_embedded_default(
    cwd: Path, *args: str, **variables: str
) -> subprocess.CompletedProcess[str]:
    """The console script as `make run` starts it: no MEETERGO_* variables set but
    `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETERGO_")} | variables
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


@pytest.mark.slow
def test_run_on_the_embedded_default_builds_the_snapshot_with_webhooks(tmp_path: Path) -> None:
    """`make run`'s command: live simulator child + registered receiver + Dagster sync +
    published snapshot; the receiver's token never shows."""
    token = "demo-receiver-token-0123456789abcdef"
    completed = run_on_embedded_default(
        tmp_path, "run", "--users", "4", "--appointments", "300", MEETERGO_WEBHOOK_TOKEN=token
    )
    assert token not in completed.stdout + completed.stderr
    assert "/webhooks/meetergo/***, registered with the simulator" in completed.stdout
    assert "sync succeeded" in completed.stdout
    assert "api: mode full sweep, " in completed.stdout
    assert "core.appointments" in completed.stdout
    assert "report:   data/meetergo_report.html" in completed.stdout
    lines = completed.stdout.splitlines()
    assert lines[-1] == "report:   data/meetergo_report.html"
    assert lines[-2].startswith("analysts: meetergo-pipeline shell (or duckdb -readonly ")
    assert lines[-5].startswith("billing:  ") and " metered bookings" in lines[-5]
    assert lines[-4].startswith("          projected ") and "; alert " in lines[-4]
    assert "check failed" not in completed.stdout
    # The receiver got the live tenant's webhooks before the sync read its log.
    assert "webhook_log_not_silent" not in completed.stdout
    assert (tmp_path / "data" / "meetergo_report.html").stat().st_size > 0
    con = duckdb.connect(str(tmp_path / "data" / "meetergo_analytics.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM core.users").fetchone() == (4,)
        [(appointments,)] = con.execute("SELECT count(*) FROM core.appointments").fetchall()
        assert appointments > 300  # the live tenant kept booking
        [(events, types, unmatched)] = con.execute(
            "SELECT count(*), count(DISTINCT event_type), "
            "count(*) FILTER (WHERE appointment_id NOT IN "
            "(SELECT appointment_id FROM core.appointments)) FROM core.booking_events"
        ).fetchall()
        assert events > 0 and types >= 2 and unmatched == 0
        summary_line = next(
            line for line in lines if line.strip().startswith("core.booking_events")
        )
        assert summary_line.split()[1] == str(events)
        [(webhook_only, updated)] = con.execute(
            "SELECT count(*) FILTER (WHERE source = 'webhook'), "
            "count(*) FILTER (WHERE source = 'api+webhook') FROM core.appointments"
        ).fetchall()
        assert (
            f"webhooks: {events} booking events; {webhook_only} bookings known only from "
            f"webhooks so far, {updated} changed by a webhook since their last API read"
        ) in lines
    finally:
        con.close()
    # Recorded where `make dev` looks, with the project's instance configuration.
    home = tmp_path / "data" / "dagster_home"
    shipped = files("meetergo_pipeline").joinpath("dagster.yaml").read_text(encoding="utf-8")
    assert (home / "dagster.yaml").read_text() == shipped
    with DagsterInstance.from_config(str(home)) as instance:
        [run] = instance.get_runs()
        assert (run.job_name, run.status) == ("meetergo_sync", DagsterRunStatus.SUCCESS)
        event = instance.get_latest_materialization_event(AssetKey(["core", "appointments"]))
        assert event is not None and event.run_id == run.run_id


@pytest.mark.slow
def test_fetch_prints_what_it_read(tmp_path: Path) -> None:
    completed = run_on_embedded_default(tmp_path, "fetch", "--users", "3", "--appointments", "250")
    assert "appointments:   250 distinct" in completed.stdout
    assert "requests spent:" in completed.stdout
    assert "0 answered 429" in completed.stdout


@pytest.mark.slow
def test_the_console_script_prints_everything_and_exits_with_the_commands_code() -> None:
    """The script ends without the interpreter's teardown: its output still arrives whole
    through a pipe, and its exit code is the command's."""
    command = [sys.executable, "-m", "meetergo_pipeline.cli"]
    printed = subprocess.run(
        [*command, "settings", "--markdown"], capture_output=True, text=True, timeout=60
    )
    assert printed.returncode == 0
    assert printed.stdout == markdown_table() + "\n"

    refused = subprocess.run(
        [*command, "docs", "--output", "/dev/null/cannot"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 2
    assert refused.stderr.startswith("error: ")
