"""The batch-record format, version 1: a whole batch as one JSON document.

MES/ELN integrations, migrations, the REST API and `manage.py import_batch` /
`export_batch` all speak it; `docs/batch-record.md` describes it and
`docs/batch-record.schema.json` is generated from these models (`write_json_schema`).

`BatchRecord.model_validate(data)` checks a document completely, without a database:
every quantity goes through `evqc.units` for its field's kind, vocabularies are the ones
in `evqc.vocabulary`, and cross-field rules (an end before its start, a result an assay
method cannot give, a reference to a step that does not exist) are refused with the JSON
path of the offending value. The same models are the in-memory snapshot of a batch that
the guidelines engine and the reports read (`batches.selectors.batch_record_get`).

A quantity is written `{"value": 100000, "unit": "xg"}` or as text such as
`"100,000 x g"`; it is exported as `{"value", "unit", "canonical_value",
"canonical_unit", "reported_text"}`, of which only value and unit are needed on input.
"""

from __future__ import annotations

import functools
import itertools
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    PrivateAttr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError, core_schema

from evqc.exceptions import EVQCError, number_text
from evqc.units import (
    MAX_UNIT_LENGTH,
    QuantityValue,
    UnitError,
    convert,
    kind_named,
    parse_quantity,
    split_number,
)
from evqc.vocabulary import (
    ATTRIBUTES,
    AssayMethod,
    BatchStatus,
    ImageField,
    ImagingTechnique,
    IsolationMethod,
    LoadingMethod,
    PreparationTerm,
    ResultBasis,
    SampleStage,
    SourceKind,
    StepPurpose,
    SupplementType,
    VesselType,
)

SCHEMA = "evqc.batch-record/1"
MAX_REPORTED_LENGTH = 255
MAX_RESULTS_PER_ASSAY = 10_000
MAX_BINS = 10_000

LOT_NUMBER = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
PRODUCT_CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"
RULE_ID = r"^[A-Z][A-Z0-9]*(-[A-Z0-9]+)*-\d{2}$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def _in_utc(moment: datetime) -> datetime:
    """A time as evqc stores it, in UTC: offsets such as +16:00 are valid ISO 8601 but not
    every database's, and 0001-01-01T00:00+01:00 lies before the calendar once in UTC."""
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise PydanticCustomError(
            "datetime_out_of_range", "is outside the years 1 to 9999 once converted to UTC"
        ) from None


Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]

# Messages for cross-field refusals (pydantic words its own for types and vocabularies).
ENDS_BEFORE_START = "ends before it starts ({start} is {start_value})"
ONLY_CELL_CULTURE = "only a cell-culture batch has a production run; this batch's source is {kind}"
DUPLICATE_ORDER = "step {order} appears more than once; each isolation step needs its own order"
NO_SUCH_STEP = "there is no isolation step {order} in this record"
STEP_ONLY_IN_PROCESS = "names an isolation step, so sample_stage must be in_process"
IN_PROCESS_NEEDS_STEP = "an in-process sample names the isolation step it was taken after"
NO_SUCH_ALIQUOT = 'there is no aliquot "{label}" in this record'
DUPLICATE_ALIQUOT = 'aliquot "{label}" appears more than once'
DUPLICATE_PARENT = "batch {lot} is named as a parent more than once"
OWN_PARENT = "a batch cannot be its own parent"
HELD_ONLY_WHEN_QUARANTINED = "only a quarantined batch is held from a status"
DUPLICATE_EXCEPTION = "rule {rule} has more than one exception"
NOT_REPORTED_BY = "{method} does not report {attribute}; it reports {reported}"
NO_MARKERS = "{method} records no marker results; markers come from {methods}"
NO_IMAGES = "{method} records no images; images come from {methods}"
UNKNOWN_ATTRIBUTE = '"{attribute}" is not an attribute evqc knows; expected one of {known}'
UNKNOWN_OUTCOME = '"{outcome}" is not an outcome of {attribute}; expected one of {outcomes}'
QUALITATIVE_HAS_NO_UNIT = "{attribute} is qualitative: give its outcome without a unit"
NUMBER_NEEDS_UNIT = "a number needs its unit beside it, in unit"
VALUE_HAS_ITS_OWN_UNIT = 'the value "{value}" has its own unit; leave unit out'
NEEDS_BASIS = (
    "the assay has a dilution factor of {dilution:g}: say whether this {attribute} is as "
    'measured on the diluted sample ("measured") or already the stock\'s ("stock")'
)
MEASURED_NEEDS_DILUTION = (
    "a measured (diluted) {attribute} needs the assay's dilution_factor to give the stock value"
)
BASIS_ONLY_DILUTES = "{attribute} does not change with dilution, so it has no basis"
BIN_UNIT = '"{unit}" is not a unit of {label}; expected a unit such as "{example}"'
BINS_LENGTHS = "bin_centres has {centres} values but bin_values has {values}"
BINS_NOT_INCREASING = "bin_centres must increase; value {index} is not above the one before"
BINS_NEGATIVE = "bin_values[{index}] is negative"
BINS_NOT_FINITE = "{name}[{index}] is not a finite number"
TOO_MANY = "has {count} items; at most {limit} are accepted in one record"


class BatchRecordError(EVQCError):
    """A batch-record document that cannot be accepted; `extra["fields"]` maps each JSON
    path to its problems, in the API's error shape."""

    def __init__(self, fields: dict[str, list[dict[str, str]]]) -> None:
        if len(fields) == 1:
            ((path, problems),) = fields.items()
            message = f"{path}: {problems[0]['message']}" if path else problems[0]["message"]
        else:
            message = f"{len(fields)} fields are invalid: {', '.join(fields)}."
        super().__init__(message, "invalid_batch_record", {"fields": fields})
        self.fields = fields


# Quantities
# ------------------------------------------------------------------------------

QUANTITY_INPUT_KEYS = frozenset({"value", "unit"})
QUANTITY_OUTPUT_KEYS = frozenset({"canonical_value", "canonical_unit", "reported_text"})


def quantity_json(quantity: QuantityValue | None) -> dict[str, Any] | None:
    """A quantity as evqc writes it: the API's and the batch record's shape."""
    if quantity is None:
        return None
    return {
        "value": quantity.value,
        "unit": quantity.unit,
        "canonical_value": quantity.canonical_value,
        "canonical_unit": quantity.canonical_unit,
        "reported_text": quantity.reported,
    }


