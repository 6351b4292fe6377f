"""Treatment after induction, as given: MRD-triggered blinatumomab (MR-4, MR-5) and salvage
therapy. The referral for MRD-triggered blinatumomab is a protocol decision (alerts); these
records say what the patient actually received."""

from django.db import models

from audit.models import ClinicalRecord
from audit.naming import plain_number
from protocol import mrd
from protocol.after_induction import TARGET_DOSE_UG_PER_DAY

from ..validators import not_in_future
from .pages import FormPage
from .subjects import Subject

# MRD values as the central laboratory's results keep them: exact decimals down to 1E-15.
MRD_DIGITS = {"max_digits": 20, "decimal_places": 15}
MRD_RESULT_CLASSES = [
    (mrd.ResultClass.NEGATIVE.value, "Negative"),
    (mrd.ResultClass.PNQ.value, "Positive, not quantifiable"),
    (mrd.ResultClass.QUANTIFIABLE.value, "Quantifiable"),
    (mrd.ResultClass.NOT_EVALUABLE.value, "Not evaluable"),
]


class MrdTriggeredBlinatumomab(FormPage, ClinicalRecord):
    """One course of MRD-triggered blinatumomab as given (MR-4, MR-5): 1-2 cycles once CD19 is
    reconfirmed, before HSCT."""

    form_slug = "mrd-blinatumomab"

    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="mrd_triggered_blinatumomab"
    )
    start_date = models.DateField(validators=[not_in_future])
    end_date = models.DateField(
        null=True,
        blank=True,
        validators=[not_in_future],
        help_text="Empty while the course runs.",
    )
    cycles = models.PositiveSmallIntegerField("cycles given", help_text="1 or 2 (MR-4).")
    dose_ug_per_day = models.DecimalField(
        "dose (µg/day)", max_digits=4, decimal_places=1, default=TARGET_DOSE_UG_PER_DAY
    )
    cd19_reconfirmed = models.BooleanField("CD19 expression reconfirmed")
    cd19_date = models.DateField(
        "CD19 reconfirmation date", null=True, blank=True, validators=[not_in_future]
    )
    mrd_after_class = models.CharField(
        "MRD after the course", max_length=14, choices=MRD_RESULT_CLASSES, blank=True
    )
    mrd_after_value = models.DecimalField(
        "MRD value after the course (fraction of cells)", null=True, blank=True, **MRD_DIGITS
    )
    comment = models.TextField(blank=True)

    class Meta:
        verbose_name = "MRD-triggered blinatumomab course"
        ordering = ["subject", "start_date", "id"]

    def __str__(self) -> str:
        cycles = f"{self.cycles} cycle{'s' if self.cycles != 1 else ''}"
        end = f" to {self.end_date:%Y-%m-%d}" if self.end_date else ", running"
        dose = plain_number(self.dose_ug_per_day)
        return (
            f"MRD-triggered blinatumomab {self.start_date:%Y-%m-%d}{end}: {cycles} at {dose} µg/day"
        )

    @property
    def mrd_after_text(self) -> str:
        """The MRD after the course as the laboratory writes it ("quantifiable 1.2E-4")."""
        if not self.mrd_after_class:
            return ""
        text = self.get_mrd_after_class_display().lower()
        if self.mrd_after_value is not None:
            text += f" {mrd.format_mrd(self.mrd_after_value)}"
        return text


class SalvageTherapy(FormPage, ClinicalRecord):
    """Treatment of a patient refractory after induction, relapsed, or with persisting MRD."""

    form_slug = "salvage-therapy"

    class Regimen(models.TextChoices):
        INOTUZUMAB = "inotuzumab", "Inotuzumab ozogamicin"
        BLINATUMOMAB = "blinatumomab", "Blinatumomab"
        CAR_T = "car_t", "CAR-T cell therapy"
        INTENSIVE_CHEMOTHERAPY = "intensive_chemotherapy", "FLAG-Ida / intensive chemotherapy"
        OTHER = "other", "Other"

    class Indication(models.TextChoices):
        REFRACTORY = "refractory", "Refractory after induction"
        RELAPSE = "relapse", "Relapse"
        MRD_PERSISTENCE = "mrd_persistence", "MRD persistence"

    class Outcome(models.TextChoices):
        CR = "CR", "Complete remission (CR)"
        CRI = "CRi", "CR with incomplete recovery (CRi)"
        NO_RESPONSE = "no_response", "No response"
        NOT_EVALUABLE = "not_evaluable", "Not evaluable"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="salvage_therapies")
    start_date = models.DateField(validators=[not_in_future])
    end_date = models.DateField(
        null=True,
        blank=True,
        validators=[not_in_future],
        help_text="Empty while the therapy runs.",
    )
    regimen = models.CharField(max_length=24, choices=Regimen.choices)
    regimen_other = models.CharField("other regimen", max_length=200, blank=True)
    indication = models.CharField(max_length=16, choices=Indication.choices)
    outcome = models.CharField(max_length=14, choices=Outcome.choices, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        verbose_name = "salvage therapy"
        verbose_name_plural = "salvage therapies"
        ordering = ["subject", "start_date", "id"]

    def __str__(self) -> str:
        indication = self.get_indication_display()
        return f"Salvage therapy {self.start_date:%Y-%m-%d}: {self.regimen_name} ({indication})"

    @property
    def regimen_name(self) -> str:
        if self.regimen == self.Regimen.OTHER and self.regimen_other.strip():
            return self.regimen_other.strip()
        return self.get_regimen_display()
