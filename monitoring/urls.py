from django.urls import path

from . import urls_review, urls_signoff, views

app_name = "monitoring"
urlpatterns = [
    path(
        "subjects/<str:study_id>/audit-trail/",
        views.subject_audit_trail,
        name="subject_audit",
    ),
    path("audit-trail/", views.study_audit_trail, name="study_audit"),
    *urls_review.urlpatterns,
    *urls_signoff.urlpatterns,
]
