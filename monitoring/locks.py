"""Locks: a data manager freezes a site, a subject or one record, and locked data refuses edits.

The refusal is a write guard of audit.services.audited_save (registered in MonitoringConfig), so
it holds on every route that writes: web forms, services, uploads and management commands.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import capfirst

from audit.clock import local_time_text
from audit.services import audited_save
from crf.access import Capability, sites_where, user_can
from crf.models import Site, Subject
from crf.records import record_name, records_named, subject_of, subject_parent, subject_path

from .models import Lock
from .records import is_clinical

# When several locks cover a record, the message names the widest one.
_LEVEL_ORDER = {Lock.Level.SITE: 0, Lock.Level.SUBJECT: 1, Lock.Level.FORM: 2}


class RecordLocked(ValidationError):
    """A write refused because the record, its subject or its site is locked."""

    def __init__(self, lock: Lock) -> None:
        self.lock = lock
        super().__init__(lock_message(lock), code="locked")


def lock_target(lock: Lock) -> str:
    """What a lock covers, as people name it: "Site 1 Prague", "Subject 1-01", "Baseline,
    subject 1-01" (the record's name in the trial's words, crf.records.record_name)."""
    if lock.level == Lock.Level.SITE:
        return f"Site {lock.site}"
    if lock.level == Lock.Level.SUBJECT:
        return f"Subject {lock.subject.study_id}"
    record = lock.record
    if record is None:
        model = ContentType.objects.get_for_id(lock.content_type_id).model_class()
        kind = capfirst(model._meta.verbose_name) if model else "Record"
        return f"{kind} of subject {lock.subject.study_id} (no longer recorded)"
    return record_name(record)


def lock_targets(locks: Sequence[Lock]) -> list[tuple[Lock, str]]:
    """Each lock with what it covers (lock_target), the locked records named in one query per
    kind of record."""
    wanted: dict[int, set[int]] = {}
    for lock in locks:
        if lock.level == Lock.Level.FORM:
            wanted.setdefault(lock.content_type_id, set()).add(lock.object_id)
    names: dict[tuple[int, int], str] = {}
    for ct_id, pks in wanted.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        if model is not None:
            for pk, name in records_named(model, pks, with_subject=True).items():
                names[(ct_id, pk)] = name
    return [
        (lock, names.get((lock.content_type_id, lock.object_id)) or lock_target(lock))
        for lock in locks
    ]


def lock_description(lock: Lock) -> str:
    """Who locked it, when (the site's time) and why: "locked by dm on 2026-11-25 15:02 CET:
    interim"."""
    at = local_time_text(lock.locked_at)
    return f"locked by {lock.locked_by.get_username()} on {at}: {lock.reason}"


def lock_message(lock: Lock) -> str:
    return (
        f"{lock_target(lock)} is locked ({lock_description(lock)}). "
        "Ask a data manager to unlock it before changing its data."
    )


# --- Which locks cover a record ---------------------------------------------------------------


def _content_type_id(model: type[models.Model]) -> int:
    return ContentType.objects.get_for_model(model).pk


def _targets(record: models.Model) -> tuple[object, object, list[tuple[int, int]]]:
    """(subject id, site id, [(content type id, object id) of the record and its parents]).

    Ids come from related objects already loaded, else as subqueries, so that the lock check is
    one query whatever was loaded.
    """
    model = type(record)
    pointers = [(_content_type_id(model), record.pk)] if record.pk is not None else []
    if isinstance(record, Subject):
        return record.pk, record.site_id, pointers
    parent = subject_parent(model)
    if parent is None:
        return None, None, pointers
    field = model._meta.get_field(parent)
    if parent == "subject":
        if field.is_cached(record):
            return record.subject_id, record.subject.site_id, pointers
        site = Subquery(Subject.objects.filter(pk=record.subject_id).values("site_id")[:1])
        return record.subject_id, site, pointers
    if field.is_cached(record):
        subject_id, site_id, above = _targets(getattr(record, parent))
        return subject_id, site_id, pointers + above
    parent_model, parent_id = field.related_model, getattr(record, field.attname)
    path = subject_path(parent_model)
    rows = parent_model.objects.filter(pk=parent_id)
    return (
        Subquery(rows.values(path)[:1]),
        Subquery(rows.values(path.removesuffix("_id") + "__site_id")[:1]),
        pointers + [(_content_type_id(parent_model), parent_id)],
    )


