from django.urls import path

from . import views

app_name = "mrd"
urlpatterns = [
    path("subjects/<str:study_id>/mrd/", views.subject_mrd, name="subject"),
    path("mrd/worklist/", views.worklist_view, name="worklist"),
    path("mrd/samples/<str:accession>/<slug:method>/", views.result_form, name="result"),
    path("mrd/upload/", views.upload_view, name="upload"),
    path("mrd/upload/template.csv", views.upload_template, name="upload_template"),
    path("mrd/upload/<int:pk>/", views.upload_preview, name="upload_preview"),
    path("mrd/upload/<int:pk>/commit/", views.upload_commit, name="upload_commit"),
    path("mrd/upload/<int:pk>/cancel/", views.upload_cancel, name="upload_cancel"),
    path("mrd/cohort/", views.cohort_view, name="cohort"),
]
