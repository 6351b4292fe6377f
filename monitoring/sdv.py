"""Source data verification: a monitor's mark that a record (or some of its fields) matches the
source documents, bound to the content by a hash so that any later change voids it.

A mark is valid while it is not withdrawn and the record's current content (of the marked
fields, or all of it) hashes to the stored value. A record counts as verified for progress when
a valid whole-record mark exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.db.models import Count, F, IntegerField, Value
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.text import capfirst

from audit.services import audited_save
from crf.access import Capability, user_can
from crf.models import Subject
from crf.records import subject_of
from crf.records import subject_path as _subject_path

from .models import Query, SourceVerification
from .records import clinical_models, content_fields, is_clinical, record_hash, record_title


def record_verify(
    *, record: models.Model, user, fields: Iterable[str] | None = None
) -> SourceVerification:
    """Mark a clinical record (or the named fields of it) as verified against the source."""
    model = type(record)
    if not is_clinical(model) or record.pk is None:
        raise ValidationError("Only saved clinical records are verified.")
    subject = subject_of(record)
    if not user_can(user, Capability.VERIFY_SOURCE_DATA, subject.site):
        raise PermissionDenied("Only the study's monitors verify source data.")
    names = [f.name for f in content_fields(model)]
    chosen = sorted(set(fields or ()))
    unknown = [n for n in chosen if n not in names]
    if unknown:
        raise ValidationError(
            {"fields": f"{capfirst(record._meta.verbose_name)} has no field {unknown[0]}."}
        )
    if set(chosen) == set(names):
        chosen = []  # every field: the whole record
    blocking = unresolved_queries_on(record, chosen)
    if blocking:
        raise ValidationError([_query_refusal(q) for q in blocking])
    # Hash what is stored, as every later reading will (an unsaved instance may hold 81 for 81.0).
    record = model.objects.get(pk=record.pk)
    return audited_save(
        SourceVerification(
            subject=subject,
            content_type=ContentType.objects.get_for_model(model),
            object_id=record.pk,
            fields=chosen,
            content_hash=record_hash(record, chosen or None),
            record_version=record.version,
            verified_by=user,
        ),
        user=user,
    )


def unresolved_queries_on(record: models.Model, fields: Iterable[str] = ()) -> list[Query]:
    """The queries still waiting (open, or answered and not closed) on the record as a whole or
    on the named fields (every field when none is named): a mark cannot be given over them."""
    queries = Query.objects.filter(
        content_type=ContentType.objects.get_for_model(type(record)),
        object_id=record.pk,
        status__in=(Query.Status.OPEN, Query.Status.ANSWERED),
    )
    if fields:
        queries = queries.filter(field_name__in=["", *fields])
    return list(queries.select_related("opened_by").order_by("opened_at", "id"))


def _query_refusal(query: Query) -> str:
    what = query.field_label or "The record as a whole"
    state = "an open" if query.status == Query.Status.OPEN else "an answered, not yet closed,"
    raised = timezone.localdate(query.opened_at).isoformat()
    who = query.opened_by.get_username() if query.opened_by else "the edit checks"
    return (
        f"{what} has {state} query (#{query.pk}, raised {raised} by {who}: "
        f"\u201c{query.text}\u201d): resolve it before verifying."
    )


def verification_withdraw(*, verification: SourceVerification, user, reason: str):
    """Withdraw a mark given by mistake (a change of the record does not need this)."""
    if not user_can(user, Capability.VERIFY_SOURCE_DATA, verification.subject.site):
        raise PermissionDenied("Only the study's monitors withdraw verifications.")
    if verification.withdrawn:
        raise ValidationError("This verification is already withdrawn.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the verification is withdrawn."})
    verification.withdrawn = True
    return audited_save(verification, user=user, reason=f"verification withdrawn: {reason}")


# --- Selectors ------------------------------------------------------------------------------


def mark_is_valid(mark: SourceVerification, record: models.Model | None) -> bool:
    """`record` as stored. Every save of a clinical record raises its version (audited_save), so
    a record still at the version it was verified at holds the content the mark hashed; only a
    changed version is hashed again (a change undone later makes the mark good again)."""
    if record is None or mark.withdrawn:
        return False
    if record.version == mark.record_version:
        return True
    return record_hash(record, mark.fields or None) == mark.content_hash


@dataclass
class RecordSdv:
    """The SDV state of one record: whole record verified, fields verified, stale marks."""

    record: models.Model
    marks: list[SourceVerification] = field(default_factory=list)
    valid: list[SourceVerification] = field(default_factory=list)
    stale: list[SourceVerification] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return any(not m.fields for m in self.valid)

    @property
    def verified_fields(self) -> set[str]:
        if self.verified:
            return {f.name for f in content_fields(type(self.record))}
        return {name for m in self.valid for name in m.fields}

    @property
    def changed_after_verification(self) -> list[SourceVerification]:
        """Stale marks not made good by a later valid mark covering the same fields."""
        return [m for m in self.stale if not _superseded(m, self.valid)]


def _superseded(mark: SourceVerification, valid: list[SourceVerification]) -> bool:
    return any(
        v.verified_at >= mark.verified_at and (not v.fields or set(mark.fields) <= set(v.fields))
        for v in valid
    )


def record_sdv(record: models.Model) -> RecordSdv:
    content_type = ContentType.objects.get_for_model(type(record))
    marks = list(
        SourceVerification.objects.filter(
            content_type=content_type, object_id=record.pk, withdrawn=False
        ).select_related("verified_by")
    )
    return _state(record, marks)


def _state(record, marks: list[SourceVerification]) -> RecordSdv:
    state = RecordSdv(record=record, marks=marks)
    for mark in marks:
        (state.valid if mark_is_valid(mark, record) else state.stale).append(mark)
    return state


def _marked_records(marks: list[SourceVerification]) -> dict[tuple[int, int], models.Model]:
    """The records the marks point at, one query per kind of record."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for mark in marks:
        wanted[mark.content_type_id].add(mark.object_id)
    found = {}
    for ct_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        for record in model.objects.filter(pk__in=ids):
            found[(ct_id, record.pk)] = record
    return found


