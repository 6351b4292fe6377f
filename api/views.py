"""The account's API tokens page: create (the token is shown once), list, revoke."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crf.access import memberships_of
from crf.models import Site

from .models import ApiToken
from .tokens import (
    LIFETIMES_DAYS,
    MAX_NAME,
    token_create,
    token_revoke,
    token_sites,
    token_status,
    tokens_of,
)


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=MAX_NAME, help_text="What will use it, e.g. 'LIMS' or 'weekly R pull'."
    )
    scope = forms.ChoiceField(
        choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ, widget=forms.RadioSelect
    )
    days = forms.TypedChoiceField(
        label="Valid for",
        coerce=int,
        choices=[(d, f"{d} days") for d in LIFETIMES_DAYS],
        initial=90,
    )
    site = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="Every site of my roles",
        help_text="Narrow the token to one site's data.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = Site.objects.filter(
            pk__in=[s.pk for s in token_sites(user)]
        ).order_by("number")


@login_required
def tokens_page(request):
    """Create a token and list the user's own (a token acts as its user, in their roles)."""
    user = request.user
    has_roles = bool(memberships_of(user))
    form = TokenForm(request.POST or None, user=user)
    created = None
    if request.method == "POST":
        if not has_roles:
            raise PermissionDenied("Tokens are for accounts with a study role.")
        if form.is_valid():
            try:
                created = token_create(
                    user=user,
                    name=form.cleaned_data["name"],
                    scope=form.cleaned_data["scope"],
                    days=form.cleaned_data["days"],
                    site=form.cleaned_data["site"],
                    request=request,
                )
            except ValidationError as invalid:
                for field, errors in invalid.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form = TokenForm(user=user)
    tokens = [(token, token_status(token)) for token in tokens_of(user)]
    return render(
        request,
        "api/tokens.html",
        {"form": form, "created": created, "tokens": tokens, "has_roles": has_roles},
    )


@require_POST
@login_required
def token_revoke_view(request, token_id: int):
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    try:
        token_revoke(token=token, user=request.user, request=request)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, f"The {token.label} is revoked: it is refused from now on.")
    return redirect("api:tokens")
