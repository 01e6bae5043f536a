"""The MISEV2018 Table 3 marker dictionary: which category an EV protein belongs to.

Categories and example members follow rules.md §2.7, itself taken from a transcription of
MISEV2018 Table 3 (GitHub mja33004-alt/proteomics-skill, data/MISEV2018_EV_Markers.txt).
Comments marked "judgement" place a protein that neither names. A protein missing here is
not an error (decision 8): `resolve_marker` returns None and callers show it as
"uncategorised"; `canonical_symbol` still gives it a stable spelling to store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

__all__ = ["MARKERS", "Marker", "MarkerCategory", "canonical_symbol", "resolve_marker"]


class MarkerCategory(StrEnum):
    TRANSMEMBRANE = "1"
    CYTOSOLIC = "2"
    NON_EV_COISOLATE = "3"
    OTHER_COMPARTMENT = "4"
    SECRETED = "5"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    MarkerCategory.TRANSMEMBRANE: "transmembrane or GPI-anchored",
    MarkerCategory.CYTOSOLIC: "cytosolic",
    MarkerCategory.NON_EV_COISOLATE: "non-EV co-isolated",
    MarkerCategory.OTHER_COMPARTMENT: "intracellular compartment other than PM/endosome",
    MarkerCategory.SECRETED: "secreted",
}

SUBCATEGORIES = frozenset({"1a", "1b", "2a", "2b", "3a", "3b", "4a", "4b", "4c", "4d", "5a", "5b"})


@dataclass(frozen=True, slots=True)
class Marker:
    """A protein and its place in MISEV2018 Table 3; `name` and `aliases` also resolve."""

    symbol: str
    category: MarkerCategory
    subcategory: str
    name: str
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.subcategory not in SUBCATEGORIES or self.subcategory[0] != self.category:
            raise ValueError(
                f"{self.symbol}: subcategory {self.subcategory!r} is not in category "
                f"{self.category}"
            )


def _marker(symbol: str, subcategory: str, name: str, *aliases: str) -> Marker:
    return Marker(symbol, MarkerCategory(subcategory[0]), subcategory, name, aliases)


_TABLE = (
    # 1a: transmembrane or GPI-anchored, non-tissue-specific
    _marker("CD63", "1a", "CD63", "TSPAN30"),  # not "LAMP-3": LAMP3 is another gene's symbol
    _marker("CD81", "1a", "CD81", "TAPA-1", "TSPAN28"),
    _marker("CD82", "1a", "CD82", "KAI1", "TSPAN27"),
    _marker("CD47", "1a", "CD47", "integrin-associated protein"),
    _marker("ITGA1", "1a", "integrin alpha-1", "CD49a"),
    _marker("ITGA2", "1a", "integrin alpha-2", "CD49b"),
    _marker("ITGA3", "1a", "integrin alpha-3", "CD49c"),
    _marker("ITGA4", "1a", "integrin alpha-4", "CD49d"),
    _marker("ITGA5", "1a", "integrin alpha-5", "CD49e"),
    _marker("ITGA6", "1a", "integrin alpha-6", "CD49f"),
    _marker("ITGAV", "1a", "integrin alpha-V", "CD51"),
    _marker("ITGB1", "1a", "integrin beta-1", "CD29"),
    _marker("ITGB3", "1a", "integrin beta-3", "CD61"),
    _marker("ITGB4", "1a", "integrin beta-4", "CD104"),
    _marker("ITGB5", "1a", "integrin beta-5"),
    # Judgement: the generic MHC class I names point at HLA-A so a result reported as
    # "MHC class I" (e.g. the pan-HLA-ABC antibody W6/32) still counts as category 1a.
    _marker("HLA-A", "1a", "HLA-A", "MHC class I", "MHC-I", "HLA class I", "HLA-ABC"),
    _marker("HLA-B", "1a", "HLA-B"),
    _marker("HLA-C", "1a", "HLA-C"),
    _marker("LAMP1", "1a", "LAMP-1", "CD107a"),
    _marker("LAMP2", "1a", "LAMP-2", "CD107b"),
    _marker("BSG", "1a", "basigin", "CD147", "EMMPRIN"),
    _marker("ADAM10", "1a", "ADAM10", "CD156c"),
    _marker("NT5E", "1a", "ecto-5'-nucleotidase", "CD73"),
    _marker("CD55", "1a", "decay-accelerating factor", "DAF"),
    _marker("CD59", "1a", "CD59", "protectin"),
    _marker("SDC1", "1a", "syndecan-1", "CD138"),
    _marker("SDC2", "1a", "syndecan-2"),
    _marker("SDC3", "1a", "syndecan-3"),
    _marker("SDC4", "1a", "syndecan-4"),
    _marker("GNAI2", "1a", "G-alpha i2"),
    _marker("GNAQ", "1a", "G-alpha q"),
    # 1b: transmembrane, cell- or tissue-specific
    _marker("CD9", "1b", "CD9", "TSPAN29"),  # absent from NK cells, B cells and some MSC
    _marker("TSPAN8", "1b", "tetraspanin-8", "CO-029"),
    _marker("CD37", "1b", "CD37", "TSPAN26"),
    _marker("CD53", "1b", "CD53", "TSPAN25"),
    _marker("PECAM1", "1b", "PECAM-1", "CD31"),
    _marker("EPCAM", "1b", "EpCAM", "CD326"),
    _marker("ERBB2", "1b", "HER2", "neu", "CD340"),
    _marker("THY1", "1b", "Thy-1", "CD90"),
    _marker("PTPRC", "1b", "CD45"),
    _marker("CD14", "1b", "CD14"),
    # Judgement: rules.md names "CD3", a complex of three chains; the bare name points at
    # CD3E, the chain that the common anti-CD3 clones (OKT3, UCHT1) bind.
    _marker("CD3E", "1b", "CD3 epsilon", "CD3"),
    _marker("CD3D", "1b", "CD3 delta"),
    _marker("CD3G", "1b", "CD3 gamma"),
    _marker("GYPA", "1b", "glycophorin A", "CD235a"),
    # HLA class II. Judgement: the generic names point at HLA-DRA, as for class I above.
    _marker("HLA-DRA", "1b", "HLA-DR alpha", "HLA-DR", "MHC class II", "MHC-II", "HLA class II"),
    _marker("HLA-DRB1", "1b", "HLA-DR beta 1"),
    _marker("HLA-DQA1", "1b", "HLA-DQ alpha 1", "HLA-DQ"),
    _marker("HLA-DPA1", "1b", "HLA-DP alpha 1", "HLA-DP"),
    _marker("ITGA2B", "1b", "integrin alpha-IIb", "CD41", "GPIIb"),
    _marker("GP9", "1b", "glycoprotein IX", "CD42a", "GPIX"),
    _marker("APP", "1b", "amyloid precursor protein"),
    _marker("ABCC1", "1b", "MRP1"),
    # MSC identity panels (REL-ID-02/03, decision 7). Judgement: not in the transcription;
    # placed in 1b as surface proteins whose presence depends on the cell type. ITGAM would
    # fall under ITGA* (1a) but is myeloid-restricted, like ITGA2B (CD41), which is 1b.
    _marker("CD44", "1b", "CD44", "H-CAM"),
    _marker("ENG", "1b", "endoglin", "CD105"),
    _marker("ITGAM", "1b", "integrin alpha-M", "CD11b"),
    _marker("CCR7", "1b", "CCR7", "CD197"),
    _marker("CD34", "1b", "CD34"),
    _marker("CD19", "1b", "CD19"),
    _marker("CD79A", "1b", "CD79a", "Ig-alpha"),
    # 2a: cytosolic, with lipid or membrane-protein-binding ability
    _marker("TSG101", "2a", "TSG101"),
    _marker("PDCD6IP", "2a", "ALIX"),
    _marker("SDCBP", "2a", "syntenin-1", "syntenin", "MDA-9"),
    _marker("CHMP1A", "2a", "CHMP1a"),
    _marker("CHMP1B", "2a", "CHMP1b"),
    _marker("CHMP2A", "2a", "CHMP2a"),
    _marker("CHMP2B", "2a", "CHMP2b"),
    _marker("CHMP3", "2a", "CHMP3", "VPS24"),
    _marker("CHMP4A", "2a", "CHMP4a"),
    _marker("CHMP4B", "2a", "CHMP4b"),
    _marker("CHMP4C", "2a", "CHMP4c"),
    _marker("CHMP5", "2a", "CHMP5"),
    _marker("CHMP6", "2a", "CHMP6", "VPS20"),
    _marker("CHMP7", "2a", "CHMP7"),
    _marker("VPS4A", "2a", "VPS4A"),
    _marker("VPS4B", "2a", "VPS4B", "SKD1"),
    _marker("FLOT1", "2a", "flotillin-1"),
    _marker("FLOT2", "2a", "flotillin-2"),
    _marker("CAV1", "2a", "caveolin-1"),
    _marker("CAV2", "2a", "caveolin-2"),
    _marker("EHD1", "2a", "EHD1"),
    _marker("EHD2", "2a", "EHD2"),
    _marker("EHD3", "2a", "EHD3"),
    _marker("EHD4", "2a", "EHD4"),
    _marker("RHOA", "2a", "RhoA"),
    _marker("ARF6", "2a", "ARF6"),
    _marker("ANXA1", "2a", "annexin A1", "annexin I", "lipocortin-1"),
    _marker("ANXA2", "2a", "annexin A2", "annexin II"),
    _marker("ANXA5", "2a", "annexin A5", "annexin V"),
    _marker("ANXA6", "2a", "annexin A6", "annexin VI"),
    _marker("ANXA11", "2a", "annexin A11", "annexin XI"),
    # HSPA8 and HSP90AB1 are 2a, yet M18-MRK-02 flags them with 2b as also found in exomeres.
    _marker("HSPA8", "2a", "HSC70", "HSC71", "HSP73"),
    _marker("HSP90AB1", "2a", "HSP90-beta", "HSP84"),
    _marker("MAPT", "2a", "tau"),
    # 2b: cytosolic, promiscuously incorporated in EVs (and possibly exomeres)
    _marker("GAPDH", "2b", "GAPDH"),
    _marker("HSPA1A", "2b", "HSP70", "HSP72", "HSP70-1"),
    _marker("ACTB", "2b", "beta-actin"),
    _marker("ACTG1", "2b", "gamma-actin"),
    _marker("TUBA1A", "2b", "alpha-tubulin"),
    _marker("TUBB", "2b", "beta-tubulin"),
    # 3a: lipoproteins (and albumin), from plasma, serum or serum-containing medium
    _marker("APOA1", "3a", "apolipoprotein A-I", "ApoA1", "ApoA-I"),
    _marker("APOA2", "3a", "apolipoprotein A-II", "ApoA2", "ApoA-II"),
    _marker("APOB", "3a", "apolipoprotein B", "ApoB", "ApoB100", "ApoB-48"),
    # BSA: bovine, so not an HGNC protein, but from serum-containing medium it is the same
    # purity signal as human albumin.
    _marker("ALB", "3a", "albumin", "serum albumin", "HSA", "BSA"),
    # 3b: protein and protein/nucleic-acid aggregates
    _marker("UMOD", "3b", "uromodulin", "Tamm-Horsfall protein", "Tamm-Horsfall", "THP"),
    _marker("RPLP0", "3b", "ribosomal protein P0"),
    _marker("RPL3", "3b", "ribosomal protein L3"),
    _marker("RPL7", "3b", "ribosomal protein L7"),
    _marker("RPL13A", "3b", "ribosomal protein L13a"),
    _marker("RPS3", "3b", "ribosomal protein S3"),
    _marker("RPS6", "3b", "ribosomal protein S6"),
    _marker("RPS19", "3b", "ribosomal protein S19"),
    # 4a: nucleus. "Histone H3" and "histone H4" point at H3C1 and H4C1, the first genes of
    # the clusters that encode H3.1 and H4 (the antibodies do not tell the copies apart).
    # The transcription also lists some H2A histones (H2AZ1, H2AX, ...) under 1b "MHC class
    # II", a mix-up with the mouse MHC genes H2-A*; histones belong here.
    _marker("H1-0", "4a", "histone H1.0", "H1F0", "H1.0"),
    _marker("H1-2", "4a", "histone H1.2", "HIST1H1C", "H1.2"),
    _marker("H1-4", "4a", "histone H1.4", "HIST1H1E", "H1.4"),
    _marker("H2AX", "4a", "histone H2AX", "H2AFX", "H2A.X", "gamma-H2AX"),
    _marker("H2AZ1", "4a", "histone H2A.Z", "H2AFZ", "H2A.Z"),
    _marker("H3C1", "4a", "histone H3.1", "histone H3", "H3", "H3.1", "HIST1H3A", "H3FA"),
    _marker("H3-3A", "4a", "histone H3.3", "H3F3A", "H3.3"),
    _marker("H4C1", "4a", "histone H4", "H4", "HIST1H4A", "H4FA"),
    _marker("LMNA", "4a", "lamin A/C", "lamin A", "lamin C"),
    _marker("LMNB1", "4a", "lamin B1"),  # judgement: nuclear lamina, like LMNA
    # 4b: mitochondria
    _marker("CYC1", "4b", "cytochrome c1"),
    _marker("TOMM20", "4b", "TOM20"),
    _marker("CYCS", "4b", "cytochrome c"),  # judgement: a common mitochondrial negative marker
    _marker("VDAC1", "4b", "VDAC1"),  # judgement: outer mitochondrial membrane
    # 4c: secretory pathway (ER, Golgi)
    _marker("CANX", "4c", "calnexin"),
    _marker("HSP90B1", "4c", "GRP94", "gp96", "endoplasmin"),
    _marker("HSPA5", "4c", "BiP", "GRP78"),
    _marker("GOLGA2", "4c", "GM130"),
    _marker("CALR", "4c", "calreticulin"),  # judgement: ER lumen, like HSPA5
    # 4d: other compartments (autophagy, cytoskeleton)
    _marker("ACTN1", "4d", "alpha-actinin-1"),
    _marker("ACTN4", "4d", "alpha-actinin-4"),
    _marker("KRT18", "4d", "cytokeratin 18", "keratin 18", "CK18", "K18"),
    _marker("ATG9A", "4d", "ATG9A"),
    # 5a: cytokines and growth factors
    _marker("TGFB1", "5a", "TGF-beta1"),
    _marker("VEGFA", "5a", "VEGF-A", "VEGF"),
    _marker("FGF1", "5a", "FGF-1", "aFGF", "acidic FGF"),
    _marker("FGF2", "5a", "FGF-2", "bFGF", "basic FGF"),
    _marker("PDGFA", "5a", "PDGF-A"),
    _marker("PDGFB", "5a", "PDGF-B"),
    _marker("EGF", "5a", "EGF"),
    _marker("IFNG", "5a", "interferon gamma", "IFN-gamma"),
    _marker("IL1B", "5a", "IL-1beta"),
    _marker("IL6", "5a", "IL-6"),
    _marker("CXCL8", "5a", "IL-8"),
    _marker("IL10", "5a", "IL-10"),
    # 5b: adhesion and extracellular-matrix proteins
    _marker("FN1", "5b", "fibronectin"),
    _marker("COL1A1", "5b", "collagen type I alpha 1"),
    _marker("COL1A2", "5b", "collagen type I alpha 2"),
    _marker("MFGE8", "5b", "lactadherin", "MFG-E8"),
    _marker("LGALS3BP", "5b", "galectin-3-binding protein", "90K", "Mac-2BP"),
    _marker("CD5L", "5b", "CD5 antigen-like"),
    _marker("AHSG", "5b", "fetuin-A", "alpha-2-HS-glycoprotein"),
)

# Spellings differ by case, spacing, hyphens (or dashes typed in their place) and Greek
# letters written out; none of these distinguishes two proteins in this table.
_IGNORED = re.compile(
    r"[\s_\-\N{HYPHEN}\N{NON-BREAKING HYPHEN}\N{FIGURE DASH}\N{EN DASH}\N{EM DASH}"
    r"\N{MINUS SIGN}]+"
)
_GREEK = str.maketrans(
    {
        "\N{GREEK SMALL LETTER ALPHA}": "alpha",
        "\N{GREEK SMALL LETTER BETA}": "beta",
        "\N{GREEK SMALL LETTER GAMMA}": "gamma",
        "\N{GREEK SMALL LETTER DELTA}": "delta",
        "\N{GREEK SMALL LETTER EPSILON}": "epsilon",
        "\N{GREEK SMALL LETTER KAPPA}": "kappa",
    }
)


def _key(name: str) -> str:
    return _IGNORED.sub("", name.casefold().translate(_GREEK)).upper()


def _build_index(markers: Iterable[Marker]) -> tuple[dict[str, Marker], dict[str, Marker]]:
    """Markers by symbol, and by the key of every symbol, name and alias.

    A spelling that would name two proteins is a bug in the table: refuse it rather than
    let the later entry win silently.
    """
    by_symbol: dict[str, Marker] = {}
    by_key: dict[str, Marker] = {}
    for marker in markers:
        if marker.symbol in by_symbol:
            raise ValueError(f"{marker.symbol} is listed twice")
        by_symbol[marker.symbol] = marker
        for spelling in (marker.symbol, marker.name, *marker.aliases):
            known = by_key.setdefault(_key(spelling), marker)
            if known.symbol != marker.symbol:
                raise ValueError(
                    f"{spelling!r} would name both {known.symbol} and {marker.symbol}"
                )
    return by_symbol, by_key


_BY_SYMBOL, _BY_KEY = _build_index(_TABLE)
MARKERS: Mapping[str, Marker] = MappingProxyType(_BY_SYMBOL)


def resolve_marker(name: str) -> Marker | None:
    """The marker for an HGNC symbol, common name or alias; None for a protein not listed."""
    return _BY_KEY.get(_key(name))


def canonical_symbol(name: str) -> str:
    """The symbol to store: HGNC if listed, else the name as given, stripped and upper-cased."""
    marker = resolve_marker(name)
    return marker.symbol if marker else name.strip().upper()
