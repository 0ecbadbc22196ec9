from django.urls import path
from rest_framework.decorators import api_view
from rest_framework.response import Response
from rest_framework_simplejwt.views import (
    TokenBlacklistView,
    TokenObtainPairView,
    TokenRefreshView,
    TokenVerifyView,
)


@api_view(["GET"])
def me(request):
    """The protected view: JWTAuthentication + IsAuthenticated (the REST_FRAMEWORK defaults)."""
    return Response({"id": request.user.id, "username": request.user.get_username()})


urlpatterns = [
    path("api/token/", TokenObtainPairView.as_view()),
    path("api/token/refresh/", TokenRefreshView.as_view()),
    path("api/token/verify/", TokenVerifyView.as_view()),
    path("api/token/blacklist/", TokenBlacklistView.as_view()),
    path("api/me/", me),
]
