from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from audit.models import AuditedModel, ClinicalRecord
from audit.naming import day_text, moment_text, plain_number
from crf.models import InfusionInterruption, Site, Subject
from crf.validators import not_in_future, not_in_future_datetime
from protocol import astct, ctcae

LAB_TEST_CHOICES = [(test.value, ctcae.LAB_TEST_LABELS[test]) for test in ctcae.LabTest]
LAB_VALUE_DIGITS = {"max_digits": 12, "decimal_places": 4}


def _choices(enum) -> list[tuple[str, str]]:
    return [(member.value, member.value.replace("_", " ")) for member in enum]


class CtcaeTerm(models.Model):
    """The CTCAE v5.0 term list: the terms this trial needs ship with the project; the full NCI
    list is loaded with `manage.py import_ctcae FILE`."""

    meddra_code = models.PositiveBigIntegerField("MedDRA code", unique=True)
    term = models.CharField(max_length=200, db_index=True)
    soc = models.CharField("system organ class", max_length=200)
    grades = models.CharField(max_length=9, help_text="The grades the term has, e.g. 1,2,3,4,5.")
    version = models.CharField("CTCAE version", max_length=10, default="5.0")

    class Meta:
        verbose_name = "CTCAE term"
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} ({self.meddra_code})"

    @property
    def grade_set(self) -> frozenset[int]:
        return frozenset(int(g) for g in self.grades.split(",") if g)

    def as_protocol(self) -> ctcae.CtcaeTerm:
        return ctcae.CtcaeTerm(self.meddra_code, self.term, self.soc, self.grade_set)


