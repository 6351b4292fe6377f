from django.conf import settings
from django.db import models


class AccountEvent(models.Model):
    """A login, a failed login, a lockout, a logout, a password change or a signature attempt.

    Append-only."""

    class Kind(models.TextChoices):
        LOGIN = "login", "Login"
        LOGIN_FAILED = "login_failed", "Failed login"
        LOCKED_OUT = "locked_out", "Locked out"
        LOGOUT = "logout", "Logout"
        PASSWORD_CHANGED = "password_changed", "Password changed"
        SIGNED = "signed", "Signature"
        SIGNATURE_FAILED = "signature_failed", "Failed signature (wrong password)"

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

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.get_kind_display()} {self.username}"
