"""Server-rendered SVG picture of one subject's MRD kinetics (rules §7).

Pure Python (standard library only, no Django), following the conventions of crf.timeline: the
view turns the subject's MRD results into `MrdPoint`s (study days, rules §1) and its treatment
phases into `PhaseBand`s, and `render_kinetics_svg` draws

    y axis      MRD on a log10 scale with decade ticks in lab notation (1E-2, 1E-3, ...), the range
                chosen from the data, always including the threshold, clamped to [1E-7, 1]
    threshold   a dashed line labelled "1E-4" (MR-1/MR-2)
    results     quantifiable   filled circle at its value
                negative       open circle at the sensitivity reached, with a small arrow down
                               ("below this level")
                PNQ            half-filled triangle at the quantitative range (below the range)
                not evaluable  small grey cross on the axis baseline
                NGS results get a second (double) outline; the plotted results (not the not
                evaluable ones) are joined by a line in study-day order
    phases      light bands behind everything, their names at the top
    legend      the marker kinds present, NGS if present, and the threshold line

Day geometry as in charts.axis (shared with crf.timeline): a study day is a cell on the axis, a
point on day d is drawn at the centre of the cell and a band covers its days inclusively. The day
axis has ticks on the protocol's landmark days (protocol.schedule.LANDMARK_DAYS) or a regular step.

The SVG is safe to inline under a strict Content-Security-Policy: no scripts, no event handlers,
no `style` attributes or elements, no external resources; every user text is escaped and every
item carries a `<title>` tooltip. Output is deterministic: the same input gives the same string,
and ids come from a hash of the input so that several pictures can share a page.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from charts import legend as _legend
from charts.axis import DayScale, axis_line, day_ticks, tick_mark
from charts.axis import day_label as _day
from charts.axis import days_label as _days
from charts.colours import AXIS_COLOUR, GRID_COLOUR, MUTED_COLOUR, TEXT_COLOUR
from charts.colours import phase_colours as _phase_colours
from charts.svg import element_text as _text
from charts.svg import empty_panel, svg_document
from charts.svg import number as _num
from charts.svg import points as _points
from charts.svg import tag as _tag
from charts.svg import tooltip as _title
from charts.text import BOLD_WIDTH, SMALL_FONT_SIZE
from charts.text import fit as _fit
from charts.text import text_width as _text_width
from protocol.schedule import LANDMARK_DAYS

__all__ = ["MrdPoint", "PhaseBand", "render_kinetics_svg"]


# --- Public data --------------------------------------------------------------------------------


@dataclass(frozen=True)
class MrdPoint:
    """One MRD result at its study day (rules §7 result classes)."""

    study_day: float
    result_class: str  # "negative" | "pnq" | "quantifiable" | "not_evaluable"
    value: Decimal | None = None  # quantifiable only
    sensitivity: Decimal | None = None  # negatives are drawn at this level
    quantitative_range: Decimal | None = None  # PNQ drawn at this level (below the range), 1E-4
    label: str = ""  # e.g. "W11 qPCR 1.2E-4"
    method: str = "qpcr"  # "qpcr" | "ngs" (NGS points drawn with a double outline)


@dataclass(frozen=True)
class PhaseBand:
    """A treatment phase, study days inclusive."""

    name: str
    first_day: float
    last_day: float | None  # None = ongoing to the right edge


# --- Look ---------------------------------------------------------------------------------------

MIN_WIDTH = 320
MIN_HEIGHT = 180
EMPTY_HEIGHT = 64

LEFT = 58  # room for the decade labels and the axis name
RIGHT = 44  # room for the threshold label right of the plot
PHASE_NAME_ROW = 12  # rows of phase names above the plot
PHASE_NAME_ROWS = 2
TOP_PLAIN = 12
AXIS_ROOM = 34  # tick labels and "study day" below the plot
LEGEND_ROW = 16
PAD_TOP = 10  # pixels between the top decade and the plot top (room for markers)
PAD_BOTTOM = 16  # between the lowest decade and the baseline (room for the "below" arrow)
MARKER_R = 5.0
NGS_RING = 3.5  # the second outline of NGS markers, this much further out

MINOR_GRID_COLOUR = "#f3f4f6"
PLOT_BACKGROUND = "#ffffff"
LINE_COLOUR = "#64748b"
THRESHOLD_COLOUR = "#b91c1c"
QUANTIFIABLE_COLOUR = "#1d4ed8"
NEGATIVE_COLOUR = "#15803d"
PNQ_COLOUR = "#b45309"
NOT_EVALUABLE_COLOUR = "#9ca3af"
NGS_LEGEND_COLOUR = "#374151"
PHASE_OPACITY = 0.4


RESULT_CLASSES: tuple[str, ...] = ("quantifiable", "negative", "pnq", "not_evaluable")
CLASS_NAMES: dict[str, str] = {
    "quantifiable": "quantifiable",
    "negative": "negative",
    "pnq": "positive not quantifiable (PNQ)",
    "not_evaluable": "not evaluable",
}
LEGEND_NAMES: dict[str, str] = {
    "quantifiable": "quantifiable",
    "negative": "negative (at sensitivity)",
    "pnq": "PNQ (below range)",
    "not_evaluable": "not evaluable",
}
METHOD_NAMES: dict[str, str] = {"qpcr": "qPCR", "ngs": "NGS"}

DEFAULT_PNQ_RANGE = Decimal("1E-4")
MIN_EXP, MAX_EXP = -7, 0  # the y axis stays within [1E-7, 1]
MIN_DECADES = 3


# --- Text and numbers ---------------------------------------------------------------------------


def _token(text: str) -> str:
    return re.sub(r"[^a-z0-9-]", "", text.strip().lower().replace("_", "-")) or "unknown"


def _lab(value: Decimal) -> str:
    """Lab notation keeping the digits given: 0.00012 -> 1.2E-4, 1E-4 -> 1E-4, 1.20E-3."""
    if value.is_zero():
        return "0"
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite values only (checked on input)
    text = "".join(map(str, digits)).lstrip("0") or "0"
    power = exponent + len(text) - 1
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return (
        f"{'-' if sign else ''}{mantissa}E{power}" if power else f"{'-' if sign else ''}{mantissa}"
    )


def _decade(exponent: int) -> str:
    return "1" if exponent == 0 else f"1E{exponent}"


def _decimal(value: object, what: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a decimal number, not {value!r}")
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            number = Decimal(value.strip().replace(",", "."))  # rules §7: decimal comma
        else:
            raise ValueError(f"{what} must be a decimal number, not {value!r}")
    except InvalidOperation:
        raise ValueError(f"{what} must be a decimal number, not {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be finite, not {value!r}")
    return number


def _log10(level: Decimal) -> float:
    return float(level.log10())


# --- Results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    """A point after checking: its class and method, and the level it is drawn at (if any)."""

    index: int
    point: MrdPoint
    day: float
    kind: str  # one of RESULT_CLASSES, or "unknown"
    method: str  # "qpcr" / "ngs" / other (drawn as qPCR)
    value: Decimal | None
    sensitivity: Decimal | None
    pnq_range: Decimal | None
    level: Decimal | None  # where it is drawn on the log axis; None = on the baseline

    @property
    def method_name(self) -> str:
        return METHOD_NAMES.get(self.method, self.point.method.strip() or "unknown method")

    @property
    def joined(self) -> bool:
        return self.level is not None

    def describe(self, threshold: Decimal) -> str:
        raw_kind = self.point.result_class
        if self.kind == "quantifiable":
            if self.value is None:
                return "quantifiable, value not recorded"
            relation = "at or above" if self.value >= threshold else "below"
            return f"quantifiable {_lab(self.value)} ({relation} {_lab(threshold)})"
        if self.kind == "negative":
            if self.sensitivity is None:
                return "negative, sensitivity not recorded"
            return f"negative at sensitivity {_lab(self.sensitivity)}"
        if self.kind == "pnq":
            return f"positive not quantifiable (below {_lab(self.pnq_range or DEFAULT_PNQ_RANGE)})"
        if self.kind == "not_evaluable":
            return "not evaluable"
        return f"unknown result class {raw_kind!r}, not placed on the scale"

    def tooltip(self, threshold: Decimal) -> str:
        name = self.point.label.strip()
        head = f"{name}: " if name else ""
        text = f"{head}{self.describe(threshold)}, study day {_day(self.day)}, {self.method_name}"
        if self.level is not None and not (MIN_EXP <= _log10(self.level) <= MAX_EXP):
            text += " (drawn at the edge of the scale)"
        return text


def _kind(result_class: str) -> str:
    key = str(result_class).strip().lower().replace("-", "_").replace(" ", "_")
    key = {"positive_not_quantifiable": "pnq"}.get(key, key)
    return key if key in RESULT_CLASSES else "unknown"


def _check_day(day: object, what: str) -> float:
    if isinstance(day, bool) or not isinstance(day, int | float) or not math.isfinite(day):
        raise ValueError(f"{what}: study days must be finite numbers, not {day!r}")
    return float(day)


def _results(points: Sequence[MrdPoint]) -> list[_Result]:
    results = []
    for index, point in enumerate(points):
        day = _check_day(point.study_day, f"MRD result {index + 1}")
        kind = _kind(point.result_class)
        value = _decimal(point.value, "value")
        sensitivity = _decimal(point.sensitivity, "sensitivity")
        pnq_range = _decimal(point.quantitative_range, "quantitative range")
        level: Decimal | None = None
        if kind == "quantifiable":
            level = value
        elif kind == "negative":
            level = sensitivity
        elif kind == "pnq":
            level = pnq_range if pnq_range is not None else DEFAULT_PNQ_RANGE
        if level is not None and level <= 0:
            level = None  # cannot go on a log scale: drawn on the baseline
        results.append(
            _Result(
                index=index,
                point=point,
                day=day,
                kind=kind,
                method=str(point.method).strip().lower(),
                value=value,
                sensitivity=sensitivity,
                pnq_range=pnq_range,
                level=level,
            )
        )
    # Study-day order; results of the same day keep the order they were given in.
    return sorted(results, key=lambda r: (r.day, r.index))


# --- Geometry -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _YScale:
    y_hi: float  # pixel of the top decade
    y_lo: float  # pixel of the bottom decade
    hi: int  # exponent of the top decade
    lo: int  # exponent of the bottom decade

    def exp_y(self, exponent: float) -> float:
        exponent = min(max(exponent, self.lo), self.hi)
        return self.y_hi + (self.hi - exponent) * (self.y_lo - self.y_hi) / (self.hi - self.lo)

    def y(self, level: Decimal) -> float:
        return self.exp_y(_log10(level))


def _make_x(results: list[_Result], phases: Sequence[PhaseBand], x0: float, x1: float) -> DayScale:
    days = [r.day for r in results]
    first = min(1.0, *days)
    last = max(1.0, *days)
    for phase in phases:
        end = phase.first_day if phase.last_day is None else phase.last_day
        last = max(last, phase.first_day, end)
    # A little room on the left too, so the first marker does not sit on the y axis.
    return DayScale.fitted(first, last, x0, x1, room_before=True)


def _exponent_range(results: list[_Result], threshold: Decimal) -> tuple[int, int]:
    """Decades shown: the data and the threshold with a decade around it, within [1E-7, 1]."""
    t = _log10(threshold)
    lo, hi = math.floor(t) - 1, math.ceil(t) + 1
    for r in results:
        if r.level is not None:
            e = _log10(r.level)
            lo, hi = min(lo, math.floor(e)), max(hi, math.ceil(e))
    lo, hi = max(lo, MIN_EXP), min(hi, MAX_EXP)
    while hi - lo < MIN_DECADES:
        if hi < MAX_EXP:
            hi += 1
        elif lo > MIN_EXP:
            lo -= 1
        else:
            break
    return int(lo), int(hi)


# --- Markers ------------------------------------------------------------------------------------


def _triangle(cx: float, cy: float, r: float) -> tuple[tuple[float, float], ...]:
    """A triangle pointing down ("below the range"), its bounding box centred on (cx, cy)."""
    h = r * 0.9
    return ((cx - r, cy - h), (cx + r, cy - h), (cx, cy + h))


def _cross(cx: float, cy: float, colour: str, size: float = 3.5) -> str:
    return "".join(
        _tag(
            "line",
            {
                "x1": cx - size * dx,
                "y1": cy - size,
                "x2": cx + size * dx,
                "y2": cy + size,
                "stroke": colour,
                "stroke-width": 1.8,
            },
        )
        for dx in (-1, 1)
    )


def _marker(kind: str, ngs: bool, cx: float, cy: float, r: float = MARKER_R) -> str:
    """The marker of a result class; the shape that carries the position has class="marker"."""
    if kind == "quantifiable":
        shape = _tag(
            "circle",
            {
                "class": "marker",
                "cx": cx,
                "cy": cy,
                "r": r,
                "fill": QUANTIFIABLE_COLOUR,
                "stroke": "#ffffff",
                "stroke-width": 1,
            },
        )
        ring = (
            _tag(
                "circle",
                {
                    "class": "ngs-ring",
                    "cx": cx,
                    "cy": cy,
                    "r": r + NGS_RING,
                    "fill": "none",
                    "stroke": QUANTIFIABLE_COLOUR,
                    "stroke-width": 1.3,
                },
            )
            if ngs
            else ""
        )
        return shape + ring
    if kind == "negative":
        tip = cy + r + 7
        shape = _tag(
            "circle",
            {
                "class": "marker",
                "cx": cx,
                "cy": cy,
                "r": r,
                "fill": "#ffffff",
                "stroke": NEGATIVE_COLOUR,
                "stroke-width": 1.8,
            },
        )
        below = _tag(  # a small arrow down: "below this level"
            "polyline",
            {
                "class": "below",
                "points": _points((cx - 2.8, tip - 3), (cx, tip), (cx + 2.8, tip - 3)),
                "fill": "none",
                "stroke": NEGATIVE_COLOUR,
                "stroke-width": 1.4,
            },
        ) + _tag(
            "line",
            {
                "x1": cx,
                "y1": cy + r + (NGS_RING + 1 if ngs else 1),
                "x2": cx,
                "y2": tip,
                "stroke": NEGATIVE_COLOUR,
                "stroke-width": 1.4,
            },
        )
        ring = (
            _tag(
                "circle",
                {
                    "class": "ngs-ring",
                    "cx": cx,
                    "cy": cy,
                    "r": r + NGS_RING,
                    "fill": "none",
                    "stroke": NEGATIVE_COLOUR,
                    "stroke-width": 1.3,
                },
            )
            if ngs
            else ""
        )
        return shape + ring + below
    if kind == "pnq":
        big = r * 1.25
        outline = _triangle(cx, cy, big)
        (left_top, right_top, bottom) = outline
        shape = _tag(
            "polygon",
            {
                "class": "marker",
                "points": _points(*outline),
                "fill": "#ffffff",
                "stroke": PNQ_COLOUR,
                "stroke-width": 1.6,
                "stroke-linejoin": "round",
            },
        )
        half = _tag(  # the left half filled: "positive, but not quantifiable"
            "polygon",
            {
                "points": _points(left_top, (cx, left_top[1]), bottom),
                "fill": PNQ_COLOUR,
            },
        )
        ring = (
            _tag(
                "polygon",
                {
                    "class": "ngs-ring",
                    "points": _points(*_triangle(cx, cy, big + NGS_RING * 1.6)),
                    "fill": "none",
                    "stroke": PNQ_COLOUR,
                    "stroke-width": 1.3,
                    "stroke-linejoin": "round",
                },
            )
            if ngs
            else ""
        )
        return shape + half + ring
    # not evaluable (or a class the picture does not know): a grey cross, not joined
    return _cross(cx, cy, NOT_EVALUABLE_COLOUR)


# --- Drawing ------------------------------------------------------------------------------------


class _Drawing:
    def __init__(
        self,
        results: list[_Result],
        phases: Sequence[PhaseBand],
        threshold: Decimal,
        width: int,
        height: int,
        prefix: str,
    ) -> None:
        self.results = results
        self.phases = tuple(phases)
        self.threshold = threshold
        self.width = width
        self.height = height
        self.prefix = prefix
        self.defs: list[str] = []
        self.clip_count = 0
        self.legend_entries = self._legend_entries()
        self.legend_rows = self._legend_layout()
        legend_h = len({y for _, y, _, _ in self.legend_rows}) * LEGEND_ROW
        self.xs = _make_x(results, self.phases, LEFT, width - RIGHT)
        self.names = self._name_layout()
        name_rows = 1 + max((row for row, label, _ in self.names if label), default=-1)
        self.plot_top = float(6 + name_rows * PHASE_NAME_ROW if self.phases else TOP_PLAIN)
        self.plot_bottom = height - AXIS_ROOM - legend_h - 6
        if self.plot_bottom - self.plot_top < 60:
            raise ValueError("height is too small for the plot and its legend")
        lo, hi = _exponent_range(results, threshold)
        self.ys = _YScale(
            y_hi=self.plot_top + PAD_TOP, y_lo=self.plot_bottom - PAD_BOTTOM, hi=hi, lo=lo
        )

    # legend -----------------------------------------------------------------------------------

    def _legend_entries(self) -> list[tuple[str, str, str]]:
        """(key, symbol svg around the origin, text) of what the picture shows."""
        kinds = {r.kind if r.kind in RESULT_CLASSES else "not_evaluable" for r in self.results}
        entries = [
            (f"class-{kind}", _marker(kind, False, 8, 0), LEGEND_NAMES[kind])
            for kind in RESULT_CLASSES
            if kind in kinds
        ]
        if any(r.method == "ngs" for r in self.results):
            ring = _tag(
                "circle",
                {"cx": 8, "cy": 0, "r": MARKER_R, "fill": "#ffffff", "stroke": NGS_LEGEND_COLOUR},
            ) + _tag(
                "circle",
                {
                    "cx": 8,
                    "cy": 0,
                    "r": MARKER_R + NGS_RING,
                    "fill": "none",
                    "stroke": NGS_LEGEND_COLOUR,
                    "stroke-width": 1.3,
                },
            )
            entries.append(("method-ngs", ring, "NGS (double outline)"))
        line = _tag(
            "line",
            {
                "x1": 0,
                "y1": 0,
                "x2": 16,
                "y2": 0,
                "stroke": THRESHOLD_COLOUR,
                "stroke-width": 1.5,
                "stroke-dasharray": "6 4",
            },
        )
        entries.append(("threshold", line, f"{_lab(self.threshold)} threshold"))
        return entries

    def _legend_layout(self) -> list[tuple[float, float, str, tuple[str, str, str]]]:
        """(x, row offset, text, entry) of each legend entry, wrapped to the width."""
        widths = [_legend.entry_width(text, 24, 16) for _, _, text in self.legend_entries]
        placed = _legend.flow(widths, LEFT, 0.0, self.width - 8, LEGEND_ROW)
        return [
            (x, row, entry[2], entry)
            for (x, row), entry in zip(placed, self.legend_entries, strict=True)
        ]

    def legend(self) -> str:
        top = self.plot_bottom + AXIS_ROOM + 4
        return _legend.legend(
            _legend.entry(
                x, top + row, symbol, text, text_x=24, css_class=f"legend-entry legend-{key}"
            )
            for x, row, text, (key, symbol, _) in self.legend_rows
        )

    # background -------------------------------------------------------------------------------

    def clip(self, x: float, y: float, w: float, h: float) -> str:
        self.clip_count += 1
        clip_id = f"{self.prefix}-clip-{self.clip_count}"
        self.defs.append(
            _tag(
                "clipPath", {"id": clip_id}, _tag("rect", {"x": x, "y": y, "width": w, "height": h})
            )
        )
        return f"url(#{clip_id})"

    def _bands(self) -> list[tuple[float, float, PhaseBand]]:
        """(left, right, phase) in pixels; ongoing phases reach the right edge."""
        bands = []
        for phase in self.phases:
            first = float(phase.first_day)
            last = float(phase.last_day) if phase.last_day is not None else self.xs.hi
            left, right = self.xs.span(first, last)
            if phase.last_day is None:
                right = self.xs.x1
            bands.append((left, right, phase))
        return bands

    def _name_layout(self) -> list[tuple[int, str, float]]:
        """(row, visible name, clip width) per band: a name that does not fit its band goes to a
        second row rather than lose its end ("Induction I" vs "Induction II")."""
        bands = self._bands()
        ends = [-math.inf] * PHASE_NAME_ROWS
        layout: list[tuple[int, str, float]] = [(0, "", 0.0)] * len(bands)
        for i in sorted(range(len(bands)), key=lambda i: (bands[i][0], i)):
            left, right, phase = bands[i]
            full = _text_width(phase.name, SMALL_FONT_SIZE) * BOLD_WIDTH + 8  # bold text
            row = next(
                (
                    row
                    for row in range(PHASE_NAME_ROWS)
                    if left >= ends[row] and left + full <= self.width - 2
                ),
                None,
            )
            if row is not None:
                layout[i] = (row, phase.name, full)
                ends[row] = left + full
                continue
            # Shortened to the band (or up to the next band) in the first free row.
            next_left = min(
                (other for other, _, _ in bands if other > left + 0.01), default=self.xs.x1
            )
            room = max(right, next_left) - left if next_left > right else right - left
            free = [row for row in range(PHASE_NAME_ROWS) if left >= ends[row]]
            label = _fit(phase.name, (room - 8) / BOLD_WIDTH, SMALL_FONT_SIZE)
            if free and label:
                layout[i] = (free[0], label, room)
                ends[free[0]] = left + room
        return layout

    def phase_bands(self) -> str:
        out = []
        top = 2.0
        for (left, right, phase), (row, label, room) in zip(self._bands(), self.names, strict=True):
            fill, ink = _phase_colours(phase.name)
            parts = [
                _title(f"{phase.name}: study {_days(phase.first_day, phase.last_day)}"),
                _tag(
                    "rect",
                    {
                        "x": left,
                        "y": top,
                        "width": right - left,
                        "height": self.plot_bottom - top,
                        "fill": fill,
                        "fill-opacity": PHASE_OPACITY,
                    },
                ),
                _tag(
                    "line",
                    {
                        "x1": left,
                        "y1": top,
                        "x2": left,
                        "y2": self.plot_bottom,
                        "stroke": ink,
                        "stroke-width": 1,
                        "stroke-opacity": 0.35,
                    },
                ),
            ]
            if label:
                parts.append(
                    _tag(
                        "text",
                        {
                            "x": left + 3,
                            "y": top + 11 + row * PHASE_NAME_ROW,
                            "font-size": SMALL_FONT_SIZE,
                            "font-weight": "600",
                            "fill": ink,
                            "clip-path": self.clip(
                                left, top + row * PHASE_NAME_ROW, room, PHASE_NAME_ROW + 2
                            ),
                        },
                        _text(label),
                    )
                )
            out.append(
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
        return "".join(out)

    def y_axis(self) -> str:
        x0, x1 = self.xs.x0, self.xs.x1
        grid, ticks = [], []
        for exponent in range(self.ys.lo, self.ys.hi + 1):
            y = self.ys.exp_y(exponent)
            grid.append(
                _tag(
                    "line",
                    {
                        "x1": x0,
                        "y1": y,
                        "x2": x1,
                        "y2": y,
                        "stroke": GRID_COLOUR,
                        "stroke-width": 1,
                    },
                )
            )
            ticks.append(
                _tag(
                    "g",
                    {"class": "decade", "data-exponent": exponent},
                    _tag(
                        "line",
                        {
                            "x1": x0 - 5,
                            "y1": y,
                            "x2": x0,
                            "y2": y,
                            "stroke": AXIS_COLOUR,
                            "stroke-width": 1,
                        },
                    )
                    + _tag(
                        "text",
                        {
                            "x": x0 - 8,
                            "y": y + 3.5,
                            "text-anchor": "end",
                            "font-size": SMALL_FONT_SIZE,
                            "fill": TEXT_COLOUR,
                        },
                        _decade(exponent),
                    ),
                )
            )
            if exponent < self.ys.hi:  # minor ticks 2..9 of the decade
                for m in range(2, 10):
                    my = self.ys.exp_y(exponent + math.log10(m))
                    ticks.append(
                        _tag(
                            "line",
                            {
                                "x1": x0 - 3,
                                "y1": my,
                                "x2": x0,
                                "y2": my,
                                "stroke": AXIS_COLOUR,
                                "stroke-width": 0.6,
                            },
                        )
                    )
        label_y = (self.plot_top + self.plot_bottom) / 2
        name = _tag(
            "text",
            {
                "x": 14,
                "y": label_y,
                "text-anchor": "middle",
                "fill": MUTED_COLOUR,
                "font-weight": "600",
                "transform": f"rotate(-90 14 {_num(label_y)})",
            },
            "MRD",
        )
        axis = _tag(
            "line",
            {
                "x1": x0,
                "y1": self.plot_top,
                "x2": x0,
                "y2": self.plot_bottom,
                "stroke": AXIS_COLOUR,
                "stroke-width": 1,
            },
        )
        return "".join(grid) + axis + "".join(ticks) + name

    def x_axis(self) -> str:
        y = self.plot_bottom
        parts = [
            axis_line(self.xs.x0, self.xs.x1, y),
            _tag(
                "text",
                {
                    "x": self.xs.x1,
                    "y": y + 28,
                    "text-anchor": "end",
                    "font-size": SMALL_FONT_SIZE,
                    "fill": MUTED_COLOUR,
                },
                "study day",
            ),
        ]
        for day in day_ticks(self.xs, LANDMARK_DAYS):
            parts.append(tick_mark(self.xs.point(day), y, day))
        return "".join(parts)

    def threshold_line(self) -> str:
        y = self.ys.y(self.threshold)
        text = _lab(self.threshold)
        return _tag(
            "g",
            {"class": "threshold", "data-level": text},
            _title(
                f"MRD threshold {text}: negative at sensitivity {text} or better is MRD "
                f"negativity; quantifiable {text} or more is MRD failure"
            )
            + _tag(
                "line",
                {
                    "x1": self.xs.x0,
                    "y1": y,
                    "x2": self.xs.x1,
                    "y2": y,
                    "stroke": THRESHOLD_COLOUR,
                    "stroke-width": 1.5,
                    "stroke-dasharray": "6 4",
                },
            )
            + _tag(
                "text",
                {
                    "x": self.xs.x1 + 4,
                    "y": y + 3.5,
                    "font-size": SMALL_FONT_SIZE,
                    "font-weight": "600",
                    "fill": THRESHOLD_COLOUR,
                },
                _text(text),
            ),
        )

    # results ----------------------------------------------------------------------------------

    def position(self, r: _Result) -> tuple[float, float]:
        x = self.xs.point(r.day)
        y = self.ys.y(r.level) if r.level is not None else self.plot_bottom
        return x, y

    def kinetics_line(self) -> str:
        joined = [self.position(r) for r in self.results if r.joined]
        if len(joined) < 2:
            return ""
        return _tag(
            "polyline",
            {
                "class": "mrd-line",
                "points": _points(*joined),
                "fill": "none",
                "stroke": LINE_COLOUR,
                "stroke-width": 1.5,
                "stroke-linejoin": "round",
            },
        )

    def result_marks(self) -> str:
        out = []
        # Not evaluable first, so the plotted results stay on top of the baseline crosses.
        for r in sorted(self.results, key=lambda r: r.joined):
            x, y = self.position(r)
            kind = r.kind if r.joined else ("not_evaluable" if r.kind == "unknown" else r.kind)
            if not r.joined and kind == "quantifiable":
                kind = "not_evaluable"  # no value to place: a cross on the baseline
            if not r.joined and kind in ("negative", "pnq"):
                marker = _marker(kind, r.method == "ngs", x, y, MARKER_R * 0.8)
            else:
                marker = _marker(kind, r.method == "ngs", x, y)
            out.append(
                _tag(
                    "g",
                    {
                        "class": f"mrd-point mrd-{_token(r.kind)} method-{_token(r.method)}",
                        "data-class": r.kind,
                        "data-method": r.method,
                        "data-label": r.point.label,
                        "data-day": _day(r.day),
                        "data-level": _lab(r.level) if r.level is not None else "",
                    },
                    _title(r.tooltip(self.threshold)) + marker,
                )
            )
        return "".join(out)

    def render(self) -> str:
        # Document order is paint order: bands, grid and axes, threshold, line, results, legend.
        body = (
            _tag(
                "rect",
                {
                    "x": self.xs.x0,
                    "y": self.plot_top,
                    "width": self.xs.x1 - self.xs.x0,
                    "height": self.plot_bottom - self.plot_top,
                    "fill": PLOT_BACKGROUND,
                },
            )
            + self.phase_bands()
            + self.y_axis()
            + self.x_axis()
            + self.threshold_line()
            + self.kinetics_line()
            + self.result_marks()
            + self.legend()
        )
        defs = _tag("defs", {}, "".join(self.defs)) if self.defs else ""
        return _svg_document(
            self.prefix,
            self.width,
            self.height,
            _headline(self.results),
            _describe(self.results, self.phases, self.threshold, self.ys),
            defs + body,
        )


def _headline(results: list[_Result]) -> str:
    last = max(r.day for r in results)
    n = len(results)
    return f"MRD kinetics: {n} result{'s' if n != 1 else ''} up to study day {_day(last)}"


def _describe(
    results: list[_Result], phases: Sequence[PhaseBand], threshold: Decimal, ys: _YScale
) -> str:
    """A plain-language summary for the <desc> (screen readers)."""
    parts = [
        f"MRD on a log scale from {_decade(ys.lo)} to {_decade(ys.hi)} over study days; "
        f"threshold {_lab(threshold)}."
    ]
    parts.append(
        "Results: " + "; ".join(r.tooltip(threshold) for r in results) + "."
        if results
        else "No results."
    )
    if phases:
        parts.append(
            "Phases: "
            + "; ".join(f"{p.name}, {_days(p.first_day, p.last_day)}" for p in phases)
            + "."
        )
    return " ".join(parts)


def _svg_document(prefix: str, width: int, height: int, title: str, desc: str, body: str) -> str:
    return svg_document(prefix, width, height, title, desc, body, css_class="mrd-kinetics")


def _check_size(width: int, height: int) -> None:
    for name, value, least in (("width", width, MIN_WIDTH), ("height", height, MIN_HEIGHT)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an integer of at least {least} pixels")


def _check_phases(phases: Iterable[PhaseBand]) -> None:
    for phase in phases:
        _check_day(phase.first_day, f"phase {phase.name!r}")
        if phase.last_day is not None:
            _check_day(phase.last_day, f"phase {phase.name!r}")


def render_kinetics_svg(
    points: Sequence[MrdPoint],
    phases: Sequence[PhaseBand] = (),
    *,
    threshold: Decimal = Decimal("1E-4"),
    width: int = 720,
    height: int = 300,
) -> str:
    """The MRD kinetics picture as a standalone, inline-safe SVG document (a str, deterministic)."""
    _check_size(width, height)
    points, phases = tuple(points), tuple(phases)
    _check_phases(phases)
    level = _decimal(threshold, "threshold")
    if level is None or level <= 0:
        raise ValueError("threshold must be a positive decimal number")
    results = _results(points)
    digest = hashlib.sha256(
        repr((points, phases, level, width, height)).encode("utf-8", "backslashreplace")
    ).hexdigest()
    prefix = f"mrd-{digest[:10]}"  # ids differ between pictures inlined on one page
    if not results:
        body = empty_panel(width, EMPTY_HEIGHT, "No MRD results yet")
        return _svg_document(
            prefix,
            width,
            EMPTY_HEIGHT,
            "MRD kinetics: no results yet",
            "No MRD results recorded yet.",
            body,
        )
    return _Drawing(results, phases, level, width, height, prefix).render()
