"""Fonts, and text widths estimated from an average glyph width (no font metrics here)."""

FONT_FAMILY = "system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"
FONT_SIZE = 11  # the document's font size
SMALL_FONT_SIZE = 10  # tick labels, legends, marker labels
CHAR_WIDTH = 0.56  # average glyph width / font size
BOLD_WIDTH = 1.12  # bold text is about this much wider


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """Estimated width in pixels of `text` at font size `size`."""
    return len(text) * size * CHAR_WIDTH


def fit(text: str, room: float, size: float = FONT_SIZE) -> str:
    """The text, shortened with an ellipsis to about `room` pixels; '' if not even 2 chars fit."""
    if text_width(text, size) <= room:
        return text
    chars = int(room // (size * CHAR_WIDTH)) - 1
    return text[:chars] + "\u2026" if chars >= 2 else ""
