from django.utils.functional import SimpleLazyObject

from .services import open_alert_count


def alert_counts(request):
    """The open alerts badge of the navigation: counted once per request, and only where a
    template shows it (a panel rendered on its own does not)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"open_alerts": SimpleLazyObject(lambda: _count(request, user))}


def _count(request, user) -> int:
    if not hasattr(request, "_open_alert_count"):
        request._open_alert_count = open_alert_count(user)
    return request._open_alert_count
