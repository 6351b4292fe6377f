from django.conf import settings
from django.db import models


class AccountEvent(models.Model):
    """A login, a failed login, a lockout, a logout, a password change, a signature attempt, a
    second-factor step or an API token's life (creation, first use each day, refusal, revocation).

    Append-only."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Login"
        LOGIN_FAILED = "login_failed", "Failed login"
        LOCKED_OUT = "locked_out", "Locked out"
        LOGOUT = "logout", "Logout"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        SIGNED = "signed", "Signature"
        SIGNATURE_FAILED = "signature_failed", "Failed signature (wrong password)"
        TWO_FACTOR_ENROLLED = "2fa_enrolled", "Second factor enrolled"
        TWO_FACTOR_VERIFIED = "2fa_verified", "Second factor verified"
        TWO_FACTOR_FAILED = "2fa_failed", "Wrong second-factor code"
        TWO_FACTOR_REMOVED = "2fa_removed", "Second factor removed"
        RECOVERY_CODES_CREATED = "recovery_codes", "Recovery codes created"
        RECOVERY_CODE_USED = "recovery_code_used", "Recovery code used"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_USED = "token_used", "API token used (first use of the day)"
        TOKEN_REFUSED = "token_refused", "API token refused"
        TOKEN_REVOKED = "token_revoked", "API token revoked"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="account_events",
        db_constraint=False,
    )
    # The username as typed, kept even where no such user exists (a failed login).
    username = models.CharField(max_length=150, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    # What the event concerns beyond the account: which token, why it was refused.
    detail = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.get_kind_display()} {self.username}"
