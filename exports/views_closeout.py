"""Close-out pages: data freezes (take, list, verify, compare with the live data) and the
study lock (lock with a signature; release by two data managers)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.two_factor import second_factor_asked
from crf.access import Capability, reaches_every_site, sites_where

from .closeout import active_study_lock, study_lock, study_unlock, study_unlock_request
from .freezes import change_names, changes_since, freeze_create, freeze_verify, freezes_for_sites
from .models import Freeze, StudyLock

CHANGES_PER_PAGE = 50


class FreezeForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="e.g. Interim analysis 1")
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    sites = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: the whole study (data managers of every site only).",
    )

    def __init__(self, *args, site_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sites"].choices = site_choices


class SignForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    password = forms.CharField(
        label="Your password",
        strip=False,
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    second_factor = forms.CharField(
        label="Code from your authenticator app", max_length=20, required=False
    )

    def __init__(self, *args, reason=True, second_factor=False, **kwargs):
        super().__init__(*args, **kwargs)
        if not reason:
            del self.fields["reason"]
        if not second_factor:
            del self.fields["second_factor"]


def _lock_sites(user):
    sites = list(sites_where(user, Capability.LOCK_DATA).order_by("number"))
    if not sites:
        raise PermissionDenied("Close-out is for data managers.")
    return sites


def _freezes_of(user) -> list[Freeze]:
    return freezes_for_sites([site.number for site in _lock_sites(user)])


def _page(request, *, freeze_form=None, lock_form=None, status=200):
    sites = _lock_sites(request.user)
    every = reaches_every_site(request.user, Capability.LOCK_DATA)
    lock = active_study_lock()
    asked = second_factor_asked(request.user)
    page = Paginator(_freezes_of(request.user), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "exports/closeout.html",
        {
            "page": page,
            "every": every,
            "lock": lock,
            "freeze_form": freeze_form
            or FreezeForm(site_choices=[(s.number, f"Site {s.number} {s.city}") for s in sites]),
            "lock_form": lock_form or SignForm(second_factor=asked),
            "release_form": SignForm(reason=False, second_factor=asked),
            "lock_meaning": StudyLock.MEANING,
        },
        status=status,
    )


@login_required
def closeout(request):
    return _page(request)


def _refused(form: forms.Form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


# Not in the request's transaction: the freeze runs in one of its own (REPEATABLE READ).
@transaction.non_atomic_requests
@login_required
@require_POST
def freeze_start(request):
    sites = _lock_sites(request.user)
    form = FreezeForm(
        request.POST, site_choices=[(s.number, f"Site {s.number} {s.city}") for s in sites]
    )
    if form.is_valid():
        try:
            freeze = freeze_create(
                user=request.user,
                name=form.cleaned_data["name"],
                reason=form.cleaned_data["reason"],
                site_numbers=[int(n) for n in form.cleaned_data["sites"]],
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, f"Freeze {freeze.name!r} taken: {freeze.rows} rows.")
            return redirect("exports:freeze", pk=freeze.pk)
    return _page(request, freeze_form=form, status=400)


@login_required
def freeze_detail(request, pk):
    freeze = get_object_or_404(Freeze.objects.select_related("frozen_by"), pk=pk)
    if freeze not in _freezes_of(request.user):
        raise PermissionDenied("This freeze holds none of your sites.")
    changes = changes_since(freeze)
    page = Paginator(changes, CHANGES_PER_PAGE).get_page(request.GET.get("page"))
    verification = freeze_verify(freeze) if request.method == "POST" else None
    return render(
        request,
        "exports/freeze_detail.html",
        {
            "freeze": freeze,
            "changes": change_names(list(page)),
            "page": page,
            "total_changes": len(changes),
            "verification": verification,
        },
    )


@login_required
@require_POST
def lock_start(request):
    _lock_sites(request.user)
    form = SignForm(request.POST, second_factor=second_factor_asked(request.user))
    if form.is_valid():
        try:
            study_lock(
                user=request.user,
                reason=form.cleaned_data["reason"],
                password=form.cleaned_data["password"],
                second_factor=form.cleaned_data.get("second_factor", ""),
                request=request,
            )
        except ValidationError as error:
            _refused(form, error)
        else:
            messages.success(request, "The study is locked: its data refuse every change.")
            return redirect("exports:closeout")
    return _page(request, lock_form=form, status=400)


@login_required
@require_POST
def unlock_ask(request):
    _lock_sites(request.user)
    try:
        study_unlock_request(user=request.user, reason=request.POST.get("reason", ""))
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Release asked: a second data manager releases the lock.")
    return redirect("exports:closeout")


@login_required
@require_POST
def unlock(request):
    _lock_sites(request.user)
    try:
        study_unlock(
            user=request.user,
            password=request.POST.get("password", ""),
            second_factor=request.POST.get("second_factor", ""),
            request=request,
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "The study lock is released.")
    return redirect("exports:closeout")
