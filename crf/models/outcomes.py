from django.db import models
from django.db.models import Q

from audit.models import ClinicalRecord

from ..validators import not_in_future
from .pages import FormPage
from .subjects import Subject


class ResponseAssessment(FormPage, ClinicalRecord):
    """Day-40 response at the end of Induction I."""

    form_slug = "response"

    class Response(models.TextChoices):
        CR = "CR", "Complete remission (CR)"
        CRI = "CRi", "CR with incomplete recovery (CRi)"
        REFRACTORY = "refractory", "Refractory"

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="day40")
    assessed_on = models.DateField(validators=[not_in_future])
    response = models.CharField(max_length=10, choices=Response.choices)

    class Meta:
        verbose_name = "day-40 response"

    def __str__(self) -> str:
        return f"Day-40 response: {self.get_response_display()} ({self.assessed_on:%Y-%m-%d})"


class Transplant(FormPage, ClinicalRecord):
    """Allogeneic haematopoietic stem cell transplantation (HSCT)."""

    form_slug = "transplant"

    class Reason(models.TextChoices):
        MRD_TRIGGERED = "mrd_triggered", "MRD-triggered"
        PHYSICIAN = "physician", "Physician's decision"
        OTHER = "other", "Other"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="transplants")
    transplant_date = models.DateField("HSCT date", validators=[not_in_future])
    in_first_cr = models.BooleanField("in first CR")
    reason = models.CharField(max_length=14, choices=Reason.choices)
    reason_other = models.CharField("other reason", max_length=200, blank=True)

    class Meta:
        verbose_name = "HSCT"
        verbose_name_plural = "HSCTs"
        ordering = ["subject", "transplant_date"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(reason_other=""),
                name="transplant_other_reason_text",
                violation_error_message="Describe the other reason.",
            )
        ]

    def __str__(self) -> str:
        return f"HSCT {self.transplant_date:%Y-%m-%d} ({self.get_reason_display()})"


class Relapse(FormPage, ClinicalRecord):
    form_slug = "relapse"

    class Kind(models.TextChoices):
        HAEMATOLOGICAL = "haematological", "Haematological"
        MOLECULAR = "molecular", "Molecular"
        CNS = "cns", "CNS"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="relapses")
    relapse_date = models.DateField(validators=[not_in_future])
    kind = models.CharField(max_length=14, choices=Kind.choices)

    class Meta:
        ordering = ["subject", "relapse_date"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} relapse {self.relapse_date:%Y-%m-%d}"


class SecondMalignancy(FormPage, ClinicalRecord):
    form_slug = "second-malignancy"

    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="second_malignancies"
    )
    diagnosis_date = models.DateField(validators=[not_in_future])
    diagnosis = models.CharField(max_length=200)

    class Meta:
        ordering = ["subject", "diagnosis_date"]

    def __str__(self) -> str:
        return f"Second malignancy {self.diagnosis_date:%Y-%m-%d}: {self.diagnosis}"


class Death(FormPage, ClinicalRecord):
    form_slug = "death"

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="death")
    death_date = models.DateField(validators=[not_in_future])
    cause = models.CharField(max_length=200)

    def __str__(self) -> str:
        return f"Death {self.death_date:%Y-%m-%d}: {self.cause}"


class EndOfStudy(FormPage, ClinicalRecord):
    form_slug = "end-of-study"

    class Reason(models.TextChoices):
        COMPLETED = "completed", "Completed follow-up"
        WITHDRAWAL = "withdrawal", "Withdrawal of consent"
        INVESTIGATOR = "investigator", "Investigator's decision"
        LOST = "lost", "Lost to follow-up"
        DEATH = "death", "Death"
        OTHER = "other", "Other"

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="end_of_study")
    end_date = models.DateField(validators=[not_in_future])
    reason = models.CharField(max_length=12, choices=Reason.choices)
    details = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "end of study"
        verbose_name_plural = "ends of study"
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason="other") | ~Q(details=""),
                name="end_of_study_other_reason_text",
                violation_error_message="Describe the other reason.",
            )
        ]

    def __str__(self) -> str:
        return f"End of study {self.end_date:%Y-%m-%d}: {self.get_reason_display()}"


class FollowUpContact(FormPage, ClinicalRecord):
    """The last date the patient was known to be alive, recorded at each follow-up contact."""

    form_slug = "follow-up"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="follow_ups")
    last_known_alive = models.DateField(validators=[not_in_future])
    in_remission = models.BooleanField("in continuous remission")

    class Meta:
        verbose_name = "follow-up contact"
        ordering = ["subject", "-last_known_alive"]

    def __str__(self) -> str:
        return f"Follow-up: alive on {self.last_known_alive:%Y-%m-%d}"
