"""Two database roles: the owner, who migrates, and the application, which only uses the tables.

The application role (the web, the Celery worker and beat) owns nothing, so it cannot disable,
drop or replace a trigger, truncate a table or set session_replication_role; on the audit
tables (every history table and the other append-only records) it may only INSERT and SELECT.
The time of every history row is set by PostgreSQL (trigger audit_history_stamped), so a row
cannot be written back-dated either. What remains is the database administrator's: the owner
and any superuser can still change anything, and a direct UPDATE of a clinical table by the
owner leaves no history row.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django.apps import apps
from django.db import connection as default_connection
from psycopg import sql
from simple_history.models import HistoricalChanges

from .operations import ROW_TRIGGER, TRUNCATE_TRIGGER

STAMP_FUNCTION = "audit_stamp_history"
STAMP_TRIGGER = "audit_history_stamped"


def history_stamp_install(connection=default_connection) -> None:
    """Every history table gets its row's time from the database's clock, whatever the INSERT
    says (called after every migrate: idempotent, and new history tables are covered)."""
    tables = [
        model._meta.db_table
        for model in apps.get_models()
        if issubclass(model, HistoricalChanges) and model._meta.managed
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE OR REPLACE FUNCTION {STAMP_FUNCTION}() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN NEW.history_date := clock_timestamp(); RETURN NEW; "
            "END $$;"
        )
        for table in tables:
            cursor.execute(
                sql.SQL(
                    "CREATE OR REPLACE TRIGGER {} BEFORE INSERT ON {} FOR EACH ROW "
                    "EXECUTE FUNCTION {}()"
                ).format(
                    sql.Identifier(STAMP_TRIGGER),
                    sql.Identifier(table),
                    sql.Identifier(STAMP_FUNCTION),
                )
            )


def append_only_tables(connection=default_connection) -> list[str]:
    """The tables the append-only trigger guards (history tables and audit records)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = %s ORDER BY 1",
            [ROW_TRIGGER],
        )
        return [row[0] for row in cursor.fetchall()]


def append_only_missing(connection=default_connection) -> list[tuple[str, str]]:
    """(table, trigger) for every history table or audit record table lacking one of the two
    append-only triggers (row and TRUNCATE); empty when the audit trail is protected."""
    tables = {m._meta.db_table for m in apps.get_models() if issubclass(m, HistoricalChanges)}
    tables.add(apps.get_model("accounts", "AccountEvent")._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname IN (%s, %s)",
            [ROW_TRIGGER, TRUNCATE_TRIGGER],
        )
        found = set(cursor.fetchall())
    return [
        (table, trigger)
        for table in sorted(tables)
        for trigger in (ROW_TRIGGER, TRUNCATE_TRIGGER)
        if (table, trigger) not in found
    ]


def role_of(url: str) -> tuple[str, str | None]:
    """(role name, password) of a postgres:// URL."""
    parts = urlsplit(url)
    return unquote(parts.username or ""), (unquote(parts.password) if parts.password else None)


def application_role_grant(
    role: str, password: str | None = None, connection=default_connection
) -> None:
    """Create the application role if it is missing (where this connection may create roles)
    and give it what the eCRF needs and nothing more, on every table as migrated now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            create = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
                sql.Identifier(role)
            )
            if password:
                create += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            # Another process may create it at the same moment (parallel tests): that is fine.
            cursor.execute(
                sql.SQL("DO $$ BEGIN {}; EXCEPTION WHEN duplicate_object THEN NULL; END $$").format(
                    create
                )
            )
        elif found[0]:
            raise ValueError(f"the application role {role} is a superuser: it must not be")
        name = sql.Identifier(role)
        cursor.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(name))
        cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name))
        cursor.execute(
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(name)
        )
        cursor.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(name)
        )
        # The data freezes' schemas (made read-only by their trigger and owner): read only.
        cursor.execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'freeze\_%%'")
        for (schema,) in cursor.fetchall():
            cursor.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(
                sql.Identifier(schema), name))  # fmt: skip
            cursor.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(
                sql.Identifier(schema), name))  # fmt: skip
        for table in append_only_tables(connection):
            cursor.execute(
                sql.SQL("REVOKE UPDATE, DELETE ON {} FROM {}").format(sql.Identifier(table), name)
            )
