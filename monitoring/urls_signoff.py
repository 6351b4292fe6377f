from django.urls import path

from . import views_signoff as views

_RECORD = "subjects/<str:study_id>/records/<int:ct>/<int:pk>"

urlpatterns = [
    path("locks/", views.lock_list, name="locks"),
    path("locks/<int:pk>/unlock/", views.unlock, name="unlock"),
    path("subjects/<str:study_id>/lock/", views.lock_subject, name="lock_subject"),
    path(f"{_RECORD}/lock/", views.lock_record, name="lock_form"),
    path("subjects/<str:study_id>/sign/", views.sign_casebook, name="sign_casebook"),
    path(f"{_RECORD}/sign/", views.sign_record, name="sign_form"),
]
