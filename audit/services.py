"""Writing audited records: the one path by which trial data is created or changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from .errors import ReasonForChangeRequired, StaleVersionError

# Checks every audited write must pass (e.g. monitoring's locks): each raises ValidationError to
# refuse. Apps register theirs in AppConfig.ready(), so that audit depends on none of them.
WRITE_GUARDS: list[Callable[[models.Model], None]] = []
# The same guards for many instances at once: a refusal (or None) per instance, in a bounded
# number of queries (an upload's rows, an import's records).
BATCH_GUARDS: list[Callable[[Sequence[models.Model]], list[ValidationError | None]]] = []


def write_guard_register(
    guard: Callable[[models.Model], None],
    many: Callable[[Sequence[models.Model]], list[ValidationError | None]] | None = None,
) -> None:
    """Have `guard(instance)` called before every create and change made by audited_save, and
    `many(instances)` (its batch form) by write_guards_check_many."""
    if guard not in WRITE_GUARDS:
        WRITE_GUARDS.append(guard)
        BATCH_GUARDS.append(many or _one_by_one(guard))


def _one_by_one(guard):
    def many(instances):
        refusals = []
        for instance in instances:
            try:
                guard(instance)
                refusals.append(None)
            except ValidationError as refused:
                refusals.append(refused)
        return refusals

    return many


def write_guards_check(instance: models.Model) -> None:
    """Run every registered write guard on `instance` (raises what the first refusal raises)."""
    for guard in WRITE_GUARDS:
        guard(instance)


def write_guards_check_many(instances: Sequence[models.Model]) -> list[ValidationError | None]:
    """Every registered guard's refusal of each instance (the first per instance), or None."""
    refusals: list[ValidationError | None] = [None] * len(instances)
    for many in BATCH_GUARDS:
        for i, refusal in enumerate(many(instances)):
            if refusals[i] is None:
                refusals[i] = refusal
    return refusals


def audited_save(
    instance: models.Model,
    *,
    user,
    reason: str = "",
    expected_version: int | None = None,
) -> models.Model:
    """Create or change `instance`, writing its history row with the user and the reason.

    A first save needs no reason. Any later change needs one, and is refused with
    StaleVersionError if the stored version is not `expected_version` (default: the version the
    instance was loaded with), so that two users editing the same record cannot overwrite each
    other silently. Runs in one transaction with the row locked. Every registered write guard
    (WRITE_GUARDS) is asked first and may refuse with a ValidationError.
    """
    reason = (reason or "").strip()
    try:
        return _audited_save(instance, user=user, reason=reason, expected_version=expected_version)
    except IntegrityError:
        # PostgreSQL refused a uniqueness or a constraint (checked there, not by a query of our
        # own per save): the transaction is back at its savepoint, so the model can say which
        # one, with its own message.
        instance.validate_unique()
        instance.validate_constraints()
        raise


def _audited_save(instance, *, user, reason: str, expected_version: int | None):
    with transaction.atomic():
        write_guards_check(instance)
        if instance._state.adding:
            instance.version = 1
            instance.created_by = user
        else:
            if not reason:
                raise ReasonForChangeRequired()
            model = type(instance)
            stored = model.objects.select_for_update().get(pk=instance.pk)
            expected = instance.version if expected_version is None else expected_version
            if stored.version != expected:
                last = stored.history.order_by("-history_date", "-history_id").first()
                raise StaleVersionError(
                    current=stored,
                    changed_by=_user_label(last.history_user if last else None),
                    changed_at=last.history_date.astimezone(UTC) if last else None,
                )
            instance.version = stored.version + 1
        instance.updated_by = user
        instance._history_user = user
        instance._change_reason = reason or None
        # Fields and the model's clean(); uniqueness and constraints are the database's.
        instance.full_clean(validate_unique=False, validate_constraints=False)
        try:
            instance.save()
        finally:
            # The reason belongs to this save only; a later save must give its own.
            instance._change_reason = None
    return instance


def record_mark_entered_in_error(record, *, user, reason: str):
    """Withdraw a clinical record that should never have been entered; it and its history stay."""
    if not (reason or "").strip():
        raise ReasonForChangeRequired()
    if record.entered_in_error:
        raise ValidationError("This record is already marked as entered in error.")
    record.entered_in_error = True
    return audited_save(record, user=user, reason=f"entered in error: {reason}".strip())


def _user_label(user) -> str:
    if user is None:
        return "another user"
    return user.get_full_name() or user.get_username()
