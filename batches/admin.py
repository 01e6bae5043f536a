"""The admin of labs, members, products and batches.

Every change to lab data goes through a service (`batches.services`), which checks roles,
locks, asks for reasons and writes the audit trail in one transaction. So the admin
edits only what a service can write (labs, members, products), and it writes through
that service; batches, their parts and the audit trail are read-only here.

Quantities are shown as one value with its unit (`QuantityValue`), never as their four
columns (`<name>_value`, `_unit`, `_canonical`, `_reported`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import capfirst

from assays.models import AssayRun
from batches.models import (
    Aliquot,
    AuditEvent,
    Batch,
    BatchParent,
    CellSource,
    CheckSweep,
    EngineeringStep,
    GuidelineCheck,
    IsolationStep,
    Lab,
    LabMembership,
    Product,
    ProductionRun,
    ReportingGap,
    RuleException,
    SourceSample,
    Storage,
)
from batches.services import (
    PRODUCT_FIELDS,
    lab_create,
    lab_member_remove,
    lab_member_set,
    product_create,
    product_update,
)
from evqc.exceptions import BatchErrorCode, EVQCError
from evqc.fields import QuantityField

# What the admin shows for an empty value (AdminSite.empty_value_display).
EMPTY = "-"

Shown = str | Callable[[Any], str]


# Quantities: one column each, value with its unit
# ------------------------------------------------------------------------------


def quantity_fields(model: type[models.Model]) -> list[QuantityField]:
    """The model's quantities (private fields over four columns each)."""
    return [field for field in model._meta.private_fields if isinstance(field, QuantityField)]


def quantity(model: type[models.Model], name: str, *, detail: bool = False) -> Callable:
    """A read-only admin column showing the quantity `name` as "2.1e+11 particle/mL",
    ordered by its canonical value; on a detail page (`detail`) it adds the text as
    reported when that differs."""
    field = model._meta.get_field(name)
    if not isinstance(field, QuantityField):
        raise ImproperlyConfigured(f"{model.__name__}.{name} is not a QuantityField.")

    @admin.display(description=field.verbose_name, ordering=f"{name}_canonical")
    def show(row: models.Model) -> str:
        value = getattr(row, name)
        if value is None:
            return EMPTY
        if detail and value.reported and value.reported != str(value):
            return f'{value} (reported as "{value.reported}")'
        return str(value)

    show.__name__ = name  # the column's CSS class, as for the field itself
    return show


def detail_fields(model: type[models.Model], *, without: Iterable[str] = ()) -> tuple[Shown, ...]:
    """A row's fields in model order for its read-only page: each quantity as one value
    with its unit in place of its four columns; the primary key and `without` left out."""
    first_columns = {f"{field.name}_value": field.name for field in quantity_fields(model)}
    columns = {
        f"{field.name}_{suffix}" for field in quantity_fields(model) for suffix in field.columns
    }
    skipped = set(without)
    shown: list[Shown] = []
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in skipped:
            continue
        if field.name in first_columns:
            name = first_columns[field.name]
            if name not in skipped:
                shown.append(quantity(model, name, detail=True))
        elif field.name not in columns:
            shown.append(field.name)
    return tuple(shown)


# Read-only admins for lab data
# ------------------------------------------------------------------------------


