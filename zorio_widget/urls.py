from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/webphone/", include("zorio_widget.api.urls")),
    path("", include("zorio_widget.ops.urls")),
    path("", include("zorio_widget.web.urls")),
]
