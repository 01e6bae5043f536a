"""Batches of EVs and how they were made: labs and their members, products, producer
cells, the upstream culture, isolation steps, engineering, storage, aliquots, lineage,
rule exceptions and the audit trail.

Rows are written only by `batches.services` (and `assays.services`), which check roles,
lock and audit; every numeric attribute is an `evqc.fields.QuantityField`. The field
names of the parts of a batch are those of the batch-record format
(`evqc.batch_record`), so a record and its rows convert field by field.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from batches.choices import (
    ALIQUOT_STATUSES,
    ENDOTOXIN_ROUTES,
    GAP_STATUSES,
    PARENT_RELATIONS,
    BatchStatus,
    IsolationMethod,
    LabRole,
    LoadingMethod,
    PreparationTerm,
    ProductClass,
    SourceKind,
    StepPurpose,
    SupplementType,
    TokenScope,
    VesselType,
    choices,
)
from evqc.fields import QuantityField
from evqc.models import TimeStampedModel

TEXT = 200


class Lab(TimeStampedModel):
    """A site or group that owns products and batches; people see only their labs' data."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=TEXT)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        help_text="IANA name, e.g. Europe/Berlin: the clock of the lab's instrument PCs, "
        "whose export files record local times without a zone.",
    )

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class LabMembership(TimeStampedModel):
    """A person's role in a lab: viewer < analyst < reviewer < admin."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="lab_memberships"
    )
    role = models.CharField(max_length=20, choices=choices(LabRole))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lab", "user"], name="%(app_label)s_%(class)s_once")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.lab}"


class Product(TimeStampedModel):
    """An EV product a lab makes, with what its release specification and storage claims
    rest on (dose and route for the endotoxin limit, storage and freeze-thaw limits)."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="products")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=TEXT)
    description = models.TextField(blank=True)
    intended_use = models.CharField(max_length=TEXT, blank=True)
    product_class = models.CharField(max_length=20, choices=choices(ProductClass), blank=True)
    preparation_term = models.CharField(
        max_length=20, choices=choices(PreparationTerm), blank=True
    )
    route = models.CharField(max_length=20, choices=ENDOTOXIN_ROUTES, blank=True)
    max_dose_volume = QuantityField("volume")
    body_weight = QuantityField("mass")
    storage_temperature = QuantityField("temperature")
    shelf_life = QuantityField("duration")
    max_freeze_thaw_cycles = QuantityField("count")
    misev_release_criterion = models.BooleanField(
        default=False, help_text="Open required MISEV gaps block release of this product."
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["lab", "code"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "code"], name="%(app_label)s_%(class)s_code")
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class CellSource(TimeStampedModel):
    """Producer cells: a cell bank or line that conditions the medium of many batches."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="cell_sources")
    name = models.CharField(max_length=TEXT)
    species = models.CharField(max_length=TEXT, blank=True)
    cell_type = models.CharField(max_length=TEXT, blank=True)
    cell_line = models.CharField(max_length=TEXT, blank=True)
    donor = models.CharField(max_length=TEXT, blank=True)
    tissue = models.CharField(max_length=TEXT, blank=True)
    authentication_method = models.CharField(max_length=TEXT, blank=True)
    authenticated_on = models.DateField(null=True, blank=True)
    mycoplasma_status = models.CharField(max_length=20, blank=True)
    mycoplasma_method = models.CharField(max_length=TEXT, blank=True)
    mycoplasma_tested_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["lab", "name"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "name"], name="%(app_label)s_%(class)s_name")
        ]

    def __str__(self) -> str:
        return self.name


class Batch(TimeStampedModel):
    """One lot of an EV product, from planning to release or rejection."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="batches")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="batches")
    lot_number = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=20, choices=choices(BatchStatus), default=BatchStatus.PLANNED, db_index=True
    )
    held_from = models.CharField(
        max_length=20,
        choices=choices(BatchStatus),
        blank=True,
        help_text="The status a quarantined batch returns to when its hold is lifted.",
    )
    source_kind = models.CharField(max_length=20, choices=choices(SourceKind), blank=True)
    cell_source = models.ForeignKey(
        CellSource, on_delete=models.PROTECT, related_name="batches", null=True, blank=True
    )
    preparation_term = models.CharField(
        max_length=20, choices=choices(PreparationTerm), blank=True
    )
    description = models.TextField(blank=True)
    evtrack_id = models.CharField(max_length=TEXT, blank=True)
    parents = models.ManyToManyField(
        "self", through="BatchParent", symmetrical=False, related_name="children"
    )
    version = models.PositiveIntegerField(default=1)
    check_pending = models.BooleanField(
        default=False, help_text="A check of this batch's reporting gaps is waiting to run."
    )
    check_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Attempts at the waiting check; reset when one succeeds."
    )
    check_failed_at = models.DateTimeField(null=True, blank=True)
    check_error = models.TextField(blank=True, help_text="Why the last check failed.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["-created_at", "lot_number"]
        verbose_name_plural = "batches"
        constraints = [
            models.CheckConstraint(
                condition=Q(cell_source__isnull=True) | Q(source_kind=SourceKind.CELL_CULTURE),
                name="%(app_label)s_%(class)s_cell_source_only_for_cell_culture",
            ),
            models.CheckConstraint(
                condition=Q(held_from="") | Q(status=BatchStatus.QUARANTINED),
                name="%(app_label)s_%(class)s_held_only_when_quarantined",
            ),
        ]

    def __str__(self) -> str:
        return self.lot_number


class BatchParent(models.Model):
    """Lineage: this batch was pooled from, or split off, another batch."""

    child = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="parent_links")
    parent = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="child_links")
    relation = models.CharField(max_length=10, choices=PARENT_RELATIONS)
    volume = QuantityField("volume")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["child", "parent"], name="%(app_label)s_%(class)s_once"
            ),
            models.CheckConstraint(
                condition=~Q(child=F("parent")), name="%(app_label)s_%(class)s_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.child} {self.relation} from {self.parent}"


class SourceSample(TimeStampedModel):
    """The biofluid or tissue a batch's EVs were separated from, and its pre-analytics."""

    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="source_sample")
    kind = models.CharField(max_length=20, choices=choices(SourceKind))
    material = models.CharField(max_length=20, blank=True)
    tissue = models.CharField(max_length=TEXT, blank=True)
    species = models.CharField(max_length=TEXT, blank=True)
    subject = models.CharField(max_length=TEXT, blank=True)
    health_status = models.CharField(max_length=TEXT, blank=True)
    age = QuantityField("duration")
    sex = models.CharField(max_length=10, blank=True)
    fasting = models.BooleanField(null=True, blank=True)
    medications = models.CharField(max_length=TEXT, blank=True)
    needle_gauge = models.CharField(max_length=TEXT, blank=True)
    tube_type = models.CharField(max_length=TEXT, blank=True)
    anticoagulant = models.CharField(max_length=10, blank=True)
    discard_tube = models.BooleanField(null=True, blank=True)
    collection_volume = QuantityField("volume")
    collected_at = models.DateTimeField(null=True, blank=True)
    processing_interval = QuantityField("duration")
    hold_temperature = QuantityField("temperature")
    tissue_mass = QuantityField("mass")
    dissociation_enzyme = models.CharField(max_length=TEXT, blank=True)
    dissociation_duration = QuantityField("duration")
    dissociation_temperature = QuantityField("temperature")
    storage_temperature = QuantityField("temperature")
    storage_duration = QuantityField("duration")
    freeze_thaw_cycles = QuantityField("count")
    free_haemoglobin = QuantityField("mass_concentration")
    notes = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind=SourceKind.CELL_CULTURE),
                name="%(app_label)s_%(class)s_not_cell_culture",
            )
        ]

    def __str__(self) -> str:
        return f"{self.material or self.tissue} of {self.batch}"


