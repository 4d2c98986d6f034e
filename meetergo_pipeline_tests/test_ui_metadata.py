"""What the Dagster UI shows after a sync, read back through the instance's API.

One simulated tenant is synced through the real job twice, on a persistent instance (the
one `make run` and `make dev` share): a full sweep, then, after one appointment was deleted
and with one 429 armed, a second full sweep. The webhook log holds deliveries of whole
appointments, attendees included. The client's budget is tight, so requests wait
for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterInstance, FloatMetadataValue, IntMetadataValue

from meetergo_pipeline.dagster_home import persistent_instance
from meetergo_pipeline.models import MODELS, Model, models_in
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer
from meetergo_pipeline.webhooks.log import delivery_line
from meetergo_pipeline_tests.support.duckdb_files import query
from meetergo_pipeline_tests.support.pipeline_env import PAGED, PipelineEnv, run_sync

APPOINTMENTS = AssetKey(["raw", "appointments"])
USAGE = AssetKey(["analytics", "usage_billing_monthly"])
VOLUME = AssetKey(["analytics", "booking_volume_daily"])


@dataclass
class Synced:
    env: PipelineEnv
    home: Path
    appointments: int  # the tenant's appointments before the deletion
    attendee_emails: set[str]

    def instance(self) -> DagsterInstance:
        return DagsterInstance.from_config(str(self.home))

    def latest(self, key: AssetKey) -> dict[str, Any]:
        with self.instance() as instance:
            event = instance.get_latest_materialization_event(key)
        assert event is not None and event.asset_materialization is not None, key
        return dict(event.asset_materialization.metadata)

    def all_metadata(self, key: AssetKey) -> list[dict[str, Any]]:
        """Every materialization's metadata of `key`, oldest first."""
        with self.instance() as instance:
            records = instance.fetch_materializations(key, limit=10, ascending=True).records
        return [dict(record.asset_materialization.metadata) for record in records]  # type: ignore[union-attr]

    def working(self, sql: str) -> list[tuple]:
        return query(self.env.duckdb_path, sql)


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    config = SimulatorConfig(seed=23, users=5, appointments=700, rate_limit_enabled=False)
    root = tmp_path_factory.mktemp("ui")
    with SimulatorServer(config, port=0) as sim, pytest.MonkeyPatch.context() as monkeypatch:
        env = PipelineEnv(sim, root)
        for name, value in env.variables().items():
            monkeypatch.setenv(name, value)
        # 600/min with a burst of 4 (the default share halves both): requests wait.
        monkeypatch.setenv("MEETERGO_API_RATE_LIMIT_PER_MINUTE", "600")
        monkeypatch.setenv("MEETERGO_API_RATE_LIMIT_BURST", "8")
        monkeypatch.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        attendees = {
            attendee["email"]
            for body in sim.tenant.appointments.values()
            for attendee in body.get("attendees") or []
            if attendee.get("email")
        }
        # Deliveries carrying whole appointments, attendees included, as the receiver logs them.
        received = datetime.now(UTC)
        env.webhook_dir.mkdir()
        (env.webhook_dir / f"events-{received:%Y-%m-%d}.jsonl").write_bytes(
            b"".join(
                delivery_line(
                    received, json.dumps({"webhookType": "booking_created", **body}).encode()
                )
                for body in list(sim.tenant.appointments.values())[:30]
            )
        )
        with persistent_instance() as instance:
            assert run_sync("full", instance).success
            sim.tenant.delete_appointment(next(iter(sim.tenant.appointments)))
            sim.faults.add(PAGED, status=429, headers={"Retry-After": "1"})
            assert run_sync("full", instance).success
        yield Synced(env, root / "dagster_home", config.appointments, attendees)


def test_every_table_shows_its_row_count_and_its_commented_columns(synced: Synced) -> None:
    for model in MODELS:
        metadata = synced.latest(AssetKey([model.layer, model.name]))
        assert "rows" not in metadata
        [(rows,)] = synced.working(f"SELECT count(*) FROM {model.table}")
        assert metadata["dagster/row_count"] == IntMetadataValue(rows), model.table
        columns = synced.working(
            "SELECT column_name, data_type, comment FROM duckdb_columns() "
            f"WHERE schema_name = '{model.layer}' AND table_name = '{model.name}' "
            "ORDER BY column_index"
        )
        schema = metadata["dagster/column_schema"].value
        assert [(c.name, c.type) for c in schema.columns] == [(n, t) for n, t, _ in columns]
        if model.layer != "raw":  # the core and analytics layers comment every column
            assert all(comment for _, _, comment in columns), model.table
            assert [c.description for c in schema.columns] == [c for _, _, c in columns]
            [(comment,)] = synced.working(
                "SELECT comment FROM duckdb_tables() "
                f"WHERE schema_name = '{model.layer}' AND table_name = '{model.name}'"
            )
            assert comment and metadata["table_comment"].value == comment


