"""Two-step sign-in pages: set up an authenticator app, recovery codes, removal, and the code
asked after the password."""

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse

from .services import AccountLockedOut
from .two_factor import (
    RECOVERY_CODE_COUNT,
    enrolment_confirm,
    enrolment_start,
    qr_svg,
    recovery_codes_create,
    recovery_codes_left,
    second_factor_remove,
    second_factor_required,
    second_factor_verify,
    secret_text,
    totp_device_of,
)
from .views import _same_site

WRONG_CODE = (
    "The code is not correct. Enter the 6-digit code your authenticator app shows now (each "
    "code works once), or one of your recovery codes. Wrong codes count toward the account's "
    "lockout, as wrong passwords do."
)


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or a recovery code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )

    def __init__(self, *args, autofocus: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if autofocus:
            self.fields["code"].widget.attrs["autofocus"] = True


# The forms of the two-step sign-in page, each with its own field names and ids.
ACTIONS = ("enrol", "recovery", "remove")


def _next(request) -> str:
    return _same_site(request, request.POST.get("next") or request.GET.get("next")) or ""


def _locked_out(request, locked: AccountLockedOut):
    logout(request)
    return render(request, "accounts/locked_out.html", {"message": str(locked)}, status=429)


@login_required
def two_factor(request):
    """Status of the user's second factor; enrol, create new recovery codes or remove it."""
    user = request.user
    device = totp_device_of(user)
    action = request.POST.get("action") if request.method == "POST" else None
    forms_by_action = {name: CodeForm(prefix=name) for name in ACTIONS}
    codes: list[str] = []
    if action in ACTIONS:
        form = forms_by_action[action] = CodeForm(request.POST, prefix=action)
        try:
            if form.is_valid():
                codes = _act(request, action, device, form)
        except AccountLockedOut as locked:
            return _locked_out(request, locked)
        except ValidationError as invalid:
            if hasattr(invalid, "error_dict"):
                form.add_error("code", invalid.messages)
            else:  # refused whatever the code (shown above the forms)
                messages.error(request, " ".join(invalid.messages))
                form = forms_by_action[action] = CodeForm(prefix=action)
        device = totp_device_of(user)
        if action == "remove" and device is None and not form.errors:
            return redirect("accounts:two_factor")
        if codes:
            forms_by_action = {name: CodeForm(prefix=name) for name in ACTIONS}
    pending = enrolment_start(user) if device is None else None
    return render(
        request,
        "accounts/two_factor.html",
        {
            "device": device,
            "pending": pending,
            "qr": qr_svg(pending) if pending else "",
            "secret": secret_text(pending) if pending else "",
            "required": second_factor_required(user),
            "codes": codes,
            "codes_left": recovery_codes_left(user) if device else 0,
            "code_count": RECOVERY_CODE_COUNT,
            "forms": forms_by_action,
            "next": _next(request),
        },
    )


def _act(request, action: str, device, form) -> list[str]:
    """Carry out one action of the page; the new recovery codes, if it made some."""
    user, code = request.user, form.cleaned_data["code"]
    if action == "enrol" and device is None:
        if enrolment_confirm(request=request, user=user, device=enrolment_start(user), code=code):
            messages.success(request, "Two-step sign-in is on.")
            return recovery_codes_create(request=request, user=user)
        form.add_error("code", "The code is not correct: nothing was set up. " + WRONG_CODE)
    elif action == "recovery" and device is not None:
        if second_factor_verify(
            request=request, user=user, code=code, purpose="new recovery codes"
        ):
            messages.success(request, "New recovery codes: the earlier ones no longer work.")
            return recovery_codes_create(request=request, user=user)
        form.add_error("code", "No new codes were made. " + WRONG_CODE)
    elif action == "remove" and device is not None:
        second_factor_remove(request=request, user=user, code=code)
        messages.success(request, "Two-step sign-in is off: your authenticator was removed.")
    return []


@login_required
def two_factor_verify(request):
    """The code asked after the password, before any other page."""
    if request.user.is_verified():
        return redirect(_next(request) or reverse("home"))
    if totp_device_of(request.user) is None:
        return redirect("accounts:two_factor")
    form = CodeForm(request.POST or None, autofocus=True)
    if request.method == "POST" and form.is_valid():
        try:
            verified = second_factor_verify(
                request=request, user=request.user, code=form.cleaned_data["code"]
            )
        except AccountLockedOut as locked:
            return _locked_out(request, locked)
        if verified:
            return redirect(_next(request) or reverse("home"))
        form.add_error("code", WRONG_CODE)
    return render(
        request, "accounts/two_factor_verify.html", {"form": form, "next": _next(request)}
    )
