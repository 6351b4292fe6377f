"""Writes of the case report forms; views, commands and tests all call these."""

from .enrolment import (
    membership_grant,
    protocol_version_create,
    protocol_version_for,
    site_create,
    subject_screen,
    visits_plan,
)
from .records import record_save

__all__ = [
    "membership_grant",
    "protocol_version_create",
    "protocol_version_for",
    "record_save",
    "site_create",
    "subject_screen",
    "visits_plan",
]
