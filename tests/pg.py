"""A throwaway PostgreSQL cluster for tests and benchmarks: initdb in a temporary folder, a free
port on 127.0.0.1, run as the `postgres` user when we are root (initdb refuses root).

`PgCluster.start()` raises PgUnavailable with a reason when it cannot start (no binaries, no
non-root user, no driver); callers turn that into a pytest skip that `-ra` prints.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

ADMIN_DB = "postgres"


class PgUnavailable(RuntimeError):
    """PostgreSQL cannot be started here; the message says why."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> str:
    """Path of a PostgreSQL server binary (Debian keeps them off PATH, under /usr/lib/postgresql)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if not candidates:
        raise PgUnavailable(
            f"PostgreSQL's {name} is not installed (Debian package 'postgresql'; "
            "scripts/setup.sh --dev installs it)"
        )
    return candidates[0]


class PgCluster:
    """One PostgreSQL server in its own temporary folder; `url(db)` gives SQLAlchemy URLs."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.port: int | None = None
        self._user: str | None = None
        self._counter = 0

    # -- running commands as the right user

    def _cmd(self, args: list[str]) -> list[str]:
        return ["runuser", "-u", self._user, "--", *args] if self._user else args

    def _run(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            self._cmd(args), capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self) -> PgCluster:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:  # pragma: no cover - pinned in requirements.txt
            raise PgUnavailable(f"the psycopg driver is not installed ({exc})") from None
        initdb = pg_bin("initdb")
        pg_bin("pg_ctl")
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise PgUnavailable(
                    "running as root and there is no 'postgres' user to run initdb as"
                ) from None
            if not shutil.which("runuser"):
                raise PgUnavailable("running as root and runuser is missing")
            self._user = "postgres"
        self.dir = Path(tempfile.mkdtemp(prefix="ranklens-pg-"))
        if self._user:
            info = pwd.getpwnam(self._user)
            os.chown(self.dir, info.pw_uid, info.pw_gid)
        data = self.dir / "data"
        done = self._run(
            [initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"]
        )
        if done.returncode != 0:
            self.cleanup()
            raise PgUnavailable(f"initdb failed: {(done.stderr or done.stdout).strip()[-400:]}")
        last = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = _free_port()
            if self._pg_ctl_start().returncode == 0:
                return self
            last = self.log_tail()
        self.cleanup()
        raise PgUnavailable(f"pg_ctl start failed: {last}")

    def _pg_ctl_start(self) -> subprocess.CompletedProcess:
        opts = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=200"
        )
        data, log = str(self.dir / "data"), str(self.dir / "log")  # type: ignore[operator]
        return self._run([pg_bin("pg_ctl"), "-D", data, "-o", opts, "-l", log, "-w", "start"])

    def log_tail(self, n: int = 400) -> str:
        try:
            return (self.dir / "log").read_text(errors="replace")[-n:].strip()  # type: ignore[operator]
        except OSError:
            return ""

    # -- lifecycle (for the fault tests: stop and start again on the same port)

    def stop(self, mode: str = "immediate") -> None:
        if self.dir and (self.dir / "data" / "postmaster.pid").exists():
            self._run([pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "stop"])

    def restart(self) -> None:
        """Start the stopped server again, on the same port and data folder."""
        if self._pg_ctl_start().returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {self.log_tail()}")

    def cleanup(self) -> None:
        self.stop()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    # -- databases

    def url(self, database: str = ADMIN_DB) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._counter += 1
        name = f"{prefix}_{os.getpid()}_{self._counter}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname={ADMIN_DB}", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def wait_ready(self, timeout: float = 30) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(
                    f"host=127.0.0.1 port={self.port} user=postgres dbname={ADMIN_DB}",
                    connect_timeout=2,
                ).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