def read_quantity(given: object, kind_name: str, *, field: str = "") -> QuantityValue:
    """`given` as a quantity of the kind: text, {"value", "unit"} (plus the read-only keys
    evqc writes, so a document can be sent back unchanged), a (value, unit) pair or a
    checked QuantityValue. A given "reported_text" is kept: it is the instrument's."""
    kind = kind_named(kind_name)
    if isinstance(given, QuantityValue):
        if given.kind is kind:
            return given
        return parse_quantity((given.value, given.unit), kind, field=field)._replace(
            reported=given.reported
        )
    reported = None
    if isinstance(given, Mapping):
        unexpected = set(given) - QUANTITY_INPUT_KEYS - QUANTITY_OUTPUT_KEYS
        if unexpected:
            raise PydanticCustomError(
                "unexpected_keys",
                "unexpected keys {keys}; a quantity has value and unit",
                {"keys": ", ".join(sorted(map(str, unexpected)))},
            )
        reported = given.get("reported_text")
        if reported is not None and (
            not isinstance(reported, str) or len(reported) > MAX_REPORTED_LENGTH
        ):
            raise PydanticCustomError(
                "invalid_reported_text",
                f"reported_text must be text of at most {MAX_REPORTED_LENGTH} characters",
            )
        given = {key: given[key] for key in QUANTITY_INPUT_KEYS if key in given}
    try:
        quantity = parse_quantity(given, kind, field=field)
    except UnitError as error:
        raise PydanticCustomError(error.code, "{message}", {"message": error.message}) from None
    return quantity._replace(reported=reported) if reported else quantity


@dataclass(frozen=True)
class QuantityOf:
    """`Annotated[QuantityValue, QuantityOf("volume")]`: a field holding one kind of quantity."""

    kind: str

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        kind = self.kind
        return core_schema.no_info_plain_validator_function(
            lambda given: None if given is None else read_quantity(given, kind),
            serialization=core_schema.plain_serializer_function_ser_schema(
                quantity_json, when_used="json"
            ),
        )

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> dict[str, Any]:
        kind = kind_named(self.kind)
        forms: list[dict[str, Any]] = [
            dict(_QUANTITY_REF_PLACEHOLDER),
            {"type": "string", "examples": [kind.example]},
            {"type": "null"},
        ]
        if kind.takes_bare_numbers:  # a dilution factor of 200, 3 freeze-thaw cycles
            forms.append({"type": "number"})
        return {"description": f'{kind.label}; canonical unit "{kind.unit_label}"', "oneOf": forms}


# Optional quantity fields, one type per kind of quantity the format holds.
Area = Annotated[QuantityValue | None, QuantityOf("area")]
CellCount = Annotated[QuantityValue | None, QuantityOf("cell_count")]
CellDensity = Annotated[QuantityValue | None, QuantityOf("cell_density")]
Count = Annotated[QuantityValue | None, QuantityOf("count")]
Density = Annotated[QuantityValue | None, QuantityOf("density")]
DilutionFactor = Annotated[QuantityValue | None, QuantityOf("dilution_factor")]
Duration = Annotated[QuantityValue | None, QuantityOf("duration")]
FlowRate = Annotated[QuantityValue | None, QuantityOf("flow_rate")]
Fraction = Annotated[QuantityValue | None, QuantityOf("fraction")]
GForce = Annotated[QuantityValue | None, QuantityOf("g_force")]
Length = Annotated[QuantityValue | None, QuantityOf("length")]
Mass = Annotated[QuantityValue | None, QuantityOf("mass")]
MassConcentration = Annotated[QuantityValue | None, QuantityOf("mass_concentration")]
MolecularMass = Annotated[QuantityValue | None, QuantityOf("molecular_mass")]
Number = Annotated[QuantityValue | None, QuantityOf("number")]
ParticleCount = Annotated[QuantityValue | None, QuantityOf("particle_count")]
Pressure = Annotated[QuantityValue | None, QuantityOf("pressure")]
Temperature = Annotated[QuantityValue | None, QuantityOf("temperature")]
Voltage = Annotated[QuantityValue | None, QuantityOf("voltage")]
Volume = Annotated[QuantityValue | None, QuantityOf("volume")]


# pydantic resolves every "$ref" it sees; `batch_record_schema` swaps this marker for a
# reference to the one Quantity definition it adds.
_QUANTITY_REF_PLACEHOLDER = {"x-evqc-quantity": True}

QUANTITY_SCHEMA = {
    "type": "object",
    "description": "A value with its unit; the read-only keys are what evqc adds on output.",
    "properties": {
        "value": {"type": ["number", "string"]},
        "unit": {"type": "string", "maxLength": MAX_UNIT_LENGTH},
        "canonical_value": {"type": "number", "readOnly": True},
        "canonical_unit": {"type": "string", "readOnly": True},
        "reported_text": {"type": "string", "maxLength": MAX_REPORTED_LENGTH},
    },
    "required": ["value", "unit"],
    "additionalProperties": False,
}


# Refusals with exact JSON paths
# ------------------------------------------------------------------------------


