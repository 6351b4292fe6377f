from celery import shared_task

from .tokens import idempotent_responses_forget


@shared_task(acks_late=True)
def forget_old_idempotent_responses() -> None:
    """Periodic: drop the answers kept for Idempotency-Keys past their keeping time."""
    idempotent_responses_forget()
