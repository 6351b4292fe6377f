"""Server-rendered SVG timeline of one subject's casebook.

Pure Python (standard library only, no Django): the view gathers the subject's phases, blinatumomab
infusion periods and interruptions, visits and outcomes as study days (rules §1: study day 1 =
first day of Pre-Induction, there is no day 0) and `render_svg` draws them as lanes over a
study-day axis:

    Phases        coloured bars with their names (text clipped to the bar)
    Blinatumomab  infusion periods, interruptions hatched in red over them
    Later therapy treatment after induction: MRD-triggered blinatumomab courses (MR-4, MR-5) and
                  salvage therapies, bars coloured by kind (only when there are any)
    Visits        markers coloured by status (planned/due/overdue/done/missed), with a legend
    Outcomes      diamonds (flag for end of study) with their labels
    study day     axis with ticks on the protocol's landmark days (protocol.schedule.LANDMARK_DAYS)
                  or a regular step, and a dashed "today" line

Day geometry as in charts.axis: a study day is a cell on the axis; a point on day d is drawn at
the centre of the cell and a span covers its days inclusively (from the start of `first_day` to
the end of `last_day`). Days before day 1 are clamped at the left edge; their tooltips keep the
real days.

The SVG is safe to inline under a strict Content-Security-Policy: no scripts, no event handlers,
no `style` attributes or elements, no external resources; every user text is escaped and every
item carries a `<title>` tooltip. Output is deterministic: the same input gives the same string.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from charts import legend as _legend
from charts.axis import DayScale, axis_line, day_ticks, tick_mark
from charts.axis import day_label as _day
from charts.axis import days_label as _days
from charts.colours import GRID_COLOUR, MUTED_COLOUR, TEXT_COLOUR
from charts.colours import phase_colours as _phase_colours
from charts.svg import element_text as _text
from charts.svg import empty_panel, svg_document
from charts.svg import points as _points
from charts.svg import tag as _tag
from charts.svg import tooltip as _title
from charts.text import SMALL_FONT_SIZE
from charts.text import fit as _fit
from charts.text import text_width as _text_width
from protocol.schedule import LANDMARK_DAYS

__all__ = [
    "OutcomeMark",
    "PhaseBar",
    "Span",
    "TherapySpan",
    "Timeline",
    "VisitMark",
    "render_svg",
]


# --- Public data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseBar:
    """A treatment phase (protocol.schedule.PhaseName), study days inclusive."""

    name: str
    first_day: float
    last_day: float | None  # None = ongoing (drawn to today's day)


@dataclass(frozen=True)
class VisitMark:
    """An assessment visit (protocol.schedule.VisitCode) at its target study day."""

    label: str
    study_day: float
    status: str  # protocol.schedule.VisitStatus: planned/due/overdue/done/missed


@dataclass(frozen=True)
class Span:
    """A blinatumomab infusion period or an interruption, study days inclusive."""

    label: str
    first_day: float
    last_day: float | None  # None = ongoing


@dataclass(frozen=True)
class OutcomeMark:
    """An outcome event: response, HSCT, relapse, death, end of study, other."""

    label: str
    study_day: float
    kind: str  # response/hsct/relapse/death/end/other


@dataclass(frozen=True)
class TherapySpan:
    """A treatment after induction, study days inclusive: an MRD-triggered blinatumomab course
    (MR-4, MR-5) or a salvage therapy."""

    label: str
    first_day: float
    last_day: float | None  # None = ongoing (drawn to today's day)
    kind: str  # mrd-blinatumomab/salvage


@dataclass(frozen=True)
class Timeline:
    today_day: float  # today's study day
    phases: tuple[PhaseBar, ...] = ()
    visits: tuple[VisitMark, ...] = ()
    infusions: tuple[Span, ...] = ()
    interruptions: tuple[Span, ...] = ()
    outcomes: tuple[OutcomeMark, ...] = ()
    # Left out of repr (the ids' digest): a timeline without them draws exactly as before.
    therapies: tuple[TherapySpan, ...] = field(default=(), repr=False)


# --- Look ---------------------------------------------------------------------------------------

MIN_WIDTH = 320

LEFT = 104  # room for the lane names
RIGHT_PAD = 16
TOP = 24  # room for the "today" label above the lanes
LANE_GAP = 4

LANE_BAND_COLOUR = "#f9fafb"
TODAY_COLOUR = "#1f2937"

INFUSION_FILL = "#0f766e"
INFUSION_STROKE = "#134e4a"
INFUSION_TEXT = "#ffffff"
INTERRUPTION_FILL_BACK = "#fee2e2"
INTERRUPTION_LINES = "#dc2626"
INTERRUPTION_STROKE = "#b91c1c"


# Visit status -> (fill, stroke, stroke width); protocol.schedule.VisitStatus values.
VISIT_STATUSES: tuple[str, ...] = ("planned", "due", "overdue", "done", "missed")
VISIT_STYLES: dict[str, tuple[str, str, float]] = {
    "planned": ("#ffffff", "#6b7280", 1.5),
    "due": ("#f59e0b", "#92400e", 1.5),
    "overdue": ("#dc2626", "#7f1d1d", 2.0),
    "done": ("#16a34a", "#14532d", 1.5),
    "missed": ("#9ca3af", "#374151", 1.5),
}
UNKNOWN_VISIT_STYLE = ("#e5e7eb", "#6b7280", 1.0)

# Therapy kind -> (fill, stroke, text colour, legend name).
THERAPY_KINDS: tuple[str, ...] = ("mrd-blinatumomab", "salvage", "other")
THERAPY_STYLES: dict[str, tuple[str, str, str, str]] = {
    "mrd-blinatumomab": ("#0891b2", "#155e75", "#ffffff", "MRD-triggered blinatumomab"),
    "salvage": ("#c2410c", "#7c2d12", "#ffffff", "salvage therapy"),
    "other": ("#6b7280", "#374151", "#ffffff", "other therapy"),
}

OUTCOME_KINDS: tuple[str, ...] = ("response", "hsct", "relapse", "death", "end", "other")
OUTCOME_COLOURS: dict[str, str] = {
    "response": "#15803d",
    "hsct": "#2563eb",
    "relapse": "#b91c1c",
    "death": "#111827",
    "end": "#4b5563",
    "other": "#7c3aed",
}
OUTCOME_NAMES: dict[str, str] = {
    "response": "response",
    "hsct": "HSCT",
    "relapse": "relapse",
    "death": "death",
    "end": "end of study",
    "other": "other",
}


# --- Text and numbers ---------------------------------------------------------------------------

MAX_LABEL_CHARS = 40  # visible marker labels are shortened; the tooltip keeps the full text


def _duration(first: float, last: float | None) -> str:
    if last is None or not (float(first).is_integer() and float(last).is_integer()):
        return ""
    n = int(last) - int(first) + 1
    return f" ({n} day{'s' if n != 1 else ''})"


def _shorten(text: str, limit: int = MAX_LABEL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


# --- Geometry -----------------------------------------------------------------------------------


def _span_end(first: float, last: float | None, today: float) -> float:
    return last if last is not None else max(today, first)


def _all_days(tl: Timeline) -> Iterable[float]:
    yield tl.today_day
    for p in tl.phases:
        yield p.first_day
        if p.last_day is not None:
            yield p.last_day
    for s in (*tl.infusions, *tl.interruptions, *tl.therapies):
        yield s.first_day
        if s.last_day is not None:
            yield s.last_day
    for v in tl.visits:
        yield v.study_day
    for o in tl.outcomes:
        yield o.study_day


def _make_scale(tl: Timeline, width: int) -> DayScale:
    """The axis starts at study day 1 (earlier days are clamped) and runs past the last item."""
    last = max(1.0, *(float(d) for d in _all_days(tl)))
    return DayScale.fitted(1.0, last, LEFT, width - RIGHT_PAD, room_before=False)


def _place_labels(items: list[tuple[float, str]], lo: float, hi: float) -> list[tuple[float, int]]:
    """Label x (clamped to [lo, hi]) and row for labels centred under points, avoiding overlaps."""
    rows_end: list[float] = []
    placed = []
    for x, text in items:
        w = _text_width(text, SMALL_FONT_SIZE)
        cx = min(max(x, lo + w / 2), hi - w / 2) if w < hi - lo else lo + w / 2
        left = cx - w / 2
        row = next((i for i, end in enumerate(rows_end) if end + 6 <= left), None)
        if row is None:
            if len(rows_end) < 3:
                rows_end.append(-math.inf)
                row = len(rows_end) - 1
            else:
                row = min(range(len(rows_end)), key=lambda i: (rows_end[i], i))
        rows_end[row] = cx + w / 2
        placed.append((cx, row))
    return placed


def _widest_gap(
    left: float, right: float, covers: Iterable[tuple[float, float]]
) -> tuple[float, float]:
    """The widest part of [left, right] not covered by any of `covers` (first one on ties)."""
    free = [(left, right)]
    for c_left, c_right in covers:
        pieces = []
        for f_left, f_right in free:
            if c_right <= f_left or c_left >= f_right:
                pieces.append((f_left, f_right))
                continue
            if c_left > f_left:
                pieces.append((f_left, c_left))
            if c_right < f_right:
                pieces.append((c_right, f_right))
        free = pieces
    if not free:
        return left, left
    return max(free, key=lambda piece: (piece[1] - piece[0], -piece[0]))


# --- Rendering ----------------------------------------------------------------------------------


def _visit_style(status: str) -> tuple[str, str, float]:
    return VISIT_STYLES.get(status.strip().lower(), UNKNOWN_VISIT_STYLE)


def _therapy_kind(kind: str) -> str:
    kind = kind.strip().lower()
    return kind if kind in THERAPY_STYLES else "other"


def _outcome_kind(kind: str) -> str:
    kind = kind.strip().lower()
    return kind if kind in OUTCOME_KINDS else "other"


def _css_token(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", text.strip().lower()) or "unknown"


def _visit_marker(cx: float, cy: float, status: str) -> str:
    fill, stroke, stroke_width = _visit_style(status)
    parts = [
        _tag(
            "circle",
            {
                "cx": cx,
                "cy": cy,
                "r": 5.5,
                "fill": fill,
                "stroke": stroke,
                "stroke-width": stroke_width,
            },
        )
    ]
    if status.strip().lower() == "missed":  # a cross, so "missed" does not rely on colour alone
        for dx in (-1, 1):
            parts.append(
                _tag(
                    "line",
                    {
                        "x1": cx - 3.5 * dx,
                        "y1": cy - 3.5,
                        "x2": cx + 3.5 * dx,
                        "y2": cy + 3.5,
                        "stroke": stroke,
                        "stroke-width": 1.5,
                    },
                )
            )
    elif status.strip().lower() == "overdue":  # an exclamation mark
        parts.append(
            _tag(
                "line",
                {
                    "x1": cx,
                    "y1": cy - 3,
                    "x2": cx,
                    "y2": cy + 0.5,
                    "stroke": "#ffffff",
                    "stroke-width": 1.5,
                },
            )
        )
        parts.append(_tag("circle", {"cx": cx, "cy": cy + 2.6, "r": 0.9, "fill": "#ffffff"}))
    return "".join(parts)


def _outcome_marker(cx: float, cy: float, kind: str) -> str:
    colour = OUTCOME_COLOURS[kind]
    if kind == "end":  # a flag on a pole
        return _tag(
            "line",
            {"x1": cx, "y1": cy - 7, "x2": cx, "y2": cy + 7, "stroke": colour, "stroke-width": 1.5},
        ) + _tag(
            "polygon",
            {
                "points": _points((cx, cy - 7), (cx + 10, cy - 3.5), (cx, cy)),
                "fill": colour,
            },
        )
    r = 6.5
    points = _points((cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy))
    return _tag(
        "polygon",
        {"points": points, "fill": colour, "stroke": "#ffffff", "stroke-width": 1},
    )


class _Drawing:
    def __init__(self, tl: Timeline, width: int, prefix: str) -> None:
        self.tl = tl
        self.width = width
        self.prefix = prefix
        self.scale = _make_scale(tl, width)
        self.today = float(tl.today_day)
        self.defs: list[str] = []
        self.body: list[str] = []
        self.y = TOP
        self.clip_count = 0

    # lanes ------------------------------------------------------------------------------------

    def lane(self, name: str, key: str, height: float) -> float:
        """Draw the band and name of a lane; return its top."""
        top = self.y
        self.body.append(
            _tag(
                "rect",
                {
                    "x": self.scale.x0,
                    "y": top,
                    "width": self.scale.x1 - self.scale.x0,
                    "height": height,
                    "fill": LANE_BAND_COLOUR,
                },
            )
        )
        self.body.append(
            _tag(
                "text",
                {
                    "class": f"lane-name lane-{key}",
                    "x": self.scale.x0 - 8,
                    "y": top + height / 2 + 4,
                    "text-anchor": "end",
                    "fill": MUTED_COLOUR,
                    "font-weight": "600",
                },
                _text(name),
            )
        )
        self.y = top + height + LANE_GAP
        return top

    def clip(self, x: float, y: float, w: float, h: float) -> str:
        self.clip_count += 1
        clip_id = f"{self.prefix}-clip-{self.clip_count}"
        self.defs.append(
            _tag(
                "clipPath", {"id": clip_id}, _tag("rect", {"x": x, "y": y, "width": w, "height": h})
            )
        )
        return f"url(#{clip_id})"

    def phases(self) -> None:
        bars = []
        for phase in self.tl.phases:
            first = float(phase.first_day)
            end = _span_end(first, phase.last_day, self.today)
            left, right = self.scale.span(first, end)
            bars.append((left, right, phase))
        # Overlapping phases go to further rows instead of hiding each other.
        rows_end: list[float] = []
        placed = []
        for left, right, phase in sorted(bars, key=lambda b: (b[0], b[1])):
            row = next((i for i, end in enumerate(rows_end) if end <= left + 0.01), None)
            if row is None:
                rows_end.append(right)
                row = len(rows_end) - 1
            rows_end[row] = right
            placed.append((left, right, row, phase))
        bar_h, row_h = 18, 22
        top = self.lane("Phases", "phases", len(rows_end) * row_h + 6)
        for left, right, row, phase in placed:
            y = top + 3 + row * row_h + (row_h - bar_h) / 2
            fill, stroke = _phase_colours(phase.name)
            w = right - left
            # The name may run past a short bar, up to the next bar of its row (or the edge).
            next_left = min(
                (
                    other_left
                    for other_left, _, other_row, _ in placed
                    if other_row == row and other_left >= right - 0.01
                ),
                default=self.scale.x1,
            )
            room = max(w, next_left - left - (10 if phase.last_day is None else 4))
            label = _fit(phase.name, room - 8)
            tooltip = f"{phase.name}: study {_days(phase.first_day, phase.last_day)}"
            parts = [
                _title(tooltip),
                _tag(
                    "rect",
                    {
                        "x": left,
                        "y": y,
                        "width": w,
                        "height": bar_h,
                        "rx": 3,
                        "fill": fill,
                        "stroke": stroke,
                        "stroke-width": 1,
                    },
                ),
            ]
            if phase.last_day is None:  # ongoing: an arrow head at the open end
                parts.append(
                    _tag(
                        "polygon",
                        {
                            "points": _points(
                                (right, y), (right + 6, y + bar_h / 2), (right, y + bar_h)
                            ),
                            "fill": stroke,
                        },
                    )
                )
            if label:
                parts.append(
                    _tag(
                        "text",
                        {
                            "x": left + 4,
                            "y": y + bar_h / 2 + 4,
                            "fill": TEXT_COLOUR,
                            "clip-path": self.clip(left, y, room, bar_h),
                        },
                        _text(label),
                    )
                )
            self.body.append(
                _tag(
                    "g",
                    {
                        "class": "phase",
                        "data-label": phase.name,
                        "data-first-day": _day(phase.first_day),
                        "data-last-day": "ongoing"
                        if phase.last_day is None
                        else _day(phase.last_day),
                    },
                    "".join(parts),
                )
            )

    def infusions(self) -> None:
        top = self.lane("Blinatumomab", "infusions", 30)
        mid = top + 15
        for span in self.tl.infusions:
            first = float(span.first_day)
            left, right = self.scale.span(first, _span_end(first, span.last_day, self.today))
            w = right - left
            # The label goes into the widest part of the bar that no interruption covers.
            seg_left, seg_right = _widest_gap(left, right, self._interruption_pixels())
            label = _fit(span.label, seg_right - seg_left - 8)
            parts = [
                _title(
                    f"{span.label}: study {_days(span.first_day, span.last_day)}"
                    f"{_duration(span.first_day, span.last_day)}"
                ),
                _tag(
                    "rect",
                    {
                        "x": left,
                        "y": mid - 7,
                        "width": w,
                        "height": 14,
                        "rx": 2,
                        "fill": INFUSION_FILL,
                        "stroke": INFUSION_STROKE,
                        "stroke-width": 1,
                    },
                ),
            ]
            if label:
                parts.append(
                    _tag(
                        "text",
                        {
                            "x": seg_left + 4,
                            "y": mid + 3.5,
                            "fill": INFUSION_TEXT,
                            "font-size": SMALL_FONT_SIZE,
                            "clip-path": self.clip(seg_left, mid - 7, seg_right - seg_left, 14),
                        },
                        _text(label),
                    )
                )
            self.body.append(
                _tag(
                    "g",
                    {
                        "class": "infusion",
                        "data-label": span.label,
                        "data-first-day": _day(span.first_day),
                        "data-last-day": "ongoing"
                        if span.last_day is None
                        else _day(span.last_day),
                    },
                    "".join(parts),
                )
            )
        # Interruptions are drawn after (over) the infusion bars.
        for span in self.tl.interruptions:
            first = float(span.first_day)
            left, right = self.scale.span(first, _span_end(first, span.last_day, self.today))
            parts = [
                _title(
                    f"Interruption: {span.label}: study {_days(span.first_day, span.last_day)}"
                    f"{_duration(span.first_day, span.last_day)}"
                ),
                _tag(
                    "rect",
                    {
                        "x": left,
                        "y": mid - 10,
                        "width": right - left,
                        "height": 20,
                        "fill": f"url(#{self.prefix}-hatch)",
                        "stroke": INTERRUPTION_STROKE,
                        "stroke-width": 1.5,
                    },
                ),
            ]
            self.body.append(
                _tag(
                    "g",
                    {
                        "class": "interruption",
                        "data-label": span.label,
                        "data-first-day": _day(span.first_day),
                        "data-last-day": "ongoing"
                        if span.last_day is None
                        else _day(span.last_day),
                    },
                    "".join(parts),
                )
            )

    def therapies(self) -> None:
        """Treatment after induction as bars; overlapping ones go to further rows."""
        bars = []
        for span in self.tl.therapies:
            first = float(span.first_day)
            left, right = self.scale.span(first, _span_end(first, span.last_day, self.today))
            bars.append((left, right, span))
        rows_end: list[float] = []
        placed = []
        for left, right, span in sorted(bars, key=lambda b: (b[0], b[1], b[2].label)):
            row = next((i for i, end in enumerate(rows_end) if end <= left + 0.01), None)
            if row is None:
                rows_end.append(right)
                row = len(rows_end) - 1
            rows_end[row] = right
            placed.append((left, right, row, span))
        bar_h, row_h = 14, 18
        top = self.lane("Later therapy", "therapies", len(rows_end) * row_h + 8)
        for left, right, row, span in placed:
            y = top + 4 + row * row_h + (row_h - bar_h) / 2
            kind = _therapy_kind(span.kind)
            fill, stroke, text_colour, name = THERAPY_STYLES[kind]
            w = right - left
            label = _fit(span.label, w - 8, SMALL_FONT_SIZE)
            parts = [
                _title(
                    f"{span.label}: study {_days(span.first_day, span.last_day)}"
                    f"{_duration(span.first_day, span.last_day)} ({name})"
                ),
                _tag(
                    "rect",
                    {
                        "x": left,
                        "y": y,
                        "width": w,
                        "height": bar_h,
                        "rx": 2,
                        "fill": fill,
                        "stroke": stroke,
                        "stroke-width": 1,
                    },
                ),
            ]
            if span.last_day is None:  # ongoing: an arrow head at the open end
                parts.append(
                    _tag(
                        "polygon",
                        {
                            "points": _points(
                                (right, y), (right + 6, y + bar_h / 2), (right, y + bar_h)
                            ),
                            "fill": stroke,
                        },
                    )
                )
            if label:
                parts.append(
                    _tag(
                        "text",
                        {
                            "x": left + 4,
                            "y": y + bar_h / 2 + 3.5,
                            "fill": text_colour,
                            "font-size": SMALL_FONT_SIZE,
                            "clip-path": self.clip(left, y, w, bar_h),
                        },
                        _text(label),
                    )
                )
            self.body.append(
                _tag(
                    "g",
                    {
                        "class": f"therapy therapy-{_css_token(kind)}",
                        "data-kind": kind,
                        "data-label": span.label,
                        "data-first-day": _day(span.first_day),
                        "data-last-day": "ongoing"
                        if span.last_day is None
                        else _day(span.last_day),
                    },
                    "".join(parts),
                )
            )

    def _interruption_pixels(self) -> list[tuple[float, float]]:
        result = []
        for span in self.tl.interruptions:
            first = float(span.first_day)
            result.append(self.scale.span(first, _span_end(first, span.last_day, self.today)))
        return result

    def _marker_lane(self, name: str, key: str, items: list[tuple[float, str, object]]) -> None:
        """A lane of point markers with labels below; items are (day, label, payload)."""
        items = sorted(items, key=lambda it: (float(it[0]), it[1]))
        xs = [(self.scale.point(float(day)), _shorten(label)) for day, label, _ in items]
        placed = _place_labels(xs, self.scale.x0, self.width - 4)
        rows = 1 + max((row for _, row in placed), default=0)
        top = self.lane(name, key, 26 + rows * 12)
        cy = top + 10
        for (day, label, payload), (x, short), (label_x, row) in zip(
            items, xs, placed, strict=True
        ):
            if key == "visits":
                status = str(payload)
                marker = _visit_marker(x, cy, status)
                tooltip = f"{label}: study day {_day(day)} ({status})"
                attrs = {"class": f"visit visit-{_css_token(status)}", "data-status": status}
            else:
                kind = _outcome_kind(str(payload))
                marker = _outcome_marker(x, cy, kind)
                tooltip = f"{label}: study day {_day(day)} ({OUTCOME_NAMES[kind]})"
                attrs = {"class": f"outcome outcome-{kind}", "data-kind": kind}
            text = _tag(
                "text",
                {
                    "x": label_x,
                    "y": cy + 19 + row * 12,
                    "text-anchor": "middle",
                    "font-size": SMALL_FONT_SIZE,
                    "fill": TEXT_COLOUR,
                },
                _text(short),
            )
            self.body.append(
                _tag(
                    "g",
                    {**attrs, "data-label": label, "data-day": _day(day)},
                    _title(tooltip) + marker + text,
                )
            )

    def visits(self) -> None:
        self._marker_lane(
            "Visits", "visits", [(v.study_day, v.label, v.status) for v in self.tl.visits]
        )

    def outcomes(self) -> None:
        self._marker_lane(
            "Outcomes", "outcomes", [(o.study_day, o.label, o.kind) for o in self.tl.outcomes]
        )

    # axis, today, legend ----------------------------------------------------------------------

    def axis(self, lanes_top: float) -> tuple[list[str], float]:
        axis_y = self.y + 2
        grid, axis = [], []
        axis.append(axis_line(self.scale.x0, self.scale.x1, axis_y))
        axis.append(
            _tag(
                "text",
                {
                    "x": self.scale.x0 - 8,
                    "y": axis_y + 16,
                    "text-anchor": "end",
                    "fill": MUTED_COLOUR,
                },
                "study day",
            )
        )
        for day in day_ticks(self.scale, LANDMARK_DAYS):
            x = self.scale.point(day)
            grid.append(
                _tag(
                    "line",
                    {
                        "x1": x,
                        "y1": lanes_top,
                        "x2": x,
                        "y2": axis_y,
                        "stroke": GRID_COLOUR,
                        "stroke-width": 1,
                    },
                )
            )
            axis.append(tick_mark(x, axis_y, day))
        return grid + axis, axis_y

    def today_line(self, lanes_top: float, axis_y: float) -> str:
        x = self.scale.point(self.today)
        label = f"today (day {_day(self.today)})"
        w = _text_width(label, SMALL_FONT_SIZE)
        lx = min(max(x, self.scale.x0 + w / 2), self.width - 4 - w / 2)
        return _tag(
            "g",
            {"class": "today", "data-day": _day(self.today)},
            _title(f"Today: study day {_day(self.today)}")
            + _tag(
                "line",
                {
                    "x1": x,
                    "y1": lanes_top - 6,
                    "x2": x,
                    "y2": axis_y + 5,
                    "stroke": TODAY_COLOUR,
                    "stroke-width": 1.5,
                    "stroke-dasharray": "5 3",
                },
            )
            + _tag(
                "text",
                {
                    "x": lx,
                    "y": lanes_top - 10,
                    "text-anchor": "middle",
                    "font-size": SMALL_FONT_SIZE,
                    "font-weight": "600",
                    "fill": TODAY_COLOUR,
                },
                _text(label),
            ),
        )

    def legend(self, top: float) -> tuple[str, float]:
        entries: list[tuple[str, str]] = []  # (symbol svg at origin, text)
        if self.tl.visits:
            for status in VISIT_STATUSES:
                entries.append((_visit_marker(6, 0, status), f"{status}"))
        if self.tl.infusions:
            entries.append(
                (
                    _tag(
                        "rect",
                        {
                            "x": 0,
                            "y": -5,
                            "width": 16,
                            "height": 10,
                            "rx": 2,
                            "fill": INFUSION_FILL,
                        },
                    ),
                    "blinatumomab infusion",
                )
            )
        if self.tl.interruptions:
            entries.append(
                (
                    _tag(
                        "rect",
                        {
                            "x": 0,
                            "y": -6,
                            "width": 16,
                            "height": 12,
                            "fill": f"url(#{self.prefix}-hatch)",
                            "stroke": INTERRUPTION_STROKE,
                            "stroke-width": 1.5,
                        },
                    ),
                    "interruption",
                )
            )
        present = {_therapy_kind(span.kind) for span in self.tl.therapies}
        for kind in THERAPY_KINDS:
            if kind in present:
                fill, stroke, _, name = THERAPY_STYLES[kind]
                entries.append(
                    (
                        _tag(
                            "rect",
                            {
                                "x": 0,
                                "y": -5,
                                "width": 16,
                                "height": 10,
                                "rx": 2,
                                "fill": fill,
                                "stroke": stroke,
                                "stroke-width": 1,
                            },
                        ),
                        name,
                    )
                )
        entries.append(
            (
                _tag(
                    "line",
                    {
                        "x1": 0,
                        "y1": 0,
                        "x2": 16,
                        "y2": 0,
                        "stroke": TODAY_COLOUR,
                        "stroke-width": 1.5,
                        "stroke-dasharray": "5 3",
                    },
                ),
                "today",
            )
        )
        parts = []
        first_row = top + 8
        if self.tl.visits:
            parts.append(
                _tag(
                    "text",
                    {
                        "x": self.scale.x0 - 8,
                        "y": first_row + 4,
                        "text-anchor": "end",
                        "fill": MUTED_COLOUR,
                    },
                    "key",
                )
            )
        widths = [_legend.entry_width(text, 22, 14) for _, text in entries]
        placed = _legend.flow(widths, self.scale.x0, first_row, self.width - RIGHT_PAD, 18)
        for (symbol, text), (x, y) in zip(entries, placed, strict=True):
            parts.append(_legend.entry(x, y, symbol, text, text_x=22))
        last_row = placed[-1][1]  # there is always an entry: "today"
        return _legend.legend(parts), last_row + 12

    def hatch(self) -> str:
        return _tag(
            "pattern",
            {
                "id": f"{self.prefix}-hatch",
                "patternUnits": "userSpaceOnUse",
                "width": 6,
                "height": 6,
                "patternTransform": "rotate(45)",
            },
            _tag("rect", {"x": 0, "y": 0, "width": 6, "height": 6, "fill": INTERRUPTION_FILL_BACK})
            + _tag(
                "line",
                {
                    "x1": 0,
                    "y1": 0,
                    "x2": 0,
                    "y2": 6,
                    "stroke": INTERRUPTION_LINES,
                    "stroke-width": 3,
                },
            ),
        )

    def render(self) -> str:
        tl = self.tl
        lanes_top = self.y
        if tl.phases:
            self.phases()
        if tl.infusions or tl.interruptions:
            self.infusions()
        if tl.therapies:
            self.therapies()
        if tl.visits:
            self.visits()
        if tl.outcomes:
            self.outcomes()
        axis, axis_y = self.axis(lanes_top)
        today = self.today_line(lanes_top, axis_y)
        legend, bottom = self.legend(axis_y + 26)
        height = math.ceil(bottom + 6)
        defs = [self.hatch()] if tl.interruptions else []
        defs.extend(self.defs)
        grid_and_axis = "".join(axis)
        return _svg_document(
            self.prefix,
            self.width,
            height,
            f"Treatment timeline up to study day {_day(self.today)}",
            _describe(tl),
            (_tag("defs", {}, "".join(defs)) if defs else "")
            + grid_and_axis
            + "".join(self.body)
            + today
            + legend,
        )


def _describe(tl: Timeline) -> str:
    """A plain-language summary for the <desc> (screen readers)."""
    parts = [f"Today is study day {_day(tl.today_day)}."]
    if tl.phases:
        parts.append(
            "Phases: "
            + "; ".join(f"{p.name}, {_days(p.first_day, p.last_day)}" for p in tl.phases)
            + "."
        )
    if tl.infusions:
        parts.append(
            "Blinatumomab infusions: "
            + "; ".join(f"{s.label}, {_days(s.first_day, s.last_day)}" for s in tl.infusions)
            + "."
        )
    if tl.interruptions:
        parts.append(
            "Interruptions: "
            + "; ".join(
                f"{s.label}, {_days(s.first_day, s.last_day)}{_duration(s.first_day, s.last_day)}"
                for s in tl.interruptions
            )
            + "."
        )
    if tl.therapies:
        parts.append(
            "Later therapy: "
            + "; ".join(
                f"{s.label} ({THERAPY_STYLES[_therapy_kind(s.kind)][3]}), "
                f"{_days(s.first_day, s.last_day)}"
                for s in tl.therapies
            )
            + "."
        )
    if tl.visits:
        parts.append(
            "Visits: "
            + "; ".join(f"{v.label}, day {_day(v.study_day)}, {v.status}" for v in tl.visits)
            + "."
        )
    if tl.outcomes:
        parts.append(
            "Outcomes: "
            + "; ".join(
                f"{o.label}, day {_day(o.study_day)}, {OUTCOME_NAMES[_outcome_kind(o.kind)]}"
                for o in tl.outcomes
            )
            + "."
        )
    return " ".join(parts)


def _svg_document(prefix: str, width: int, height: int, title: str, desc: str, body: str) -> str:
    return svg_document(prefix, width, height, title, desc, body, css_class="timeline")


def _is_empty(tl: Timeline) -> bool:
    return not (
        tl.phases or tl.visits or tl.infusions or tl.interruptions or tl.outcomes or tl.therapies
    )


def _check(tl: Timeline, width: int) -> None:
    if isinstance(width, bool) or not isinstance(width, int) or width < MIN_WIDTH:
        raise ValueError(f"width must be an integer of at least {MIN_WIDTH} pixels")
    for day in _all_days(tl):
        if isinstance(day, bool) or not isinstance(day, int | float) or not math.isfinite(day):
            raise ValueError(f"study days must be finite numbers, not {day!r}")


def render_svg(timeline: Timeline, *, width: int = 960) -> str:
    """The timeline as a standalone, inline-safe SVG document (a str, deterministic)."""
    _check(timeline, width)
    identity = repr((timeline, width))
    if timeline.therapies:  # not in the repr, so that a timeline without them keeps its ids
        identity += repr(timeline.therapies)
    digest = hashlib.sha256(identity.encode("utf-8", "backslashreplace")).hexdigest()
    prefix = f"tl-{digest[:10]}"  # ids differ between timelines inlined on one page
    if _is_empty(timeline):
        today = _day(timeline.today_day)
        height = 64
        body = empty_panel(width, height, f"No timeline data yet (today is study day {today}).")
        return _svg_document(
            prefix,
            width,
            height,
            "Treatment timeline: no data yet",
            f"No phases, infusions, visits or outcomes recorded yet. Today is study day {today}.",
            body,
        )
    return _Drawing(timeline, width, prefix).render()