class ReadOnlyMixin:
    """No add, change or delete: lab data changes only through the services, which
    check roles, lock, require reasons and audit. Viewing keeps Django's permissions."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """A read-only model admin whose page shows every field, quantities with units.

    `fields` defaults to `detail_fields(model)` minus `hidden_fields`; everything shown
    is read-only. `related` is select_related on the row's page as well as the list.
    """

    hidden_fields: tuple[str, ...] = ()
    related: tuple[str, ...] = ()

    def __init__(self, model: type[models.Model], admin_site: admin.AdminSite) -> None:
        super().__init__(model, admin_site)
        if self.fields is None and self.fieldsets is None:
            self.fields = detail_fields(model, without=self.hidden_fields)
        shown = tuple(self.fields or ())
        self.readonly_fields = tuple(dict.fromkeys((*self.readonly_fields, *shown)))
        if not self.list_select_related and self.related:
            self.list_select_related = self.related

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related(*self.related)


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    """A read-only table of a row's parts, each linking to its own page. `related` is
    select_related (include the parent: each row's label names it)."""

    extra = 0
    can_delete = False
    show_change_link = True
    related: tuple[str, ...] = ()

    def __init__(self, parent_model: type[models.Model], admin_site: admin.AdminSite) -> None:
        super().__init__(parent_model, admin_site)
        self.readonly_fields = tuple(dict.fromkeys((*self.readonly_fields, *(self.fields or ()))))

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related(*self.related)


def batch_lot(path: str, *, description: str = "batch") -> Callable[[Any], str]:
    """A column with the lot number of the batch at `path` (e.g. "assay_run__batch"),
    which the list selects with the row."""

    @admin.display(description=description, ordering=f"{path}__lot_number")
    def lot(row: models.Model) -> str:
        target: Any = row
        for step in path.split("__"):
            target = getattr(target, step)
        return target.lot_number

    lot.__name__ = "batch_lot"
    return lot


# Batches and their parts
# ------------------------------------------------------------------------------


class IsolationStepInline(ReadOnlyInline):
    model = IsolationStep
    fields = (
        "order",
        "method",
        "purpose",
        "performed_at",
        quantity(IsolationStep, "input_volume"),
        quantity(IsolationStep, "output_volume"),
        "notes",
    )
    related = ("batch",)


class EngineeringStepInline(ReadOnlyInline):
    model = EngineeringStep
    fields = (
        "position",
        "method",
        "cargo",
        "cargo_type",
        quantity(EngineeringStep, "cargo_amount"),
        quantity(EngineeringStep, "loading_efficiency"),
        "surface_modification",
    )
    related = ("batch",)


class AliquotInline(ReadOnlyInline):
    model = Aliquot
    fields = (
        "label",
        quantity(Aliquot, "volume"),
        "location",
        quantity(Aliquot, "freeze_thaw_cycles"),
        "status",
    )
    related = ("batch",)


class AssayRunInline(ReadOnlyInline):
    model = AssayRun
    fields = (
        "position",
        "method",
        "performed_at",
        "sample_stage",
        "instrument",
        "operator",
        quantity(AssayRun, "dilution_factor"),
    )
    related = ("batch", "instrument")


@admin.register(Batch)
class BatchAdmin(ReadOnlyAdmin):
    list_display = (
        "lot_number",
        "product",
        "lab",
        "status",
        "source_kind",
        "cell_source",
        "created_at",
    )
    list_filter = ("lab", "status", "product", "source_kind")
    search_fields = ("lot_number", "product__code", "product__name", "cell_source__name")
    date_hierarchy = "created_at"
    related = ("lab", "product", "cell_source", "created_by")
    inlines = (IsolationStepInline, EngineeringStepInline, AliquotInline, AssayRunInline)


@admin.register(CellSource)
class CellSourceAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "lab",
        "species",
        "cell_type",
        "cell_line",
        "mycoplasma_status",
        "created_at",
    )
    list_filter = ("lab", "mycoplasma_status")
    search_fields = ("name", "cell_line", "cell_type", "donor")
    related = ("lab",)


@admin.register(SourceSample)
class SourceSampleAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        "kind",
        "material",
        "tissue",
        "species",
        quantity(SourceSample, "collection_volume"),
        "collected_at",
    )
    list_filter = ("batch__lab", "kind", "material")
    search_fields = ("batch__lot_number", "subject", "tissue")
    related = ("batch",)


@admin.register(ProductionRun)
class ProductionRunAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        "vessel_type",
        "base_medium",
        quantity(ProductionRun, "cell_count_at_harvest"),
        quantity(ProductionRun, "viability_at_harvest"),
        quantity(ProductionRun, "harvest_volume"),
    )
    list_filter = ("batch__lab", "vessel_type", "supplement_type")
    search_fields = ("batch__lot_number", "base_medium")
    related = ("batch",)


@admin.register(IsolationStep)
class IsolationStepAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        "order",
        "method",
        "purpose",
        "performed_at",
        quantity(IsolationStep, "input_volume"),
        quantity(IsolationStep, "output_volume"),
    )
    list_filter = ("batch__lab", "method", "purpose")
    search_fields = ("batch__lot_number",)
    related = ("batch",)


@admin.register(EngineeringStep)
class EngineeringStepAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        "position",
        "method",
        "cargo",
        quantity(EngineeringStep, "cargo_amount"),
        quantity(EngineeringStep, "loading_efficiency"),
    )
    list_filter = ("batch__lab", "method")
    search_fields = ("batch__lot_number", "cargo")
    related = ("batch",)


@admin.register(Storage)
class StorageAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        quantity(Storage, "temperature"),
        "buffer",
        "container",
        quantity(Storage, "fill_volume"),
        quantity(Storage, "freeze_thaw_cycles"),
        "stored_at",
    )
    list_filter = ("batch__lab",)
    search_fields = ("batch__lot_number", "buffer", "container")
    related = ("batch",)


@admin.register(Aliquot)
class AliquotAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        "label",
        quantity(Aliquot, "volume"),
        "location",
        quantity(Aliquot, "freeze_thaw_cycles"),
        "status",
    )
    list_filter = ("batch__lab", "status")
    search_fields = ("batch__lot_number", "label", "location")
    related = ("batch",)


