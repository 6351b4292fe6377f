from functools import cache

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class AuditedModel(models.Model):
    """Base of every model that holds trial data.

    Each concrete subclass gets a history table (django-simple-history) whose rows carry the
    user, the UTC time and the reason for change, and which PostgreSQL keeps append-only.
    Writes go through audit.services.audited_save, which also bumps `version` for optimistic
    locking.
    """

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Who entered and who last changed the record, for lists; the full story is in `history`.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
    )
    history = HistoricalRecords(inherit=True)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        # A guard, not business logic: a change that skipped the service has no reason recorded.
        if not self._state.adding and not getattr(self, "_change_reason", None):
            raise UnauditedChangeError(
                f"{type(self).__name__} {self.pk}: changes must go through "
                "audit.services.audited_save with a reason for change."
            )
        super().save(*args, **kwargs)


class UnauditedChangeError(RuntimeError):
    """Raised when code tries to change an audited record without a reason for change."""


class ClinicalRecord(AuditedModel):
    """A record of a subject's clinical data. Never deleted: marked entered in error instead."""

    entered_in_error = models.BooleanField(default=False, editable=False)

    class Meta:
        abstract = True


@cache
def history_model(model: type[models.Model]) -> type[models.Model]:
    """The historical model (django-simple-history) of an audited model. Reading
    `model.history` builds a new manager class each time; pages that name the history table
    once per row ask here."""
    return model.history.model
