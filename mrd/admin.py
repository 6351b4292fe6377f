from django.contrib import admin

from audit.admin import ReadOnlyAuditedAdmin

from .models import MrdResult, MrdSample


@admin.register(MrdSample)
class MrdSampleAdmin(ReadOnlyAuditedAdmin):
    list_display = ["accession", "timepoint", "material", "sampled_on"]


@admin.register(MrdResult)
class MrdResultAdmin(ReadOnlyAuditedAdmin):
    list_display = ["sample", "method", "result_class", "value", "report_date"]
