"""Numbers as clinicians type them: a decimal point or a decimal comma, nothing changed silently.

A browser's number field drops what it does not accept ("12,4" became 124, "6x4" became 64), so
every number is a text field with the decimal keyboard, read here on the server: one decimal
separator (point or comma) and digits; anything else is refused with a message that names the
field and repeats what was typed.
"""

import re
from decimal import Decimal, InvalidOperation

from django import forms

# Digits with at most one decimal separator, point or comma; an optional sign (the field's own
# minimum refuses a negative value with its own message). No thousands separators, no exponent.
_DECIMAL_TEXT = re.compile(r"^[+-]?(\d+([.,]\d*)?|[.,]\d+)$", re.ASCII)
_WHOLE_TEXT = re.compile(r"^[+-]?\d+$", re.ASCII)


def parse_decimal_text(text: str) -> Decimal | None:
    """The number a person typed, or None when the text is not one number. Surrounding spaces
    are ignored; a decimal comma reads as a decimal point."""
    text = text.strip()
    if not _DECIMAL_TEXT.match(text):
        return None
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal text
        return None


def parse_whole_text(text: str) -> int | None:
    text = text.strip()
    return int(text) if _WHOLE_TEXT.match(text) else None


def _shown(text: str) -> str:
    text = text.strip()
    return text if len(text) <= 40 else text[:40] + "…"


class NumberTextInput(forms.TextInput):
    """A text input with the decimal keyboard on phones and tablets, and the unit beside it."""

    template_name = "widgets/number_text.html"

    def __init__(self, attrs=None, *, unit: str = "", inputmode: str = "decimal"):
        attrs = {
            "inputmode": inputmode,
            "autocomplete": "off",
            "spellcheck": "false",
            **(attrs or {}),
        }
        super().__init__(attrs)
        self.unit = unit

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["unit"] = self.unit
        if self.unit and context["widget"]["attrs"].get("id"):
            unit_id = f"{context['widget']['attrs']['id']}-unit"
            described = context["widget"]["attrs"].get("aria-describedby", "")
            context["widget"]["attrs"]["aria-describedby"] = f"{described} {unit_id}".strip()
        return context

    def format_value(self, value):
        # A stored Decimal reads without trailing zeros of its column (12.40 -> 12.4), never
        # in exponent notation (0.0025, not 2.5E-3).
        if isinstance(value, Decimal):
            text = format(value, "f")
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text
        return super().format_value(value)


class DecimalTextField(forms.DecimalField):
    """A decimal number typed as text: 12.4 and 12,4 are the same value; 12,4,1, 1.234,5,
    1 234 and 6x4 are refused with the field's name and the text typed."""

    widget = NumberTextInput

    def __init__(self, *args, unit: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.widget.unit = unit
        # Django's DecimalField adds step="any" and min/max for a number input; a text input
        # takes neither (min/max would not stop typing and would mislead a screen reader).
        for attribute in ("step", "min", "max"):
            self.widget.attrs.pop(attribute, None)

    def widget_attrs(self, widget):
        return {}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal | int):
            return Decimal(value)
        text = str(value)
        number = parse_decimal_text(text)
        if number is None or not number.is_finite():
            raise forms.ValidationError(
                '%(field)s: "%(typed)s" is not a number. Type digits with at most one decimal '
                "point or comma, for example 12.4 or 12,4.",
                code="invalid",
                params={"field": self.label or "This field", "typed": _shown(text)},
            )
        return number


class WholeNumberTextField(forms.IntegerField):
    """A whole number (a score, a count, a year) typed as text; anything else is refused with the
    field's name and the text typed."""

    widget = NumberTextInput

    def __init__(self, *args, unit: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.widget.unit = unit
        self.widget.attrs["inputmode"] = "numeric"
        for attribute in ("step", "min", "max"):
            self.widget.attrs.pop(attribute, None)

    def widget_attrs(self, widget):
        return {}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int):
            return value
        text = str(value)
        number = parse_whole_text(text)
        if number is None:
            raise forms.ValidationError(
                '%(field)s: "%(typed)s" is not a whole number. Type digits only, for example 7.',
                code="invalid",
                params={"field": self.label or "This field", "typed": _shown(text)},
            )
        return number
