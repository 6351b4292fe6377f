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

    return compute_if_stale(stored_id)


@shared_task(acks_late=True)
def recompute_stale_reports() -> int:
    """Recompute every stored study report whose data changed (after a save; every minute)."""
    from .stored_reports import recompute_stale

    return recompute_stale()
