from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up (readiness of the engines is `/readyz`, issue #11)."""
    return JsonResponse({"status": "ok"})


def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "platform/home.html")
