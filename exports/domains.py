"""The study data as files: one CSV per domain, its columns, and how values are written.

Column names are the models' field names, so they are stable and documented once (README and
data_dictionary.csv). Records point at each other by their ``id``; a subject is named by its
pseudonymous study ID, a site by its number, a user by their username, a CTCAE term by its
MedDRA code. Values are written the same way on every export (ISO dates, UTC times, decimals as
stored, codes rather than labels), so that an unchanged study exports to identical bytes, and
import_study can read every file back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Case, F, Func, Value, When
from django.db.models.functions import Cast, Concat, NullIf

from audit.cells import FORMULA_REGEX

# (file name, model) in the order a study is loaded: every file refers only to files above it.
DOMAIN_FILES: tuple[tuple[str, str], ...] = (
    ("sites.csv", "crf.Site"),
    ("protocol_versions.csv", "crf.ProtocolVersion"),
    ("site_lab_ranges.csv", "safety.SiteLabRange"),
    ("screenings.csv", "crf.Screening"),
    ("subjects.csv", "crf.Subject"),
    ("baseline.csv", "crf.Baseline"),
    ("visits.csv", "crf.Visit"),
    ("treatment_courses.csv", "crf.TreatmentCourse"),
    ("drug_administrations.csv", "crf.DrugAdministration"),
    ("intrathecal_administrations.csv", "crf.IntrathecalAdministration"),
    ("day11_assessments.csv", "crf.Day11Assessment"),
    ("infusions.csv", "crf.BlinatumomabInfusion"),
    ("infusion_dose_changes.csv", "crf.InfusionDoseChange"),
    ("infusion_interruptions.csv", "crf.InfusionInterruption"),
    ("premedications.csv", "crf.Premedication"),
    ("lab_panels.csv", "safety.LabPanel"),
    ("lab_values.csv", "safety.LabValue"),
    ("adverse_events.csv", "safety.AdverseEvent"),
    ("adverse_event_lab_links.csv", "safety.AdverseEventLabLink"),
    ("adverse_event_interruption_links.csv", "safety.AdverseEventInterruptionLink"),
    ("sae_follow_ups.csv", "safety.SaeFollowUp"),
    ("mrd_samples.csv", "mrd.MrdSample"),
    ("mrd_results.csv", "mrd.MrdResult"),
    ("responses.csv", "crf.ResponseAssessment"),
    ("mrd_triggered_blinatumomab.csv", "crf.MrdTriggeredBlinatumomab"),
    ("salvage_therapies.csv", "crf.SalvageTherapy"),
    ("transplants.csv", "crf.Transplant"),
    ("relapses.csv", "crf.Relapse"),
    ("second_malignancies.csv", "crf.SecondMalignancy"),
    ("deaths.csv", "crf.Death"),
    ("end_of_study.csv", "crf.EndOfStudy"),
    ("follow_up_contacts.csv", "crf.FollowUpContact"),
    ("alerts.csv", "alerts.Alert"),
    ("protocol_decisions.csv", "alerts.ProtocolDecision"),
    ("queries.csv", "monitoring.Query"),
)
AUDIT_TRAIL_FILE = "audit_trail.csv"
DICTIONARY_FILE = "data_dictionary.csv"

# Bookkeeping every audited record has; its story (who, when, why) is in audit_trail.csv.
_BOOKKEEPING = {"version", "created_at", "updated_at", "created_by", "updated_by"}
# How a reference to these models is written: by the natural key people know them by.
_NATURAL_KEYS = {
    "crf.Site": "number",
    "crf.Subject": "study_id",
    "crf.ProtocolVersion": "number",
    "safety.CtcaeTerm": "meddra_code",
    "contenttypes.ContentType": "model",
}
_UNIT = re.compile(r"\(([^()]*)\)\s*$")


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header
    path: str  # the ORM path read with values_list
    field: models.Field
    kind: str  # integer, decimal, text, code, date, datetime, boolean, reference, list
    label: str
    unit: str
    codes: tuple[tuple[str, str], ...]
    target: str = ""  # for references: the file (or "users") the value points into

    @property
    def free_text(self) -> bool:
        return self.kind == "text"


@dataclass(frozen=True)
class Domain:
    file: str
    model: type[models.Model]
    columns: tuple[Column, ...]
    site_path: str | None  # ORM path to the site's id; None: the same for every site

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


def _kind(f: models.Field) -> str:
    if f.choices:
        return "code"
    if isinstance(f, models.BooleanField):
        return "boolean"
    if isinstance(f, models.DateTimeField):
        return "datetime"
    if isinstance(f, models.DateField):
        return "date"
    if isinstance(f, models.DecimalField | models.FloatField):
        return "decimal"
    if isinstance(f, models.IntegerField | models.AutoField | models.BigAutoField):
        return "integer"
    if isinstance(f, models.JSONField) or f.get_internal_type() == "ArrayField":
        return "list"
    return "text"


def _label_and_unit(f: models.Field) -> tuple[str, str]:
    label = str(f.verbose_name)
    match = _UNIT.search(label)
    unit = match.group(1) if match else ""
    return label, unit


def _file_of(label: str) -> str:
    return next((file for file, model in DOMAIN_FILES if model == label), "")


def _column(f: models.Field) -> Column:
    label, unit = _label_and_unit(f)
    codes = tuple((str(k), str(v)) for k, v in f.flatchoices) if f.choices else ()
    if f.is_relation:
        target = f.related_model
        target_label = target._meta.label
        if target is get_user_model():
            return Column(f.name, f"{f.name}__username", f, "reference", label, "", (), "users")
        if target_label in _NATURAL_KEYS:
            key = _NATURAL_KEYS[target_label]
            file = _file_of(target_label) or target_label
            if target_label == "safety.CtcaeTerm":
                file = "CTCAE v5.0 (MedDRA code)"
            return Column(f.name, f"{f.name}__{key}", f, "reference", label, "", (), file)
        file = _file_of(target_label) or target_label
        return Column(f.attname, f.attname, f, "reference", label, "", (), file)
    return Column(f.name, f.attname, f, _kind(f), label, unit, codes)


def _site_path(model: type[models.Model]) -> str | None:
    names = {f.name for f in model._meta.concrete_fields}
    label = model._meta.label
    if label == "crf.Site":
        return "id"
    if label == "crf.ProtocolVersion":
        return None
    if "site" in names:
        return "site_id"
    if "subject" in names:
        return "subject__site_id"
    for parent in ("course", "infusion", "panel", "adverse_event", "sample"):
        if parent in names:
            parent_model = model._meta.get_field(parent).related_model
            return f"{parent}__{_site_path(parent_model)}"
    raise LookupError(f"{label}: no way to its site")


@cache
def domains() -> tuple[Domain, ...]:
    out = []
    for file, label in DOMAIN_FILES:
        model = apps.get_model(label)
        columns = tuple(
            _column(f) for f in model._meta.concrete_fields if f.name not in _BOOKKEEPING
        )
        out.append(Domain(file, model, columns, _site_path(model)))
    return tuple(out)


def domain_query(domain: Domain, site_ids: frozenset[int] | None) -> models.QuerySet:
    """The domain's rows as PostgreSQL formats them for the file, ordered by id.

    Each cell is formatted in SQL (ISO dates, UTC times, true/false, free text neutralised
    against spreadsheet formulas), so that COPY can stream the file at the database's own
    speed; audit.cells.text_cell is the same rule in Python, for the files written row by row."""
    qs = domain.model._default_manager.all()
    if site_ids is not None and domain.site_path is not None:
        qs = qs.filter(**{f"{domain.site_path}__in": site_ids})
    cells = {f"c{n}": _sql_cell(column) for n, column in enumerate(domain.columns)}
    return qs.order_by("pk").annotate(**cells).values_list(*cells)


def domain_copy_sql(domain: Domain, site_ids: frozenset[int] | None) -> tuple[str, tuple]:
    sql, params = domain_query(domain, site_ids).query.sql_with_params()
    return sql, params


def domain_count(domain: Domain, site_ids: frozenset[int] | None) -> int:
    qs = domain.model._default_manager.all()
    if site_ids is not None and domain.site_path is not None:
        qs = qs.filter(**{f"{domain.site_path}__in": site_ids})
    return qs.count()


def _sql_cell(column: Column):
    value = F(column.path)
    if column.kind == "boolean":
        return Case(
            When(**{column.path: True}, then=Value("true")),
            When(**{column.path: False}, then=Value("false")),
            output_field=models.TextField(),
        )
    if column.kind == "date":
        return Func(value, Value("YYYY-MM-DD"), function="to_char", output_field=models.TextField())
    if column.kind == "datetime":
        return Func(value, template=_UTC_ISO, output_field=models.TextField())
    if column.kind == "list":
        if column.field.get_internal_type() == "ArrayField":
            return Func(
                value, Value("|"), function="array_to_string", output_field=models.TextField()
            )
        return Cast(value, models.TextField())
    if column.kind == "text":
        text = NullIf(Cast(value, models.TextField()), Value(""), output_field=models.TextField())
        return Case(
            When(
                **{f"{column.path}__regex": FORMULA_REGEX},
                then=Concat(Value("'"), text, output_field=models.TextField()),
            ),
            default=text,
            output_field=models.TextField(),
        )
    if column.kind == "code":
        return NullIf(Cast(value, models.TextField()), Value(""), output_field=models.TextField())
    return Cast(value, models.TextField())


# ISO 8601 in UTC, as Python's isoformat writes it (microseconds only when there are some).
_UTC_ISO = (
    "(CASE WHEN mod(date_part('microseconds', %(expressions)s)::bigint, 1000000) = 0 "
    "THEN to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "ELSE to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') "
    "END || '+00:00')"
)


# --- Writing values -----------------------------------------------------------------------------


def dictionary_rows():
    """data_dictionary.csv: file, column, label, type, unit, allowed codes with their labels."""
    yield ["file", "column", "label", "type", "unit", "codes", "refers_to"]
    for domain in domains():
        for c in domain.columns:
            codes = "; ".join(f"{code}={label}" for code, label in c.codes)
            yield [domain.file, c.name, c.label, c.kind, c.unit, codes, c.target]
    from .audit_file import AUDIT_COLUMNS

    for name, label in AUDIT_COLUMNS:
        yield [AUDIT_TRAIL_FILE, name, label, "text", "", "", ""]


def content_type_models() -> dict[str, ContentType]:
    return {ct.model: ct for ct in ContentType.objects.all()}
