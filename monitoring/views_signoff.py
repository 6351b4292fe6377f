"""Pages of locks (data managers) and investigator signatures (principal investigators)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from accounts.two_factor import second_factor_asked
from audit.forms import add_errors
from crf.access import Capability, require, sites_where, subject_for, subjects_visible_to
from crf.records import record_page_url

from .forms_signoff import (
    LockFilterForm,
    LockReasonForm,
    SignatureForm,
    SiteLockForm,
    SubjectLockForm,
    UnlockForm,
)
from .locks import (
    lock_create,
    lock_release,
    lock_target,
    lock_targets,
    locks_of_subject,
    locks_visible_to,
)
from .models import Lock, Signature
from .records import (
    record_pointer,
    record_resolve,
    record_title,
    subject_records,
)
from .signatures import is_principal_investigator, printed_name, signature_create

PER_PAGE = 50


@login_required
def lock_list(request):
    """Locks of the user's sites (active, or with the released ones), and forms to lock a site
    or a subject."""
    require(request.user, Capability.LOCK_DATA)
    sites = sites_where(request.user, Capability.LOCK_DATA).order_by("number")
    site_form = SiteLockForm(sites=sites, prefix="site")
    subject_form = SubjectLockForm(prefix="subject")
    if request.method == "POST":
        level = request.POST.get("level")
        if level == Lock.Level.SITE:
            site_form = SiteLockForm(request.POST, sites=sites, prefix="site")
            if site_form.is_valid() and _lock(
                request, site_form, level=level, site=site_form.cleaned_data["site"]
            ):
                return redirect("monitoring:locks")
        elif level == Lock.Level.SUBJECT:
            subject_form = SubjectLockForm(request.POST, prefix="subject")
            if subject_form.is_valid():
                subject = (
                    subjects_visible_to(request.user)
                    .filter(site__in=sites, study_id=subject_form.cleaned_data["study_id"].strip())
                    .select_related("site")
                    .first()
                )
                if subject is None:
                    subject_form.add_error("study_id", "No such subject at your sites.")
                elif _lock(request, subject_form, level=level, subject=subject):
                    return redirect("monitoring:locks")
        else:
            messages.error(request, "Nothing was locked: choose to lock a site or a subject.")
    filters = LockFilterForm(request.GET or None, sites=sites)
    locks = locks_visible_to(request.user)
    status = "active"
    if filters.is_valid():
        if filters.cleaned_data["level"]:
            locks = locks.filter(level=filters.cleaned_data["level"])
        if filters.cleaned_data["site"]:
            locks = locks.filter(site=filters.cleaned_data["site"])
        status = filters.cleaned_data["status"] or "active"
    if status == "active":
        locks = locks.filter(active=True)
    page = Paginator(locks.order_by("-locked_at", "-id"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "monitoring/locks.html",
        {
            "page": page,
            "rows": lock_targets(list(page)),
            "filters": filters,
            "status": status,
            "site_form": site_form,
            "subject_form": subject_form,
            "query": query.urlencode(),
        },
    )


def _lock(request, form, **target) -> Lock | None:
    try:
        lock = lock_create(reason=form.cleaned_data["reason"], user=request.user, **target)
    except ValidationError as invalid:
        add_errors(form, invalid)
        return None
    messages.success(request, f"{lock_target(lock)} locked.")
    return lock


@login_required
def lock_subject(request, study_id):
    """Lock a subject, or choose one of its forms to lock."""
    subject = subject_for(request.user, study_id, Capability.LOCK_DATA)
    form = LockReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _lock(request, form, level=Lock.Level.SUBJECT, subject=subject):
            return redirect("crf:subject_detail", study_id=study_id)
    locks = locks_of_subject(subject)
    form_locks = {(lock.content_type_id, lock.object_id) for lock in locks if lock.object_id}
    records = Paginator(list(subject_records(subject)), PER_PAGE).get_page(request.GET.get("page"))
    rows = []
    for record in records:
        pointer = record_pointer(record)
        rows.append((record_title(record), pointer, pointer in form_locks))
    return render(
        request,
        "monitoring/lock_subject.html",
        {
            "subject": subject,
            "form": form,
            "locks": locks,
            "page": records,
            "rows": rows,
            "query": "",
        },
    )


@login_required
def lock_record(request, study_id, ct, pk):
    """Lock one form (record) of a subject."""
    subject = subject_for(request.user, study_id, Capability.LOCK_DATA)
    record = record_resolve(subject, ct, pk)
    form = LockReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if _lock(request, form, level=Lock.Level.FORM, record=record):
            return redirect("monitoring:lock_subject", study_id=study_id)
    return render(
        request,
        "monitoring/lock_record.html",
        {"subject": subject, "record": record, "title": record_title(record), "form": form},
    )


@login_required
def unlock(request, pk):
    """Release a lock, with the reason."""
    require(request.user, Capability.LOCK_DATA)
    lock = get_object_or_404(locks_visible_to(request.user), pk=pk)
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            lock_release(lock=lock, reason=form.cleaned_data["reason"], user=request.user)
        except ValidationError as invalid:
            add_errors(form, invalid)
        else:
            messages.success(request, f"{lock_target(lock)} unlocked.")
            return redirect("monitoring:locks")
    return render(
        request,
        "monitoring/lock_release.html",
        {"lock": lock, "target": lock_target(lock), "form": form},
    )


@login_required
def sign_casebook(request, study_id):
    """The principal investigator signs the subject's casebook."""
    subject = subject_for(request.user, study_id)
    return _sign(request, subject, record=None)


@login_required
def sign_record(request, study_id, ct, pk):
    """The principal investigator signs one form of the subject."""
    subject = subject_for(request.user, study_id)
    record = record_resolve(subject, ct, pk)
    return _sign(request, subject, record=record)


def _sign(request, subject, *, record):
    if not is_principal_investigator(request.user, subject.site):
        raise PermissionDenied("Only the site's principal investigator signs its casebooks.")
    form = SignatureForm(request.POST or None, second_factor=second_factor_asked(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            signature = signature_create(
                subject=subject,
                record=record,
                password=form.cleaned_data["password"],
                second_factor=form.cleaned_data.get("second_factor", ""),
                user=request.user,
                request=request,
            )
        except ValidationError as invalid:
            add_errors(form, invalid)
        else:
            what = record_title(record) if record is not None else "Casebook"
            messages.success(
                request,
                f"{what} of {subject.study_id} signed by {signature.printed_name}.",
            )
            if record is not None:
                return redirect(record_page_url(record))
            return redirect("crf:subject_detail", study_id=subject.study_id)
    return render(
        request,
        "monitoring/sign.html",
        {
            "subject": subject,
            "record": record,
            "title": record_title(record) if record is not None else "Casebook",
            "meaning": Signature.FORM_MEANING if record is not None else Signature.MEANING,
            "printed_name": printed_name(request.user),
            "form": form,
        },
    )
