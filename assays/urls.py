from django.urls import path

from assays import views

urlpatterns = [
    path("assay-runs/<int:pk>/", views.assay_run_page, name="assay-run-page"),
    path("assay-runs/<int:pk>/raw/", views.assay_run_raw_file, name="assay-run-raw-file"),
    path(
        "batches/<str:lot_number>/assay-runs/new/", views.assay_run_new, name="batch-assay-run-new"
    ),
    path("batches/<str:lot_number>/import/", views.import_new, name="batch-import"),
    path("imports/<int:pk>/", views.import_job_page, name="import-job-page"),
    path("imports/<int:pk>/progress/", views.import_job_progress, name="import-job-progress"),
    path("imports/<int:pk>/decision/", views.import_job_decide, name="import-job-decide"),
]
