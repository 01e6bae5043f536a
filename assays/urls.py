from django.urls import path

from assays import views

urlpatterns = [
    path("assay-runs/<int:pk>/", views.assay_run_page, name="assay-run-page"),
    path("assay-runs/<int:pk>/raw/", views.assay_run_raw_file, name="assay-run-raw-file"),
]
