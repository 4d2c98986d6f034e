"""The DuckLake warehouse: the same schemas as the working file, in a lake instead.

With `MEETERGO_WAREHOUSE=ducklake` the pipeline's connection attaches a DuckLake as its
`warehouse` catalog instead of the DuckDB file: the lake's catalog lives in PostgreSQL
(`MEETERGO_DUCKLAKE_CATALOG`), its data as Parquet files under `MEETERGO_DUCKLAKE_DATA_PATH`
(a folder, or `s3://bucket/prefix/` with the `MEETERGO_DUCKLAKE_S3_*` settings). The SQL of
every layer runs unchanged against it but for the raw schema's DDL (`lake_ddl`): DuckLake
tables have no primary keys and no per-column compression.

The catalog's password and the S3 secret travel as DuckDB temporary secrets, never in an
`ATTACH` path, so no error, log line or `duckdb_databases()` row shows them. The extensions
(`ducklake`, `postgres_scanner`, `httpfs`) are loaded from their PyPI wheels
(`duckdb-extension-*`), built for exactly one DuckDB version each; nothing is downloaded.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

import duckdb

from meetergo_pipeline.settings import DEFAULTS, variable
from meetergo_pipeline.sql import sql_literal

EXTENSIONS = ("postgres_scanner", "httpfs", "ducklake")
LAKE_CATALOG = "warehouse"
# The least memory cap the preflight accepts with a lake: DuckLake writes a whole layer's
# Parquet files in one transaction (docs/deployment.md, DuckLake warehouse).
LAKE_MIN_MEMORY = "512MB"
_MEMORY_UNITS = {"": 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12}
_MEMORY_UNITS |= {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
# The published lake's catalog: this schema of the same catalog database, so a role that may
# read only it (and a key that may read only the published path) sees no working table.
PUBLISHED_METADATA_SCHEMA = "meetergo_published"
# A table's `PRIMARY KEY (a, b)` clause, a column's `PRIMARY KEY`, a column's compression.
_CONSTRAINTS_DUCKLAKE_REFUSES = re.compile(
    r",\s*PRIMARY KEY\s*\([^)]*\)|\s+PRIMARY KEY\b|\s+USING COMPRESSION \w+"
)


class LakeSetupError(RuntimeError):
    """The lake cannot be attached as configured; the message says which setting to fix."""


class LakeNotCreatedError(LakeSetupError):
    """A read-only attach found the catalog database reachable but holding no lake yet."""


NO_LAKE_YET = "creating a new DuckLake is explicitly disabled"


class LakeConfiguration(Protocol):
    """What names a lake: the `MEETERGO_WAREHOUSE` and `MEETERGO_DUCKLAKE_*` settings."""

    @property
    def warehouse(self) -> str: ...
    @property
    def ducklake_catalog(self) -> str | None: ...
    @property
    def ducklake_data_path(self) -> str | None: ...
    @property
    def ducklake_published_path(self) -> str | None: ...
    @property
    def ducklake_s3_endpoint(self) -> str | None: ...
    @property
    def ducklake_s3_key_id(self) -> str | None: ...
    @property
    def ducklake_s3_secret(self) -> str | None: ...
    @property
    def ducklake_s3_region(self) -> str: ...


@dataclass(frozen=True)
class LakeSettings:
    """Where the lake lives: the catalog database, the data path and the object store."""

    catalog_url: str = field(repr=False)
    data_path: str
    s3_endpoint: str | None = None
    s3_key_id: str | None = None
    s3_secret: str | None = field(default=None, repr=False)
    s3_region: str = DEFAULTS.ducklake_s3_region
    published_path: str | None = None

    @classmethod
    def from_settings(cls, settings: LakeConfiguration) -> LakeSettings | None:
        """The lake of `settings` (the read settings, or the warehouse resource, which has the
        same fields), or None when the warehouse is the DuckDB file."""
        if settings.warehouse != "ducklake":
            return None
        return cls.from_values(
            catalog_url=settings.ducklake_catalog,
            data_path=settings.ducklake_data_path,
            s3_endpoint=settings.ducklake_s3_endpoint,
            s3_key_id=settings.ducklake_s3_key_id,
            s3_secret=settings.ducklake_s3_secret,
            s3_region=settings.ducklake_s3_region,
            published_path=settings.ducklake_published_path,
        )

    @classmethod
    def from_values(
        cls,
        *,
        catalog_url: str | None,
        data_path: str | None,
        s3_endpoint: str | None,
        s3_key_id: str | None,
        s3_secret: str | None,
        s3_region: str,
        published_path: str | None = None,
    ) -> LakeSettings:
        """The lake from its settings' values; LakeSetupError names each one missing."""
        given = {"ducklake_catalog": catalog_url, "ducklake_data_path": data_path}
        if any(path.startswith("s3://") for path in (data_path or "", published_path or "")):
            given |= {"ducklake_s3_key_id": s3_key_id, "ducklake_s3_secret": s3_secret}
        missing = [variable(name) for name, value in given.items() if not value]
        if missing or catalog_url is None or data_path is None:
            raise LakeSetupError(
                f"{variable('warehouse')}=ducklake needs {', '.join(missing)} (see "
                "docs/deployment.md, DuckLake warehouse)"
            )
        return cls(
            catalog_url, data_path, s3_endpoint, s3_key_id, s3_secret, s3_region, published_path
        )

    @property
    def catalog_name(self) -> str:
        """The catalog database as errors and logs may name it: host, port and database."""
        parts = urlsplit(self.catalog_url)
        return f"{parts.hostname or 'localhost'}:{parts.port or 5432}/{parts.path.lstrip('/')}"

    @property
    def on_s3(self) -> bool:
        return any(path.startswith("s3://") for path in (self.data_path, self.published_path or ""))