class ProductionRun(TimeStampedModel):
    """The upstream culture of a cell-culture batch: vessel, medium, cells and harvest."""

    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="production_run")
    vessel_type = models.CharField(max_length=20, choices=choices(VesselType), blank=True)
    vessel = models.CharField(max_length=TEXT, blank=True)
    surface_area = QuantityField("area")
    working_volume = QuantityField("volume")
    base_medium = models.CharField(max_length=TEXT, blank=True)
    supplement_type = models.CharField(max_length=20, choices=choices(SupplementType), blank=True)
    supplement_concentration = QuantityField("fraction")
    ev_depletion_method = models.CharField(max_length=TEXT, blank=True)
    ev_depletion_g_force = QuantityField("g_force")
    ev_depletion_duration = QuantityField("duration")
    ev_depletion_verified = models.BooleanField(null=True, blank=True)
    passage_number = QuantityField("count")
    population_doublings = QuantityField("number")
    seeding_density = QuantityField("cell_density")
    seeded_cells = QuantityField("cell_count")
    confluence_at_harvest = QuantityField("fraction")
    cell_count_at_harvest = QuantityField("cell_count")
    viability_at_harvest = QuantityField("fraction")
    viability_method = models.CharField(max_length=TEXT, blank=True)
    temperature = QuantityField("temperature")
    o2 = QuantityField("fraction", verbose_name="O2")
    co2 = QuantityField("fraction", verbose_name="CO2")
    treatment = models.CharField(max_length=TEXT, blank=True)
    conditioning_started_at = models.DateTimeField(null=True, blank=True)
    conditioning_ended_at = models.DateTimeField(null=True, blank=True)
    harvest_volume = QuantityField("volume")
    harvest_hold_duration = QuantityField("duration")
    harvest_hold_temperature = QuantityField("temperature")
    notes = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(conditioning_started_at__isnull=True)
                | Q(conditioning_ended_at__isnull=True)
                | Q(conditioning_ended_at__gte=F("conditioning_started_at")),
                name="%(app_label)s_%(class)s_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"production of {self.batch}"


