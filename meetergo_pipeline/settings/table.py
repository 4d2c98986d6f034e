"""The table of every setting: the one place a variable, its default and its meaning live.

The README's Configuration table is this table printed as markdown
(`meetergo-pipeline settings --markdown`); a test keeps the two equal. `meaning` is written
for that table. A default is environment text, parsed like a value that was set; `None`
means the variable has no default (unset, or required where it is used).
"""

from __future__ import annotations

from dataclasses import dataclass

from meetergo_pipeline.settings.kinds import (
    AT_LEAST_ONE,
    COUNT,
    CREDENTIAL,
    CRON,
    FILE_MODE,
    MONEY,
    NON_NEGATIVE,
    PATH,
    POSITIVE,
    POSTGRES_URL,
    SHARE,
    SWITCH,
    TEXT,
    URL,
    Kind,
    Text,
)
from meetergo_pipeline.webhooks.receiver import MIN_TOKEN_LENGTH

PREFIX = "MEETERGO_"


@dataclass(frozen=True)
class Setting:
    """One environment variable. A secret's value is never shown, in errors or listings."""

    name: str
    default: str | None
    kind: Kind
    meaning: str
    secret: bool = False
    required: str | None = None  # where an unset value is refused, as the README says it

    @property
    def field(self) -> str:
        """The `Settings` attribute holding the parsed value."""
        return self.name.removeprefix(PREFIX).lower()

    @property
    def shown_default(self) -> str:
        """The default as the README shows it."""
        if self.default is not None:
            return f"`{self.default}`"
        notes = [self.required] if self.required else []
        notes += ["secret"] if self.secret else []
        return f"({', '.join(notes)})" if notes else "unset"


TIME_ZONE = Text("an IANA time zone name such as UTC or Europe/Berlin")
WAREHOUSE_KIND = Text("`duckdb` or `ducklake`", pattern="duckdb|ducklake")
MEMORY_SIZE = Text("a DuckDB memory size such as 192MB or 1GB")
CURRENCY = Text("a three-letter ISO 4217 code like EUR", pattern="[A-Z]{3}", upper=True)
PREDICATE = Text(
    "a SQL boolean expression over core.appointments a and core.users u, "
    "e.g. u.user_type = 'api-platform'"
)
WEBHOOK_TOKEN = Text(
    f"at least {MIN_TOKEN_LENGTH} URL-safe characters (letters, digits, - _ . ~)",
    pattern=f"[A-Za-z0-9._~-]{{{MIN_TOKEN_LENGTH},}}",
)

