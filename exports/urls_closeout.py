from django.urls import path

from . import views_closeout

urlpatterns = [
    path("closeout/", views_closeout.closeout, name="closeout"),
    path("closeout/freeze/", views_closeout.freeze_start, name="freeze_start"),
    path("closeout/freezes/<int:pk>/", views_closeout.freeze_detail, name="freeze"),
    path("closeout/lock/", views_closeout.lock_start, name="study_lock"),
    path("closeout/unlock/ask/", views_closeout.unlock_ask, name="study_unlock_ask"),
    path("closeout/unlock/", views_closeout.unlock, name="study_unlock"),
]
