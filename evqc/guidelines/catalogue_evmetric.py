"""EV-METRIC-style completeness (rules.md §4 and decision 1): its nine components as the
rules EVM-01 to EVM-09, scored by `evqc.guidelines.scores.ev_metric_score` as
100 x fulfilled applicable components / applicable components.

Only the nine-component count, the three method-specific names (ultracentrifugation
specifics, antibody specifics, lysate preparation) and the "applicable components"
denominator are confirmed (confidence C); components 4-8 follow rules.md's reading
(confidence U), so the figure is labelled "EV-METRIC-style completeness", not EV-METRIC.
Component 9 is unknown: EVM-09 is registered so that the nine components show, but it
never applies and so never enters the score.

Each component reuses the MISEV2018 check that rules.md §4 names; all are recommended
(a warning, never a gap): the score grades reporting, it does not block a release.
"""

from __future__ import annotations

from evqc.batch_record import BatchRecord
from evqc.guidelines import Confidence, Severity, rule
from evqc.guidelines.catalogue_misev2018 import (
    HIGH_SPEED,
    _assessed_categories,
    _steps,
    centrifugation_specifics,
    single_particle_sizes,
    single_vesicle_images,
)
from evqc.markers import MarkerCategory
from evqc.vocabulary import IsolationMethod

EVM = "evmetric"
C, U = Confidence.CONFIRMED, Confidence.UNVERIFIED
RECOMMENDED = Severity.RECOMMENDED
GUIDELINE = "EV-METRIC (Van Deun et al., Nat Methods 2017), as read in rules.md §4"
EV_PROTEINS = {MarkerCategory.TRANSMEMBRANE, MarkerCategory.CYTOSOLIC}
NON_EV_PROTEINS = {MarkerCategory.NON_EV_COISOLATE, MarkerCategory.OTHER_COMPARTMENT}


def _antibody_assays(record: BatchRecord) -> bool:
    return any(assay.markers and assay.method.info.antibody for assay in record.assays)


def _lysate_assays(record: BatchRecord) -> bool:
    return any(assay.method.info.lysate for assay in record.assays)


def _never(record: BatchRecord) -> bool:
    return False


@rule(
    "EVM-01",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=C,
    title="Component 1, ultracentrifugation specifics: g-force, time, rotor, k-factor",
    message="A centrifugation step lacks its specifics (M18-SEP-02): EV-METRIC's "
    "ultracentrifugation component is not fulfilled.",
    how_to_fix="Complete the centrifugation steps as M18-SEP-02 asks.",
    applies=lambda record: bool(_steps(record, HIGH_SPEED)),
)
def ultracentrifugation_specifics(record: BatchRecord) -> list[str]:
    return list(centrifugation_specifics(record))


@rule(
    "EVM-02",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=C,
    title="Component 2, antibody specifics: clone or catalogue number, dilution",
    message="An antibody-based assay lacks the clone or catalogue number, or the dilution, of "
    "an antibody (the antibody part of M18-MRK-06).",
    how_to_fix="For every marker of an antibody-based assay record the antibody clone or "
    "catalogue number and its dilution.",
    applies=_antibody_assays,
)
def antibody_specifics(record: BatchRecord) -> list[str]:
    missing = []
    for index, assay in enumerate(record.assays):
        if not (assay.markers and assay.method.info.antibody):
            continue
        lacking = sorted(
            {
                marker.protein
                for marker in assay.markers
                if not (marker.antibody_clone or marker.antibody_catalogue_number)
                or not marker.antibody_dilution
            }
        )
        if lacking:
            missing.append(
                f"assay {index + 1} ({assay.method}): antibody and dilution for "
                f"{', '.join(lacking)}"
            )
    return missing


@rule(
    "EVM-03",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=C,
    title="Component 3, lysate preparation: the lysis buffer of lysate-based assays",
    message="A lysate-based protein assay (BCA, western blot, ELISA, mass spectrometry) does "
    "not record its lysis buffer.",
    how_to_fix="Record the lysis buffer and conditions of every lysate-based assay.",
    applies=_lysate_assays,
)
def lysate_preparation(record: BatchRecord) -> list[str]:
    return [
        f"assay {index + 1} ({assay.method}): lysis buffer"
        for index, assay in enumerate(record.assays)
        if assay.method.info.lysate and not assay.lysis_buffer
    ]


@rule(
    "EVM-04",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=U,
    title="Component 4, EV-enriched proteins: a category-1 or -2 protein is analysed",
    message="No EV-enriched protein (MISEV2018 category 1 or 2) was analysed in the final "
    "product.",
    how_to_fix="Probe tetraspanins (CD9, CD63, CD81) or cytosolic EV proteins (TSG101, ALIX).",
)
def ev_enriched_proteins(record: BatchRecord) -> list[str]:
    if _assessed_categories(record) & EV_PROTEINS:
        return []
    return ["an analysed category-1 or -2 protein"]


@rule(
    "EVM-05",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=U,
    title="Component 5, non-EV-enriched proteins: a category-3 or -4 protein is analysed",
    message="No protein of co-isolated structures or other compartments (MISEV2018 category "
    "3 or 4) was analysed in the final product.",
    how_to_fix="Probe a co-isolate (APOA1, APOB, ALB) or another compartment's protein "
    "(calnexin, GM130).",
)
def non_ev_proteins(record: BatchRecord) -> list[str]:
    if _assessed_categories(record) & NON_EV_PROTEINS:
        return []
    return ["an analysed category-3 or -4 protein"]


@rule(
    "EVM-06",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=U,
    title="Component 6, electron microscopy: wide-field and close-up images",
    message="Single EVs are not imaged in both wide-field and close-up (M18-SGL-01).",
    how_to_fix="Record an imaging assay with a wide-field and a close-up image.",
)
def microscopy(record: BatchRecord) -> list[str]:
    return list(single_vesicle_images(record))


@rule(
    "EVM-07",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=U,
    title="Component 7, particle analysis: size and concentration by a single-particle method",
    message="No single-particle method gives the particle size and concentration (M18-SGL-02).",
    how_to_fix="Measure the final product by NTA, TRPS or nano-flow.",
)
def particle_analysis(record: BatchRecord) -> list[str]:
    return list(single_particle_sizes(record))


@rule(
    "EVM-08",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=U,
    title="Component 8, density gradient: used, at least to validate the EVs",
    message="No density gradient was used, not even to validate that what is attributed to "
    "EVs is in the EV-density fractions.",
    how_to_fix="Add a density-gradient step to the process, or run one as a validation.",
)
def density_gradient(record: BatchRecord) -> list[str]:
    return [] if _steps(record, {IsolationMethod.DENSITY_GRADIENT}) else ["a density gradient"]


@rule(
    "EVM-09",
    catalogue=EVM,
    guideline=GUIDELINE,
    severity=RECOMMENDED,
    confidence=U,
    title="Component 9, unknown: not scored",
    message="The ninth EV-METRIC component is not known (rules.md §4), so evqc never applies "
    "it and leaves it out of the score.",
    how_to_fix="Nothing to do.",
    applies=_never,
)
def unknown_component(record: BatchRecord) -> list[str]:
    return []
