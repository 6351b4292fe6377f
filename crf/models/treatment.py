from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from audit.models import ClinicalRecord
from audit.naming import day_text, moment_text, plain_number
from protocol import schedule

from ..validators import not_in_future, not_in_future_datetime
from .pages import FormPage, InfusionPage
from .subjects import Subject

DRUG_CHOICES = [(drug.value, drug.value) for drug in schedule.Drug]
ROUTE_CHOICES = [(route.value, route.value) for route in schedule.Route]
UNIT_CHOICES = [(unit.value, unit.value) for unit in schedule.Unit]


class TreatmentPhase(models.TextChoices):
    PRE_INDUCTION = "pre_induction", "Pre-Induction"
    INDUCTION_I = "induction_1", "Induction I"
    INDUCTION_II = "induction_2", "Induction II"
    CONSOLIDATION_1 = "consolidation_1", "Consolidation I"
    CONSOLIDATION_2 = "consolidation_2", "Consolidation II"
    CONSOLIDATION_3 = "consolidation_3", "Consolidation III"
    CONSOLIDATION_4 = "consolidation_4", "Consolidation IV"
    CONSOLIDATION_5 = "consolidation_5", "Consolidation V"
    CONSOLIDATION_6 = "consolidation_6", "Consolidation VI"
    MAINTENANCE = "maintenance", "Maintenance"


class TreatmentCourse(FormPage, ClinicalRecord):
    """One treatment phase or consolidation cycle as given: its start, the body measurements and
    BSA the doses were calculated from, and the drug administrations."""

    form_slug = "course"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="courses")
    phase = models.CharField(max_length=16, choices=TreatmentPhase.choices)
    start_date = models.DateField(validators=[not_in_future])
    height_cm = models.DecimalField("height (cm)", max_digits=4, decimal_places=1)
    weight_kg = models.DecimalField("weight (kg)", max_digits=4, decimal_places=1)
    bsa_m2 = models.DecimalField("BSA (m²)", max_digits=3, decimal_places=2, editable=False)
    bsa_formula = models.CharField("BSA formula", max_length=20, editable=False)

    class Meta:
        ordering = ["subject", "start_date"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "phase"], name="course_phase_per_subject")
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()} course ({self.start_date:%Y-%m-%d})"


class DrugAdministration(ClinicalRecord):
    """One administration of a protocol drug: protocol dose, dose calculated from the BSA, and
    the dose given. A dose outside the tolerance needs a deviation reason."""

    subject_parent = "course"

    course = models.ForeignKey(
        TreatmentCourse, on_delete=models.PROTECT, related_name="administrations"
    )
    drug = models.CharField(max_length=8, choices=DRUG_CHOICES)
    route = models.CharField(max_length=3, choices=ROUTE_CHOICES)
    protocol_dose = models.DecimalField(max_digits=8, decimal_places=2)
    protocol_unit = models.CharField(max_length=8, choices=UNIT_CHOICES)
    protocol_day = models.SmallIntegerField(help_text="Day of the phase or cycle (protocol).")
    calculated_dose = models.DecimalField(max_digits=9, decimal_places=2)
    dose_unit = models.CharField(max_length=8)
    administered_dose = models.DecimalField(
        max_digits=9, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    administered_on = models.DateField(null=True, blank=True, validators=[not_in_future])
    deviation_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["course", "protocol_day", "drug"]
        constraints = [
            models.CheckConstraint(
                condition=Q(administered_dose__isnull=True) | Q(administered_on__isnull=False),
                name="administration_has_date",
                violation_error_message="A dose given needs the date it was given.",
            )
        ]

    def __str__(self) -> str:
        phase = self.course.get_phase_display()
        return f"{self.drug} {self.route} day {self.protocol_day} of {phase}"

    def get_absolute_url(self) -> str:
        return reverse("crf:administration", args=[self.course.subject.study_id, self.pk])


class IntrathecalAdministration(FormPage, ClinicalRecord):
    """CNS prophylaxis: one triple intrathecal administration (ARAC 40 mg, DEX 4 mg, MTX 15 mg);
    nine are planned through induction and consolidation."""

    form_slug = "intrathecal"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="intrathecals")
    administered_on = models.DateField(validators=[not_in_future])
    phase = models.CharField(max_length=16, choices=TreatmentPhase.choices)
    cytarabine_mg = models.DecimalField("ARAC (mg)", max_digits=5, decimal_places=1)
    dexamethasone_mg = models.DecimalField("DEX (mg)", max_digits=5, decimal_places=1)
    methotrexate_mg = models.DecimalField("MTX (mg)", max_digits=5, decimal_places=1)

    class Meta:
        verbose_name = "intrathecal administration"
        ordering = ["subject", "administered_on"]

    def __str__(self) -> str:
        return f"Intrathecal {self.administered_on:%Y-%m-%d} ({self.get_phase_display()})"


class Day11Assessment(FormPage, ClinicalRecord):
    """Day-11 bone marrow: the blast percentage sets the blinatumomab start dose (BD-1/BD-2)."""

    form_slug = "day11"

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="day11")
    assessed_on = models.DateField(validators=[not_in_future])
    marrow_blasts_percent = models.DecimalField(
        "bone marrow blasts (%)",
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )

    class Meta:
        verbose_name = "day-11 assessment"

    def __str__(self) -> str:
        return f"Day-11 marrow ({self.assessed_on:%Y-%m-%d})"


