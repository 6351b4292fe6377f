"""Personal API tokens, the responses kept for idempotent posts, and the per-token request
counters of the rate limit."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class ApiToken(models.Model):
    """A personal token: it acts as its user, within the user's roles and sites, narrowed to one
    site if `site` is set, and to reading if its scope is read. Only a SHA-256 digest of the
    secret is kept; the token is shown once, when created."""

    class Scope(models.TextChoices):
        READ = "read", "Read"
        READ_WRITE = "read_write", "Read and write"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for (e.g. 'LIMS').")
    # The public part of the token (its first characters): how people and the events name it.
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True)  # SHA-256 of the whole token, hex
    scope = models.CharField(max_length=10, choices=Scope.choices, default=Scope.READ)
    site = models.ForeignKey(
        "crf.Site",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Only this site's data (empty: every site the account reaches).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def label(self) -> str:
        return f"token '{self.name}' ({self.prefix}…)"


class IdempotentResponse(models.Model):
    """The answer given to a write that carried an Idempotency-Key: the same key from the same
    account is answered again with it, and nothing is written twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    key = models.CharField(max_length=200)
    request_digest = models.CharField(max_length=64)  # method, path and body: a key reused
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_once_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status_code})"


class TokenRequestCount(models.Model):
    """Requests made with a token in one minute (the rate limit)."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "minute"], name="one_count_per_token_minute")
        ]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.requests}"
