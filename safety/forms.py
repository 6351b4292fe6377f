import re

from django import forms

from crf.forms import ClinicalRecordForm, IsoDateTimeField
from crf.forms.numbers import DecimalTextField, NumberTextInput
from protocol import astct, ctcae

from .models import AdverseEvent, CtcaeTerm, LabValue, SaeFollowUp

TERM_WITH_CODE = re.compile(r"\((\d{6,9})\)\s*$")


class LabPanelForm(forms.Form):
    """A panel: when, which laboratory, and any of the protocol's tests with unit and range.

    The unit and the range of each test start from the site's reference ranges (`ranges`, by
    test: SiteLabRange). Numbers are typed as text (a decimal comma is a decimal point); every
    input and select is named by its test and column for screen readers ("ALT ULN")."""

    sampled_at = IsoDateTimeField(label="Sampled")
    local_lab = forms.CharField(label="Local laboratory", max_length=120)

    COLUMNS = (("value", "value"), ("unit", "unit"), ("lln", "LLN"), ("uln", "ULN"))

    def __init__(self, *args, ranges=None, **kwargs):
        super().__init__(*args, **kwargs)
        ranges = ranges or {}
        self.tests = []
        for test in ctcae.LabTest:
            default = ranges.get(test.value)
            units = ctcae.ALLOWED_UNITS[test]
            label = ctcae.LAB_TEST_LABELS[test]
            self.fields[f"{test}_value"] = _lab_number(f"{label} value", min_value=0)
            unit = default.unit if default and default.unit in units else units[0]
            self.fields[f"{test}_unit"] = forms.ChoiceField(
                label=f"{label} unit",
                choices=[(u, u) for u in units],
                required=False,
                initial=unit,
                widget=forms.Select(
                    attrs={"class": "form-select form-select-sm", "aria-label": f"{label} unit"}
                ),
            )
            for limit in ("lln", "uln"):
                self.fields[f"{test}_{limit}"] = _lab_number(
                    f"{label} {limit.upper()}",
                    min_value=0,
                    initial=getattr(default, limit) if default else None,
                )
            self.tests.append((test, [self[f"{test}_{part}"] for part, _ in self.COLUMNS]))

    def entries(self):
        from .services import LabEntry

        return [
            LabEntry(
                test=test.value,
                value=self.cleaned_data[f"{test}_value"],
                unit=self.cleaned_data[f"{test}_unit"] or ctcae.STANDARD_UNIT[test],
                lln=self.cleaned_data[f"{test}_lln"],
                uln=self.cleaned_data[f"{test}_uln"],
            )
            for test in ctcae.LabTest
            if self.cleaned_data.get(f"{test}_value") is not None
        ]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned  # the field that was refused says why
        if not any(cleaned.get(f"{test}_value") is not None for test in ctcae.LabTest):
            raise forms.ValidationError("Enter at least one value.")
        return cleaned


def _lab_number(label: str, **kwargs) -> DecimalTextField:
    """A value or a limit of a lab test, typed as text, named for screen readers by its test
    and column ("ALT value")."""
    return DecimalTextField(
        label=label,
        required=False,
        max_digits=12,
        decimal_places=4,
        widget=NumberTextInput(
            attrs={"class": "form-control form-control-sm", "aria-label": label}
        ),
        **kwargs,
    )