def load_extensions(con: duckdb.DuckDBPyConnection) -> None:
    """Load the lake's extensions into `con` from their wheels; LakeSetupError if one is missing."""
    version = duckdb.__version__
    builds = [_wheel_build(name, version) for name in EXTENSIONS]
    if None in builds:
        wheels = " ".join(f"'duckdb-extension-{n.replace('_', '-')}==1.5.5'" for n in EXTENSIONS)
        raise LakeSetupError(
            f"{variable('warehouse')}=ducklake needs DuckDB's {', '.join(EXTENSIONS)} "
            f"extensions built for the DuckDB running here ({version}); PyPI has them for "
            f"DuckDB 1.5.5 and none for 2.x: pip install 'duckdb==1.5.5' {wheels} "
            "(docs/deployment.md, The DuckDB version)"
        )
    for built in builds:
        con.execute(f"LOAD {sql_literal(str(built))}")


def _wheel_build(name: str, version: str) -> Path | None:
    """The extension file the `duckdb-extension-<name>` wheel holds for `version`, if any."""
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError:
        return None
    if module.__file__ is None:
        return None
    built = Path(module.__file__).parent / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    return built if built.is_file() else None


def attach_lake(
    con: duckdb.DuckDBPyConnection, lake: LakeSettings, *, read_only: bool = False
) -> None:
    """Attach the working lake to `con` as `warehouse` and make it the default catalog.

    The extensions are loaded and the secrets created first. A new catalog database is
    initialised by the first writer that attaches it (its tables, and `DATA_PATH` recorded in
    it); readers need neither the data path nor write access. A reader finding no lake yet
    gets `LakeNotCreatedError`.
    """
    _attach(con, lake, LAKE_CATALOG, lake.data_path, None, read_only=read_only)
    con.execute(f"USE {LAKE_CATALOG}")


def attach_published_lake(
    con: duckdb.DuckDBPyConnection, lake: LakeSettings, alias: str, *, read_only: bool = False
) -> None:
    """Attach the published lake (`MEETERGO_DUCKLAKE_PUBLISHED_PATH`) to `con` as `alias`.

    Its catalog is the schema `PUBLISHED_METADATA_SCHEMA` of the catalog database; it holds
    only what the publish contract selects (`warehouse/publish.py`).
    """
    if lake.published_path is None:
        raise LakeSetupError(f"{variable('ducklake_published_path')} is not set")
    _attach(con, lake, alias, lake.published_path, PUBLISHED_METADATA_SCHEMA, read_only=read_only)


