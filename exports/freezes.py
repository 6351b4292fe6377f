"""Data freezes: the study's data as they stood at one moment, kept unchanged for the analyses.

A freeze copies every table of the clinical apps (FROZEN_APPS: the subjects' records, MRD,
safety, alerts, queries, SDV marks, locks and signatures) and each one's history, with the users
they name (without passwords), into a PostgreSQL schema of its own, in one transaction that
sees one snapshot of the database. The copy is made by the database's owner (the function
blinacell_freeze_table, installed by migration exports 0003), so the application may read it
but neither change nor drop it; a trigger refuses any write to it, whoever tries. The SHA-256 of
each table's rows (COPY text in key order, the columns as frozen) and of the whole freeze is
kept with it, and `freeze_verify` computes them again.

Reading "as of" a freeze (`reading`) puts its schema first on the connection's search_path:
every query of the reports, the CSV and ODM exports and the API then reads the frozen tables,
through the same code that reads the live ones. A freeze of chosen sites holds only their rows
(rows that reach no site, such as the study's protocol versions, are copied whole).

A later migration that adds a column or a table leaves the frozen tables behind: after every
migrate (`freezes_align`), the frozen tables get the new columns (empty) and the new tables
(empty: the data did not exist when frozen), so the same code still reads them; the hashes
cover the columns as frozen.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, connection, models, transaction
from django.db.models import Q
from django.utils import timezone
from psycopg import sql
from simple_history.models import HistoricalChanges

from audit.clock import local_time_text
from audit.services import audited_save
from crf.access import Capability, reaches_every_site, sites_where
from crf.models import Site
from crf.records import record_name, subject_path

from .models import Freeze

# The apps whose tables hold the study's data, as the analyses and the sites' archives read it.
FROZEN_APPS = ("crf", "mrd", "safety", "alerts", "monitoring")
# The users those records name (who entered, changed, verified, signed): copied without their
# passwords.
USER_TABLES = ("auth_user", "accounts_historicaluser")
BLANKED_COLUMNS = ["password"]
# Bookkeeping of the worker (which subjects' alerts were evaluated when), not a record.
NOT_COMPARED = {"alerts.EvaluationMark"}
SCHEMA_PATTERN = re.compile(r"^freeze_[0-9a-f]{12}$")


class FreezeRefused(ValidationError):
    """A freeze (or a read of one) that cannot be made: the message says why."""


# --- What a freeze holds ------------------------------------------------------------------------


@cache
def frozen_models() -> tuple[type[models.Model], ...]:
    """Every model whose table a freeze copies, in table-name order."""
    found = [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        and (model._meta.app_label in FROZEN_APPS or model._meta.db_table in USER_TABLES)
    ]
    return tuple(sorted(found, key=lambda m: m._meta.db_table))


def compared_models() -> list[type[models.Model]]:
    """The frozen models whose records the comparison with the live data lists: the study's
    records themselves (not their history, not the users)."""
    return [
        m
        for m in frozen_models()
        if m._meta.app_label in FROZEN_APPS
        and not issubclass(m, HistoricalChanges)
        and not m._meta.auto_created
        and m._meta.label not in NOT_COMPARED
    ]


@cache
def site_paths(model: type[models.Model]) -> tuple[str, ...]:
    """The ORM paths from `model` to the site its rows belong to ("site", "subject__site",
    "panel__subject__site", ...), along foreign keys (not through users or content types)."""
    if model is Site or (issubclass(model, HistoricalChanges) and model.instance_type is Site):
        return ("pk",) if model is Site else ("id",)
    skip = {apps.get_model(settings.AUTH_USER_MODEL), apps.get_model("contenttypes.ContentType")}
    found: list[str] = []
    queue: deque[tuple[type[models.Model], str, int]] = deque([(model, "", 0)])
    while queue:
        current, path, depth = queue.popleft()
        for field in current._meta.concrete_fields:
            target = field.related_model
            if not field.is_relation or target is None or target in skip:
                continue
            if field.name == "history_relation":
                continue
            step = f"{path}__{field.name}" if path else field.name
            if target is Site:
                found.append(step)
            elif depth < 3:
                queue.append((target, step, depth + 1))
    return tuple(found)


def _key(model: type[models.Model]) -> str:
    return model._meta.pk.column


def _kept_ids(model: type[models.Model], site_ids: Sequence[int] | None) -> list[int] | None:
    """The keys of the rows of `model` at these sites (None: every row)."""
    if site_ids is None:
        return None
    paths = site_paths(model)
    if not paths:
        return None  # reaches no site: the study's own (protocol versions, CTCAE terms, users)
    reach = Q()
    for path in paths:
        reach |= Q(**{f"{path}__in": site_ids})
    return list(model._base_manager.filter(reach).values_list("pk", flat=True))


# --- Taking a freeze ----------------------------------------------------------------------------


def _freeze_sites(user, site_numbers: Sequence[int]) -> list[Site] | None:
    """The sites a freeze by `user` covers (None: the whole study), or PermissionDenied."""
    if not site_numbers:
        if not reaches_every_site(user, Capability.LOCK_DATA):
            raise PermissionDenied("Only a data manager of every site freezes the whole study.")
        return None
    allowed = {s.number: s for s in sites_where(user, Capability.LOCK_DATA)}
    missing = [n for n in site_numbers if n not in allowed]
    if missing:
        raise PermissionDenied("You may freeze only the sites where you are a data manager.")
    return [allowed[n] for n in sorted(set(site_numbers))]


def freeze_create(*, user, name: str, reason: str, site_numbers: Sequence[int] = ()) -> Freeze:
    """Freeze the study (or the sites numbered) now: one transaction copies every frozen table
    as one snapshot of the database saw it, hashes the copies and records the freeze with its
    reason in the audit trail. Nothing is kept of a freeze that fails."""
    name, reason = (name or "").strip(), (reason or "").strip()
    errors = {}
    if not name:
        errors["name"] = "Name the freeze (e.g. Interim analysis 1)."
    elif Freeze.objects.filter(name__iexact=name).exists():
        errors["name"] = f"There is already a freeze named {name!r}."
    if not reason:
        errors["reason"] = "Give the reason for the freeze (it is kept in the audit trail)."
    if errors:
        raise FreezeRefused(errors)
    sites = _freeze_sites(user, site_numbers)
    site_ids = None if sites is None else [s.pk for s in sites]
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        with connection.cursor() as cursor:
            if outermost:
                # Every statement of this transaction sees the same snapshot.
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            else:
                # Inside a caller's transaction: no write may commit until the copies are made.
                tables = ", ".join(
                    connection.ops.quote_name(m._meta.db_table) for m in frozen_models()
                )
                cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")
            cursor.execute("SELECT now()")
            frozen_at = cursor.fetchone()[0]
        schema = f"freeze_{secrets.token_hex(6)}"
        with connection.cursor() as cursor:
            for model in frozen_models():
                cursor.execute(
                    "SELECT blinacell_freeze_table(%s, %s, %s, %s, %s)",
                    [
                        schema,
                        model._meta.db_table,
                        _key(model),
                        _kept_ids(model, site_ids),
                        BLANKED_COLUMNS,
                    ],
                )
        tables = _digests(schema)
        freeze = Freeze(
            name=name,
            reason=reason,
            site_numbers=[] if sites is None else [s.number for s in sites],
            frozen_by=user,
            frozen_at=frozen_at,
            as_of=timezone.localdate(frozen_at),
            schema=schema,
            tables=tables,
            sha256=_total(tables),
        )
        audited_save(freeze, user=user, reason=reason)
        _reports_ask(freeze)
    return freeze


def _reports_ask(freeze: Freeze) -> None:
    """Have the worker compute the freeze's study reports (its sites, both AE periods) once the
    freeze is committed: computed by the code of the day it was taken."""
    from .reports import PERIODS
    from .stored_reports import ask

    numbers = freeze.site_numbers or list(Site.objects.values_list("number", flat=True))
    if numbers:
        for period in PERIODS:
            ask(numbers, period, freeze)


# --- Hashes -------------------------------------------------------------------------------------


def _columns(schema: str, table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            [f'"{schema}"."{table}"'],
        )
        return [row[0] for row in cursor.fetchall()]


def _table_digest(schema: str, table: str, key: str, columns: list[str]) -> tuple[int, str]:
    """(rows, SHA-256 of the rows' COPY text in key order) of one frozen table, written the
    same on every server (UTC, ISO dates)."""
    query = sql.SQL("COPY (SELECT {} FROM {}.{} ORDER BY {}) TO STDOUT").format(
        sql.SQL(", ").join(sql.Identifier(c) for c in columns),
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.Identifier(key),
    )
    digest = hashlib.sha256()
    connection.ensure_connection()
    with transaction.atomic(), connection.connection.cursor() as cursor:
        for name, value in (
            ("TimeZone", "UTC"),
            ("DateStyle", "ISO, YMD"),
            ("IntervalStyle", "postgres"),
            ("extra_float_digits", "1"),
            ("bytea_output", "hex"),
        ):
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        with cursor.copy(query) as copy:
            for block in copy:
                digest.update(block)
        rows = cursor.rowcount
    return rows, digest.hexdigest()


def _digests(schema: str) -> list[list]:
    out = []
    for model in frozen_models():
        table = model._meta.db_table
        columns = _columns(schema, table)
        rows, digest = _table_digest(schema, table, _key(model), columns)
        out.append([table, rows, digest, columns])
    return out


def _total(tables: list[list]) -> str:
    """The freeze's SHA-256: of "table<TAB>rows<TAB>sha256" lines, in table-name order."""
    lines = "".join(f"{table}\t{rows}\t{digest}\n" for table, rows, digest, _ in tables)
    return hashlib.sha256(lines.encode()).hexdigest()


@dataclass(frozen=True)
class Verification:
    ok: bool
    sha256: str
    differing: list[str]  # tables whose rows or hash differ from the freeze's record


def freeze_verify(freeze: Freeze) -> Verification:
    """Hash the frozen tables again and compare with what was recorded when frozen."""
    keys = {m._meta.db_table: _key(m) for m in frozen_models()}
    now = []
    differing = []
    for table, rows, digest, columns in freeze.tables:
        n, again = _table_digest(freeze.schema, table, keys.get(table, "id"), columns)
        now.append([table, n, again, columns])
        if (n, again) != (rows, digest):
            differing.append(table)
    total = _total(now)
    return Verification(
        ok=not differing and total == freeze.sha256, sha256=total, differing=differing
    )


# --- Reading as of a freeze ---------------------------------------------------------------------


def _schema_exists(schema: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        return cursor.fetchone() is not None


@contextmanager
def reading(freeze: Freeze | None) -> Iterator[None]:
    """Within this block, the ORM (and raw SQL naming tables unqualified) reads `freeze`'s
    tables instead of the live ones; other tables (reports stored, exports asked for) are the
    live database's. `reading(None)` reads the live data."""
    if freeze is None:
        yield
        return
    if not SCHEMA_PATTERN.match(freeze.schema) or not _schema_exists(freeze.schema):
        raise FreezeRefused(f"The data of {freeze} are not in this database.")
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('search_path')")
        before = cursor.fetchone()[0]
        cursor.execute(
            "SELECT set_config('search_path', %s, false)", [f'"{freeze.schema}", {before}']
        )
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('search_path', %s, false)", [before])
        except DatabaseError:
            # The transaction failed: its rollback restores the path; a connection outside
            # any transaction that cannot say so is not used again.
            if not connection.in_atomic_block:
                connection.close()


# --- Comparing with the live data ---------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    model: type[models.Model]
    pk: int
    kind: str  # "added", "changed" or "deleted"

    @property
    def label(self) -> str:
        return str(self.model._meta.verbose_name).capitalize()


def _site_ids(freeze: Freeze) -> list[int] | None:
    if not freeze.site_numbers:
        return None
    return list(Site.objects.filter(number__in=freeze.site_numbers).values_list("pk", flat=True))


def changes_since(freeze: Freeze) -> list[Change]:
    """Every record of the study (at the freeze's sites) added, changed or deleted since the
    freeze, by kind of record and key; a record is changed when any column as frozen differs."""
    columns = {table: cols for table, _, _, cols in freeze.tables}
    site_ids = _site_ids(freeze)
    changes: list[Change] = []
    for model in compared_models():
        table = model._meta.db_table
        if table not in columns:
            continue
        key = _key(model)
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns[table])
        live_ids = _kept_ids(model, site_ids)
        live_filter = sql.SQL("")
        params: list = []
        if live_ids is not None:
            live_filter = sql.SQL(" WHERE {} = ANY(%s)").format(sql.Identifier(key))
            params.append(live_ids)
        query = sql.SQL(
            "SELECT coalesce(f.k, l.k), f.k IS NULL, l.k IS NULL FROM "
            "(SELECT {key} AS k, md5(ROW({cols})::text) AS h FROM {frozen}) f FULL JOIN "
            "(SELECT {key} AS k, md5(ROW({cols})::text) AS h FROM {live}{filter}) l "
            "ON f.k = l.k WHERE f.h IS DISTINCT FROM l.h ORDER BY 1"
        ).format(
            key=sql.Identifier(key),
            cols=cols,
            frozen=sql.Identifier(freeze.schema, table),
            live=sql.Identifier(table),
            filter=live_filter,
        )
        with connection.cursor() as cursor:
            cursor.execute(query.as_string(connection.connection), params)
            for pk, added, deleted in cursor.fetchall():
                kind = "added" if added else "deleted" if deleted else "changed"
                changes.append(Change(model, pk, kind))
    return changes


def change_names(changes: Sequence[Change]) -> list[tuple[Change, str]]:
    """Each change with the record's name in the trial's words (the live record's, or the
    frozen one's for a record deleted since)."""
    named = []
    for change in changes:
        record = change.model._base_manager.filter(pk=change.pk).first()
        if record is None:
            named.append((change, f"{change.label} (deleted since: no longer recorded)"))
            continue
        if subject_path(change.model) is None:  # a site, a protocol version, a lock ...
            named.append((change, f"{change.label}: {record}"))
        else:
            named.append((change, record_name(record)))
    return named


# --- Keeping frozen tables readable after migrations --------------------------------------------


def freeze_schemas(conn=connection) -> list[str]:
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'freeze\\_%%' ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall() if SCHEMA_PATTERN.match(row[0])]


