"""MISEV2018 rules (Théry et al., J Extracell Vesicles 2018;7:1535750): nomenclature,
pre-analytics of cell cultures, biofluids and tissues, separation, quantification, markers,
single-vesicle characterisation, storage and reporting. Ids, wording and confidence tags
follow ../shared/design/rules.md §2.1-2.9; the rules evqc cannot check are left out with
the reason. M18-REP-01 reads the other rules' findings and lives in catalogue_reporting.

Each check returns what is missing, in words a scientist can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from evqc.batch_record import Assay, BatchRecord, BiofluidSource, Parameters
from evqc.guidelines import Confidence, Severity, left_out, rule
from evqc.markers import MarkerCategory, resolve_marker
from evqc.vocabulary import (
    ImageField,
    IsolationMethod,
    PreparationTerm,
    SampleStage,
    SourceKind,
    StepPurpose,
    Technique,
)

M18 = "misev2018"
C, S, U = Confidence.CONFIRMED, Confidence.SECONDARY, Confidence.UNVERIFIED
REQUIRED, RECOMMENDED = Severity.REQUIRED, Severity.RECOMMENDED
INFORMATIONAL = Severity.INFORMATIONAL

SIZES = ("size_mode", "size_mean", "size_d50")
HIGH_SPEED = {IsolationMethod.ULTRACENTRIFUGATION, IsolationMethod.DENSITY_GRADIENT}
MEMBRANES = {IsolationMethod.FILTRATION, IsolationMethod.ULTRAFILTRATION, IsolationMethod.TFF}
KITS = {IsolationMethod.PRECIPITATION, IsolationMethod.KIT, IsolationMethod.IMMUNOAFFINITY}
# Category-2 proteins that are also found in exomeres (MISEV2018 box; rules.md M18-MRK-02).
PROMISCUOUS = {"HSPA8", "HSP90AB1"}


# Facts about a record
# ------------------------------------------------------------------------------


def _final(record: BatchRecord) -> list[Assay]:
    return [assay for assay in record.assays if assay.sample_stage == SampleStage.FINAL]


def _by_technique(record: BatchRecord, technique: Technique) -> list[Assay]:
    return [assay for assay in _final(record) if assay.method.info.technique == technique]


def _reports(assays: Iterable[Assay], attributes: Iterable[str]) -> bool:
    wanted = set(attributes)
    return any(result.attribute in wanted for assay in assays for result in assay.results)


def _steps(record: BatchRecord, methods: set[IsolationMethod]) -> list[object]:
    return [step for step in record.isolation_steps if IsolationMethod(step.method) in methods]


def _unset(parameters: Parameters, names: Sequence[str]) -> list[str]:
    """The named parameters a step left empty."""
    return [name for name in names if getattr(parameters, name) in (None, "")]


def _per_step(
    steps: Iterable[object], needed: Sequence[str], *, either: Sequence[str] = ()
) -> list[str]:
    """'step 2 (ultracentrifugation): rotor, k_factor' for each step missing parameters;
    `either` lists parameters of which one is enough."""
    missing = []
    for step in steps:
        lacking = _unset(step.parameters, needed)  # type: ignore[attr-defined]
        if either and len(_unset(step.parameters, either)) == len(either):  # type: ignore[attr-defined]
            lacking.append(" or ".join(either))
        if lacking:
            missing.append(f"step {step.order} ({step.method}): {', '.join(lacking)}")  # type: ignore[attr-defined]
    return missing


def _positive_markers(record: BatchRecord) -> dict[str, MarkerCategory | None]:
    """Proteins detected in the final product, by HGNC symbol, with their category."""
    found: dict[str, MarkerCategory | None] = {}
    for assay in _final(record):
        for marker in assay.markers:
            if marker.detected:
                known = resolve_marker(marker.protein)
                symbol = known.symbol if known else marker.protein.upper()
                found[symbol] = known.category if known else None
    return found


def _assessed_categories(record: BatchRecord) -> set[MarkerCategory]:
    """Categories of the proteins probed at all (present or absent) in the final product."""
    categories = set()
    for assay in _final(record):
        for marker in assay.markers:
            known = resolve_marker(marker.protein)
            if known is not None:
                categories.add(known.category)
    return categories


# §3 Separation and concentration
# ------------------------------------------------------------------------------


@rule(
    "M18-SEP-01",
    catalogue=M18,
    guideline="MISEV2018 §3",
    severity=REQUIRED,
    confidence=S,
    title="Every separation and concentration step is described, in order",
    message="No isolation step is recorded, so nobody can repeat how the EVs were separated.",
    how_to_fix="Record each isolation step in order with its method and parameters.",
)
def separation_steps(record: BatchRecord) -> list[str]:
    return [] if record.isolation_steps else ["isolation steps"]


@rule(
    "M18-SEP-02",
    catalogue=M18,
    guideline="MISEV2018 §3; EV-METRIC",
    severity=REQUIRED,
    confidence=C,
    title="Centrifugation steps report g-force, time, temperature, rotor, k-factor",
    message="A centrifugation step lacks what is needed to repeat it (for ultracentrifugation "
    "and density gradients: rotor and k-factor too).",
    how_to_fix="Add g-force (and whether average or maximum), duration and temperature to "
    "every spin; rotor and k-factor to every ultracentrifugation or gradient spin.",
    applies=lambda record: bool(_steps(record, {IsolationMethod.CENTRIFUGATION} | HIGH_SPEED)),
)
def centrifugation_specifics(record: BatchRecord) -> list[str]:
    low = _per_step(
        _steps(record, {IsolationMethod.CENTRIFUGATION}), ("g_force", "duration", "temperature")
    )
    high = _per_step(
        _steps(record, HIGH_SPEED), ("g_force", "duration", "temperature", "rotor", "k_factor")
    )
    return sorted(low + high)


@rule(
    "M18-SEP-04",
    catalogue=M18,
    guideline="MISEV2018 §3",
    severity=REQUIRED,
    confidence=U,
    title="Density gradients report medium, range, fractions and EV-fraction density",
    message="A density gradient lacks what is needed to repeat it or to place the EVs in it.",
    how_to_fix="Record the gradient medium, its range, the number of fractions and the "
    "density of the EV-positive fractions.",
    applies=lambda record: bool(_steps(record, {IsolationMethod.DENSITY_GRADIENT})),
)
def density_gradient_specifics(record: BatchRecord) -> list[str]:
    return _per_step(
        _steps(record, {IsolationMethod.DENSITY_GRADIENT}),
        ("gradient_medium", "gradient_range", "fraction_count", "ev_fraction_density"),
    )


@rule(
    "M18-SEP-05",
    catalogue=M18,
    guideline="MISEV2018 §3",
    severity=REQUIRED,
    confidence=U,
    title="Size-exclusion chromatography reports resin or column, load and fractions pooled",
    message="An SEC step lacks its resin or column, load volume or the fractions pooled.",
    how_to_fix="Record the resin or prepacked column, the sample load volume and which "
    "fractions were pooled.",
    applies=lambda record: bool(_steps(record, {IsolationMethod.SEC})),
)
def sec_specifics(record: BatchRecord) -> list[str]:
    return _per_step(
        _steps(record, {IsolationMethod.SEC}),
        ("load_volume", "fractions_pooled"),
        either=("resin", "column"),
    )


@rule(
    "M18-SEP-06",
    catalogue=M18,
    guideline="MISEV2018 §3",
    severity=REQUIRED,
    confidence=U,
    title="Filtration, ultrafiltration and TFF report pore size or MWCO, membrane and device",
    message="A membrane step lacks its pore size or cut-off, membrane material or device: "
    "recovery depends on them.",
    how_to_fix="Record the pore size (µm) or MWCO (kDa), the membrane material and the device.",
    applies=lambda record: bool(_steps(record, MEMBRANES)),
)
def membrane_specifics(record: BatchRecord) -> list[str]:
    return _per_step(
        _steps(record, MEMBRANES), ("membrane_material", "device"), either=("pore_size", "mwco")
    )


@rule(
    "M18-SEP-07",
    catalogue=M18,
    guideline="MISEV2018 §3",
    severity=REQUIRED,
    confidence=S,
    title="Precipitation, kits and immunoaffinity report product, lot and capture target",
    message="A kit, precipitation or immunoaffinity step lacks its product, lot or target.",
    how_to_fix="Record the kit or reagent and its lot; for immunoaffinity, the capture "
    "target and antibody.",
    applies=lambda record: bool(_steps(record, KITS)),
)
def kit_specifics(record: BatchRecord) -> list[str]:
    missing = _per_step(
        _steps(record, {IsolationMethod.PRECIPITATION}),
        ("kit_lot",),
        either=("reagent", "kit_name"),
    )
    missing += _per_step(_steps(record, {IsolationMethod.KIT}), ("kit_name", "kit_lot"))
    missing += _per_step(
        _steps(record, {IsolationMethod.IMMUNOAFFINITY}),
        ("capture_target",),
        either=("antibody", "kit_name"),
    )
    return sorted(missing)


# §4a Quantification
# ------------------------------------------------------------------------------


@rule(
    "M18-QNT-02",
    catalogue=M18,
    guideline="MISEV2018 §4a",
    severity=REQUIRED,
    confidence=C,
    title="EVs are quantified globally by at least two methods",
    message="The EVs are not quantified by two methods (particle number and total protein).",
    how_to_fix="Measure the particle concentration (NTA, TRPS, nano-flow) and the protein "
    "concentration (BCA, microBCA, Qubit, Bradford) of the final product.",
)
def global_quantification(record: BatchRecord) -> list[str]:
    missing = []
    if not _reports(_by_technique(record, Technique.SINGLE_PARTICLE), ["particle_concentration"]):
        missing.append("particle concentration")
    if not _reports(_by_technique(record, Technique.PROTEIN), ["protein_concentration"]):
        missing.append("protein concentration")
    return missing


@rule(
    "M18-QNT-03",
    catalogue=M18,
    guideline="MISEV2018 §4a",
    severity=RECOMMENDED,
    confidence=S,
    title="The particle-to-protein ratio is reported as a purity indicator",
    message="Without both particle and protein concentrations evqc cannot compute the "
    "particle-to-protein ratio (decision 2: a warning, not a gap).",
    how_to_fix="Measure both; evqc computes the ratio.",
)
def particle_protein_ratio(record: BatchRecord) -> list[str]:
    return ["particle-to-protein ratio"] if global_quantification(record) else []


@rule(
    "M18-QNT-04",
    catalogue=M18,
    guideline="MISEV2018 §4a",
    severity=REQUIRED,
    confidence=U,
    title="Particle measurements report instrument, software version, settings and dilution",
    message="A particle measurement lacks the metadata needed to compare or repeat it.",
    how_to_fix="Record the instrument, software version and dilution factor of every "
    "particle measurement, and the camera level and detection threshold of NTA runs.",
    applies=lambda record: bool(_by_technique(record, Technique.SINGLE_PARTICLE)),
)
def particle_assay_metadata(record: BatchRecord) -> list[str]:
    missing = []
    for index, assay in enumerate(record.assays):
        if assay.method.info.technique != Technique.SINGLE_PARTICLE:
            continue
        lacking = [
            name
            for name, given in (
                ("instrument", assay.instrument),
                ("software_version", assay.software_version),
                ("dilution_factor", assay.dilution_factor),
            )
            if not given
        ]
        if assay.method == "nta":
            lacking += [
                s for s in ("camera_level", "detection_threshold") if s not in assay.settings
            ]
        if lacking:
            missing.append(f"assay {index + 1} ({assay.method}): {', '.join(lacking)}")
    return missing


# §4b Protein markers (Table 3)
# ------------------------------------------------------------------------------


@rule(
    "M18-MRK-01",
    catalogue=M18,
    guideline="MISEV2018 §4b, Table 3",
    severity=REQUIRED,
    confidence=S,
    title="At least 3 positive EV proteins, with category 1 and category 2",
    message="The EV identity is not shown: MISEV2018 asks for at least three EV proteins "
    "detected, at least one transmembrane (category 1) and one cytosolic (category 2).",
    how_to_fix="Probe tetraspanins (CD9, CD63, CD81) and cytosolic proteins (TSG101, ALIX, "
    "syntenin) in the final product.",
)
def positive_markers(record: BatchRecord) -> list[str]:
    positive = _positive_markers(record)
    ev_proteins = [
        s
        for s, category in positive.items()
        if category in {MarkerCategory.TRANSMEMBRANE, MarkerCategory.CYTOSOLIC}
    ]
    missing = []
    if len(ev_proteins) < 3:
        missing.append(f"{3 - len(ev_proteins)} more detected category-1 or -2 protein(s)")
    if MarkerCategory.TRANSMEMBRANE not in positive.values():
        missing.append("a detected category-1 (transmembrane) protein")
    if MarkerCategory.CYTOSOLIC not in positive.values():
        missing.append("a detected category-2 (cytosolic) protein")
    return missing


@rule(
    "M18-MRK-02",
    catalogue=M18,
    guideline="MISEV2018 §4b, box on exomeres",
    severity=RECOMMENDED,
    confidence=C,
    title="Cytosolic evidence is not only proteins also found in exomeres",
    message="The only cytosolic proteins detected (category 2b, HSPA8, HSP90AB1) are also "
    "found in exomeres, so they do not show EVs on their own.",
    how_to_fix="Add an EV-specific cytosolic protein such as TSG101, ALIX or syntenin.",
    applies=lambda record: any(
        category == MarkerCategory.CYTOSOLIC for category in _positive_markers(record).values()
    ),
)
def not_only_promiscuous(record: BatchRecord) -> list[str]:
    for symbol in _positive_markers(record):
        known = resolve_marker(symbol)
        if known and known.subcategory == "2a" and symbol not in PROMISCUOUS:
            return []
    return ["a detected category-2a protein other than HSPA8 or HSP90AB1"]


def _negative_marker_is_only_a_warning(record: BatchRecord) -> bool:
    """Decision 3: category 4 alone is enough for a warning, not a gap, for cell-culture
    EVs made without serum or platelet lysate."""
    production = record.production
    serum_free = (
        record.source_kind == SourceKind.CELL_CULTURE
        and production is not None
        and production.supplement_type is not None
        and not production.supplement_type.brings_evs
    )
    return serum_free and MarkerCategory.OTHER_COMPARTMENT in _assessed_categories(record)


@rule(
    "M18-MRK-03",
    catalogue=M18,
    guideline="MISEV2018 §4b",
    severity=REQUIRED,
    confidence=S,
    title="A purity (category-3) protein fitting the source is assessed",
    message="No co-isolated contaminant (category 3: lipoproteins such as APOA1 or APOB, "
    "albumin, UMOD for urine) was probed, so purity is not shown.",
    how_to_fix="Probe a category-3 protein that fits the source (APOA1/APOB/ALB for plasma "
    "or serum-containing medium).",
    lenient=_negative_marker_is_only_a_warning,
)
def purity_marker(record: BatchRecord) -> list[str]:
    if MarkerCategory.NON_EV_COISOLATE in _assessed_categories(record):
        return []
    return ["an assessed category-3 (non-EV co-isolate) protein"]


@rule(
    "M18-MRK-06",
    catalogue=M18,
    guideline="MISEV2018 §4b; EV-METRIC",
    severity=REQUIRED,
    confidence=C,
    title="Immunoassays report antibody, dilution, lysis and load",
    message="An immunoassay lacks its antibody details, lysis buffer or load, which EV-METRIC "
    "asks for.",
    how_to_fix="For every marker record the antibody clone or catalogue number and dilution; "
    "for the run, the lysis buffer, reducing conditions (western blot) and the load.",
    applies=lambda record: any(a.markers and a.method.info.antibody for a in record.assays),
)
def immunoassay_details(record: BatchRecord) -> list[str]:
    missing = []
    for index, assay in enumerate(record.assays):
        if not (assay.markers and assay.method.info.antibody):
            continue
        where = f"assay {index + 1} ({assay.method})"
        lacking = sorted(
            {
                marker.protein
                for marker in assay.markers
                if not (marker.antibody_clone or marker.antibody_catalogue_number)
                or not marker.antibody_dilution
            }
        )
        if lacking:
            missing.append(f"{where}: antibody and dilution for {', '.join(lacking)}")
        if assay.method.info.lysate and not assay.lysis_buffer:
            missing.append(f"{where}: lysis buffer")
        if assay.method == "western_blot":
            if assay.reducing is None:
                missing.append(f"{where}: reducing or non-reducing")
            if not any(m.load_protein or m.load_particles for m in assay.markers):
                missing.append(f"{where}: load (µg protein or particles per lane)")
    return missing


# §4c Single-vesicle characterisation
# ------------------------------------------------------------------------------


@rule(
    "M18-SGL-01",
    catalogue=M18,
    guideline="MISEV2018 §4c",
    severity=REQUIRED,
    confidence=C,
    title="Single EVs are imaged, wide-field and close-up",
    message="No micrographs of single EVs (EM, cryo-EM, AFM) in both wide-field and close-up.",
    how_to_fix="Record an imaging assay (TEM, cryo-EM, AFM) with a wide-field and a "
    "close-up image.",
)
def single_vesicle_images(record: BatchRecord) -> list[str]:
    fields = {image.field for assay in _final(record) for image in assay.images}
    return [f"a {field.label} image" for field in ImageField if field not in fields]


@rule(
    "M18-SGL-02",
    catalogue=M18,
    guideline="MISEV2018 §4c",
    severity=REQUIRED,
    confidence=C,
    title="A non-imaging single-particle method gives the size distribution",
    message="No single-particle method (NTA, TRPS, nano-flow) measured the EVs' concentration "
    "and size distribution.",
    how_to_fix="Measure the final product by NTA, TRPS or nano-flow cytometry and record its "
    "particle concentration and size (mode, mean or D50, or the binned distribution).",
)
def single_particle_sizes(record: BatchRecord) -> list[str]:
    assays = _by_technique(record, Technique.SINGLE_PARTICLE)
    missing = []
    if not _reports(assays, ["particle_concentration"]):
        missing.append("particle concentration by a single-particle method")
    if not (_reports(assays, SIZES) or any(a.size_distributions for a in assays)):
        missing.append("size by a single-particle method")
    return missing


@rule(
    "M18-SGL-03",
    catalogue=M18,
    guideline="MISEV2018 §4c",
    severity=REQUIRED,
    confidence=S,
    title="Single EVs are characterised by an imaging and a particle-counting method",
    message="Single-vesicle evidence must rest on two principles: imaging and particle "
    "counting. DLS is a bulk method and does not count.",
    how_to_fix="Record both an imaging assay (TEM, cryo-EM, AFM) and a single-particle assay "
    "(NTA, TRPS, nano-flow).",
)
def two_principles(record: BatchRecord) -> list[str]:
    missing = []
    if not _by_technique(record, Technique.IMAGING):
        missing.append("an imaging method")
    if not _by_technique(record, Technique.SINGLE_PARTICLE):
        missing.append("a single-particle counting method")
    return missing


# §2/§3 Storage
# ------------------------------------------------------------------------------


@rule(
    "M18-STO-01",
    catalogue=M18,
    guideline="MISEV2018 §2/§3",
    severity=REQUIRED,
    confidence=U,
    title="Storage of the EV preparation is reported",
    message="How the EVs were stored (temperature, buffer, container, freeze-thaw cycles) is "
    "not recorded; each of these changes EVs.",
    how_to_fix="Record the storage temperature, buffer, container and freeze-thaw cycles.",
)
def storage(record: BatchRecord) -> list[str]:
    if record.storage is None:
        return ["storage"]
    stored = record.storage
    return [
        name
        for name, given in (
            ("temperature", stored.temperature),
            ("buffer", stored.buffer),
            ("container", stored.container),
            ("freeze_thaw_cycles", stored.freeze_thaw_cycles),
        )
        if given in (None, "")
    ]


# §2a Cell-culture-conditioned medium
# ------------------------------------------------------------------------------


def _cell_culture(record: BatchRecord) -> bool:
    return record.source_kind == SourceKind.CELL_CULTURE


def _missing(part: object, names: Sequence[str], *, prefix: str) -> list[str]:
    """`prefix.name` for each named field the part leaves empty (or the part itself)."""
    if part is None:
        return [prefix]
    return [f"{prefix}.{name}" for name in names if getattr(part, name) in (None, "")]


def _one_of(part: object, names: Sequence[str], *, prefix: str) -> list[str]:
    if part is not None and any(getattr(part, name) not in (None, "") for name in names):
        return []
    return [" or ".join(f"{prefix}.{name}" for name in names)]


@rule(
    "M18-CC-01",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=REQUIRED,
    confidence=S,
    title="The producer cells are identified and authenticated",
    message="The producer cells are not fully identified: species, cell type, line or donor, "
    "and how their identity was authenticated.",
    how_to_fix="Record the cell source's species, cell type, cell line (RRID) or donor, and "
    "the authentication method (e.g. STR).",
    applies=_cell_culture,
)
def producer_cells(record: BatchRecord) -> list[str]:
    source = record.source
    return _missing(source, ("species", "cell_type", "authentication_method"), prefix="source") + (
        _one_of(source, ("cell_line", "donor"), prefix="source")
    )


@rule(
    "M18-CC-02",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=REQUIRED,
    confidence=U,
    title="The passage number (or population doublings) at conditioning is recorded",
    message="The cells' passage at conditioning is not recorded; EV output changes with it.",
    how_to_fix="Record the passage number or the population doublings of the production run.",
    applies=_cell_culture,
)
def passage(record: BatchRecord) -> list[str]:
    return _one_of(
        record.production, ("passage_number", "population_doublings"), prefix="production"
    )


@rule(
    "M18-CC-03",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=REQUIRED,
    confidence=S,
    title="Seeding and confluence (or cell count) at harvest are recorded",
    message="How densely the cells were seeded, or how confluent they were at harvest, is not "
    "recorded.",
    how_to_fix="Record the seeding density (or seeded cells) and the confluence or cell count "
    "at harvest.",
    applies=_cell_culture,
)
def seeding(record: BatchRecord) -> list[str]:
    production = record.production
    return _one_of(production, ("seeding_density", "seeded_cells"), prefix="production") + (
        _one_of(
            production, ("confluence_at_harvest", "cell_count_at_harvest"), prefix="production"
        )
    )


@rule(
    "M18-CC-04",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=REQUIRED,
    confidence=S,
    title="Cell viability at harvest and its method are recorded",
    message="Cell viability at harvest is not recorded: dying cells release other vesicles.",
    how_to_fix="Record the viability at harvest and how it was measured (e.g. trypan blue).",
    applies=_cell_culture,
)
def viability(record: BatchRecord) -> list[str]:
    return _missing(
        record.production, ("viability_at_harvest", "viability_method"), prefix="production"
    )


@rule(
    "M18-CC-05",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=REQUIRED,
    confidence=S,
    title="Medium and supplements, and any EV depletion, are recorded",
    message="The medium is not fully described: serum or platelet lysate brings its own EVs, so "
    "its share and its EV depletion (how, and whether verified) matter.",
    how_to_fix="Record the base medium and supplement; for serum or platelet lysate its "
    "concentration, and for EV-depleted supplements the depletion method and whether the "
    "depletion was verified.",
    applies=_cell_culture,
)
def medium(record: BatchRecord) -> list[str]:
    production = record.production
    missing = _missing(production, ("base_medium", "supplement_type"), prefix="production")
    supplement = production.supplement_type if production else None
    if supplement is not None and supplement.brings_evs:
        missing += _missing(production, ("supplement_concentration",), prefix="production")
        if supplement.value.startswith("ev_depleted"):
            missing += _missing(
                production, ("ev_depletion_method", "ev_depletion_verified"), prefix="production"
            )
    return missing


@rule(
    "M18-CC-06",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=REQUIRED,
    confidence=U,
    title="The conditioning time is recorded",
    message="How long the medium was conditioned by the cells is not recorded.",
    how_to_fix="Record when conditioning started and ended.",
    applies=_cell_culture,
)
def conditioning_time(record: BatchRecord) -> list[str]:
    return _missing(
        record.production,
        ("conditioning_started_at", "conditioning_ended_at"),
        prefix="production",
    )


@rule(
    "M18-CC-07",
    catalogue=M18,
    guideline="MISEV2018 §4a",
    severity=REQUIRED,
    confidence=C,
    title="The volume of conditioned medium and the number of producer cells are recorded",
    message="Without the harvested volume and the producer-cell number, yields cannot be "
    "expressed per mL or per cell.",
    how_to_fix="Record the harvest volume and the cell count at harvest.",
    applies=_cell_culture,
)
def source_quantity(record: BatchRecord) -> list[str]:
    return _missing(
        record.production, ("harvest_volume", "cell_count_at_harvest"), prefix="production"
    )


@rule(
    "M18-CC-08",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=RECOMMENDED,
    confidence=U,
    title="Culture format and environment are recorded",
    message="The culture vessel and environment (temperature, CO2) are not fully recorded.",
    how_to_fix="Record the vessel or bioreactor type, the temperature and CO2 (and O2 under "
    "hypoxia, and any priming treatment).",
    applies=_cell_culture,
)
def culture_environment(record: BatchRecord) -> list[str]:
    return _missing(record.production, ("vessel_type", "temperature", "co2"), prefix="production")


@rule(
    "M18-CC-09",
    catalogue=M18,
    guideline="MISEV2018 §2a",
    severity=REQUIRED,
    confidence=S,
    title="The producer cells' mycoplasma status is recorded",
    message="The producer cells' mycoplasma status is not recorded (or they were not tested).",
    how_to_fix="Record the cell source's mycoplasma result, method and test date.",
    applies=_cell_culture,
)
def mycoplasma(record: BatchRecord) -> list[str]:
    source = record.source
    status = getattr(source, "mycoplasma_status", "")
    return [] if status in {"negative", "positive"} else ["source.mycoplasma_status"]


@rule(
    "M18-CC-10",
    catalogue=M18,
    guideline="MISEV2018 §2a/§3",
    severity=REQUIRED,
    confidence=U,
    title="Harvest pre-processing and the hold before separation are recorded",
    message="The cell and debris removal steps, or the hold time and temperature before "
    "separation, are not recorded.",
    how_to_fix="Record the clarification spins or filtration as pre-processing steps, and the "
    "harvest hold duration and temperature.",
    applies=_cell_culture,
)
def pre_processing(record: BatchRecord) -> list[str]:
    steps = [s for s in record.isolation_steps if s.purpose == "pre_processing"]
    missing = [] if steps else ["a pre-processing (clarification) step"]
    return missing + _missing(
        record.production,
        ("harvest_hold_duration", "harvest_hold_temperature"),
        prefix="production",
    )


# §2b Biofluids and tissues
# ------------------------------------------------------------------------------

# Biofluids made from blood: their collection and processing change the EVs found
# (ISEV blood task force: tube, anticoagulant and processing interval must be reported).
BLOOD = {"plasma", "serum"}


def _biofluid(record: BatchRecord) -> bool:
    return record.source_kind == SourceKind.BIOFLUID


def _blood(record: BatchRecord) -> bool:
    return isinstance(record.source, BiofluidSource) and record.source.material in BLOOD


def _tissue(record: BatchRecord) -> bool:
    return record.source_kind == SourceKind.TISSUE


def _own_source(record: BatchRecord) -> bool:
    """The batch starts from source material of its own; a batch pooled or split from
    other batches records none (its source and harvest are its parents')."""
    return record.source is not None


@rule(
    "M18-BF-01",
    catalogue=M18,
    guideline="MISEV2018 §2b",
    severity=REQUIRED,
    confidence=S,
    title="The donor's health status and covariates (age, sex) are recorded",
    message="Who the biofluid or tissue came from is not described: health or disease "
    "status, age and sex change the EVs a donor's material carries.",
    how_to_fix="Record the subject's health or disease status, and for a biofluid the "
    "donor's age and sex (fasting and medication too, where known).",
    applies=lambda record: _biofluid(record) or _tissue(record),
)
def subject(record: BatchRecord) -> list[str]:
    # A tissue source records the subject's health status but no age or sex.
    names = ("health_status", "age", "sex") if _biofluid(record) else ("health_status",)
    return _missing(record.source, names, prefix="source")


@rule(
    "M18-BF-02",
    catalogue=M18,
    guideline="MISEV2018 §2b",
    severity=REQUIRED,
    confidence=S,
    title="The collection procedure is recorded: needle, tube, anticoagulant, discard tube, "
    "volume",
    message="How the biofluid was collected is not fully recorded: for blood the needle, "
    "tube, anticoagulant and discard tube change platelet activation and so the EVs; for "
    "every fluid the volume collected fixes the yield per mL.",
    how_to_fix="Record the collected volume; for plasma or serum also the needle gauge, the "
    'tube type, the anticoagulant ("none" for serum) and whether a discard tube was drawn.',
    applies=_biofluid,
)
def collection(record: BatchRecord) -> list[str]:
    if _blood(record):
        names = ("needle_gauge", "tube_type", "anticoagulant", "discard_tube")
        return _missing(record.source, (*names, "collection_volume"), prefix="source")
    return _missing(record.source, ("collection_volume",), prefix="source")


@rule(
    "M18-BF-03",
    catalogue=M18,
    guideline="MISEV2018 §2b; ISEV Blood EV TF",
    severity=REQUIRED,
    confidence=C,
    title="The time and temperature from blood collection to processing are recorded",
    message="The blood processing interval or the temperature the blood was held at is not "
    "recorded; the ISEV blood task force makes both mandatory, as blood cells keep "
    "releasing EVs while they wait.",
    how_to_fix="Record the interval from collection to the first spin (e.g. 45 min) and the "
    "temperature the blood was held at.",
    applies=_blood,
)
def processing_interval(record: BatchRecord) -> list[str]:
    return _missing(record.source, ("processing_interval", "hold_temperature"), prefix="source")


@rule(
    "M18-BF-04",
    catalogue=M18,
    guideline="MISEV2018 §2b",
    severity=REQUIRED,
    confidence=S,
    title="Every spin preparing the plasma or serum is recorded",
    message="How the blood was made into plasma or serum is not fully recorded: the spins "
    "decide how many platelets, and platelet EVs, remain.",
    how_to_fix="Record each plasma or serum preparation spin as a pre-processing isolation "
    "step with its g-force, duration and temperature.",
    applies=_blood,
)
def plasma_preparation(record: BatchRecord) -> list[str]:
    steps = [s for s in record.isolation_steps if s.purpose == StepPurpose.PRE_PROCESSING]
    if not steps:
        return ["a pre-processing step (the plasma or serum preparation spins)"]
    spins = [s for s in steps if IsolationMethod(s.method).spins]
    return _per_step(spins, ("g_force", "duration", "temperature"))


@rule(
    "M18-BF-05",
    catalogue=M18,
    guideline="MISEV2018 §2b",
    severity=REQUIRED,
    confidence=S,
    title="Storage of the biofluid before separation is recorded",
    message="How the biofluid was kept before EV separation (temperature, time, freeze-thaw "
    "cycles) is not recorded; storage and thawing change EV counts.",
    how_to_fix="Record the biofluid's storage temperature, storage duration and freeze-thaw "
    "cycles (0 days and 0 cycles for a fluid processed fresh).",
    applies=_biofluid,
)
def biofluid_storage(record: BatchRecord) -> list[str]:
    return _missing(
        record.source,
        ("storage_temperature", "storage_duration", "freeze_thaw_cycles"),
        prefix="source",
    )


@rule(
    "M18-BF-06",
    catalogue=M18,
    guideline="MIBlood-EV (ISEV Blood EV TF)",
    severity=RECOMMENDED,
    confidence=C,
    title="The quality of the plasma or serum (haemolysis) is reported",
    message="The plasma or serum's quality is not reported: haemolysis releases red-cell EVs "
    "and haemoglobin into the preparation.",
    how_to_fix="Measure the free haemoglobin of the plasma or serum (e.g. absorbance at "
    "414 nm) and record it.",
    applies=_blood,
)
def plasma_quality(record: BatchRecord) -> list[str]:
    return _missing(record.source, ("free_haemoglobin",), prefix="source")


@rule(
    "M18-BF-07",
    catalogue=M18,
    guideline="MISEV2018 §2b",
    severity=REQUIRED,
    confidence=U,
    title="Tissue mass and the dissociation (enzyme, time, temperature) are recorded",
    message="The tissue's mass or how it was dissociated is not recorded: yields are given "
    "per mg of tissue, and harsh dissociation breaks cells into vesicles that are not EVs.",
    how_to_fix='Record the tissue mass, the dissociation enzyme (or "none, mechanical"), '
    "and the dissociation duration and temperature.",
    applies=_tissue,
)
def tissue_dissociation(record: BatchRecord) -> list[str]:
    return _missing(
        record.source,
        (
            "tissue_mass",
            "dissociation_enzyme",
            "dissociation_duration",
            "dissociation_temperature",
        ),
        prefix="source",
    )


# §1 Nomenclature
# ------------------------------------------------------------------------------

# Terms that name a biogenesis route, which evqc holds no evidence for.
BIOGENESIS_TERMS = {
    PreparationTerm.EXOSOME,
    PreparationTerm.MICROVESICLE,
    PreparationTerm.ECTOSOME,
}
SUBTYPE_TERMS = {PreparationTerm.SEV, PreparationTerm.M_LEV}


def _subtype_claimed(record: BatchRecord) -> bool:
    return record.preparation_term in SUBTYPE_TERMS


@rule(
    "M18-NOM-01",
    catalogue=M18,
    guideline="MISEV2018 §1",
    severity=REQUIRED,
    confidence=S,
    title='The preparation is named with a generic term ("EV"), not a biogenesis term',
    message='What the preparation is called is not recorded, or it is called "exosome" (or '
    '"microvesicle", "ectosome"): a biogenesis term needs evidence of the route the '
    "vesicles were made by, which evqc does not hold.",
    how_to_fix='Record the preparation term: "ev", or "sev" / "m_lev" with a size criterion '
    '(M18-NOM-02), or "ep" when the vesicular nature is not shown.',
)
def preparation_term(record: BatchRecord) -> list[str]:
    term = record.preparation_term
    if term is None:
        return ["preparation_term"]
    if term in BIOGENESIS_TERMS:
        return [f'a generic preparation_term ("ev", "sev" or "m_lev") instead of "{term}"']
    return []


@rule(
    "M18-NOM-02",
    catalogue=M18,
    guideline="MISEV2018 §1",
    severity=REQUIRED,
    confidence=S,
    title="A subtype term (small or medium/large EVs) rests on a size criterion",
    message="The preparation is called small or medium/large EVs, but no size was measured "
    "particle by particle to back the term.",
    how_to_fix="Measure the final product's size by NTA, TRPS or nano-flow (mode, mean or "
    'D50, or the binned distribution), or call the preparation "ev".',
    applies=_subtype_claimed,
)
def subtype_size(record: BatchRecord) -> list[str]:
    assays = _by_technique(record, Technique.SINGLE_PARTICLE)
    if _reports(assays, SIZES) or any(assay.size_distributions for assay in assays):
        return []
    return ["size by a single-particle method"]


left_out(
    "M18-NOM-03",
    "evqc records no functional claims, so it cannot tell whether a function is ascribed "
    "to exosomes.",
)


# §3 Separation: derived values and recovery
# ------------------------------------------------------------------------------


@rule(
    "M18-SEP-03",
    catalogue=M18,
    guideline="tracker convention",
    severity=INFORMATIONAL,
    # rules.md gives this rule no tag: it is evqc's own convention, with no outside wording.
    confidence=C,
    title="The pelleting dose (g-force x time) of each ultracentrifugation or gradient step is "
    "derived",
    message="evqc derives the pelleting dose (g-force x time) of each ultracentrifugation "
    "and gradient step so that protocols can be compared; a step without both values has "
    "none.",
    how_to_fix="Record the g-force and duration of every ultracentrifugation and gradient "
    "step; evqc then computes the dose.",
    applies=lambda record: bool(_steps(record, HIGH_SPEED)),
)
def pelleting_dose(record: BatchRecord) -> list[str]:
    return _per_step(_steps(record, HIGH_SPEED), ("g_force", "duration"))


left_out(
    "M18-SEP-08",
    "evqc has no field for a method's place on the recovery-specificity grid or its "
    "justification.",
)


@rule(
    "M18-SEP-09",
    catalogue=M18,
    guideline="MISEV2018 §3",
    severity=RECOMMENDED,
    confidence=U,
    title="The recovery of the separation is measured (particles before and after)",
    message="Without the particle concentration of both the harvest and the final product, "
    "evqc cannot compute how many EVs the separation recovered.",
    how_to_fix="Measure the particle concentration of the harvest (or collected biofluid) "
    "and of the final product by NTA, TRPS or nano-flow; with the harvest volume and the "
    "last step's output volume evqc computes the recovery.",
    applies=_own_source,
)
def recovery(record: BatchRecord) -> list[str]:
    harvest = [
        assay
        for assay in record.assays
        if assay.sample_stage == SampleStage.HARVEST
        and assay.method.info.technique == Technique.SINGLE_PARTICLE
    ]
    missing = []
    if not _reports(harvest, ["particle_concentration"]):
        missing.append("particle concentration of the harvest by a single-particle method")
    if not _reports(_by_technique(record, Technique.SINGLE_PARTICLE), ["particle_concentration"]):
        missing.append("particle concentration of the final product by a single-particle method")
    return missing


# §4a Quantification of the source
# ------------------------------------------------------------------------------


@rule(
    "M18-QNT-01",
    catalogue=M18,
    guideline="MISEV2018 §4a",
    severity=REQUIRED,
    confidence=C,
    title="The amount of source material is recorded: volume, cell number or tissue mass",
    message="How much source material the EVs came from is not recorded, so yields cannot "
    "be expressed per mL, per cell or per mg of tissue.",
    how_to_fix="Record the harvest volume or the cell count at harvest (cell culture), the "
    "collected volume (biofluid) or the tissue mass (tissue).",
    applies=_own_source,
)
def source_amount(record: BatchRecord) -> list[str]:
    if _biofluid(record):
        return _missing(record.source, ("collection_volume",), prefix="source")
    if _tissue(record):
        return _missing(record.source, ("tissue_mass",), prefix="source")
    return _one_of(
        record.production, ("harvest_volume", "cell_count_at_harvest"), prefix="production"
    )


# §4b Protein markers: subtypes and secreted proteins
# ------------------------------------------------------------------------------


@rule(
    "M18-MRK-04",
    catalogue=M18,
    guideline="MISEV2018 §4b",
    severity=REQUIRED,
    confidence=C,
    title="A category-4 protein is assessed for a subtype or large-EV claim",
    message="The preparation is called small or medium/large EVs, but no protein of another "
    "intracellular compartment (category 4: calnexin, GM130, histones, TOMM20) was probed "
    "to show which vesicles it holds.",
    how_to_fix="Probe a category-4 protein such as calnexin or GM130 in the final product.",
    applies=_subtype_claimed,
)
def other_compartment_marker(record: BatchRecord) -> list[str]:
    if MarkerCategory.OTHER_COMPARTMENT in _assessed_categories(record):
        return []
    return ["an assessed category-4 (other intracellular compartment) protein"]


left_out(
    "M18-MRK-05",
    "evqc records no claim that a secreted protein is EV cargo, nor topology assays "
    "(protease or detergent protection).",
)


# §5 Functional studies
# ------------------------------------------------------------------------------

NO_FUNCTIONAL_STUDIES = "evqc does not record functional studies yet."
left_out("M18-FUN-01", NO_FUNCTIONAL_STUDIES)
left_out("M18-FUN-02", NO_FUNCTIONAL_STUDIES)
left_out("M18-FUN-03", NO_FUNCTIONAL_STUDIES)


# §6 Reporting (M18-REP-01 is in catalogue_reporting)
# ------------------------------------------------------------------------------


@rule(
    "M18-REP-02",
    catalogue=M18,
    guideline="MISEV2018 §6",
    severity=RECOMMENDED,
    confidence=S,
    title="The experiment is deposited in EV-TRACK",
    message="No EV-TRACK id is recorded: EV-TRACK lets others check how complete the "
    "reporting of this preparation is.",
    how_to_fix="Submit the experiment to EV-TRACK (evtrack.org) and record its EV-TRACK id.",
)
def evtrack(record: BatchRecord) -> list[str]:
    return [] if record.evtrack_id else ["evtrack_id"]


left_out("M18-REP-03", "evqc does not record data deposits (repository and accession) yet.")

left_out(
    "M18-CC-11",
    "evqc does not link a batch to a process-control batch (unconditioned medium processed "
    "alike) yet; record the control in an exception's justification meanwhile",
)
