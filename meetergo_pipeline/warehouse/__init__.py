"""The DuckDB warehouse: connections, raw-layer loading, the API sync and the published snapshot."""
