from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render

from .access import (
    Capability,
    require,
    sites_where,
    subject_for,
    subjects_visible_to,
    user_can,
)
from .forms import EnrolmentForm, SubjectFilterForm, SubjectForm
from .models import Membership
from .services import subject_enrol

SUBJECTS_PER_PAGE = 25


@login_required
def home(request):
    memberships = (
        Membership.objects.filter(user=request.user).select_related("site").order_by("role")
    )
    return render(request, "crf/home.html", {"memberships": memberships})


@login_required
def subject_list(request):
    require(request.user, Capability.VIEW_SUBJECTS)
    sites = sites_where(request.user, Capability.VIEW_SUBJECTS)
    filters = SubjectFilterForm(request.GET or None, sites=sites)
    subjects = subjects_visible_to(request.user).select_related("site")
    if filters.is_valid():
        if filters.cleaned_data["site"]:
            subjects = subjects.filter(site=filters.cleaned_data["site"])
        if filters.cleaned_data["status"]:
            subjects = subjects.filter(status=filters.cleaned_data["status"])
    page = Paginator(subjects, SUBJECTS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "crf/subject_list.html",
        {"page": page, "filters": filters, "query": query.urlencode()},
    )


@login_required
def subject_detail(request, study_id):
    subject = subject_for(request.user, study_id)
    history = subject.history.select_related("history_user").order_by("-history_date")[:50]
    return render(
        request,
        "crf/subject_detail.html",
        {
            "subject": subject,
            "history": history,
            "can_edit": user_can(request.user, Capability.ENTER_CLINICAL_DATA, subject.site),
        },
    )


@login_required
def subject_enrol_view(request):
    require(request.user, Capability.ENTER_CLINICAL_DATA)
    sites = sites_where(request.user, Capability.ENTER_CLINICAL_DATA)
    form = EnrolmentForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        try:
            subject = subject_enrol(
                site=form.cleaned_data["site"],
                day1_date=form.cleaned_data["day1_date"],
                user=request.user,
            )
        except ValidationError as invalid:
            form.add_error(None, invalid)
        else:
            messages.success(request, f"Subject {subject.study_id} enrolled.")
            return redirect("crf:subject_detail", study_id=subject.study_id)
    return render(request, "crf/subject_enrol.html", {"form": form})


@login_required
def subject_edit(request, study_id):
    subject = subject_for(request.user, study_id, Capability.ENTER_CLINICAL_DATA)
    form = SubjectForm(request.POST or None, instance=subject)
    if request.method == "POST" and form.is_valid():
        saved = form.save_audited(user=request.user)
        if saved is not None:
            messages.success(request, f"Subject {saved.study_id} saved.")
            return redirect("crf:subject_detail", study_id=saved.study_id)
    return render(request, "crf/subject_edit.html", {"form": form, "subject": subject})
