"""audit_trail.csv written by PostgreSQL: the audit review's rows, computed in one query.

The review (monitoring/audit_review.py) compares each history row with the version before it in
Python, which suits a page of fifty changes. For the export of a whole study, the same comparison
runs inside PostgreSQL: each history table's rows are paired with their previous version by a
window function, every field becomes a row through a LATERAL list of (field, old, new), and the
values are displayed by the review's own rules (codes by their labels, references by their keys,
records by their names, Yes/No, decimals as written, UTC times). The result streams out with
COPY, at the database's speed.
tests/exports/test_audit_sql.py checks that both give the same rows.

The SQL is composed of the ORM's own compiled queries, table and column names from the models,
and literals quoted by _literal (labels from the code, never user input); hence S608 is off here.
"""
# ruff: noqa: S608

from __future__ import annotations

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db import connection, models
from django.db.models import F, Window
from django.db.models.functions import Lag

from audit.cells import FORMULA_STARTS_SQL
from audit.models import history_model
from crf.models import Role
from crf.records import RECORD_KEY_KINDS, is_record_key_field
from monitoring.audit_review import (
    REFERENCE_LABELS,
    UNNAMED,
    AuditScope,
    AuditTrail,
    _generic_pair,
    _keyed_record,
    _kind_name,
    _Source,
    field_label,
    record_names,
)
from monitoring.records import BOOKKEEPING_FIELDS

# The names of the records the trail names (_names_fill), for this connection only.
NAMES_TABLE = "pg_temp.audit_record_names"
_NAMES_BATCH = 2000

# The review's time and the export's: ISO 8601 in UTC, microseconds only when there are some.
_ISO_T = (
    "(CASE WHEN {x} IS NULL THEN NULL "
    "WHEN mod(date_part('microseconds', {x})::bigint, 1000000) = 0 "
    "THEN to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"{sep}\"HH24:MI:SS') "
    "ELSE to_char({x} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"{sep}\"HH24:MI:SS.US') END || '+00:00')"
)


def _literal(text: str) -> str:
    # Quoted for SQL, and % doubled: the whole query passes once through parameter formatting.
    return "'" + str(text).replace("'", "''").replace("%", "%%") + "'"


def _neutralised(expr: str) -> str:
    """audit.cells.text_cell in SQL: an apostrophe before a formula start (after any number of
    apostrophes)."""
    quote = "''''"  # an apostrophe, as an SQL literal
    return (
        f"(CASE WHEN left(ltrim({expr}, {quote}), 1) IN {FORMULA_STARTS_SQL} "
        f"THEN {quote} || {expr} ELSE {expr} END)"
    )


def _cell(expr: str) -> str:
    # COPY quotes an empty string ("") to tell it from NULL; the CSV files write it as nothing.
    return f"NULLIF({expr}, '')"


def _name_lookup(ct: str, x: str, fallback: str) -> str:
    """The name (NAMES_TABLE) of the record `x` of the content type `ct`, else `fallback`."""
    lookup = f"(SELECT n.name FROM {NAMES_TABLE} n WHERE n.ct = {ct} AND n.id = {x})"
    return f"coalesce({lookup}, {fallback})"


