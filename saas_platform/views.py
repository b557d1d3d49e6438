from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def platform_home(request: HttpRequest) -> HttpResponse:
    return render(request, "platform/home.html")