class Refusals:
    """Collects cross-field refusals, each at its own path, and raises them together."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.errors: list[Any] = []

    def add(self, loc: tuple[str | int, ...], code: str, message: str, given: object) -> None:
        self.errors.append(
            {
                "type": PydanticCustomError(code, "{message}", {"message": message}),
                "loc": loc,
                "input": given,
            }
        )

    def raise_any(self) -> None:
        if self.errors:
            raise ValidationError.from_exception_data(self.title, self.errors)


def json_path(loc: Iterable[str | int], given: object) -> str:
    """A pydantic location as a JSON path ("assays[0].results[3].value"), without the
    union tags pydantic inserts ("isolation_steps.0.sec.parameters" -> the step's)."""
    path = ""
    current: Any = given
    items = list(loc)
    for position, item in enumerate(items):
        if isinstance(item, int):
            path += f"[{item}]"
            current = current[item] if isinstance(current, list) and item < len(current) else None
            continue
        last = position == len(items) - 1
        if isinstance(current, Mapping) and item not in current and not last:
            continue  # a union tag ("sec"), not a key of the document
        path += f".{item}" if path else str(item)
        current = current.get(item) if isinstance(current, Mapping) else None
    return path


# What a key whose text has a fixed form looks like (pydantic would show the pattern).
FORMS = {
    "lot_number": "is not a lot number: letters, digits, '.', '_' and '-', at most 64, "
    "starting with a letter or digit",
    "code": "is not a product code: letters, digits, '.', '_' and '-', at most 40, starting "
    "with a letter or digit",
    "rule": 'is not a rule id such as "M18-MRK-01" (see docs/guidelines.md)',
    "sha256": "is not a SHA-256 digest (64 lower-case hexadecimal digits)",
}
# pydantic's words where a lab or an integrator needs more to act on.
CLEARER_MESSAGES = {
    "timezone_aware": "needs a time zone, e.g. 2026-03-01T10:00:00Z or +01:00",
    "extra_forbidden": "is not a key of the batch-record format here (see docs/batch-record.md)",
    "missing": "is required",
}


def errors_by_path(error: ValidationError, given: object) -> dict[str, list[dict[str, str]]]:
    fields: dict[str, list[dict[str, str]]] = {}
    for detail in error.errors(include_url=False):
        path = json_path(detail["loc"], given)
        code, message = detail["type"], CLEARER_MESSAGES.get(detail["type"], detail["msg"])
        context = detail.get("ctx", {})
        if code == "string_pattern_mismatch":
            message = FORMS.get(str(detail["loc"][-1]), message)
        elif code in {"union_tag_not_found", "union_tag_invalid"}:
            # "Unable to extract tag using discriminator 'method'": name the key itself.
            key = str(context.get("discriminator", "")).strip("'")
            path = f"{path}.{key}" if path else key
            if code == "union_tag_not_found":
                code, message = "missing", CLEARER_MESSAGES["missing"]
            else:
                message = f"is not one of {context.get('expected_tags', '')}"
        elif code == "too_long" and "max_length" in context:
            message = f"has too many items: at most {context['max_length']} are accepted"
        fields.setdefault(path, []).append({"message": message, "code": code})
    return fields


# Documents
# ------------------------------------------------------------------------------


class Part(BaseModel):
    """A part of a batch record: unknown keys are refused (a typo must not vanish)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProductRef(Part):
    code: Annotated[str, StringConstraints(pattern=PRODUCT_CODE)]
    name: Name


class ParentRef(Part):
    """A batch this one was made from: pooled with others, or split from it."""

    lot_number: Annotated[str, StringConstraints(pattern=LOT_NUMBER)]
    relation: Literal["pooled", "split"]
    volume: Volume = None


class CellCultureSource(Part):
    """Producer cells (a cell bank shared by batches, found by name in the lab)."""

    kind: Literal["cell_culture"]
    name: Name
    species: Text = ""
    cell_type: Text = ""
    cell_line: Text = Field("", description="Cell line identifier, e.g. an RRID or Cellosaurus id")
    donor: Text = ""
    tissue: Text = ""
    authentication_method: Text = ""
    authenticated_on: date | None = None
    mycoplasma_status: Literal["", "negative", "positive", "not_tested"] = ""
    mycoplasma_method: Text = ""
    mycoplasma_tested_on: date | None = None
    notes: LongText = ""


class BiofluidSource(Part):
    """A biofluid from a donor or subject, and how it was collected and kept."""

    kind: Literal["biofluid"]
    material: Literal["plasma", "serum", "urine", "csf", "saliva", "milk", "ascites", "other"]
    subject: Text = ""
    health_status: Text = ""
    age: Duration = None
    sex: Literal["", "female", "male", "other", "unknown"] = ""
    fasting: bool | None = None
    medications: Text = ""
    needle_gauge: Text = ""
    tube_type: Text = ""
    anticoagulant: Literal["", "edta", "citrate", "acd_a", "heparin", "none", "other"] = ""
    discard_tube: bool | None = None
    collection_volume: Volume = None
    collected_at: Moment | None = None
    processing_interval: Duration = None
    hold_temperature: Temperature = None
    storage_temperature: Temperature = None
    storage_duration: Duration = None
    freeze_thaw_cycles: Count = None
    free_haemoglobin: MassConcentration = None
    notes: LongText = ""


class TissueSource(Part):
    """A solid tissue and how it was dissociated."""

    kind: Literal["tissue"]
    tissue: Name
    species: Text = ""
    subject: Text = ""
    health_status: Text = ""
    tissue_mass: Mass = None
    dissociation_enzyme: Text = ""
    dissociation_duration: Duration = None
    dissociation_temperature: Temperature = None
    storage_temperature: Temperature = None
    storage_duration: Duration = None
    freeze_thaw_cycles: Count = None
    notes: LongText = ""


Source = Annotated[CellCultureSource | BiofluidSource | TissueSource, Field(discriminator="kind")]


class Production(Part):
    """The upstream culture that conditioned the medium (cell-culture batches)."""

    vessel_type: VesselType | None = None
    vessel: Text = Field("", description="Make, model or equipment id of the vessel")
    surface_area: Area = None
    working_volume: Volume = None
    base_medium: Text = ""
    supplement_type: SupplementType | None = None
    supplement_concentration: Fraction = None
    ev_depletion_method: Text = ""
    ev_depletion_g_force: GForce = None
    ev_depletion_duration: Duration = None
    ev_depletion_verified: bool | None = None
    passage_number: Count = None
    population_doublings: Number = None
    seeding_density: CellDensity = None
    seeded_cells: CellCount = None
    confluence_at_harvest: Fraction = None
    cell_count_at_harvest: CellCount = None
    viability_at_harvest: Fraction = None
    viability_method: Text = ""
    temperature: Temperature = None
    o2: Fraction = None
    co2: Fraction = None
    treatment: Text = ""
    conditioning_started_at: Moment | None = None
    conditioning_ended_at: Moment | None = None
    harvest_volume: Volume = None
    harvest_hold_duration: Duration = None
    harvest_hold_temperature: Temperature = None
    notes: LongText = ""

    @model_validator(mode="after")
    def _ends_after_start(self) -> Production:
        refusals = Refusals("Production")
        start, end = self.conditioning_started_at, self.conditioning_ended_at
        if start and end and end < start:
            message = ENDS_BEFORE_START.format(
                start="conditioning_started_at", start_value=start.isoformat()
            )
            refusals.add(("conditioning_ended_at",), "ends_before_start", message, end)
        refusals.raise_any()
        return self


# Isolation steps: one parameter set per method
# ------------------------------------------------------------------------------


class Parameters(Part):
    pass


class SpinParameters(Parameters):
    g_force: GForce = None
    g_force_type: Literal["", "average", "maximum"] = ""
    duration: Duration = None
    temperature: Temperature = None
    rotor: Text = ""
    k_factor: Number = None


class CentrifugationParameters(SpinParameters):
    tube: Text = ""
    brake: Literal["", "on", "reduced", "off"] = ""


class UltracentrifugationParameters(SpinParameters):
    tube: Text = ""
    washes: Count = None
    resuspension_volume: Volume = None
    resuspension_buffer: Text = ""


class DensityGradientParameters(SpinParameters):
    gradient_medium: Literal["", "sucrose", "iodixanol", "other"] = ""
    loading: Literal["", "top_down", "bottom_up"] = ""
    gradient_range: Text = Field("", description='e.g. "5-40 % w/v"')
    fraction_count: Count = None
    fraction_volume: Volume = None
    ev_fraction_density: Density = None
    fractions_pooled: Text = ""
    medium_removal: Text = ""


class SecParameters(Parameters):
    resin: Text = ""
    column: Text = ""
    bed_volume: Volume = None
    load_volume: Volume = None
    fraction_volume: Volume = None
    fractions_collected: Text = ""
    fractions_pooled: Text = ""
    elution_buffer: Text = ""
    flow_rate: FlowRate = None


class MembraneParameters(Parameters):
    mwco: MolecularMass = None
    pore_size: Length = None
    membrane_material: Text = ""
    device: Text = ""


class TffParameters(MembraneParameters):
    membrane_area: Area = None
    transmembrane_pressure: Pressure = None
    feed_flow_rate: FlowRate = None
    diafiltration_volumes: Number = None
    diafiltration_buffer: Text = ""
    concentration_factor: Number = None


class UltrafiltrationParameters(MembraneParameters):
    g_force: GForce = None
    duration: Duration = None
    temperature: Temperature = None


class FiltrationParameters(MembraneParameters):
    pass


class PrecipitationParameters(Parameters):
    reagent: Text = ""
    kit_name: Text = ""
    kit_lot: Text = ""
    incubation_duration: Duration = None
    incubation_temperature: Temperature = None
    g_force: GForce = None
    duration: Duration = None
    temperature: Temperature = None


class ImmunoaffinityParameters(Parameters):
    capture_target: Text = ""
    antibody: Text = ""
    antibody_clone: Text = ""
    kit_name: Text = ""
    kit_lot: Text = ""
    bead_type: Text = ""
    elution: Text = ""


class Af4Parameters(Parameters):
    channel: Text = ""
    membrane_material: Text = ""
    mwco: MolecularMass = None
    cross_flow_rate: FlowRate = None
    detector_flow_rate: FlowRate = None
    fractions_pooled: Text = ""


class MicrofluidicParameters(Parameters):
    device: Text = ""
    principle: Text = ""
    flow_rate: FlowRate = None


class KitParameters(Parameters):
    kit_name: Text = ""
    kit_lot: Text = ""
    manufacturer: Text = ""
    principle: Text = ""
    incubation_duration: Duration = None
    incubation_temperature: Temperature = None
    g_force: GForce = None
    duration: Duration = None


PARAMETERS: dict[IsolationMethod, type[Parameters]] = {
    IsolationMethod.CENTRIFUGATION: CentrifugationParameters,
    IsolationMethod.ULTRACENTRIFUGATION: UltracentrifugationParameters,
    IsolationMethod.DENSITY_GRADIENT: DensityGradientParameters,
    IsolationMethod.SEC: SecParameters,
    IsolationMethod.TFF: TffParameters,
    IsolationMethod.ULTRAFILTRATION: UltrafiltrationParameters,
    IsolationMethod.FILTRATION: FiltrationParameters,
    IsolationMethod.PRECIPITATION: PrecipitationParameters,
    IsolationMethod.IMMUNOAFFINITY: ImmunoaffinityParameters,
    IsolationMethod.AF4: Af4Parameters,
    IsolationMethod.MICROFLUIDIC: MicrofluidicParameters,
    IsolationMethod.KIT: KitParameters,
}


class _Step(Part):
    """An isolation step; each method's step adds its `method` tag and parameter set."""

    order: Annotated[int, Field(ge=1, le=1000)]
    purpose: StepPurpose = StepPurpose.SEPARATION
    performed_at: Moment | None = None
    input_volume: Volume = None
    output_volume: Volume = None
    notes: LongText = ""
    method: str
    parameters: Parameters


class CentrifugationStep(_Step):
    method: Literal["centrifugation"]
    parameters: CentrifugationParameters = Field(default_factory=CentrifugationParameters)


class UltracentrifugationStep(_Step):
    method: Literal["ultracentrifugation"]
    parameters: UltracentrifugationParameters = Field(
        default_factory=UltracentrifugationParameters
    )


class DensityGradientStep(_Step):
    method: Literal["density_gradient"]
    parameters: DensityGradientParameters = Field(default_factory=DensityGradientParameters)  # type: ignore[arg-type]  # mypy misreads this one class


class SecStep(_Step):
    method: Literal["sec"]
    parameters: SecParameters = Field(default_factory=SecParameters)


class TffStep(_Step):
    method: Literal["tff"]
    parameters: TffParameters = Field(default_factory=TffParameters)


class UltrafiltrationStep(_Step):
    method: Literal["ultrafiltration"]
    parameters: UltrafiltrationParameters = Field(default_factory=UltrafiltrationParameters)


class FiltrationStep(_Step):
    method: Literal["filtration"]
    parameters: FiltrationParameters = Field(default_factory=FiltrationParameters)


class PrecipitationStep(_Step):
    method: Literal["precipitation"]
    parameters: PrecipitationParameters = Field(default_factory=PrecipitationParameters)


class ImmunoaffinityStep(_Step):
    method: Literal["immunoaffinity"]
    parameters: ImmunoaffinityParameters = Field(default_factory=ImmunoaffinityParameters)


class Af4Step(_Step):
    method: Literal["af4"]
    parameters: Af4Parameters = Field(default_factory=Af4Parameters)


class MicrofluidicStep(_Step):
    method: Literal["microfluidic"]
    parameters: MicrofluidicParameters = Field(default_factory=MicrofluidicParameters)


class KitStep(_Step):
    method: Literal["kit"]
    parameters: KitParameters = Field(default_factory=KitParameters)


IsolationStep = Annotated[
    CentrifugationStep
    | UltracentrifugationStep
    | DensityGradientStep
    | SecStep
    | TffStep
    | UltrafiltrationStep
    | FiltrationStep
    | PrecipitationStep
    | ImmunoaffinityStep
    | Af4Step
    | MicrofluidicStep
    | KitStep,
    Field(discriminator="method"),
]
STEP_MODELS: dict[IsolationMethod, type[_Step]] = {
    IsolationMethod(model.model_fields["method"].annotation.__args__[0]): model  # type: ignore[union-attr]
    for model in (
        CentrifugationStep,
        UltracentrifugationStep,
        DensityGradientStep,
        SecStep,
        TffStep,
        UltrafiltrationStep,
        FiltrationStep,
        PrecipitationStep,
        ImmunoaffinityStep,
        Af4Step,
        MicrofluidicStep,
        KitStep,
    )
}


def isolation_step_model(method: IsolationMethod | str) -> type[_Step]:
    """The step model of a method ("ultracentrifugation" -> UltracentrifugationStep)."""
    return STEP_MODELS[IsolationMethod(method)]


class Engineering(Part):
    """Cargo loading or surface modification of the EVs after isolation."""

    method: LoadingMethod
    cargo: Text = ""
    cargo_type: Text = Field("", description='e.g. "miRNA", "siRNA", "protein", "small molecule"')
    cargo_amount: Mass = None
    surface_modification: Text = ""
    voltage: Voltage = None
    duration: Duration = None
    temperature: Temperature = None
    loading_efficiency: Fraction = None
    notes: LongText = ""


class Storage(Part):
    """How the EV preparation is kept."""

    temperature: Temperature = None
    buffer: Text = ""
    cryoprotectant: Text = ""
    cryoprotectant_concentration: Fraction = None
    container: Text = ""
    fill_volume: Volume = None
    freeze_thaw_cycles: Count = None
    stored_at: Moment | None = None
    notes: LongText = ""


class Aliquot(Part):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    volume: Volume = None
    location: Text = ""
    freeze_thaw_cycles: Count = None
    status: Literal["available", "used", "discarded"] = "available"


# Assays
# ------------------------------------------------------------------------------

# Instrument settings that carry a unit, by name; other settings are text, numbers or
# yes/no (a camera level has no unit).
SETTING_KINDS = {
    "temperature": "temperature",
    "viscosity": "viscosity",
    "camera_level": "number",
    "detection_threshold": "number",
    "video_count": "count",
    "video_duration": "duration",
    "frames_analysed": "count",
    "laser_wavelength": "length",
    "magnification": "number",
    "acceleration_voltage": "voltage",
    "flow_rate": "flow_rate",
    "incubation_duration": "duration",
    "incubation_temperature": "temperature",
    "nanopore_size": "length",
    "calibration_particle_size": "length",
    "acquisition_volume": "volume",
    # Dilution kept apart from the one applied (Assay.dilution_factor), as export files
    # give it: the instrument's own, and the one a person stated for the file.
    "instrument_dilution": "dilution_factor",
    "user_dilution": "dilution_factor",
}
SETTING_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_SETTINGS = 100
UNKNOWN_SETTING_WITH_UNIT = (
    "{name} is not a setting evqc knows the unit of ({known}); give it as text, a number or yes/no"
)
BAD_SETTING_NAME = "setting names are lower_case words (letters, digits, _), at most 64"
BAD_SETTING_VALUE = "a setting is text, a number, yes/no or a quantity"


def _read_settings(given: Mapping[str, Any], refusals: Refusals) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    if len(given) > MAX_SETTINGS:
        refusals.add(
            ("settings",), "too_many", TOO_MANY.format(count=len(given), limit=MAX_SETTINGS), None
        )
        return settings
    for name, value in given.items():
        loc = ("settings", name)
        if not isinstance(name, str) or not SETTING_NAME.match(name):
            refusals.add(loc, "invalid_name", BAD_SETTING_NAME, name)
        elif name in SETTING_KINDS and value is not None and not isinstance(value, bool):
            try:
                settings[name] = read_quantity(value, SETTING_KINDS[name], field="")
            except PydanticCustomError as error:
                refusals.add(loc, error.type, error.message(), value)
        elif isinstance(value, Mapping):
            known = ", ".join(sorted(SETTING_KINDS))
            refusals.add(
                loc,
                "unknown_setting",
                UNKNOWN_SETTING_WITH_UNIT.format(name=name, known=known),
                value,
            )
        elif value is None or (
            isinstance(value, bool | int | float)
            and not (isinstance(value, float) and not math.isfinite(value))
        ):
            settings[name] = value
        elif isinstance(value, str) and len(value) <= 200:
            settings[name] = value.strip()
        else:
            refusals.add(loc, "invalid_setting", BAD_SETTING_VALUE, value)
    return settings


def settings_json(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Checked instrument settings as JSON: quantities in evqc's quantity shape."""
    return {
        name: quantity_json(value) if isinstance(value, QuantityValue) else value
        for name, value in settings.items()
    }


class RawFile(Part):
    """The instrument's own file, as it was uploaded; the bytes live in evqc's storage."""

    name: Name
    sha256: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    size: Annotated[int, Field(ge=0)]


class Result(Part):
    """One reported attribute of an assay run. Written flat, as instruments and scripts
    send it: a number with `unit` beside it (`sd`, `se`, `lod` and `loq` are numbers in
    the same unit, or text with their own), text such as "2.1e11 particles/mL" without
    `unit`, "< 0.05 EU/mL" for a value below what the assay can quantify, or, for a
    qualitative attribute (sterility, mycoplasma, appearance), its outcome."""

    attribute: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
    value: int | float | str
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_UNIT_LENGTH)] = ""
    reported_text: Annotated[str, StringConstraints(max_length=MAX_REPORTED_LENGTH)] | None = None
    qualifier: Literal["", "<", ">"] = ""
    basis: ResultBasis | None = None
    sd: float | str | None = None
    se: float | str | None = None
    n: Annotated[int, Field(ge=1, le=1_000_000)] | None = None
    lod: float | str | None = None
    loq: float | str | None = None
    notes: LongText = ""

    _quantities: dict[str, QuantityValue] = PrivateAttr(default_factory=dict)

    @property
    def quantity(self) -> QuantityValue | None:
        """The value as a checked quantity; None for a qualitative outcome."""
        return self._quantities.get("value")

    @property
    def outcome(self) -> str | None:
        return None if self._quantities else str(self.value)

    def uncertainty(self, name: str) -> QuantityValue | None:
        """`sd`, `se`, `lod` or `loq` as a quantity in the value's unit."""
        return self._quantities.get(name)

    @property
    def quantities(self) -> Mapping[str, QuantityValue]:
        """Every checked quantity by field (value, sd, se, lod, loq), read in one step: a
        private attribute costs a lookup through pydantic each time."""
        return self._quantities

    @model_validator(mode="after")
    def _read(self) -> Result:
        refusals = Refusals("Result")
        attribute = ATTRIBUTES.get(self.attribute)
        if attribute is None:
            known = ", ".join(ATTRIBUTES)
            message = UNKNOWN_ATTRIBUTE.format(attribute=self.attribute, known=known)
            refusals.add(("attribute",), "unknown_attribute", message, self.attribute)
        elif attribute.qualitative:
            self._read_outcome(attribute.name, attribute.outcomes, refusals)
        else:
            self._read_quantities(attribute.kind_name, refusals)
        if attribute is not None and self.basis is not None and not attribute.dilutes:
            message = BASIS_ONLY_DILUTES.format(attribute=attribute.name)
            refusals.add(("basis",), "no_basis", message, self.basis)
        refusals.raise_any()
        return self

    def _read_outcome(self, name: str, outcomes: tuple[str, ...], refusals: Refusals) -> None:
        if self.unit:
            message = QUALITATIVE_HAS_NO_UNIT.format(attribute=name)
            refusals.add(("unit",), "unexpected_unit", message, self.unit)
        if self.value not in outcomes:
            message = UNKNOWN_OUTCOME.format(
                outcome=self.value, attribute=name, outcomes=", ".join(outcomes)
            )
            refusals.add(("value",), "unknown_outcome", message, self.value)
        for extra in ("sd", "se", "lod", "loq"):
            if getattr(self, extra) is not None:
                message = QUALITATIVE_HAS_NO_UNIT.format(attribute=name)
                refusals.add((extra,), "unexpected_value", message, getattr(self, extra))

    def _read_quantities(self, kind: str, refusals: Refusals) -> None:
        value, unit = self.value, self.unit
        if isinstance(value, str):
            text = value.strip()
            if text[:1] in "<>":
                qualifier, text = text[0], text[1:].strip()
                if self.qualifier and self.qualifier != qualifier:
                    refusals.add(("qualifier",), "conflict", "contradicts the value", value)
                self.qualifier = qualifier  # type: ignore[assignment]
            given: object = text
            if unit:
                try:
                    _, rest = split_number(text)
                except UnitError:
                    rest = text
                if rest:
                    message = VALUE_HAS_ITS_OWN_UNIT.format(value=value)
                    refusals.add(("unit",), "unit_twice", message, unit)
                    return
                given = f"{text} {unit}"
        else:  # read as text so that a message shows "2.1e11 nm", not a tuple
            given = f"{number_text(value)} {unit}".strip()
        try:
            quantity = read_quantity(given, kind)
        except PydanticCustomError as error:
            refusals.add(("value",), error.type, error.message(), value)
            return
        as_written = f"{value.strip()} {unit}".strip() if isinstance(value, str) else None
        reported = self.reported_text or as_written
        if reported:
            quantity = quantity._replace(reported=reported)
        # Private attributes are slow to reach on a pydantic model: fill a local dict.
        quantities = {"value": quantity}
        for name in ("sd", "se", "lod", "loq"):
            extra = getattr(self, name)
            if extra is None:
                continue
            try:
                read = read_quantity(
                    extra if isinstance(extra, str) else (extra, quantity.unit), kind
                )
                if read.unit != quantity.unit:
                    read = convert(read, quantity.unit)
            except (PydanticCustomError, UnitError) as error:
                message = error.message() if isinstance(error, PydanticCustomError) else str(error)
                refusals.add((name,), "invalid", message, extra)
                continue
            quantities[name] = read
            # The document now says what evqc stored: numbers in the value's unit.
            setattr(self, name, read.value)
        self._quantities = quantities
        self.value, self.unit, self.reported_text = value, unit, reported = (
            quantity.value,
            quantity.unit,
            quantity.reported,
        )