def freezes_align(using_connection=None) -> int:
    """Give every freeze the tables and columns added to the frozen apps since it was taken
    (empty, as the data did not exist then), so that the code of today reads it. Run after
    every migrate by the owner; returns how many tables or columns were added."""
    conn = using_connection or connection
    added = 0
    with conn.cursor() as cursor:
        for schema in freeze_schemas(conn):
            cursor.execute(
                "SELECT blinacell_freeze_align(%s, %s)",
                [schema, [m._meta.db_table for m in frozen_models()]],
            )
            added += cursor.fetchone()[0]
    return added


# --- Who reads which freeze, and how a product names its data ------------------------------------


def freezes_for_sites(site_numbers: Sequence[int]) -> list[Freeze]:
    """The freezes that hold data of these sites (those of the whole study, and those of chosen
    sites among them), newest first."""
    numbers = set(site_numbers)
    return [
        f
        for f in Freeze.objects.select_related("frozen_by")
        if not f.site_numbers or numbers & set(f.site_numbers)
    ]


def data_basis(freeze: Freeze | None, live_at=None) -> dict:
    """What data a report, export or page counts, for its JSON: the freeze (name, time, hash) or
    the live data as of a time."""
    if freeze is None:
        at = timezone.localtime(live_at or timezone.now())
        return {"live_as_of": at.isoformat(timespec="seconds")}
    return {
        "freeze": freeze.name,
        "frozen_at": timezone.localtime(freeze.frozen_at).isoformat(timespec="seconds"),
        "sha256": freeze.sha256,
    }


def data_basis_text(freeze: Freeze | None, live_at=None) -> str:
    """The same for people: "Freeze 'Interim 1' of 2026-11-30 18:02 CET" or "Live data as of
    2026-11-30 18:02 CET" (the site's time)."""
    if freeze is None:
        return f"Live data as of {local_time_text(live_at or timezone.now())}"
    return f"Freeze {freeze.name!r} of {local_time_text(freeze.frozen_at)}"
