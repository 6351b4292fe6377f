from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from audit.models import AuditedModel, ClinicalRecord
from protocol.participation import SubjectStatus

from ..validators import not_in_future
from .pages import FormPage
from .sites import Site
from .study import ProtocolVersion


class Screening(AuditedModel):
    """Informed consent and the eligibility checklist. An eligible patient is enrolled (and gets
    a study ID); an ineligible one is a screen failure with the reason, and gets none."""

    class Outcome(models.TextChoices):
        ENROLLED = "enrolled", "Enrolled"
        SCREEN_FAILURE = "screen_failure", "Screen failure"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="screenings")
    screening_number = models.CharField(max_length=12, unique=True, editable=False)
    sequence = models.PositiveSmallIntegerField(editable=False)
    consent_date = models.DateField("informed consent date", validators=[not_in_future])
    consent_version = models.CharField("consent form version", max_length=30)
    adult_at_consent = models.BooleanField("adult (18 or older) at consent")
    untreated_ph_negative_bcp_all = models.BooleanField(
        "untreated Ph-negative (BCR::ABL1-negative) B-cell precursor ALL"
    )
    cd19_positive = models.BooleanField("CD19-positive")
    no_contraindication = models.BooleanField("no contraindication to the protocol chemotherapy")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    failure_reason = models.TextField("reason for screen failure", blank=True)

    ELIGIBILITY_FIELDS = (
        "adult_at_consent",
        "untreated_ph_negative_bcp_all",
        "cd19_positive",
        "no_contraindication",
    )

    class Meta:
        ordering = ["site__number", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["site", "sequence"], name="screening_sequence_per_site"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="screen_failure") | ~Q(failure_reason=""),
                name="screen_failure_has_reason",
                violation_error_message="A screen failure needs its reason.",
            ),
        ]

    def __str__(self) -> str:
        return f"Screening {self.screening_number}"

    @property
    def eligible(self) -> bool:
        return all(getattr(self, name) for name in self.ELIGIBILITY_FIELDS)


class Subject(AuditedModel):
    """An enrolled patient, known in the eCRF only by the pseudonymous study ID."""

    class Status(models.TextChoices):
        # Derived from the end-of-study and death records (protocol/participation.py).
        ENROLLED = SubjectStatus.ON_STUDY.value, "On study"
        COMPLETED = SubjectStatus.COMPLETED.value, "Study completed"
        WITHDRAWN = SubjectStatus.WITHDRAWN.value, "Withdrew consent"
        ENDED_EARLY = SubjectStatus.ENDED_EARLY.value, "Ended study early"
        DIED = SubjectStatus.DIED.value, "Died"

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="subjects")
    screening = models.OneToOneField(
        Screening, null=True, blank=True, on_delete=models.PROTECT, related_name="subject"
    )
    sequence = models.PositiveSmallIntegerField(editable=False)
    study_id = models.CharField("study ID", max_length=12, unique=True, editable=False)
    day1_date = models.DateField(
        "study day 1",
        help_text="First day of Pre-Induction (first dexamethasone dose).",
        validators=[not_in_future],
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ENROLLED)
    protocol_version = models.ForeignKey(
        ProtocolVersion,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="subjects",
        help_text="The version in force on the subject's study day 12 (rules §3).",
    )
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["site__number", "sequence"]
        constraints = [
            models.UniqueConstraint(fields=["site", "sequence"], name="subject_sequence_per_site"),
            models.CheckConstraint(condition=Q(sequence__gte=1), name="subject_sequence_positive"),
        ]

    def __str__(self) -> str:
        return f"Subject {self.study_id}"

    def get_absolute_url(self) -> str:
        return reverse("crf:subject_detail", args=[self.study_id])


