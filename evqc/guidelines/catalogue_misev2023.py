"""MISEV2023 rules (Welsh et al., J Extracell Vesicles 2024;13:e12404) and the related
frameworks of rules.md §2.10-2.11 (FC-01, BL-01, RNA-01, CCM-01). MISEV2023 rules are
labelled "suggested (MISEV2023)": rules.md §3 keeps 2018-style severities because whether
MISEV2023 still flags items as mandatory is unverified.

Where a MISEV2023 rule restates MISEV2018 rules, it runs their checks (found in the
registry by id, so each keeps its own `applies`) and prefixes what they find missing with
their id: a product checked against MISEV2023 alone still sees every item.

Instrument settings these rules read (`Assay.settings` keys; the quantity ones are in
`evqc.batch_record.SETTING_KINDS`):

* NTA: `camera_level`, `detection_threshold`, `video_count`; TRPS: `nanopore_size`
  (M23-TECH-01; camera level and threshold also fix the smallest particle NTA counts,
  M23-QNT-01).
* Nano-flow cytometry (FC-01): `calibration_particle_size` (the scatter or size
  calibration beads) and `flow_rate` (the sample flow rate, which turns event counts into
  a concentration).
* RNA analysis (RNA-01): `rnase_treatment` (RNase/DNase/proteinase treatment of the EVs,
  or "none"), `spike_in` (the RNA spike-in, or "none") and `isolation_kit`.
"""

from __future__ import annotations

from collections.abc import Iterable

from evqc.batch_record import Assay, BatchRecord, TissueSource
from evqc.guidelines import Confidence, Rule, Severity, left_out, rule, rules_of
from evqc.guidelines.catalogue_misev2018 import (
    _assessed_categories,
    _blood,
    _cell_culture,
    _final,
    _missing,
    _positive_markers,
    _reports,
)
from evqc.markers import MarkerCategory
from evqc.vocabulary import AssayMethod, PreparationTerm, SampleStage, Technique

M23 = "misev2023"
M18 = "misev2018"
C, S, U = Confidence.CONFIRMED, Confidence.SECONDARY, Confidence.UNVERIFIED
REQUIRED, RECOMMENDED = Severity.REQUIRED, Severity.RECOMMENDED

# Terms that claim a vesicle, i.e. a lipid bilayer (MISEV2023 Table 2); "ep", "nvep" and
# "other" claim none.
VESICLE_TERMS = {
    PreparationTerm.EV,
    PreparationTerm.SEV,
    PreparationTerm.M_LEV,
    PreparationTerm.EXOSOME,
    PreparationTerm.MICROVESICLE,
    PreparationTerm.ECTOSOME,
}
SUBTYPE_TERMS = {PreparationTerm.SEV, PreparationTerm.M_LEV}
IMAGING = {AssayMethod.TEM, AssayMethod.CRYO_EM, AssayMethod.AFM}
NTA_SETTINGS = ("camera_level", "detection_threshold", "video_count")
NTA_DETECTION = ("camera_level", "detection_threshold")
FLOW_SETTINGS = ("calibration_particle_size", "flow_rate")
RNA_SETTINGS = ("rnase_treatment", "spike_in", "isolation_kit")


# Facts about a record
# ------------------------------------------------------------------------------


def _m18_rules() -> dict[str, Rule]:
    return {each.id: each for each in rules_of([M18])}


def _m18_check(record: BatchRecord, rule_id: str) -> list[str]:
    """What one MISEV2018 rule's check finds missing, as it words it."""
    return list(_m18_rules()[rule_id].check(record))


def _m18_missing(record: BatchRecord, ids: Iterable[str]) -> list[str]:
    """What the named MISEV2018 rules that concern the record find missing, each item
    prefixed by its rule id ("M18-CC-02: production.passage_number")."""
    rules = _m18_rules()
    missing = []
    for rule_id in ids:
        checked = rules[rule_id]
        if checked.applies(record):
            missing += [f"{rule_id}: {item}" for item in checked.check(record)]
    return missing


def _required_m18(prefix: str) -> list[str]:
    """The ids of the required MISEV2018 rules of a section ("M18-CC-")."""
    return [
        rule_id
        for rule_id, each in _m18_rules().items()
        if rule_id.startswith(prefix) and each.severity == REQUIRED
    ]


