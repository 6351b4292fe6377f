from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

from audit.models import ClinicalRecord
from crf.models import Subject
from crf.validators import not_in_future
from protocol import mrd

TIMEPOINT_CHOICES = [
    (mrd.Timepoint.D40.value, "Day 40 (end of Induction I)"),
    (mrd.Timepoint.W11.value, "Week 11 (primary endpoint)"),
    (mrd.Timepoint.W18.value, "Week 18"),
    (mrd.Timepoint.FOLLOW_UP.value, "Follow-up"),
    (mrd.Timepoint.UNSCHEDULED.value, "Unscheduled"),
]
# MRD values are fractions down to 1E-7 and below: kept exact, as decimals, never floats.
MRD_DIGITS = {"max_digits": 20, "decimal_places": 15}


class MrdSample(ClinicalRecord):
    """A marrow or blood sample a site sent to the central MRD laboratory."""

    class Material(models.TextChoices):
        BONE_MARROW = "bone_marrow", "Bone marrow"
        PERIPHERAL_BLOOD = "peripheral_blood", "Peripheral blood"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="mrd_samples")
    accession = models.CharField(
        max_length=24, unique=True, editable=False, help_text="The label on the tube."
    )
    timepoint = models.CharField("MRD timepoint", max_length=3, choices=TIMEPOINT_CHOICES)
    material = models.CharField(max_length=16, choices=Material.choices)
    sampled_on = models.DateField("sampling date", validators=[not_in_future])

    class Meta:
        verbose_name = "MRD sample"
        ordering = ["subject", "sampled_on", "id"]

    def __str__(self) -> str:
        material = self.get_material_display().lower()
        return (
            f"MRD sample {self.timepoint} {material} {self.sampled_on:%Y-%m-%d} ({self.accession})"
        )

    def get_absolute_url(self) -> str:
        return reverse("mrd:subject", args=[self.subject.study_id])


class MrdResult(ClinicalRecord):
    """The central laboratory's result for a sample by one method. A week-11 PNQ gets an NGS
    result beside the qPCR one; a correction is a new version of the row, with its reason."""

    subject_parent = "sample"

    sample = models.ForeignKey(MrdSample, on_delete=models.PROTECT, related_name="results")
    method = models.CharField(
        max_length=4, choices=[(mrd.Method.QPCR.value, "qPCR IG/TR"), (mrd.Method.NGS.value, "NGS")]
    )
    markers = models.CharField("markers used", max_length=200, blank=True)
    result_class = models.CharField(
        "result",
        max_length=14,
        choices=[
            (mrd.ResultClass.NEGATIVE.value, "Negative"),
            (mrd.ResultClass.PNQ.value, "Positive, not quantifiable"),
            (mrd.ResultClass.QUANTIFIABLE.value, "Quantifiable"),
            (mrd.ResultClass.NOT_EVALUABLE.value, "Not evaluable"),
        ],
    )
    value = models.DecimalField(
        "MRD value", null=True, blank=True, validators=[MinValueValidator(0)], **MRD_DIGITS
    )
    sensitivity = models.DecimalField("sensitivity reached", null=True, blank=True, **MRD_DIGITS)
    quantitative_range = models.DecimalField(null=True, blank=True, **MRD_DIGITS)
    not_evaluable_reason = models.CharField(max_length=200, blank=True)
    report_date = models.DateField(validators=[not_in_future])
    comment = models.TextField(blank=True)

    class Meta:
        verbose_name = "MRD result"
        ordering = ["sample", "method"]
        constraints = [
            models.UniqueConstraint(fields=["sample", "method"], name="mrd_result_per_method"),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(result_class="quantifiable"),
                name="mrd_value_only_when_quantifiable",
                violation_error_message="Only a quantifiable result has a value.",
            ),
            models.CheckConstraint(
                condition=~Q(result_class="not_evaluable") | ~Q(not_evaluable_reason=""),
                name="mrd_not_evaluable_has_reason",
                violation_error_message="Give the reason the sample is not evaluable.",
            ),
        ]

    def __str__(self) -> str:
        method = {"qpcr": "qPCR", "ngs": "NGS"}.get(self.method, self.method)
        return f"MRD {self.sample.timepoint} {method} ({self.sample.sampled_on:%Y-%m-%d})"

    def as_protocol(self) -> mrd.MrdResult:
        return mrd.MrdResult(
            result_class=mrd.ResultClass(self.result_class),
            value=self.value,
            sensitivity=self.sensitivity,
            quantitative_range=self.quantitative_range,
            method=mrd.Method(self.method),
            timepoint=mrd.Timepoint(self.sample.timepoint),
        )

    def get_absolute_url(self) -> str:
        return reverse("mrd:subject", args=[self.sample.subject.study_id])


class MrdUpload(models.Model):
    """A CSV batch of results uploaded by the central laboratory: checked, then committed
    whole or not at all (or cancelled). Kept with its checksum as the record of what was
    loaded. The status names what happened to the file."""

    class Status(models.TextChoices):
        ERRORS = "errors", "Checked — errors, nothing saved"
        READY = "ready", "Checked — ready to commit"
        COMMITTED = "committed", "Committed"
        CANCELLED = "cancelled", "Cancelled \u2014 nothing saved"

    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    filename = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    content = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.READY)
    committed_at = models.DateTimeField(null=True, blank=True)
    rows_created = models.PositiveIntegerField(default=0)
    rows_corrected = models.PositiveIntegerField(default=0)
    rows_unchanged = models.PositiveIntegerField(default=0)
    # The check of every row, computed once when the file arrives (the commit checks again):
    # {"errors": [file errors], "rows": [{number, accession, method, action, errors}]}.
    preview = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "MRD upload"
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.uploaded_at:%Y-%m-%d %H:%M})"

    @property
    def has_errors(self) -> bool:
        return bool(self.preview) and (
            bool(self.preview["errors"]) or any(r["errors"] for r in self.preview["rows"])
        )
