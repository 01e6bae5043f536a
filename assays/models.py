"""How batches were characterised: instruments, assay runs and what they found (results,
marker results, images, size distributions), and the specifications results are judged
against.

Rows are written only by `assays.services`; field names follow the batch-record format
(`evqc.batch_record`).
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q

from assays.choices import (
    BIN_QUANTITIES,
    QUALIFIERS,
    VERDICTS,
    WEIGHTINGS,
    AssayMethod,
    ImageField,
    ImagingTechnique,
    ResultBasis,
    SampleStage,
    Verdict,
    attribute_choices,
    choices,
)
from batches.models import Aliquot, Batch, IsolationStep, Lab, Product
from evqc.fields import QuantityField
from evqc.models import TimeStampedModel
from evqc.units import QuantityKind
from evqc.vocabulary import ATTRIBUTES

TEXT = 200


def attribute_kind(row: Result | Specification) -> QuantityKind:
    """The quantity kind of a row's attribute: a result's value and a specification's
    limits are quantities of whatever their attribute measures."""
    return ATTRIBUTES[row.attribute].kind


class Instrument(TimeStampedModel):
    """An instrument in a lab (an NTA, a plate reader, a microscope)."""

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="instruments")
    name = models.CharField(max_length=TEXT)
    manufacturer = models.CharField(max_length=TEXT, blank=True)
    model = models.CharField(max_length=TEXT, blank=True)
    serial_number = models.CharField(max_length=TEXT, blank=True)
    location = models.CharField(max_length=TEXT, blank=True)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["lab", "name"]
        constraints = [
            models.UniqueConstraint(fields=["lab", "name"], name="%(app_label)s_%(class)s_name")
        ]

    def __str__(self) -> str:
        return self.name


class AssayRun(TimeStampedModel):
    """One run of an assay method on a sample of a batch: who, when, on what instrument,
    under which SOP and settings, at what dilution, and the instrument's own file."""

    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="assay_runs")
    position = models.PositiveIntegerField()
    method = models.CharField(max_length=30, choices=choices(AssayMethod), db_index=True)
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="assay_runs", null=True, blank=True
    )
    operator = models.CharField(max_length=TEXT, blank=True)
    performed_at = models.DateTimeField()
    sop_reference = models.CharField(max_length=TEXT, blank=True)
    sample_stage = models.CharField(
        max_length=20, choices=choices(SampleStage), default=SampleStage.FINAL
    )
    isolation_step = models.ForeignKey(
        IsolationStep,
        on_delete=models.PROTECT,
        related_name="assay_runs",
        null=True,
        blank=True,
    )
    aliquot = models.ForeignKey(
        Aliquot, on_delete=models.PROTECT, related_name="assay_runs", null=True, blank=True
    )
    dilution_factor = QuantityField("dilution_factor")
    software_version = models.CharField(max_length=TEXT, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    lysis_buffer = models.CharField(max_length=TEXT, blank=True)
    reducing = models.BooleanField(null=True, blank=True)
    raw_file = models.FileField(upload_to="raw/%Y/%m/", blank=True)
    raw_file_name = models.CharField(max_length=TEXT, blank=True)
    raw_file_sha256 = models.CharField(max_length=64, blank=True)
    raw_file_size = models.PositiveBigIntegerField(null=True, blank=True)
    notes = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["batch", "position"], name="%(app_label)s_%(class)s_position"
            ),
            models.CheckConstraint(
                condition=Q(isolation_step__isnull=True) | Q(sample_stage=SampleStage.IN_PROCESS),
                name="%(app_label)s_%(class)s_step_only_in_process",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} of {self.batch} on {self.performed_at:%Y-%m-%d}"


