"""Forms of the subject's clinical records (one per record type)."""

from django import forms

from ..models import (
    Baseline,
    Day11Assessment,
    Death,
    DrugAdministration,
    EndOfStudy,
    FollowUpContact,
    IntrathecalAdministration,
    MrdTriggeredBlinatumomab,
    Relapse,
    ResponseAssessment,
    SalvageTherapy,
    SecondMalignancy,
    Transplant,
    TreatmentCourse,
    Visit,
)
from .common import ClinicalRecordForm, yes_no_field
from .numbers import MrdValueField


class BaselineForm(ClinicalRecordForm):
    class Meta:
        model = Baseline
        fields = [
            "sex",
            "year_of_birth",
            "height_cm",
            "weight_kg",
            "diagnosis_date",
            "leukocytes",
            "marrow_blasts_percent",
            "immunophenotype",
            "cd20_positive",
            "karyotype",
            "ph_like",
            "ikzf1plus",
            "kmt2a_rearranged",
            "other_genomic_subgroup",
            "cns_status",
            "igtr_target_available",
        ]

    number_units = {"leukocytes": "×10⁹/L"}


class Day11Form(ClinicalRecordForm):
    class Meta:
        model = Day11Assessment
        fields = ["assessed_on", "marrow_blasts_percent"]


class VisitForm(ClinicalRecordForm):
    """A planned visit: done on a date, or missed with the reason. Its first date (or its
    first "missed") is the first entry of the planned visit, not a change."""

    fills_in_planned_records = True

    class Meta:
        model = Visit
        fields = ["actual_date", "missed", "missed_reason", "notes"]
        labels = {"actual_date": "Visit date", "missed": "Visit missed"}

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("missed") and not (cleaned.get("missed_reason") or "").strip():
            self.add_error("missed_reason", "A missed visit needs its reason.")
        if cleaned.get("missed") and cleaned.get("actual_date"):
            self.add_error("missed", "A visit with a date was not missed: clear one of the two.")
        return cleaned


class UnscheduledVisitForm(ClinicalRecordForm):
    class Meta:
        model = Visit
        fields = ["name", "actual_date", "notes"]
        labels = {"name": "Reason for the visit", "actual_date": "Visit date"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actual_date"].required = True


class TreatmentCourseForm(ClinicalRecordForm):
    class Meta:
        model = TreatmentCourse
        fields = ["phase", "start_date", "height_cm", "weight_kg"]
        help_texts = {
            "weight_kg": "Current weight: the BSA and every dose of the course are calculated "
            "from it.",
        }


class AdministrationForm(ClinicalRecordForm):
    class Meta:
        model = DrugAdministration
        fields = ["administered_dose", "administered_on", "deviation_reason"]
        widgets = {"deviation_reason": forms.TextInput()}

    # The dose given, entered for the first time, fills in the row the course planned.
    fills_in_planned_records = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The unit of the dose given is the row's own (mg, IU, ...), the calculated dose's.
        self.fields["administered_dose"].widget.unit = self.instance.dose_unit


class IntrathecalForm(ClinicalRecordForm):
    class Meta:
        model = IntrathecalAdministration
        fields = [
            "administered_on",
            "phase",
            "cytarabine_mg",
            "dexamethasone_mg",
            "methotrexate_mg",
        ]


class ResponseForm(ClinicalRecordForm):
    class Meta:
        model = ResponseAssessment
        fields = ["assessed_on", "response"]


class TransplantForm(ClinicalRecordForm):
    class Meta:
        model = Transplant
        fields = ["transplant_date", "in_first_cr", "reason", "reason_other"]


class RelapseForm(ClinicalRecordForm):
    class Meta:
        model = Relapse
        fields = ["relapse_date", "kind"]


class SecondMalignancyForm(ClinicalRecordForm):
    class Meta:
        model = SecondMalignancy
        fields = ["diagnosis_date", "diagnosis"]


class DeathForm(ClinicalRecordForm):
    class Meta:
        model = Death
        fields = ["death_date", "cause"]


class EndOfStudyForm(ClinicalRecordForm):
    class Meta:
        model = EndOfStudy
        fields = ["end_date", "reason", "details"]


class FollowUpForm(ClinicalRecordForm):
    class Meta:
        model = FollowUpContact
        fields = ["last_known_alive", "in_remission"]


class MrdTriggeredBlinatumomabForm(ClinicalRecordForm):
    cd19_reconfirmed = yes_no_field("CD19 expression reconfirmed")
    mrd_after_value = MrdValueField(
        label="MRD value after the course",
        help_text="Quantifiable results only, as the laboratory writes it, e.g. 1.2E-4.",
    )

    class Meta:
        model = MrdTriggeredBlinatumomab
        fields = [
            "start_date",
            "end_date",
            "cycles",
            "dose_ug_per_day",
            "cd19_reconfirmed",
            "cd19_date",
            "mrd_after_class",
            "mrd_after_value",
            "comment",
        ]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}


class SalvageTherapyForm(ClinicalRecordForm):
    class Meta:
        model = SalvageTherapy
        fields = [
            "start_date",
            "end_date",
            "regimen",
            "regimen_other",
            "indication",
            "outcome",
            "comment",
        ]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}