class Marker(Part):
    """A protein probed in an assay run (MISEV2018 §4b), and the antibody and load used."""

    protein: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    detected: bool
    antibody_vendor: Text = ""
    antibody_catalogue_number: Text = ""
    antibody_clone: Text = ""
    antibody_lot: Text = ""
    antibody_dilution: Text = Field("", description='e.g. "1:1000"')
    load_protein: Mass = None
    load_particles: ParticleCount = None
    notes: LongText = ""


class Image(Part):
    """A micrograph of single vesicles (MISEV2018 §4c: wide-field and close-up)."""

    technique: ImagingTechnique
    field: ImageField
    magnification: Number = None
    scale_bar: Length = None
    file_name: Text = ""
    caption: Text = ""


# Bins that hold a concentration, so a dilution changes them as it changes a result.
DILUTING_BINS = frozenset({"concentration_density", "concentration"})
BIN_KINDS = {
    "concentration_density": "size_density",
    "concentration": "particle_concentration",
    "percentage": "fraction",
    "count": "particle_count",
}


class SizeDistribution(Part):
    """A particle size distribution as the instrument binned it."""

    weighting: Literal["number", "volume", "intensity"] = "number"
    basis: ResultBasis | None = None
    bin_quantity: Literal["concentration_density", "concentration", "percentage", "count"]
    centre_unit: Annotated[str, StringConstraints(max_length=MAX_UNIT_LENGTH)] = "nm"
    value_unit: Annotated[str, StringConstraints(max_length=MAX_UNIT_LENGTH)] = Field(
        description='The unit of bin_values, e.g. "particle/mL/nm", "%" or "particle"'
    )
    bin_centres: Annotated[list[float], Field(max_length=MAX_BINS)]
    bin_values: Annotated[list[float], Field(max_length=MAX_BINS)]

    @model_validator(mode="after")
    def _check_bins(self) -> SizeDistribution:
        refusals = Refusals("SizeDistribution")
        for name, kind, unit in (
            ("centre_unit", "length", self.centre_unit),
            ("value_unit", BIN_KINDS[self.bin_quantity], self.value_unit),
        ):
            try:
                parse_quantity((1.0, unit), kind)
            except UnitError as error:
                described = kind_named(kind)
                message = BIN_UNIT.format(
                    unit=unit, label=described.label, example=described.unit_label or "particle"
                )
                refusals.add((name,), error.code, message, unit)
        centres, values = self.bin_centres, self.bin_values
        if len(centres) != len(values):
            message = BINS_LENGTHS.format(centres=len(centres), values=len(values))
            refusals.add(("bin_values",), "length_mismatch", message, None)
        for name, numbers in (("bin_centres", centres), ("bin_values", values)):
            for index, number in enumerate(numbers):
                if not math.isfinite(number):
                    message = BINS_NOT_FINITE.format(name=name, index=index)
                    refusals.add((name, index), "not_finite", message, number)
                    break
        for index in range(1, len(centres)):
            if not centres[index] > centres[index - 1]:
                message = BINS_NOT_INCREASING.format(index=index)
                refusals.add(("bin_centres", index), "not_increasing", message, centres[index])
                break
        for index, number in enumerate(values):
            if number < 0:
                message = BINS_NEGATIVE.format(index=index)
                refusals.add(("bin_values", index), "negative", message, number)
                break
        refusals.raise_any()
        return self

    def centres_in(self, unit: str = "nm") -> list[float]:
        """Bin centres in `unit` (of length)."""
        factor = convert(read_quantity((1.0, self.centre_unit), "length"), unit).value
        return [centre * factor for centre in self.bin_centres]


