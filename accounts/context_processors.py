from django.conf import settings


def session_expiry(request):
    return {
        "session_timeout": settings.SESSION_IDLE_TIMEOUT_SECONDS,
        "session_warning": settings.SESSION_IDLE_WARNING_SECONDS,
        "TIME_ZONE": settings.TIME_ZONE,
    }
