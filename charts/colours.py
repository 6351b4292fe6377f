"""Colours: the inks both pictures use, and one pair of colours per treatment phase."""

import zlib

TEXT_COLOUR = "#111827"
MUTED_COLOUR = "#4b5563"  # names of axes and lanes, the empty-picture message
GRID_COLOUR = "#e5e7eb"
AXIS_COLOUR = "#374151"
PANEL_COLOUR = "#f9fafb"  # background of the empty picture

# (fill, stroke) of the phases, the same on every picture: known phase names first (the names of
# protocol.schedule.PhaseName, any case), then by prefix, then by a hash of the name.
PHASE_COLOURS: dict[str, tuple[str, str]] = {
    "pre-induction": ("#c7d2fe", "#4338ca"),
    "induction i": ("#bae6fd", "#0369a1"),
    "induction ii": ("#bbf7d0", "#15803d"),
    "consolidation": ("#fde68a", "#b45309"),
    "maintenance": ("#fbcfe8", "#be185d"),
    "follow-up": ("#e5e7eb", "#4b5563"),
}
PHASE_PREFIX_COLOURS: tuple[tuple[str, tuple[str, str]], ...] = (
    ("consolidation", ("#fde68a", "#b45309")),
    ("maintenance", ("#fbcfe8", "#be185d")),
    ("follow", ("#e5e7eb", "#4b5563")),
)
PHASE_FALLBACK_COLOURS: tuple[tuple[str, str], ...] = (
    ("#ddd6fe", "#6d28d9"),
    ("#fed7aa", "#c2410c"),
    ("#a5f3fc", "#0e7490"),
    ("#d9f99d", "#4d7c0f"),
    ("#fecdd3", "#be123c"),
)


def phase_colours(name: str) -> tuple[str, str]:
    """(fill, stroke) of the phase called `name`; the same name always gets the same pair."""
    key = name.strip().lower()
    if key in PHASE_COLOURS:
        return PHASE_COLOURS[key]
    for prefix, colours in PHASE_PREFIX_COLOURS:
        if key.startswith(prefix):
            return colours
    return PHASE_FALLBACK_COLOURS[zlib.crc32(key.encode("utf-8")) % len(PHASE_FALLBACK_COLOURS)]
