"""The benchmarks still run against the current schema, at a size that takes seconds.

`make bench` runs them at full size and only reports; these runs make a benchmark that no
longer fits the pipeline (a raw table gained a column, a setting changed) fail here first.
"""

from __future__ import annotations

import pytest

from bench import bench_rebuild, bench_tenants


@pytest.mark.slow
def test_the_rebuild_benchmark_generates_and_rebuilds_its_appointments() -> None:
    rebuilt, memory = bench_rebuild.run(appointments=3_000)
    assert rebuilt.ok is True
    assert "3,000 core.appointments" in rebuilt.measured
    assert memory.ok is True


@pytest.mark.slow
def test_the_tenants_benchmark_syncs_many_tenants_and_one() -> None:
    (ratio, memory) = bench_tenants.run(tenants=4, appointments_each=50, users_single=4)
    assert "4 tenants x 50 appts" in ratio.figure
    assert " s = " in ratio.measured and memory.ok is None
