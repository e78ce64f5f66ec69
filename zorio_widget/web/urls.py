from django.urls import path

from zorio_widget.web import softphone, views

urlpatterns = [
    path("", views.home, name="home"),
    path("demo/", views.demo, name="demo"),
    path("demo/token", views.demo_token, name="demo-token"),
    path("demo/iframe/", views.demo_iframe, name="demo-iframe"),
    path("softphone/", softphone.softphone, name="softphone"),
    path("softphone/sw.js", softphone.service_worker, name="softphone-worker"),
]
