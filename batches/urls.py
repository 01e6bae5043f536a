from django.urls import path

from batches import views

urlpatterns = [
    path("", views.home, name="home"),
    path("batches/", views.batch_list_page, name="batch-list"),
    path("products/<int:pk>/", views.product_page, name="product-page"),
    path("batches/<str:lot_number>/", views.batch_page, name="batch-page"),
    path(
        "batches/<str:lot_number>/exceptions/",
        views.rule_exception_add,
        name="batch-exception-add",
    ),
    path(
        "batches/<str:lot_number>/transition/",
        views.batch_transition_page,
        name="batch-transition",
    ),
    path("batches/<str:lot_number>/production/", views.production_edit, name="batch-production"),
    path("batches/<str:lot_number>/storage/", views.storage_edit, name="batch-storage"),
    path(
        "batches/<str:lot_number>/isolation-steps/new/",
        views.isolation_step_new,
        name="batch-isolation-step-new",
    ),
]
