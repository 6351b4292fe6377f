from django.urls import path

from . import views

app_name = "crf"
urlpatterns = [
    path("", views.subject_list, name="subject_list"),
    path("enrol/", views.screening_view, name="subject_enrol"),
    path("screening-log/", views.screening_log, name="screening_log"),
    path("<str:study_id>/", views.subject_detail, name="subject_detail"),
    path("<str:study_id>/edit/", views.subject_edit, name="subject_edit"),
    path("<str:study_id>/records/<slug:slug>/new/", views.record_form, name="record_new"),
    path("<str:study_id>/records/<slug:slug>/<int:pk>/", views.record_form, name="record_edit"),
    path("<str:study_id>/courses/<int:pk>/", views.course_detail, name="course"),
    path(
        "<str:study_id>/administrations/<int:pk>/",
        views.administration_form,
        name="administration",
    ),
    path("<str:study_id>/infusion/", views.infusion_log, name="infusion"),
    path("<str:study_id>/infusion/<slug:action>/", views.infusion_log, name="infusion_action"),
]
