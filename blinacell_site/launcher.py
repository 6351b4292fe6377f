"""What `make run` and `make test` call: services first, then the project's processes.

    python -m blinacell_site.launcher run      migrate, load the demo, start web + worker + beat
                                               (DEBUG off, as a site serves it; DEBUG=1 to develop)
    python -m blinacell_site.launcher test ... run pytest with the given arguments
    python -m blinacell_site.launcher manage ... any manage.py command against the same services
    python -m blinacell_site.launcher python SCRIPT ... a script (benchmarks) against them too

Where DATABASE_URL or CELERY_BROKER_URL is unset, embedded PostgreSQL/Redis are started for the
duration of the command (see embedded.py).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from .embedded import LOCAL_DIR, PROJECT_DIR, service_environment
from .env import parse_flag

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


def _debug(environ: Mapping[str, str]) -> bool:
    return parse_flag("DEBUG", environ.get("DEBUG"), default=False)


def _local_secret_key(local_dir: Path) -> str:
    """The secret key of this machine's `make run`, kept under .local/ (sessions survive a
    restart); made on the first run."""
    path = local_dir / "secret_key"
    if not path.exists():
        local_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


def run_environment(environ: Mapping[str, str], local_dir: Path = LOCAL_DIR) -> dict[str, str]:
    """The environment of `make run`'s processes: DEBUG off (as a site serves the study) unless
    DEBUG=1 is set; over plain http on this machine, so no HTTPS redirect and cookies without the
    Secure flag; a secret key of this machine's own unless SECRET_KEY is set."""
    env = dict(environ)
    if not _debug(env):
        env["DEBUG"] = "0"
        if not env.get("SECRET_KEY"):
            env["SECRET_KEY"] = _local_secret_key(local_dir)
        env.setdefault("SECURE_SSL_REDIRECT", "0")
        env.setdefault("SESSION_COOKIE_SECURE", "0")
    return env


def collect_static(env: Mapping[str, str]) -> None:
    """With DEBUG off the stylesheets and scripts are served by whitenoise from STATIC_ROOT
    (staticfiles/, git-ignored), under names carrying their content's hash."""
    if _debug(env):
        return  # DEBUG: served straight from static/ (and changes show at once)
    result = subprocess.run(
        _python("manage.py", "collectstatic", "--noinput", "-v", "0"), cwd=PROJECT_DIR, env=env
    )
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def web_command(port: str, env: Mapping[str, str]) -> list[str]:
    """DEBUG off: gunicorn, the production server; DEBUG=1: Django's development server."""
    if _debug(env):
        return _python("manage.py", "runserver", f"127.0.0.1:{port}", "--noreload")
    return _python(
        "-m", "gunicorn", "blinacell_site.wsgi", "-c", "python:blinacell_site.gunicorn_conf",
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--no-control-socket",
    )  # fmt: skip


def wait_until_answers(
    url: str,
    alive: Callable[[], bool],
    timeout: float = 120.0,
    interval: float = 0.2,
) -> bool:
    """Poll `url` until it answers 200 (True); False if `alive()` turns false or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass  # not listening yet, or 503 while the broker or database comes up
        time.sleep(interval)
    return False


def banner(base_url: str, env: Mapping[str, str], started: Mapping[str, str]) -> str:
    return (
        f"\nBlinaCell eCRF is running at {base_url}" + (" (DEBUG on)" if _debug(env) else "") + "\n"
        f"  database: {'embedded PostgreSQL' if 'DATABASE_URL' in started else 'DATABASE_URL'} "
        f"as {urlsplit(env['DATABASE_URL']).username}; "
        f"broker: {'embedded Redis' if 'CELERY_BROKER_URL' in started else 'CELERY_BROKER_URL'}\n"
        f"  demo logins (password {DEMO_PASSWORD!r} for all):\n"
        "    investigator.prague   investigator, site 1 Prague\n"
        "    investigator.brno     investigator, site 2 Brno\n"
        "    monitor               monitor, sites 1 and 2\n"
        "    centrallab            central MRD laboratory\n"
        "    datamanager           data manager, all sites\n"
        "    sponsor               sponsor (reports and exports)\n"
        "    admin                 staff (Django admin)\n"
        "  Press Ctrl-C to stop.\n"
    )


def announce_when_ready(
    base_url: str,
    processes: Sequence[subprocess.Popen],
    message: str,
    out: TextIO | None = None,
    timeout: float = 120.0,
) -> bool:
    """Print `message` (the URL and the logins) only once the site's /healthz answers; False
    (and nothing printed) if a process stops first or the site never answers."""
    ready = wait_until_answers(
        f"{base_url}healthz", lambda: all(p.poll() is None for p in processes), timeout
    )
    if ready:
        print(message, file=out or sys.stdout, flush=True)
    return ready


def run() -> int:
    _interrupt_on_term()
    env, services = service_environment()
    os.environ.update(env)
    os.environ.update(run_environment(os.environ))
    port = os.environ.get("PORT", "8000")
    base_url = f"http://127.0.0.1:{port}/"
    processes: list[subprocess.Popen] = []
    try:
        _database_setup()
        _check(_python("manage.py", "load_demo_study", "--password", DEMO_PASSWORD, "--force"))
        collect_static(os.environ)
        processes = [
            subprocess.Popen(web_command(port, os.environ), cwd=PROJECT_DIR),
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
        if not announce_when_ready(base_url, processes, banner(base_url, os.environ, env)):
            failed = [p.args for p in processes if p.poll() not in (None, 0)]
            print(
                f"The site did not answer at {base_url}healthz"
                + (
                    f": a process stopped: {failed}"
                    if failed
                    else " (it reports the database and the broker: is one of them down?)"
                ),
                file=sys.stderr,
            )
            return 1
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