def _covering(subject_id, site_id, pointers) -> Q:
    q = Q(pk__in=[])
    if site_id is not None:
        q |= Q(level=Lock.Level.SITE, site_id=site_id)
    if subject_id is not None:
        q |= Q(level=Lock.Level.SUBJECT, subject_id=subject_id)
    for content_type_id, object_id in pointers:
        q |= Q(level=Lock.Level.FORM, content_type_id=content_type_id, object_id=object_id)
    return q


def _active() -> QuerySet[Lock]:
    return Lock.objects.filter(active=True).select_related("site", "subject", "locked_by")


def lock_refusing(record: models.Model) -> Lock | None:
    """The active lock that refuses a change of `record` (site, subject, record or its parent
    record), the widest first; None if it may be changed. One query, whatever was loaded."""
    subject_id, site_id, pointers = _targets(record)
    if isinstance(site_id, int):  # the site is known: its active locks, matched here
        return _widest(list(_active().filter(site_id=site_id)), subject_id, site_id, pointers)
    locks = list(_active().filter(_covering(subject_id, site_id, pointers)))
    return min(locks, key=lambda lock: _LEVEL_ORDER[lock.level], default=None)


def _widest(locks: list[Lock], subject_id, site_id, pointers) -> Lock | None:
    """The widest of `locks` that covers the target, or None."""
    covering = [
        lock
        for lock in locks
        if (lock.level == Lock.Level.SITE and lock.site_id == site_id)
        or (lock.level == Lock.Level.SUBJECT and lock.subject_id == subject_id)
        or (lock.level == Lock.Level.FORM and (lock.content_type_id, lock.object_id) in pointers)
    ]
    return min(covering, key=lambda lock: _LEVEL_ORDER[lock.level], default=None)


def lock_refusing_each(records: Sequence[models.Model]) -> list[Lock | None]:
    """lock_refusing for many records at once (an upload's rows, an import), in one query:
    the active locks of their sites, matched here."""
    targets = []
    for record in records:
        subject_of(record)  # loads the related objects, so that the targets are plain ids
        targets.append(_targets(record))
    sites = {site_id for _, site_id, _ in targets if site_id is not None}
    locks = list(_active().filter(site_id__in=sites)) if sites else []
    return [_widest(locks, *target) for target in targets]


def lock_guard(instance: models.Model) -> None:
    """The write guard: refuse any change of a clinical record covered by an active lock."""
    if not is_clinical(type(instance)):
        return
    lock = lock_refusing(instance)
    if lock is not None:
        raise RecordLocked(lock)


def lock_guard_many(instances: Sequence[models.Model]) -> list[RecordLocked | None]:
    """lock_guard for many records at once (an upload, an import): one query."""
    clinical = [i for i, instance in enumerate(instances) if is_clinical(type(instance))]
    refusals: list[RecordLocked | None] = [None] * len(instances)
    locks = lock_refusing_each([instances[i] for i in clinical])
    for i, lock in zip(clinical, locks, strict=True):
        if lock is not None:
            refusals[i] = RecordLocked(lock)
    return refusals


# --- Selectors --------------------------------------------------------------------------------


def locks_visible_to(user) -> QuerySet[Lock]:
    """Locks (active and released) at the sites where the user may lock data."""
    return Lock.objects.filter(site__in=sites_where(user, Capability.LOCK_DATA)).select_related(
        "site", "subject", "locked_by", "unlocked_by"
    )


