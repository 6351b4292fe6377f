"""The two pictures of the PDF casebook, drawn with matplotlib's object API (no pyplot, safe in a
worker) as PNG without transparency (PDF/A keeps it simple): the subject's timeline (the lanes
the casebook page draws, from crf.casebook's own Timeline) and the subject's MRD values over
study days on a log scale, with the 1E-4 threshold (MR-1, MR-2)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")  # never a GUI backend

from matplotlib.figure import Figure  # noqa: E402
from PIL import Image  # noqa: E402

from crf import timeline as tl  # noqa: E402

_RC = {"font.size": 8, "font.family": "DejaVu Sans"}
_BLUE, _RED, _GREY, _GREEN, _ORANGE = "#1f5fa6", "#b02a37", "#6c757d", "#2f7d32", "#c8581b"
_VISIT_COLOURS = {"done": _GREEN, "missed": _RED, "overdue": _ORANGE, "due": _BLUE}


def png_rgb(figure: Figure) -> bytes:
    """The figure as an RGB PNG (no alpha channel)."""
    buffer = io.BytesIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="png", dpi=150, metadata={"Software": None})
    image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _end(last: float | None, today: float) -> float:
    return today if last is None else last


def timeline_png(timeline: tl.Timeline) -> bytes:
    """The timeline's lanes: phases, blinatumomab (interruptions in red), later therapy, visits
    (coloured by status) and outcomes, over study days, with today's day dashed."""
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(7.5, 2.6))
        ax = figure.add_subplot()
        lanes = ["Outcomes", "Visits", "Later therapy", "Blinatumomab", "Phases"]
        y = {name: i for i, name in enumerate(lanes)}
        today = timeline.today_day
        for index, bar in enumerate(timeline.phases):
            end = _end(bar.last_day, today)
            ax.barh(
                y["Phases"],
                end - bar.first_day + 1,
                left=bar.first_day - 0.5,
                height=0.6,
                color=("#cfe2ff", "#e2e3e5")[index % 2],
                edgecolor=_GREY,
                linewidth=0.5,
            )
            ax.text(
                (bar.first_day + end) / 2,
                y["Phases"],
                bar.name,
                ha="center",
                va="center",
                fontsize=6,
                clip_on=True,
            )
        for span in timeline.infusions:
            end = _end(span.last_day, today)
            ax.barh(
                y["Blinatumomab"],
                end - span.first_day + 1,
                left=span.first_day - 0.5,
                height=0.5,
                color=_BLUE,
            )
        for span in timeline.interruptions:
            end = _end(span.last_day, span.first_day)
            ax.barh(
                y["Blinatumomab"],
                end - span.first_day + 1,
                left=span.first_day - 0.5,
                height=0.5,
                color=_RED,
            )
        for span in timeline.therapies:
            end = _end(span.last_day, today)
            ax.barh(
                y["Later therapy"],
                end - span.first_day + 1,
                left=span.first_day - 0.5,
                height=0.5,
                color=_ORANGE if span.kind == "salvage" else _BLUE,
            )
        for visit in timeline.visits:
            ax.plot(
                visit.study_day,
                y["Visits"],
                marker="o",
                markersize=4,
                linestyle="none",
                color=_VISIT_COLOURS.get(visit.status, _GREY),
            )
        for outcome in timeline.outcomes:
            ax.plot(outcome.study_day, y["Outcomes"], marker="D", markersize=4, color=_RED)
            ax.annotate(
                outcome.label,
                (outcome.study_day, y["Outcomes"]),
                xytext=(0, 5),
                textcoords="offset points",
                ha="center",
                fontsize=6,
            )
        ax.axvline(today, color=_GREY, linestyle="--", linewidth=0.8)
        ax.set_yticks(range(len(lanes)), lanes)
        ax.set_ylim(-0.7, len(lanes) - 0.4)
        ax.set_xlabel("Study day (dashed: the day the casebook was written)")
        ax.grid(axis="x", color="#dee2e6", linewidth=0.5)
        figure.tight_layout()
    return png_rgb(figure)


@dataclass(frozen=True)
class MrdValue:
    """One MRD result as the plot shows it: quantifiable at its value, negative at the
    sensitivity reached, PNQ at the quantitative range."""

    study_day: int
    result_class: str
    level: Decimal | None
    label: str


_MARKERS = {
    "quantifiable": ("o", _RED, "Quantifiable (value)"),
    "negative": ("v", _GREEN, "Negative (sensitivity reached)"),
    "pnq": ("^", _ORANGE, "Positive, not quantifiable (quantitative range)"),
}


def mrd_png(values: list[MrdValue], threshold: Decimal) -> bytes:
    """The subject's MRD values over study days on a log scale, the threshold dashed."""
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(7.5, 2.8))
        ax = figure.add_subplot()
        plotted = sorted((v for v in values if v.level), key=lambda v: v.study_day)
        if plotted:
            ax.plot(
                [v.study_day for v in plotted],
                [float(v.level) for v in plotted],
                color=_GREY,
                linewidth=0.8,
            )
        for kind, (marker, colour, label) in _MARKERS.items():
            points = [v for v in plotted if v.result_class == kind]
            if points:
                ax.plot(
                    [v.study_day for v in points],
                    [float(v.level) for v in points],
                    marker=marker,
                    color=colour,
                    linestyle="none",
                    label=label,
                )
        ax.axhline(
            float(threshold),
            color=_BLUE,
            linestyle="--",
            linewidth=0.8,
            label=f"Threshold {threshold:.0E}",
        )
        ax.set_yscale("log")
        low = min([float(v.level) for v in plotted] + [float(threshold)])
        high = max([float(v.level) for v in plotted] + [float(threshold)])
        ax.set_ylim(max(low / 10, 1e-7), min(high * 10, 1.0))
        ax.set_xlabel("Study day")
        ax.set_ylabel("MRD")
        ax.grid(color="#dee2e6", linewidth=0.5)
        ax.legend(loc="upper right", fontsize=6)
        figure.tight_layout()
    return png_rgb(figure)
