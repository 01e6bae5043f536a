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
]
