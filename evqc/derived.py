"""Values evqc computes from a batch record instead of letting anyone type them.

ARCHITECTURE: "Derived values are computed, never typed in twice". Each one is a `Derived`:
a quantity built with `parse_quantity`, so it is checked against its kind like any input
(its reported text says "derived"), and the inputs it came from, in words a QA reviewer
can check against the record.

Which measurements count:
- Concentrations are the stock's: a result measured on a diluted sample is multiplied by
  the assay's dilution factor (`stock_value`).
- A result with a "<" or ">" qualifier is a bound, not a value, and is never used.
- Particle concentrations come only from single-particle methods (NTA, TRPS, nano-flow):
  DLS measures an ensemble and counts nothing.
- Where several measurements qualify, the latest by `performed_at` wins (a re-test replaces
  the first); at the same instant, the one listed last in the record.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from evqc.batch_record import Assay, BatchRecord, BiofluidSource, IsolationStep, Result
from evqc.units import KINDS, QuantityValue, convert, parse_quantity
from evqc.vocabulary import (
    ATTRIBUTES,
    IsolationMethod,
    ResultBasis,
    SampleStage,
    Technique,
)

__all__ = [
    "Derived",
    "DerivedValues",
    "StepRecovery",
    "derived_values",
    "particle_protein_ratio",
    "particles_per_cell",
    "particles_per_harvest_ml",
    "pelleting_doses",
    "step_recoveries",
    "stock_value",
    "total_particles",
]

PARTICLES = "particle_concentration"
PROTEIN = "protein_concentration"

# Why a step's recovery could not be computed, for the portal to show.
NO_HARVEST_CONCENTRATION = "no particle concentration measured at harvest"
NO_HARVEST_VOLUME = "no harvest volume"
NO_COLLECTION_VOLUME = "no collection volume"
NO_CONCENTRATION_AFTER = "no particle concentration measured after step {order}"
NO_CONCENTRATION_AFTER_LAST = (
    "no particle concentration measured after step {order} or on the final product"
)
NO_OUTPUT_VOLUME = "step {order} has no output volume"
NONE_ENTERING = "no particles counted entering step {order}"
NOT_FINITE = "the recovery of step {order} is too large to compute"


@dataclass(frozen=True)
class Derived:
    """A computed value and where each of its inputs came from, in words."""

    quantity: QuantityValue
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class StepRecovery:
    """The share of particles one isolation step kept, or why it cannot be computed.

    `recovery` is particles after the step / particles entering it, in % (it may exceed
    100 %: both counts carry measurement error, so it is never clamped); `missing` says
    what is lacking when `recovery` is None.
    """

    order: int
    method: IsolationMethod
    recovery: Derived | None
    particles_in: Derived | None = None
    particles_out: Derived | None = None
    missing: str = ""


@dataclass(frozen=True)
class DerivedValues:
    """Everything evqc derives from one batch record."""

    particle_protein_ratio: Derived | None
    total_particles: Derived | None
    particles_per_cell: Derived | None
    particles_per_harvest_ml: Derived | None
    overall_recovery: Derived | None
    step_recoveries: tuple[StepRecovery, ...]
    # Pelleting dose (g-force x duration, in xg·min) by step order (rules.md M18-SEP-03).
    pelleting_doses: Mapping[int, float]


def _steps(record: BatchRecord) -> list[IsolationStep]:
    """The record's isolation steps in order."""
    return sorted(record.isolation_steps, key=lambda step: step.order)


# Stock values and the measurements that count
# ------------------------------------------------------------------------------


