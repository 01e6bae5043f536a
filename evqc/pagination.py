"""Pages of every API list (DEFAULT_PAGINATION_CLASS). Its own module: DRF reads that
setting while importing its generic views, so the class must not live beside viewsets."""

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`?page=2`, 50 rows unless `?page_size=` asks for up to 1000 (a larger page size is
    cut to 1000, not refused)."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000
