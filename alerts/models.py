from django.contrib.postgres.fields import ArrayField
from django.db import models

from audit.models import AuditedModel, ClinicalRecord
from audit.naming import day_text
from crf.models import Subject
from crf.validators import not_in_future


class Alert(AuditedModel):
    """What protocol/rules.py found for a subject, kept by its stable key (subject, rule,
    triggering record): a repeated evaluation never duplicates it, and an alert whose
    condition no longer holds is resolved by the data, not deleted."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved by the data"
        CLOSED = "closed", "Closed"

    class Severity(models.TextChoices):
        URGENT = "urgent", "Urgent"
        WARNING = "warning", "Warning"
        INFO = "info", "Information"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="alerts")
    rule = models.CharField(max_length=20, db_index=True)
    record = models.CharField("triggering record", max_length=40)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    message = models.TextField()
    reference = models.CharField("protocol reference", max_length=120, blank=True)
    clears_when = models.CharField(max_length=200, blank=True)
    actors = ArrayField(models.CharField(max_length=20), default=list)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(blank=True)
    notified_at = models.DateTimeField(null=True, blank=True)

    ACTIVE = (Status.OPEN, Status.ACKNOWLEDGED)

    class Meta:
        ordering = ["-raised_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "rule", "record"], name="alert_stable_key")
        ]
        indexes = [models.Index(fields=["status", "severity"])]

    def __str__(self) -> str:
        status = self.get_status_display().lower()
        return f"Alert {self.rule} ({status}, raised {day_text(self.raised_at)})"


class EvaluationMark(models.Model):
    """A subject whose data changed and must be (re-)evaluated. Set in the same transaction as
    the change, so a lost message or a broker that is down loses nothing: the periodic
    reconciliation evaluates every marked subject."""

    subject = models.OneToOneField(Subject, on_delete=models.CASCADE, related_name="+")
    marked_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.subject} marked {self.marked_at:%Y-%m-%d %H:%M:%S}"


class ProtocolDecision(ClinicalRecord):
    """A documented decision that the protocol asks for and that clears an alert: the referral
    for MRD-triggered blinatumomab (CD19 reconfirmed, cycles or why not), off-protocol treatment
    of a refractory patient, a justification of continuing despite a hepatic value, a reason for
    a dose deviation or a missing week-11 MRD."""

    class Kind(models.TextChoices):
        MRD_REFERRAL = "mrd_referral", "MRD-triggered blinatumomab: referral decision"
        OFF_PROTOCOL = "off_protocol_treatment", "Off-protocol treatment (refractory)"
        HEP_JUSTIFICATION = "hep_justification", "Justification: infusion continued"
        DOSE_DEVIATION = "dose_deviation_reason", "Reason for a dose deviation"
        W11_MISSING = "w11_missing_reason", "Reason the week-11 MRD is missing"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="decisions")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    about = models.CharField("triggering record", max_length=40, blank=True)
    decided_on = models.DateField(validators=[not_in_future])
    cd19_positive = models.BooleanField("CD19 expression reconfirmed", null=True, blank=True)
    blinatumomab_cycles = models.PositiveSmallIntegerField(
        "blinatumomab cycles planned", null=True, blank=True
    )
    details = models.TextField()

    class Meta:
        ordering = ["subject", "-decided_on"]

    def __str__(self) -> str:
        return f"Decision: {self.get_kind_display()} ({self.decided_on:%Y-%m-%d})"
