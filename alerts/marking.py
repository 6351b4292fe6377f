"""Marking a subject for evaluation when its data changes, and enqueuing the evaluation."""

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def subject_changed(subject) -> None:
    """Mark the subject in the current transaction and, once it commits, enqueue one
    evaluation. Nothing is enqueued for a rolled-back change; if the broker is down the save
    still succeeds and the mark waits for the periodic reconciliation."""
    from .models import EvaluationMark

    EvaluationMark.objects.update_or_create(
        subject_id=subject.pk, defaults={"marked_at": timezone.now()}
    )
    connection = transaction.get_connection()
    # One evaluation per subject per transaction, however many of its records were saved.
    if any(
        getattr(entry[1], "evaluates", None) == subject.pk for entry in connection.run_on_commit
    ):
        return
    callback = partial(enqueue_evaluation, subject.pk)
    callback.evaluates = subject.pk
    transaction.on_commit(callback)


def enqueue_evaluation(subject_id: int) -> bool:
    from .tasks import evaluate_subject

    try:
        # No retry: a save must not wait on a broker that is down; the mark stays.
        evaluate_subject.apply_async(args=[subject_id], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the reconciliation job catches up
        log.warning("broker unavailable: subject %s stays marked for evaluation", subject_id)
        return False
    return True
