"""Shared form pieces: ISO dates and times, yes/no questions, soft edit-check confirmation."""

from django import forms

from audit.forms import AuditedModelForm

from .numbers import DecimalTextField, WholeNumberTextField

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME = "%Y-%m-%dT%H:%M"
DATE_FORMAT_MESSAGE = "Enter the date as YYYY-MM-DD, for example 2026-03-14."
DATETIME_FORMAT_MESSAGE = (
    "Enter the date and time as YYYY-MM-DD HH:MM, for example 2026-03-14 08:30."
)


# Dates outside these years are typing errors, and the far ones break date arithmetic (a study
# day after 9999-12-31) or cannot be read back (0001-01-01 00:00 in Prague is a BC instant in UTC).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2100
YEAR_RANGE_MESSAGE = f"Enter a date between {EARLIEST_YEAR} and {LATEST_YEAR}."


def _plausible_year(value) -> None:
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise forms.ValidationError(YEAR_RANGE_MESSAGE, code="year_range")


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATE)


class IsoDateField(forms.DateField):
    """A date as YYYY-MM-DD only: 03/04/2026 means different days in different hospitals."""

    widget = DateInput
    input_formats = [ISO_DATE]
    default_error_messages = {"invalid": DATE_FORMAT_MESSAGE}

    def validate(self, value):
        super().validate(value)
        _plausible_year(value)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs, format=ISO_DATETIME)


class IsoDateTimeField(forms.DateTimeField):
    """A local date and time (the site's time zone), stored in UTC."""

    widget = DateTimeInput
    input_formats = [ISO_DATETIME, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
    default_error_messages = {"invalid": DATETIME_FORMAT_MESSAGE}

    def validate(self, value):
        super().validate(value)
        _plausible_year(value)


YES_NO = [(True, "Yes"), (False, "No")]


def yes_no_field(label: str) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO,
        coerce=lambda value: value in (True, "True", "true", "1"),
        widget=forms.RadioSelect,
        error_messages={"required": "Answer yes or no."},
    )


class SoftCheckMixin(forms.Form):
    """Adds the confirmation of soft edit checks: the warnings are shown, and the record is
    saved only when the user ticks "I confirm" (the confirmation is kept with the record)."""

    confirm_warnings = forms.BooleanField(
        required=False, label="I have checked the values flagged above and confirm they are correct"
    )
    warning_codes = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.soft_warnings = []

    def confirmed_codes(self) -> set[str]:
        if not self.cleaned_data.get("confirm_warnings"):
            return set()
        return {c for c in (self.cleaned_data.get("warning_codes") or "").split(",") if c}

    def show_warnings(self, warnings) -> None:
        self.soft_warnings = warnings
        self.data = self.data.copy()
        self.data[self.add_prefix("warning_codes")] = ",".join(w.code for w in warnings)
        self.data[self.add_prefix("confirm_warnings")] = ""


class ClinicalRecordForm(SoftCheckMixin, AuditedModelForm):
    """A form for one clinical record: audited (reason, version) and soft-checked. Dates and
    times are ISO; the fields of the model are otherwise Django's."""

    class Meta:
        field_classes: dict = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in list(self.fields.items()):
            if isinstance(field, forms.DateTimeField) and not isinstance(field, IsoDateTimeField):
                self.fields[name] = _replace(field, IsoDateTimeField)
            elif isinstance(field, forms.DateField) and not isinstance(
                field, IsoDateField | forms.DateTimeField
            ):
                self.fields[name] = _replace(field, IsoDateField)
            elif isinstance(field, forms.DecimalField) and not isinstance(field, DecimalTextField):
                self.fields[name] = _replace_number(field, DecimalTextField)
            elif (
                isinstance(field, forms.IntegerField)
                and not isinstance(field, WholeNumberTextField)
                and not field.widget.is_hidden
            ):
                self.fields[name] = _replace_number(field, WholeNumberTextField)


def _replace_number(field: forms.Field, cls):
    """The same number field, typed as text (see numbers.py). Its limits (minimum, maximum,
    digits) are among the validators it carries over."""
    return _replace(field, cls)


def _replace(field: forms.Field, cls):
    return cls(
        label=field.label,
        required=field.required,
        help_text=field.help_text,
        validators=field.validators,
        initial=field.initial,
    )
