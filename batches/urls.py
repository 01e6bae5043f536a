from django.urls import path

from batches import views

urlpatterns = [
    path("", views.home, name="home"),
]
