from datetime import datetime

from django import forms
from django.core.exceptions import FieldDoesNotExist, ValidationError

from .clock import local_time_text
from .errors import StaleVersionError
from .services import audited_save


class AuditedModelForm(forms.ModelForm):
    """A ModelForm for an audited record.

    Carries the record's version (optimistic locking) and, when the record already exists, asks
    for the reason for change. `save_audited` writes through audit.services.audited_save.

    The first entry of a planned record's data is not a change: a form whose records are planned
    ahead with their data still empty (a scheduled visit, a dose to give) sets
    `fills_in_planned_records`. While every field of the form is still empty in the stored
    record, no reason is asked, and the audit trail records FIRST_ENTRY_REASON with the fields
    entered. Any later change of the record needs its reason.
    """

    FIRST_ENTRY_REASON = "First entry of the planned record's data"
    fills_in_planned_records = False

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    reason_for_change = forms.CharField(
        label="Reason for change",
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required for any change to saved data; kept in the audit trail.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.stale_record = None
        self.is_first_entry = False
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            # Without the version the form was loaded with, a stale save could not be told
            # from a current one: a change must carry it.
            self.fields["version"].required = True
            self.fields["version"].error_messages["required"] = (
                "This form does not say which version of the record it changes: reload the "
                "record and enter the change again."
            )
            self.is_first_entry = self.fills_in_planned_records and not any(
                _has_value(self.instance, name) for name in self._record_fields()
            )
            if self.is_first_entry:
                self.fields[
                    "reason_for_change"
                ].help_text = "Not needed: this is the first entry of this planned record's data."
            else:
                self.fields["reason_for_change"].required = True
        else:
            del self.fields["version"]
            del self.fields["reason_for_change"]

    @property
    def is_change(self) -> bool:
        return bool(self.instance.pk)

    def clean(self):
        cleaned = super().clean()
        if self.is_change and "version" in self._errors:
            # A hidden field's error is not shown beside it: say it at the top of the form.
            self.add_error(
                None,
                "This form does not say which version of the record it changes (or the version "
                "is not a number): reload the record and enter the change again.",
            )
        # Only a form whose fields all cleaned is asked what changed: comparing a refused value
        # can itself fail (Decimal("sNaN") raises on any comparison, a 500 before this guard).
        if self.is_change and not self.errors:
            changed = [f for f in self.changed_data if f not in {"version", "reason_for_change"}]
            if not changed:
                raise forms.ValidationError("No value was changed, so there is nothing to save.")
        return cleaned

    def save(self, commit=True):  # pragma: no cover - guard
        raise NotImplementedError("Use save_audited(user=...) so that the change is audited.")

    def save_audited(self, *, user, saver=audited_save, **options):
        """Save through `saver` (audited_save or a service with its signature); on a stale
        version or a refused check, keep the input, show the message and return None."""
        reason = (self.cleaned_data.get("reason_for_change") or "").strip()
        if not reason and self.is_first_entry:
            reason = self.first_entry_reason()
        try:
            return saver(
                self.instance,
                user=user,
                reason=reason,
                expected_version=self.cleaned_data.get("version"),
                **options,
            )
        except StaleVersionError as stale:
            self._merge_stale(stale)
            return None
        except ValidationError as invalid:
            add_errors(self, invalid)
            return None

    def _record_fields(self) -> list[str]:
        """The fields of the form that are the record's data (not its version or the reason)."""
        return [
            name
            for name in self.fields
            if name not in {"version", "reason_for_change"}
            and _model_field(self.instance, name) is not None
        ]

    def first_entry_reason(self) -> str:
        """The reason recorded for the first entry of a planned record: which fields."""
        entered = [
            str(self.fields[name].label or name)
            for name in self.changed_data
            if name in self._record_fields()
        ]
        return f"{self.FIRST_ENTRY_REASON}: {', '.join(entered)}" if entered else ""

    # --- A refused stale save -------------------------------------------------------------

    def _merge_stale(self, stale: StaleVersionError) -> None:
        """Re-display the form against the version now stored: a field the user did not change
        shows the other person's saved value (so saving again cannot write the old one back);
        a field the user changed keeps the user's value, marked where the other person changed
        it too. Every field the other person changed says so."""
        self.stale_record = current = stale.current
        self.add_error(None, stale.message)
        loaded = self.cleaned_data.get("version")
        original = (
            type(current).history.filter(id=current.pk, version=loaded).order_by("-history_id")
        ).first()
        self.data = self.data.copy()
        self.data[self.add_prefix("version")] = current.version
        self.changed_meanwhile = []
        for name in self.fields:
            model_field = _model_field(current, name)
            if model_field is None:
                continue
            now = model_field.value_from_object(current)
            mine = model_field.value_from_object(self.instance)
            before = model_field.value_from_object(original) if original else mine
            if now == before:
                continue  # the other person did not change this field
            self.changed_meanwhile.append(name)
            shown = _shown(model_field, current)
            if mine == before:
                self._show_value(name, now)
                self.add_error(
                    name,
                    f"{stale.changed_by} changed this to {shown} meanwhile; you had not changed "
                    "it, so the value now saved is shown.",
                )
            elif mine != now:
                self.add_error(
                    name,
                    f"{stale.changed_by} changed this to {shown} meanwhile; your value is kept "
                    "here: check which is right before saving again.",
                )

    def _show_value(self, name: str, value) -> None:
        """Put a stored value into the form's data as the browser would send it."""
        field, key = self.fields[name], self.add_prefix(name)
        if isinstance(field.widget, forms.CheckboxInput):
            if value:
                self.data[key] = "on"
            else:
                self.data.pop(key, None)
            return
        if isinstance(value, list | tuple):
            self.data.setlist(key, [str(v) for v in value])
            return
        shown = field.widget.format_value(field.prepare_value(value))
        if isinstance(shown, list):  # choice widgets format a value as a list
            shown = shown[0] if shown else ""
        self.data[key] = "" if shown is None else str(shown)


def _has_value(record, name: str) -> bool:
    """Whether a stored record holds a value in this field (an empty text, no date, an unticked
    box hold none)."""
    model_field = _model_field(record, name)
    if model_field is None:
        return False
    value = model_field.value_from_object(record)
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | tuple) and not value)  # 0 is a value


def _model_field(record, name: str):
    try:
        field = record._meta.get_field(name)
    except FieldDoesNotExist:  # a form field of its own (a confirmation, a reason)
        return None
    return field if getattr(field, "concrete", False) else None


def _shown(model_field, record) -> str:
    """A stored value as people read it: a code's label, yes/no, empty as "(empty)"."""
    value = getattr(record, model_field.name)
    if model_field.choices:
        value = getattr(record, f"get_{model_field.name}_display")()
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return local_time_text(value)
    return str(value)


def add_errors(form: forms.BaseForm, invalid: ValidationError) -> None:
    """Show a service's ValidationError on the form: on the field it names where the form has
    that field, otherwise at the top of the form with the field's name."""
    if not hasattr(invalid, "error_dict"):
        form.add_error(None, invalid)
        return
    for field, messages in invalid.message_dict.items():
        if field in form.fields:
            form.add_error(field, messages)
        elif field == "__all__":
            form.add_error(None, messages)
        else:
            label = field.replace("_", " ")
            form.add_error(None, [f"{label}: {message}" for message in messages])
