"""The start page: the user's roles and what needs their attention across the apps."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from crf.access import Capability, user_can
from crf.models import Membership
from safety.services import sae_clocks


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user).select_related("site").order_by("role")
    )
    clocks = sae_clocks(request.user) if user_can(request.user, Capability.VIEW_SUBJECTS) else []
    return render(request, "crf/home.html", {"memberships": memberships, "clocks": clocks})
