"""Inserting many new rows fast, for the hot paths that store thousands of results (an
instrument posting a run, a batch-record import) and never read the new rows' ids back.

Django's bulk_create builds every value through its SQL compiler: about 100 µs for a
34-column result row on SQLite, more than building, checking and judging the row. Here
each column is adapted once by a converter chosen per field (plain numbers and text go
as they are, times through the backend's own adapter, anything else through the field's
get_db_prep_save, as Django would) and the rows go in with PostgreSQL's COPY, or in
multi-row INSERTs of as many rows as SQLite takes in a statement.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, models, router
from django.utils import timezone

# Fields whose Python value the database drivers take as it is.
PLAIN = (
    models.BooleanField,
    models.CharField,
    models.FloatField,
    models.ForeignKey,
    models.IntegerField,
    models.TextField,
)


def insert_rows(model: type[models.Model], rows: Sequence[models.Model]) -> None:
    """Insert new rows of `model`, as many a statement as the backend takes; their ids are not set
    on the instances (use bulk_create when they are needed). No signals, like
    bulk_create; auto_now and auto_now_add times are filled in."""
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    converters = [_converter(field, connection) for field in fields]
    stamped = [field.attname for field in fields if _stamped(field)]
    now = timezone.now()
    values = []
    for row in rows:
        for name in stamped:
            setattr(row, name, now)
        values.append(
            [
                value if convert is None else convert(value)
                for convert, value in zip(
                    converters, (getattr(row, f.attname) for f in fields), strict=True
                )
            ]
        )
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY: the rows stream in without an SQL statement to build or parse.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        row_placeholder = f"({', '.join(['%s'] * len(fields))})"
        size = max(1, connection.ops.bulk_batch_size(fields, rows))
        for start in range(0, len(values), size):
            chunk = values[start : start + size]
            placeholders = ", ".join([row_placeholder] * len(chunk))
            sql = f"INSERT INTO {table} ({columns}) VALUES {placeholders}"  # noqa: S608 (model metadata, not input)
            cursor.execute(sql, [value for row in chunk for value in row])


def _stamped(field: models.Field[Any, Any]) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))


def _converter(field: models.Field[Any, Any], connection: Any) -> Callable[[Any], Any] | None:
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value  # type: ignore[no-any-return]
    if isinstance(field, PLAIN):
        return None
    return lambda value: field.get_db_prep_save(value, connection)