class IsolationStep(TimeStampedModel):
    """One step of a batch's isolation, in order, with its method's parameters.

    `parameters` holds the method's parameter set as the batch-record format writes it
    (each quantity with value, unit, canonical value and reported text), checked by
    `evqc.batch_record.PARAMETERS[method]` on every write.
    """

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="isolation_steps")
    order = models.PositiveIntegerField()
    method = models.CharField(max_length=30, choices=choices(IsolationMethod))
    purpose = models.CharField(
        max_length=20, choices=choices(StepPurpose), default=StepPurpose.SEPARATION
    )
    performed_at = models.DateTimeField(null=True, blank=True)
    input_volume = QuantityField("volume")
    output_volume = QuantityField("volume")
    parameters = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["batch", "order"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "order"], name="%(app_label)s_%(class)s_order"
            ),
            models.CheckConstraint(
                condition=Q(order__gte=1), name="%(app_label)s_%(class)s_order_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch} step {self.order}: {self.method}"


class EngineeringStep(TimeStampedModel):
    """Cargo loading or surface modification of a batch's EVs."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="engineering_steps")
    position = models.PositiveIntegerField()
    method = models.CharField(max_length=30, choices=choices(LoadingMethod))
    cargo = models.CharField(max_length=TEXT, blank=True)
    cargo_type = models.CharField(max_length=TEXT, blank=True)
    cargo_amount = QuantityField("mass")
    surface_modification = models.CharField(max_length=TEXT, blank=True)
    voltage = QuantityField("voltage")
    duration = QuantityField("duration")
    temperature = QuantityField("temperature")
    loading_efficiency = QuantityField("fraction")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "position"], name="%(app_label)s_%(class)s_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} of {self.batch}"


class Storage(TimeStampedModel):
    """How a batch's EV preparation is kept: temperature, formulation, container, thaws."""

    batch = models.OneToOneField(Batch, on_delete=models.PROTECT, related_name="storage")
    temperature = QuantityField("temperature")
    buffer = models.CharField(max_length=TEXT, blank=True)
    cryoprotectant = models.CharField(max_length=TEXT, blank=True)
    cryoprotectant_concentration = QuantityField("fraction")
    container = models.CharField(max_length=TEXT, blank=True)
    fill_volume = QuantityField("volume")
    freeze_thaw_cycles = QuantityField("count")
    stored_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        verbose_name_plural = "storage"

    def __str__(self) -> str:
        return f"storage of {self.batch}"


class Aliquot(TimeStampedModel):
    """A portion of a batch in its own container."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="aliquots")
    label = models.CharField(max_length=40)
    volume = QuantityField("volume")
    location = models.CharField(max_length=TEXT, blank=True)
    freeze_thaw_cycles = QuantityField("count")
    status = models.CharField(max_length=20, choices=ALIQUOT_STATUSES, default="available")

    class Meta:
        ordering = ["batch", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "label"], name="%(app_label)s_%(class)s_label"
            )
        ]

    def __str__(self) -> str:
        return f"{self.batch}/{self.label}"


class RuleException(TimeStampedModel):
    """A justified exception to a reporting rule for one batch (MISEV2018 §6): the gap
    stays visible as "excepted", with who recorded it, when and why."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="rule_exceptions")
    rule = models.CharField(max_length=40)
    justification = models.TextField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["batch", "rule"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "rule"], name="%(app_label)s_%(class)s_once")
        ]

    def __str__(self) -> str:
        return f"{self.rule} excepted for {self.batch}"


