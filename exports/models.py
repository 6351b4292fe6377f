from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from audit.models import AuditedModel


class StudyExport(models.Model):
    """One export of the study data: who asked, for which sites, how far it got, and the file's
    row counts and SHA-256 once complete. A workflow record, shown in the study's audit review;
    the exported data's own history is in the audit trail.

    Besides the study exports (CSV, ODM), the close-out files: one subject's casebook as a
    PDF/A-2b file (`subject`), and one site's archive (`site`): a ZIP of its subjects' casebooks,
    its CSV and ODM exports and a manifest of SHA-256 sums (exports/archive.py)."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV files (ZIP) with data dictionary"
        ODM = "odm", "CDISC ODM 1.3.2 XML"
        CASEBOOK = "casebook", "Subject casebook (PDF/A-2b)"
        ARCHIVE = "archive", "Site archive (ZIP: casebooks, CSV, ODM, manifest)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Complete"
        FAILED = "failed", "Failed"

    format = models.CharField(max_length=8, choices=Format.choices, default=Format.CSV)
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
    # The subject of a casebook; the site of an archive (and of a casebook: its subject's).
    subject = models.ForeignKey(
        "crf.Subject", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    site = models.ForeignKey(
        "crf.Site", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # What data the file shows, printed on every casebook page: "Live data as of 2026-11-30
    # 18:02 CET" (set when the writing starts), or the label of the data freeze it was read from.
    # (A nullable reference to that freeze belongs next to this label.)
    basis_label = models.CharField("data basis", max_length=200, blank=True)
    # An archive's MANIFEST.sha256: the SHA-256 of the manifest file itself.
    manifest_sha256 = models.CharField("manifest SHA-256", max_length=64, blank=True)
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
    # The freeze whose data it holds; empty for the live data.
    freeze = models.ForeignKey(
        "Freeze", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

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


class ReportDataVersion(models.Model):
    """How often the data the study reports count have changed at one site: bumped in the
    transaction of every such save (exports.stored_reports.data_changed), so a stored report
    computed at an older version is known to be stale. One row per site, so that saves at
    different sites do not wait on each other's row."""

    site = models.OneToOneField(
        "crf.Site", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    version = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Report data of site {self.site_id}: version {self.version}"


class StoredReport(models.Model):
    """The study report of one scope (the sorted site numbers it covers and the AE period),
    computed by the worker (exports.tasks.compute_report) and read by the report pages: its
    JSON, each section's HTML, each plot's SVG and PNG, and the data versions of its sites when
    it was computed. Empty (computed_at null) while the first computation is waiting."""

    site_numbers = models.CharField(max_length=200)  # "1,2,3,4"
    period = models.CharField(max_length=16)
    # {"site number": version} of exports.ReportDataVersion, read before the data.
    data_versions = models.JSONField(default=dict)
    as_of = models.DateField(null=True, blank=True)  # the study day the report counts to
    # settings.REPORT_SMALL_GROUP_PATIENTS when computed (a new limit makes it stale).
    small_group_limit = models.PositiveIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    # When a computation was last asked for (a page enqueues at most once a minute).
    requested_at = models.DateTimeField(null=True, blank=True)
    # protocol.reports.report_json (its dates as ISO text, as the JSON page writes them)
    report = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    counts_only = models.TextField(blank=True)  # why values are withheld, if they are
    sections = models.JSONField(default=dict)  # {section slug: HTML of its body}
    # The freeze it counts (computed once: frozen data do not change); empty for the live data.
    freeze = models.ForeignKey(
        "Freeze", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site_numbers", "period", "freeze"],
                name="stored_report_scope",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"Report of sites {self.site_numbers} ({self.period})"


class StoredReportPlot(models.Model):
    """One plot of a stored report: the SVG to download, the SVG inlined in the page (without
    its stylesheet) and the PNG."""

    report = models.ForeignKey(StoredReport, on_delete=models.CASCADE, related_name="plots")
    name = models.CharField(max_length=20)
    svg = models.TextField()
    inline_svg = models.TextField()
    png = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["report", "name"], name="stored_report_plot")
        ]

    def __str__(self) -> str:
        return f"{self.name} of {self.report}"


class Freeze(AuditedModel):
    """A data freeze: a consistent copy of every clinical table and its history (and the users
    they name, without passwords), taken in one PostgreSQL transaction into a schema of its own
    that refuses writes, with the SHA-256 of its content. Reports, exports and the API read it
    "as of" the freeze (exports.freezes.reading); a freeze is never changed or deleted."""

    name = models.CharField(max_length=100, unique=True)
    reason = models.TextField("reason for freezing")
    # The site numbers it covers; empty for the whole study.
    site_numbers = models.JSONField(default=list, blank=True)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    frozen_at = models.DateTimeField()
    # The study day (the site's date) the frozen reports count to.
    as_of = models.DateField()
    schema = models.CharField(max_length=63, unique=True)
    # [[table, rows, sha256 of its rows, [columns]], ...] in table-name order.
    tables = models.JSONField(default=list)
    sha256 = models.CharField("SHA-256", max_length=64)

    class Meta:
        ordering = ["-frozen_at", "-id"]

    def __str__(self) -> str:
        return f"Freeze {self.name!r}"

    @property
    def rows(self) -> int:
        return sum(row[1] for row in self.tables)


class StudyLock(AuditedModel):
    """The study locked as a whole after its last freeze (database lock): no clinical write on
    any route while active. Signed by a data manager; released only by a second data manager
    after a first asked for it with a reason."""

    MEANING = (
        "I lock the study database: its data are final as frozen, and no change is made "
        "until the lock is released."
    )

    freeze = models.ForeignKey(Freeze, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField("reason for locking")
    meaning = models.TextField()
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField()
    active = models.BooleanField(default=True)
    unlock_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unlock_requested_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-locked_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=models.Q(active=True), name="one_active_study_lock"
            )
        ]

    def __str__(self) -> str:
        return f"Study lock of {self.locked_at:%Y-%m-%d}" + ("" if self.active else " (released)")
