"""Forms of queries and source data verification."""

from django import forms
from django.contrib.auth import get_user_model

from .models import Query
from .records import content_fields, field_label

NO_SUCH_FIELD = "This record has no such field: choose one of the list."


def _field_choices(model) -> list[tuple[str, str]]:
    return [(f.name, field_label(model, f.name)) for f in content_fields(model)]


class QueryOpenForm(forms.Form):
    field_name = forms.ChoiceField(
        label="Field", required=False, error_messages={"invalid_choice": NO_SUCH_FIELD}
    )
    text = forms.CharField(
        label="Question to the site",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Write the question for the site."},
    )

    def __init__(self, *args, model, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field_name"].choices = [("", "The record as a whole"), *_field_choices(model)]


class QueryAnswerForm(forms.Form):
    answer = forms.CharField(
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Write the answer to the query."},
        help_text="To correct the value as well, use “Correct the value and answer”.",
    )


class QueryCloseForm(forms.Form):
    text = forms.CharField(
        label="Comment (optional)",
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class QueryReopenForm(forms.Form):
    text = forms.CharField(
        label="Why the query is re-opened",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Say why the query is re-opened."},
    )


QUERY_STEP_FORMS = {"answer": QueryAnswerForm, "close": QueryCloseForm, "reopen": QueryReopenForm}


class VerifyForm(forms.Form):
    """Whole record, or the ticked fields."""

    SCOPES = [("record", "The whole record"), ("fields", "The ticked fields")]

    scope = forms.ChoiceField(choices=SCOPES, initial="record", widget=forms.RadioSelect)
    fields = forms.MultipleChoiceField(
        label="Fields verified against the source",
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": NO_SUCH_FIELD},
    )

    def __init__(self, *args, model, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["fields"].choices = _field_choices(model)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("scope") == "fields" and not cleaned.get("fields"):
            self.add_error("fields", "Tick the fields you verified.")
        return cleaned

    def chosen_fields(self) -> list[str]:
        return self.cleaned_data["fields"] if self.cleaned_data["scope"] == "fields" else []


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Why the verification is withdrawn",
        max_length=500,
        error_messages={"required": "Say why the verification is withdrawn."},
    )


class QueryFilterForm(forms.Form):
    UNRESOLVED = "unresolved"

    status = forms.ChoiceField(
        choices=[(UNRESOLVED, "Open and answered"), ("", "All"), *Query.Status.choices],
        required=False,
    )
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label="All sites")
    opened_by = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Anyone", label="Opened by"
    )
    origin = forms.ChoiceField(choices=[("", "All"), *Query.Origin.choices], required=False)

    def __init__(self, *args, sites, openers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["opened_by"].queryset = openers
        self.fields["opened_by"].label_from_instance = lambda u: u.get_full_name() or u.username

    def apply(self, queries):
        data = self.cleaned_data
        if data["status"] == self.UNRESOLVED:
            queries = queries.filter(status__in=[Query.Status.OPEN, Query.Status.ANSWERED])
        elif data["status"]:
            queries = queries.filter(status=data["status"])
        if data["site"]:
            queries = queries.filter(subject__site=data["site"])
        if data["opened_by"]:
            queries = queries.filter(opened_by=data["opened_by"])
        if data["origin"]:
            queries = queries.filter(origin=data["origin"])
        return queries


class SdvFilterForm(forms.Form):
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label="All sites")

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites


def query_openers(queries):
    """The people who opened any of these queries (for the "opened by" filter)."""
    return (
        get_user_model()
        .objects.filter(pk__in=queries.order_by().values("opened_by").distinct())
        .order_by("username")
    )
