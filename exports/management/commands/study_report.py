"""The live study report from the command line: the whole report as JSON (--json) or a
readable summary, for every site or one (--site N). Aggregate only, like the report pages."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from crf.models import Site
from exports.reports import PERIODS, study_report
from protocol import reports


class Command(BaseCommand):
    help = "Print the live study report (Table 1, primary endpoint, MRD, AEs, flow, survival)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
        parser.add_argument("--site", type=int, help="only this site (its number)")
        parser.add_argument(
            "--period", choices=PERIODS, default=PERIODS[0], help="period of the AE summary"
        )

    def handle(self, *args, **options):
        site, period = options["site"], options["period"]
        sites = Site.objects.order_by("number")
        if site is not None:
            sites = sites.filter(number=site)
            if not sites:
                raise CommandError(f"There is no site {site}.")
        # The operator's own command, with the database at hand: nothing is withheld here.
        report = study_report(list(sites), period=period, small_groups_counts_only=False)
        if options["json"]:
            data = {"sites": [s.number for s in sites]} | reports.report_json(report)
            self.stdout.write(json.dumps(data, indent=1, ensure_ascii=False))
        else:
            self.stdout.write("\n".join(summary_lines(report)))


def summary_lines(report: reports.StudyReport) -> list[str]:
    """The report as plain text lines."""
    lines = [f"Blina-CELL live study report, data as of {report.as_of.isoformat()}", ""]
    enrolment = report.enrolment
    lines.append(f"Enrolment: {enrolment.total} patients")
    for site in enrolment.sites:
        span = f" ({site.first_month} to {site.last_month})" if site.first_month else ""
        lines.append(f"  site {site.number} {site.name}: {site.enrolled}{span}")
    lines += ["", "Table 1. Patient characteristics (N (%), median (range))"]
    for row in report.table_1.rows:
        lines.append(f"  {'  ' if row.indent else ''}{row.label}: {row.text}".rstrip(": "))
    endpoint = report.primary_endpoint
    lines += [
        "",
        "Primary endpoint: MRD negativity at week 11 (CR at day 40, IG/TR target)",
        f"  {endpoint.negativity.text}; evaluable {endpoint.evaluable}, "
        f"without a week-11 result {endpoint.without_result}",
        f"  one-sided exact binomial test against {endpoint.null_rate:.0%}: "
        f"p = {endpoint.test.p_text} (target {endpoint.target_rate:.0%})",
        f"  {endpoint.hypotheses}",
        f"  Decision rule: {endpoint.decision_rule}",
        f"  Conclusion: {endpoint.conclusion}"
        + (f" {endpoint.interim}" if endpoint.interim else ""),
        "",
        "MRD response by timepoint (evaluable: negative / PNQ / quantifiable / no result)",
    ]
    for row in report.mrd_by_timepoint:
        lines.append(
            f"  {row.timepoint}: {row.evaluable}: {row.negative} / {row.pnq} / "
            f"{row.quantifiable} / {row.missing + row.negative_insufficient}"
        )
    ae = report.adverse_events
    lines += [
        "",
        f"Adverse events ({ae.period}), N = {ae.treated} treated: any grade / grade 3-4 / grade 5",
    ]
    for row in ae.rows:
        marker = "" if row.in_publication else " [not in the publication's footnote rows]"
        indent = "  " if row.is_category else "    "
        lines.append(
            f"{indent}{row.label}: {row.any_grade} ({row.percent_any}) / "
            f"{row.severe} ({row.percent_severe}) / {row.fatal} ({row.percent_fatal}){marker}"
        )
    lines.append(f"  ({ae.footnote})")
    flow = report.flow
    lines += [
        "",
        "Flow of patients",
        f"  enrolled {flow.enrolled}; withdrew during induction "
        f"{flow.withdrew_during_induction}; died before day 40 {flow.died_before_day40}; "
        f"awaiting day 40 {flow.awaiting_day40}",
        f"  day 40: CR/CRi {flow.complete_remission}, refractory {flow.refractory}; "
        f"CR with IG/TR target {flow.cr_with_target}, without {flow.cr_without_target}",
        f"  week 11: negative {flow.week11.negative}, PNQ {flow.week11.pnq}, quantifiable "
        f"{flow.week11.quantifiable}",
        f"  MRD-triggered blinatumomab: referred {flow.mrd_triggered_blinatumomab_referred}, "
        f"given {flow.mrd_triggered_blinatumomab_given}; salvage therapy "
        f"{flow.salvage_therapy} {dict(flow.salvage_indications)}",
        f"  HSCT {flow.transplanted} (in CR1 {flow.transplanted_in_cr1}); relapse "
        f"{flow.relapsed} {dict(flow.relapse_kinds)}; second malignancy "
        f"{flow.second_malignancy}; died {flow.died}",
        "",
        "Survival (from study day 1)",
    ]
    if report.survival is None:
        return [*lines, f"  withheld: {report.counts_only}"]
    labels = {
        "overall": "Overall survival",
        "event_free": "Event-free survival",
        "relapse_in_cr1": "Cumulative incidence of relapse in CR1",
    }
    lines.append(f"  Follow-up: {report.survival.follow_up.text}")
    for key, summary, events in report.survival.endpoints:
        rates = "; ".join(f"{rate.months:g} months {rate.text}" for rate in summary.rates)
        lines.append(
            f"  {labels[key]}: {summary.subjects} patients, {summary.events} events; {rates}"
            + (f"; median {summary.median_text}" if summary.kind == "survival" else "")
        )
        lines.append(f"    {events}")
        at_risk = ", ".join(f"{months:g} mo {n}" for months, n in summary.at_risk)
        lines.append(f"    at risk: {at_risk}")
    return [*lines, "", report.definitions["rounding"]]
