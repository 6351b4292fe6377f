from django import forms

from audit.forms import AuditedModelForm

from .models import Site, Subject
from .validators import not_in_future

ISO_DATE = "%Y-%m-%d"
DATE_FORMAT_MESSAGE = "Enter the date as YYYY-MM-DD, for example 2026-03-14."


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATE)


class IsoDateField(forms.DateField):
    """A date as YYYY-MM-DD only: 03/04/2026 means different days in different hospitals."""

    widget = DateInput
    input_formats = [ISO_DATE]
    default_error_messages = {"invalid": DATE_FORMAT_MESSAGE}


class EnrolmentForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), empty_label=None)
    day1_date = IsoDateField(
        label="Study day 1",
        help_text="First day of Pre-Induction (first dexamethasone dose), as YYYY-MM-DD.",
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
        field_classes = {"day1_date": IsoDateField}


class SubjectFilterForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), required=False, empty_label="All")
    status = forms.ChoiceField(choices=[("", "All")] + list(Subject.Status.choices), required=False)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
