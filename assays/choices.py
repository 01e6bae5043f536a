"""Django choices for assays, built from evqc's vocabularies (evqc/vocabulary.py)."""

from batches.choices import choices
from evqc.batch_record import BIN_KINDS
from evqc.specs import Qualifier, Verdict
from evqc.vocabulary import (
    ATTRIBUTES,
    AssayMethod,
    ImageField,
    ImagingTechnique,
    ResultBasis,
    SampleStage,
)

__all__ = [
    "BIN_QUANTITIES",
    "QUALIFIERS",
    "VERDICTS",
    "WEIGHTINGS",
    "AssayMethod",
    "ImageField",
    "ImagingTechnique",
    "ResultBasis",
    "SampleStage",
    "Verdict",
    "attribute_choices",
    "choices",
]


def attribute_choices() -> list[tuple[str, str]]:
    return [(attribute.name, attribute.label) for attribute in ATTRIBUTES.values()]


VERDICTS = [
    (Verdict.PASS.value, "pass"),
    (Verdict.WARN.value, "warn"),
    (Verdict.FAIL.value, "fail"),
    (Verdict.NO_SPEC.value, "no spec"),
]
QUALIFIERS = [(Qualifier.BELOW.value, "below (<)"), (Qualifier.ABOVE.value, "above (>)")]
WEIGHTINGS = [("number", "number"), ("volume", "volume"), ("intensity", "intensity")]
BIN_QUANTITIES = [(name, name.replace("_", " ")) for name in BIN_KINDS]