def stock_value(assay: Assay, result: Result) -> QuantityValue | None:
    """The stock's value of a quantitative result: a measured (diluted) concentration times
    the assay's dilution factor, in the result's own unit; otherwise the value as reported.

    None for a qualitative result, and for a measured value without a dilution factor (the
    record format refuses that; this does not rely on it).
    """
    quantity = result.quantity
    if quantity is None:
        return None
    attribute = ATTRIBUTES.get(result.attribute)
    if attribute is None or not attribute.dilutes or result.basis != ResultBasis.MEASURED:
        return quantity
    dilution: QuantityValue | None = assay.dilution_factor
    if dilution is None:
        return None
    kind = quantity.kind
    canonical = quantity.canonical_value * dilution.canonical_value
    if not math.isfinite(canonical):
        return None
    stock = parse_quantity((canonical, kind.unit), kind, field=result.attribute)
    return convert(stock, quantity.unit)._replace(reported=quantity.reported)


@dataclass(frozen=True)
class _Measurement:
    """A result chosen as an input, with its stock value."""

    assay: Assay
    result: Result
    stock: QuantityValue

    @property
    def description(self) -> str:
        """E.g. "particle concentration of the final product by NTA on 2026-03-05:
        2.2e+11 particle/mL (stock: 1.1e+09 particle/mL measured at x200 dilution)"."""
        assay, result = self.assay, self.result
        label = ATTRIBUTES[result.attribute].label
        if assay.sample_stage == SampleStage.HARVEST:
            sample = "the harvest sample"
        elif assay.sample_stage == SampleStage.IN_PROCESS:
            sample = f"the sample after step {assay.isolation_step}"
        else:
            sample = "the final product"
        text = (
            f"{label} of {sample} by {assay.method.label} on "
            f"{assay.performed_at.date().isoformat()}: {self.stock}"
        )
        dilution: QuantityValue | None = assay.dilution_factor
        if dilution is None or not ATTRIBUTES[result.attribute].dilutes:
            return text
        if result.basis == ResultBasis.MEASURED:
            return f"{text} (stock: {result.quantity} measured at x{dilution.value:g} dilution)"
        if result.basis == ResultBasis.STOCK:
            return f"{text} (reported as the stock's; sample diluted x{dilution.value:g})"
        return text


def _latest(
    record: BatchRecord,
    attribute: str,
    technique: Technique,
    stage: SampleStage,
    step: int | None = None,
) -> _Measurement | None:
    """The latest usable `attribute` result of a `technique` method on a `stage` sample
    (taken after isolation step `step`, for in-process samples)."""
    found: list[_Measurement] = []
    for assay in record.assays:
        if assay.sample_stage != stage or assay.method.info.technique != technique:
            continue
        if step is not None and assay.isolation_step != step:
            continue
        for result in assay.results:
            if result.attribute != attribute or result.qualifier:
                continue
            stock = stock_value(assay, result)
            if stock is not None:
                found.append(_Measurement(assay, result, stock))
    if not found:
        return None
    # A stable sort: of measurements made at the same instant, the last listed wins.
    found.sort(key=lambda measurement: measurement.assay.performed_at)
    return found[-1]


def _final_particles(record: BatchRecord) -> _Measurement | None:
    return _latest(record, PARTICLES, Technique.SINGLE_PARTICLE, SampleStage.FINAL)


def _derived(value: float, kind_name: str, inputs: tuple[str, ...]) -> Derived | None:
    """`value` (in the kind's canonical unit) as a checked quantity; None if it overflowed."""
    if not math.isfinite(value):
        return None
    kind = KINDS[kind_name]
    quantity = parse_quantity((value, kind.unit), kind, field=kind_name)
    return Derived(quantity._replace(reported=f"{quantity} (derived)"), inputs)


def _count(measurement: _Measurement, volume: QuantityValue, volume_words: str) -> Derived | None:
    """Particles in a volume: stock particle/mL x mL (both canonical)."""
    return _derived(
        measurement.stock.canonical_value * volume.canonical_value,
        "particle_count",
        (measurement.description, f"{volume_words}: {volume}"),
    )


def _step_words(step_order: int, method: str) -> str:
    return f"output volume of step {step_order} ({IsolationMethod(method).label})"


