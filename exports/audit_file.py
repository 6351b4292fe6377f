"""audit_trail.csv of the study export: every change to the exported sites' data, field by field.

The same rows as the audit-trail review (monitoring.audit_review), newest first, without account
events (logins are not study data, and would change the file at every login); written by
PostgreSQL (audit_sql.py). These are its columns.
"""

from __future__ import annotations

AUDIT_COLUMNS = (
    ("time_utc", "time of the change (UTC, ISO 8601)"),
    ("user", "username of who made the change"),
    ("user_roles", "the user's study roles"),
    ("subject", "study ID of the subject the record belongs to"),
    ("site", "site number"),
    ("form", "kind of record"),
    (
        "record",
        'the record, by its name in the trial\'s words (e.g. "Lab panel 2026-11-25 08:00 CET")',
    ),
    ("field", "field changed"),
    ("old_value", "value before"),
    ("new_value", "value after"),
    ("reason", "reason for change"),
    ("kind", "created, changed, entered in error or deleted"),
)
