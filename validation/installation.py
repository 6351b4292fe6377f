"""Installation qualification: is this installation the one the repository describes? The
commit, Python, every installed package against its pin, PostgreSQL and Redis, migrations, the
append-only triggers of the audit trail, and Django's deployment check with production settings.
Each check gives a result a person can read; none changes anything."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from .requirements import ROOT

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*==\s*([^\s;#]+)")
NAME = re.compile(r"^([A-Za-z0-9_.\-]+)")
REQUIREMENT_FILES = ("requirements.txt", "requirements-test.txt")
PYTHON = (3, 11)


@dataclass
class Check:
    name: str
    ok: bool
    summary: str
    rows: list[tuple[str, ...]] = field(default_factory=list)  # the details, as table rows


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins_read(path: Path, seen: set[Path] | None = None) -> tuple[dict[str, str], list[str]]:
    """({package: pinned version}, [lines that name a package without an exact pin]) of a
    requirements file and the files it includes with -r."""
    seen = seen if seen is not None else set()
    pins: dict[str, str] = {}
    unpinned: list[str] = []
    if path in seen:
        return pins, unpinned
    seen.add(path)
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r"):
            more, loose = pins_read(path.parent / line[2:].strip(), seen)
            pins.update(more)
            unpinned += loose
            continue
        match = PIN.match(line)
        if match:
            pins[_canonical(match.group(1))] = match.group(3)
        elif NAME.match(line):
            unpinned.append(f"{path.name}: {line}")
    return pins, unpinned


def packages_check(files: tuple[Path, ...] | None = None) -> Check:
    """Every package of the requirement files installed at exactly its pinned version."""
    files = files or tuple(ROOT / name for name in REQUIREMENT_FILES)
    pins: dict[str, str] = {}
    unpinned: list[str] = []
    seen: set[Path] = set()
    for path in files:
        more, loose = pins_read(path, seen)
        pins.update(more)
        unpinned += loose
    rows, problems = [], list(unpinned)
    for name, pinned in sorted(pins.items()):
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        ok = installed == pinned
        rows.append((name, pinned, installed, "ok" if ok else "DIFFERS"))
        if not ok:
            problems.append(f"{name}: pinned {pinned}, installed {installed}")
    for line in unpinned:
        rows.append((line, "no exact pin", "", "UNPINNED"))
    summary = (
        f"{len(pins)} pinned packages installed at their pins"
        if not problems
        else f"{len(problems)} problem(s): " + "; ".join(problems[:5])
    )
    return Check("Installed packages against the pins", not problems, summary, rows)


def commit_check() -> Check:
    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - git with fixed arguments
            ["git", *args],  # noqa: S607 - the git of the PATH, as a person would run it
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "HEAD")
    if not commit:
        return Check("Source", False, "not a git checkout: the commit cannot be named")
    changed = [line for line in git("status", "--porcelain").splitlines() if line.strip()]
    if changed:
        return Check(
            "Source", False, f"commit {commit} with {len(changed)} changed file(s)",
            [(line,) for line in changed[:50]],
        )  # fmt: skip
    return Check("Source", True, f"commit {commit}, no local changes")


def python_check() -> Check:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info[:2] == PYTHON
    return Check("Python", ok, f"{version} ({'as' if ok else 'not'} required: 3.11)")


def postgresql_check() -> Check:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    major = int(version.split(".")[0])
    return Check("PostgreSQL", major >= 14, f"server {version} (14 or later required)")


def redis_check() -> Check:
    from blinacell_site.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)
            info = connection.default_channel.client.info("server")
    except Exception as exc:  # noqa: BLE001 - any failure is reported as the check's result
        return Check("Redis (broker)", False, f"unreachable: {type(exc).__name__}")
    return Check("Redis (broker)", True, f"server {info.get('redis_version', '?')}")


def migrations_check() -> Check:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    unapplied = [f"{migration.app_label}.{migration.name}" for migration, _ in plan]
    applied = len(executor.loader.applied_migrations)
    if unapplied:
        return Check(
            "Migrations", False, f"{len(unapplied)} not applied: {', '.join(unapplied[:5])}",
            [(name,) for name in unapplied],
        )  # fmt: skip
    return Check("Migrations", True, f"all {applied} applied")


def triggers_check() -> Check:
    from audit.roles import append_only_missing, append_only_tables

    missing = append_only_missing()
    if missing:
        return Check(
            "Append-only audit trail", False,
            f"{len(missing)} trigger(s) missing: "
            + ", ".join(f"{table} ({trigger})" for table, trigger in missing[:5]),
            [(table, trigger) for table, trigger in missing],
        )  # fmt: skip
    return Check(
        "Append-only audit trail", True,
        f"row and TRUNCATE triggers on all {len(append_only_tables())} audit tables",
    )  # fmt: skip


def production_environment(**extra: str) -> dict[str, str]:
    """This environment with production settings: DEBUG off, a secret key, a host name, no
    test or development switches."""
    keep = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DEBUG", "SECRET_KEY", "BLINACELL_TESTING", "ALLOWED_HOSTS",
                       "DJANGO_ALLOW_ASYNC_UNSAFE", "SESSION_COOKIE_SECURE"}
        and not key.startswith("SECURE_")
    }  # fmt: skip
    return {
        **keep,
        "DJANGO_SETTINGS_MODULE": "blinacell_site.settings",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "example.org",
        **extra,
    }


def deploy_check() -> Check:
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_environment(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = (done.stdout + done.stderr).strip()
    return Check(
        "Django deployment check (production settings)",
        done.returncode == 0,
        output.splitlines()[-1] if output else f"exit {done.returncode}",
        [(line,) for line in output.splitlines()[:40]] if done.returncode else [],
    )


def _checked(name: str, check) -> Check:
    """The check's result; a check that cannot run (no database, say) fails with the reason."""
    try:
        return check()
    except Exception as exc:  # noqa: BLE001 - reported in the report, not raised
        return Check(name, False, f"could not be checked: {type(exc).__name__}: {exc}"[:300])


def installation_checks() -> list[Check]:
    return [
        _checked("Source", commit_check),
        _checked("Python", python_check),
        _checked("Installed packages against the pins", packages_check),
        _checked("PostgreSQL", postgresql_check),
        _checked("Redis (broker)", redis_check),
        _checked("Migrations", migrations_check),
        _checked("Append-only audit trail", triggers_check),
        _checked("Django deployment check (production settings)", deploy_check),
    ]
