from django.urls import path

from . import views_reports as views

urlpatterns = [
    path("reports/", views.report_page, name="report"),
    path("reports/report.json", views.report_json, name="report_json"),
    path("reports/plots/<slug:name>.<slug:fmt>", views.report_plot, name="report_plot"),
    path("reports/<slug:section>/", views.report_page, name="report_section"),
    path("reports/<slug:section>.json", views.report_json, name="report_section_json"),
]
