"""A subject's records: how each reaches its subject, and which page shows it.

Every model holding a subject's data either has a `subject` field or names, in its class
attribute `subject_parent`, the field of the record it belongs to (a lab value its panel, an MRD
result its sample, a dose change its infusion cycle). Every model says which page shows it with
`get_absolute_url()`. This module is the one reader of those two declarations: locks, queries,
SDV, signatures, alerts, the write pipeline and the importer all ask it.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from audit.services import write_guards_check

from .models import Subject


def subject_parent(model: type[models.Model]) -> str | None:
    """The field through which `model` belongs to its subject ("subject" or a parent record)."""
    if model is Subject:
        return None
    if any(f.name == "subject" for f in model._meta.concrete_fields):
        return "subject"
    return getattr(model, "subject_parent", None)


def subject_path(model: type[models.Model]) -> str | None:
    """The ORM path from `model` to its subject's primary key ("pk" for Subject itself), or
    None for a model that holds no subject's data."""
    if model is Subject:
        return "pk"
    parent = subject_parent(model)
    if parent is None:
        return None
    if parent == "subject":
        return "subject_id"
    above = subject_path(model._meta.get_field(parent).related_model)
    return f"{parent}__{above}" if above else None


def parent_of(record: models.Model) -> models.Model | None:
    """The record `record` belongs to (its panel, sample, cycle ...), None if it has a subject
    field itself."""
    parent = subject_parent(type(record))
    if parent in (None, "subject"):
        return None
    return getattr(record, parent)


def subject_of(record: models.Model) -> Subject:
    """The subject a record belongs to."""
    if isinstance(record, Subject):
        return record
    parent = subject_parent(type(record))
    if parent is None:
        raise TypeError(f"{type(record).__name__} does not belong to a subject")
    owner = getattr(record, parent)
    return owner if parent == "subject" else subject_of(owner)


def record_page_url(record: models.Model) -> str:
    """The page on which a record is shown (and, for forms, edited): the model's own
    get_absolute_url(), else its subject's casebook."""
    page = getattr(record, "get_absolute_url", None)
    if page is not None:
        return page()
    return subject_of(record).get_absolute_url()


def write_refusal(record: models.Model) -> str | None:
    """Why a write of `record` would be refused by audit's write guards (a lock of its site, its
    subject or the record: the lock's message, naming who locked it, when and why), or None.
    Pages ask it to offer no write action on locked data; for a new record of a subject pass
    an unsaved one (`LabPanel(subject=subject)`): it answers for the site and subject locks."""
    try:
        write_guards_check(record)
    except ValidationError as refused:
        return " ".join(refused.messages)
    return None
