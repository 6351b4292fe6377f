from django.db import models
from django.db.models import Q

from audit.models import AuditedModel
from protocol import schedule


class ProtocolVersion(AuditedModel):
    """A version of the protocol (amendment), with its effective date and protocol settings.

    Versions are data: the demo has version 1 (BD-1) and the amendment, version 2 (BD-2).
    """

    number = models.PositiveSmallIntegerField(unique=True)
    title = models.CharField(max_length=200)
    effective_date = models.DateField(unique=True)
    blinatumomab_rule = models.CharField(
        max_length=4,
        choices=[(rule.value, rule.value) for rule in schedule.BlinatumomabRule],
        help_text="BD-1: start dose by day-11 blasts; BD-2: 9 µg/day for 7 days for everyone.",
    )
    day_11_window_days = models.PositiveSmallIntegerField(
        default=schedule.DEFAULT_SETTINGS.day_11_window_days
    )
    day_40_window_days = models.PositiveSmallIntegerField(
        default=schedule.DEFAULT_SETTINGS.day_40_window_days
    )
    week_11_window_days = models.PositiveSmallIntegerField(
        default=schedule.DEFAULT_SETTINGS.week_11_window_days
    )
    week_18_window_days = models.PositiveSmallIntegerField(
        default=schedule.DEFAULT_SETTINGS.week_18_window_days
    )
    consolidation_interval_days = models.PositiveSmallIntegerField(
        default=schedule.DEFAULT_SETTINGS.consolidation_interval_days
    )
    dose_tolerance_percent = models.DecimalField(
        max_digits=4, decimal_places=1, default=schedule.DEFAULT_SETTINGS.dose_tolerance_percent
    )
    interruption_discontinue_days = models.PositiveSmallIntegerField(
        default=schedule.DEFAULT_SETTINGS.interruption_discontinue_days
    )

    class Meta:
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(condition=Q(number__gte=1), name="protocol_version_positive")
        ]

    def __str__(self) -> str:
        return f"Version {self.number} ({self.blinatumomab_rule}, from {self.effective_date})"

    @property
    def settings(self) -> schedule.ProtocolSettings:
        return schedule.ProtocolSettings(
            day_11_window_days=self.day_11_window_days,
            day_40_window_days=self.day_40_window_days,
            week_11_window_days=self.week_11_window_days,
            week_18_window_days=self.week_18_window_days,
            consolidation_interval_days=self.consolidation_interval_days,
            dose_tolerance_percent=self.dose_tolerance_percent,
            interruption_discontinue_days=self.interruption_discontinue_days,
        )

    def as_protocol(self) -> schedule.ProtocolVersion:
        return schedule.ProtocolVersion(
            number=self.number,
            effective_date=self.effective_date,
            blinatumomab_rule=schedule.BlinatumomabRule(self.blinatumomab_rule),
            settings=self.settings,
        )
