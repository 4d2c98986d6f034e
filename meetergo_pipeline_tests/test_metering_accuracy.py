"""Metering measured against the simulator's ground truth, and the figures README Billing states.

The simulated company records which bookings it made through the API
(`TenantTruth.api_created_ids`), independently of any rule the pipeline applies. The default
demo tenant (seed 42, 25 users, 5,000 appointments, generated at a fixed hour so the figures
repeat) is synced through the real Dagster job once per module; each metering form is then
applied by another run of the job with its settings, and `analytics.metered_bookings` of the
published snapshot is scored against the truth.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from meetergo_pipeline.simulator import (
    MeteringScore,
    SimulatorConfig,
    SimulatorServer,
    TenantTruth,
    score_metering,
    write_id_csv,
)
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv, run_sync

pytestmark = pytest.mark.slow  # a 5,000-appointment tenant synced four times

README = Path(__file__).parents[1] / "README.md"
DEMO_TENANT = SimulatorConfig(
    seed=42,
    users=25,
    appointments=5000,
    anchor="2025-06-02T09:00:00Z",
    rate_limit_enabled=False,
)
DEFAULT_RULE = "u.user_type = 'api-platform'"
TRACES_RULE = "mt.metadata->>'source' = 'api' OR starts_with(n.notes, '[api]')"
DEFAULT_OR_TRACES_RULE = f"{DEFAULT_RULE} OR {TRACES_RULE}"
IDS_FILE = "MEETERGO_API_BOOKINGS_FILE"
METERING_VARIABLES = ("MEETERGO_METERED_BOOKING_PREDICATE", IDS_FILE)


@dataclass
class Tenant:
    """The synced demo tenant: its pipeline, the simulator's truth, a way to meter it."""

    env: PipelineEnv
    truth: TenantTruth
    monkeypatch: pytest.MonkeyPatch

    def meter(self, **variables: str) -> set[str]:
        """The metered appointment ids after a run of the job with only `variables` set
        among the metering settings."""
        for name in METERING_VARIABLES:
            self.monkeypatch.delenv(name, raising=False)
        for name, value in variables.items():
            self.monkeypatch.setenv(name, value)
        assert run_sync().success
        con = duckdb.connect(str(self.env.snapshot_path), read_only=True)
        try:
            rows = con.execute("SELECT appointment_id FROM analytics.metered_bookings").fetchall()
        finally:
            con.close()
        return {appointment_id for (appointment_id,) in rows}

    def score(self, metered: set[str]) -> MeteringScore:
        return score_metering(metered, self.truth.api_created_ids)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    with SimulatorServer(DEMO_TENANT, port=0) as sim, pytest.MonkeyPatch.context() as monkeypatch:
        env = PipelineEnv(sim, tmp_path_factory.mktemp("metering"))
        for name, value in env.variables().items():
            monkeypatch.setenv(name, value)
        assert run_sync("full").success
        yield Tenant(env, sim.tenant.truth(), monkeypatch)


def readme_figures() -> dict[str, tuple[int, float, float]]:
    """README Billing's measurement table: the first `...` of each row -> (metered,
    precision, recall)."""
    section = README.read_text(encoding="utf-8").split("### Billing", 1)[1].split("\n## ", 1)[0]
    table = section.split("| metered by | metered | precision | recall |", 1)[1]
    figures = {}
    for line in table.split("\n\n", 1)[0].splitlines()[2:]:
        rule, metered, precision, recall = (cell.strip() for cell in line.strip("|").split("|"))
        figures[rule.split("`")[1]] = (
            int(metered.replace(",", "")),
            float(precision),
            float(recall),
        )
    return figures


def assert_readme_states(rule: str, metered: set[str], score: MeteringScore) -> None:
    stated = readme_figures()[rule]
    measured = (len(metered), round(score.precision, 2), round(score.recall, 2))
    assert measured == stated, f"README Billing states {stated} for {rule}, measured {measured}"


def test_the_default_rule_meters_the_platform_users_bookings_and_errs_both_ways(
    tenant: Tenant,
) -> None:
    metered = tenant.meter()
    assert metered == tenant.truth.platform_hosted_ids
    score = tenant.score(metered)
    assert score.false_positives > 0 and score.false_negatives > 0
    assert 0.5 < score.precision < 1 and 0.5 < score.recall < 1
    assert_readme_states(DEFAULT_RULE, metered, score)


def test_the_ids_file_meters_exactly_the_bookings_made_through_the_api(
    tenant: Tenant, tmp_path: Path
) -> None:
    ids_file = write_id_csv(tmp_path / "api_bookings.csv", tenant.truth.api_created_ids)
    metered = tenant.meter(**{IDS_FILE: str(ids_file)})
    assert metered == tenant.truth.api_created_ids
    con = duckdb.connect(str(tenant.env.snapshot_path), read_only=True)
    try:
        settings = con.execute(
            "SELECT metered_by, api_booking_ids_listed FROM analytics.report_settings"
        ).fetchone()
    finally:
        con.close()
    assert settings == ("api_bookings_file", len(tenant.truth.api_created_ids))
    assert_readme_states(IDS_FILE, metered, tenant.score(metered))


@pytest.mark.parametrize("rule", [TRACES_RULE, DEFAULT_OR_TRACES_RULE])
def test_a_rule_over_the_api_traces_improves_on_the_default(tenant: Tenant, rule: str) -> None:
    default = tenant.score(tenant.truth.platform_hosted_ids)
    metered = tenant.meter(MEETERGO_METERED_BOOKING_PREDICATE=rule)
    score = tenant.score(metered)
    assert score.precision > default.precision and score.recall > default.recall
    assert score.precision < 1 or score.recall < 1  # still a heuristic
    assert_readme_states(rule, metered, score)
