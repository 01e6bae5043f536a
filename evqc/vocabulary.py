"""evqc's controlled vocabularies: what a batch can be made of and what an assay can report.

One place for the words the whole system shares (models, the batch-record format, the
guidelines engine, reports): isolation methods, assay methods and what kind of technique
each is, and the attributes a result can have, each with the quantity kind that fixes its
dimension and canonical unit (`evqc.units.KINDS`). Django choices are built from these
enums in the apps' `choices.py`; nothing here imports Django.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from evqc.units import QuantityKind, kind_named


class LabelledEnum(StrEnum):
    """A StrEnum whose members read as words: `label` is the value with spaces."""

    @property
    def label(self) -> str:
        return _LABELS.get(self.value, self.value.replace("_", " "))


# Labels that are not just the value with spaces.
_LABELS = {
    "ev": "EV",
    "sev": "small EV (sEV)",
    "m_lev": "medium/large EV (m/lEV)",
    "ep": "extracellular particle (EP)",
    "nvep": "non-vesicular extracellular particle (NVEP)",
    "acdv": "artificial cell-derived vesicle (ACDV)",
    "sv": "synthetic vesicle (SV)",
    "ev_mimetic": "EV mimetic",
    "native_ev": "native EV",
    "loaded_ev": "loaded or engineered EV",
    "fbs": "fetal bovine serum (FBS)",
    "ev_depleted_fbs": "EV-depleted FBS",
    "hpl": "human platelet lysate (hPL)",
    "ev_depleted_hpl": "EV-depleted hPL",
    "nta": "NTA",
    "trps": "TRPS",
    "dls": "DLS",
    "nano_flow": "nano-flow cytometry",
    "bca": "BCA",
    "microbca": "microBCA",
    "qubit": "Qubit",
    "elisa": "ELISA",
    "tem": "TEM",
    "cryo_em": "cryo-EM",
    "afm": "AFM",
    "lal_endotoxin": "LAL endotoxin",
    "rna": "RNA analysis",
    "sec": "size-exclusion chromatography (SEC)",
    "tff": "tangential flow filtration (TFF)",
    "af4": "asymmetric-flow field-flow fractionation (AF4)",
    "ph": "pH",
    "in_qc": "in QC",
    "close_up": "close-up",
}


class LabRole(LabelledEnum):
    """What a member may do in a lab; each role includes the ones before it."""

    VIEWER = "viewer"
    ANALYST = "analyst"
    REVIEWER = "reviewer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(LabRole).index(self)


class TokenScope(LabelledEnum):
    """What an API token may call. A token acts as a member of one lab with `role`."""

    RESULTS_WRITE = "results:write"
    READ = "read"
    ADMIN = "admin"

    @property
    def role(self) -> LabRole:
        return {
            TokenScope.RESULTS_WRITE: LabRole.ANALYST,
            TokenScope.READ: LabRole.VIEWER,
            TokenScope.ADMIN: LabRole.ADMIN,
        }[self]


class BatchStatus(LabelledEnum):
    PLANNED = "planned"
    IN_PRODUCTION = "in_production"
    IN_QC = "in_qc"
    UNDER_REVIEW = "under_review"
    RELEASED = "released"
    REJECTED = "rejected"
    QUARANTINED = "quarantined"


class SourceKind(LabelledEnum):
    CELL_CULTURE = "cell_culture"
    BIOFLUID = "biofluid"
    TISSUE = "tissue"


class PreparationTerm(LabelledEnum):
    """What the preparation is called (MISEV2018 §1, MISEV2023 Table 2)."""

    EV = "ev"
    SEV = "sev"
    M_LEV = "m_lev"
    EXOSOME = "exosome"
    MICROVESICLE = "microvesicle"
    ECTOSOME = "ectosome"
    EP = "ep"
    NVEP = "nvep"
    OTHER = "other"


class ProductClass(LabelledEnum):
    """MISEV2023 Table 2 classes of manufactured vesicles."""

    NATIVE_EV = "native_ev"
    LOADED_EV = "loaded_ev"
    EV_MIMETIC = "ev_mimetic"
    ACDV = "acdv"
    SV = "sv"
    HYBRID = "hybrid"


class VesselType(LabelledEnum):
    FLASK = "flask"
    MULTILAYER = "multilayer"
    HOLLOW_FIBRE = "hollow_fibre"
    STIRRED_TANK = "stirred_tank"
    WAVE = "wave"
    MICROCARRIER = "microcarrier"
    OTHER = "other"


class SupplementType(LabelledEnum):
    """The medium supplement; serum and platelet lysate bring their own EVs."""

    SERUM_FREE = "serum_free"
    CHEMICALLY_DEFINED = "chemically_defined"
    FBS = "fbs"
    EV_DEPLETED_FBS = "ev_depleted_fbs"
    HPL = "hpl"
    EV_DEPLETED_HPL = "ev_depleted_hpl"
    HUMAN_SERUM = "human_serum"
    OTHER = "other"

    @property
    def brings_evs(self) -> bool:
        """Serum or platelet lysate: EVs of the supplement co-isolate with the product's."""
        return self not in {SupplementType.SERUM_FREE, SupplementType.CHEMICALLY_DEFINED}


