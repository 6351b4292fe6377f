"""What `make run` and `make test` call: services first, then the project's processes.

    python -m blinacell_site.launcher run      migrate, load the demo, start web + worker + beat
    python -m blinacell_site.launcher test ... run pytest with the given arguments
    python -m blinacell_site.launcher manage ... any manage.py command against the same services
    python -m blinacell_site.launcher python SCRIPT ... a script (benchmarks) against them too

Where DATABASE_URL or CELERY_BROKER_URL is unset, embedded PostgreSQL/Redis are started for the
duration of the command (see embedded.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from urllib.parse import urlsplit

from .embedded import PROJECT_DIR, service_environment

DEMO_PASSWORD = "blina-demo-2026!"  # noqa: S105 - the demo study's shared password, printed by make run


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


def _stop(processes: list[subprocess.Popen], timeout: float = 10.0) -> None:
    for proc in processes:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in processes:
        remaining = max(0.1, deadline - time.monotonic())
        try:
            proc.wait(remaining)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _check(cmd: list[str]) -> None:
    result = subprocess.run(cmd, cwd=PROJECT_DIR)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def _interrupt_on_term() -> None:
    """Ctrl-C or SIGTERM both stop everything cleanly, even where SIGINT was inherited ignored."""

    def _raise(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, _raise)
    signal.signal(signal.SIGTERM, _raise)


def _database_setup() -> None:
    """Migrate as the owner and set up the application's role; from here on this process and
    its children connect as the application (DATABASE_URL). With a single DATABASE_URL (no
    DATABASE_OWNER_URL and no embedded PostgreSQL) that one role does both, and the audit
    trail's protection then rests on that role's owner: said at start."""
    owner = os.environ.get("DATABASE_OWNER_URL")
    app = os.environ.get("DATABASE_APP_URL") or (os.environ["DATABASE_URL"] if owner else None)
    if not owner or not app:
        print(
            "Note: one database role for migrations and the application (set DATABASE_OWNER_URL "
            "to the owner's connection and DATABASE_URL to the application's): the application "
            "then owns the tables and could set the audit triggers aside.",
            flush=True,
        )
        _check(_python("manage.py", "migrate", "--noinput", "-v", "0"))
        return
    env = {**os.environ, "DATABASE_URL": owner}
    result = subprocess.run(
        _python("manage.py", "database_setup", "--app-url", app), cwd=PROJECT_DIR, env=env
    )
    if result.returncode != 0:
        raise SystemExit(result.returncode)
    os.environ["DATABASE_URL"] = app


def run() -> int:
    _interrupt_on_term()
    os.environ.setdefault("DEBUG", "1")
    env, services = service_environment()
    os.environ.update(env)
    port = os.environ.get("PORT", "8000")
    processes: list[subprocess.Popen] = []
    try:
        _database_setup()
        _check(_python("manage.py", "load_demo_study", "--password", DEMO_PASSWORD))
        processes = [
            subprocess.Popen(
                _python("manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"),
                cwd=PROJECT_DIR,
            ),
            subprocess.Popen(
                _python("-m", "celery", "-A", "blinacell_site", "worker", "-l", "warning",
                        "--concurrency", "2"),
                cwd=PROJECT_DIR,
            ),
            subprocess.Popen(
                _python("-m", "celery", "-A", "blinacell_site", "beat", "-l", "warning"),
                cwd=PROJECT_DIR,
            ),
        ]  # fmt: skip
        print(
            f"\nBlinaCell eCRF is running at http://127.0.0.1:{port}/\n"
            f"  database: {'embedded PostgreSQL' if 'DATABASE_URL' in env else 'DATABASE_URL'} "
            f"as {urlsplit(os.environ['DATABASE_URL']).username}; "
            f"broker: {'embedded Redis' if 'CELERY_BROKER_URL' in env else 'CELERY_BROKER_URL'}\n"
            f"  demo logins (password {DEMO_PASSWORD!r} for all):\n"
            "    investigator.prague   investigator, site 1 Prague\n"
            "    investigator.brno     investigator, site 2 Brno\n"
            "    monitor               monitor, sites 1 and 2\n"
            "    centrallab            central MRD laboratory\n"
            "    datamanager           data manager, all sites\n"
            "    sponsor               sponsor (reports and exports)\n"
            "    admin                 staff (Django admin)\n"
            "  Press Ctrl-C to stop.\n",
            flush=True,
        )
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
        failed = [p.args for p in processes if p.poll() not in (None, 0)]
        if failed:
            print(f"A process stopped unexpectedly: {failed}", file=sys.stderr)
            return 1
        return 0
    except KeyboardInterrupt:
        print("\nStopping web, worker and beat ...", flush=True)
        return 0
    finally:
        _stop(processes)
        _stop(services)


def test(pytest_args: list[str]) -> int:
    env, services = service_environment()
    os.environ.update(env)
    os.environ["BLINACELL_TESTING"] = "1"
    # A queue of this run's own: no other run's (or make run's) worker takes its tasks.
    os.environ.setdefault("CELERY_QUEUE", f"blinacell-test-{os.getpid()}")
    try:
        return subprocess.run(_python("-m", "pytest", *pytest_args), cwd=PROJECT_DIR).returncode
    finally:
        _stop(services)


def manage(args: list[str]) -> int:
    env, services = service_environment()
    os.environ.update(env)
    try:
        return subprocess.run(_python("manage.py", *args), cwd=PROJECT_DIR).returncode
    finally:
        _stop(services)


def python(args: list[str]) -> int:
    """Run a Python script (a benchmark) against the same services."""
    env, services = service_environment()
    os.environ.update(env)
    os.environ.setdefault("CELERY_QUEUE", f"blinacell-bench-{os.getpid()}")
    try:
        return subprocess.run(_python(*args), cwd=PROJECT_DIR).returncode
    finally:
        _stop(services)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"run", "test", "manage", "python"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    if command == "run":
        return run()
    if command == "test":
        return test(rest)
    if command == "python":
        return python(rest)
    return manage(rest)


if __name__ == "__main__":
    # Ctrl-C reaches the children too (same process group); run() waits for them to stop.
    sys.exit(main(sys.argv[1:]))
