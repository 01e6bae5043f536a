import subprocess
import sys
from pathlib import Path

import pytest

from evqc import markers
from evqc.markers import MARKERS, Marker, MarkerCategory, canonical_symbol, resolve_marker

# rules.md §2.7, row by row. Wildcards and group names ("ITGA*/ITGB*", "histones",
# "interleukins", "HLA class II", ...) are replaced by members labs report.
TABLE_3_EXAMPLES = {
    "1a": [
        "CD63", "CD81", "CD82", "CD47",
        "ITGA1", "ITGA2", "ITGA3", "ITGA4", "ITGA5", "ITGA6", "ITGAV", "ITGB1", "ITGB3",
        "HLA-A", "HLA-B", "HLA-C", "LAMP1", "LAMP2", "BSG", "ADAM10", "NT5E", "CD73",
        "CD55", "CD59", "SDC1", "SDC2", "SDC3", "SDC4", "GNAI2", "GNAQ",
    ],
    "1b": [
        "CD9", "TSPAN8", "CD37", "CD53", "PECAM1", "EPCAM", "ERBB2", "THY1", "CD90",
        "PTPRC", "CD45", "CD14", "CD3", "GYPA", "HLA-DRA", "ITGA2B", "CD41", "GP9", "CD42a",
        "APP", "ABCC1",
    ],
    "2a": [
        "TSG101", "PDCD6IP", "ALIX", "SDCBP", "syntenin",
        "CHMP1A", "CHMP1B", "CHMP2A", "CHMP2B", "CHMP3", "CHMP4A", "CHMP4B", "CHMP4C",
        "CHMP5", "CHMP6", "CHMP7", "VPS4A", "VPS4B", "FLOT1", "FLOT2", "CAV1", "CAV2",
        "EHD1", "EHD2", "EHD3", "EHD4", "RHOA", "ARF6", "ANXA1", "ANXA2", "ANXA5", "ANXA11",
        "HSPA8", "HSC70", "HSP90AB1", "MAPT",
    ],
    "2b": ["GAPDH", "HSPA1A", "ACTB", "ACTG1", "TUBA1A", "TUBB"],
    "3a": ["APOA1", "APOA2", "APOB", "APOB100", "ALB"],
    "3b": ["UMOD", "Tamm\N{EN DASH}Horsfall", "RPLP0", "RPL7", "RPS3", "RPS6"],
    "4a": ["H1-0", "H2AZ1", "H3C1", "H4C1", "LMNA"],
    "4b": ["CYC1", "TOMM20"],
    "4c": ["CANX", "calnexin", "HSP90B1", "GRP94", "HSPA5", "BiP", "GOLGA2", "GM130"],
    "4d": ["ACTN1", "ACTN4", "KRT18", "ATG9A"],
    "5a": [
        "TGFB1", "VEGFA", "FGF1", "FGF2", "PDGFA", "PDGFB", "EGF", "IFNG",
        "IL6", "IL8", "CXCL8", "IL10", "IL1B",
    ],
    "5b": [
        "FN1", "COL1A1", "COL1A2", "MFGE8", "lactadherin", "LGALS3BP", "CD5L", "AHSG",
        "fetuin-A",
    ],
}  # fmt: skip

# The MSC-EV identity panels (REL-ID-02/03, decision 7).
MSC_PANEL = {
    "CD44": "1b", "CD73": "1a", "CD105": "1b", "CD90": "1b", "CD11b": "1b", "CD45": "1b",
    "CD197": "1b", "CD34": "1b", "CD14": "1b", "CD19": "1b", "CD79a": "1b", "HLA-DR": "1b",
}  # fmt: skip