class LabValueForm(ClinicalRecordForm):
    """Correct one lab value: the value, its unit and its sample's range, named by the test."""

    class Meta:
        model = LabValue
        fields = ["value", "unit", "lln", "uln"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        test = ctcae.LabTest(self.instance.test)
        label = ctcae.LAB_TEST_LABELS[test]
        units = ctcae.ALLOWED_UNITS[test]
        self.fields["unit"] = forms.ChoiceField(
            label=f"{label} unit", choices=[(u, u) for u in units]
        )
        for name, column in (("value", "value"), ("lln", "LLN"), ("uln", "ULN")):
            required = self.fields[name].required
            self.fields[name] = _lab_number(f"{label} {column}", min_value=0)
            self.fields[name].required = required


class TermField(forms.CharField):
    """A CTCAE term typed or picked from the list as "Term (MedDRA code)"."""

    def clean(self, value):
        text = super().clean(value).strip()
        match = TERM_WITH_CODE.search(text)
        term = None
        if match:
            term = CtcaeTerm.objects.filter(meddra_code=int(match.group(1))).first()
        if term is None:
            term = CtcaeTerm.objects.filter(term__iexact=text).first()
        if term is None:
            raise forms.ValidationError(
                f"{text!r} is not a CTCAE v5.0 term: choose one from the list."
            )
        return term

    def prepare_value(self, value):
        if isinstance(value, CtcaeTerm):
            return f"{value.term} ({value.meddra_code})"
        if isinstance(value, int):
            term = CtcaeTerm.objects.filter(pk=value).first()
            return f"{term.term} ({term.meddra_code})" if term else ""
        return value


class AdverseEventForm(ClinicalRecordForm):
    term = TermField(
        label="CTCAE v5.0 term",
        widget=forms.TextInput(attrs={"list": "ctcae-terms", "autocomplete": "off"}),
        help_text="Type to search the list (term, system organ class, MedDRA code).",
    )
    awareness_at = IsoDateTimeField(label="Site became aware", required=False)
    sponsor_notified_at = IsoDateTimeField(label="Sponsor notified", required=False)
    lab_values = forms.ModelMultipleChoiceField(
        queryset=LabValue.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        label="Related lab values",
    )  # fmt: skip
    interruptions = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        label="Related blinatumomab interruptions",
    )  # fmt: skip

    class Meta:
        model = AdverseEvent
        fields = [
            "term",
            "verbatim",
            "onset_date",
            "end_date",
            "grade",
            "grade_justification",
            "serious",
            *AdverseEvent.CRITERIA,
            "awareness_at",
            "sponsor_notified_at",
            "susar",
            "sponsor_awareness_date",
            "relationship_blinatumomab",
            "relationship_chemotherapy",
            "action_blinatumomab",
            "outcome",
            "crs_fever",
            "crs_hypotension",
            "crs_oxygen",
            "crs_after_antipyretics",
            "ice_orientation",
            "ice_naming",
            "ice_commands",
            "ice_writing",
            "ice_attention",
            "icans_unarousable",
            "icans_consciousness",
            "icans_seizure",
            "icans_motor",
            "icans_raised_icp",
        ]
        widgets = {"grade_justification": forms.Textarea(attrs={"rows": 2})}

    # Each ICE sub-score out of its maximum (ASTCT 2019), beside the input: "of 4 points".
    number_units = {
        f"ice_{name}": f"of {maximum} point{'' if maximum == 1 else 's'}"
        for name, maximum in astct.ICE_MAXIMA.items()
    }

    def __init__(self, *args, subject, **kwargs):
        from crf.models import InfusionInterruption

        super().__init__(*args, **kwargs)
        self.fields["grade"] = forms.TypedChoiceField(
            choices=[("", "---------")] + [(g, f"Grade {g}") for g in range(1, 6)], coerce=int
        )
        self.fields["lab_values"].queryset = LabValue.objects.filter(
            panel__subject=subject, entered_in_error=False, grade__gte=1
        ).select_related("panel")
        self.fields["interruptions"].queryset = InfusionInterruption.objects.filter(
            infusion__subject=subject, entered_in_error=False
        )
        if self.instance.pk:
            self.fields["lab_values"].initial = [
                link.lab_value_id for link in self.instance.lab_links.all()
            ]
            self.fields["interruptions"].initial = [
                link.interruption_id for link in self.instance.interruption_links.all()
            ]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        from .services import adverse_event_errors

        # The service's checks, shown on their fields before the model's own constraints.
        candidate = AdverseEvent(subject=self.instance.subject)
        for name in self.Meta.fields:
            if name in cleaned:
                setattr(candidate, name, cleaned[name])
        for name, message in adverse_event_errors(candidate).items():
            self.add_error(name if name in self.fields else None, message)
        return cleaned


class SaeFollowUpForm(ClinicalRecordForm):
    class Meta:
        model = SaeFollowUp
        fields = ["reported_at", "report"]