def _attach(
    con: duckdb.DuckDBPyConnection,
    lake: LakeSettings,
    alias: str,
    data_path: str,
    metadata_schema: str | None,
    *,
    read_only: bool,
) -> None:
    load_extensions(con)
    create_secrets(con, lake)
    conninfo = _conninfo_without_credentials(lake.catalog_url)
    options = ["READ_ONLY"] if read_only else [f"DATA_PATH {sql_literal(_folder(data_path))}"]
    if metadata_schema is not None:
        options.append(f"METADATA_SCHEMA {sql_literal(metadata_schema)}")
    try:
        con.execute(
            f"ATTACH {sql_literal('ducklake:postgres:' + conninfo)} AS {alias} "
            f"({', '.join(options)})"
        )
    except duckdb.Error as error:
        if NO_LAKE_YET in str(error):
            raise LakeNotCreatedError(
                f"the DuckLake catalog {lake.catalog_name} holds no lake yet: the first sync "
                "creates it"
            ) from None
        raise LakeSetupError(
            f"cannot attach the DuckLake catalog {lake.catalog_name} "
            f"({variable('ducklake_catalog')}): {_first_line(error)}"
        ) from None


def create_secrets(con: duckdb.DuckDBPyConnection, lake: LakeSettings) -> None:
    """The catalog's credentials and, for an `s3://` data path, the object store's, as
    temporary secrets of `con` (they end with it)."""
    parts = urlsplit(lake.catalog_url)
    pg = {
        "HOST": parts.hostname or "localhost",
        "PORT": str(parts.port or 5432),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
    }
    pairs = ", ".join(f"{key} {sql_literal(value)}" for key, value in pg.items())
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET (TYPE postgres, {pairs})")
    if not lake.on_s3:
        return
    s3 = {
        "KEY_ID": lake.s3_key_id or "",
        "SECRET": lake.s3_secret or "",
        "REGION": lake.s3_region,
    }
    settings = [f"{key} {sql_literal(value)}" for key, value in s3.items()]
    if lake.s3_endpoint:
        endpoint = urlsplit(lake.s3_endpoint)
        settings += [
            f"ENDPOINT {sql_literal(endpoint.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}",
        ]
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET (TYPE s3, {', '.join(settings)})")


def lake_ddl(sql: str) -> str:
    """`sql` (the raw schema's DDL) without what DuckLake refuses: primary keys and column
    compression. Keys stay unique as in the file: every write is a MERGE or an anti-join."""
    return _CONSTRAINTS_DUCKLAKE_REFUSES.sub("", sql)


def memory_bytes(size: str) -> int | None:
    """A DuckDB memory size (`192MB`, `1GiB`) in bytes; None if it is not one."""
    found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*", size)
    if found is None or found.group(2).upper() not in _MEMORY_UNITS:
        return None
    return int(float(found.group(1)) * _MEMORY_UNITS[found.group(2).upper()])


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether `con`'s default catalog is a DuckLake."""
    row = con.execute(
        "SELECT type FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return row is not None and row[0] == "ducklake"


def _conninfo_without_credentials(url: str) -> str:
    """libpq key=value text of the catalog URL's database and options (no host, user or
    password: those are in the secret)."""
    parts = urlsplit(url)
    pairs = [("dbname", unquote(parts.path.lstrip("/")) or "postgres")]
    pairs += parse_qsl(parts.query)
    return " ".join(f"{key}={_libpq_value(value)}" for key, value in pairs)


def _libpq_value(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _folder(data_path: str) -> str:
    path = data_path if data_path.startswith("s3://") else str(Path(data_path).absolute())
    return path if path.endswith("/") else path + "/"


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
