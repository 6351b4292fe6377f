from django.contrib.auth import views as auth_views
from django.urls import path

from . import views, views_two_factor

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("keepalive/", views.keepalive, name="keepalive"),
    path("two-factor/", views_two_factor.two_factor, name="two_factor"),
    path("two-factor/verify/", views_two_factor.two_factor_verify, name="two_factor_verify"),
]