class Specification(TimeStampedModel):
    """An acceptance criterion of a product for one attribute (optionally bound to one
    assay method): action limits, an alert band, or acceptable outcomes.

    A revision retires the row and adds a new version; results keep the version that was
    in force when they were recorded, and their verdict against it.
    """

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="specifications")
    attribute = models.CharField(max_length=64, choices=attribute_choices())
    method = models.CharField(max_length=30, choices=choices(AssayMethod), blank=True)
    lower_limit = QuantityField(attribute_kind)
    lower_inclusive = models.BooleanField(default=True)
    upper_limit = QuantityField(attribute_kind)
    upper_inclusive = models.BooleanField(default=True)
    warn_lower = QuantityField(attribute_kind)
    warn_upper = QuantityField(attribute_kind)
    acceptable_outcomes = models.JSONField(default=list, blank=True)
    required_for_release = models.BooleanField(default=False)
    reference = models.CharField(max_length=TEXT, blank=True)
    version = models.PositiveIntegerField(default=1)
    effective_from = models.DateTimeField()
    retired_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )

    class Meta:
        ordering = ["product", "attribute", "method", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "attribute", "method"],
                condition=Q(retired_at__isnull=True),
                name="%(app_label)s_%(class)s_one_in_force",
            ),
            models.UniqueConstraint(
                fields=["product", "attribute", "method", "version"],
                name="%(app_label)s_%(class)s_version",
            ),
        ]

    def __str__(self) -> str:
        bound = f" by {self.method}" if self.method else ""
        return f"{self.product.code} {self.attribute}{bound} v{self.version}"


class Result(TimeStampedModel):
    """One reported attribute of an assay run: a unit-checked value (or a qualitative
    outcome) with its uncertainty, the stock value it stands for after dilution, and its
    verdict against the specification in force when it was recorded."""

    assay_run = models.ForeignKey(AssayRun, on_delete=models.PROTECT, related_name="results")
    position = models.PositiveIntegerField()
    attribute = models.CharField(max_length=64, choices=attribute_choices(), db_index=True)
    value = QuantityField(attribute_kind)
    outcome = models.CharField(max_length=40, blank=True)
    qualifier = models.CharField(max_length=1, choices=QUALIFIERS, blank=True)
    basis = models.CharField(max_length=10, choices=choices(ResultBasis), blank=True)
    sd = QuantityField(attribute_kind, verbose_name="SD")
    se = QuantityField(attribute_kind, verbose_name="SE")
    n = models.PositiveIntegerField(null=True, blank=True)
    lod = QuantityField(attribute_kind, verbose_name="LOD")
    loq = QuantityField(attribute_kind, verbose_name="LOQ")
    notes = models.TextField(blank=True)
    stock_canonical = models.FloatField(
        null=True,
        blank=True,
        help_text="The stock's value in the attribute's canonical unit (value x dilution "
        "for a measured value of a diluted sample).",
    )
    specification = models.ForeignKey(
        Specification, on_delete=models.PROTECT, related_name="results", null=True, blank=True
    )
    verdict = models.CharField(max_length=10, choices=VERDICTS, default=Verdict.NO_SPEC)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["assay_run", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["assay_run", "position"], name="%(app_label)s_%(class)s_position"
            ),
            models.CheckConstraint(
                condition=(Q(value_value__isnull=False) & Q(outcome=""))
                | (Q(value_value__isnull=True) & ~Q(outcome="")),
                name="%(app_label)s_%(class)s_value_or_outcome",
            ),
        ]

    def __str__(self) -> str:
        shown = self.value if self.value is not None else self.outcome
        return f"{self.attribute} = {self.qualifier}{shown}"


