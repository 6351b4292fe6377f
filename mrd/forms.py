from django import forms

from audit.forms import AuditedModelForm
from crf.forms import IsoDateField
from crf.forms.numbers import MrdValueField
from protocol import mrd

from .models import MrdResult, MrdSample


class MrdSampleForm(forms.ModelForm):
    sampled_on = IsoDateField(label="Sampling date")

    class Meta:
        model = MrdSample
        fields = ["timepoint", "material", "sampled_on"]


class MrdResultForm(AuditedModelForm):
    value = MrdValueField(label="Value", help_text="Quantifiable results only, e.g. 1.2E-4.")
    sensitivity = MrdValueField(label="Sensitivity reached", help_text="e.g. 1E-4 or 1E-5")
    quantitative_range = MrdValueField(label="Quantitative range", help_text="e.g. 1E-4")
    report_date = IsoDateField(label="Report date")

    class Meta:
        model = MrdResult
        fields = [
            "method",
            "markers",
            "result_class",
            "value",
            "sensitivity",
            "quantitative_range",
            "not_evaluable_reason",
            "report_date",
            "comment",
        ]
        widgets = {"comment": forms.Textarea(attrs={"rows": 2})}

    def clean(self):
        cleaned = super().clean()
        result_class = cleaned.get("result_class")
        if result_class:
            facts = mrd.MrdResult(
                result_class=mrd.ResultClass(result_class),
                value=cleaned.get("value"),
                sensitivity=cleaned.get("sensitivity"),
                quantitative_range=cleaned.get("quantitative_range"),
            )
            # The protocol's own checks, shown on the field they concern.
            for name, message in mrd.result_errors(facts).items():
                if name in self.fields and name not in self.errors:
                    self.add_error(name, message)
        return cleaned


class UploadForm(forms.Form):
    file = forms.FileField(label="Results file (CSV, UTF-8)")
