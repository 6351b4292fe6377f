"""Shared form pieces: ISO dates and times, yes/no questions, soft edit-check confirmation."""

from datetime import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from audit.forms import AuditedModelForm

from .numbers import as_typed_number

ISO_DATE = "%Y-%m-%d"
ISO_DATETIME = "%Y-%m-%d %H:%M"
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
    """A date typed as YYYY-MM-DD in a text input: a browser's date input shows the browser's
    locale (03/14/2026) where every page reads 2026-03-14."""

    input_type = "text"

    def __init__(self, attrs=None):
        attrs = {
            "placeholder": "YYYY-MM-DD",
            "pattern": r"\d{4}-\d{1,2}-\d{1,2}",
            "title": "A date as YYYY-MM-DD, for example 2026-03-14",
            "autocomplete": "off",
            "spellcheck": "false",
            **(attrs or {}),
        }
        super().__init__(attrs, format=ISO_DATE)


class IsoDateField(forms.DateField):
    """A date as YYYY-MM-DD only: 03/04/2026 means different days in different hospitals."""

    widget = DateInput
    input_formats = [ISO_DATE]
    default_error_messages = {"invalid": DATE_FORMAT_MESSAGE}

    def validate(self, value):
        super().validate(value)
        _plausible_year(value)


def site_time_zone_text(year: int | None = None) -> str:
    """The site's time zone as a person reads it beside a time input: "Prague time (CET/CEST)",
    the zone's winter and summer abbreviations as the pages print them after a time."""
    zone = timezone.get_default_timezone()
    year = year or timezone.localdate().year
    abbreviations: list[str] = []
    for month in (1, 7):
        abbreviation = datetime(year, month, 1, 12, tzinfo=zone).tzname() or ""
        if abbreviation and abbreviation not in abbreviations:
            abbreviations.append(abbreviation)
    place = settings.TIME_ZONE.rsplit("/", 1)[-1].replace("_", " ")
    if abbreviations == [place]:  # UTC
        return f"{place} time"
    return f"{place} time ({'/'.join(abbreviations)})"


class DateTimeInput(forms.DateTimeInput):
    """A local date and time typed as YYYY-MM-DD HH:MM in a text input (a browser's own input
    shows its locale), with the site's time zone beside it."""

    input_type = "text"
    template_name = "widgets/datetime_text.html"

    def __init__(self, attrs=None):
        attrs = {
            "placeholder": "YYYY-MM-DD HH:MM",
            "pattern": r"\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2})?",
            "title": "A date and time as YYYY-MM-DD HH:MM, for example 2026-03-14 08:30",
            "autocomplete": "off",
            "spellcheck": "false",
            **(attrs or {}),
        }
        super().__init__(attrs, format=ISO_DATETIME)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["zone"] = site_time_zone_text()
        if context["widget"]["attrs"].get("id"):
            zone_id = f"{context['widget']['attrs']['id']}-zone"
            described = context["widget"]["attrs"].get("aria-describedby", "")
            context["widget"]["attrs"]["aria-describedby"] = f"{described} {zone_id}".strip()
        return context


class IsoDateTimeField(forms.DateTimeField):
    """A local date and time (the site's time zone), stored in UTC."""

    widget = DateTimeInput
    # As shown (2026-03-14 08:30), and as a browser's date-time input sends it (2026-03-14T08:30).
    input_formats = [ISO_DATETIME, "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
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


class TypedInputsMixin(forms.BaseForm):
    """Every date of the form is typed as YYYY-MM-DD, every date and time as YYYY-MM-DD HH:MM
    in the site's time zone, every number as text read on the server (numbers.py) with its unit
    beside it: the unit its field's name ends with (weight_kg), or the one `number_units` gives
    a field whose name says none."""

    number_units: dict[str, str] = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in list(self.fields.items()):
            if isinstance(field, forms.DateTimeField) and not isinstance(field, IsoDateTimeField):
                self.fields[name] = _replace(field, IsoDateTimeField)
            elif isinstance(field, forms.DateField) and not isinstance(
                field, IsoDateField | forms.DateTimeField
            ):
                self.fields[name] = _replace(field, IsoDateField)
            else:
                self.fields[name] = as_typed_number(
                    field, name=name, unit=self.number_units.get(name)
                )


class ClinicalRecordForm(TypedInputsMixin, SoftCheckMixin, AuditedModelForm):
    """A form for one clinical record: audited (reason, version) and soft-checked; dates, times
    and numbers typed as TypedInputsMixin reads them."""

    class Meta:
        field_classes: dict = {}


def _replace(field: forms.Field, cls):
    return cls(
        label=field.label,
        required=field.required,
        help_text=field.help_text,
        validators=field.validators,
        initial=field.initial,
    )
