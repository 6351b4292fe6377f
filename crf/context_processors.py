from .access import Capability, user_capabilities


def study_roles(request):
    """What the navigation may offer: the user's capabilities anywhere in the study."""
    if not hasattr(request, "_study_capabilities"):  # once per request, however many renders
        user = getattr(request, "user", None)
        caps = user_capabilities(user) if user is not None else set()
        request._study_capabilities = {cap.value: (cap in caps) for cap in Capability}
    return {"can": request._study_capabilities}
