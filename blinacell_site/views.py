"""The start page: for each role the user holds, that role's work at that role's sites."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from .start import start_blocks


@login_required
def home(request):
    return render(request, "crf/home.html", {"blocks": start_blocks(request.user)})
