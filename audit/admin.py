from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from .services import audited_save


class AuditedAdminForm(forms.ModelForm):
    reason_for_change = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when changing a saved record; kept in the audit trail.",
    )

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and not (cleaned.get("reason_for_change") or "").strip():
            self.add_error("reason_for_change", "Give a reason for this change.")
        return cleaned


class _HistoryReadOnly:
    """The history pages show old versions; they never write one back (no revert by POST)."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in ("GET", "HEAD"):
            raise PermissionDenied(
                "Old versions are not restored from the history page: correct the record "
                "through its form, with a reason for change."
            )
        return super().history_form_view(request, object_id, version_id, extra_context)


class AuditedAdmin(_HistoryReadOnly, SimpleHistoryAdmin):
    """Admin for audited records: saves go through audited_save with a reason; no deletion."""

    form = AuditedAdminForm

    def save_model(self, request, obj, form, change):
        audited_save(
            obj,
            user=request.user,
            reason=form.cleaned_data.get("reason_for_change") or "created in administration",
        )

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAuditedAdmin(_HistoryReadOnly, SimpleHistoryAdmin):
    """Clinical records are entered through the eCRF's forms; the admin only shows them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


__all__ = ["AuditedAdmin", "ReadOnlyAuditedAdmin", "admin"]
