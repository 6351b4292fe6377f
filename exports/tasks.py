"""Celery tasks of the exports: thin, idempotent (an export is claimed before it is written)."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_export(export_id: int) -> str | None:
    export = services.export_claim(export_id)
    if export is None:
        return None  # done, or in another worker's hands
    return services.export_run(export).sha256


@shared_task(acks_late=True)
def resume_stale_exports() -> int:
    return services.exports_resume_stale()


@shared_task(acks_late=True)
def compute_report(stored_id: int) -> bool:
    """Compute one stored study report (asked for by a page), unless it is current."""
    from .stored_reports import compute_if_stale

    return compute_if_stale(stored_id) is True


@shared_task(acks_late=True)
def recompute_stale_reports(*, after_save: bool = True) -> int:
    """Recompute the stored study reports whose data changed: after a save, each at most once
    per RECOMPUTE_AT_MOST_EVERY seconds (a report computed just before is recomputed once that
    time is up); every minute from the beat, every stale one."""
    from .stored_reports import RECOMPUTE_AT_MOST_EVERY, recompute_stale

    done, wait = recompute_stale(min_interval=RECOMPUTE_AT_MOST_EVERY if after_save else 0)
    if wait:
        recompute_stale_reports.apply_async(countdown=wait, retry=False)
    return done
