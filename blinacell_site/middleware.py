"""Responses that must not be kept by browsers or proxies; the second factor owed at sign-in."""

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode

from accounts.two_factor import second_factor_required, totp_device_of


def no_store(get_response):
    """Cache-Control: no-store on every page of a signed-in user and on every download: patient
    data must not stay in a shared computer's cache or a proxy after the session ends."""

    def middleware(request):
        response = get_response(request)
        user = getattr(request, "user", None)
        download = "attachment" in response.get("Content-Disposition", "")
        if download or (user is not None and user.is_authenticated):
            patch_cache_control(response, no_store=True, private=True)
        return response

    return middleware


# Pages a signed-in user who still owes the second factor may open (besides the code and
# enrolment pages): signing out, static files, the health check, the session keepalive and the
# data API (which authenticates by token, not by session).
_OPEN_PREFIXES = ("/healthz", "/accounts/logout/", "/accounts/keepalive/", "/api/")


def second_factor(get_response):
    """A signed-in user whose session has not passed the second factor is sent to the code page
    (if they have an authenticator) or to enrolment (if their role requires one and they have
    none yet) from every page, keeping where they were going in ?next=."""

    def middleware(request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or user.is_verified():
            return get_response(request)
        path = request.path
        if path.startswith((settings.STATIC_URL, *_OPEN_PREFIXES)):
            return get_response(request)
        verify, enrol = reverse("accounts:two_factor_verify"), reverse("accounts:two_factor")
        if totp_device_of(user) is not None:
            target = verify
        elif second_factor_required(user):
            target = enrol
        else:
            return get_response(request)
        if path == target:
            return get_response(request)
        query = ""
        if path not in (verify, enrol, reverse("accounts:login")):
            query = "?" + urlencode({"next": request.get_full_path()})
        return redirect(target + query)

    return middleware
