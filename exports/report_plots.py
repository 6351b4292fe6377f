"""The study report's figures, drawn with matplotlib's object API (no pyplot, no global state,
safe in a web process) from protocol.reports dataclasses, rendered as SVG for the page and PNG
for download. Aggregate numbers only, like the report itself."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import date

import matplotlib

matplotlib.use("Agg")  # never a GUI backend, whoever imports pyplot later

from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402
from matplotlib.ticker import PercentFormatter  # noqa: E402

from protocol import reports  # noqa: E402
from protocol.statistics import TimeToEventSummary, format_percent  # noqa: E402

from .report_sections import FORMATS, PLOT_TITLES, SURVIVAL_PLOTS  # noqa: E402

_RC = {
    "svg.fonttype": "none",  # text as text: smaller, searchable, readable by screen readers
    "svg.hashsalt": "blinacell-report",  # stable ids: the same report gives the same SVG
    "font.size": 9,
}
_BLUE, _ORANGE, _GREY = "#1f5fa6", "#c8581b", "#6c757d"


def _no_data(fig: Figure, message: str) -> Figure:
    ax = fig.add_subplot()
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", color=_GREY)
    return fig


# --- Enrolment -------------------------------------------------------------------------------


def enrolment_figure(enrolment: reports.Enrolment) -> Figure:
    """Cumulative enrolment per site and in total, by month of study day 1."""
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    if not enrolment.months:
        return _no_data(fig, "No patient enrolled yet")
    ax = fig.add_subplot()
    months = [date(int(m[:4]), int(m[5:]), 1) for m in enrolment.months]
    for site, series in zip(enrolment.sites, enrolment.cumulative, strict=True):
        ax.step(months, series, where="post", label=f"Site {site.number} {site.name}")
    ax.step(
        months, enrolment.total_cumulative, where="post", color="black", linewidth=2, label="All"
    )
    ax.set_ylabel("Patients enrolled (cumulative)")
    ax.set_xlabel("Month of study day 1")
    ax.set_ylim(bottom=0)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return fig


# --- Flow of patients (Figure 1) -------------------------------------------------------------


_LINE = 0.0185  # height of a line of 8.5 pt text in the 8-inch flow figure (axes fraction)
_PAD = 0.012  # the box's padding, top or bottom


def _box(ax, x: float, y: float, text: str, *, colour: str = _BLUE, ha: str = "center"):
    """A box centred vertically on y; returns (x, top, bottom) for the arrows."""
    ax.text(
        x,
        y,
        text,
        ha=ha,
        va="center",
        fontsize=8.5,
        bbox={"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": colour},
    )
    half = text.count("\n") * _LINE / 2 + _LINE / 2 + _PAD
    return x, y + half, y - half


def _arrow(ax, source, target) -> None:
    """From the bottom of the source box to the top of the target box."""
    ax.annotate(
        "",
        xy=(target[0], target[1]),
        xytext=(source[0], source[2]),
        arrowprops={"arrowstyle": "-|>", "color": _GREY, "shrinkA": 1, "shrinkB": 1},
    )


def flow_figure(flow: reports.PatientFlow) -> Figure:
    """The paper's Figure 1: enrolment, day-40 response, IG/TR target, week-11 MRD classes,
    then what happened to the patients (MRD-triggered blinatumomab given and referred, HSCT,
    relapse, salvage therapy, second malignancy, death)."""
    fig = Figure(figsize=(7.5, 8))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axis("off")
    ax.add_patch(
        FancyBboxPatch(
            (0.03, 0.02), 0.94, 0.23, boxstyle="round,pad=0.005", facecolor="#f3f6fa", lw=0
        )
    )
    enrolled = _box(ax, 0.35, 0.95, f"Enrolled\nn = {flow.enrolled}")
    early = [f"Withdrew during induction: {flow.withdrew_during_induction}"]
    if flow.died_before_day40:
        early.append(f"Died before day 40: {flow.died_before_day40}")
    if flow.awaiting_day40:
        early.append(f"Day-40 response not yet recorded: {flow.awaiting_day40}")
    _box(ax, 0.56, 0.87, "\n".join(early), colour=_GREY, ha="left")
    ax.annotate(
        "", xy=(0.545, 0.87), xytext=(0.35, 0.87),
        arrowprops={"arrowstyle": "-|>", "color": _GREY, "shrinkA": 0, "shrinkB": 1},
    )  # fmt: skip
    assessed = _box(ax, 0.35, 0.78, f"Day-40 response assessed\nn = {flow.assessed_day40}")
    _arrow(ax, enrolled, assessed)
    in_cr = _box(ax, 0.25, 0.65, f"CR / CRi at day 40\nn = {flow.complete_remission}")
    refractory = _box(
        ax, 0.75, 0.65, f"Refractory at day 40\nn = {flow.refractory}", colour=_ORANGE
    )
    _arrow(ax, assessed, in_cr)
    _arrow(ax, assessed, refractory)
    target = _box(ax, 0.15, 0.51, f"IG/TR target\nn = {flow.cr_with_target}")
    no_target = _box(ax, 0.45, 0.51, f"No IG/TR target\nn = {flow.cr_without_target}", colour=_GREY)
    _arrow(ax, in_cr, target)
    _arrow(ax, in_cr, no_target)
    w11 = flow.week11
    classes = [
        ("W11 MRD negative", w11.negative, _BLUE),
        ("W11 positive,\nnot quantifiable", w11.pnq, _BLUE),
        ("W11 quantifiable", w11.quantifiable, _ORANGE),
    ]
    other = w11.negative_insufficient + w11.missing
    if other:
        classes.append(("W11 no result / neg.\nsensitivity < 1E-4", other, _GREY))
    step = 0.9 / len(classes)
    for index, (label, count, colour) in enumerate(classes):
        box = _box(ax, 0.05 + step * (index + 0.5), 0.36, f"{label}\nn = {count}", colour=colour)
        _arrow(ax, target, box)
    ax.text(0.06, 0.225, "Course of all enrolled patients", fontsize=8.5, color=_GREY)
    kinds = ", ".join(f"{kind.lower()} {count}" for kind, count in flow.relapse_kinds)
    hsct = f"HSCT\nn = {flow.transplanted}\n(in CR1 {flow.transplanted_in_cr1}"
    hsct += f", MRD-triggered {flow.transplanted_mrd_triggered})"
    blinatumomab = (
        f"MRD-triggered blinatumomab\ngiven n = {flow.mrd_triggered_blinatumomab_given}"
        f"\n(referred {flow.mrd_triggered_blinatumomab_referred})"
    )
    _box(ax, 0.2, 0.15, blinatumomab)
    _box(ax, 0.5, 0.15, hsct)
    _box(ax, 0.8, 0.15, f"Relapse\nn = {flow.relapsed}" + (f"\n({kinds})" if kinds else ""))
    _box(ax, 0.2, 0.06, f"Salvage therapy\nn = {flow.salvage_therapy}", colour=_GREY)
    _box(ax, 0.5, 0.06, f"Second malignancy\nn = {flow.second_malignancy}", colour=_GREY)
    _box(ax, 0.8, 0.06, f"Died\nn = {flow.died}", colour=_GREY)
    return fig


# --- Survival --------------------------------------------------------------------------------


def _percent(value: float | None) -> str:
    return format_percent(value)  # the reports' one rounding rule


def time_to_event_figure(
    summary: TimeToEventSummary, *, ylabel: str, horizon_months: float, events: str = ""
) -> Figure:
    """A Kaplan-Meier or cumulative incidence step curve with its 95% band, censoring marks,
    the rate at `horizon_months`, the events of the endpoint above it and the numbers at risk
    under the axis (every protocol.statistics.AT_RISK_EVERY_MONTHS)."""
    fig = Figure(figsize=(7, 4), layout="constrained")
    if not summary.steps:
        return _no_data(fig, "No evaluable patient yet")
    ax = fig.add_subplot()
    if events:
        ax.set_title(events, fontsize=8.5, loc="left", wrap=True)
    months = [s.months for s in summary.steps]
    values = [s.estimate for s in summary.steps]
    lower = [s.estimate if s.lower is None else s.lower for s in summary.steps]
    upper = [s.estimate if s.upper is None else s.upper for s in summary.steps]
    last = max(months[-1], *(summary.censored_months or [0]))
    months_ext, values_ext = [*months, last], [*values, values[-1]]
    ax.fill_between(
        [*months, last], [*lower, lower[-1]], [*upper, upper[-1]],
        step="post", color=_BLUE, alpha=0.15, linewidth=0, label="95% interval",
    )  # fmt: skip
    ax.step(months_ext, values_ext, where="post", color=_BLUE, linewidth=1.8)
    if summary.censored_months:
        at_censor = [_value_at(summary, m) for m in summary.censored_months]
        ax.plot(
            summary.censored_months, at_censor, "|", color=_BLUE, markersize=9, label="Censored"
        )
    rate = summary.rate_at(horizon_months)
    if rate is not None and rate.estimate is not None:
        ax.axvline(horizon_months, color=_GREY, linestyle=":", linewidth=1)
        ax.annotate(
            f"{horizon_months / 12:.0f} years: {_percent(rate.estimate)} "
            f"(95% CI {_percent(rate.lower)}–{_percent(rate.upper)})",
            xy=(horizon_months, rate.estimate),
            xytext=(8, 12 if summary.kind == "survival" else -16),
            textcoords="offset points",
            fontsize=8.5,
        )
    top = 1.05 if summary.kind == "survival" else min(1.05, max(0.25, max(upper) * 1.2))
    ax.set_ylim(0, top)
    ax.set_xlim(0, max(last, horizon_months) * 1.03)
    ax.set_xticks([month for month, _ in summary.at_risk])
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1))
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Months from study day 1")
    ax.annotate(
        "At risk", xy=(0, 0), xycoords="axes fraction", xytext=(-6, -44),
        textcoords="offset points", ha="right", fontsize=8, color=_GREY,
    )  # fmt: skip
    for month, at_risk in summary.at_risk:
        ax.annotate(
            str(at_risk),
            xy=(month, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -44),
            textcoords="offset points",
            ha="center",
            fontsize=8,
            color=_GREY,
        )
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left" if summary.kind == "survival" else "upper left", frameon=False)
    return fig


def _value_at(summary: TimeToEventSummary, months: float) -> float:
    current = summary.steps[0].estimate
    for step in summary.steps:
        if step.months > months:
            break
        current = step.estimate
    return current


# --- The plots of a report -------------------------------------------------------------------

PLOTS: dict[str, tuple[str, Callable[[reports.StudyReport], Figure]]] = {
    "enrolment": (PLOT_TITLES["enrolment"], lambda r: enrolment_figure(r.enrolment)),
    "flow": (PLOT_TITLES["flow"], lambda r: flow_figure(r.flow)),
    "os": (
        PLOT_TITLES["os"],
        lambda r: time_to_event_figure(
            r.survival.overall,
            ylabel="Overall survival",
            horizon_months=reports.SURVIVAL_HORIZON_MONTHS,
            events=r.survival.events(SURVIVAL_PLOTS["os"]),
        ),
    ),
    "efs": (
        PLOT_TITLES["efs"],
        lambda r: time_to_event_figure(
            r.survival.event_free,
            ylabel="Event-free survival",
            horizon_months=reports.SURVIVAL_HORIZON_MONTHS,
            events=r.survival.events(SURVIVAL_PLOTS["efs"]),
        ),
    ),
    "cir": (
        PLOT_TITLES["cir"],
        lambda r: time_to_event_figure(
            r.survival.relapse_in_cr1,
            ylabel="Cumulative incidence of relapse",
            horizon_months=reports.SURVIVAL_HORIZON_MONTHS,
            events=r.survival.events(SURVIVAL_PLOTS["cir"]),
        ),
    ),
}


def render(figure: Figure, fmt: str) -> bytes:
    """The figure as SVG or PNG bytes."""
    if fmt not in FORMATS:
        raise ValueError(f"Unknown format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    buffer = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {"Software": None}
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format=fmt, dpi=150, metadata=metadata, bbox_inches="tight")
    return buffer.getvalue()


def plot_bytes(report: reports.StudyReport, name: str, fmt: str) -> bytes:
    """Plot `name` (a key of PLOTS) of `report` in `fmt` ("svg" or "png")."""
    with matplotlib.rc_context(_RC):
        figure = PLOTS[name][1](report)
    return render(figure, fmt)


_SVG_SIZE = re.compile(r'\s(?:width|height)="[^"]*"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>(.*?)</style>\s*", re.DOTALL)
_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
_TAG = re.compile(r"<[A-Za-z][^>]*>")
# CSS properties matplotlib writes that SVG also takes as presentation attributes.
_PRESENTATION = frozenset(
    {
        "clip-path", "fill", "fill-opacity", "fill-rule", "font-family", "font-size",
        "font-stretch", "font-style", "font-variant", "font-weight", "letter-spacing", "opacity",
        "stroke", "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin",
        "stroke-miterlimit", "stroke-opacity", "stroke-width", "text-anchor",
    }
)  # fmt: skip


def _declarations(css: str) -> dict[str, str]:
    declared = {}
    for item in css.split(";"):
        if not item.strip():
            continue
        prop, _, value = item.partition(":")
        prop = prop.strip()
        if prop not in _PRESENTATION:
            raise ValueError(f"matplotlib SVG: no presentation attribute for {prop!r}")
        declared[prop] = value.strip()
    return declared


def without_css(svg: str) -> str:
    """matplotlib's SVG with its CSS (a `*{...}` <style> element, style="..." attributes) as
    SVG presentation attributes, the same drawing, so that a page can inline it under a
    Content-Security-Policy without 'unsafe-inline' styles."""
    defaults: dict[str, str] = {}
    for sheet in _STYLE_ELEMENT.findall(svg):
        rule = re.fullmatch(r"\s*\*\s*\{([^}]*)\}\s*", sheet)
        if rule is None:
            raise ValueError(f"matplotlib SVG: unexpected style sheet {sheet!r}")
        defaults |= _declarations(rule.group(1))
    svg = _STYLE_ELEMENT.sub("", svg)

    def convert(match: re.Match) -> str:
        tag = match.group(0)
        style = _STYLE_ATTRIBUTE.search(tag)
        if style is None and not tag.startswith("<svg"):
            return tag  # inherits the defaults from the root
        # The sheet's `*` rule applied to every element; its own style attribute overrode it.
        declared = defaults | (_declarations(style.group(1)) if style else {})
        tag = _STYLE_ATTRIBUTE.sub("", tag)
        for prop in declared:  # a style beats an attribute of the same name: drop the attribute
            tag = re.sub(rf'\s{re.escape(prop)}="[^"]*"', "", tag)
        end = len(tag) - (2 if tag.endswith("/>") else 1)
        added = "".join(f' {prop}="{value}"' for prop, value in declared.items())
        return tag[:end] + added + tag[end:]

    return _TAG.sub(convert, svg)


def inline_svg(report: reports.StudyReport, name: str) -> str:
    """Plot `name` as an <svg> element to put in a page: without the XML prologue or CSS,
    scaled by its viewBox to the width of its container, labelled for screen readers."""
    return svg_for_page(plot_bytes(report, name, "svg"), name)


def svg_for_page(svg_file: bytes, name: str) -> str:
    """inline_svg of plot `name` already drawn as an SVG file."""
    svg = without_css(svg_file.decode())
    svg = svg[svg.index("<svg") :]
    tag_end = svg.index(">")
    tag = _SVG_SIZE.sub("", svg[:tag_end])
    label = PLOTS[name][0]
    return f'{tag} role="img" aria-label="{label}" class="w-100 h-auto"{svg[tag_end:]}'
