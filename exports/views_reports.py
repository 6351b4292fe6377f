"""The live study reports: one page with every section, a page per section, the same as JSON,
and each plot as SVG or PNG. Aggregate only: no study ID or birth date reaches these views.

Reach: the sites where the user sees subjects or reports (exports.reports.report_sites), so an
investigator sees their own sites only; `?site=N` narrows to one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

from crf.models import Site
from protocol import reports as protocol_reports

from . import report_plots
from .reports import PERIODS, report_sites, study_report

# slug -> (title, key of the JSON report, plots drawn in the section)
SECTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "enrolment": ("Enrolment by site", "enrolment", ("enrolment",)),
    "table-1": ("Patient characteristics (Table 1)", "table_1", ()),
    "primary-endpoint": ("Primary endpoint: MRD negativity at week 11", "primary_endpoint", ()),
    "mrd": ("MRD response by timepoint", "mrd_by_timepoint", ()),
    "adverse-events": ("Adverse events (Table 2)", "adverse_events", ()),
    "flow": ("Flow of patients (Figure 1)", "flow", ("flow",)),
    "survival": ("Survival and relapse", "survival", ("os", "efs", "cir")),
}


@dataclass(frozen=True)
class Scope:
    reachable: list[Site]  # every site the user's reports may cover
    sites: list[Site]  # those of this report: all of them, or the one asked for
    chosen: int | None  # the site number asked for
    period: str  # of the AE summary


def _scope(request) -> Scope:
    """What the request asks for within the user's reach: 403 without any site, 404 for a site
    outside it (nothing revealed)."""
    reachable = list(report_sites(request.user).order_by("number"))
    if not reachable:
        raise PermissionDenied("Your role does not allow study reports.")
    chosen = request.GET.get("site") or None
    sites = reachable
    if chosen is not None:
        sites = [site for site in reachable if str(site.number) == chosen]
        if not sites:
            raise Http404("No such site.")
    period = request.GET.get("period", PERIODS[0])
    return Scope(
        reachable=reachable,
        sites=sites,
        chosen=int(chosen) if chosen else None,
        period=period if period in PERIODS else PERIODS[0],
    )


def _section(slug: str | None) -> list[str]:
    if slug is None:
        return list(SECTIONS)
    if slug not in SECTIONS:
        raise Http404("No such report.")
    return [slug]


# Plots of dates and of single patients' times: not drawn for a group shown by its counts only.
_WITHHELD_PLOTS = {"enrolment", "os", "efs", "cir"}


def _drawn(report, name: str) -> bool:
    return not (report.counts_only and name in _WITHHELD_PLOTS)


@login_required
def report_page(request, section: str | None = None):
    slugs = _section(section)
    scope = _scope(request)
    report = study_report(scope.sites, period=scope.period)
    sections = [
        {
            "slug": slug,
            "title": SECTIONS[slug][0],
            "plots": [
                {
                    "name": name,
                    "title": report_plots.PLOTS[name][0],
                    # matplotlib's SVG (it escapes every text) of aggregate numbers
                    "svg": mark_safe(report_plots.inline_svg(report, name)),  # noqa: S308
                }
                for name in SECTIONS[slug][2]
                if _drawn(report, name)
            ],
        }
        for slug in slugs
    ]
    return render(
        request,
        "exports/report.html",
        {
            "report": report,
            "sections": sections,
            "slugs": slugs,
            "section": section,
            "scope": scope,
            "section_links": [(slug, title) for slug, (title, _, _) in SECTIONS.items()],
            "survival_rows": [
                ("Overall survival", report.survival.overall),
                ("Event-free survival", report.survival.event_free),
                ("Relapse in CR1 (cumulative incidence)", report.survival.relapse_in_cr1),
            ]
            if report.survival is not None
            else [],
            "query": request.GET.urlencode(),
        },
    )


@login_required
def report_json(request, section: str | None = None):
    slugs = _section(section)
    scope = _scope(request)
    data = protocol_reports.report_json(study_report(scope.sites, period=scope.period))
    keep = {"as_of", "definitions"} | {SECTIONS[slug][1] for slug in slugs}
    if data["counts_only"]:
        keep.add("counts_only")  # why values are withheld
    payload = {"sites": [site.number for site in scope.sites]} | {
        key: value for key, value in data.items() if key in keep
    }
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "indent": 1})


@login_required
def report_plot(request, name: str, fmt: str):
    """A plot of the report as a file to download (PNG or SVG)."""
    if name not in report_plots.PLOTS or fmt not in report_plots.FORMATS:
        raise Http404("No such plot.")
    scope = _scope(request)
    report = study_report(scope.sites, period=scope.period)
    if not _drawn(report, name):
        raise Http404(report.counts_only)
    content = report_plots.plot_bytes(report, name, fmt)
    response = HttpResponse(content, content_type=report_plots.FORMATS[fmt])
    where = f"site{scope.chosen}" if scope.chosen else "study"
    filename = f"blinacell-{name}-{where}-{report.as_of.isoformat()}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
