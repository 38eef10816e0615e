from django.urls import include, path

urlpatterns = [
    path("", include("jobs.urls")),
]

handler404 = "jobs.views.not_found"
handler500 = "jobs.views.server_error"