class Assay(Part):
    """One assay run on the batch (or on a sample taken during its process)."""

    method: AssayMethod
    instrument: Text = Field("", description="The instrument's name in the lab")
    operator: Text = Field("", description="Who ran the assay")
    performed_at: Moment
    sop_reference: Text = ""
    sample_stage: SampleStage = SampleStage.FINAL
    isolation_step: Annotated[int, Field(ge=1)] | None = Field(
        None, description="The order of the isolation step an in-process sample followed"
    )
    aliquot: Text = ""
    dilution_factor: DilutionFactor = None
    software_version: Text = ""
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Instrument settings; the ones named in SETTING_KINDS are quantities",
    )
    lysis_buffer: Text = ""
    reducing: bool | None = None
    raw_file: RawFile | None = None
    notes: LongText = ""
    results: Annotated[list[Result], Field(max_length=MAX_RESULTS_PER_ASSAY)] = Field(
        default_factory=list
    )
    markers: list[Marker] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    size_distributions: list[SizeDistribution] = Field(default_factory=list)

    @field_serializer("settings", when_used="json")
    def _settings_json(self, settings: dict[str, Any]) -> dict[str, Any]:
        return settings_json(settings)

    @model_validator(mode="after")
    def _check(self) -> Assay:
        refusals = Refusals("Assay")
        self.settings = _read_settings(self.settings, refusals)
        info = self.method.info
        for index, result in enumerate(self.results):
            self._check_result(index, result, info.attributes, refusals)
        for index, distribution in enumerate(self.size_distributions):
            if distribution.bin_quantity in DILUTING_BINS:
                loc = ("size_distributions", index, "basis")
                self._check_basis(loc, distribution.basis, "size distribution", refusals)
        if self.markers and not info.markers:
            methods = ", ".join(m.value for m in AssayMethod if m.info.markers)
            message = NO_MARKERS.format(method=self.method.value, methods=methods)
            refusals.add(("markers",), "no_markers", message, None)
        if self.images and not info.images:
            methods = ", ".join(m.value for m in AssayMethod if m.info.images)
            message = NO_IMAGES.format(method=self.method.value, methods=methods)
            refusals.add(("images",), "no_images", message, None)
        if self.isolation_step is not None and self.sample_stage != SampleStage.IN_PROCESS:
            refusals.add(("sample_stage",), "stage", STEP_ONLY_IN_PROCESS, self.sample_stage)
        if self.sample_stage == SampleStage.IN_PROCESS and self.isolation_step is None:
            refusals.add(("isolation_step",), "missing_step", IN_PROCESS_NEEDS_STEP, None)
        refusals.raise_any()
        return self

    def _check_result(
        self, index: int, result: Result, reported: frozenset[str], refusals: Refusals
    ) -> None:
        loc = ("results", index)
        if result.attribute not in reported:
            message = NOT_REPORTED_BY.format(
                method=self.method.value,
                attribute=result.attribute,
                reported=", ".join(sorted(reported)) or "no attributes",
            )
            refusals.add((*loc, "attribute"), "not_reported", message, result.attribute)
            return
        attribute = ATTRIBUTES[result.attribute]
        if attribute.dilutes:
            self._check_basis((*loc, "basis"), result.basis, attribute.label, refusals)

    def _check_basis(
        self, loc: tuple[str | int, ...], basis: ResultBasis | None, what: str, refusals: Refusals
    ) -> None:
        """A value that dilution changes says whether it is the diluted sample's or the
        stock's (the NTA trap: some instruments multiply by the dilution, some do not)."""
        dilution = self.dilution_factor.value if self.dilution_factor else 1.0
        if basis is None and dilution != 1.0:
            message = NEEDS_BASIS.format(dilution=dilution, attribute=what)
            refusals.add(loc, "missing_basis", message, None)
        elif basis == ResultBasis.MEASURED and self.dilution_factor is None:
            message = MEASURED_NEEDS_DILUTION.format(attribute=what)
            refusals.add(loc, "missing_dilution", message, basis)


