"""Celery tasks: thin, idempotent, acknowledged late (settings: CELERY_TASK_ACKS_LATE)."""

import time

from celery import shared_task
from django.conf import settings

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def evaluate_subject(subject_id: int) -> dict | None:
    pause = settings.ALERTS_EVALUATION_PAUSE_SECONDS
    if pause:
        # Fault tests set this to kill a worker while a task is in hand (never in production).
        time.sleep(pause)
    result = services.subject_evaluate(subject_id)
    return result.__dict__ if result else None


@shared_task(acks_late=True)
def evaluate_marked_subjects(older_than_seconds: int = 30) -> int:
    # Marks younger than this are normally being handled by their own task.
    return services.marked_subjects_evaluate(older_than_seconds=older_than_seconds)


@shared_task(acks_late=True)
def evaluate_all_subjects() -> int:
    return services.all_subjects_evaluate()
