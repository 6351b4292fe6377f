from django.urls import path

from . import views

app_name = "alerts"
urlpatterns = [
    path("alerts/", views.inbox, name="inbox"),
    path("alerts/<int:pk>/", views.alert_detail, name="detail"),
    path("subjects/<str:study_id>/decisions/new/", views.decision_form, name="decision"),
]
