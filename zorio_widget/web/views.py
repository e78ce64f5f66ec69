"""Pages served to browsers: the partner-style demo and the softphone iframe page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render


def home(request: HttpRequest) -> HttpResponse:
    return redirect("demo")


def demo(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/index.html")