def _m18_section(prefix: str) -> list[str]:
    """The ids of every MISEV2018 rule of a section, whatever its severity."""
    return [rule_id for rule_id in _m18_rules() if rule_id.startswith(prefix)]


def _unset_settings(assay: Assay, names: Iterable[str]) -> list[str]:
    return [name for name in names if assay.settings.get(name) in (None, "")]


def _numbered(record: BatchRecord, methods: Iterable[AssayMethod]) -> list[tuple[str, Assay]]:
    """('assay 3 (nta)', assay) for every assay of the methods, numbered as in the record."""
    wanted = set(methods)
    return [
        (f"assay {index + 1} ({assay.method})", assay)
        for index, assay in enumerate(record.assays)
        if assay.method in wanted
    ]


def _per_assay(
    record: BatchRecord, methods: Iterable[AssayMethod], names: Iterable[str]
) -> list[str]:
    """'assay 3 (nta): camera_level, video_count' for each assay lacking settings."""
    missing = []
    for where, assay in _numbered(record, methods):
        lacking = _unset_settings(assay, names)
        if lacking:
            missing.append(f"{where}: {', '.join(lacking)}")
    return missing


def _has_method(record: BatchRecord, methods: Iterable[AssayMethod]) -> bool:
    return bool(_numbered(record, methods))


def _bilayer_shown(record: BatchRecord) -> bool:
    """Evidence of a lipid bilayer in the final product: micrographs of single vesicles,
    or particles lost to detergent lysis."""
    final = _final(record)
    imaged = any(a.method.info.technique == Technique.IMAGING and a.images for a in final)
    return imaged or _reports(final, ["detergent_sensitivity"])


# Nomenclature (Table 2)
# ------------------------------------------------------------------------------


@rule(
    "M23-NOM-01",
    catalogue=M23,
    guideline="MISEV2023 Nomenclature, Table 2 (suggested)",
    severity=REQUIRED,
    confidence=C,
    title="The preparation term is recorded; a vesicle term rests on evidence of a bilayer",
    message="What the preparation is called is not recorded, or it is called a vesicle (EV, "
    "sEV, m/lEV) without evidence of a lipid bilayer. MISEV2023 calls a preparation whose "
    'vesicular nature is not shown "extracellular particles" (EP).',
    how_to_fix="Record the preparation term. For a vesicle term, image single vesicles "
    "(TEM, cryo-EM, AFM) or measure the particles lost to detergent lysis; otherwise call "
    'the preparation "ep".',
)
def term_and_bilayer(record: BatchRecord) -> list[str]:
    term = record.preparation_term
    if term is None:
        return ["preparation_term"]
    if term in VESICLE_TERMS and not _bilayer_shown(record):
        return [
            "evidence of a lipid bilayer (images of single vesicles or a detergent-"
            'sensitivity result), or preparation_term "ep"'
        ]
    return []


left_out(
    "M23-NOM-02",
    "The product class (native EV, loaded EV, EV mimetic, ACDV, SV, hybrid) is recorded on "
    "the product, not in the batch record the rules read.",
)


@rule(
    "M23-NOM-03",
    catalogue=M23,
    guideline="MISEV2023 Table 2 (suggested)",
    severity=REQUIRED,
    confidence=C,
    title="Small or large EVs: the method behind the size is recorded",
    message='The preparation is called small or medium/large EVs, but "small" and "large" '
    "depend on the method that measured the size, and no single-particle size is recorded.",
    how_to_fix="Measure the final product's size by NTA, TRPS or nano-flow (mode, mean or "
    'D50, or the binned distribution), or call the preparation "ev".',
    applies=lambda record: record.preparation_term in SUBTYPE_TERMS,
)
def size_method(record: BatchRecord) -> list[str]:
    # MISEV2018's subtype rule asks for the same measurement.
    return _m18_check(record, "M18-NOM-02")