# The product
# ------------------------------------------------------------------------------


def particle_protein_ratio(record: BatchRecord) -> Derived | None:
    """Particles per µg protein of the final product (MISEV2018 §4a purity index), from the
    latest single-particle particle concentration and the latest protein concentration."""
    particles = _final_particles(record)
    protein = _latest(record, PROTEIN, Technique.PROTEIN, SampleStage.FINAL)
    if particles is None or protein is None or protein.stock.canonical_value == 0:
        return None
    # particle/mL ÷ µg/mL = particle/µg (both canonical).
    return _derived(
        particles.stock.canonical_value / protein.stock.canonical_value,
        "particles_per_mass",
        (particles.description, protein.description),
    )


def total_particles(record: BatchRecord) -> Derived | None:
    """Particles in the product: final particle concentration x the output volume of the
    last isolation step that recorded one."""
    particles = _final_particles(record)
    if particles is None:
        return None
    for step in reversed(_steps(record)):
        if step.output_volume is not None:
            words = f"product volume, {_step_words(step.order, step.method)}"
            return _count(particles, step.output_volume, words)
    return None


def particles_per_cell(record: BatchRecord) -> Derived | None:
    """Total particles / cells counted at harvest (MISEV2018 §4a, per producer cell)."""
    return _particles_per_cell(record, total_particles(record))


def particles_per_harvest_ml(record: BatchRecord) -> Derived | None:
    """Total particles / harvested conditioned medium, in particles per mL harvested."""
    return _particles_per_harvest_ml(record, total_particles(record))


def _particles_per_cell(record: BatchRecord, total: Derived | None) -> Derived | None:
    if total is None or record.production is None:
        return None
    cells: QuantityValue | None = record.production.cell_count_at_harvest
    if cells is None or cells.canonical_value == 0:
        return None
    return _derived(
        total.quantity.canonical_value / cells.canonical_value,
        "particles_per_cell",
        (*total.inputs, f"cell count at harvest: {cells}"),
    )


def _particles_per_harvest_ml(record: BatchRecord, total: Derived | None) -> Derived | None:
    if total is None or record.production is None:
        return None
    volume: QuantityValue | None = record.production.harvest_volume
    if volume is None or volume.canonical_value == 0:
        return None
    return _derived(
        total.quantity.canonical_value / volume.canonical_value,  # particle ÷ mL
        "particle_concentration",
        (*total.inputs, f"harvest volume: {volume}"),
    )


# Recovery per isolation step
# ------------------------------------------------------------------------------


def step_recoveries(record: BatchRecord) -> list[StepRecovery]:
    """Each isolation step's recovery, in order: particles after it / particles entering it.

    1. Particles entering step 1: the latest harvest-stage particle concentration x the
       harvest volume (a biofluid's collection volume).
    2. Particles after step k: the latest particle concentration of a sample taken after
       step k x step k's output volume; after the last step, the final product's
       concentration counts when no in-process sample was measured.
    3. Particles entering step k > 1 are those after step k - 1.
    A step whose recovery cannot be computed is listed with `missing` saying why.
    """
    steps = _steps(record)
    entering, entering_missing = _harvest_particles(record)
    recoveries = []
    for position, step in enumerate(steps):
        order = step.order
        after, after_missing = _particles_after(record, step, last=position == len(steps) - 1)
        missing = [*entering_missing, *after_missing]
        recovery = None
        if entering is not None and after is not None:
            if entering.quantity.canonical_value == 0:
                missing.append(NONE_ENTERING.format(order=order))
            else:
                recovery = _derived(
                    after.quantity.canonical_value / entering.quantity.canonical_value * 100,
                    "relative_percentage",
                    (*entering.inputs, *after.inputs),
                )
                if recovery is None:
                    missing.append(NOT_FINITE.format(order=order))
        recoveries.append(
            StepRecovery(
                order=order,
                method=IsolationMethod(step.method),
                recovery=recovery,
                particles_in=entering,
                particles_out=after,
                missing="; ".join(missing),
            )
        )
        entering, entering_missing = after, after_missing
    return recoveries


