from .access import Capability, user_capabilities


def study_roles(request):
    """What the navigation may offer: the user's capabilities anywhere in the study."""
    user = getattr(request, "user", None)
    caps = user_capabilities(user) if user is not None else set()
    return {"can": {cap.value: (cap in caps) for cap in Capability}}