@rule(
    "M23-NOM-04",
    catalogue=M23,
    guideline="MISEV2023 editorial (suggested)",
    severity=REQUIRED,
    confidence=C,
    title='"Exosome" is not used without evidence of the biogenesis route',
    message='The preparation is called "exosome", a term MISEV2023 asks to avoid: it names '
    "an endosomal origin evqc holds no evidence for, and most preparations also hold "
    "non-vesicular particles (NVEPs).",
    how_to_fix='Call the preparation "ev" (or "sev" with a size criterion), or record an '
    "exception citing the evidence of endosomal biogenesis.",
)
def no_exosome(record: BatchRecord) -> list[str]:
    if record.preparation_term == PreparationTerm.EXOSOME:
        return ['a generic preparation_term ("ev", "sev", "ep") instead of "exosome"']
    return []


# Collection, pre-processing and storage
# ------------------------------------------------------------------------------


@rule(
    "M23-PRE-01",
    catalogue=M23,
    guideline="MISEV2023 Collection and pre-processing (suggested)",
    severity=REQUIRED,
    confidence=C,
    title="The source's pre-analytical variables are recorded (cell culture, biofluid, tissue)",
    message="Pre-analytical variables of the source are missing. evqc checks the required "
    "MISEV2018 items for the source (M18-CC-* for cell culture, M18-BF-* for biofluids and "
    "tissues) and, for solid tissues, how the tissue was stored; the task forces' full "
    "checklists are not itemised.",
    how_to_fix="Fill in the items named, each under the MISEV2018 rule it comes from.",
    # A pooled or split batch has no source of its own: its parents carry it.
    applies=lambda record: record.source is not None,
)
def pre_analytics(record: BatchRecord) -> list[str]:
    missing = _m18_missing(record, _required_m18("M18-CC-") + _required_m18("M18-BF-"))
    if isinstance(record.source, TissueSource):
        # MISEV2018 has no tissue storage rule (M18-BF-05 is for biofluids).
        missing += _missing(
            record.source,
            ("storage_temperature", "storage_duration", "freeze_thaw_cycles"),
            prefix="source",
        )
    return missing


@rule(
    "M23-STO-01",
    catalogue=M23,
    guideline="MISEV2023 storage (suggested)",
    severity=REQUIRED,
    confidence=U,
    title="Storage of the EV preparation, with its buffer additives, is reported",
    message="How the EVs are stored is not fully reported: temperature, since when, buffer, "
    "additives (cryoprotectants such as trehalose, sucrose or albumin change stability), "
    "container and freeze-thaw cycles. Storage of the starting material is checked under "
    "M23-PRE-01. evqc does not record stability studies, so the stability evidence "
    "MISEV2023 asks for is not checked.",
    how_to_fix="Record the storage temperature, the date stored, the buffer, the "
    'cryoprotectant or additive ("none" when there is none), the container and the '
    "freeze-thaw cycles.",
)
def storage_with_additives(record: BatchRecord) -> list[str]:
    if record.storage is None:
        return ["storage"]
    missing = [f"storage.{name}" for name in _m18_check(record, "M18-STO-01")]
    if not record.storage.cryoprotectant:
        missing.append('storage.cryoprotectant (the additive, or "none")')
    if record.storage.stored_at is None:
        # With the date stored, evqc knows how long each tested aliquot was kept.
        missing.append("storage.stored_at")
    return missing


# Separation and characterisation
# ------------------------------------------------------------------------------


@rule(
    "M23-SEP-01",
    catalogue=M23,
    guideline="MISEV2023 Separation (suggested)",
    severity=REQUIRED,
    confidence=S,
    title="Separation is described well enough to repeat",
    message="The separation is not described well enough to repeat (the MISEV2018 "
    "separation items). evqc has no field for the non-vesicular particles expected to "
    "co-separate, which MISEV2023 also asks to state, so that part is not checked.",
    how_to_fix="Record each isolation step in order with its method-specific parameters, "
    "as the MISEV2018 rules named ask.",
)
def separation(record: BatchRecord) -> list[str]:
    return _m18_missing(record, _required_m18("M18-SEP-"))


