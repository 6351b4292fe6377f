"""Forms of locks and signatures: they only parse; the services decide and refuse."""

from django import forms

from crf.models import Site

from .models import Lock

REASON_WIDGET = forms.Textarea(attrs={"rows": 2})


class LockReasonForm(forms.Form):
    # Not required here: the service refuses an empty reason with the message users see.
    reason = forms.CharField(
        label="Reason for locking", max_length=1000, required=False, widget=REASON_WIDGET
    )


class SiteLockForm(LockReasonForm):
    site = forms.ModelChoiceField(queryset=Site.objects.none(), label="Site")

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else Site.objects.none()
        self.order_fields(["site", "reason"])


class SubjectLockForm(LockReasonForm):
    study_id = forms.CharField(label="Study ID", max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["study_id", "reason"])


class UnlockForm(forms.Form):
    reason = forms.CharField(
        label="Reason for unlocking", max_length=1000, required=False, widget=REASON_WIDGET
    )


class LockFilterForm(forms.Form):
    STATUS_CHOICES = [("active", "Active"), ("all", "Active and released")]

    level = forms.ChoiceField(choices=[("", "All levels"), *Lock.Level.choices], required=False)
    site = forms.ModelChoiceField(
        queryset=Site.objects.none(), required=False, empty_label="All sites"
    )
    status = forms.ChoiceField(choices=STATUS_CHOICES, required=False)

    def __init__(self, *args, sites=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites if sites is not None else Site.objects.none()


class SignatureForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    second_factor = forms.CharField(
        label="Code from your authenticator app",
        max_length=20,
        required=False,
        help_text="The 6-digit code it shows now, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, *args, second_factor: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not second_factor:  # asked only of signers with a second factor
            del self.fields["second_factor"]
