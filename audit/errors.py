from django.core.exceptions import ValidationError

from .clock import local_time_text


class ReasonForChangeRequired(ValidationError):
    """A change to a saved record was attempted without a reason."""

    def __init__(self) -> None:
        super().__init__(
            {"reason_for_change": "Give a reason for this change (it is kept in the audit trail)."}
        )


class StaleVersionError(Exception):
    """Somebody else saved the record after this user opened it."""

    def __init__(self, *, current, changed_by: str, changed_at) -> None:
        self.current = current
        self.changed_by = changed_by
        self.changed_at = changed_at
        super().__init__(self.message)

    @property
    def message(self) -> str:
        when = local_time_text(self.changed_at) if self.changed_at else "meanwhile"
        return (
            f"Not saved: {self.changed_by} changed this record ({when}) after you opened it. "
            "Your input is kept below; the current values are shown beside it. "
            "Review them and save again if your change still applies."
        )