class RuleException(Part):
    """A justified exception to a reporting rule for this batch (MISEV2018 §6)."""

    rule: Annotated[str, StringConstraints(pattern=RULE_ID)]
    justification: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
    ]


class BatchRecord(Part):
    """A whole batch: what it is, how it was made, and how it was tested."""

    model_config = ConfigDict(
        extra="forbid",
        title="evqc batch record, version 1",
        json_schema_extra={"$id": "https://evqc.example.org/schemas/batch-record-1.json"},
    )

    schema_: Literal["evqc.batch-record/1"] = Field(alias="schema")
    lot_number: Annotated[str, StringConstraints(pattern=LOT_NUMBER)]
    product: ProductRef
    status: BatchStatus = BatchStatus.PLANNED
    held_from: BatchStatus | None = Field(
        None, description="For a quarantined batch: the status it returns to when released"
    )
    preparation_term: PreparationTerm | None = None
    description: LongText = ""
    evtrack_id: Text = ""
    parents: list[ParentRef] = Field(default_factory=list)
    source: Source | None = None
    production: Production | None = None
    isolation_steps: list[IsolationStep] = Field(default_factory=list)
    engineering: list[Engineering] = Field(default_factory=list)
    storage: Storage | None = None
    aliquots: list[Aliquot] = Field(default_factory=list)
    assays: list[Assay] = Field(default_factory=list)
    exceptions: list[RuleException] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_references(self) -> BatchRecord:
        refusals = Refusals("BatchRecord")
        source_kind = self.source_kind
        if self.production is not None and source_kind not in (None, SourceKind.CELL_CULTURE):
            message = ONLY_CELL_CULTURE.format(kind=source_kind)
            refusals.add(("production",), "not_cell_culture", message, None)
        if self.held_from is not None and self.status != BatchStatus.QUARANTINED:
            refusals.add(("held_from",), "not_held", HELD_ONLY_WHEN_QUARANTINED, self.held_from)
        orders: set[int] = set()
        for index, step in enumerate(self.isolation_steps):
            if step.order in orders:
                message = DUPLICATE_ORDER.format(order=step.order)
                refusals.add(("isolation_steps", index, "order"), "duplicate", message, step.order)
            orders.add(step.order)
        labels: set[str] = set()
        for index, aliquot in enumerate(self.aliquots):
            if aliquot.label in labels:
                message = DUPLICATE_ALIQUOT.format(label=aliquot.label)
                refusals.add(("aliquots", index, "label"), "duplicate", message, aliquot.label)
            labels.add(aliquot.label)
        for index, assay in enumerate(self.assays):
            if assay.isolation_step is not None and assay.isolation_step not in orders:
                message = NO_SUCH_STEP.format(order=assay.isolation_step)
                loc = ("assays", index, "isolation_step")
                refusals.add(loc, "no_such_step", message, assay.isolation_step)
            if assay.aliquot and assay.aliquot not in labels:
                message = NO_SUCH_ALIQUOT.format(label=assay.aliquot)
                refusals.add(("assays", index, "aliquot"), "no_such_aliquot", message, None)
        parents: set[str] = set()
        for index, parent in enumerate(self.parents):
            loc = ("parents", index, "lot_number")
            if parent.lot_number == self.lot_number:
                refusals.add(loc, "own_parent", OWN_PARENT, parent.lot_number)
            elif parent.lot_number in parents:
                message = DUPLICATE_PARENT.format(lot=parent.lot_number)
                refusals.add(loc, "duplicate", message, parent.lot_number)
            parents.add(parent.lot_number)
        rules: set[str] = set()
        for index, exception in enumerate(self.exceptions):
            if exception.rule in rules:
                message = DUPLICATE_EXCEPTION.format(rule=exception.rule)
                refusals.add(("exceptions", index, "rule"), "duplicate", message, exception.rule)
            rules.add(exception.rule)
        refusals.raise_any()
        return self

    @property
    def source_kind(self) -> SourceKind | None:
        return None if self.source is None else SourceKind(self.source.kind)


