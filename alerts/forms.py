from django import forms

from crf.forms import ClinicalRecordForm
from crf.forms.numbers import WholeNumberTextField

from .models import Alert, ProtocolDecision


class AlertFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("active", "Open and acknowledged"), ("", "All"), *Alert.Status.choices],
        required=False,
    )
    rule = forms.CharField(required=False, max_length=20)
    severity = forms.ChoiceField(choices=[("", "All"), *Alert.Severity.choices], required=False)
    site = WholeNumberTextField(required=False, min_value=1, label="Site number")


class AcknowledgeForm(forms.Form):
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    close = forms.BooleanField(required=False, label="Close the alert (nothing more to do)")


class DecisionForm(ClinicalRecordForm):
    class Meta:
        model = ProtocolDecision
        fields = ["kind", "decided_on", "cd19_positive", "blinatumomab_cycles", "details"]
        widgets = {"details": forms.Textarea(attrs={"rows": 3})}
