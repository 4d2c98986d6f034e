"""Checks of the raw layer against what the API itself reported."""

from __future__ import annotations

import duckdb

from meetergo_pipeline.transform import CheckOutcome

MAX_DROP_SHARE = 0.5


def check_row_counts_against_api(con: duckdb.DuckDBPyConnection) -> CheckOutcome:
    """Live users equal the API's `total`, and live appointments did not halve since last run.

    A sudden halving means a broken read (wrong acting user, a filter), not a real tenant;
    it fails with ERROR so that nothing built on it gets published.
    """
    runs = con.execute(
        """
        SELECT api_user_total, users_live, appointments_live
        FROM raw.sync_runs ORDER BY finished_at DESC LIMIT 2
        """
    ).fetchall()
    if not runs:
        return CheckOutcome(True, "WARN", "no sync has run yet")
    api_users, users_live, appointments_live = runs[0]
    previous_appointments = runs[1][2] if len(runs) > 1 else None
    metadata = {
        "api_user_total": api_users,
        "users_live": users_live,
        "appointments_live": appointments_live,
        "previous_appointments_live": previous_appointments,
    }
    if previous_appointments and appointments_live < previous_appointments * MAX_DROP_SHARE:
        return CheckOutcome(
            False,
            "ERROR",
            f"live appointments fell from {previous_appointments} to {appointments_live}",
            metadata,
        )
    if api_users is not None and users_live != api_users:
        return CheckOutcome(
            False, "WARN", f"{users_live} live users but the API reports {api_users}", metadata
        )
    return CheckOutcome(True, "WARN", "row counts agree with the API", metadata)