def marks_by_record(subject_ids: Iterable[int]) -> dict[tuple[int, int], RecordSdv]:
    """The SDV state of every record with a (non-withdrawn) mark among these subjects."""
    marks = list(
        SourceVerification.objects.filter(subject_id__in=list(subject_ids), withdrawn=False)
        .select_related("verified_by", "subject", "content_type")
        .order_by("verified_at", "id")
    )
    records = _marked_records(marks)
    grouped: dict[tuple[int, int], list[SourceVerification]] = defaultdict(list)
    for mark in marks:
        grouped[(mark.content_type_id, mark.object_id)].append(mark)
    return {
        key: _state(records.get(key), group)
        for key, group in grouped.items()
        if records.get(key) is not None
    }


def record_pointers(subject_ids: Iterable[int]) -> list[tuple[int, int, int]]:
    """(content type id, record id, subject id) of every clinical record of these subjects not
    entered in error: one query, whatever the number of kinds of record."""
    ids = list(subject_ids)
    parts = []
    for model in clinical_models():
        path = _subject_path(model)
        ct_id = ContentType.objects.get_for_model(model).pk
        qs = model.objects.filter(**{f"{path}__in": ids})
        if any(f.name == "entered_in_error" for f in model._meta.concrete_fields):
            qs = qs.filter(entered_in_error=False)
        parts.append(
            qs.order_by()
            .annotate(_ct=Value(ct_id, output_field=IntegerField()), _subject=F(path))
            .values_list("_ct", "pk", "_subject")
        )
    if not ids or not parts:
        return []
    first, *rest = parts
    return [tuple(row) for row in first.union(*rest, all=True)]


@dataclass(frozen=True)
class Progress:
    verified: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.verified / self.total) if self.total else 0

    def __add__(self, other: Progress) -> Progress:
        return Progress(self.verified + other.verified, self.total + other.total)


def sdv_progress(
    subject_ids: Iterable[int], states: dict[tuple[int, int], RecordSdv] | None = None
) -> dict[int, Progress]:
    """Per subject: clinical records verified with a still valid whole-record mark, of all."""
    ids = list(subject_ids)
    states = marks_by_record(ids) if states is None else states
    totals: dict[int, int] = defaultdict(int)
    verified: dict[int, int] = defaultdict(int)
    for ct_id, pk, subject_id in record_pointers(ids):
        totals[subject_id] += 1
        state = states.get((ct_id, pk))
        if state is not None and state.verified:
            verified[subject_id] += 1
    return {sid: Progress(verified[sid], totals[sid]) for sid in ids}


def site_progress(subjects: Iterable[Subject], progress: dict[int, Progress]) -> dict:
    """Progress per site (site -> Progress), from per-subject progress."""
    sites: dict = {}
    for subject in subjects:
        sites[subject.site] = sites.get(subject.site, Progress(0, 0)) + progress.get(
            subject.pk, Progress(0, 0)
        )
    return sites


@dataclass(frozen=True)
class ChangedMark:
    """A mark whose record changed after the verification and was not verified again."""

    mark: SourceVerification
    record: models.Model

    @property
    def title(self) -> str:
        return record_title(self.record)

    @property
    def field_labels(self) -> list[str]:
        return self.mark.field_labels

    @property
    def description(self) -> str:
        on = timezone.localtime(self.mark.verified_at)
        return f"changed after verification on {on:%Y-%m-%d}, now version {self.record.version}"


