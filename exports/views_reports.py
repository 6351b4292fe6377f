"""The study reports: one page with every section, a page per section, the same as JSON, and
each plot as SVG or PNG. Aggregate only: no study ID or birth date reaches these views.

Each reads the report the worker computed and stored for the request's scope
(exports.stored_reports): as of when it was computed, "being updated" while the data changed
since, "being computed" (the page reloads itself; JSON and plots answer 202 with Retry-After)
before the first one. A request never computes a report or draws a plot.

Reach: the sites where the user sees subjects or reports (exports.reports.report_sites), so an
investigator sees their own sites only; `?site=N` narrows to one of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import http_date
from django.utils.safestring import mark_safe

from crf.models import Site

from . import stored_reports
from .freezes import data_basis as freeze_data_basis
from .freezes import data_basis_text, freezes_for_sites
from .models import Freeze
from .report_sections import (
    AE_ROWS,
    FORMATS,
    PLOT_CAPTION,
    PLOT_TITLES,
    SECTIONS,
    drawn,
    section_key,
)
from .reports import PERIODS, report_sites

# How soon a page waiting for its first report reloads itself (seconds).
REFRESH_SECONDS = 5


@dataclass(frozen=True)
class Scope:
    reachable: list[Site]  # every site the user's reports may cover
    sites: list[Site]  # those of this report: all of them, or the one asked for
    chosen: int | None  # the site number asked for
    period: str  # of the AE summary
    freeze: Freeze | None = None  # the freeze it reads, None for the live data
    freezes: tuple[Freeze, ...] = ()  # the freezes the user may choose from

    @property
    def numbers(self) -> list[int]:
        return [site.number for site in self.sites]


def _scope(request) -> Scope:
    """What the request asks for within the user's reach: 403 without any site, 404 for a site
    outside it (nothing revealed)."""
    reachable = list(report_sites(request.user).order_by("number"))
    if not reachable:
        raise PermissionDenied("Your role does not allow study reports.")
    freezes = tuple(freezes_for_sites([site.number for site in reachable]))
    freeze = None
    if request.GET.get("freeze"):
        freeze = next((f for f in freezes if str(f.pk) == request.GET["freeze"]), None)
        if freeze is None:
            raise Http404("No such freeze.")
        if freeze.site_numbers:
            reachable = [site for site in reachable if site.number in freeze.site_numbers]
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
        freeze=freeze,
        freezes=freezes,
    )


def _section(slug: str | None) -> list[str]:
    if slug is None:
        return list(SECTIONS)
    if slug not in SECTIONS:
        raise Http404("No such report.")
    return [slug]


@login_required
def report_page(request, section: str | None = None):
    """The stored report of the request's scope, as of when it was computed; "being updated"
    while the data changed since, "being computed" (reloading itself) before the first one."""
    slugs = _section(section)
    scope = _scope(request)
    ae_rows = request.GET.get("ae_rows", AE_ROWS[0])
    ae_rows = ae_rows if ae_rows in AE_ROWS else AE_ROWS[0]
    stored, stale = stored_reports.current(scope.numbers, scope.period, scope.freeze)
    sections = []
    if stored is not None:
        svgs = dict(
            stored.plots.filter(name__in=[n for s in slugs for n in SECTIONS[s][2]]).values_list(
                "name", "inline_svg"
            )
        )
        sections = [
            {
                "slug": slug,
                "title": SECTIONS[slug][0],
                # computed by the worker from the section templates (autoescaped); a report
                # stored without Table 2's publication rows is stale and shows every row
                "html": mark_safe(  # noqa: S308
                    stored.sections.get(section_key(slug, ae_rows)) or stored.sections.get(slug, "")
                ),
                "plots": [
                    {
                        "name": name,
                        "title": PLOT_TITLES[name],
                        # matplotlib's SVG (it escapes every text) of aggregate numbers
                        "svg": mark_safe(svgs[name]),  # noqa: S308
                        # the events and numbers at risk, rendered by the worker (autoescaped)
                        "caption": mark_safe(  # noqa: S308
                            stored.sections.get(PLOT_CAPTION.format(name=name), "")
                        ),
                    }
                    for name in SECTIONS[slug][2]
                    if name in svgs
                ],
            }
            for slug in slugs
        ]
    return render(
        request,
        "exports/report.html",
        {
            "stored": stored,
            "stale": stale,
            "basis": data_basis_text(stored.freeze, stored.computed_at) if stored else "",
            "refresh": REFRESH_SECONDS if stored is None else None,
            "title": SECTIONS[section][0] if section else "Study reports",
            "sections": sections,
            "slugs": slugs,
            "section": section,
            "scope": scope,
            "section_links": [(slug, title) for slug, (title, _, _) in SECTIONS.items()],
            "query": request.GET.urlencode(),
            "ae_rows": ae_rows,
            "ae_rows_links": _ae_rows_links(request),
            "rounding": (stored.report or {}).get("definitions", {}).get("rounding")
            if stored is not None
            else None,
        },
    )


def _ae_rows_links(request) -> list[tuple[str, str, str]]:
    """(value, label, query string) of each choice of Table 2's rows, the rest kept."""
    labels = {"all": "All rows", "publication": "Publication's rows (footnote filter)"}
    links = []
    for value in AE_ROWS:
        query = request.GET.copy()
        query["ae_rows"] = value
        links.append((value, labels[value], query.urlencode()))
    return links


