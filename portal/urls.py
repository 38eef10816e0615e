from django.urls import include, path

urlpatterns = [
    path("", include("jobs.urls")),
]

handler404 = "jobs.error_pages.not_found"
handler500 = "jobs.error_pages.server_error"
