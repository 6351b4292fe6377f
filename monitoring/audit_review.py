"""The audit trail of a subject as people read it: one row per changed field, newest first.

Every history table that holds the subject's data is read once (a bounded number of queries
whatever the number of rows); each history row is compared with the previous version of the
same record to list the fields it changed, from which value to which, by whom and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.apps import apps
from django.db import models
from django.db.models import Q

from crf.models import Membership, Screening, Subject

# Fields every audited record has that say nothing about its content.
_BOOKKEEPING = {"version", "created_at", "updated_at", "created_by", "updated_by", "id"}
# How a record that has no subject field reaches its subject: the parent field and its model.
_PARENTS = {
    "course": "crf.TreatmentCourse",
    "infusion": "crf.BlinatumomabInfusion",
    "panel": "safety.LabPanel",
    "adverse_event": "safety.AdverseEvent",
    "sample": "mrd.MrdSample",
}


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    user: str
    user_roles: str
    form: str  # the record's kind, e.g. "Baseline"
    record: str
    field: str
    old: str
    new: str
    reason: str
    kind: str  # created, changed, deleted


def _audited_models() -> list[type[models.Model]]:
    return [
        m
        for m in apps.get_models()
        if hasattr(m, "history")
        and m._meta.app_label in {"crf", "mrd", "safety", "alerts"}
        and m._meta.label not in {"crf.Site", "crf.Membership", "crf.ProtocolVersion"}
    ]


def _subject_filter(model, subject: Subject, parent_ids: dict[str, list[int]]) -> Q | None:
    names = {f.name for f in model._meta.concrete_fields}
    if model is Subject:
        return Q(id=subject.pk)
    if model is Screening:
        return Q(id=subject.screening_id) if subject.screening_id else None
    if "subject" in names:
        return Q(subject_id=subject.pk)
    for parent, label in _PARENTS.items():
        if parent in names:
            return Q(**{f"{parent}_id__in": parent_ids[label]})
    return None


def _display(field: models.Field, value) -> str:
    if value is None or value == "":
        return ""
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def subject_audit_rows(subject: Subject, *, form: str | None = None) -> list[AuditRow]:
    parent_ids = {
        label: list(
            apps.get_model(label).objects.filter(subject=subject).values_list("pk", flat=True)
        )
        for label in _PARENTS.values()
    }
    roles = _roles_at(subject)
    rows: list[AuditRow] = []
    for model in _audited_models():
        if form and model._meta.verbose_name.title() != form:
            continue
        condition = _subject_filter(model, subject, parent_ids)
        if condition is None:
            continue
        fields = [
            f
            for f in model._meta.concrete_fields
            if f.name not in _BOOKKEEPING and not f.name.startswith("history")
        ]
        previous: dict[int, models.Model] = {}
        history = (
            model.history.filter(condition)
            .select_related("history_user")
            .order_by("id", "history_id")
        )
        for entry in history:
            before = previous.get(entry.id)
            previous[entry.id] = entry
            rows.extend(_rows(model, entry, before, fields, roles))
    rows.sort(key=lambda r: r.at, reverse=True)
    return rows


def _roles_at(subject: Subject) -> dict[int, str]:
    roles: dict[int, list[str]] = {}
    for membership in Membership.objects.filter(
        Q(site=subject.site) | Q(site__isnull=True)
    ).select_related("site"):
        where = f"site {membership.site.number}" if membership.site else "all sites"
        roles.setdefault(membership.user_id, []).append(
            f"{membership.get_role_display()} ({where})"
        )
    return {user: ", ".join(sorted(names)) for user, names in roles.items()}


def _rows(model, entry, before, fields, roles) -> list[AuditRow]:
    kind = {"+": "created", "~": "changed", "-": "deleted"}[entry.history_type]
    user = entry.history_user.get_username() if entry.history_user else "system"
    common = dict(
        at=entry.history_date,
        user=user,
        user_roles=roles.get(entry.history_user_id, ""),
        form=model._meta.verbose_name.title(),
        record=f"{model._meta.verbose_name.title()} #{entry.id}",
        reason=entry.history_change_reason or "",
        kind=kind,
    )
    out = []
    for field in fields:
        new = getattr(entry, field.attname)
        old = getattr(before, field.attname) if before is not None else None
        if kind == "changed" and old == new:
            continue
        if kind == "created" and new in (None, ""):
            continue
        label = str(field.verbose_name)
        if kind == "deleted":
            out.append(AuditRow(field=label, old=_display(field, new), new="", **common))
        else:
            out.append(
                AuditRow(field=label, old=_display(field, old), new=_display(field, new), **common)
            )
    if not out and kind != "changed":
        out.append(AuditRow(field="", old="", new="", **common))
    return out