class AuditEvent(models.Model):
    """Who changed what, when and why: written by the service that made the change, in
    the same transaction. Never updated or deleted.

    `batch` keeps its id without a database constraint, so the trail of a batch outlives
    the batch; `actor_name` keeps the name the actor had at the time.
    """

    occurred_at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    actor_name = models.CharField(max_length=TEXT)
    action = models.CharField(max_length=100, db_index=True)
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="audit_events", null=True)
    batch = models.ForeignKey(
        Batch,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="audit_events",
        null=True,
    )
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=TEXT)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_name}: {self.action}"


class ReportingGap(models.Model):
    """A reporting rule a batch does not meet (a gap or a warning), or meets only by a
    justified exception, as the last check found it. Derived data: each check replaces
    the rows of a batch and catalogue whole."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="reporting_gaps")
    catalogue = models.CharField(max_length=20)
    rule_id = models.CharField(max_length=40)
    status = models.CharField(max_length=12, choices=GAP_STATUSES)
    severity = models.CharField(max_length=16)
    confidence = models.CharField(max_length=1)
    guideline = models.CharField(max_length=TEXT)
    title = models.CharField(max_length=TEXT)
    message = models.TextField()
    how_to_fix = models.TextField()
    missing = models.JSONField(default=list)
    exception = models.ForeignKey(
        RuleException, on_delete=models.SET_NULL, related_name="gaps", null=True, blank=True
    )
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["batch", "catalogue", "rule_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "rule_id"], name="%(app_label)s_%(class)s_once"
            )
        ]
        indexes = [models.Index(fields=["catalogue", "rule_id", "status"])]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.status} for {self.batch}"


class GuidelineCheck(models.Model):
    """The last check of a batch against one catalogue, with the counts behind its
    completeness (for the EV-METRIC catalogue: the EV-METRIC-style score)."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="guideline_checks")
    catalogue = models.CharField(max_length=20)
    applicable = models.PositiveIntegerField()
    fulfilled = models.PositiveIntegerField()
    excepted = models.PositiveIntegerField()
    gaps = models.PositiveIntegerField()
    warnings = models.PositiveIntegerField()
    batch_version = models.PositiveIntegerField(help_text="The batch version that was checked.")
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["batch", "catalogue"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "catalogue"], name="%(app_label)s_%(class)s_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.catalogue} check of {self.batch}"

    @property
    def percent(self) -> float | None:
        """Fulfilled applicable rules in %; None when no rule applies."""
        return 100 * self.fulfilled / self.applicable if self.applicable else None


class CheckSweep(models.Model):
    """One run of the nightly re-check of every batch (or of `manage.py check_all`): how
    far it got. Chunks of batches are checked by Celery tasks, each adding its count."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    total = models.PositiveIntegerField()
    checked = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    failures = models.JSONField(default=list, blank=True, help_text="Lot numbers and errors.")

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"sweep of {self.started_at:%Y-%m-%d %H:%M}: {self.checked}/{self.total}"

    @property
    def done(self) -> bool:
        return self.checked + self.failed >= self.total


class ApiToken(models.Model):
    """A credential for an instrument or a script. It acts as its own service user, a
    member of exactly one lab with the role its scope needs, so every role and lab check
    of people applies to it too; the scope narrows what it may call on top of that.

    Only a SHA-256 of the key is stored: keys are 256 random bits, so a fast hash is
    enough (a password hash would only slow every request down)."""

    name = models.CharField(max_length=100, unique=True)
    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="api_tokens")
    scope = models.CharField(max_length=20, choices=choices(TokenScope))
    instrument = models.ForeignKey(
        "assays.Instrument",
        on_delete=models.PROTECT,
        related_name="api_tokens",
        null=True,
        blank=True,
        help_text="The one instrument a results:write token posts for.",
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="api_token"
    )
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown; identifies a key.")
    key_hash = models.CharField(max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["lab", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(scope=TokenScope.RESULTS_WRITE) | Q(instrument__isnull=False),
                name="%(app_label)s_%(class)s_results_write_instrument",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.scope}, {self.lab.code})"


class IdempotencyRecord(models.Model):
    """A POST made with an Idempotency-Key: the first request claims the key for its
    credential, and its response is kept so that a retry gets the same answer instead
    of a second change."""

    credential = models.CharField(max_length=40, help_text='"user:<id>" or "token:<id>"')
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path, body.")
    completed = models.BooleanField(default=False)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    response_location = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["credential", "key"], name="%(app_label)s_%(class)s_once"
            )
        ]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.key} of {self.credential}"
