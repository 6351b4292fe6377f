from django.urls import path

from . import views_data

urlpatterns = [
    path("exports/", views_data.export_list, name="list"),
    path("exports/start/", views_data.export_start, name="start"),
    path("exports/casebook/<str:study_id>/", views_data.casebook_start, name="casebook_start"),
    path("exports/archive/", views_data.archive_start, name="archive_start"),
    path("exports/<int:pk>/", views_data.export_detail, name="detail"),
    path("exports/<int:pk>/download/", views_data.export_download, name="download"),
]
