"""Study reports computed once per data version, stored per scope, read by the report pages.

A save that changes what a report counts bumps its site's data version (ReportDataVersion) in
the same transaction: the write pipeline's follow-up (`subjects_changed`, registered in
ExportsConfig.ready) for every save, upload and import, and a post_save/post_delete signal of
each model the report reads (REPORT_MODELS) for the writes that do not go through the pipeline
(enrolment, treatment planning, protocol decisions, sites). Once the transaction commits, the
worker recomputes every stored report that is stale (exports.tasks.recompute_stale_reports);
the beat does the same every minute, in case a message was lost.

A stored report (StoredReport) is the report of one scope, the sorted site numbers and the AE
period: its JSON, the HTML of each section (the section templates, rendered by the worker),
each plot's SVG and PNG, the data versions it was computed at and when. It is stale when a site
of its scope has a newer data version, or when it was counted to another day (the report counts
to today). The pages show a stale report as it was, saying so, and ask for a new one; a page
without any stored report says it is being computed. Only the worker (and the demo loader)
compute: a request never runs lifelines or matplotlib.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from crf.models import Site, Subject

from .freezes import reading
from .models import ReportDataVersion, StoredReport, StoredReportPlot
from .report_sections import (
    PLOT_CAPTION,
    PLOT_TITLES,
    SECTIONS,
    SURVIVAL_PLOTS,
    drawn,
    section_key,
)

log = logging.getLogger(__name__)

# A page asks again for a stale or missing report at most this often.
ASK_AGAIN_AFTER = timedelta(seconds=60)
# After a save, a report is recomputed at most this often (seconds), so that a busy day of
# saves keeps one worker process at most partly busy; the page says "being updated" meanwhile.
RECOMPUTE_AT_MOST_EVERY = 15


# --- Marking the data changed -------------------------------------------------------------------


def _bumped_in_this_transaction() -> set[int]:
    """The sites whose data version this transaction has already bumped since it last computed
    a report (their enqueue callbacks carry them; a rolled-back savepoint drops its callbacks
    with its bumps)."""
    generation = getattr(connection, "_reports_computed", 0)
    bumped: set[int] = set()
    for entry in connection.run_on_commit:
        if getattr(entry[1], "report_generation", None) == generation:
            bumped |= getattr(entry[1], "report_sites", set())
    return bumped


# Table names are the models' own (db_table of exports.ReportDataVersion and crf.Site).
_BUMP = """
    INSERT INTO exports_reportdataversion (site_id, version, changed_at)
    SELECT id, 1, now() FROM crf_site WHERE id = ANY(%s) ORDER BY id
    ON CONFLICT (site_id) DO UPDATE
    SET version = exports_reportdataversion.version + 1, changed_at = EXCLUDED.changed_at
