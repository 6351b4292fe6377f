"""audit_trail.csv of the study export: every change to the exported sites' data, field by field.

The same rows as the audit-trail review (monitoring.audit_review), newest first, without account
events (logins are not study data, and would change the file at every login).
"""

from __future__ import annotations

from datetime import UTC

from monitoring.audit_review import AuditScope, AuditTrail, trail_rows

from .domains import text_cell

AUDIT_COLUMNS = (
    ("time_utc", "time of the change (UTC, ISO 8601)"),
    ("user", "username of who made the change"),
    ("user_roles", "the user's study roles"),
    ("subject", "study ID of the subject the record belongs to"),
    ("site", "site number"),
    ("form", "kind of record"),
    ("record", "record (kind and id)"),
    ("field", "field changed"),
    ("old_value", "value before"),
    ("new_value", "value after"),
    ("reason", "reason for change"),
    ("kind", "created, changed, entered in error or deleted"),
)


def audit_rows(site_ids: frozenset[int] | None):
    trail = AuditTrail(AuditScope(site_ids=site_ids, data_only=True))
    for r in trail_rows(trail):
        yield [
            r.at.astimezone(UTC).isoformat(), r.user, r.user_roles, r.subject, r.site, r.form,
            text_cell(r.record), text_cell(r.field), text_cell(r.old), text_cell(r.new),
            text_cell(r.reason), r.kind,
        ]  # fmt: skip


def audit_count(site_ids: frozenset[int] | None) -> int:
    return AuditTrail(AuditScope(site_ids=site_ids, data_only=True)).count()
