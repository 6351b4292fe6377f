"""Template filters for values as people write them (audit.naming)."""

from django import template

from ..naming import plain_number

register = template.Library()


@register.filter
def as_written(value) -> str:
    """A stored decimal as written: 3.5000 -> 3.5, 40.0000 -> 40; empty for no value."""
    return plain_number(value)
