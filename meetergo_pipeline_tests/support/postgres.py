"""A throwaway PostgreSQL server on loopback, for tests of the Postgres Dagster instance.

Debian's `postgresql` package provides the binaries (`/usr/lib/postgresql/<major>/bin`);
`ensure_binaries` installs it with apt-get when it is missing and the tests run as root.
PostgreSQL refuses to run as root, so under root the cluster belongs to the unprivileged
`nobody` user and every server command runs through `runuser`. The server listens on
127.0.0.1 only, on a free port, with trust authentication and no Unix socket.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg2.extensions import connection

PG_ROOT = Path("/usr/lib/postgresql")
SERVER_USER = "nobody"  # owns the cluster when the tests run as root
SUPERUSER = "postgres"  # the cluster's database superuser (trust auth: no password)
APT_TIMEOUT_S = 900


def find_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None when none is installed."""
    found = [d / "bin" for d in PG_ROOT.glob("*") if (d / "bin" / "initdb").is_file()]
    return max(found, key=lambda d: int(d.parent.name), default=None) if found else None


def ensure_binaries() -> Path | str:
    """The bin folder, installing Debian's `postgresql` first when possible; else why not."""
    bin_dir = find_bin_dir()
    if bin_dir is not None:
        return bin_dir
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return (
            f"PostgreSQL is not installed (no {PG_ROOT}/*/bin/initdb) and cannot be installed "
            "here (needs root and apt-get): run `apt-get install -y postgresql` as root"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "postgresql"]
    if subprocess.run(install, env=env, capture_output=True, timeout=APT_TIMEOUT_S).returncode:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=False)
        installed = subprocess.run(install, env=env, capture_output=True, timeout=APT_TIMEOUT_S)
        if installed.returncode:
            return f"`apt-get install postgresql` failed: {installed.stderr.decode()[-500:]}"
    return find_bin_dir() or f"apt-get installed postgresql but {PG_ROOT}/*/bin is missing"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class PostgresServer:
    """One running cluster: `root` holds its data folder and its server log."""

    bin_dir: Path
    root: Path
    port: int

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL of `database`, with the psycopg2 driver dagster-postgres installs."""
        return f"postgresql+psycopg2://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> connection:
        import psycopg2  # here, not at the top: conftest imports this module for every test

        return psycopg2.connect(
            host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=database, connect_timeout=10
        )

    def create_database(self, name: str) -> str:
        """Create the empty database `name` (a plain identifier); returns its URL."""
        if not name.isidentifier():
            raise ValueError(f"database name {name!r} must be a plain identifier")
        con = self.connect()
        try:
            con.autocommit = True  # CREATE DATABASE cannot run inside a transaction
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return self.url(name)

    def pg_ctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return _as_server_user(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args], timeout=120
        )

    def stop(self) -> None:
        """Fast shutdown (open sessions are ended), then the cluster's folder is removed."""
        try:
            self.pg_ctl("-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_postgres(bin_dir: Path) -> PostgresServer:
    """initdb a fresh cluster in a new temp folder and start it on a free loopback port.

    Raises RuntimeError with the server's own output when initdb or the start fails.
    """
    # Not under pytest's tmp_path: that tree is 0700 root's, which `nobody` cannot enter.
    root = Path(tempfile.mkdtemp(prefix="meetergo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user=SERVER_USER)
    server = PostgresServer(bin_dir, root, free_port())
    initdb = _as_server_user(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(server.data_dir),
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        timeout=180,
    )
    if initdb.returncode:
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {initdb.stdout[-1000:]}{initdb.stderr[-1000:]}")
    with (server.data_dir / "postgresql.conf").open("a") as conf:
        conf.write(
            f"listen_addresses = '127.0.0.1'\nport = {server.port}\n"
            "unix_socket_directories = ''\nfsync = off\nmax_connections = 200\n"
        )
    started = server.pg_ctl("-l", str(server.log_path), "-w", "-t", "90", "start")
    if started.returncode:
        log = server.log_path.read_text() if server.log_path.exists() else ""
        server.stop()
        raise RuntimeError(f"PostgreSQL did not start: {started.stderr[-500:]}\n{log[-2000:]}")
    return server


def _as_server_user(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run `command` as the cluster's owner: `nobody` under root, else the current user."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", SERVER_USER, "--", *command]
    # cwd "/": `nobody` may not be allowed into the caller's working directory.
    return subprocess.run(
        command, cwd="/", capture_output=True, text=True, timeout=timeout, check=False
    )
