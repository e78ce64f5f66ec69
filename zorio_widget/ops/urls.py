"""The operations endpoints, at the root of the site (zorio_widget/urls.py)."""

from django.urls import path

from zorio_widget.ops import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
]