class BlinatumomabInfusion(InfusionPage, ClinicalRecord):
    """One blinatumomab cycle (BL-1: up to 28 infusion days; BL-2: a new cycle after an
    interruption of more than 7 days)."""

    class EndReason(models.TextChoices):
        COMPLETED = "completed", "Completed (28 infusion days)"
        DISCONTINUED = "discontinued", "Discontinued"
        NEW_CYCLE = "new_cycle", "Interrupted > 7 days: continued as a new cycle (BL-2)"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="infusions")
    cycle = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField(validators=[not_in_future_datetime])
    ended_at = models.DateTimeField(null=True, blank=True, validators=[not_in_future_datetime])
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    discontinuation_reason = models.TextField(blank=True)

    class Meta:
        verbose_name = "blinatumomab cycle"
        ordering = ["subject", "cycle"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "cycle"], name="infusion_cycle_per_subject"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gt=F("started_at")),
                name="infusion_ends_after_start",
                violation_error_message="The infusion must end after it started.",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | ~Q(end_reason=""),
                name="infusion_end_has_reason",
                violation_error_message="An ended infusion needs its end reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Blinatumomab cycle {self.cycle} (from {day_text(self.started_at)})"


class InfusionDoseChange(InfusionPage, ClinicalRecord):
    """The infusion rate from a moment on: the start, a step-up, or a restart after an
    interruption."""

    subject_parent = "infusion"

    class Kind(models.TextChoices):
        START = "start", "Start"
        STEP_UP = "step_up", "Step-up"
        RESTART = "restart", "Restart after interruption"
        REDUCTION = "reduction", "Dose reduction"

    infusion = models.ForeignKey(
        BlinatumomabInfusion, on_delete=models.PROTECT, related_name="dose_changes"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField("from", validators=[not_in_future_datetime])
    ug_per_day = models.DecimalField("dose (µg/day)", max_digits=4, decimal_places=1)

    class Meta:
        verbose_name = "blinatumomab dose change"
        ordering = ["infusion", "at"]

    def __str__(self) -> str:
        dose = plain_number(self.ug_per_day)
        return f"{self.get_kind_display()} {dose} µg/day, {moment_text(self.at)}"


class InfusionInterruption(InfusionPage, ClinicalRecord):
    subject_parent = "infusion"

    class Reason(models.TextChoices):
        HEPATIC = "hepatic", "Hepatic (ALT/AST, bilirubin)"
        CRS = "crs", "Cytokine release syndrome"
        NEUROLOGICAL = "neurological", "Neurological"
        INFECTION = "infection", "Infection"
        OTHER = "other", "Other"

    infusion = models.ForeignKey(
        BlinatumomabInfusion, on_delete=models.PROTECT, related_name="interruptions"
    )
    started_at = models.DateTimeField("interrupted", validators=[not_in_future_datetime])
    ended_at = models.DateTimeField(
        "restarted or ended", null=True, blank=True, validators=[not_in_future_datetime]
    )
    reason = models.CharField(max_length=12, choices=Reason.choices)
    reason_other = models.CharField("other reason", max_length=200, blank=True)

    class Meta:
        verbose_name = "blinatumomab interruption"
        ordering = ["infusion", "started_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(reason_other=""),
                name="interruption_other_reason_text",
                violation_error_message="Describe the other reason.",
            )
        ]

    # The reason as clinicians say it in a sentence ("interruption for hepatotoxicity").
    REASON_WORDS = {
        Reason.HEPATIC: "hepatotoxicity",
        Reason.CRS: "CRS",
        Reason.NEUROLOGICAL: "neurotoxicity",
        Reason.INFECTION: "infection",
    }

    def __str__(self) -> str:
        start = day_text(self.started_at)
        if self.ended_at is None:
            when = f"from {start}, ongoing"
        elif day_text(self.ended_at) == start:
            when = start
        else:
            when = f"{start} to {day_text(self.ended_at)}"
        why = self.REASON_WORDS.get(self.reason) or self.reason_other.strip() or "other reason"
        return f"Interruption {when} ({why})"


class Premedication(InfusionPage, ClinicalRecord):
    """Dexamethasone premedication (BL-5) before the start, a step-up or a restart."""

    subject_parent = "infusion"

    class Before(models.TextChoices):
        START = "start", "Infusion start"
        STEP_UP = "step_up", "Step-up"
        RESTART = "restart", "Restart"

    infusion = models.ForeignKey(
        BlinatumomabInfusion, on_delete=models.PROTECT, related_name="premedications"
    )
    given_at = models.DateTimeField(validators=[not_in_future_datetime])
    dexamethasone_mg = models.DecimalField(
        "dexamethasone (mg)", max_digits=4, decimal_places=1, validators=[MinValueValidator(0)]
    )
    before = models.CharField(max_length=8, choices=Before.choices)

    class Meta:
        verbose_name = "dexamethasone premedication"
        ordering = ["infusion", "given_at"]

    def __str__(self) -> str:
        before = self.get_before_display().lower()
        dose = plain_number(self.dexamethasone_mg)
        return (
            f"Premedication dexamethasone {dose} mg before {before}, {moment_text(self.given_at)}"
        )