def locks_of_subject(subject: Subject) -> list[Lock]:
    """The active locks that concern a subject: its site's, its own and its records'."""
    return list(
        _active()
        .filter(Q(level=Lock.Level.SITE, site_id=subject.site_id) | Q(subject=subject))
        .order_by("locked_at", "id")
    )


class SubjectLocks:
    """The active locks that concern one subject (its site's, its own, its records'), read in one
    query and asked per record, so that a page offers no write action on locked data without a
    query per record."""

    def __init__(self, subject: Subject) -> None:
        self.subject_id, self.site_id = subject.pk, subject.site_id
        self.locks = locks_of_subject(subject)

    @property
    def wide(self) -> Lock | None:
        """The widest lock of the site or the subject (every record of the subject), or None."""
        return _widest(self.locks, self.subject_id, self.site_id, [])

    def refusing(self, record: models.Model) -> Lock | None:
        """The widest lock refusing a change of `record` (the subject's, or one of its records
        or their parents), or None."""
        if not self.locks:
            return None  # most subjects: nothing to match each record against
        _, _, pointers = _targets(record)
        return _widest(self.locks, self.subject_id, self.site_id, pointers)


# --- Services ---------------------------------------------------------------------------------


def lock_create(
    *,
    level: str,
    site: Site | None = None,
    subject: Subject | None = None,
    record: models.Model | None = None,
    reason: str,
    user,
) -> Lock:
    """Lock a site, a subject or one record of a subject (level FORM) so that its data refuses
    every change until a data manager unlocks it. The reason is kept in the audit trail."""
    reason = (reason or "").strip()
    lock = Lock(level=level, reason=reason, locked_by=user, locked_at=timezone.now())
    if level == Lock.Level.SITE:
        if site is None:
            raise ValidationError({"site": "Choose the site to lock."})
        lock.site = site
    elif level == Lock.Level.SUBJECT:
        if subject is None:
            raise ValidationError({"subject": "Choose the subject to lock."})
        lock.subject, lock.site = subject, subject.site
    elif level == Lock.Level.FORM:
        if record is None or not is_clinical(type(record)) or record.pk is None:
            raise ValidationError("Only a saved record of a subject's data can be locked.")
        lock.subject = subject_of(record)
        lock.site = lock.subject.site
        lock.content_type_id, lock.object_id = _content_type_id(type(record)), record.pk
    else:
        raise ValidationError({"level": f"{level!r} is not a level of lock."})
    if not user_can(user, Capability.LOCK_DATA, lock.site):
        raise PermissionDenied("Only data managers lock data.")
    if not reason:
        raise ValidationError(
            {"reason": "Give the reason for locking (it is kept in the audit trail)."}
        )
    with transaction.atomic():
        same = Lock.objects.select_for_update().filter(active=True, level=level)
        if level == Lock.Level.SITE:
            same = same.filter(site=lock.site)
        elif level == Lock.Level.SUBJECT:
            same = same.filter(subject=lock.subject)
        else:
            same = same.filter(content_type_id=lock.content_type_id, object_id=lock.object_id)
        if same.exists():
            raise ValidationError(f"{lock_target(lock)} is already locked.")
        return audited_save(lock, user=user, reason=reason)


def lock_release(*, lock: Lock, reason: str, user) -> Lock:
    """Unlock: the data may be changed again. The lock stays, with who unlocked it and why."""
    if not user_can(user, Capability.LOCK_DATA, lock.site):
        raise PermissionDenied("Only data managers unlock data.")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": "Give the reason for unlocking (it is kept in the audit trail)."}
        )
    if not lock.active:
        raise ValidationError(f"{lock_target(lock)} is already unlocked.")
    lock.active = False
    lock.unlocked_by = user
    lock.unlocked_at = timezone.now()
    lock.unlock_reason = reason
    return audited_save(lock, user=user, reason=reason)