ALIASES = [
    ("ALIX", "PDCD6IP"),
    ("syntenin", "SDCBP"),
    ("syntenin-1", "SDCBP"),
    ("HSC70", "HSPA8"),
    ("HSP70", "HSPA1A"),
    ("GM130", "GOLGA2"),
    ("calnexin", "CANX"),
    ("GRP94", "HSP90B1"),
    ("BiP", "HSPA5"),
    ("GRP78", "HSPA5"),
    ("CD73", "NT5E"),
    ("CD90", "THY1"),
    ("CD105", "ENG"),
    ("endoglin", "ENG"),
    ("CD11b", "ITGAM"),
    ("CD45", "PTPRC"),
    ("CD197", "CCR7"),
    ("CD41", "ITGA2B"),
    ("CD42a", "GP9"),
    ("lactadherin", "MFGE8"),
    ("fetuin-A", "AHSG"),
    ("albumin", "ALB"),
    ("ApoA1", "APOA1"),
    ("ApoA-I", "APOA1"),
    ("ApoB", "APOB"),
    ("ApoB100", "APOB"),
    ("Tamm-Horsfall protein", "UMOD"),
    ("uromodulin", "UMOD"),
    ("flotillin-1", "FLOT1"),
    ("TSG-101", "TSG101"),
    ("beta-actin", "ACTB"),
    ("GAPDH", "GAPDH"),
    ("TOM20", "TOMM20"),
    ("cytochrome c1", "CYC1"),
    ("lamin A/C", "LMNA"),
    ("EpCAM", "EPCAM"),
    ("CD147", "BSG"),
    ("MHC class I", "HLA-A"),
    ("Histone H3", "H3C1"),
    ("HIST1H3A", "H3C1"),
    ("histone H4", "H4C1"),
    ("IL-8", "CXCL8"),
]


def test_alix_resolves_to_pdcd6ip_in_category_2a():
    marker = resolve_marker("ALIX")

    assert marker is not None
    assert (marker.symbol, marker.category, marker.subcategory) == (
        "PDCD6IP",
        MarkerCategory.CYTOSOLIC,
        "2a",
    )


@pytest.mark.parametrize(
    ("name", "subcategory"),
    [(name, sub) for sub, names in TABLE_3_EXAMPLES.items() for name in names],
)
def test_every_rules_example_resolves_to_its_table_3_subcategory(name, subcategory):
    marker = resolve_marker(name)

    assert marker is not None, f"{name} is missing"
    assert marker.subcategory == subcategory
    assert marker.category == MarkerCategory(subcategory[0])


@pytest.mark.parametrize(("name", "subcategory"), MSC_PANEL.items())
def test_msc_identity_panel_markers_resolve(name, subcategory):
    marker = resolve_marker(name)

    assert marker is not None, f"{name} is missing"
    assert marker.subcategory == subcategory


@pytest.mark.parametrize(("alias", "symbol"), ALIASES)
def test_alias_resolves_to_its_hgnc_symbol(alias, symbol):
    marker = resolve_marker(alias)

    assert marker is not None
    assert marker.symbol == symbol


@pytest.mark.parametrize(
    "spelling",
    ["gm130", "GM 130", "GM-130", "gm_130", "  GM130\t", "Gm - 130"],
)
def test_matching_ignores_case_spaces_hyphens_and_underscores(spelling):
    assert canonical_symbol(spelling) == "GOLGA2"


@pytest.mark.parametrize(
    ("spelling", "symbol"),
    [
        ("β-actin", "ACTB"),
        ("beta-actin", "ACTB"),
        ("Beta Actin", "ACTB"),
        ("α-tubulin", "TUBA1A"),  # noqa: RUF001
        ("IFN-γ", "IFNG"),  # noqa: RUF001
        ("IL-1β", "IL1B"),
        ("HSP90β", "HSP90AB1"),
        ("TGF-β1", "TGFB1"),
    ],
)
def test_greek_letters_match_their_spelled_out_names(spelling, symbol):
    assert canonical_symbol(spelling) == symbol


def test_a_dash_typed_for_a_hyphen_still_matches():
    assert canonical_symbol("Tamm\N{EN DASH}Horsfall protein") == "UMOD"
    assert canonical_symbol("flotillin\N{NON-BREAKING HYPHEN}1") == "FLOT1"