class SiteLabRange(AuditedModel):
    """A site laboratory's reference range for one test: the default of each new lab value."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="lab_ranges")
    test = models.CharField(max_length=12, choices=LAB_TEST_CHOICES)
    unit = models.CharField(max_length=12)
    lln = models.DecimalField(
        "lower limit of normal (LLN)", null=True, blank=True, **LAB_VALUE_DIGITS
    )
    uln = models.DecimalField(
        "upper limit of normal (ULN)", null=True, blank=True, **LAB_VALUE_DIGITS
    )

    class Meta:
        verbose_name = "site laboratory range"
        ordering = ["site", "test"]
        constraints = [
            models.UniqueConstraint(fields=["site", "test"], name="lab_range_per_site_test")
        ]

    def __str__(self) -> str:
        return f"{self.site} {self.get_test_display()}"


class LabPanel(ClinicalRecord):
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="lab_panels")
    sampled_at = models.DateTimeField("sampled", validators=[not_in_future_datetime])
    local_lab = models.CharField("local laboratory", max_length=120)

    class Meta:
        ordering = ["subject", "-sampled_at"]

    def __str__(self) -> str:
        return f"Lab panel {moment_text(self.sampled_at)}"

    def get_absolute_url(self) -> str:
        return reverse("safety:labs", args=[self.subject.study_id])


class LabValue(ClinicalRecord):
    """One value of a panel, with its unit and that sample's reference range as entered, the
    value converted to the standard unit, and its CTCAE v5.0 grade (protocol/ctcae.py)."""

    subject_parent = "panel"

    panel = models.ForeignKey(LabPanel, on_delete=models.PROTECT, related_name="values")
    test = models.CharField(max_length=12, choices=LAB_TEST_CHOICES)
    value = models.DecimalField(validators=[MinValueValidator(0)], **LAB_VALUE_DIGITS)
    unit = models.CharField(max_length=12)
    lln = models.DecimalField("LLN", null=True, blank=True, **LAB_VALUE_DIGITS)
    uln = models.DecimalField("ULN", null=True, blank=True, **LAB_VALUE_DIGITS)
    standard_value = models.DecimalField(
        "value in the standard unit", editable=False, **LAB_VALUE_DIGITS
    )
    standard_unit = models.CharField(max_length=12, editable=False)
    grade = models.PositiveSmallIntegerField("CTCAE grade", null=True, blank=True, editable=False)
    grading_system = models.CharField(max_length=20, editable=False)
    grade_note = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        ordering = ["panel", "test"]
        constraints = [
            models.UniqueConstraint(fields=["panel", "test"], name="lab_value_per_panel_test")
        ]

    def __str__(self) -> str:
        return f"{self.panel}, {self.get_test_display()} {plain_number(self.value)} {self.unit}"

    def get_absolute_url(self) -> str:
        return reverse("safety:lab_value", args=[self.panel.subject.study_id, self.pk])


class AdverseEvent(ClinicalRecord):
    class Relationship(models.TextChoices):
        NOT_RELATED = "not_related", "Not related"
        UNLIKELY = "unlikely", "Unlikely"
        POSSIBLE = "possible", "Possible"
        PROBABLE = "probable", "Probable"
        DEFINITE = "definite", "Definite"

    class Action(models.TextChoices):
        NONE = "none", "None"
        INTERRUPTED = "interrupted", "Interrupted"
        DOSE_REDUCED = "dose_reduced", "Dose reduced"
        DISCONTINUED = "discontinued", "Discontinued"
        NOT_APPLICABLE = "not_applicable", "Not on blinatumomab"

    class Outcome(models.TextChoices):
        RECOVERED = "recovered", "Recovered"
        RECOVERING = "recovering", "Recovering"
        NOT_RECOVERED = "not_recovered", "Not recovered"
        SEQUELAE = "sequelae", "Recovered with sequelae"
        FATAL = "fatal", "Fatal"
        UNKNOWN = "unknown", "Unknown"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="adverse_events")
    term = models.ForeignKey(CtcaeTerm, on_delete=models.PROTECT, related_name="+")
    verbatim = models.CharField("verbatim text", max_length=300)
    onset_date = models.DateField(validators=[not_in_future])
    end_date = models.DateField(null=True, blank=True, validators=[not_in_future])
    grade = models.PositiveSmallIntegerField(
        "CTCAE grade", validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    grading_system = models.CharField(max_length=20, editable=False)
    grade_justification = models.TextField("why the grade differs from the derived one", blank=True)
    serious = models.BooleanField("serious (SAE)", default=False)
    criterion_death = models.BooleanField("results in death", default=False)
    criterion_life_threatening = models.BooleanField("life-threatening", default=False)
    criterion_hospitalisation = models.BooleanField(
        "hospitalisation or its prolongation", default=False
    )
    criterion_disability = models.BooleanField("persistent disability", default=False)
    criterion_congenital_anomaly = models.BooleanField("congenital anomaly", default=False)
    criterion_medically_important = models.BooleanField("medically important", default=False)
    relationship_blinatumomab = models.CharField(
        "relationship to blinatumomab", max_length=12, choices=Relationship.choices
    )
    relationship_chemotherapy = models.CharField(
        "relationship to chemotherapy", max_length=12, choices=Relationship.choices
    )
    action_blinatumomab = models.CharField(
        "action taken with blinatumomab", max_length=16, choices=Action.choices
    )
    outcome = models.CharField(max_length=14, choices=Outcome.choices)
    # ASTCT 2019 cytokine release syndrome (rules §6)
    crs_fever = models.BooleanField("CRS: fever ≥ 38 °C", null=True, blank=True)
    crs_hypotension = models.CharField(
        "CRS: hypotension", max_length=24, blank=True,
        choices=_choices(astct.Hypotension),
    )  # fmt: skip
    crs_oxygen = models.CharField(
        "CRS: oxygen support", max_length=24, blank=True,
        choices=_choices(astct.OxygenSupport),
    )  # fmt: skip
    crs_after_antipyretics = models.BooleanField(
        "CRS: after antipyretics or anti-cytokine therapy", default=False
    )
    # ICANS (rules §6): ICE sub-scores and the other domains
    ice_orientation = models.PositiveSmallIntegerField(
        "ICE: orientation (0–4)", null=True, blank=True
    )
    ice_naming = models.PositiveSmallIntegerField("ICE: naming (0–3)", null=True, blank=True)
    ice_commands = models.PositiveSmallIntegerField("ICE: commands (0–3)", null=True, blank=True)
    ice_writing = models.PositiveSmallIntegerField("ICE: writing (0–1)", null=True, blank=True)
    ice_attention = models.PositiveSmallIntegerField("ICE: attention (0–1)", null=True, blank=True)
    icans_unarousable = models.BooleanField("ICANS: patient unarousable", default=False)
    icans_consciousness = models.CharField(
        "ICANS: level of consciousness",
        max_length=40,
        blank=True,
        choices=_choices(astct.Consciousness),
    )
    icans_seizure = models.CharField(
        "ICANS: seizure", max_length=40, blank=True, choices=_choices(astct.Seizure)
    )
    icans_motor = models.CharField(
        "ICANS: motor findings", max_length=40, blank=True, choices=_choices(astct.MotorFinding)
    )
    icans_raised_icp = models.CharField(
        "ICANS: raised ICP / cerebral oedema",
        max_length=60,
        blank=True,
        choices=_choices(astct.RaisedIcp),
    )
    # Serious adverse events (rules §8)
    awareness_at = models.DateTimeField(
        "site became aware", null=True, blank=True, validators=[not_in_future_datetime]
    )
    sponsor_notified_at = models.DateTimeField(
        "sponsor notified", null=True, blank=True, validators=[not_in_future_datetime]
    )
    susar = models.BooleanField(
        "SUSAR (suspected unexpected serious adverse reaction)", default=False
    )
    sponsor_awareness_date = models.DateField(
        "sponsor became aware", null=True, blank=True, validators=[not_in_future]
    )

    class Meta:
        ordering = ["subject", "-onset_date"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("onset_date")),
                name="ae_ends_after_onset",
                violation_error_message="The end must be on or after the onset.",
            ),
            models.CheckConstraint(
                condition=~Q(grade=5) | Q(outcome="fatal"),
                name="ae_grade5_is_fatal",
                violation_error_message="Grade 5 means death: the outcome must be fatal.",
            ),
        ]

    def __str__(self) -> str:
        kind = "SAE" if self.serious else "AE"
        return f"{kind} {self.term.term}, grade {self.grade} (onset {self.onset_date:%Y-%m-%d})"

    CRITERIA = (
        "criterion_death",
        "criterion_life_threatening",
        "criterion_hospitalisation",
        "criterion_disability",
        "criterion_congenital_anomaly",
        "criterion_medically_important",
    )

    def get_absolute_url(self) -> str:
        return reverse("safety:adverse_event", args=[self.subject.study_id, self.pk])


class AdverseEventLabLink(AuditedModel):
    """An adverse event relates to this lab value (links are audited like the data)."""

    subject_parent = "adverse_event"

    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.CASCADE, related_name="lab_links"
    )
    lab_value = models.ForeignKey(LabValue, on_delete=models.PROTECT, related_name="ae_links")

    class Meta:
        verbose_name = "AE–lab value link"
        constraints = [
            models.UniqueConstraint(fields=["adverse_event", "lab_value"], name="ae_lab_link_once")
        ]

    def __str__(self) -> str:
        return f"{self.adverse_event} related to {self.lab_value}"

    def get_absolute_url(self) -> str:
        return self.adverse_event.get_absolute_url()


class AdverseEventInterruptionLink(AuditedModel):
    """An adverse event relates to this blinatumomab interruption."""

    subject_parent = "adverse_event"

    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.CASCADE, related_name="interruption_links"
    )
    interruption = models.ForeignKey(
        InfusionInterruption, on_delete=models.PROTECT, related_name="ae_links"
    )

    class Meta:
        verbose_name = "AE–interruption link"
        constraints = [
            models.UniqueConstraint(
                fields=["adverse_event", "interruption"], name="ae_interruption_link_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.adverse_event} related to {self.interruption}"

    def get_absolute_url(self) -> str:
        return self.adverse_event.get_absolute_url()


class SaeFollowUp(ClinicalRecord):
    """A follow-up report of a serious adverse event."""

    subject_parent = "adverse_event"

    adverse_event = models.ForeignKey(
        AdverseEvent, on_delete=models.PROTECT, related_name="follow_ups"
    )
    reported_at = models.DateTimeField("reported", validators=[not_in_future_datetime])
    report = models.TextField()

    class Meta:
        verbose_name = "SAE follow-up"
        ordering = ["adverse_event", "reported_at"]

    def __str__(self) -> str:
        return f"Follow-up {day_text(self.reported_at)} of {self.adverse_event}"

    @property
    def subject(self):
        return self.adverse_event.subject

    def get_absolute_url(self) -> str:
        return self.adverse_event.get_absolute_url()