@rule(
    "M23-QNT-01",
    catalogue=M23,
    guideline="MISEV2023 Characterisation (suggested)",
    severity=REQUIRED,
    confidence=U,
    title="Particles are counted by a single-particle method with its detection settings, "
    "and protein is measured",
    message="The particle concentration, the settings that fix what the counting method "
    "detects, or the protein concentration is missing. evqc holds no per-run lower size "
    "limit, so it checks the settings that set it: camera level and detection threshold "
    "for NTA, the instrument for other methods.",
    how_to_fix="Count the final product by NTA, TRPS or nano-flow, recording the instrument "
    "(and for NTA the camera level and detection threshold), and measure its protein.",
)
def quantification(record: BatchRecord) -> list[str]:
    missing = _m18_missing(record, ["M18-QNT-02"])
    for index, assay in enumerate(record.assays):
        counted = (
            assay.sample_stage == SampleStage.FINAL
            and assay.method.info.technique == Technique.SINGLE_PARTICLE
            and _reports([assay], ["particle_concentration"])
        )
        if not counted:
            continue
        lacking = [] if assay.instrument else ["instrument"]
        if assay.method == AssayMethod.NTA:
            lacking += _unset_settings(assay, NTA_DETECTION)
        if lacking:
            missing.append(f"assay {index + 1} ({assay.method}): {', '.join(lacking)}")
    return missing


@rule(
    "M23-CHR-01",
    catalogue=M23,
    guideline="MISEV2023 Characterisation (suggested)",
    severity=REQUIRED,
    confidence=U,
    title="A membrane and a cytosolic EV protein are detected, and a co-isolate is tested",
    message="EV components or the test for co-isolates are missing: MISEV2023 asks for a "
    "transmembrane or membrane-bound protein (category 1) and a cytosolic one (category 2) "
    "detected, and for the co-isolated particles that matter for the source to be tested "
    "(category 3, or category 4 for other compartments).",
    how_to_fix="Probe a tetraspanin (CD9, CD63, CD81), a cytosolic protein (TSG101, ALIX, "
    "syntenin) and a co-isolate (APOA1/APOB/ALB, or calnexin/GM130) in the final product.",
)
def components(record: BatchRecord) -> list[str]:
    detected = set(_positive_markers(record).values())
    missing = []
    if MarkerCategory.TRANSMEMBRANE not in detected:
        missing.append("a detected category-1 (transmembrane) protein")
    if MarkerCategory.CYTOSOLIC not in detected:
        missing.append("a detected category-2 (cytosolic) protein")
    assessed = _assessed_categories(record)
    if not assessed & {MarkerCategory.NON_EV_COISOLATE, MarkerCategory.OTHER_COMPARTMENT}:
        missing.append("an assessed category-3 or -4 protein (co-isolate)")
    return missing


TECH_METHODS = {AssayMethod.NTA, AssayMethod.TRPS, AssayMethod.DLS} | IMAGING


@rule(
    "M23-TECH-01",
    catalogue=M23,
    guideline="MISEV2023 Technique-specific reporting (suggested)",
    severity=REQUIRED,
    confidence=C,
    title="Each characterisation technique reports its acquisition settings",
    message="A characterisation run lacks the settings MISEV2023's technique-specific "
    "reporting asks for: NTA camera level, detection threshold and number of videos; TRPS "
    "nanopore; DLS polydispersity index; the magnification or scale bar of micrographs; "
    "antibodies and load of immunoassays (M18-MRK-06). Flow cytometry is FC-01.",
    how_to_fix="Record the settings named for each run (instrument exports usually hold them).",
    applies=lambda record: (
        _has_method(record, TECH_METHODS) or _m18_rules()["M18-MRK-06"].applies(record)
    ),
)
def technique_settings(record: BatchRecord) -> list[str]:
    missing = _per_assay(record, [AssayMethod.NTA], NTA_SETTINGS)
    missing += _per_assay(record, [AssayMethod.TRPS], ["nanopore_size"])
    for where, assay in _numbered(record, [AssayMethod.DLS]):
        if not _reports([assay], ["polydispersity_index"]):
            missing.append(f"{where}: polydispersity_index result")
    for where, assay in _numbered(record, IMAGING):
        for number, image in enumerate(assay.images, start=1):
            if image.magnification is None and image.scale_bar is None:
                missing.append(f"{where}: magnification or scale_bar of image {number}")
    return missing + _m18_missing(record, ["M18-MRK-06"])


# New sections evqc records nothing for
# ------------------------------------------------------------------------------

