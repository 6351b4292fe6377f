from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from audit.forms import add_errors
from crf.access import Capability, require, subject_for, user_can
from crf.records import write_refusal

from . import cohort, upload
from .forms import MrdResultForm, MrdSampleForm, UploadForm
from .kinetics import kinetics_svg
from .models import MrdResult, MrdSample, MrdUpload
from .services import days_waiting, result_save, sample_record, samples_visible_to, worklist

PER_PAGE = 50


@login_required
def subject_mrd(request, study_id):
    """A subject's samples and results (read-only for sites) and the MRD kinetics picture;
    the site records samples here."""
    subject = subject_for(request.user, study_id)
    can_sample = user_can(request.user, Capability.ENTER_CLINICAL_DATA, subject.site)
    # A locked site or subject: no sample form, no result entry offered, a POST refused.
    locked = write_refusal(subject)
    form = MrdSampleForm(request.POST or None) if can_sample and not locked else None
    if request.method == "POST":
        if not can_sample:
            raise PermissionDenied("Only the site's investigators record samples.")
        if form is not None and form.is_valid():
            try:
                sample = sample_record(
                    subject=subject,
                    timepoint=form.cleaned_data["timepoint"],
                    material=form.cleaned_data["material"],
                    sampled_on=form.cleaned_data["sampled_on"],
                    user=request.user,
                )
            except ValidationError as invalid:
                add_errors(form, invalid)
            else:
                messages.success(request, f"Sample {sample.accession} recorded.")
                return redirect("mrd:subject", study_id=study_id)
    samples = (
        MrdSample.objects.filter(subject=subject, entered_in_error=False)
        .prefetch_related("results")
        .order_by("sampled_on", "id")
    )
    return render(
        request,
        "mrd/subject.html",
        {
            "subject": subject,
            "samples": samples,
            "rows": cohort.result_rows(subject, samples),
            "plot": kinetics_svg(subject, samples),
            "form": form,
            "locked": locked,
            "can_enter_results": not locked
            and user_can(request.user, Capability.ENTER_MRD_RESULTS, subject.site),
        },
    )


@login_required
def worklist_view(request):
    samples = worklist(request.user)
    page = Paginator(samples, PER_PAGE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [(s, days_waiting(s, today)) for s in page]
    return render(request, "mrd/worklist.html", {"page": page, "rows": rows, "query": ""})


@login_required
def result_form(request, accession, method):
    """The central laboratory enters or corrects the result of one sample by one method."""
    require(request.user, Capability.ENTER_MRD_RESULTS)
    sample = get_object_or_404(
        samples_visible_to(request.user).select_related("subject"), accession=accession
    )
    if method not in {"qpcr", "ngs"}:
        raise Http404("No such method.")
    instance = MrdResult.objects.filter(
        sample=sample, method=method, entered_in_error=False
    ).first() or MrdResult(sample=sample, method=method)
    # Locked (site, subject, sample or result): shown read-only, a POST refused by the lock's
    # message, once.
    locked = write_refusal(instance)
    form = MrdResultForm(
        None if locked else request.POST or None, instance=instance, initial={"method": method}
    )
    form.fields["method"].disabled = True
    if locked:
        for field in form.fields.values():
            field.disabled = True
    if request.method == "POST" and not locked and form.is_valid():
        saved = form.save_audited(user=request.user, saver=result_save)
        if saved is not None:
            messages.success(request, f"Result of {sample.accession} saved.")
            return redirect("mrd:worklist")
    return render(
        request, "mrd/result_form.html", {"form": form, "sample": sample, "locked": locked}
    )


@login_required
def upload_view(request):
    require(request.user, Capability.ENTER_MRD_RESULTS)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        file = form.cleaned_data["file"]
        try:
            received = upload.upload_receive(filename=file.name, raw=file.read(), user=request.user)
        except ValidationError as invalid:
            add_errors(form, invalid)
        else:
            return redirect("mrd:upload_preview", pk=received.pk)
    uploads = MrdUpload.objects.filter(uploaded_by=request.user)[:20]
    return render(
        request,
        "mrd/upload.html",
        {
            "form": form,
            "uploads": uploads,
            "max_rows": upload.MAX_ROWS,
            "example": upload.EXAMPLE_ACCESSION,
        },
    )


@login_required
def upload_template(request):
    require(request.user, Capability.ENTER_MRD_RESULTS)
    response = HttpResponse(upload.template_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="mrd-results-template.csv"'
    return response


PREVIEW_ROWS_PER_PAGE = 100


@login_required
def upload_preview(request, pk):
    require(request.user, Capability.ENTER_MRD_RESULTS)
    received = get_object_or_404(MrdUpload, pk=pk, uploaded_by=request.user)
    # Checked once when the file arrived; a page of rows at a time, the rows in error first.
    preview = upload.UploadPreview.stored(
        received.preview or upload.preview_store(received, request.user)
    )
    ordered = sorted(preview.rows, key=lambda r: (not r.errors, r.number))
    page = Paginator(ordered, PREVIEW_ROWS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "mrd/upload_preview.html",
        {
            "upload": received,
            "preview": preview,
            "page": page,
            "with_errors": sum(1 for r in preview.rows if r.errors),
            "counts": {a: preview.count(a) for a in ("new", "correction", "unchanged")},
            "max_rows": upload.MAX_ROWS,
        },
    )


@require_POST
@login_required
def upload_commit(request, pk):
    require(request.user, Capability.ENTER_MRD_RESULTS)
    received = get_object_or_404(MrdUpload, pk=pk, uploaded_by=request.user)
    try:
        preview = upload.upload_commit(received, request.user)
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
        return redirect("mrd:upload_preview", pk=pk)
    messages.success(
        request,
        f"{received.filename}: {preview.count('new')} new, {preview.count('correction')} "
        f"corrected, {preview.count('unchanged')} unchanged.",
    )
    return redirect("mrd:upload")


@require_POST
@login_required
def upload_cancel(request, pk):
    """Set a checked file aside: none of its rows is saved."""
    require(request.user, Capability.ENTER_MRD_RESULTS)
    received = get_object_or_404(MrdUpload, pk=pk, uploaded_by=request.user)
    try:
        upload.upload_cancel(received, request.user)
    except ValidationError as invalid:
        messages.error(request, " ".join(invalid.messages))
        return redirect("mrd:upload_preview", pk=pk)
    messages.success(request, f"{received.filename}: cancelled, nothing saved.")
    return redirect("mrd:upload")


@login_required
def cohort_view(request):
    """MRD response by timepoint among evaluable patients, as the trial reports it."""
    if not (
        user_can(request.user, Capability.VIEW_SUBJECTS)
        or user_can(request.user, Capability.VIEW_REPORTS)
    ):
        raise PermissionDenied("Your role does not allow this.")
    return render(request, "mrd/cohort.html", {"table": cohort.cohort_for(request.user)})