class Baseline(FormPage, ClinicalRecord):
    """The patient's characteristics at diagnosis: every field of the paper's Table 1.

    No names, birth dates or national IDs: only the year of birth.
    """

    form_slug = "baseline"

    class Sex(models.TextChoices):
        MALE = "M", "Male"
        FEMALE = "F", "Female"

    class Immunophenotype(models.TextChoices):
        B_I = "B-I", "B-I (pro-B)"
        B_II = "B-II", "B-II (common B)"
        B_III = "B-III", "B-III (pre-B)"
        B_IV = "B-IV", "B-IV (mature B)"

    class Karyotype(models.TextChoices):
        NORMAL = "normal", "Normal"
        T_9_22 = "t(9;22)", "t(9;22)"
        T_X_11 = "t(X;11)", "t(X;11)"
        T_2_8 = "t(2;8)", "t(2;8)"
        LOW_HYPODIPLOIDY = "low_hypodiploidy", "Low hypodiploidy / near triploidy"
        HYPERDIPLOIDY = "hyperdiploidy", "Hyperdiploidy"
        COMPLEX = "complex", "Complex"
        OTHER = "other", "Other"
        UNSUCCESSFUL = "unsuccessful", "Unsuccessful cultivation"

    class Cd20(models.TextChoices):
        YES = "yes", "Yes"
        NO = "no", "No"
        UNKNOWN = "unknown", "Unknown"

    class CnsStatus(models.TextChoices):
        CNS1 = "CNS1", "CNS1"
        CNS2 = "CNS2", "CNS2"
        CNS3 = "CNS3", "CNS3"
        TLP_POSITIVE = "TLP+", "TLP+ (traumatic lumbar puncture, blasts)"
        TLP_NEGATIVE = "TLP-", "TLP- (traumatic lumbar puncture, no blasts)"

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="baseline")
    sex = models.CharField(max_length=1, choices=Sex.choices)
    year_of_birth = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1900), MaxValueValidator(2100)]
    )
    height_cm = models.DecimalField("height (cm)", max_digits=4, decimal_places=1)
    weight_kg = models.DecimalField("weight (kg)", max_digits=4, decimal_places=1)
    bsa_m2 = models.DecimalField("BSA (m²)", max_digits=3, decimal_places=2, editable=False)
    bsa_formula = models.CharField("BSA formula", max_length=20, editable=False)
    diagnosis_date = models.DateField(validators=[not_in_future])
    leukocytes = models.DecimalField(
        "blood leukocytes (×10⁹/L)",
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(1500)],
    )
    marrow_blasts_percent = models.DecimalField(
        "bone marrow blasts (%)",
        max_digits=4,
        decimal_places=1,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    immunophenotype = models.CharField(max_length=5, choices=Immunophenotype.choices)
    cd20_positive = models.CharField(
        "CD20-positive (any positivity)",
        max_length=7,
        choices=Cd20.choices,
        help_text="Unknown when CD20 was not assessed.",
    )
    karyotype = models.CharField(max_length=20, choices=Karyotype.choices)
    ph_like = models.BooleanField("Ph-like")
    ikzf1plus = models.BooleanField("IKZF1plus")
    kmt2a_rearranged = models.BooleanField("KMT2A rearranged")
    other_genomic_subgroup = models.CharField(
        "other high-risk genomic subgroup", max_length=200, blank=True
    )
    cns_status = models.CharField("CNS status", max_length=4, choices=CnsStatus.choices)
    igtr_target_available = models.BooleanField("IG/TR target available for MRD")

    def __str__(self) -> str:
        return "Baseline"


class EditCheckConfirmation(models.Model):
    """An investigator's confirmation of a soft edit check: the value was saved knowingly.

    Kept with the record it concerns; monitors see these as automatic queries. Append-only.
    """

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="edit_check_confirmations"
    )
    check_code = models.CharField(max_length=40)
    message = models.TextField()
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField(auto_now_add=True)
    record_version = models.PositiveIntegerField()

    class Meta:
        ordering = ["-confirmed_at"]
        indexes = [models.Index(fields=["content_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.check_code} confirmed by {self.confirmed_by} on {self.confirmed_at:%Y-%m-%d}"
