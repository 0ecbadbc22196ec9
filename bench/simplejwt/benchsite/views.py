"""The protected demo view, as simplejwt's reference site has it."""
from django.http import JsonResponse
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.authentication import JWTAuthentication


class HelloView(APIView):
    """GET with a valid access token: {"message": "Hello, <username>!"}."""

    authentication_classes = [JWTAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"message": f"Hello, {request.user.username}!"})


def healthz(request):
    """Liveness, for the benchmark's start-up wait."""
    return JsonResponse({"status": "ok"})
