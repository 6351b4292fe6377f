from django.db import models
from django.db.models import Q

from audit.models import ClinicalRecord

from ..validators import not_in_future
from .pages import FormPage
from .subjects import Subject


class Visit(FormPage, ClinicalRecord):
    """A visit on a subject's calendar: an assessment of the protocol, the start of a
    consolidation cycle, or an unscheduled visit. Planned dates and windows come from
    protocol/schedule.py; the status is computed from them and today's date."""

    form_slug = "visit"

    class Kind(models.TextChoices):
        ASSESSMENT = "assessment", "Protocol assessment"
        CONSOLIDATION = "consolidation", "Consolidation cycle start"
        UNSCHEDULED = "unscheduled", "Unscheduled"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="visits")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    code = models.CharField(max_length=12, help_text="D11, D40, W11, W18, C1…C6 or U1, U2, …")
    name = models.CharField(max_length=80)
    planned_date = models.DateField(null=True, blank=True)
    window_start = models.DateField(null=True, blank=True)
    window_end = models.DateField(null=True, blank=True)
    actual_date = models.DateField(null=True, blank=True, validators=[not_in_future])
    missed = models.BooleanField(default=False)
    missed_reason = models.TextField(blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["subject", "planned_date", "actual_date", "id"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "code"], name="visit_code_per_subject"),
            models.CheckConstraint(
                condition=Q(missed=False) | ~Q(missed_reason=""),
                name="missed_visit_has_reason",
                violation_error_message="A missed visit needs its reason.",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True)
                | Q(window_end__isnull=True)
                | Q(window_start__lte=models.F("window_end")),
                name="visit_window_ordered",
            ),
        ]

    def __str__(self) -> str:
        day = self.actual_date or self.planned_date
        name = self.name[:1].lower() + self.name[1:] if self.name[1:2].islower() else self.name
        return f"Visit {name}" + (f" ({day:%Y-%m-%d})" if day else "")