def changed_after_verification(
    states: dict[tuple[int, int], RecordSdv],
) -> list[ChangedMark]:
    rows = [
        ChangedMark(mark, state.record)
        for state in states.values()
        for mark in state.changed_after_verification
    ]
    rows.sort(key=lambda r: r.mark.verified_at, reverse=True)
    return rows


@dataclass
class SdvSummary:
    """SDV across many subjects: progress per subject, and the marks to verify again."""

    progress: dict[int, Progress]
    changed: list[ChangedMark]


# Stands for the subject ids in the compiled counting query; replaced by them at each call.
_SUBJECTS_PARAM = [-1]


@cache
def _record_counts_sql() -> tuple[str, tuple]:
    """The query counting clinical records not entered in error per subject, compiled once per
    process (composing it from every kind of record costs more than running it): the subject
    ids are one array parameter."""
    scope = RawSQL("SELECT unnest(%s::bigint[])", (_SUBJECTS_PARAM,))
    parts = []
    for model in clinical_models():
        path = _subject_path(model)
        qs = model.objects.filter(**{f"{path}__in": scope})
        if any(f.name == "entered_in_error" for f in model._meta.concrete_fields):
            qs = qs.filter(entered_in_error=False)
        parts.append(
            qs.order_by()
            .values(_subject=F(path))
            .annotate(n=Count("pk"))
            .values_list("_subject", "n")
        )
    first, *rest = parts
    sql, params = first.union(*rest, all=True).query.sql_with_params()
    # Summed in the database: a row per subject, not per subject and kind of record. The SQL is
    # the ORM's own compiled query, its values passed as parameters.
    return f"SELECT s, SUM(n) FROM ({sql}) AS u(s, n) GROUP BY s", tuple(params)  # noqa: S608


def _record_counts(subject_ids: list[int]) -> dict[int, int]:
    """Clinical records not entered in error, per subject: one query of counts (not of rows)."""
    if not subject_ids:
        return {}
    sql, template = _record_counts_sql()
    params = [subject_ids if p == _SUBJECTS_PARAM else p for p in template]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {subject_id: int(n) for subject_id, n in cursor.fetchall()}


def _current_versions(keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], tuple[int, bool]]:
    """(content type, id) -> (the record's version now, whether it counts: not entered in
    error); one query of two columns per kind of record. A deleted record is absent."""
    wanted: dict[int, set[int]] = defaultdict(set)
    for ct_id, pk in keys:
        wanted[ct_id].add(pk)
    found = {}
    for ct_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        has_error_flag = any(f.name == "entered_in_error" for f in model._meta.concrete_fields)
        columns = ("pk", "version", "entered_in_error") if has_error_flag else ("pk", "version")
        for pk, version, *in_error in model.objects.filter(pk__in=ids).values_list(*columns):
            found[(ct_id, pk)] = (version, not (in_error and in_error[0]))
    return found


def sdv_summary(subject_ids: Iterable[int]) -> SdvSummary:
    """What sdv_progress and changed_after_verification(marks_by_record(...)) give for these
    subjects, without reading every marked record: a record still at the version of all its
    marks is as verified (mark_is_valid); only records changed since a mark are read and hashed."""
    ids = list(subject_ids)
    totals = _record_counts(ids)
    grouped: dict[tuple[int, int], list[SourceVerification]] = defaultdict(list)
    for mark in (
        SourceVerification.objects.filter(
            subject__in=RawSQL("SELECT unnest(%s::bigint[])", (ids,)), withdrawn=False
        )
        .select_related("verified_by", "subject", "content_type")
        .order_by("verified_at", "id")
    ):
        grouped[(mark.content_type_id, mark.object_id)].append(mark)
    current = _current_versions(grouped)
    changed_keys = [
        key
        for key, marks in grouped.items()
        if key in current and any(m.record_version != current[key][0] for m in marks)
    ]
    records = _marked_records([grouped[key][0] for key in changed_keys])
    verified: dict[int, int] = defaultdict(int)
    changed: list[ChangedMark] = []
    for key, marks in grouped.items():
        if key not in current:
            continue
        if key in records:
            state = _state(records[key], marks)
            whole = state.verified
            changed.extend(ChangedMark(m, state.record) for m in state.changed_after_verification)
        else:
            whole = any(not m.fields for m in marks)
        if whole and current[key][1]:
            verified[marks[0].subject_id] += 1
    changed.sort(key=lambda r: r.mark.verified_at, reverse=True)
    return SdvSummary(
        progress={sid: Progress(verified[sid], totals.get(sid, 0)) for sid in ids},
        changed=changed,
    )