def _being_computed() -> JsonResponse:
    response = JsonResponse(
        {"status": "being computed", "retry_after_seconds": REFRESH_SECONDS}, status=202
    )
    response["Retry-After"] = str(REFRESH_SECONDS)
    return response


@login_required
def report_json(request, section: str | None = None):
    slugs = _section(section)
    scope = _scope(request)
    stored, stale = stored_reports.current(scope.numbers, scope.period, scope.freeze)
    if stored is None:
        return _being_computed()
    data = stored.report
    keep = {"as_of", "definitions"} | {SECTIONS[slug][1] for slug in slugs}
    if data["counts_only"]:
        keep.add("counts_only")  # why values are withheld
    payload = {"sites": scope.numbers} | {key: value for key, value in data.items() if key in keep}
    # When the numbers were computed, and whether the data changed since.
    payload["computed_at"] = timezone.localtime(stored.computed_at).isoformat(timespec="seconds")
    payload["being_updated"] = stale
    payload["data"] = freeze_data_basis(stored.freeze, stored.computed_at)
    response = JsonResponse(payload, json_dumps_params={"ensure_ascii": False, "indent": 1})
    response["Last-Modified"] = http_date(stored.computed_at.timestamp())
    response["X-Report-Stale"] = "true" if stale else "false"
    return response


@login_required
def report_plot(request, name: str, fmt: str):
    """A plot of the report as a file to download (PNG or SVG)."""
    if name not in PLOT_TITLES or fmt not in FORMATS:
        raise Http404("No such plot.")
    scope = _scope(request)
    stored, stale = stored_reports.current(scope.numbers, scope.period, scope.freeze)
    if stored is None:
        return _being_computed()
    if not drawn(stored.counts_only, name):
        raise Http404(stored.counts_only)
    plot = stored.plots.filter(name=name).first()
    if plot is None:
        raise Http404("No such plot.")
    content = plot.svg.encode() if fmt == "svg" else bytes(plot.png)
    response = HttpResponse(content, content_type=FORMATS[fmt])
    where = f"site{scope.chosen}" if scope.chosen else "study"
    if scope.freeze is not None:
        where += f"-freeze{scope.freeze.pk}"
    filename = f"blinacell-{name}-{where}-{stored.as_of.isoformat()}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Last-Modified"] = http_date(stored.computed_at.timestamp())
    response["X-Report-Stale"] = "true" if stale else "false"
    return response
