from django.urls import path

from . import views

app_name = "safety"
urlpatterns = [
    path("subjects/<str:study_id>/labs/", views.subject_labs, name="labs"),
    path("subjects/<str:study_id>/labs/values/<int:pk>/", views.lab_value_edit, name="lab_value"),
    path("lab-ranges/", views.lab_ranges, name="lab_ranges"),
    path("lab-ranges/site-<int:number>/", views.lab_ranges_site, name="lab_ranges_site"),
    path(
        "subjects/<str:study_id>/adverse-events/",
        views.subject_adverse_events,
        name="adverse_events",
    ),
    path(
        "subjects/<str:study_id>/adverse-events/new/",
        views.adverse_event_form,
        name="adverse_event_new",
    ),
    path(
        "subjects/<str:study_id>/adverse-events/<int:pk>/",
        views.adverse_event_form,
        name="adverse_event",
    ),
    path(
        "subjects/<str:study_id>/adverse-events/<int:pk>/follow-up/",
        views.sae_follow_up,
        name="sae_follow_up",
    ),
    path("safety/summary/", views.ae_summary, name="ae_summary"),
    path("safety/sae/", views.sae_overview, name="sae"),
]
