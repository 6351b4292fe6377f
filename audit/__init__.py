"""The audit trail's machinery: history on every clinical model, reasons for change,
optimistic locking, and append-only history tables enforced by PostgreSQL."""
