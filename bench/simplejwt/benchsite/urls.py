"""simplejwt's views at jwtd's paths, plus /hello/ and /healthz."""
from django.urls import path
from rest_framework_simplejwt.views import (
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)

from benchsite.views import HelloView, healthz

urlpatterns = [
    path("api/token/", TokenObtainPairView.as_view()),
    path("api/token/refresh/", TokenRefreshView.as_view()),
    path("api/token/verify/", TokenVerifyView.as_view()),
    path("hello/", HelloView.as_view()),
    path("healthz", healthz),
]
