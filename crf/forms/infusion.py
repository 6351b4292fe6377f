"""The blinatumomab infusion log's actions."""

from decimal import Decimal

from django import forms

from protocol import schedule

from ..models import BlinatumomabInfusion, InfusionDoseChange, InfusionInterruption, Premedication
from .common import IsoDateTimeField, TypedInputsMixin

DOSE_CHOICES = [
    (schedule.BLINATUMOMAB_REDUCED_DOSE, f"{schedule.BLINATUMOMAB_REDUCED_DOSE} µg/day"),
    (schedule.BLINATUMOMAB_TARGET_DOSE, f"{schedule.BLINATUMOMAB_TARGET_DOSE} µg/day"),
]


def dose_field(label="Dose") -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label, choices=DOSE_CHOICES, coerce=Decimal, widget=forms.RadioSelect
    )


class InfusionStartForm(forms.Form):
    started_at = IsoDateTimeField(label="Infusion started")
    ug_per_day = dose_field("Start dose")


class DoseChangeForm(forms.Form):
    at = IsoDateTimeField(label="Changed at")
    ug_per_day = dose_field("New dose")
    kind = forms.ChoiceField(
        choices=[
            (InfusionDoseChange.Kind.STEP_UP, "Step-up"),
            (InfusionDoseChange.Kind.REDUCTION, "Dose reduction"),
        ]
    )


class InterruptForm(forms.Form):
    started_at = IsoDateTimeField(label="Interrupted at")
    reason = forms.ChoiceField(choices=InfusionInterruption.Reason.choices)
    reason_other = forms.CharField(label="Other reason", required=False, max_length=200)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == "other" and not (cleaned.get("reason_other") or "").strip():
            self.add_error("reason_other", "Describe the other reason.")
        return cleaned


class RestartForm(forms.Form):
    restarted_at = IsoDateTimeField(label="Restarted at")
    ug_per_day = dose_field("Restart dose")


class PremedicationForm(TypedInputsMixin, forms.Form):
    given_at = IsoDateTimeField(label="Given at")
    dexamethasone_mg = forms.DecimalField(
        label="Dexamethasone", min_value=0, max_value=100, max_digits=4, decimal_places=1
    )
    before = forms.ChoiceField(choices=Premedication.Before.choices)


class InfusionEndForm(forms.Form):
    ended_at = IsoDateTimeField(label="Infusion ended")
    end_reason = forms.ChoiceField(choices=BlinatumomabInfusion.EndReason.choices)
    discontinuation_reason = forms.CharField(
        label="Reason for discontinuation", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