class StepPurpose(LabelledEnum):
    """Why an isolation step is there: pre-processing (clarification, plasma preparation)
    or the separation, concentration and buffer exchange of the EVs themselves."""

    PRE_PROCESSING = "pre_processing"
    SEPARATION = "separation"
    CONCENTRATION = "concentration"
    BUFFER_EXCHANGE = "buffer_exchange"


class LoadingMethod(LabelledEnum):
    ELECTROPORATION = "electroporation"
    SONICATION = "sonication"
    TRANSFECTION = "transfection"
    INCUBATION = "incubation"
    EXTRUSION = "extrusion"
    FREEZE_THAW = "freeze_thaw"
    SAPONIN = "saponin"
    PARENT_CELL_ENGINEERING = "parent_cell_engineering"
    SURFACE_MODIFICATION = "surface_modification"
    OTHER = "other"


class SampleStage(LabelledEnum):
    """Where in the process an assay's sample was taken."""

    HARVEST = "harvest"
    IN_PROCESS = "in_process"
    FINAL = "final"


class ResultBasis(LabelledEnum):
    """Whether a concentration is as measured on the diluted sample or already the stock's."""

    MEASURED = "measured"
    STOCK = "stock"


class ImageField(LabelledEnum):
    WIDE = "wide"
    CLOSE_UP = "close_up"


class ImagingTechnique(LabelledEnum):
    TEM = "tem"
    CRYO_EM = "cryo_em"
    SEM = "sem"
    AFM = "afm"
    SUPER_RESOLUTION = "super_resolution"


# Isolation methods and their parameters
# ------------------------------------------------------------------------------


class IsolationMethod(LabelledEnum):
    CENTRIFUGATION = "centrifugation"
    ULTRACENTRIFUGATION = "ultracentrifugation"
    DENSITY_GRADIENT = "density_gradient"
    SEC = "sec"
    TFF = "tff"
    ULTRAFILTRATION = "ultrafiltration"
    FILTRATION = "filtration"
    PRECIPITATION = "precipitation"
    IMMUNOAFFINITY = "immunoaffinity"
    AF4 = "af4"
    MICROFLUIDIC = "microfluidic"
    KIT = "kit"

    @property
    def spins(self) -> bool:
        return self in {
            IsolationMethod.CENTRIFUGATION,
            IsolationMethod.ULTRACENTRIFUGATION,
            IsolationMethod.DENSITY_GRADIENT,
        }


# Assay methods
# ------------------------------------------------------------------------------


class Technique(LabelledEnum):
    """What kind of evidence an assay method gives; the guidelines reason on these."""

    SINGLE_PARTICLE = "single_particle"  # counts and sizes particles one by one (M18-SGL-02)
    BULK_SIZING = "bulk_sizing"  # DLS: an ensemble average, not single-particle
    PROTEIN = "protein"
    MARKERS = "markers"
    IMAGING = "imaging"
    SAFETY = "safety"
    POTENCY = "potency"
    RNA = "rna"
    GENERAL = "general"


