"""Real servers the fault scenarios can stop and start: a private PostgreSQL cluster and the
app under gunicorn. Every process started here is stopped by stop_all() (the test session's
conftest and run.py call it), never by name."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("BLINACELL_PG_BIN", "/usr/lib/postgresql/15/bin"))
_started: list = []


def stop_all() -> None:
    for server in reversed(_started):
        try:
            server.stop()
        except Exception as exc:  # noqa: BLE001 - stop every other one anyway
            print(f"could not stop {server!r}: {exc}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"not within {timeout} s")


class PrivatePostgres:
    """A PostgreSQL cluster of its own (Debian's binaries, initdb into a temp dir, trust auth),
    on a free TCP port of 127.0.0.1 with its socket in the temp dir. As root, it runs as the
    `postgres` system user (PostgreSQL refuses to run as root)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bc-faults-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(self.dir, self.user)
        self.initialised = False

    def __repr__(self) -> str:
        return f"PrivatePostgres(port={self.port}, data={self.data})"

    def _run(self, *args: str, check: bool = True, timeout: float = 60):
        return subprocess.run(
            [str(PG_BIN / args[0]), *args[1:]],
            user=self.user,
            cwd=self.dir,
            capture_output=True,
            text=True,
            check=check,
            timeout=timeout,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> PrivatePostgres:
        if not self.initialised:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "-E", "UTF8", "--no-sync")  # fmt: skip
            self.initialised = True
            _started.append(self)
        options = (
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=50"
        )
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                  "-w", "-t", "30", "start")  # fmt: skip
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (fast: every session is disconnected at once); no-op if it is down."""
        if self.initialised and (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "30", "stop",
                      check=False)  # fmt: skip

    def running(self) -> bool:
        result = self._run("pg_ctl", "-D", str(self.data), "status", check=False)
        return result.returncode == 0

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            with conn.cursor() as cursor:
                cursor.execute(sql)
                return cursor.fetchall() if cursor.description else []

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


class Process:
    """A child process with its output in a log file; stop() sends SIGTERM, then SIGKILL."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.args, self.env, self.log = args, env, log
        self.process: subprocess.Popen | None = None

    def __repr__(self) -> str:
        return f"Process({self.args[:4]!r}, pid={self.process.pid if self.process else None})"

    def start(self) -> Process:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.args, cwd=PROJECT, env=self.env, stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        _started.append(self)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10) -> None:
        if not self.alive():
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        # gunicorn's workers are in the child's own session: make sure none is left behind.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def app_environment(database_url: str, broker_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "BLINACELL_TESTING": "1",
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "blinacell_site.settings",
        **extra,
    }


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=PROJECT, env=env, capture_output=True,
        text=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def gunicorn(env: dict[str, str], port: int, log: Path, workers: int = 2) -> Process:
    return Process(
        [sys.executable, "-m", "gunicorn", "blinacell_site.wsgi", "-b", f"127.0.0.1:{port}",
         "-w", str(workers), "--timeout", "30", "--graceful-timeout", "5"],
        env, log,
    ).start()  # fmt: skip
