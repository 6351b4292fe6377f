from .services import open_alert_count


def alert_counts(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"open_alerts": open_alert_count(user)}
