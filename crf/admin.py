from django.contrib import admin

from audit.admin import AuditedAdmin, ReadOnlyAuditedAdmin

from .models import Membership, Site, Subject


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["number", "city", "name"]


@admin.register(Membership)
class MembershipAdmin(AuditedAdmin):
    list_display = ["user", "role", "site"]
    list_filter = ["role", "site"]
    search_fields = ["user__username"]


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAuditedAdmin):
    list_display = ["study_id", "site", "status", "day1_date"]
    list_filter = ["site", "status"]
