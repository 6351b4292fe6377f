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
    Relapse,
    ResponseAssessment,
    SecondMalignancy,
    Transplant,
    TreatmentCourse,
    Visit,
)
from .common import ClinicalRecordForm


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


class Day11Form(ClinicalRecordForm):
    class Meta:
        model = Day11Assessment
        fields = ["assessed_on", "marrow_blasts_percent"]


class VisitForm(ClinicalRecordForm):
    """A planned visit: done on a date, or missed with the reason."""

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "reason_for_change" in self.fields and self.instance.administered_dose is None:
            # Entering the dose given for the first time fills in a planned row: no reason.
            self.fields["reason_for_change"].required = False


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