# Reading and writing documents
# ------------------------------------------------------------------------------

NOT_AN_OBJECT = "a batch record is a JSON object"


def parse_batch_record(data: object) -> BatchRecord:
    """Check a document (parsed JSON) and return the record, or raise BatchRecordError
    naming the JSON path of every problem."""
    if not isinstance(data, Mapping):
        raise BatchRecordError({"": [{"message": NOT_AN_OBJECT, "code": "invalid"}]})
    _refuse_nul(data)
    try:
        return BatchRecord.model_validate(data)
    except ValidationError as error:
        raise BatchRecordError(errors_by_path(error, data)) from None


@functools.cache
def _adapter(part: Any) -> TypeAdapter[Any]:
    return TypeAdapter(part)


def parse_part(part: Any, data: object) -> Any:
    """Check one part of a record sent on its own (an assay run for an existing batch, a
    step to add): the part, or BatchRecordError naming the JSON path of every problem.
    `part` is a part's class or a union of them (IsolationStep)."""
    if not isinstance(data, Mapping):
        raise BatchRecordError({"": [{"message": "expected a JSON object", "code": "invalid"}]})
    _refuse_nul(data)
    try:
        return _adapter(part).validate_python(data)
    except ValidationError as error:
        raise BatchRecordError(errors_by_path(error, data)) from None


