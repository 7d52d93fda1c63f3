from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from config import health
from portfolio import api as portfolio_api
from portfolio import views as portfolio_views

admin.site.site_header = "Maestro administration"
admin.site.site_title = "Maestro admin"

urlpatterns = [
    path("admin/", admin.site.urls),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("favicon.ico", portfolio_views.favicon),
    path("api/v1/", include("governance.api_urls")),
    path("api/v1/", include("portfolio.api_urls")),
    path("api/v1/auth/token/", portfolio_api.TokenSignInView.as_view(), name="api-token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("", include("governance.urls")),
    path("", include("portfolio.urls")),
]
