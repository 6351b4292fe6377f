from django.urls import path

from . import views

app_name = "crf"
urlpatterns = [
    path("", views.subject_list, name="subject_list"),
    path("enrol/", views.subject_enrol_view, name="subject_enrol"),
    path("<str:study_id>/", views.subject_detail, name="subject_detail"),
    path("<str:study_id>/edit/", views.subject_edit, name="subject_edit"),
]