@admin.register(BatchParent)
class BatchParentAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("child", description="batch"),
        "relation",
        batch_lot("parent", description="parent"),
        quantity(BatchParent, "volume"),
    )
    list_filter = ("child__lab", "relation")
    search_fields = ("child__lot_number", "parent__lot_number")
    related = ("child", "parent")


@admin.register(RuleException)
class RuleExceptionAdmin(ReadOnlyAdmin):
    list_display = (batch_lot("batch"), "rule", "justification", "recorded_by", "created_at")
    list_filter = ("batch__lab", "rule")
    search_fields = ("batch__lot_number", "rule", "justification")
    related = ("batch", "recorded_by")


# Reporting gaps (derived by the checks; read-only like everything they derive from)
# ------------------------------------------------------------------------------


@admin.register(ReportingGap)
class ReportingGapAdmin(ReadOnlyAdmin):
    list_display = (batch_lot("batch"), "rule_id", "status", "severity", "title", "checked_at")
    list_filter = ("batch__lab", "catalogue", "status", "severity", "rule_id")
    search_fields = ("batch__lot_number", "rule_id", "title")
    related = ("batch", "exception")


@admin.register(GuidelineCheck)
class GuidelineCheckAdmin(ReadOnlyAdmin):
    list_display = (
        batch_lot("batch"),
        "catalogue",
        "applicable",
        "fulfilled",
        "excepted",
        "gaps",
        "warnings",
        "checked_at",
    )
    list_filter = ("batch__lab", "catalogue")
    search_fields = ("batch__lot_number",)
    related = ("batch",)


@admin.register(CheckSweep)
class CheckSweepAdmin(ReadOnlyAdmin):
    list_display = ("started_at", "finished_at", "total", "checked", "failed")


# The audit trail
# ------------------------------------------------------------------------------


def _json(value: Any) -> SafeString | str:
    if value is None:
        return EMPTY
    # format_html escapes the JSON text: snapshots hold whatever people typed.
    return format_html(
        "<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True)
    )


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = (
        "occurred_at",
        "actor_name",
        "action",
        "object_type",
        "object_repr",
        "batch_lot",
        "reason",
    )
    list_filter = ("action", "lab")
    search_fields = ("object_repr", "actor_name", "reason")
    date_hierarchy = "occurred_at"
    # One event per change: the trail outgrows every other table, so count only what
    # is filtered.
    show_full_result_count = False
    fields = (
        "occurred_at",
        "actor",
        "actor_name",
        "action",
        "lab",
        "batch_lot",
        "object_type",
        "object_id",
        "object_repr",
        "reason",
        "before_json",
        "after_json",
    )
    # The batch is joined, not fetched: its id has no constraint, so the trail of a
    # deleted batch still lists (with a None batch).
    related = ("batch", "lab", "actor")

    @admin.display(description="batch", ordering="batch__lot_number")
    def batch_lot(self, event: AuditEvent) -> str:
        if event.batch is not None:
            return event.batch.lot_number
        return f"#{event.batch_id} (deleted)" if event.batch_id else EMPTY

    @admin.display(description="before")
    def before_json(self, event: AuditEvent) -> SafeString | str:
        return _json(event.before)

    @admin.display(description="after")
    def after_json(self, event: AuditEvent) -> SafeString | str:
        return _json(event.after)


# Labs, members and products: edited through their services
# ------------------------------------------------------------------------------


class ServiceForm(forms.ModelForm):
    """A model form that saves by calling a service once the form is valid.

    The call is part of validation (after the model's own checks), so a domain refusal
    (`EVQCError`) comes back as an error on the field it names, or on the form; the
    service's own transaction keeps a refused change out of the database. `acting_user`
    is set per request by `ServiceAdmin.get_form`. A form with inline formsets must not
    use this: an invalid formset would not undo the call.
    """

    acting_user: Any = None
    # Refusals about who may do this belong beside the lab being changed.
    role_field: ClassVar[str] = "lab"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if field.label:
                field.label = capfirst(field.label)

    def save_through_service(self) -> models.Model:
        """Call the service with the cleaned data; return the row it saved."""
        raise NotImplementedError

    def _post_clean(self) -> None:
        super()._post_clean()
        if self.errors:
            return
        if self.acting_user is None:
            raise ImproperlyConfigured(f"{type(self).__name__} needs acting_user to save.")
        try:
            self.instance = self.save_through_service()
        except EVQCError as error:
            self.add_error(self._field_of(error), error.message)

    def _field_of(self, error: EVQCError) -> str | None:
        named = [*error.extra.get("fields", {}), error.extra.get("field")]
        if error.code in (BatchErrorCode.NOT_A_MEMBER, BatchErrorCode.ROLE_TOO_LOW):
            named.insert(0, self.role_field)
        if error.code == BatchErrorCode.REASON_REQUIRED:
            named.insert(0, "reason")
        return next((name for name in named if name in self.fields), None)


