"""Numbers as clinicians type them: a decimal point or a decimal comma, nothing changed silently.

A browser's number field drops what it does not accept ("12,4" became 124, "6x4" became 64), so
every number is a text field with the decimal keyboard, read here on the server: one decimal
separator (point or comma) and digits; anything else is refused with a message that names the
field and repeats what was typed.
"""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from protocol import mrd

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

    def render(self, name, value, attrs=None, renderer=None):
        """The input and its unit, written here rather than by a template: a lab page has some
        sixty of these inputs, and the template engine took a third of the page's time."""
        widget = self.get_context(name, value, attrs)["widget"]
        html = format_html('<input type="{}" name="{}"', widget["type"], widget["name"])
        if widget["value"] is not None:
            html += format_html(' value="{}"', widget["value"])
        for key, item in widget["attrs"].items():
            if item is True:
                html += format_html(" {}", key)
            elif item is not False:
                html += format_html(' {}="{}"', key, item)
        html += mark_safe(">\n")  # noqa: S308 - a literal
        if not self.unit:
            return html
        invalid = " is-invalid" if "is-invalid" in widget["attrs"].get("class", "") else ""
        return format_html(
            '<div class="input-group input-group-number{}">{}'
            '<span class="input-group-text" id="{}-unit">{}</span></div>',
            invalid, html, widget["attrs"].get("id", ""), self.unit,
        )  # fmt: skip

    def format_value(self, value):
        # A stored Decimal reads without trailing zeros of its column (12.40 -> 12.4), never
        # in exponent notation (0.0025, not 2.5E-3).
        if isinstance(value, Decimal):
            text = format(value, "f")
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return text
        return super().format_value(value)


class _TypedAsText:
    """A number field typed into a text input with its unit beside it."""

    widget = NumberTextInput
    inputmode = "decimal"

    def __init__(self, *args, unit: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.widget.unit = unit
        self.widget.attrs["inputmode"] = self.inputmode
        # Django's number fields add step="any" and min/max for a number input; a text input
        # takes neither (min/max would not stop typing and would mislead a screen reader).
        for attribute in ("step", "min", "max"):
            self.widget.attrs.pop(attribute, None)

    def widget_attrs(self, widget):
        return {}


class DecimalTextField(_TypedAsText, forms.DecimalField):
    """A decimal number typed as text: 12.4 and 12,4 are the same value; 12,4,1, 1.234,5,
    1 234 and 6x4 are refused with the field's name and the text typed."""

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


class WholeNumberTextField(_TypedAsText, forms.IntegerField):
    """A whole number (a score, a count, a year) typed as text; anything else is refused with the
    field's name and the text typed."""

    inputmode = "numeric"

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


# --- Units ----------------------------------------------------------------------------------

# The unit of a number is in its field's name (height_cm, dexamethasone_mg, dose_ug_per_day):
# that name is the one place it is stated; the input shows it beside the number. A field whose
# name does not say its unit (leukocytes, an ICE sub-score) is given it by its form's
# `number_units`.
UNIT_BY_NAME_ENDING = {
    "_ug_per_day": "µg/day",
    "_percent": "%",
    "_cm": "cm",
    "_kg": "kg",
    "_mg": "mg",
    "_m2": "m²",
}


def unit_of(name: str) -> str:
    """The unit a field's name ends with ("weight_kg" -> "kg"), or "" when it names none."""
    for ending, unit in UNIT_BY_NAME_ENDING.items():
        if name.endswith(ending):
            return unit
    return ""


def label_without_unit(label: str, unit: str) -> str:
    """A label that no longer repeats the unit shown beside the input: "Weight (kg)" with kg
    beside it reads "Weight"."""
    if unit and label:
        for written in (f"({unit})", f"[{unit}]", f", {unit}"):
            if label.rstrip().endswith(written):
                return label.rstrip().removesuffix(written).rstrip()
    return label


def as_typed_number(field: forms.Field, *, name: str, unit: str | None = None) -> forms.Field:
    """A form's number field as a number typed as text (DecimalTextField or
    WholeNumberTextField) with its unit beside it; its limits, label, help and initial value
    carry over. Any other field is returned as it is."""
    if isinstance(field, DecimalTextField | WholeNumberTextField | MrdValueField):
        return field  # declared as typed, with its unit
    if isinstance(field, forms.DecimalField):
        cls = DecimalTextField
    elif isinstance(field, forms.IntegerField) and not field.widget.is_hidden:
        cls = WholeNumberTextField
    else:
        return field
    unit = unit_of(name) if unit is None else unit
    typed = cls(
        label=label_without_unit(field.label, unit) if field.label else field.label,
        required=field.required,
        help_text=field.help_text,
        validators=field.validators,
        initial=field.initial,
        unit=unit,
    )
    typed.widget.attrs.update(
        {k: v for k, v in field.widget.attrs.items() if k not in {"step", "min", "max"}}
    )
    typed.widget.attrs["inputmode"] = typed.inputmode
    return typed


# --- MRD ------------------------------------------------------------------------------------


class MrdValueField(forms.CharField):
    """An MRD value as laboratories write it, read by protocol.mrd.parse_mrd_value: 1.2E-4,
    1e-4, 1,2E-4, 0.00012, 0,0001, 1.2 x 10^-4 all read as the exact fraction of cells;
    1.000 or 1,200 (thousands or decimals?), a percentage, a limit (<1E-4) and anything else are
    refused, naming the field and the text typed. Shown as the laboratory writes it (1.2E-4).

    Not a DecimalTextField: the exponent needs the letter E or "x 10^", so the input keeps the
    full keyboard."""

    def __init__(self, *args, unit: str = "fraction of cells", **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", NumberTextInput(unit=unit, inputmode="text"))
        super().__init__(*args, **kwargs)

    def widget_attrs(self, widget):
        return {}  # no maxlength: a longer text is refused with its message, not cut silently

    def prepare_value(self, value):
        if value in (None, ""):
            return ""
        if isinstance(value, str):
            return value
        return mrd.format_mrd(value)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return None
        try:
            return mrd.parse_mrd_value(text)
        except mrd.MrdValueError as error:
            raise forms.ValidationError(
                "%(field)s: %(message)s",
                code="invalid",
                params={"field": self.label or "MRD value", "message": str(error)},
            ) from None

    def has_changed(self, initial, data):
        try:
            return self.clean(data) != initial
        except forms.ValidationError:
            return True
