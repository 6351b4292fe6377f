"""The form of a site's laboratory reference ranges: each test of the protocol with its unit, LLN
and ULN, and the reason for the change."""

from django import forms

from crf.forms.numbers import DecimalTextField, NumberTextInput
from protocol import ctcae

from .services import RangeEntry


class SiteLabRangesForm(forms.Form):
    """One row per test (unit, LLN, ULN), prefilled with the site's stored range; every input is
    named by its test and column for screen readers ("ALT ULN")."""

    reason_for_change = forms.CharField(
        label="Reason for change",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required; kept in the audit trail with every range changed.",
    )

    def __init__(self, *args, ranges=None, **kwargs):
        super().__init__(*args, **kwargs)
        ranges = ranges or {}
        self.rows = []
        for test in ctcae.LabTest:
            stored = ranges.get(test.value)
            label = ctcae.LAB_TEST_LABELS[test]
            units = ctcae.ALLOWED_UNITS[test]
            self.fields[f"{test}_unit"] = forms.ChoiceField(
                label=f"{label} unit",
                choices=[(u, u) for u in units],
                initial=stored.unit if stored else ctcae.STANDARD_UNIT[test],
                widget=forms.Select(
                    attrs={"class": "form-select form-select-sm", "aria-label": f"{label} unit"}
                ),
            )
            for limit in ("lln", "uln"):
                name = f"{label} {limit.upper()}"
                self.fields[f"{test}_{limit}"] = DecimalTextField(
                    label=name,
                    required=False,
                    max_digits=12,
                    decimal_places=4,
                    initial=getattr(stored, limit) if stored else None,
                    widget=NumberTextInput(
                        attrs={"class": "form-control form-control-sm", "aria-label": name}
                    ),
                )
            self.fields[f"{test}_version"] = forms.IntegerField(
                required=False,
                widget=forms.HiddenInput,
                initial=stored.version if stored else None,
            )
            self.rows.append(
                (
                    test,
                    label,
                    stored,
                    [self[f"{test}_{part}"] for part in ("unit", "lln", "uln")],
                    self[f"{test}_version"],
                )
            )

    def entries(self) -> list[RangeEntry]:
        return [
            RangeEntry(
                test=test.value,
                unit=self.cleaned_data[f"{test}_unit"],
                lln=self.cleaned_data[f"{test}_lln"],
                uln=self.cleaned_data[f"{test}_uln"],
                version=self.cleaned_data[f"{test}_version"],
            )
            for test in ctcae.LabTest
        ]