def _display(f: models.Field, x: str, ct_column: str | None = None) -> str:
    """monitoring.audit_review._display in SQL, for the column expression `x`; `ct_column`: the
    content type column of a generic pointer whose id `x` is."""
    if ct_column is not None:
        lookup = _name_lookup(ct_column, f"{x}::bigint", _literal(UNNAMED))
        return f"(CASE WHEN {x} IS NULL THEN '' ELSE {lookup} END)"
    if is_record_key_field(f):  # monitoring.audit_review.key_display
        pk = f"split_part({x}, ':', 2)"
        whens = []
        for kind, label in RECORD_KEY_KINDS.items():
            model = apps.get_model(label)
            ct = str(ContentType.objects.get_for_model(model).pk)
            gone = _literal(f"{_kind_name(model)} ({UNNAMED})")
            named = _name_lookup(ct, f"{pk}::bigint", gone)
            whens.append(
                f"WHEN {_literal(kind)} THEN (CASE WHEN {pk} ~ '^[0-9]+$' THEN {named} "
                f"ELSE {_literal(_kind_name(model))} END)"
            )
        return (
            f"(CASE WHEN {x} IS NULL OR {x} = '' THEN '' "
            f"ELSE (CASE split_part({x}, ':', 1) {' '.join(whens)} ELSE {x} END) END)"
        )
    if f.is_relation and f.many_to_one:
        target = f.related_model
        key = REFERENCE_LABELS.get(target._meta.label)
        gone = _literal(f"{_kind_name(target)} ({UNNAMED})")
        if key is None:
            ct = str(ContentType.objects.get_for_model(target).pk)
            return f"(CASE WHEN {x} IS NULL THEN '' ELSE {_name_lookup(ct, x, gone)} END)"
        key_column = target._meta.get_field(key).column
        lookup = (
            f'(SELECT r."{key_column}"::text FROM "{target._meta.db_table}" r '
            f'WHERE r."{target._meta.pk.column}" = {x})'
        )
        return f"(CASE WHEN {x} IS NULL THEN '' ELSE coalesce({lookup}, {gone}) END)"
    if f.choices:
        whens = " ".join(
            f"WHEN {_literal(code)} THEN {_literal(label)}" for code, label in f.flatchoices
        )
        return (
            f"(CASE WHEN {x} IS NULL THEN '' ELSE (CASE {x}::text {whens} ELSE {x}::text END) END)"
        )
    if isinstance(f, models.BooleanField):
        return f"(CASE WHEN {x} THEN 'Yes' WHEN NOT {x} THEN 'No' ELSE '' END)"
    if isinstance(f, models.DecimalField):
        # audit.naming.plain_number: 0.002500000000000 -> 0.0025, 250.0000 -> 250
        return f"coalesce(trim_scale({x})::text, '')"
    if isinstance(f, models.DateTimeField):
        return f"coalesce({_ISO_T.format(x=x, sep=' ')}, '')"
    if isinstance(f, models.DateField):
        return f"coalesce(to_char({x}, 'YYYY-MM-DD'), '')"
    if isinstance(f, models.JSONField):
        return (
            f"coalesce((SELECT string_agg(e, ', ' ORDER BY n) FROM "
            f"jsonb_array_elements_text(CASE WHEN jsonb_typeof({x}) = 'array' THEN {x} "
            f"ELSE '[]'::jsonb END) WITH ORDINALITY AS t(e, n)), '')"
        )
    if f.get_internal_type() == "ArrayField":
        return f"coalesce(array_to_string({x}, ', '), '')"
    return f"coalesce({x}::text, '')"


def _empty(f: models.Field, x: str) -> str:
    """The review leaves out of a creation the fields that were created empty."""
    if isinstance(f, models.JSONField):
        return f"({x} IS NULL OR {x} = '[]'::jsonb OR {x} = '\"\"'::jsonb)"
    if f.get_internal_type() == "ArrayField":
        return f"({x} IS NULL OR cardinality({x}) = 0)"
    if isinstance(f, models.CharField | models.TextField) and not f.is_relation:
        return f"({x} IS NULL OR {x} = '')"
    return f"({x} IS NULL)"


