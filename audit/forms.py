from django import forms
from django.core.exceptions import ValidationError

from .errors import StaleVersionError
from .services import audited_save


class AuditedModelForm(forms.ModelForm):
    """A ModelForm for an audited record.

    Carries the record's version (optimistic locking) and, when the record already exists, asks
    for the reason for change. `save_audited` writes through audit.services.audited_save.
    """

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
        if self.instance.pk:
            self.fields["version"].initial = self.instance.version
            # Without the version the form was loaded with, a stale save could not be told
            # from a current one: a change must carry it.
            self.fields["version"].required = True
            self.fields["version"].error_messages["required"] = (
                "This form does not say which version of the record it changes: reload the "
                "record and enter the change again."
            )
            self.fields["reason_for_change"].required = True
        else:
            del self.fields["version"]
            del self.fields["reason_for_change"]

    @property
    def is_change(self) -> bool:
        return bool(self.instance.pk)

    def clean(self):
        cleaned = super().clean()
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
        try:
            return saver(
                self.instance,
                user=user,
                reason=self.cleaned_data.get("reason_for_change", ""),
                expected_version=self.cleaned_data.get("version"),
                **options,
            )
        except StaleVersionError as stale:
            self.stale_record = stale.current
            self.add_error(None, stale.message)
            # The next submission is made knowingly against the version now stored.
            self.data = self.data.copy()
            self.data[self.add_prefix("version")] = stale.current.version
            return None
        except ValidationError as invalid:
            add_errors(self, invalid)
            return None


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
