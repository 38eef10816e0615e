from django.urls import include, path

urlpatterns = [
    path("", include("jobs.urls")),
]

handler404 = "jobs.errors.not_found"
handler500 = "jobs.errors.server_error"