class AssayMethod(LabelledEnum):
    NTA = "nta"
    TRPS = "trps"
    DLS = "dls"
    NANO_FLOW = "nano_flow"
    BCA = "bca"
    MICROBCA = "microbca"
    QUBIT = "qubit"
    BRADFORD = "bradford"
    WESTERN_BLOT = "western_blot"
    ELISA = "elisa"
    MASS_SPEC = "mass_spec"
    TEM = "tem"
    CRYO_EM = "cryo_em"
    AFM = "afm"
    LAL_ENDOTOXIN = "lal_endotoxin"
    STERILITY = "sterility"
    MYCOPLASMA = "mycoplasma"
    POTENCY = "potency"
    RNA = "rna"
    PH = "ph"
    OSMOLALITY = "osmolality"
    APPEARANCE = "appearance"

    @property
    def info(self) -> MethodInfo:
        return METHODS[self]


@dataclass(frozen=True)
class MethodInfo:
    """What an assay method is and may report: `attributes` are the result attributes it
    can give; `markers` and `images` say whether it records marker results or images;
    `antibody` and `lysate` mark the methods whose antibody and lysis conditions must be
    reported (EV-METRIC "antibody specifics", "lysate preparation")."""

    technique: Technique
    attributes: frozenset[str] = frozenset()
    markers: bool = False
    images: bool = False
    antibody: bool = False
    lysate: bool = False


# Attributes
# ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attribute:
    """A property a result can report. Quantitative attributes name their quantity kind
    (dimension, canonical unit, bounds); qualitative ones list their possible outcomes.
    `dilutes`: a value of the diluted sample must be multiplied by the dilution factor to
    give the stock's. `size`: specifications on it must name a method (decision 6)."""

    name: str
    label: str
    kind_name: str = ""
    outcomes: tuple[str, ...] = ()
    dilutes: bool = False
    size: bool = False
    notes: str = field(default="", compare=False)

    @property
    def kind(self) -> QuantityKind:
        return kind_named(self.kind_name)

    @property
    def qualitative(self) -> bool:
        return bool(self.outcomes)

    def __str__(self) -> str:
        return self.name


def _attributes(*attributes: Attribute) -> dict[str, Attribute]:
    return {attribute.name: attribute for attribute in attributes}


ATTRIBUTES: dict[str, Attribute] = _attributes(
    Attribute(
        "particle_concentration", "particle concentration", "particle_concentration", dilutes=True
    ),
    Attribute("size_mean", "mean size", "length", size=True),
    Attribute("size_mode", "modal size", "length", size=True),
    Attribute("size_sd", "size SD", "length", size=True),
    Attribute("size_d10", "size D10", "length", size=True),
    Attribute("size_d50", "size D50 (median)", "length", size=True),
    Attribute("size_d90", "size D90", "length", size=True),
    Attribute("size_within_range", "particles within the size range", "fraction", size=True),
    Attribute("z_average", "Z-average size", "length", size=True),
    Attribute("polydispersity_index", "polydispersity index", "number"),
    Attribute("zeta_potential", "zeta potential", "electric_potential"),
    Attribute("detergent_sensitivity", "reduction after detergent lysis", "fraction"),
    Attribute(
        "protein_concentration", "protein concentration", "mass_concentration", dilutes=True
    ),
    Attribute("particle_protein_ratio", "particle-to-protein ratio", "particles_per_mass"),
    Attribute("marker_concentration", "marker concentration", "mass_concentration", dilutes=True),
    Attribute("endotoxin", "endotoxin", "endotoxin_concentration", dilutes=True),
    Attribute("sterility", "sterility", outcomes=("no_growth", "growth")),
    Attribute("mycoplasma", "mycoplasma", outcomes=("not_detected", "detected")),
    Attribute("potency", "potency", "relative_percentage"),
    Attribute("rna_concentration", "RNA concentration", "mass_concentration", dilutes=True),
    Attribute("cargo_copies", "cargo copy number", "copy_concentration", dilutes=True),
    Attribute("ph", "pH", "ph"),
    Attribute("osmolality", "osmolality", "osmolality"),
    Attribute("appearance", "appearance", outcomes=("conforms", "does_not_conform")),
)

