"""The write pipeline: the one door through which a subject's clinical records are written.

Every route calls it (the record forms, the infusion actions, lab panels, adverse events, MRD
entry and upload, the study import), and every route gets the same steps in the same order:

    access for the record's own site -> derived values -> hard checks -> soft checks
    -> lock guard (audit's write guards) -> audited save with user and reason -> follow-ups

so that a record refused on one route is refused on every route with the same message. What a
kind of record derives and checks is registered per model (`record_rules_register`: crf's own
records in crf.editchecks, labs and adverse events by safety, MRD results by mrd). What follows a
save in other apps (automatic queries for confirmed soft checks, rule-evaluation marks) is
registered by those apps, so that crf imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from simple_history.utils import bulk_create_with_history

from audit.services import audited_save, write_guards_check_many
from protocol import checks

from ..access import Capability, user_can
from ..models import EditCheckConfirmation
from ..records import subject_of

ENTRY_REFUSED = "Only the site's investigators enter clinical data."


class SoftChecksPending(Exception):
    """Soft edit checks that the user has not yet confirmed."""

    def __init__(self, warnings: list[checks.SoftWarning]):
        self.warnings = warnings
        super().__init__("; ".join(w.message for w in warnings))


@dataclass(frozen=True)
class RecordRules:
    """What the pipeline applies to one kind of record, besides the checks every record gets
    (see crf.editchecks.common_errors)."""

    capability: Capability = Capability.ENTER_CLINICAL_DATA
    refused: str = ENTRY_REFUSED  # the message for a user without the capability at the site
    # Reads what the checks of many records need at once (a batch's own records included).
    prepare: Callable[[Sequence[models.Model]], None] | None = None
    derive: Callable[[models.Model], None] | None = None  # fills computed fields, may refuse
    hard_checks: Callable[[models.Model], dict[str, str]] | None = None  # field -> message
    soft_checks: Callable[[models.Model], list[checks.SoftWarning]] | None = None
    after_save: Callable[[models.Model, object], None] | None = None  # (saved record, user)


_RULES: dict[type[models.Model], RecordRules] = {}
_COMMON_ERRORS: list[Callable[[models.Model], dict[str, str]]] = []
_SUBJECTS_CHANGED: list[Callable[[Sequence[int]], None]] = []
_SOFT_CHECKS_CONFIRMED: list[Callable[[Sequence[models.Model]], None]] = []
_CORRECTION_ANSWERS: list[Callable[..., None]] = []


def record_rules_register(model: type[models.Model], **rules) -> None:
    """Say what the pipeline derives and checks for `model` (called from AppConfig.ready)."""
    _RULES[model] = RecordRules(**rules)


def record_rules(model: type[models.Model]) -> RecordRules:
    return _RULES.get(model, RecordRules())


def common_errors_register(check: Callable[[models.Model], dict[str, str]]) -> None:
    """A hard check every record gets (e.g. no date before informed consent)."""
    if check not in _COMMON_ERRORS:
        _COMMON_ERRORS.append(check)


def on_subjects_changed(hook: Callable[[Sequence[int]], None]) -> None:
    """Have `hook(subject ids)` called in the transaction of every save that changes data of
    those subjects (alerts marks them for rule evaluation)."""
    if hook not in _SUBJECTS_CHANGED:
        _SUBJECTS_CHANGED.append(hook)


def on_soft_checks_confirmed(hook: Callable[[Sequence[models.Model]], None]) -> None:
    """Have `hook(confirmations)` called when an investigator saves past soft checks
    (monitoring opens an automatic query for each)."""
    if hook not in _SOFT_CHECKS_CONFIRMED:
        _SOFT_CHECKS_CONFIRMED.append(hook)


def on_correction_answers_query(hook: Callable[..., None]) -> None:
    """Have `hook(query_id=, record=, answer=, user=)` answer a monitor's query by the correction
    just saved (monitoring registers it; the record form offers "correct and answer")."""
    if hook not in _CORRECTION_ANSWERS:
        _CORRECTION_ANSWERS.append(hook)


def correction_answers_query(*, query_id, record: models.Model, answer: str, user) -> None:
    """Answer the query `query_id` by the correction of `record` saved in this transaction."""
    if not _CORRECTION_ANSWERS:
        raise ValidationError("Queries cannot be answered here.")
    for hook in _CORRECTION_ANSWERS:
        hook(query_id=query_id, record=record, answer=answer, user=user)


def subjects_changed(subject_ids: Iterable[int]) -> None:
    """Tell the registered follow-ups that these subjects' data changed (in this transaction)."""
    ids = sorted({pk for pk in subject_ids if pk is not None})
    if ids:
        for hook in _SUBJECTS_CHANGED:
            hook(ids)


# --- The steps --------------------------------------------------------------------------------


def access_check(record: models.Model, user) -> None:
    """Refuse a user who may not write this kind of record at the record's own site."""
    rules = record_rules(type(record))
    if not user_can(user, rules.capability, subject_of(record).site):
        raise PermissionDenied(rules.refused)


