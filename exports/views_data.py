from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from crf.access import subject_for
from crf.models import Site

from .freezes import freezes_for_sites
from .models import StudyExport
from .services import (
    STUDY_FORMATS,
    archive_request,
    casebook_request,
    export_contents,
    export_file_ready,
    export_request,
    export_sites_for,
    exports_visible_to,
    investigator_sites,
)

_CONTENT_TYPES = {".zip": "application/zip", ".xml": "application/xml", ".pdf": "application/pdf"}


@login_required
def export_list(request):
    sites = export_sites_for(request.user)
    if not sites:
        raise PermissionDenied("Exports are for data managers, sponsors and site staff.")
    page = Paginator(exports_visible_to(request.user), 25).get_page(request.GET.get("page"))
    return render(
        request,
        "exports/export_list.html",
        {
            "page": page,
            "sites": sites,
            "formats": StudyExport.Format.choices,
            "freezes": freezes_for_sites([site.number for site in sites]),
            "archive_sites": Site.objects.filter(pk__in=investigator_sites(request.user)),
        },
    )


@login_required
def casebook_start(request, study_id):
    """A subject's PDF casebook, for anyone who may see the subject (404 otherwise, whatever
    the method: another site's subject is never revealed)."""
    subject = subject_for(request.user, study_id)
    freezes = freezes_for_sites([subject.site.number])
    if request.method != "POST":
        return render(
            request, "exports/casebook_start.html", {"subject": subject, "freezes": freezes}
        )
    freeze, refused = _chosen_freeze(request, freezes)
    if refused:
        return redirect("exports:casebook_start", study_id=subject.study_id)
    try:
        export = casebook_request(user=request.user, subject=subject, freeze=freeze)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("exports:casebook_start", study_id=subject.study_id)
    messages.success(
        request, f"Casebook of {subject.study_id} started (#{export.pk}); this page shows it."
    )
    return redirect("exports:detail", pk=export.pk)


@login_required
@require_POST
def archive_start(request):
    """A site's archive, for the site's investigators only (403 for anyone else)."""
    try:
        number = int(request.POST.get("site", ""))
    except ValueError:
        raise Http404("No such site.") from None
    site = get_object_or_404(Site, number=number)
    freeze, refused = _chosen_freeze(request, freezes_for_sites([site.number]))
    if refused:
        return redirect("exports:list")
    export = archive_request(user=request.user, site=site, freeze=freeze)
    messages.success(request, f"Archive of site {site.number} started (#{export.pk}).")
    return redirect("exports:detail", pk=export.pk)


def _chosen_freeze(request, freezes) -> tuple[object, bool]:
    """(The freeze the form chose among `freezes`, or None for the live data; whether the choice
    was refused, with a message said)."""
    chosen = request.POST.get("freeze")
    if not chosen:
        return None, False
    freeze = next((f for f in freezes if str(f.pk) == chosen), None)
    if freeze is None:
        messages.error(request, "Choose one of the freezes listed, or the live data.")
        return None, True
    return freeze, False


@login_required
@require_POST
def export_start(request):
    format = request.POST.get("format", StudyExport.Format.CSV)
    if format not in STUDY_FORMATS:
        messages.error(request, "Choose CSV or ODM.")
        return redirect("exports:list")
    sites = [site.number for site in export_sites_for(request.user)]
    freeze, refused = _chosen_freeze(request, freezes_for_sites(sites))
    if refused:
        return redirect("exports:list")
    export = export_request(user=request.user, format=format, freeze=freeze)
    messages.success(request, f"Export #{export.pk} started; this page shows its progress.")
    return redirect("exports:detail", pk=export.pk)


def _visible(request, pk) -> StudyExport:
    if not export_sites_for(request.user):
        raise PermissionDenied("Exports are for data managers, sponsors and site staff.")
    return get_object_or_404(exports_visible_to(request.user), pk=pk)


@login_required
def export_detail(request, pk):
    export = _visible(request, pk)
    return render(
        request,
        "exports/export_detail.html",
        {
            "export": export,
            "ready": export_file_ready(export) is not None,
            "odm": export.format == StudyExport.Format.ODM,
            "casebook": export.format == StudyExport.Format.CASEBOOK,
            "archive": export.format == StudyExport.Format.ARCHIVE,
            "contents": export_contents(export),
        },
    )


@login_required
def export_download(request, pk):
    export = _visible(request, pk)
    path = export_file_ready(export)
    if path is None:
        raise Http404("This export is not complete.")
    content_type = _CONTENT_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=path.name, content_type=content_type
    )