NUL = "contains a NUL character (\\u0000), which no text in evqc may hold"


def _refuse_nul(data: object) -> None:
    """Refuse text with NUL characters wherever it is (PostgreSQL cannot store them),
    naming each place."""
    places = list(itertools.islice(_nul_places(data, ()), 20))
    if places:
        raise BatchRecordError(
            {json_path(loc, data): [{"message": NUL, "code": "nul_character"}] for loc in places}
        )


def _nul_places(data: object, loc: tuple[str | int, ...]) -> Iterator[tuple[str | int, ...]]:
    if isinstance(data, str):
        if "\x00" in data:
            yield loc
    elif isinstance(data, Mapping):
        for key, value in data.items():
            if isinstance(key, str) and "\x00" in key:
                yield (*loc, key)
            else:
                yield from _nul_places(value, (*loc, key))
    elif isinstance(data, list | tuple):
        for index, item in enumerate(data):
            yield from _nul_places(item, (*loc, index))


def batch_record_json(record: BatchRecord) -> dict[str, Any]:
    """The document for a record: defaults left out, except the keys every reader expects."""
    document = record.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    first = {
        "schema": SCHEMA,
        "lot_number": record.lot_number,
        "product": document.pop("product"),
        "status": document.pop("status", record.status.value),
    }
    return {**first, **document}


def batch_record_schema() -> dict[str, Any]:
    """The JSON Schema of the format (docs/batch-record.schema.json is this, written out)."""
    schema = _with_quantity_refs(BatchRecord.model_json_schema(by_alias=True, mode="validation"))
    schema.setdefault("$defs", {})["Quantity"] = QUANTITY_SCHEMA
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def _with_quantity_refs(node: Any) -> Any:
    if node == _QUANTITY_REF_PLACEHOLDER:
        return {"$ref": "#/$defs/Quantity"}
    if isinstance(node, dict):
        return {key: _with_quantity_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_quantity_refs(value) for value in node]
    return node


def write_json_schema(path: Path) -> None:
    path.write_text(json.dumps(batch_record_schema(), indent=2, ensure_ascii=False) + "\n")