_PARTICLE = frozenset(
    {
        "particle_concentration",
        "size_mean",
        "size_mode",
        "size_sd",
        "size_d10",
        "size_d50",
        "size_d90",
        "size_within_range",
        "zeta_potential",
    }
)
_IMAGE_SIZE = frozenset({"size_mean", "size_mode", "size_sd", "size_d50"})
_PROTEIN = frozenset({"protein_concentration"})

METHODS: dict[AssayMethod, MethodInfo] = {
    AssayMethod.NTA: MethodInfo(Technique.SINGLE_PARTICLE, _PARTICLE),
    AssayMethod.TRPS: MethodInfo(Technique.SINGLE_PARTICLE, _PARTICLE),
    AssayMethod.NANO_FLOW: MethodInfo(
        Technique.SINGLE_PARTICLE,
        _PARTICLE | {"detergent_sensitivity"},
        markers=True,
        antibody=True,
    ),
    AssayMethod.DLS: MethodInfo(
        Technique.BULK_SIZING,
        frozenset(
            {"z_average", "polydispersity_index", "size_mean", "size_mode", "zeta_potential"}
        ),
    ),
    AssayMethod.BCA: MethodInfo(Technique.PROTEIN, _PROTEIN, lysate=True),
    AssayMethod.MICROBCA: MethodInfo(Technique.PROTEIN, _PROTEIN, lysate=True),
    AssayMethod.QUBIT: MethodInfo(Technique.PROTEIN, _PROTEIN),
    AssayMethod.BRADFORD: MethodInfo(Technique.PROTEIN, _PROTEIN),
    AssayMethod.WESTERN_BLOT: MethodInfo(
        Technique.MARKERS, markers=True, antibody=True, lysate=True
    ),
    AssayMethod.ELISA: MethodInfo(
        Technique.MARKERS,
        frozenset({"marker_concentration"}),
        markers=True,
        antibody=True,
        lysate=True,
    ),
    AssayMethod.MASS_SPEC: MethodInfo(Technique.MARKERS, markers=True, lysate=True),
    AssayMethod.TEM: MethodInfo(Technique.IMAGING, _IMAGE_SIZE, images=True),
    AssayMethod.CRYO_EM: MethodInfo(Technique.IMAGING, _IMAGE_SIZE, images=True),
    AssayMethod.AFM: MethodInfo(Technique.IMAGING, _IMAGE_SIZE, images=True),
    AssayMethod.LAL_ENDOTOXIN: MethodInfo(Technique.SAFETY, frozenset({"endotoxin"})),
    AssayMethod.STERILITY: MethodInfo(Technique.SAFETY, frozenset({"sterility"})),
    AssayMethod.MYCOPLASMA: MethodInfo(Technique.SAFETY, frozenset({"mycoplasma"})),
    AssayMethod.POTENCY: MethodInfo(Technique.POTENCY, frozenset({"potency"})),
    AssayMethod.RNA: MethodInfo(Technique.RNA, frozenset({"rna_concentration", "cargo_copies"})),
    AssayMethod.PH: MethodInfo(Technique.GENERAL, frozenset({"ph"})),
    AssayMethod.OSMOLALITY: MethodInfo(Technique.GENERAL, frozenset({"osmolality"})),
    AssayMethod.APPEARANCE: MethodInfo(Technique.GENERAL, frozenset({"appearance"})),
}


def attribute_named(name: str) -> Attribute | None:
    return ATTRIBUTES.get(name)


def _check() -> None:
    """Every method is described and reports only known attributes (a bug otherwise)."""
    missing = set(AssayMethod) - set(METHODS)
    if missing:
        raise ValueError(f"assay methods without a description: {sorted(missing)}")
    for method, info in METHODS.items():
        unknown = info.attributes - set(ATTRIBUTES)
        if unknown:
            raise ValueError(f"{method} reports unknown attributes {sorted(unknown)}")
    for attribute in ATTRIBUTES.values():
        if bool(attribute.kind_name) == attribute.qualitative:
            raise ValueError(f"{attribute} needs either a kind or outcomes")
        if attribute.kind_name:
            kind_named(attribute.kind_name)


_check()