class MarkerResult(TimeStampedModel):
    """A protein probed in an assay run: present or not, and the antibody and load used."""

    assay_run = models.ForeignKey(AssayRun, on_delete=models.PROTECT, related_name="markers")
    position = models.PositiveIntegerField()
    protein = models.CharField(max_length=64, help_text="As entered.")
    symbol = models.CharField(max_length=64, db_index=True, help_text="HGNC symbol.")
    detected = models.BooleanField()
    antibody_vendor = models.CharField(max_length=TEXT, blank=True)
    antibody_catalogue_number = models.CharField(max_length=TEXT, blank=True)
    antibody_clone = models.CharField(max_length=TEXT, blank=True)
    antibody_lot = models.CharField(max_length=TEXT, blank=True)
    antibody_dilution = models.CharField(max_length=TEXT, blank=True)
    load_protein = QuantityField("mass")
    load_particles = QuantityField("particle_count")
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["assay_run", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["assay_run", "position"], name="%(app_label)s_%(class)s_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.symbol}{'+' if self.detected else '-'}"


class Image(TimeStampedModel):
    """A micrograph of single vesicles from an imaging assay run."""

    assay_run = models.ForeignKey(AssayRun, on_delete=models.PROTECT, related_name="images")
    position = models.PositiveIntegerField()
    technique = models.CharField(max_length=20, choices=choices(ImagingTechnique))
    field = models.CharField(max_length=10, choices=choices(ImageField))
    magnification = QuantityField("number")
    scale_bar = QuantityField("length")
    file_name = models.CharField(max_length=TEXT, blank=True)
    file = models.FileField(upload_to="images/%Y/%m/", blank=True)
    caption = models.CharField(max_length=TEXT, blank=True)

    class Meta:
        ordering = ["assay_run", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["assay_run", "position"], name="%(app_label)s_%(class)s_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.technique} {self.field} image"


class SizeDistribution(TimeStampedModel):
    """A size distribution as the instrument binned it; units are checked on write and
    the summary (mean, mode, D10/D50/D90) is computed from the bins, never typed."""

    assay_run = models.ForeignKey(
        AssayRun, on_delete=models.PROTECT, related_name="size_distributions"
    )
    position = models.PositiveIntegerField()
    weighting = models.CharField(max_length=10, choices=WEIGHTINGS, default="number")
    basis = models.CharField(max_length=10, choices=choices(ResultBasis), blank=True)
    bin_quantity = models.CharField(max_length=30, choices=BIN_QUANTITIES)
    centre_unit = models.CharField(max_length=100)
    value_unit = models.CharField(max_length=100, blank=True)
    bin_centres = models.JSONField()
    bin_values = models.JSONField()

    class Meta:
        ordering = ["assay_run", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["assay_run", "position"], name="%(app_label)s_%(class)s_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.weighting}-weighted size distribution ({len(self.bin_centres)} bins)"


class ImportJob(models.Model):
    """An uploaded instrument export file on its way to becoming an assay run of a batch:
    checked and parsed when it arrives, stored by a Celery task, with its progress,
    warnings and errors for the person or uploader that sent it. A file uploaded in the
    portal waits, parsed, until the person has seen the preview and confirmed it."""

    class Status(models.TextChoices):
        PARSED = "parsed", "parsed, awaiting confirmation"
        DISCARDED = "discarded"
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    lab = models.ForeignKey(Lab, on_delete=models.PROTECT, related_name="import_jobs")
    batch = models.ForeignKey(Batch, on_delete=models.PROTECT, related_name="import_jobs")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent done.")
    file = models.FileField(upload_to="imports/%Y/%m/")
    file_name = models.CharField(max_length=TEXT)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveBigIntegerField()
    format = models.CharField(max_length=20, help_text="The export format read by content.")
    instrument = models.ForeignKey(
        Instrument, on_delete=models.PROTECT, related_name="import_jobs", null=True, blank=True
    )
    user_dilution = QuantityField("dilution_factor")
    performed_at = models.DateTimeField(null=True, blank=True, help_text="When not in the file.")
    summary = models.JSONField(default=dict, blank=True, help_text="What the file parsed to.")
    warnings = models.JSONField(default=list, blank=True)
    errors = models.JSONField(default=list, blank=True)
    assay_run = models.OneToOneField(
        AssayRun, on_delete=models.PROTECT, related_name="import_job", null=True, blank=True
    )
    created_by = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["lab", "-created_at"])]

    def __str__(self) -> str:
        return f"import of {self.file_name} into {self.batch}"
