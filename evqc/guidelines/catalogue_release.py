"""Release-attribute checks of rules.md §5 that need no product specification: is each
attribute a release decision rests on measured at all on the final product?

Whether a measured value passes is the specification's verdict (`evqc.specs`, stored on
results); the release decision combines both. So these rules name no limits: decision 4
keeps the purity thresholds out of the code, and the endotoxin limit (decision 5) and
size windows (decision 6) belong to the product's specification. Severities and
confidence tags are rules.md §5's "Severity (CoA)" and "Source / confidence" columns,
for the part each rule checks.

Each check returns what is missing, in words a QA reviewer can act on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from evqc.batch_record import Assay, BatchRecord
from evqc.derived import particle_protein_ratio
from evqc.guidelines import Confidence, Severity, left_out, rule
from evqc.guidelines.catalogue_misev2018 import (
    _by_technique,
    _cell_culture,
    _final,
    _missing,
    _positive_markers,
    _reports,
)
from evqc.markers import MarkerCategory, canonical_symbol, resolve_marker
from evqc.vocabulary import Technique

REL = "release"
C, S, U = Confidence.CONFIRMED, Confidence.SECONDARY, Confidence.UNVERIFIED
REQUIRED, RECOMMENDED = Severity.REQUIRED, Severity.RECOMMENDED

STTT = "STTT 2025 Table 1"  # nebulised hUC-MSC-EV, doi 10.1038/s41392-025-02262-3
WJSC = "WJSC 2025 Table 1"  # World J Stem Cells 2025;17(10):110445

# "MSC", "UC-MSC", "hBMSC", "MSCs" or the name written out.
MSC = re.compile(r"msc|mesenchymal", re.IGNORECASE)
# Consistently positive on MSC-EVs (Nguyen et al., JEV 2024), by HGNC symbol, as shown.
MSC_EV_PANEL = (("CD44", "CD44"), ("NT5E", "CD73 (NT5E)"), ("ENG", "CD105 (ENG)"))


# Facts about a record
# ------------------------------------------------------------------------------


def _results_of(record: BatchRecord, attributes: Sequence[str]) -> list[Assay]:
    """The final-product assays that report any of the attributes."""
    return [assay for assay in _final(record) if _reports([assay], attributes)]


def _absent_markers(record: BatchRecord) -> dict[str, MarkerCategory | None]:
    """Proteins probed and not detected in the final product, by symbol, with category."""
    absent: dict[str, MarkerCategory | None] = {}
    for assay in _final(record):
        for marker in assay.markers:
            if not marker.detected:
                known = resolve_marker(marker.protein)
                absent[canonical_symbol(marker.protein)] = known.category if known else None
    return absent


def _probed(record: BatchRecord) -> set[str]:
    """Symbols of the proteins probed at all (present or absent) in the final product."""
    return {canonical_symbol(m.protein) for assay in _final(record) for m in assay.markers}


def _msc_source(record: BatchRecord) -> bool:
    return bool(MSC.search(getattr(record.source, "cell_type", "") or ""))


def _final_result(record: BatchRecord, attribute: str, words: str) -> list[str]:
    return [] if _results_of(record, [attribute]) else [f"{words} of the final product"]


# Identity
# ------------------------------------------------------------------------------


@rule(
    "REL-ID-01",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {STTT}; {WJSC}",
    severity=REQUIRED,
    confidence=C,
    title="EV identity: an EV membrane protein detected and an intracellular protein absent",
    message="The final product's identity as EVs is not shown: published specifications "
    "ask for tetraspanins present (CD9, CD63, CD81) and an intracellular protein such as "
    "calnexin or GM130 absent.",
    how_to_fix="Probe the final product for a category-1 protein (CD9, CD63, CD81) and a "
    "category-4 protein (calnexin, GM130) and record both results.",
)
def ev_identity(record: BatchRecord) -> list[str]:
    missing = []
    if MarkerCategory.TRANSMEMBRANE not in _positive_markers(record).values():
        missing.append("a detected category-1 (transmembrane) protein")
    if MarkerCategory.OTHER_COMPARTMENT not in _absent_markers(record).values():
        missing.append("a category-4 protein (e.g. calnexin, GM130) probed and not detected")
    return missing


@rule(
    "REL-ID-02",
    catalogue=REL,
    guideline="EV release specification (rules.md §5): Nguyen et al., JEV 2024;13:e12463",
    severity=RECOMMENDED,
    confidence=C,
    title="MSC-EV cell-of-origin panel: CD44, CD73 and CD105 probed",
    message="The final product was not probed for the surface proteins consistently found "
    "on MSC-EVs (CD44, CD73, CD105), which tie the EVs to their producer cells.",
    how_to_fix="Probe CD44, CD73 and CD105 (e.g. by multiplex bead flow or nano-flow) in "
    "the final product; the negative panel (CD11b, CD45, CD197) is the specification's "
    "choice (decision 7).",
    applies=_msc_source,
)
def msc_ev_panel(record: BatchRecord) -> list[str]:
    probed = _probed(record)
    return [f"{shown} probed" for symbol, shown in MSC_EV_PANEL if symbol not in probed]


@rule(
    "REL-ID-03",
    catalogue=REL,
    guideline="EV release specification (rules.md §5): Dominici et al., Cytotherapy 2006; "
    f"{STTT}; {WJSC}",
    severity=REQUIRED,
    confidence=C,
    title="Parent-cell identity: the cell bank is authenticated and mycoplasma-tested",
    message="The producer cells' identity or mycoplasma status is not recorded. evqc holds "
    "how the cells were authenticated as text; the ISCT phenotype, trilineage "
    "differentiation and karyotype are not modelled as results, so it cannot check them.",
    how_to_fix="Record the cell source's authentication method (STR, ISCT phenotype, "
    "karyotype) and its mycoplasma result.",
    applies=_cell_culture,
)
def parent_cell_identity(record: BatchRecord) -> list[str]:
    source = record.source
    missing = _missing(source, ("authentication_method",), prefix="source")
    if source is not None and getattr(source, "mycoplasma_status", "") not in {
        "negative",
        "positive",
    }:
        missing.append("source.mycoplasma_status")
    return missing


# Purity
# ------------------------------------------------------------------------------


@rule(
    "REL-PUR-01",
    catalogue=REL,
    guideline="EV release specification (rules.md §5): Webber & Clayton, JEV 2013",
    severity=RECOMMENDED,
    # C for what is checked (that the ratio can be computed); only the thresholds are U,
    # and they are the specification's (decision 4), not this rule's.
    confidence=C,
    title="The particle-to-protein ratio of the final product can be computed",
    message="evqc cannot compute the final product's particle-to-protein ratio, the purity "
    "index a specification may set a limit on (decision 4: no limit in the code).",
    how_to_fix="Measure the final product's particle concentration (NTA, TRPS, nano-flow) "
    "and protein concentration (BCA, microBCA, Qubit, Bradford); evqc computes the ratio.",
)
def purity_ratio(record: BatchRecord) -> list[str]:
    if particle_protein_ratio(record) is not None:
        return []
    missing = []
    if not _reports(_by_technique(record, Technique.SINGLE_PARTICLE), ["particle_concentration"]):
        missing.append("particle concentration by a single-particle method")
    if not _reports(_by_technique(record, Technique.PROTEIN), ["protein_concentration"]):
        missing.append("protein concentration")
    # Both measured, yet no ratio: a value given as a bound ("< 5 µg/mL") or zero.
    return missing or ["a particle or protein concentration that is a value, not a bound"]


@rule(
    "REL-PUR-02",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {STTT}; {WJSC}",
    severity=REQUIRED,
    confidence=C,
    title="The size distribution of the final product is measured particle by particle",
    message="The final product's size distribution is not measured by a single-particle "
    "method: specifications set the share of particles within a size window and the peak.",
    how_to_fix="Record, from NTA, TRPS or nano-flow of the final product, the share of "
    "particles within the size range or the binned distribution, and the modal or median "
    "size.",
)
def size_distribution(record: BatchRecord) -> list[str]:
    assays = _by_technique(record, Technique.SINGLE_PARTICLE)
    missing = []
    if not (_reports(assays, ["size_within_range"]) or any(a.size_distributions for a in assays)):
        missing.append("share of particles within the size range (or a binned distribution)")
    if not _reports(assays, ["size_mode", "size_d50"]):
        missing.append("modal or median size")
    return [f"{each} by a single-particle method" for each in missing]


@rule(
    "REL-PUR-03",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {WJSC}",
    severity=RECOMMENDED,
    confidence=C,
    title="Vesicular nature: detergent sensitivity of the particles",
    message="Nothing shows that the counted particles are membrane vesicles: detergent "
    "(Triton X-100) lyses vesicles, not protein aggregates.",
    how_to_fix="Count the final product by nano-flow before and after detergent and record "
    "the reduction (detergent_sensitivity).",
)
def detergent_sensitivity(record: BatchRecord) -> list[str]:
    return _final_result(record, "detergent_sensitivity", "detergent sensitivity")


left_out(
    "REL-PUR-04",
    "evqc has no attribute for residual assays (antibiotic, BSA/FBS protein, iodixanol, "
    "host-cell DNA), so it cannot tell whether a residual the process leaves was tested; "
    "the isolation steps show when one is needed (an iodixanol gradient, serum in the "
    "medium).",
)


# Quantity and potency
# ------------------------------------------------------------------------------


@rule(
    "REL-QTY-01",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {STTT}",
    severity=REQUIRED,
    confidence=C,
    title="Strength: particle and protein concentrations of the final product",
    message="The final product's strength is not measured: a dose is labelled in particles "
    "(NTA) and its protein content reported.",
    how_to_fix="Measure the final product's particle concentration (NTA, TRPS, nano-flow) "
    "and protein concentration (BCA, microBCA, Qubit, Bradford).",
)
def strength(record: BatchRecord) -> list[str]:
    missing = []
    if not _reports(_by_technique(record, Technique.SINGLE_PARTICLE), ["particle_concentration"]):
        missing.append("particle concentration of the final product")
    if not _reports(_by_technique(record, Technique.PROTEIN), ["protein_concentration"]):
        missing.append("protein concentration of the final product")
    return missing


@rule(
    "REL-POT-01",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {STTT}",
    severity=REQUIRED,
    confidence=C,
    title="Potency: a bioassay linked to the mechanism of action",
    message="No potency result for the final product: release needs a quantitative "
    "bioassay tied to how the product is meant to work.",
    how_to_fix="Run the product's potency assay (against its reference standard) on the "
    "final product and record the result.",
)
def potency(record: BatchRecord) -> list[str]:
    return _final_result(record, "potency", "a potency result")


# Safety
# ------------------------------------------------------------------------------


@rule(
    "REL-SAF-01",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {STTT}; {WJSC}; USP <71>",
    severity=REQUIRED,
    confidence=C,
    title="Sterility of the final product is tested",
    message="No sterility result for the final product.",
    how_to_fix="Test the final product for sterility (USP <71>, 21 CFR 610.12, BacT/ALERT) "
    "and record the outcome.",
)
def sterility(record: BatchRecord) -> list[str]:
    return _final_result(record, "sterility", "a sterility result")


@rule(
    "REL-SAF-02",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {STTT}; {WJSC}; USP <85>",
    severity=REQUIRED,
    confidence=C,
    title="Bacterial endotoxin of the final product is tested",
    message="No endotoxin result for the final product. Its limit is the specification's "
    "(decision 5: K/M from route, dose volume and body weight).",
    how_to_fix="Test the final product by LAL (gel-clot, kinetic) or rFC and record the "
    'result in EU/mL; a result below the assay\'s range is written "< 0.05 EU/mL".',
)
def endotoxin(record: BatchRecord) -> list[str]:
    return _final_result(record, "endotoxin", "an endotoxin result")


@rule(
    "REL-SAF-03",
    catalogue=REL,
    guideline=f"EV release specification (rules.md §5): {STTT}; 21 CFR 610.30",
    severity=REQUIRED,
    confidence=C,
    title="Mycoplasma of the final product is tested",
    message="No mycoplasma result for the final product. Tests of the harvest or of the "
    "cell bank do not stand in for it.",
    how_to_fix="Test the final product for mycoplasma (qPCR or the compendial culture "
    "method) and record the outcome.",
)
def mycoplasma(record: BatchRecord) -> list[str]:
    return _final_result(record, "mycoplasma", "a mycoplasma result")


left_out(
    "REL-SAF-04",
    "evqc does not model adventitious-agent (exogenous virus) tests or the donor serology "
    "of the cell bank: there is no attribute or source field to hold them.",
)


# Stability and general tests
# ------------------------------------------------------------------------------


@rule(
    "REL-STB-01",
    catalogue=REL,
    guideline="EV release specification (rules.md §5): Life 2022 review; sucrose study",
    severity=REQUIRED,
    # S for what is checked (the storage conditions); the limits are U and the product's.
    confidence=S,
    title="Storage temperature and freeze-thaw cycles of the product are recorded",
    message="The product's storage temperature or its freeze-thaw cycles are not "
    "recorded; both change EVs. Stability studies and shelf-life are not modelled in "
    "evqc, so this rule checks the storage conditions only.",
    how_to_fix="Record the storage temperature and the freeze-thaw cycles of the product.",
)
def storage_conditions(record: BatchRecord) -> list[str]:
    return _missing(record.storage, ("temperature", "freeze_thaw_cycles"), prefix="storage")


@rule(
    "REL-GEN-01",
    catalogue=REL,
    guideline="EV release specification (rules.md §5): standard drug-product tests",
    severity=RECOMMENDED,
    confidence=U,
    title="General tests: pH, osmolality and appearance of the final product",
    message="A standard drug-product test (pH, osmolality, appearance) has no result for "
    "the final product.",
    how_to_fix="Test the final product's pH, osmolality and appearance and record them.",
)
def general_tests(record: BatchRecord) -> list[str]:
    return [
        words
        for attribute, words in (
            ("ph", "pH"),
            ("osmolality", "osmolality"),
            ("appearance", "appearance"),
        )
        if not _results_of(record, [attribute])
    ]
