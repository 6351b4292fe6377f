"""Marking subjects for evaluation when their data change, and enqueuing the evaluation.

The write pipeline (crf.services.records) calls `subjects_changed` in the transaction of every
save, upload and import (registered in AlertsConfig.ready).
"""

import logging
from collections.abc import Sequence
from functools import partial

from django.db import transaction
from django.utils import timezone

log = logging.getLogger(__name__)


def subjects_changed(subject_ids: Sequence[int]) -> None:
    """Mark the subjects in the current transaction and, once it commits, enqueue one
    evaluation each. Nothing is enqueued for a rolled-back change; if the broker is down the
    save still succeeds and the marks wait for the periodic reconciliation."""
    from .models import EvaluationMark

    ids = sorted(set(subject_ids))
    now = timezone.now()
    EvaluationMark.objects.bulk_create(
        [EvaluationMark(subject_id=pk, marked_at=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["subject"],
        update_fields=["marked_at"],
    )
    connection = transaction.get_connection()
    # One evaluation per subject per transaction, however many of its records were saved.
    queued = {getattr(entry[1], "evaluates", None) for entry in connection.run_on_commit}
    for pk in ids:
        if pk in queued:
            continue
        callback = partial(enqueue_evaluation, pk)
        callback.evaluates = pk
        transaction.on_commit(callback)


def subject_changed(subject) -> None:
    """subjects_changed for one subject."""
    subjects_changed([subject.pk])


def enqueue_evaluation(subject_id: int) -> bool:
    from .tasks import evaluate_subject

    try:
        # No retry: a save must not wait on a broker that is down; the mark stays.
        evaluate_subject.apply_async(args=[subject_id], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure: the reconciliation job catches up
        log.warning("broker unavailable: subject %s stays marked for evaluation", subject_id)
        return False
    return True