def _source_sql(index: int, source: _Source, qs: models.QuerySet) -> tuple[str, list]:
    model = source.model
    history = history_model(model)
    fields = [
        f
        for f in model._meta.concrete_fields
        if f.name not in BOOKKEEPING_FIELDS and not f.name.startswith("history")
    ]
    annotations = {
        "_prev": Window(Lag("history_id"), partition_by=[F("id")], order_by=F("history_id").asc())
    }
    if source.subject_id_path:
        path = (
            "study_id"
            if model._meta.label == "crf.Subject"
            else (source.subject_id_path.removesuffix("_id") + "__study_id")
        )
        annotations["_subject"] = F(path)
    if source.site_id_path:
        path = (
            "number"
            if source.site_id_path == "id"
            else (source.site_id_path.removesuffix("_id") + "__number")
        )
        annotations["_site"] = F(path)
    inner = qs.order_by().annotate(**annotations).values(
        "history_id", "id", "history_date", "history_type", "history_user_id",
        "history_change_reason", *annotations, *[f.attname for f in fields],
    )  # fmt: skip
    inner_sql, params = inner.query.sql_with_params()
    table = history._meta.db_table
    has_error_flag = any(f.name == "entered_in_error" for f in fields)
    kind = (
        "CASE h.history_type WHEN '+' THEN 'created' WHEN '-' THEN 'deleted' ELSE "
        + (
            "CASE WHEN h.entered_in_error AND NOT coalesce(p.entered_in_error, false) "
            "THEN 'entered in error' ELSE 'changed' END"
            if has_error_flag
            else "'changed'"
        )
        + " END"
    )
    pair = _generic_pair(model)
    ct_column = f'"{model._meta.get_field(pair[0]).column}"' if pair else None
    values = []
    for n, f in enumerate(fields):
        column = f'"{f.column}"'
        new, old = f"h.{column}", f"p.{column}"
        generic = pair is not None and f.name == pair[1]
        new_ct = f"h.{ct_column}" if generic else None
        old_ct = f"p.{ct_column}" if generic else None
        changed = (
            f"CASE h.history_type WHEN '+' THEN NOT {_empty(f, new)} "
            f"WHEN '~' THEN {old} IS DISTINCT FROM {new} ELSE true END"
        )
        old_text = (
            f"CASE h.history_type WHEN '-' THEN {_display(f, new, new_ct)} WHEN '+' THEN '' "
            f"ELSE {_display(f, old, old_ct)} END"
        )
        new_text = f"CASE h.history_type WHEN '-' THEN '' ELSE {_display(f, new, new_ct)} END"
        values.append(f"({n}, {_literal(field_label(f))}, {old_text}, {new_text}, {changed})")
    model_ct = str(ContentType.objects.get_for_model(model).pk)
    record = _name_lookup(model_ct, "h.id", _literal(f"{source.form} ({UNNAMED})"))
    subject = "coalesce(h._subject::text, '')" if source.subject_id_path else "''"
    site = "coalesce(h._site::text, '')" if source.site_id_path else "''"
    form = _literal(source.form)
    sql = f"""
        SELECT {index} AS s, h.history_id AS hid, h.history_date AS at, h.history_user_id AS uid,
               {subject} AS subject, {site} AS site, {form} AS form,
               {record} AS record,
               coalesce(v.n, -1) AS n, coalesce(v.field, '') AS field,
               coalesce(v.old, '') AS old, coalesce(v.new, '') AS new,
               coalesce(h.history_change_reason, '') AS reason, {kind} AS kind
        FROM ({inner_sql}) AS h
        LEFT JOIN "{table}" AS p ON p.history_id = h._prev
        LEFT JOIN LATERAL (
            SELECT * FROM (VALUES {", ".join(values)}) AS x(n, field, old, new, changed)
            WHERE x.changed
        ) AS v ON true
    """
    return sql, list(params)


def _roles_sql() -> str:
    labels = " ".join(
        f"WHEN {_literal(code)} THEN {_literal(label)}" for code, label in Role.choices
    )
    label = (
        f"(CASE m.role {labels} ELSE m.role END) || ' (' || "
        "CASE WHEN m.site_id IS NULL THEN 'all sites' ELSE 'site ' || st.number::text END || ')'"
    )
    return (
        f"SELECT m.user_id, string_agg({label}, ', ' ORDER BY {label} COLLATE \"C\") AS txt "
        "FROM crf_membership m LEFT JOIN crf_site st ON st.id = m.site_id GROUP BY m.user_id"
    )


