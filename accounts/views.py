from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxLengthValidator
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_POST

from .models import AccountEvent
from .services import AccountLockedOut, account_event_record, password_reverify


class LoginForm(AuthenticationForm):
    """Django's login form, refusing a username longer than the model's: Django sets the
    field's max_length after building it, so without the validator a 100 KB username reached
    authenticate() and django-axes' varchar(255) column (a 500)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        username = self.fields["username"]
        username.validators.append(MaxLengthValidator(username.max_length))


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    """Django's form, whose wrong old passwords count toward the login lockout."""

    def __init__(self, *args, request=None, **kwargs):
        self.request = request
        super().__init__(*args, **kwargs)

    def clean_old_password(self):
        old = self.cleaned_data.get("old_password") or ""
        try:
            verified = password_reverify(request=self.request, user=self.user, password=old)
        except AccountLockedOut as locked:
            raise forms.ValidationError(str(locked), code="locked_out") from None
        if not verified:
            raise forms.ValidationError(
                self.error_messages["password_incorrect"] + " Wrong passwords count toward the "
                "account's lockout, as at login.",
                code="password_incorrect",
            )
        return old


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    form_class = PasswordChangeForm

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "request": self.request}

    def form_valid(self, form):
        response = super().form_valid(form)
        account_event_record(
            kind=AccountEvent.Kind.PASSWORD_CHANGED, request=self.request, user=self.request.user
        )
        messages.success(self.request, "Your password was changed.")
        return response

    def get_success_url(self):
        return reverse("home")


@require_POST
@login_required
def keepalive(request):
    """Renews an idle session from the expiry warning; answers the seconds left."""
    return JsonResponse({"expires_in": settings.SESSION_IDLE_TIMEOUT_SECONDS})


def admin_login(request):
    """The Django admin signs in through the eCRF's own login, and only for staff."""
    if request.user.is_authenticated:
        if request.user.is_staff:
            return redirect(_same_site(request, request.GET.get("next")) or "admin:index")
        raise PermissionDenied("The administration pages are for staff only.")
    query = urlencode({"next": request.GET.get("next", reverse("admin:index"))})
    return redirect(f"{reverse('accounts:login')}?{query}")


def _same_site(request, target: str | None) -> str | None:
    """`target` if it is a path of this site (never another host, scheme or odd value)."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
