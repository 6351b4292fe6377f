from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from .freezes import freezes_for_sites
from .models import StudyExport
from .services import (
    export_contents,
    export_file_ready,
    export_request,
    export_sites_for,
    exports_visible_to,
)


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
        },
    )


@login_required
@require_POST
def export_start(request):
    format = request.POST.get("format", StudyExport.Format.CSV)
    if format not in StudyExport.Format.values:
        messages.error(request, "Choose CSV or ODM.")
        return redirect("exports:list")
    freeze = None
    if request.POST.get("freeze"):
        sites = [site.number for site in export_sites_for(request.user)]
        freeze = next(
            (f for f in freezes_for_sites(sites) if str(f.pk) == request.POST["freeze"]), None
        )
        if freeze is None:
            messages.error(request, "Choose one of the freezes listed, or the live data.")
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
            "contents": export_contents(export),
        },
    )


@login_required
def export_download(request, pk):
    export = _visible(request, pk)
    path = export_file_ready(export)
    if path is None:
        raise Http404("This export is not complete.")
    content_type = "application/zip" if path.suffix == ".zip" else "application/xml"
    return FileResponse(
        open(path, "rb"), as_attachment=True, filename=path.name, content_type=content_type
    )