def _harvest_particles(record: BatchRecord) -> tuple[Derived | None, list[str]]:
    """Particles harvested (or collected, for a biofluid), or what is missing to count them."""
    missing = []
    concentration = _latest(record, PARTICLES, Technique.SINGLE_PARTICLE, SampleStage.HARVEST)
    if concentration is None:
        missing.append(NO_HARVEST_CONCENTRATION)
    volume: QuantityValue | None
    if record.production is None and isinstance(record.source, BiofluidSource):
        volume, words = record.source.collection_volume, "collection volume of the biofluid"
        if volume is None:
            missing.append(NO_COLLECTION_VOLUME)
    else:
        volume = None if record.production is None else record.production.harvest_volume
        words = "harvest volume"
        if volume is None:
            missing.append(NO_HARVEST_VOLUME)
    if concentration is None or volume is None:
        return None, missing
    return _count(concentration, volume, words), missing


def _particles_after(
    record: BatchRecord, step: IsolationStep, *, last: bool
) -> tuple[Derived | None, list[str]]:
    """Particles after one step, or what is missing to count them."""
    order = step.order
    missing = []
    concentration = _latest(
        record, PARTICLES, Technique.SINGLE_PARTICLE, SampleStage.IN_PROCESS, step=order
    )
    if concentration is None and last:
        concentration = _final_particles(record)
        if concentration is None:
            missing.append(NO_CONCENTRATION_AFTER_LAST.format(order=order))
    elif concentration is None:
        missing.append(NO_CONCENTRATION_AFTER.format(order=order))
    if step.output_volume is None:
        missing.append(NO_OUTPUT_VOLUME.format(order=order))
    if concentration is None or step.output_volume is None:
        return None, missing
    return _count(concentration, step.output_volume, _step_words(order, step.method)), missing


# Centrifugation
# ------------------------------------------------------------------------------


def pelleting_doses(record: BatchRecord) -> dict[int, float]:
    """g-force x duration (xg·min) of each spin step, by step order, so that protocols can
    be compared (rules.md M18-SEP-03); steps without both values are left out."""
    doses = {}
    for step in _steps(record):
        if not IsolationMethod(step.method).spins:
            continue
        g_force: QuantityValue | None = getattr(step.parameters, "g_force", None)
        duration: QuantityValue | None = getattr(step.parameters, "duration", None)
        if g_force is not None and duration is not None:
            doses[step.order] = g_force.canonical_value * duration.canonical_value
    return doses


# Everything at once
# ------------------------------------------------------------------------------


def overall_recovery(record: BatchRecord) -> Derived | None:
    """Particles in the product / particles in the harvest, across every isolation step
    (known even where no in-process sample was measured)."""
    return _overall_recovery(record, total_particles(record))


def _overall_recovery(record: BatchRecord, total: Derived | None) -> Derived | None:
    harvest, _ = _harvest_particles(record)
    if harvest is None or total is None or harvest.quantity.canonical_value == 0:
        return None
    percentage = total.quantity.canonical_value / harvest.quantity.canonical_value * 100
    return _derived(percentage, "relative_percentage", (*harvest.inputs, *total.inputs))


def derived_values(record: BatchRecord) -> DerivedValues:
    """All derived values of a record (total particles computed once)."""
    total = total_particles(record)
    return DerivedValues(
        particle_protein_ratio=particle_protein_ratio(record),
        total_particles=total,
        particles_per_cell=_particles_per_cell(record, total),
        particles_per_harvest_ml=_particles_per_harvest_ml(record, total),
        overall_recovery=_overall_recovery(record, total),
        step_recoveries=tuple(step_recoveries(record)),
        pelleting_doses=MappingProxyType(pelleting_doses(record)),
    )
