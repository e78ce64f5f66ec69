from django.urls import path

from zorio_widget.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("demo/", views.demo, name="demo"),
    path("demo/token", views.demo_token, name="demo-token"),
]