SECRET_KEY = Text(
    "at least 16 characters of secret text, e.g. "
    "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
    pattern=r"\S{16,}",
)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "MEETERGO_API_KEY",
        None,
        CREDENTIAL,
        "platform API key `ak_live:<uuid>:<secret>` or personal access token `rgo-…`",
        secret=True,
        required="required",
    ),
    Setting(
        "MEETERGO_API_BASE_URL",
        "https://api.meetergo.com",
        URL,
        "API base URL (the simulator sits behind the same one)",
    ),
    Setting(
        "MEETERGO_API_USER_ID",
        None,
        TEXT,
        "acting admin user id; unset: resolved through `GET /v4/user/me`",
    ),
    Setting(
        "MEETERGO_API_BUDGET_SHARE",
        "0.5",
        SHARE,
        "share of the key's rate limit (100/min, burst 200) the pipeline may use, all its "
        "processes together (see `MEETERGO_API_BUDGET_DIR`); the rest is left to the "
        "customer's own application",
    ),
    Setting(
        "MEETERGO_API_RATE_LIMIT_PER_MINUTE",
        "100",
        POSITIVE,
        "the key's own limit the share is taken of (raise it for a key with a raised limit)",
    ),
    Setting(
        "MEETERGO_API_RATE_LIMIT_BURST",
        "200",
        POSITIVE,
        "the key's burst allowance the share is taken of",
    ),
    Setting(
        "MEETERGO_API_BUDGET_DIR",
        "data/api_budget",
        PATH,
        "folder of the rate budget (a locked state file per key): every process using the "
        "same folder (the sync, `fetch`, a second code location) draws from one budget",
    ),
    Setting(
        "MEETERGO_TENANTS_FILE",
        None,
        PATH,
        "TOML file of the tenants one deployment syncs (`[[tenants]]` with `id`, `api_key_env`, "
        "optional `base_url`, `api_user_id` and `plan_*` overrides; see Many tenants); unset: "
        "one tenant, `default`, from `MEETERGO_API_KEY`",
    ),
    Setting(
        "MEETERGO_DUCKDB_PATH",
        "data/meetergo.duckdb",
        PATH,
        "working DuckDB file; only the pipeline opens it",
    ),
    Setting(
        "MEETERGO_DUCKDB_MEMORY_LIMIT",
        "192MB",
        MEMORY_SIZE,
        "DuckDB's memory cap in the pipeline; beyond it DuckDB spills to `<file>.tmp/`",
    ),
    Setting(
        "MEETERGO_WRITER_LOCK_WAIT_S",
        "600",
        NON_NEGATIVE,
        "how long a run waits while another run writes the working file (one writer at a time, "
        "every path: `<file>.writer.lock`) before it fails naming that run",
    ),
    Setting(
        "MEETERGO_WAREHOUSE",
        "duckdb",
        WAREHOUSE_KIND,
        "where the working tables live: `duckdb`, the file `MEETERGO_DUCKDB_PATH`; or "
        "`ducklake`, a DuckLake with its catalog in PostgreSQL and its data as Parquet files "
        "(docs/deployment.md, DuckLake warehouse)",
    ),
    Setting(
        "MEETERGO_DUCKLAKE_CATALOG",
        None,
        POSTGRES_URL,
        "with `ducklake`: the lake's catalog database, "
        "`postgresql://USER:PASSWORD@HOST:5432/DATABASE`; it also holds the lake's "
        "one-writer lock",
        secret=True,
    ),
    Setting(
        "MEETERGO_DUCKLAKE_DATA_PATH",
        None,
        TEXT,
        "with `ducklake`: where the lake's Parquet files go, a folder every writer and reader "
        "shares or `s3://bucket/prefix/`",
    ),
    Setting(
        "MEETERGO_DUCKLAKE_PUBLISHED_PATH",
        None,
        TEXT,
        "with `ducklake`: where the published lake's Parquet files go (apart from the data "
        "path), the snapshot's tables that analysts attach read-only; unset: the snapshot file "
        "only",
    ),
    Setting(
        "MEETERGO_DUCKLAKE_S3_ENDPOINT",
        None,
        URL,
        "S3-compatible server of an `s3://` data path, `http(s)://HOST:PORT`; unset: AWS S3",
    ),
    Setting("MEETERGO_DUCKLAKE_S3_KEY_ID", None, TEXT, "access key id of an `s3://` data path"),
    Setting(
        "MEETERGO_DUCKLAKE_S3_SECRET",
        None,
        TEXT,
        "secret access key of an `s3://` data path",
        secret=True,
    ),
    Setting("MEETERGO_DUCKLAKE_S3_REGION", "us-east-1", TEXT, "region of the data path's bucket"),
    Setting(
        "MEETERGO_SNAPSHOT_PATH",
        "data/meetergo_analytics.duckdb",
        PATH,
        "read-only snapshot for analysts, replaced atomically after each successful run",
    ),
    Setting(
        "MEETERGO_SNAPSHOT_MODE",
        "0600",
        FILE_MODE,
        "permission bits of the snapshot (octal); `0640` lets the file's group of analysts read it",
    ),
    Setting(
        "MEETERGO_PSEUDONYM_KEY",
        None,
        SECRET_KEY,
        "key of the attendee pseudonyms in the snapshot (HMAC-SHA256); unset: generated once "
        "and kept in `meetergo_pseudonym.key` beside the working file",
        secret=True,
    ),
    Setting(
        "MEETERGO_SYNC_WORKERS",
        "4",
        AT_LEAST_ONE,
        "users read in parallel (within the one shared budget)",
    ),
    Setting(
        "MEETERGO_SYNC_COMMIT_EVERY_ROWS",
        "20000",
        AT_LEAST_ONE,
        "API rows are committed at the next user boundary after this many: the most progress "
        "a crash can lose",
    ),
    Setting("MEETERGO_SYNC_LOOKBACK_DAYS", "7", NON_NEGATIVE, "re-scan window start: now - N days"),
    Setting("MEETERGO_SYNC_HORIZON_DAYS", "30", NON_NEGATIVE, "re-scan window end: now + N days"),
    Setting(
        "MEETERGO_SYNC_OVERLAP_MINUTES",
        "15",
        NON_NEGATIVE,
        "how far below each high-water mark new bookings are re-read",
    ),
    Setting(
        "MEETERGO_SYNC_RESCAN_EVERY_HOURS",
        "6",
        NON_NEGATIVE,
        "how often an incremental run also re-scans the window",
    ),
    Setting(
        "MEETERGO_STEP_RETRIES",
        "2",
        COUNT,
        "retries of a failed asset step (exponential backoff with jitter)",
    ),
    Setting(
        "MEETERGO_STEP_RETRY_DELAY_S",
        "15",
        NON_NEGATIVE,
        "wait before the first step retry; doubles for each further one",
    ),
    Setting("MEETERGO_SYNC_CRON", "0 * * * *", CRON, "incremental sync schedule"),
    Setting("MEETERGO_FULL_SWEEP_CRON", "30 3 * * *", CRON, "full sweep schedule"),
    Setting("MEETERGO_SCHEDULE_TIMEZONE", "UTC", TIME_ZONE, "time zone of both crons"),
    Setting(
        "MEETERGO_AUTOMATION",
        None,
        SWITCH,
        "`on` or `off`: whether both schedules and the webhook sensor start switched on (a "
        "switch flipped in the UI stays flipped); unset: on when `MEETERGO_API_KEY` is set "
        "(`meetergo-pipeline dev` sets `off` while it serves the simulator)",
    ),
    Setting(
        "MEETERGO_WEBHOOK_TOKEN",
        None,
        WEBHOOK_TOKEN,
        f"the unguessable path token of the receiver URL, ≥ {MIN_TOKEN_LENGTH} URL-safe characters",
        secret=True,
        required="required by the receiver",
    ),
    Setting(
        "MEETERGO_WEBHOOK_LOG_DIR",
        "data/webhooks",
        PATH,
        "where the receiver appends deliveries (and where other receivers may drop "
        "JSON/JSONL files)",
    ),
    Setting(
        "MEETERGO_WEBHOOK_INBOX_URL",
        None,
        POSTGRES_URL,
        "`postgresql://USER:PASSWORD@HOST:5432/DATABASE`: the receivers store deliveries in "
        "this PostgreSQL inbox instead of the log dir, so several can run behind a load "
        "balancer, and the ingest reads it too (see Webhooks); unset: the local log",
        secret=True,
    ),
    Setting(
        "MEETERGO_WEBHOOK_HEADER_TIMEOUT_S",
        "10",
        POSITIVE,
        "seconds from a connection's start (or its previous response) until a request's "
        "headers must be complete",
    ),
    Setting(
        "MEETERGO_WEBHOOK_BODY_TIMEOUT_S",
        "30",
        POSITIVE,
        "seconds from a request's headers until its whole body must have arrived (else 408)",
    ),
    Setting(
        "MEETERGO_WEBHOOK_KEEPALIVE_S",
        "5",
        POSITIVE,
        "seconds an idle keep-alive connection stays open after a response",
    ),
    Setting(
        "MEETERGO_WEBHOOK_MAX_CONNECTIONS",
        "512",
        AT_LEAST_ONE,
        "open receiver connections at most (lowered to fit the open-file limit); at the limit "
        "the oldest idle one is closed, or the new one gets 503 if none is idle",
    ),
    Setting(
        "MEETERGO_WEBHOOK_SILENCE_WARN_MINUTES",
        "180",
        POSITIVE,
        "the webhook-log check warns after this long without a delivery",
    ),
    Setting(
        "MEETERGO_RECONCILIATION_WARN_THRESHOLD",
        "10",
        COUNT,
        "the reconciliation check warns above this many webhook/API mismatches",
    ),
    Setting(
        "MEETERGO_REPORTING_TIMEZONE",
        "UTC",
        TIME_ZONE,
        "IANA zone in which analytics days and billing months are cut",
    ),
    Setting(
        "MEETERGO_METERED_BOOKING_PREDICATE",
        "u.user_type = 'api-platform'",
        PREDICATE,
        "which bookings are metered (see Billing)",
    ),
    Setting(
        "MEETERGO_API_BOOKINGS_FILE",
        None,
        PATH,
        "CSV (with an `appointment_id` column) or Parquet file of the appointment ids the "
        "customer's own application booked through the API; when set, a booking is metered "
        "exactly when its id is listed, instead of by the predicate (see Billing)",
    ),
    Setting("MEETERGO_PLAN_INCLUDED_BOOKINGS", "1000", COUNT, "bookings included per month"),
    Setting(
        "MEETERGO_PLAN_PRICE_PER_BOOKING",
        "0.50",
        MONEY,
        "price per metered booking above the included ones",
    ),
    Setting("MEETERGO_PLAN_CURRENCY", "EUR", CURRENCY, "currency of the plan"),
)

BY_NAME: dict[str, Setting] = {setting.name: setting for setting in SETTINGS}
BY_FIELD: dict[str, Setting] = {setting.field: setting for setting in SETTINGS}
