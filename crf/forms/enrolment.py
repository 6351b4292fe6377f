from django import forms

from audit.forms import AuditedModelForm

from ..models import Screening, Site, Subject
from ..validators import not_in_future
from .common import IsoDateField, yes_no_field


class ScreeningForm(forms.Form):
    """Informed consent, the eligibility checklist and, for an eligible patient, study day 1."""

    site = forms.ModelChoiceField(queryset=Site.objects.none(), empty_label=None)
    consent_date = IsoDateField(label="Informed consent date", validators=[not_in_future])
    consent_version = forms.CharField(
        label="Consent form version", max_length=30, help_text="As printed on the form, e.g. 2.1"
    )
    adult_at_consent = yes_no_field("Adult (18 or older) at consent")
    untreated_ph_negative_bcp_all = yes_no_field(
        "Untreated Ph-negative (BCR::ABL1-negative) B-cell precursor ALL"
    )
    cd19_positive = yes_no_field("CD19-positive")
    no_contraindication = yes_no_field("No contraindication to the protocol chemotherapy")
    day1_date = IsoDateField(
        label="Study day 1",
        required=False,
        help_text="First day of Pre-Induction (first dexamethasone dose). Eligible patients only.",
        validators=[not_in_future],
    )
    failure_reason = forms.CharField(
        label="Reason for screen failure",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when any eligibility answer is No.",
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites

    def eligibility(self) -> dict[str, bool]:
        return {name: self.cleaned_data[name] for name in Screening.ELIGIBILITY_FIELDS}


class SubjectForm(AuditedModelForm):
    """Corrections to a subject's enrolment data, each with a reason."""

    class Meta:
        model = Subject
        fields = ["day1_date"]
        field_classes = {"day1_date": IsoDateField}


class SubjectFilterForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False, empty_label="All")
    status = forms.ChoiceField(choices=[("", "All"), *Subject.Status.choices], required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
