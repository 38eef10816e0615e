from django.urls import path, re_path

from . import examples, following, health, remembered, results, schema, tokens, views
from .uws.model import ID_PATTERN
from .watching import views as watching

SLUG = r"(?P<slug>[a-z0-9_-]+)"
JOB = rf"{SLUG}/async/(?P<job_id>{ID_PATTERN})"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("go", views.job_operation, name="job_operation"),
    path("mine", remembered.my_jobs, name="my_jobs"),
    path("mine/refresh", remembered.refresh, name="my_jobs_refresh"),
    path("mine/add", remembered.add, name="my_jobs_add"),
    path("mine/<int:pk>/note", remembered.note, name="my_jobs_note"),
    path("mine/<int:pk>/forget", remembered.forget, name="my_jobs_forget"),
    re_path(r"^mine/export\.(?P<kind>json|csv)$", following.export, name="my_jobs_export"),
    path("mine/import", following.import_jobs, name="my_jobs_import"),
    path("mine/link", following.make_link, name="my_jobs_link"),
    path("mine/link/revoke", following.revoke_links, name="my_jobs_link_revoke"),
    path("mine/attach", following.attach, name="my_jobs_attach"),
    path("mine/email", watching.email, name="watching_email"),
    path("mine/desktop", watching.desktop, name="watching_desktop"),
    path("mine/notices", watching.banners, name="watching_banners"),
    path("mine/notices/<int:pk>/seen", watching.seen, name="watching_seen"),
    path("mine/confirm/<str:token>", watching.confirm, name="watching_confirm"),
    path("mine/stop/<str:token>", watching.stop, name="watching_stop"),
    path("mine/keep/<str:token>", watching.keep_link, name="watching_keep_link"),
    re_path(rf"^{SLUG}/$", views.service_home, name="service_home"),
    re_path(rf"^{SLUG}/service$", views.service_info, name="service_info"),
    re_path(rf"^{SLUG}/tables$", schema.tables, name="service_tables"),
    re_path(rf"^{SLUG}/examples$", examples.examples, name="service_examples"),
    re_path(rf"^{SLUG}/token$", tokens.set_token, name="set_token"),
    re_path(rf"^{SLUG}/token/forget$", tokens.forget_token, name="forget_token"),
    re_path(rf"^{SLUG}/async$", views.job_list, name="job_list"),
    re_path(rf"^{JOB}$", views.job_detail, name="job_detail"),
    re_path(rf"^{JOB}/error$", views.job_error, name="job_error"),
    re_path(rf"^{JOB}/notify$", watching.notify, name="watching_notify"),
    re_path(rf"^{JOB}/keep$", watching.keep, name="watching_keep"),
    re_path(rf"^{JOB}/results/(?P<result_id>{ID_PATTERN})$", results.job_result, name="job_result"),
    re_path(
        rf"^{JOB}/results/(?P<result_id>{ID_PATTERN})/preview$", results.job_result_preview, name="job_result_preview"
    ),
    re_path(rf"^{JOB}/results/(?P<result_id>{ID_PATTERN})/csv$", results.job_result_csv, name="job_result_csv"),
    re_path(
        rf"^{JOB}/results/(?P<result_id>{ID_PATTERN})/script$", results.job_result_script, name="job_result_script"
    ),
    re_path(rf"^{JOB}/results/(?P<result_id>{ID_PATTERN})/limit$", results.job_result_limit, name="job_result_limit"),
    re_path(rf"^{JOB}/results/(?P<result_id>{ID_PATTERN})/plot\.png$", results.job_result_plot, name="job_result_plot"),
]