def _names_fill(trail: AuditTrail) -> None:
    """NAMES_TABLE, a temporary table of this connection, filled with the name of every record
    the trail's rows name (the records changed, the records their references and generic
    pointers point at), by the review's own function (record_names): the export and the review
    name a record in the same words."""
    wanted: dict[type[models.Model], set[int]] = {}
    generic: dict[int, set[int]] = {}
    for source, qs in trail._querysets:
        qs = qs.order_by()
        wanted.setdefault(source.model, set()).update(qs.values_list("id", flat=True).distinct())
        for f in source.model._meta.concrete_fields:
            if f.is_relation and f.many_to_one and f.name not in BOOKKEEPING_FIELDS:
                if f.related_model._meta.label not in REFERENCE_LABELS:
                    values = qs.exclude(**{f"{f.attname}__isnull": True}).values_list(
                        f.attname, flat=True
                    )
                    wanted.setdefault(f.related_model, set()).update(values.distinct())
            if is_record_key_field(f):
                for key in qs.values_list(f.attname, flat=True).distinct():
                    model, pk = _keyed_record(key)
                    if pk is not None:
                        wanted.setdefault(model, set()).add(pk)
        pair = _generic_pair(source.model)
        if pair is not None:
            ct_attname = source.model._meta.get_field(pair[0]).attname
            pairs = (
                qs.exclude(**{f"{pair[1]}__isnull": True})
                .values_list(ct_attname, pair[1])
                .distinct()
            )
            for ct_id, object_id in pairs:
                if ct_id is not None:
                    generic.setdefault(ct_id, set()).add(object_id)
    kinds = [
        (ContentType.objects.get_for_model(model).pk, model, ids) for model, ids in wanted.items()
    ]
    for ct, ids in generic.items():
        model = ContentType.objects.get_for_id(ct).model_class()
        if model is not None:
            kinds.append((ct, model, ids))
    connection.ensure_connection()
    with connection.connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {NAMES_TABLE} "
            "(ct integer, id bigint, name text NOT NULL, PRIMARY KEY (ct, id))"
        )
        cursor.execute(f"TRUNCATE {NAMES_TABLE}")
        done: set[tuple[int, int]] = set()
        for ct, model, ids in kinds:
            ordered = sorted(ids)
            # A batch of records at a time: the export's memory stays flat however many
            # records the trail names.
            for start in range(0, len(ordered), _NAMES_BATCH):
                names = record_names(model, ordered[start : start + _NAMES_BATCH])
                with cursor.copy(f"COPY {NAMES_TABLE} (ct, id, name) FROM STDIN") as copy:
                    for pk, name in names.items():
                        if (ct, pk) not in done:
                            done.add((ct, pk))
                            copy.write_row((ct, pk, name))
        cursor.execute(f"ANALYZE {NAMES_TABLE}")


def audit_trail_sql(site_ids: frozenset[int] | None) -> str:
    """The complete query (parameters inlined) whose rows are audit_trail.csv. It reads the
    record names of a temporary table filled here (_names_fill): run it on this connection."""
    trail = AuditTrail(AuditScope(site_ids=site_ids, data_only=True))
    _names_fill(trail)
    parts, params = [], []
    for index, (source, qs) in enumerate(trail._querysets):
        sql, p = _source_sql(index, source, qs)
        parts.append(sql)
        params.extend(p)
    iso = _ISO_T.format(x="e.at", sep="T")
    query = f"""
        WITH roles AS ({_roles_sql()})
        SELECT {iso} AS time_utc,
               {_cell(_neutralised("coalesce(u.username, 'system')"))} AS user,
               {_cell(_neutralised("coalesce(r.txt, '')"))} AS user_roles,
               {_cell("e.subject")}, {_cell("e.site")}, e.form,
               {_cell(_neutralised("e.record"))}, {_cell(_neutralised("e.field"))},
               {_cell(_neutralised("e.old"))}, {_cell(_neutralised("e.new"))},
               {_cell(_neutralised("e.reason"))}, e.kind
        FROM ({" UNION ALL ".join(parts)}) AS e
        LEFT JOIN auth_user u ON u.id = e.uid
        LEFT JOIN roles r ON r.user_id = e.uid
        ORDER BY e.at DESC, e.s, e.hid DESC, e.n
    """
    import psycopg

    connection.ensure_connection()
    return psycopg.ClientCursor(connection.connection).mogrify(query, params)
