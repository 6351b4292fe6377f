"""Responses that must not be kept by browsers or proxies."""

from django.utils.cache import patch_cache_control


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
