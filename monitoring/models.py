"""What monitors and data managers add to the trial data: queries, source data verification,
locks and investigator signatures. Each is audited like the data it concerns."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.text import capfirst

from audit.models import AuditedModel
from audit.naming import moment_text
from crf.models import EditCheckConfirmation, Site, Subject
from crf.records import record_name


class Query(AuditedModel):
    """A question about one field (or a whole record) of a subject's data, and its answer."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"

    class Origin(models.TextChoices):
        MANUAL = "manual", "Raised by a monitor or data manager"
        EDIT_CHECK = "edit_check", "Soft edit check overridden at entry"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="queries")
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name="kind of record"
    )
    object_id = models.PositiveBigIntegerField("record")
    record = GenericForeignKey("content_type", "object_id")
    # The model field's name; empty when the query is about the record as a whole.
    field_name = models.CharField("field (name in the data)", max_length=100, blank=True)
    field_label = models.CharField("field", max_length=200, blank=True)
    text = models.TextField("question")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.MANUAL)
    edit_check = models.OneToOneField(
        EditCheckConfirmation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="query",
    )
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="queries_opened"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "queries"
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id"]),
            models.Index(fields=["subject", "status"]),
            models.Index(fields=["status", "opened_at"]),
        ]

    def __str__(self) -> str:
        where = self.field_label or "the whole record"
        return f"Query on {where} of {self.record} ({self.get_status_display().lower()})"


class QueryMessage(models.Model):
    """One step of a query's conversation: opened, answered, closed, re-opened. Append-only."""

    class Action(models.TextChoices):
        OPENED = "opened", "Opened"
        ANSWERED = "answered", "Answered"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Re-opened"

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    action = models.CharField(max_length=10, choices=Action.choices)
    text = models.TextField(blank=True)
    # True when the answer came with a change of the queried value (saved in the same step).
    value_changed = models.BooleanField(default=False)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.author} at {self.at:%Y-%m-%d %H:%M}"


class SourceVerification(AuditedModel):
    """A monitor's mark that a record (or some of its fields) matches the source documents.

    Bound to the verified content by a hash: a later change of a verified field makes the mark
    stale ("changed after verification"), whatever route the change took.
    """

    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="source_verifications"
    )
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name="kind of record"
    )
    object_id = models.PositiveBigIntegerField("record")
    record = GenericForeignKey("content_type", "object_id")
    # Model field names verified; empty means the whole record.
    fields = models.JSONField(default=list, blank=True)
    content_hash = models.CharField(max_length=64)
    record_version = models.PositiveIntegerField()
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField(default=timezone.now)
    # A mark the monitor withdrew (e.g. verified by mistake); changes do not withdraw marks.
    withdrawn = models.BooleanField(default=False)

    class Meta:
        verbose_name = "source data verification"
        ordering = ["-verified_at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id"]),
            models.Index(fields=["subject", "withdrawn"]),
        ]

    def __str__(self) -> str:
        return f"SDV of {self.record} by {self.verified_by.get_username()}"

    @property
    def field_labels(self) -> list[str]:
        """The verified fields as the record's form labels them ("Weight (kg)")."""
        model = ContentType.objects.get_for_id(self.content_type_id).model_class()
        names = {f.name: f for f in model._meta.get_fields()} if model else {}
        return [
            capfirst(str(names[n].verbose_name))
            if n in names and hasattr(names[n], "verbose_name")
            else n
            for n in self.fields
        ]


class Lock(AuditedModel):
    """A data manager's lock on a site, a subject or one record: locked data refuses edits."""

    class Level(models.TextChoices):
        SITE = "site", "Site"
        SUBJECT = "subject", "Subject"
        FORM = "form", "Form"

    level = models.CharField(max_length=10, choices=Level.choices)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    subject = models.ForeignKey(
        Subject, null=True, blank=True, on_delete=models.PROTECT, related_name="locks"
    )
    content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="kind of record",
    )
    object_id = models.PositiveBigIntegerField("record", null=True, blank=True)
    record = GenericForeignKey("content_type", "object_id")
    reason = models.TextField("reason for locking")
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)
    unlocked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unlocked_at = models.DateTimeField(null=True, blank=True)
    unlock_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-locked_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level="site", site__isnull=False, subject__isnull=True)
                    | Q(level="subject", subject__isnull=False)
                    | Q(level="form", subject__isnull=False, object_id__isnull=False)
                ),
                name="lock_level_has_its_target",
            ),
        ]
        indexes = [models.Index(fields=["active", "level"])]

    def __str__(self) -> str:
        if self.level == self.Level.SITE:
            return f"Lock of site {self.site}"
        if self.level == self.Level.SUBJECT:
            return f"Lock of subject {self.subject.study_id}"
        return f"Lock of {record_name(self.record) if self.record else 'a record'}"


class Signature(AuditedModel):
    """An investigator's electronic signature of a subject's casebook or of one record.

    `content_hash` binds it to what was signed: the signature is valid while the current content
    hashes to the same value, and shown as invalid as soon as anything signed changes.
    """

    MEANING = "I approve the data of this casebook"
    FORM_MEANING = "I approve the data of this form"

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="signatures")
    # Empty for a casebook signature; the record for a form signature.
    content_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="kind of record",
    )
    object_id = models.PositiveBigIntegerField("record", null=True, blank=True)
    record = GenericForeignKey("content_type", "object_id")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=200)
    signed_at = models.DateTimeField(default=timezone.now)
    content_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-signed_at", "-id"]

    def __str__(self) -> str:
        return f"Signed by {self.printed_name} on {moment_text(self.signed_at)}"