left_out(
    "M23-REL-01",
    "evqc records no EV release studies (cell numbers at start and end, release per cell "
    "per hour, inhibitor controls).",
)
left_out(
    "M23-UPT-01",
    "evqc records no EV uptake studies (label, free-label and binding controls).",
)
left_out(
    "M23-FUN-01",
    "evqc records potency assays for release but not functional studies with the controls "
    "that attribute an outcome to EVs (EV-depleted fraction, process control, "
    "dose-response).",
)
left_out(
    "M23-INV-01",
    "evqc records no in vivo studies (animal model, route, dose per kg, labelling, "
    "biodistribution).",
)


@rule(
    "M23-REP-01",
    catalogue=M23,
    guideline="MISEV2023 Reporting (suggested)",
    severity=RECOMMENDED,
    confidence=U,
    title="The data are shared (EV-TRACK)",
    message="No EV-TRACK id is recorded; MISEV2023 asks for data and metadata to be shared. "
    "evqc does not record other repository deposits.",
    how_to_fix="Submit the experiment to EV-TRACK (evtrack.org) and record its EV-TRACK id.",
)
def data_shared(record: BatchRecord) -> list[str]:
    return _m18_check(record, "M18-REP-02")


# Related frameworks (rules.md §2.11)
# ------------------------------------------------------------------------------


@rule(
    "FC-01",
    catalogue=M23,
    guideline="MIFlowCyt-EV (Welsh et al., JEV 2020;9:1713526)",
    severity=REQUIRED,
    confidence=C,
    title="Flow-cytometry runs report calibration and flow rate",
    message="A nano-flow cytometry run lacks its calibration beads or its sample flow rate, "
    "without which sizes and concentrations cannot be compared. evqc does not model the "
    "other MIFlowCyt-EV categories (controls such as buffer-only and detergent lysis, "
    "gating), so they are not checked.",
    how_to_fix="Record the settings calibration_particle_size (the scatter or size "
    "calibration beads) and flow_rate for each nano-flow run.",
    applies=lambda record: _has_method(record, [AssayMethod.NANO_FLOW]),
)
def flow_cytometry(record: BatchRecord) -> list[str]:
    return _per_assay(record, [AssayMethod.NANO_FLOW], FLOW_SETTINGS)


@rule(
    "BL-01",
    catalogue=M23,
    guideline="MIBlood-EV v1.0 (ISEV Blood EV TF)",
    severity=REQUIRED,
    confidence=C,
    title="Blood collection, processing and plasma or serum quality are recorded",
    message="MIBlood-EV items for this plasma or serum are missing. evqc checks the ones it "
    "records: donor, collection, processing interval, preparation spins, storage and "
    "haemolysis (the M18-BF-* rules); residual platelets and lipoproteins are not modelled.",
    how_to_fix="Fill in the items named, each under the MISEV2018 rule it comes from.",
    applies=_blood,
)
def blood(record: BatchRecord) -> list[str]:
    return _m18_missing(record, _m18_section("M18-BF-"))


@rule(
    "RNA-01",
    catalogue=M23,
    guideline="ISEV EV-RNA position paper (Mateescu 2017), Table 6",
    severity=REQUIRED,
    confidence=C,
    title="RNA analyses report RNase treatment, spike-in and isolation kit",
    message="An RNA analysis lacks how free RNA was removed (RNase/DNase/proteinase "
    "treatment), the spike-in used as an extraction control, or the isolation kit. evqc "
    "does not model library preparation, sequencing or bioinformatics, so they are not "
    "checked.",
    how_to_fix='Record the settings rnase_treatment, spike_in and isolation_kit ("none" '
    "where none was used) for each RNA analysis.",
    applies=lambda record: _has_method(record, [AssayMethod.RNA]),
)
def rna(record: BatchRecord) -> list[str]:
    return _per_assay(record, [AssayMethod.RNA], RNA_SETTINGS)


@rule(
    "CCM-01",
    catalogue=M23,
    guideline="ISEV CCM-EV task force (Shekari 2023)",
    severity=RECOMMENDED,
    confidence=C,
    title="The cell-culture parameters of the CCM-EV checklist are recorded",
    message="Cell-culture parameters are missing. The task force's item list was not "
    "retrieved, so evqc checks the required MISEV2018 cell-culture items it extends.",
    how_to_fix="Fill in the items named, each under the MISEV2018 rule it comes from.",
    applies=_cell_culture,
)
def conditioned_medium(record: BatchRecord) -> list[str]:
    return _m18_missing(record, _required_m18("M18-CC-"))
