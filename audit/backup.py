"""Backing up and restoring the study database with PostgreSQL's own tools.

A backup is `pg_dump --format=custom` of the whole database (data, history tables and the
triggers that keep them append-only). A restore goes into a fresh, empty database, never over
the live one; `restore_check` then compares the row count of every table with the source, which
is how a backup is proven usable rather than assumed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from django.db import connection


def _pgserver_bin() -> Path | None:
    """The embedded PostgreSQL's tools, which come with the virtualenv (the same everywhere)."""
    import importlib.util

    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).resolve().parent / "pginstall" / "bin"


PGSERVER_BIN = _pgserver_bin()


class BackupError(RuntimeError):
    pass


def tool(name: str) -> str:
    """pg_dump / pg_restore: the newest available (a newer pg_dump reads older servers)."""
    if PGSERVER_BIN and (PGSERVER_BIN / name).exists():
        return str(PGSERVER_BIN / name)
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return found


def _libpq_environment(database: str | None = None) -> dict[str, str]:
    settings = connection.settings_dict
    env = dict(os.environ)
    env["PGDATABASE"] = database or settings["NAME"]
    if settings.get("USER"):
        env["PGUSER"] = settings["USER"]
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = settings["PASSWORD"]
    if settings.get("HOST"):
        env["PGHOST"] = settings["HOST"]
    if settings.get("PORT"):
        env["PGPORT"] = str(settings["PORT"])
    return env


def _run(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(f"{Path(args[0]).name} failed: {done.stderr.strip()[-2000:]}")


def database_backup(out: Path) -> Path:
    """Write a custom-format dump of the current database to `out`."""
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges", "--file", str(out)],
        _libpq_environment(),
    )
    return out


def database_restore(dump: Path, *, into: str) -> None:
    """Create the empty database `into` and restore `dump` into it (refuses an existing one)."""
    if not into.replace("_", "").isalnum():
        raise BackupError("The database name may hold letters, digits and underscores only.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [into])
        if cursor.fetchone():
            raise BackupError(f"Database {into} exists: restore into a new, empty database.")
        cursor.execute(f'CREATE DATABASE "{into}"')
    _run(
        [tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         "--dbname", into, str(dump)],
        _libpq_environment(into),
    )  # fmt: skip


def table_counts(database: str | None = None) -> dict[str, int]:
    """Rows of every table of the public schema (of `database`, default the current one)."""
    import psycopg

    settings = connection.settings_dict
    params = {
        "dbname": database or settings["NAME"],
        "user": settings.get("USER") or None,
        "password": settings.get("PASSWORD") or None,
        "host": settings.get("HOST") or None,
        "port": settings.get("PORT") or None,
    }
    with psycopg.connect(**{k: v for k, v in params.items() if v}) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        return {
            t: db.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]  # noqa: S608 - catalog names
            for t in tables
        }


@dataclass
class RestoreCheck:
    tables: int
    rows: int
    differences: dict[str, tuple[int, int]]


def restore_check(dump: Path, *, into: str) -> RestoreCheck:
    """Restore `dump` into the new database `into` and compare every table's rows with now."""
    database_restore(dump, into=into)
    source, restored = table_counts(), table_counts(into)
    differences = {
        t: (source.get(t, 0), restored.get(t, 0))
        for t in sorted(set(source) | set(restored))
        if source.get(t, 0) != restored.get(t, 0)
    }
    return RestoreCheck(len(source), sum(source.values()), differences)


def database_drop(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
