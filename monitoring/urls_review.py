from django.urls import path

from . import views_review as views

RECORD = "subjects/<str:study_id>/records/<int:ct>/<int:pk>/"

urlpatterns = [
    path(f"{RECORD}review/", views.record_review, name="record_review"),
    path(f"{RECORD}queries/new/", views.query_new, name="query_new"),
    path(f"{RECORD}verify/", views.record_verify, name="record_verify"),
    path("subjects/<str:study_id>/review/", views.subject_review, name="subject_review"),
    path("subjects/<str:study_id>/queries/<int:pk>/", views.query_detail, name="query_detail"),
    path(
        "subjects/<str:study_id>/verifications/<int:pk>/withdraw/",
        views.verification_withdraw,
        name="verification_withdraw",
    ),
    path("queries/", views.query_list, name="query_list"),
    path("sdv/", views.sdv_overview, name="sdv_overview"),
    path("sdv/changed/", views.sdv_changed, name="sdv_changed"),
]
