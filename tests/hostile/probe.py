"""Sending one hostile POST and judging what came back, each inside a savepoint rolled back
afterwards, so that one arranged world serves every value of the corpus.

What a probe asserts (the issue's "proof under hostile input"):
- never a 500;
- a refusal (any status but a redirect) writes nothing: no row in any table of the trial apps;
- an acceptance (redirect) of text stores it exactly (Django strips outer whitespace) and of
  numbers never stores NaN or an infinity; it redirects to this host only;
- markup is never reflected or shown unescaped, on the refusing form or on the pages that
  show the stored value later.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.apps import apps
from django.db import connection, transaction

from tests.audit.routes import Submission, history_models

from . import corpus

TRIAL_APPS = {"crf", "mrd", "safety", "alerts", "monitoring", "exports", "audit"}


class _Rollback(Exception):
    pass


@contextmanager
def rolled_back():
    """Run the block in a savepoint and undo everything it wrote."""
    try:
        with transaction.atomic():
            yield
            raise _Rollback
    except _Rollback:
        pass


def trial_tables() -> list[str]:
    return sorted(
        m._meta.db_table
        for m in apps.get_models()
        if m._meta.app_label in TRIAL_APPS and m._meta.managed and not m._meta.proxy
    )


def table_counts(tables: Iterable[str] | None = None) -> dict[str, int]:
    """Rows of every table of the trial apps (history tables included), in one query."""
    tables = list(tables or trial_tables())
    sql = "SELECT " + ", ".join(f'(SELECT count(*) FROM "{t}")' for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables, cursor.fetchone(), strict=True))


def changed_tables(before: dict[str, int]) -> dict[str, int]:
    after = table_counts(before)
    return {t: after[t] - before[t] for t in before if after[t] != before[t]}


def history_high_water() -> dict[type, int]:
    tables = {m._meta.db_table: m for m in history_models()}
    sql = "SELECT " + ", ".join(f'(SELECT coalesce(max(history_id), 0) FROM "{t}")' for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return dict(zip(tables.values(), cursor.fetchone(), strict=True))


def history_rows_since(marks: dict[type, int]) -> list:
    rows = []
    for model, mark in marks.items():
        rows.extend(model.objects.filter(history_id__gt=mark))
    return rows


# --- Field kinds -------------------------------------------------------------------------------


def forms_in(context) -> list[forms.BaseForm]:
    """Every form a page was rendered with (forms in dicts and lists included)."""
    if context is None:
        return []
    contexts = context if isinstance(context, list) else [context]
    found: list[forms.BaseForm] = []
    for ctx in contexts:
        for value in ctx.flatten().values():
            values = value.values() if isinstance(value, dict) else [value]
            for item in values:
                if isinstance(item, forms.BaseForm) and item not in found:
                    found.append(item)
    return found


def kind_of(form_field: forms.Field) -> str:
    from crf.forms.records import MrdValueField as CrfMrdValueField
    from mrd.forms import MrdValueField

    if isinstance(form_field, MrdValueField | CrfMrdValueField):
        return "number"
    if isinstance(
        form_field,
        forms.ChoiceField | forms.ModelChoiceField | forms.BooleanField | forms.FileField,
    ):
        return "choice"
    if isinstance(form_field, forms.DateTimeField):
        return "datetime"
    if isinstance(form_field, forms.DateField):
        return "date"
    if isinstance(form_field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        return "number"
    return "text"


def _kind_by_value(value: str) -> str:
    import re

    if re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d", value):
        return "datetime"
    if re.fullmatch(r"\d{4}-\d\d-\d\d", value):
        return "date"
    if re.fullmatch(r"[+-]?[\d.,]+(E[+-]?\d+)?", value, re.IGNORECASE):
        return "number"
    if value in {"on", "True", "False"}:
        return "choice"
    return "text"


def field_kinds(client, submission: Submission) -> dict[str, str]:
    """The kind of each posted field, from the form the page renders (GET), else its value."""
    response = client.get(submission.url)
    by_form = {}
    for form in forms_in(getattr(response, "context", None)):
        for name, form_field in form.fields.items():
            by_form.setdefault(form.add_prefix(name), kind_of(form_field))
    return {
        name: by_form.get(name) or _kind_by_value(str(value))
        for name, value in submission.data.items()
    }


CORPUS_BY_KIND = {
    "text": corpus.TEXT,
    "number": corpus.NUMBERS,
    "date": corpus.DATES,
    "datetime": corpus.DATETIMES,
    "choice": corpus.CHOICES,
}


# --- One probe ---------------------------------------------------------------------------------


@dataclass
class Probe:
    """Pages that show stored values, for the escaping check after an acceptance."""

    pages: list[str] = field(default_factory=list)
    # Fields whose accepted text is legitimately not stored (ignored by the view in this case).
    not_stored: frozenset[str] = frozenset()
    # Run before each POST (in its savepoint), e.g. to log in again after a password change.
    before_each: Callable[[], None] | None = None


def _strings_of(history_row) -> list[str]:
    values = [history_row.history_change_reason or ""]
    for f in history_row._meta.concrete_fields:
        value = getattr(history_row, f.attname, None)
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, list):
            values.extend(str(v) for v in value)
    return values


def _non_finite(history_row) -> list[str]:
    bad = []
    for f in history_row._meta.concrete_fields:
        value = getattr(history_row, f.attname, None)
        if isinstance(value, Decimal) and not value.is_finite():
            bad.append(f"{f.name}={value}")
        elif isinstance(value, float) and not math.isfinite(value):
            bad.append(f"{f.name}={value}")
    return bad


def post_hostile(
    client, submission: Submission, name: str, value: str, kind: str, probe: Probe
) -> list[str]:
    """Post the submission with `name` set to `value`; the problems found (empty: all good)."""
    data = {**submission.data, name: value}
    hostile = Submission(submission.url, data, multipart_file=submission.multipart_file)
    problems: list[str] = []
    where = f"{name}={corpus.short(value)}"
    with rolled_back():
        if probe.before_each is not None:
            probe.before_each()
        before = table_counts()
        marks = history_high_water()
        response = hostile.post(client)
        status = response.status_code
        if status >= 500:
            return [f"{where}: status {status}"]
        html = response.content.decode(errors="replace")
        if status in (301, 302, 303):
            location = response["Location"]
            if not location.startswith("/") or location.startswith("//"):
                problems.append(f"{where}: redirects off the site to {location!r}")
            rows = history_rows_since(marks)
            problems += _accepted_problems(client, where, rows, name, value, kind, probe, location)
        else:
            changed = changed_tables(before)
            if changed:
                problems.append(f"{where}: status {status} but rows written: {changed}")
        if value in corpus.MARKUP and value in html:
            problems.append(f"{where}: reflected unescaped (status {status})")
    return problems


def _accepted_problems(
    client, where, rows, name, value, kind, probe: Probe, location: str
) -> list[str]:
    problems = []
    for row in rows:
        if bad := _non_finite(row):
            problems.append(f"{where}: stored a non-finite number {bad}")
    expected = value.strip()
    if kind == "text" and rows and expected and name not in probe.not_stored:
        stored = [s for row in rows for s in _strings_of(row)]
        if not any(s == expected or expected in s for s in stored):
            problems.append(f"{where}: accepted but not stored exactly")
    if value in corpus.MARKUP and rows and kind == "text":
        shown = False
        for url in [*probe.pages, location]:
            page = client.get(url)
            html = page.content.decode(errors="replace")
            if page.status_code >= 500:
                problems.append(f"{where}: {url} answers {page.status_code} after the save")
            if value in html:
                problems.append(f"{where}: shown unescaped on {url}")
            shown = shown or corpus.escaped(value) in html
        if not shown and name not in probe.not_stored:
            problems.append(f"{where}: stored, but shown escaped on none of {probe.pages}")
    return problems


# For a form already fuzzed in full through another case (its new/edit twin, say): the values
# that broke something once, one or two per kind.
SMOKE_BY_KIND = {
    "text": (corpus.XSS_SCRIPT, corpus.NUL, corpus.HUGE_TEXT),
    "number": (corpus.SNAN, corpus.OVERFLOW, corpus.MINUS_ZERO),
    "date": (corpus.YEAR_ONE, corpus.LAST_DAY),
    "datetime": ("0001-01-01T00:00", "9999-12-31T23:59"),
    "choice": (corpus.XSS_SCRIPT, corpus.NUL),
}
# For secrets (passwords): every value costs a password hash.
SECRET_CORPUS = (corpus.NUL, corpus.HUGE_TEXT, corpus.XSS_SCRIPT, corpus.SQL_DROP, "")


def fuzz(
    client,
    submission: Submission,
    probe: Probe,
    *,
    smoke: bool = False,
    secrets: Iterable[str] = (),
) -> list[str]:
    """Every field of the submission with values of its kind's corpus: the whole corpus on the
    first field of each kind, the values that broke something once on the others (`smoke`:
    those on every field). Keeps the suite to minutes while every kind meets every value."""
    kinds = field_kinds(client, submission)
    problems = []
    fuzzed_in_full: set[str] = set()
    for name in submission.data:
        kind = kinds[name]
        in_full = not smoke and kind not in fuzzed_in_full
        fuzzed_in_full.add(kind)
        values = (CORPUS_BY_KIND if in_full else SMOKE_BY_KIND)[kind]
        if name in secrets:
            values = SECRET_CORPUS
        for value in values:
            problems += post_hostile(client, submission, name, value, kind, probe)
    return problems
