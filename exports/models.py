from django.conf import settings
from django.db import models


class StudyExport(models.Model):
    """One export of the study data: who asked, for which sites, how far it got, and the file's
    row counts and SHA-256 once complete. A workflow record, shown in the study's audit review;
    the exported data's own history is in the audit trail."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV files (ZIP) with data dictionary"
        ODM = "odm", "CDISC ODM 1.3.2 XML"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Complete"
        FAILED = "failed", "Failed"

    format = models.CharField(max_length=4, choices=Format.choices, default=Format.CSV)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Empty for an export run from the command line.",
    )
    requested_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # The site numbers the export covers (the requester's sites at the time).
    site_numbers = models.JSONField(default=list)
    steps_done = models.PositiveIntegerField(default=0)
    steps_total = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    # Written as the export advances; a running export whose heartbeat stops was lost with its
    # worker and is started again (exports_resume_stale).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    # [[file name, data rows], ...] in the order of the files in the export.
    row_counts = models.JSONField(default=list, blank=True)
    file_name = models.CharField(max_length=200, blank=True)
    file_size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField("SHA-256", max_length=64, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]

    def __str__(self) -> str:
        return f"Export #{self.pk} ({self.get_format_display()}, {self.get_status_display()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.steps_done / self.steps_total) if self.steps_total else 0

    @property
    def total_rows(self) -> int:
        return sum(n for _, n in self.row_counts)