"""


def sites_changed(site_ids: Iterable[int]) -> None:
    """Bump the data version of these sites in the current transaction and, once it commits,
    have the worker recompute the stale stored reports (one message per transaction)."""
    ids = sorted({pk for pk in site_ids if pk is not None})
    if connection.in_atomic_block:
        ids = [pk for pk in ids if pk not in _bumped_in_this_transaction()]
    if not ids:
        return
    with connection.cursor() as cursor:
        # One statement, sites in order (no deadlock between two saves of several sites).
        cursor.execute(
            _BUMP,
            [ids],
        )

    def callback():
        enqueue_recompute()

    callback.report_sites = set(ids)
    callback.report_generation = getattr(connection, "_reports_computed", 0)
    transaction.on_commit(callback)


def subjects_changed(subject_ids: Sequence[int]) -> None:
    """The write pipeline's follow-up: these subjects' data changed in this transaction."""
    sites_changed(Subject.objects.filter(pk__in=subject_ids).values_list("site_id", flat=True))


def record_saved(sender, instance, **kwargs) -> None:
    """post_save / post_delete of a model the report reads (REPORT_MODELS)."""
    if kwargs.get("raw"):
        return  # fixtures loading
    from crf.records import subject_of

    if isinstance(instance, Site):
        site_id = instance.pk
    elif isinstance(instance, Subject):
        site_id = instance.site_id
    else:
        try:
            site_id = subject_of(instance).site_id
        except Exception:  # noqa: BLE001 - a half-deleted record: mark every site
            site_id = None
        if site_id is None:
            sites_changed(Site.objects.values_list("pk", flat=True))
            return
    sites_changed([site_id])


def report_models() -> list[type]:
    """Every model whose rows exports.reports.study_report reads."""
    from alerts.models import ProtocolDecision
    from mrd.models import MrdResult, MrdSample
    from safety.models import AdverseEvent

    related = [
        "screening", "baseline", "day11", "day40", "death", "end_of_study", "relapses",
        "transplants", "second_malignancies", "courses", "infusions",
    ]  # fmt: skip
    models = [Site, Subject, ProtocolDecision, MrdResult, MrdSample, AdverseEvent]
    models += [Subject._meta.get_field(name).related_model for name in related]
    from crf.models import (
        FollowUpContact,
        MrdTriggeredBlinatumomab,
        SalvageTherapy,
        Visit,
    )

    models += [FollowUpContact, MrdTriggeredBlinatumomab, SalvageTherapy, Visit]
    return list(dict.fromkeys(models))


def enqueue_recompute() -> bool:
    from .tasks import recompute_stale_reports

    try:
        # No retry: a save must not wait on a broker that is down; the beat catches up.
        recompute_stale_reports.apply_async(retry=False)
    except Exception:  # noqa: BLE001 - any broker failure
        log.warning("broker unavailable: stale reports wait for the beat")
        return False
    return True


def enqueue_compute(stored_id: int) -> bool:
    from .tasks import compute_report

    try:
        compute_report.apply_async(args=[stored_id], retry=False)
    except Exception:  # noqa: BLE001 - any broker failure
        log.warning("broker unavailable: report %s waits for the beat", stored_id)
        return False
    return True


# --- Scopes and versions --------------------------------------------------------------------


def scope_key(site_numbers: Iterable[int]) -> str:
    return ",".join(str(n) for n in sorted(set(site_numbers)))


def versions(site_numbers: Iterable[int]) -> dict[str, int]:
    """{"site number": data version} of these sites (0 for a site never changed)."""
    numbers = sorted(set(site_numbers))
    found = dict(
        ReportDataVersion.objects.filter(site__number__in=numbers).values_list(
            "site__number", "version"
        )
    )
    return {str(n): found.get(n, 0) for n in numbers}


def is_stale(stored: StoredReport, current: dict[str, int] | None = None) -> bool:
    """Whether the data changed since `stored` was computed (or it counts to another day, or
    the installation's small-group limit changed, or it lacks a section this version shows)."""
    if stored.computed_at is None:
        return True
    if stored.freeze_id is not None:
        return False  # frozen data do not change
    if current is None:
        current = versions(int(n) for n in stored.site_numbers.split(","))
    return (
        stored.data_versions != current
        or stored.as_of != timezone.localdate()
        or stored.small_group_limit != settings.REPORT_SMALL_GROUP_PATIENTS
        # stored by a version without Table 2's publication rows: computed again once
        or section_key("adverse-events", "publication") not in stored.sections
    )


def stored_for(site_numbers: Iterable[int], period: str, freeze=None) -> StoredReport | None:
    return (
        StoredReport.objects.filter(
            site_numbers=scope_key(site_numbers), period=period, freeze=freeze
        )
        .select_related("freeze")
        .first()
    )


def ask(site_numbers: Iterable[int], period: str, freeze=None) -> StoredReport:
    """Have the worker compute the report of this scope, once: a stored report without its
    result is created and its computation enqueued when this transaction commits; an existing
    one is enqueued again only when nobody asked within ASK_AGAIN_AFTER and no worker is at it."""
    now = timezone.now()
    stored, created = StoredReport.objects.get_or_create(
        site_numbers=scope_key(site_numbers),
        period=period,
        freeze=freeze,
        defaults={"requested_at": now},
    )
    if not created:
        with transaction.atomic():
            # Locked: a worker is computing it right now (and the page must not wait for it).
            due = (
                StoredReport.objects.select_for_update(skip_locked=True)
                .filter(pk=stored.pk)
                .filter(Q(requested_at__isnull=True) | Q(requested_at__lt=now - ASK_AGAIN_AFTER))
                .values_list("pk", flat=True)
            )
            if not StoredReport.objects.filter(pk__in=list(due)).update(requested_at=now):
                return stored
    pk = stored.pk
    transaction.on_commit(lambda: enqueue_compute(pk))
    return stored


def current(
    site_numbers: Sequence[int], period: str, freeze=None
) -> tuple[StoredReport | None, bool]:
    """The stored report of this scope (of the live data, or as of `freeze`), if one was ever
    computed, and whether it is stale; asks for a computation when there is none or it is
    stale."""
    stored = stored_for(site_numbers, period, freeze)
    if stored is not None and stored.computed_at is not None and not is_stale(stored):
        return stored, False
    ask(site_numbers, period, freeze)
    stored = stored_for(site_numbers, period, freeze)
    if stored is None or stored.computed_at is None:
        return None, True
    return stored, is_stale(stored)


# --- Computing (the worker and the demo loader only) ----------------------------------------


def compute(stored: StoredReport) -> StoredReport:
    """Compute and store the report of `stored`'s scope (run in a transaction)."""
    from protocol import reports as protocol_reports

    from . import report_plots

    # A later save in this transaction (the demo loader's, a test's) bumps the versions again.
    connection._reports_computed = getattr(connection, "_reports_computed", 0) + 1
    numbers = [int(n) for n in stored.site_numbers.split(",")]
    # Before the data: a save committed meanwhile leaves it stale (frozen data do not change).
    at = versions(numbers) if stored.freeze is None else {}
    report, stored.sections = _computed(stored)
    stored.report = protocol_reports.report_json(report)
    stored.counts_only = report.counts_only or ""
    stored.as_of = report.as_of
    stored.small_group_limit = settings.REPORT_SMALL_GROUP_PATIENTS
    stored.data_versions = at
    stored.computed_at = timezone.now()
    stored.save()
    plots = []
    for name in PLOT_TITLES:
        if not drawn(report.counts_only, name):
            continue
        svg = report_plots.plot_bytes(report, name, "svg")
        plots.append(
            StoredReportPlot(
                report=stored,
                name=name,
                svg=svg.decode(),
                inline_svg=report_plots.svg_for_page(svg, name),
                png=report_plots.plot_bytes(report, name, "png"),
            )
        )
    stored.plots.all().delete()
    StoredReportPlot.objects.bulk_create(plots)
    return stored


def _computed(stored: StoredReport):
    """(The report of `stored`'s scope, the HTML of its sections), of the live data or as of its
    freeze (counted to the freeze's day)."""
    from .reports import study_report

    numbers = [int(n) for n in stored.site_numbers.split(",")]
    freeze = stored.freeze
    with reading(freeze):
        sites = list(Site.objects.filter(number__in=numbers).order_by("number"))
        report = study_report(
            sites, period=stored.period, as_of=freeze.as_of if freeze is not None else None
        )
        return report, sections_html(report)


def recomputed_differences(stored: StoredReport) -> list[str]:
    """Compute a stored report again (not saving it) and name what differs from what is stored:
    nothing for a frozen report, whenever recomputed, while the report's code is the same."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from protocol import reports as protocol_reports

    report, sections = _computed(stored)
    fresh = json.loads(json.dumps(protocol_reports.report_json(report), cls=DjangoJSONEncoder))
    differing = ["report JSON"] if fresh != stored.report else []
    differing += [f"section {key}" for key in sorted(set(sections) | set(stored.sections))
                  if sections.get(key) != stored.sections.get(key)]  # fmt: skip
    return differing


_SURVIVAL_LABELS = {
    "overall": "Overall survival",
    "event_free": "Event-free survival",
    "relapse_in_cr1": "Relapse in CR1 (cumulative incidence)",
}


def sections_html(report) -> dict[str, str]:
    """The HTML of each section of `report` (its section template), of Table 2 with the
    publication's rows only (section_key), and of the events and numbers at risk under each
    time-to-event plot (PLOT_CAPTION)."""
    survival = report.survival
    endpoints = survival.endpoints if survival is not None else ()
    months = sorted({m for _, summary, _ in endpoints for m, _ in summary.at_risk})
    context = {
        "report": report,
        "survival_rows": [(_SURVIVAL_LABELS[key], s, text) for key, s, text in endpoints],
        "at_risk_months": months,
        "at_risk_rows": [
            (_SURVIVAL_LABELS[key], [dict(s.at_risk).get(m, 0) for m in months])
            for key, s, _ in endpoints
        ],
        "ae_rows": "all",
        "rows": report.adverse_events.rows,
    }
    html = {slug: render_to_string(f"exports/report_{slug}.html", context) for slug in SECTIONS}
    publication = context | {
        "ae_rows": "publication",
        "rows": report.adverse_events.publication_rows,
    }
    html[section_key("adverse-events", "publication")] = render_to_string(
        "exports/report_adverse-events.html", publication
    )
    for name, key in SURVIVAL_PLOTS.items():
        if survival is not None:
            html[PLOT_CAPTION.format(name=name)] = render_to_string(
                "exports/report_plot_caption.html",
                {"events": survival.events(key), "summary": getattr(survival, key)},
            )
    return html


def compute_if_stale(stored_id: int, *, min_interval: float = 0) -> float | bool:
    """Recompute one stored report if it is stale and no other worker is at it: True when it
    did; the seconds to wait when it was computed less than `min_interval` seconds ago."""
    with transaction.atomic():
        stored = (
            StoredReport.objects.select_for_update(skip_locked=True).filter(pk=stored_id).first()
        )
        if stored is None or not is_stale(stored):
            return False
        if stored.computed_at is not None and min_interval:
            wait = min_interval - (timezone.now() - stored.computed_at).total_seconds()
            if wait > 0 and stored.as_of == timezone.localdate():
                return wait
        compute(stored)
        return True


def recompute_stale(*, min_interval: float = 0) -> tuple[int, float]:
    """Recompute every stale stored report, each at most once per `min_interval` seconds:
    how many were, and how long until the next of those left stale may be."""
    done, wait = 0, 0.0
    for pk in StoredReport.objects.order_by("pk").values_list("pk", flat=True):
        result = compute_if_stale(pk, min_interval=min_interval)
        if result is True:
            done += 1
        elif result:
            wait = max(wait, result)
    return done, wait


def prepare(scopes: Iterable[tuple[Sequence[int], str]]) -> int:
    """Compute the reports of these scopes now, unless current (the demo loader's)."""
    done = 0
    for numbers, period in scopes:
        stored, _ = StoredReport.objects.get_or_create(
            site_numbers=scope_key(numbers), period=period, freeze=None
        )
        done += compute_if_stale(stored.pk) is True
    return done