class ServiceAdmin(admin.ModelAdmin):
    """An admin whose forms (`ServiceForm`) save through a service: the form already
    saved when the admin would, so `save_model` does nothing."""

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form)(form.__name__, (form,), {"acting_user": request.user})

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Saved by the form's service call during validation."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Bulk deletion would bypass the per-row service (and its refusals).
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


class LabForm(ServiceForm):
    class Meta:
        model = Lab
        fields = ("code", "name")

    def save_through_service(self) -> Lab:
        return lab_create(
            code=self.cleaned_data["code"],
            name=self.cleaned_data["name"],
            acting_user=self.acting_user,
        )


@admin.register(Lab)
class LabAdmin(ServiceAdmin):
    """Labs are created by site administrators (`lab_create`); there is no service that
    changes or deletes a lab, so neither can the admin."""

    form = LabForm
    list_display = ("code", "name", "created_at")
    search_fields = ("code", "name")
    readonly_fields = ("created_at", "updated_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LabMembershipForm(ServiceForm):
    class Meta:
        model = LabMembership
        fields = ("lab", "user", "role")

    def save_through_service(self) -> LabMembership:
        if self.instance.pk is not None and not self.has_changed():
            return self.instance  # nothing to audit
        # On the change page lab and user are read-only: only the role changes.
        lab = self.cleaned_data.get("lab") or self.instance.lab
        user = self.cleaned_data.get("user") or self.instance.user
        return lab_member_set(
            lab, user, role=self.cleaned_data["role"], acting_user=self.acting_user
        )


@admin.register(LabMembership)
class LabMembershipAdmin(ServiceAdmin):
    """Members are set with `lab_member_set` and removed with `lab_member_remove` (lab
    admins or site administrators; a lab keeps at least one admin)."""

    form = LabMembershipForm
    list_display = ("user", "lab", "role", "updated_at")
    list_filter = ("lab", "role")
    search_fields = ("user__username", "user__first_name", "user__last_name", "lab__code")
    list_select_related = ("lab", "user")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("lab", "user") if obj is not None else ()

    def delete_model(self, request: HttpRequest, obj: LabMembership) -> None:
        lab_member_remove(obj.lab, obj.user, acting_user=request.user)

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        # The view's transaction is rolled back by the refusal (the admin's log entry
        # too); the member stays, and the admin user reads why.
        try:
            return super().delete_view(request, object_id, extra_context)
        except EVQCError as error:
            self.message_user(request, error.message, messages.ERROR)
            url = reverse("admin:batches_labmembership_change", args=[object_id])
            return HttpResponseRedirect(url)


class ProductCreateForm(ServiceForm):
    class Meta:
        model = Product
        fields = ("lab", "code", *PRODUCT_FIELDS)

    def save_through_service(self) -> Product:
        data = self.cleaned_data
        details = {name: data[name] for name in PRODUCT_FIELDS if name != "name"}
        return product_create(
            data["lab"],
            code=data["code"],
            name=data["name"],
            acting_user=self.acting_user,
            **details,
        )


class ProductChangeForm(ServiceForm):
    """A product change with its reason (kept in the audit trail) and the version the
    form was loaded at, so a change made meanwhile by someone else is a conflict, not
    silently overwritten."""

    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why the product changes; kept in the audit trail.",
    )
    expected_version = forms.IntegerField(widget=forms.HiddenInput)

    class Meta:
        model = Product
        fields = PRODUCT_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["expected_version"].initial = self.instance.version

    def save_through_service(self) -> Product:
        changes = {
            name: self.cleaned_data[name] for name in PRODUCT_FIELDS if name in self.changed_data
        }
        if not changes:
            return self.instance  # nothing to audit
        return product_update(
            self.instance,
            changes=changes,
            expected_version=self.cleaned_data["expected_version"],
            acting_user=self.acting_user,
            reason=self.cleaned_data["reason"],
        )


@admin.register(Product)
class ProductAdmin(ServiceAdmin):
    """Products are created with `product_create` and changed with `product_update`
    (lab admins; a change needs a reason). Products are never deleted: batches keep
    pointing at them."""

    list_display = ("code", "name", "lab", "product_class", "route", "version", "updated_at")
    list_filter = ("lab", "product_class", "route")
    search_fields = ("code", "name")
    list_select_related = ("lab",)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        kwargs["form"] = ProductCreateForm if obj is None else ProductChangeForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["lab", "code", *PRODUCT_FIELDS]
        return ["lab", "code", *PRODUCT_FIELDS, "version", "reason", "expected_version"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return ("lab", "code", "version") if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
