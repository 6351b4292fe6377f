"""The study lock (database lock): after its last freeze, the study's data are final.

A data manager of every site locks the study, signing with their password (and second factor)
that the data are final as frozen; the lock is refused while any record differs from the last
freeze. While it is active, every audited write of a subject's data, and every query, SDV mark,
signature, record lock and protocol decision, is refused on every route (forms, uploads, the
API, imports, commands): the refusal is a write guard of audit.services.audited_save,
registered in ExportsConfig.ready. Releasing it takes two data managers: one asks, with the
reason, and another releases.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone

from alerts.models import ProtocolDecision
from audit.clock import local_time_text
from audit.services import audited_save
from crf.access import Capability, reaches_every_site
from crf.models import Screening
from monitoring.models import Lock, Query, Signature, SourceVerification
from monitoring.records import is_clinical
from monitoring.signatures import signer_verify

from .freezes import changes_since
from .models import Freeze, StudyLock

# Besides the subjects' clinical records: what a locked study refuses too.
_ALSO_LOCKED = (Screening, ProtocolDecision, Query, SourceVerification, Signature, Lock)


class StudyLocked(ValidationError):
    """A write refused because the study is locked."""

    def __init__(self, lock: StudyLock) -> None:
        self.lock = lock
        super().__init__(study_lock_message(lock), code="study_locked")


def study_lock_message(lock: StudyLock) -> str:
    return (
        f"The study is locked (database lock by {lock.locked_by.get_username()} on "
        f"{local_time_text(lock.locked_at)}, after freeze {lock.freeze.name!r}): its data are "
        "final and nothing is changed until two data managers release the lock."
    )


def active_study_lock() -> StudyLock | None:
    return (
        StudyLock.objects.filter(active=True)
        .select_related("locked_by", "freeze", "unlock_requested_by")
        .first()
    )


def _guarded(model: type[models.Model]) -> bool:
    return is_clinical(model) or issubclass(model, _ALSO_LOCKED)


def study_lock_guard(instance: models.Model) -> None:
    """The write guard: refuse any write of the study's data while the study is locked."""
    if not _guarded(type(instance)):
        return
    lock = active_study_lock()
    if lock is not None:
        raise StudyLocked(lock)


def study_lock_guard_many(instances: Sequence[models.Model]) -> list[StudyLocked | None]:
    """study_lock_guard for an upload's or an import's records: one query."""
    if not any(_guarded(type(i)) for i in instances):
        return [None] * len(instances)
    lock = active_study_lock()
    return [
        StudyLocked(lock) if lock is not None and _guarded(type(i)) else None for i in instances
    ]


def _data_manager_of_every_site(user) -> None:
    if not reaches_every_site(user, Capability.LOCK_DATA):
        raise PermissionDenied("Only a data manager of every site locks or releases the study.")


def last_freeze() -> Freeze | None:
    return Freeze.objects.order_by("-frozen_at", "-id").first()


def study_lock(*, user, reason: str, password: str, second_factor: str = "", request=None):
    """Lock the study after its last freeze, signed by `user` (password, and second factor where
    they have one). Refused without a freeze of the whole study, or when a record changed since
    it (freeze again first)."""
    _data_manager_of_every_site(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for locking the study."})
    freeze = last_freeze()
    if freeze is None or freeze.site_numbers:
        raise ValidationError(
            "Freeze the whole study first: the study is locked after its last freeze, as it "
            "stands in it."
        )
    changed = changes_since(freeze)
    if changed:
        raise ValidationError(
            f"{len(changed)} records changed since the last freeze {freeze.name!r}: freeze the "
            "study again (or review the changes) before locking it."
        )
    signer_verify(user=user, request=request, password=password, second_factor=second_factor)
    with transaction.atomic():
        if StudyLock.objects.select_for_update().filter(active=True).exists():
            raise ValidationError("The study is already locked.")
        lock = StudyLock(
            freeze=freeze,
            reason=reason,
            meaning=StudyLock.MEANING,
            locked_by=user,
            locked_at=timezone.now(),
        )
        return audited_save(lock, user=user, reason=reason)


def study_unlock_request(*, user, reason: str) -> StudyLock:
    """A data manager asks for the lock to be released, saying why; a second one releases it."""
    _data_manager_of_every_site(user)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Give the reason for releasing the study lock."})
    with transaction.atomic():
        lock = StudyLock.objects.select_for_update().filter(active=True).first()
        if lock is None:
            raise ValidationError("The study is not locked.")
        lock.unlock_requested_by = user
        lock.unlock_requested_at = timezone.now()
        lock.unlock_reason = reason
        return audited_save(lock, user=user, reason=f"release asked: {reason}")


def study_unlock(*, user, password: str, second_factor: str = "", request=None) -> StudyLock:
    """A second data manager (not the one who asked) releases the lock, signing for it."""
    _data_manager_of_every_site(user)
    _release_check(active_study_lock(), user)
    signer_verify(user=user, request=request, password=password, second_factor=second_factor)
    with transaction.atomic():
        lock = StudyLock.objects.select_for_update().filter(active=True).first()
        _release_check(lock, user)
        lock.active = False
        lock.unlocked_by = user
        lock.unlocked_at = timezone.now()
        return audited_save(lock, user=user, reason=f"released: {lock.unlock_reason}")


def _release_check(lock: StudyLock | None, user) -> None:
    if lock is None:
        raise ValidationError("The study is not locked.")
    if lock.unlock_requested_by_id is None:
        raise ValidationError("Ask for the release first, with the reason.")
    if lock.unlock_requested_by_id == user.pk:
        raise ValidationError("A second data manager releases the lock: you asked for the release.")
