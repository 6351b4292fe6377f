from django.contrib import admin
from django.urls import include, path

from accounts.views import admin_login
from api.v1 import urlpatterns as api_v1_urls
from crf import views as crf_views

from . import views
from .health import healthz

admin.site.site_header = "BlinaCell eCRF administration"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", healthz, name="healthz"),
    path("protocol/", crf_views.protocol_page, name="protocol"),
    path("accounts/", include("accounts.urls")),
    path("accounts/api-tokens/", include("api.urls")),
    path("api/v1/", api_v1_urls()),
    path("", include("mrd.urls")),
    path("", include("safety.urls")),
    path("", include("alerts.urls")),
    path("", include("monitoring.urls")),
    path("", include("exports.urls")),
    path("subjects/", include("crf.urls")),
    path("admin/login/", admin_login),
    path("admin/", admin.site.urls),
]