def hard_errors(record: models.Model) -> dict[str, str]:
    """Derive the computed values, then collect every hard check's refusal (field -> message)."""
    rules = record_rules(type(record))
    if rules.derive:
        rules.derive(record)  # raises ValidationError where the inputs cannot give a value
    errors: dict[str, str] = {}
    for check in _COMMON_ERRORS:
        for field, message in check(record).items():
            errors.setdefault(field, message)
    if rules.hard_checks:
        for field, message in rules.hard_checks(record).items():
            errors.setdefault(field, message)
    return errors


def hard_check(record: models.Model) -> None:
    """Raise ValidationError (field -> message) if the record breaks a hard check."""
    errors = hard_errors(record)
    if errors:
        raise ValidationError(errors)


def soft_check(record: models.Model, confirmed: set[str]) -> list[checks.SoftWarning]:
    """The record's soft warnings; raise SoftChecksPending if any is not in `confirmed`."""
    rules = record_rules(type(record))
    warnings = rules.soft_checks(record) if rules.soft_checks else []
    if any(w.code not in confirmed for w in warnings):
        raise SoftChecksPending(warnings)
    return warnings


# --- One record -------------------------------------------------------------------------------


def record_save(
    record: models.Model,
    *,
    user,
    reason: str = "",
    expected_version: int | None = None,
    confirmed: frozenset[str] | set[str] = frozenset(),
):
    """Create or change one clinical record of a subject, through every step of the pipeline.

    Refuses users who may not write it at the subject's site (PermissionDenied), derives the
    computed values, runs the hard checks (ValidationError), then the soft ones
    (SoftChecksPending unless every warning is in `confirmed`), saves with history and reason
    (the lock guard may refuse), keeps the confirmations, and runs the follow-ups.
    """
    access_check(record, user)
    hard_check(record)
    warnings = soft_check(record, set(confirmed))
    with transaction.atomic():
        saved = audited_save(record, user=user, reason=reason, expected_version=expected_version)
        if warnings:
            confirmations = _confirmations_record(saved, warnings, user)
            for hook in _SOFT_CHECKS_CONFIRMED:
                hook(confirmations)
        rules = record_rules(type(saved))
        if rules.after_save:
            rules.after_save(saved, user)
        subjects_changed([subject_of(saved).pk])
    return saved


def _confirmations_record(record, warnings: list[checks.SoftWarning], user):
    """Keep the investigator's confirmation of each soft warning with the record."""
    content_type = ContentType.objects.get_for_model(record)
    return EditCheckConfirmation.objects.bulk_create(
        EditCheckConfirmation(
            content_type=content_type,
            object_id=record.pk,
            subject=subject_of(record),
            check_code=warning.code,
            message=warning.message,
            confirmed_by=user,
            record_version=record.version,
        )
        for warning in warnings
    )


# --- Many records at once (uploads, the study import) -------------------------------------------


def records_refusals(
    records: Sequence[models.Model], *, user=None, exclude: Iterable[str] = ()
) -> list[ValidationError | PermissionDenied | None]:
    """Why each record would be refused, None where it would be saved: the same steps as
    record_save but soft checks (a batch has nobody to confirm them), for many records with a
    bounded number of queries. `user` None skips the access step (the study import, run by
    the operator on the command line); `exclude` names fields the model validation skips
    (references a caller has resolved itself)."""
    kinds: dict[type[models.Model], list[models.Model]] = {}
    for record in records:
        kinds.setdefault(type(record), []).append(record)
    for model, group in kinds.items():
        if record_rules(model).prepare:
            record_rules(model).prepare(group)
    refusals: list[ValidationError | PermissionDenied | None] = []
    for record in records:
        try:
            if user is not None:
                access_check(record, user)
            errors = hard_errors(record)
            try:
                record.clean_fields(exclude=[*exclude, *errors])
                record.clean()
            except ValidationError as invalid:
                for field, messages in invalid.message_dict.items():
                    errors.setdefault(field, " ".join(messages))
            refusals.append(ValidationError(errors) if errors else None)
        except (ValidationError, PermissionDenied) as refused:
            refusals.append(refused)
    writable = [i for i, refusal in enumerate(refusals) if refusal is None]
    for i, guard_refusal in zip(
        writable, write_guards_check_many([records[i] for i in writable]), strict=True
    ):
        refusals[i] = guard_refusal
    return refusals


def records_create(records: Sequence[models.Model], model: type[models.Model], *, user, reason):
    """Create many new records of one model (already passed by records_refusals) with their
    history rows, and run the follow-ups once for all their subjects."""
    for record in records:
        record.version = 1
        record.created_by = record.updated_by = user
    with transaction.atomic():
        created = bulk_create_with_history(
            list(records), model, batch_size=1000, default_user=user, default_change_reason=reason
        )
        subjects_changed(subject_of(record).pk for record in records)
    return created


def records_plan(records: Sequence[models.Model], *, user, reason: str) -> list[models.Model]:
    """Create records the eCRF plans itself (a course's protocol administrations, a subject's
    visits): the pipeline's checks for all of them, then one insert with their history rows.
    The first refusal is raised; nothing is saved then."""
    if not records:
        return []
    for refusal in records_refusals(records):
        if refusal is not None:
            raise refusal
    return records_create(records, type(records[0]), user=user, reason=reason)
