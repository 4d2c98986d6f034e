"""meetergo Platform API and webhooks into DuckDB, orchestrated by Dagster."""
