"""Django choices for batches, built from evqc's vocabularies (evqc/vocabulary.py)."""

from enum import StrEnum

from evqc.vocabulary import (
    BatchStatus,
    ImageField,
    ImagingTechnique,
    IsolationMethod,
    LabRole,
    LoadingMethod,
    PreparationTerm,
    ProductClass,
    ResultBasis,
    SampleStage,
    SourceKind,
    StepPurpose,
    SupplementType,
    TokenScope,
    VesselType,
)

__all__ = [
    "ALIQUOT_STATUSES",
    "ENDOTOXIN_ROUTES",
    "GAP_STATUSES",
    "PARENT_RELATIONS",
    "BatchStatus",
    "ImageField",
    "ImagingTechnique",
    "IsolationMethod",
    "LabRole",
    "LoadingMethod",
    "PreparationTerm",
    "ProductClass",
    "ResultBasis",
    "SampleStage",
    "SourceKind",
    "StepPurpose",
    "SupplementType",
    "TokenScope",
    "VesselType",
    "choices",
]


def choices(enum: type[StrEnum]) -> list[tuple[str, str]]:
    """(value, label) pairs of an evqc vocabulary, for a model field's `choices`."""
    return [(member.value, getattr(member, "label", member.value)) for member in enum]


GAP_STATUSES = [("gap", "gap"), ("warning", "warning"), ("excepted", "excepted")]
PARENT_RELATIONS = [("pooled", "pooled into this batch"), ("split", "split off into this batch")]
ALIQUOT_STATUSES = [("available", "available"), ("used", "used"), ("discarded", "discarded")]
ENDOTOXIN_ROUTES = [
    ("intravenous", "intravenous"),
    ("intramuscular", "intramuscular"),
    ("subcutaneous", "subcutaneous"),
    ("inhalation", "inhalation"),
    ("topical", "topical"),
    ("intrathecal", "intrathecal"),
]