@pytest.mark.parametrize("name", ["CD99L7", "my favourite protein", "", "   "])
def test_an_unknown_protein_resolves_to_none(name):
    assert resolve_marker(name) is None


def test_canonical_symbol_of_an_unknown_protein_is_stripped_and_upper_cased():
    assert canonical_symbol("  Cd99l7 ") == "CD99L7"
    assert canonical_symbol(" novel-protein x ") == "NOVEL-PROTEIN X"


def test_canonical_symbol_of_an_alias_is_the_hgnc_symbol():
    assert canonical_symbol("  alix ") == "PDCD6IP"


@pytest.mark.parametrize(
    ("symbol", "subcategory"),
    [
        ("HSPA8", "2a"),
        ("HSP90AB1", "2a"),
        ("GAPDH", "2b"),
        ("HSPA1A", "2b"),
        ("ACTB", "2b"),
        ("TUBB", "2b"),
    ],
)
def test_hsc70_and_hsp90ab1_are_2a_while_gapdh_hsp70_actin_and_tubulin_are_2b(symbol, subcategory):
    assert MARKERS[symbol].subcategory == subcategory


def test_every_spelling_of_every_marker_resolves_to_that_marker():
    for marker in MARKERS.values():
        for spelling in (marker.symbol, marker.name, *marker.aliases):
            assert resolve_marker(spelling) is marker, spelling


def test_markers_are_keyed_by_their_upper_case_symbol():
    assert all(key == marker.symbol == key.upper() for key, marker in MARKERS.items())


def test_the_dictionary_covers_every_subcategory():
    assert {marker.subcategory for marker in MARKERS.values()} == markers.SUBCATEGORIES


def test_an_alias_naming_two_symbols_is_refused():
    # given
    first = Marker("HSPA8", MarkerCategory.CYTOSOLIC, "2a", "HSC70", ("HSP70",))
    second = Marker("HSPA1A", MarkerCategory.CYTOSOLIC, "2b", "HSP-70")

    # when / then
    with pytest.raises(ValueError, match=r"^'HSP-70' would name both HSPA8 and HSPA1A$"):
        markers._build_index([first, second])


def test_a_symbol_listed_twice_is_refused():
    marker = Marker("CANX", MarkerCategory.OTHER_COMPARTMENT, "4c", "calnexin")

    with pytest.raises(ValueError, match=r"^CANX is listed twice$"):
        markers._build_index([marker, marker])


def test_a_subcategory_outside_its_category_is_refused():
    with pytest.raises(ValueError, match=r"^CANX: subcategory '2a' is not in category 4$"):
        Marker("CANX", MarkerCategory.OTHER_COMPARTMENT, "2a", "calnexin")


def test_markers_are_immutable():
    with pytest.raises(AttributeError):
        MARKERS["CANX"].subcategory = "2a"
    with pytest.raises(TypeError):
        MARKERS["CANX"] = MARKERS["GAPDH"]


@pytest.mark.parametrize(
    ("category", "label"),
    [
        (MarkerCategory.TRANSMEMBRANE, "transmembrane or GPI-anchored"),
        (MarkerCategory.CYTOSOLIC, "cytosolic"),
        (MarkerCategory.NON_EV_COISOLATE, "non-EV co-isolated"),
        (MarkerCategory.OTHER_COMPARTMENT, "intracellular compartment other than PM/endosome"),
        (MarkerCategory.SECRETED, "secreted"),
    ],
)
def test_each_category_has_a_short_label(category, label):
    assert category.label == label


def test_the_marker_dictionary_imports_without_django():
    script = "import sys, evqc.markers; sys.exit('django' in sys.modules)"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(markers.__file__).parent.parent)}
    completed = subprocess.run([sys.executable, "-c", script], env=env, check=False)  # noqa: S603

    assert completed.returncode == 0