def test_the_api_sync_reports_requests_pages_rows_and_the_budget_wait(synced: Synced) -> None:
    first, second = synced.all_metadata(APPOINTMENTS)
    spent = synced.working("SELECT requests_spent FROM raw.sync_runs ORDER BY started_at")
    assert [first["requests_spent"].value, second["requests_spent"].value] == [r for (r,) in spent]
    assert first["mode"].value == second["mode"].value == "full sweep"
    assert first["rows_new"].value == synced.appointments
    assert first["rows_updated"].value == first["rows_tombstoned"].value == 0
    assert first["pages"].value >= synced.appointments / 100
    assert first["answered_429"].value == 0
    # The second sweep reads every appointment again but the deleted one, which it tombstones.
    assert second["rows_new"].value == 0
    assert second["rows_updated"].value == synced.appointments - 1
    assert second["rows_tombstoned"].value == 1
    assert second["answered_429"].value == 1
    assert second["requests_spent"].value > second["pages"].value > 0
    for metadata in (first, second):
        assert isinstance(metadata["budget_wait_s"], FloatMetadataValue)
        assert metadata["budget_wait_s"].value > 0.5
    users = synced.all_metadata(AssetKey(["raw", "users"]))
    assert [m["rows_new"].value for m in users] == [5, 0]
    assert [m["rows_updated"].value for m in users] == [0, 5]
    assert [m["live_rows"].value for m in users] == [5, 5]


def test_billing_and_volume_figures_are_numbers_equal_to_the_marts(synced: Synced) -> None:
    usage = synced.latest(USAGE)
    [row] = synced.working(
        "SELECT u.billing_month, u.api_bookings, u.share_of_plan, u.projected_api_bookings, "
        "u.estimated_cost, u.projected_estimated_cost, u.currency, u.alert_status "
        "FROM analytics.usage_billing_monthly AS u "
        "JOIN analytics.report_settings AS s ON s.running_month = u.billing_month"
    )
    month, bookings, share, projected, cost, projected_cost, currency, status = row
    assert usage["running_month"].value == month.isoformat()
    assert usage["metered_bookings"] == IntMetadataValue(bookings)
    assert projected >= bookings
    assert usage["share_of_plan"] == FloatMetadataValue(float(share))
    assert usage["projected_bookings"] == FloatMetadataValue(float(projected))
    assert usage["estimated_cost"] == FloatMetadataValue(float(cost))
    assert usage["projected_estimated_cost"] == FloatMetadataValue(float(projected_cost))
    assert (usage["currency"].value, usage["alert_status"].value) == (currency, status)

    volume = synced.latest(VOLUME)
    [(as_of, zone)] = synced.working(
        "SELECT as_of, reporting_timezone FROM analytics.report_settings"
    )
    assert zone == "UTC"
    today = as_of.astimezone(UTC).date()
    days = synced.working(
        "SELECT day, sum(bookings_created), sum(bookings_cancelled) "
        "FROM analytics.booking_volume_daily GROUP BY day"
    )
    week = [
        (created, cancelled) for day, created, cancelled in days if 1 <= (today - day).days <= 7
    ]
    last = [(created, cancelled) for day, created, cancelled in days if day == today - timedelta(1)]
    assert volume["last_day"].value == (today - timedelta(1)).isoformat()
    assert volume["bookings_created_last_7_days"] == IntMetadataValue(sum(c for c, _ in week))
    assert volume["bookings_cancelled_last_7_days"] == IntMetadataValue(sum(c for _, c in week))
    assert volume["bookings_created_last_day"] == IntMetadataValue(sum(c for c, _ in last))
    assert volume["bookings_cancelled_last_day"] == IntMetadataValue(sum(c for _, c in last))
    assert volume["bookings_created_last_7_days"].value > 0
    assert as_of > datetime.now(UTC) - timedelta(hours=1)


def test_previews_show_published_columns_and_no_attendee_data(synced: Synced) -> None:
    for mart in models_in("analytics"):
        metadata = synced.latest(AssetKey([mart.layer, mart.name]))
        lines = metadata["preview"].value.splitlines()
        published = query(
            synced.env.snapshot_path,
            "SELECT column_name FROM duckdb_columns() "
            f"WHERE schema_name = '{mart.layer}' AND table_name = '{mart.name}' "
            "ORDER BY column_index",
        )
        assert lines[0] == "| " + " | ".join(name for (name,) in published) + " |"
        [(rows,)] = synced.working(f"SELECT count(*) FROM {mart.table}")
        assert len(lines) - 2 == min(rows, 10) > 0, mart.table
    assert synced.attendee_emails
    shown = " ".join(
        str(value.value)
        for model in MODELS
        for value in synced.latest(asset_key_of(model)).values()
    )
    assert "@" in shown  # host e-mails are published, and shown
    assert not [email for email in synced.attendee_emails if email in shown]


def asset_key_of(model: Model) -> AssetKey:
    return AssetKey([model.layer, model.name])
