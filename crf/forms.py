from django import forms

from audit.forms import AuditedModelForm

from .models import Site, Subject
from .validators import not_in_future


class DateInput(forms.DateInput):
    input_type = "date"


class EnrolmentForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), empty_label=None)
    day1_date = forms.DateField(
        label="Study day 1",
        widget=DateInput,
        help_text="First day of Pre-Induction (first dexamethasone dose), as YYYY-MM-DD.",
        error_messages={"invalid": "Enter the date as YYYY-MM-DD, for example 2026-03-14."},
        validators=[not_in_future],
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites


class SubjectForm(AuditedModelForm):
    """Corrections to a subject's enrolment data, each with a reason."""

    class Meta:
        model = Subject
        fields = ["day1_date"]
        widgets = {"day1_date": DateInput}
        error_messages = {
            "day1_date": {"invalid": "Enter the date as YYYY-MM-DD, for example 2026-03-14."}
        }


class SubjectFilterForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False, empty_label="All")
    status = forms.ChoiceField(choices=[("", "All")] + list(Subject.Status.choices), required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
