"""The demo data of evqc: one lab, its products and their release specifications, and
batch records in the batch-record format v1 (`evqc.batch_record`), as plain JSON-able
Python data. `seed_demo` loads it; nothing here touches Django or a database.

Every value is fixed: the size distributions and their summary statistics are computed
from fixed parameters (`_size_bins`), never from random numbers or today's date, so
seeding is deterministic and idempotent. BATCHES is in import order: a pooled batch
comes after its parents.

Numbers follow what published labs report (domain.md, rules.md §5): NTA stock
concentrations 1e10-5e12 particle/mL with modes of 95-130 nm, microBCA 10-300 µg/mL,
ultracentrifugation at 100,000-120,000 x g (average) for 70-120 min at 4 °C with the
k-factor adjusted to the run speed (Type 45 Ti: 133 at 45,000 rpm, so 210 at the
35,800 rpm that gives 100,000 x g average; SW 32 Ti: 204 at 32,000 rpm, 256 at 28,550
rpm; SW 41 Ti: 124 at 41,000 rpm, 257 at 28,500 rpm), iodixanol gradients, Sepharose
CL-2B and qEV size-exclusion columns, 300/500 kDa mPES hollow-fibre TFF.

Products
--------
UCMSC-sEV      umbilical-cord MSC small EVs, IV, GvHD phase I; MISEV compliance is a
               release criterion; max. 1 freeze-thaw; endotoxin < 0.5 EU/mL.
HEK-miR-EV     HEK293T EVs loaded with a miR-146a-5p mimic by electroporation; preclinical
               (mouse, 0.2 mL IV in 25 g); max. 2 freeze-thaws; endotoxin NMT 0.5 EU/mL.
PLASMA-EV-REF  human plasma EVs kept as an assay-control material (not administered), so
               it has no route; a third product because the plasma batch must belong to a
               product and is neither of the two above.

Batches (in BATCHES order) and what is deliberately wrong or missing
--------------------------------------------------------------------
=============  ===========  ==============================  ======================================
lot            status       isolation                       deliberately wrong / missing
=============  ===========  ==============================  ======================================
UCMSC-2601     released     clarification, TFF 500 kDa,     nothing (reference complete record;
                            SEC (Sepharose CL-2B)           harvest + in-process NTA after step 4
                                                            for recoveries; nano-flow and DLS too)
UCMSC-2602     released     clarification, dUC Type 45 Ti,  nothing; EV-depleted hPL medium, so
                            UC wash SW 32 Ti                M18-CC-11 (unconditioned-medium
                                                            control) is EXCEPTED with a
                                                            justification; APOA1 probed
UCMSC-2603     released     clarification, TFF, SEC         nothing (second lot, 2601's process)
UCMSC-2604     under_review clarification, TFF, UF 10 kDa,  no negative marker: WB shows CD9, CD63,
                            iodixanol DG (SW 41 Ti), SEC    CD81, TSG101, ALIX, syntenin only
                                                            (M18-MRK-03; M18-MRK-04 for the sEV
                                                            claim)
UCMSC-2605     rejected     clarification, TFF, SEC         endotoxin 1.2 EU/mL against < 0.5 EU/mL
                                                            (the only out-of-specification
                                                            endotoxin)
UCMSC-2606     quarantined  clarification, dUC 120,000 x g  storage freeze_thaw_cycles 3 against
               (held_from   90 min Type 45 Ti               the product's max. 1 (freezer failure;
               under_review)                                the only freeze-thaw excess)
UCMSC-2607     in_qc        clarification, TFF, SEC         only tetraspanins (CD9, CD63, CD81):
                                                            no cytosolic and no negative marker
                                                            (M18-MRK-01, M18-MRK-03); potency not
                                                            yet tested (pending, not a gap)
UCMSC-2608     in_qc        clarification, dUC 110,000 x g  no imaging assay (M18-SGL-01, and
                            120 min Type 45 Ti              M18-SGL-03: NTA is the only
                                                            single-particle method)
UCMSC-2609     under_review pooled from UCMSC-2601 and      nothing; no source or production of
                            UCMSC-2603; TFF buffer          its own (they are the parents'): a
                            exchange, 0.22 µm filtration    gap engine must read the parents
UCMSC-2610     in_production (none yet)                     conditioning under way: nothing
                                                            isolated or tested yet
UCMSC-2611     planned      (none yet)                      planned only: source and culture plan
HEK-2601       released     clarification, TFF 300 kDa,     nothing; electroporation of the mimic
                            electroporation, SEC (qEV10)    between TFF and SEC; harvest + in-
                                                            process NTA after step 4
HEK-2602       in_qc        clarification, TFF, SEC (qEV10) NTA (ZetaView) without settings or
                                                            software version: dilution factor
                                                            recorded; camera level/sensitivity,
                                                            threshold, videos, temperature not
                                                            (M18-QNT-04, M23-TECH-01)
HEK-2603       under_review clarification, dUC Type 45 Ti,  nothing; research-scale lot made by
                            anti-CD63 immunoaffinity, UF    CD63 capture and low-pH elution
                            buffer exchange
PLASMA-2601    in_qc        plasma spins, 10,000 x g,       the rules.md biofluid scenario: no
                            precipitation kit (Total        protein assay (M18-QNT-02, no
                            Exosome Isolation, plasma)      particle:protein ratio), no imaging
                                                            (M18-SGL-01/03), only tetraspanins
                                                            CD9/CD63/CD81 (no cytosolic marker
                                                            M18-MRK-01, no APOA1/APOB/ALB purity
                                                            marker M18-MRK-03); WB loaded by
                                                            particle number (no protein assay)
=============  ===========  ==============================  ======================================

`EXPECTED_DEVIATIONS` says the same per lot in machine-readable words; `EXPECTED_EXCEPTIONS`
lists the recorded rule exceptions. Recording choices that are not deviations:
clarification spins name the rotor but carry no k-factor (labs report k only for
ultracentrifugation and gradients); prepacked qEV columns (HEK lots) name the column but
not its bed volume, which the column model fixes; suspension HEK293T cultures have no
seeding density per cm² or confluence (seeded cells and the harvest cell count are given).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from evqc.distributions import fraction_within, summarise

SCHEMA = "evqc.batch-record/1"

LAB = {"code": "demo-lab", "name": "Demo EV Manufacturing Lab"}

# Products and their release specifications
# ------------------------------------------------------------------------------


def _spec(
    attribute: str,
    method: str = "",
    *,
    lower: str | None = None,
    upper: str | None = None,
    lower_inclusive: bool = True,
    upper_inclusive: bool = True,
    warn_lower: str | None = None,
    warn_upper: str | None = None,
    outcomes: Iterable[str] = (),
    required: bool = False,
    reference: str = "",
) -> dict[str, Any]:
    return {
        "attribute": attribute,
        "method": method,
        "lower_limit": lower,
        "upper_limit": upper,
        "lower_inclusive": lower_inclusive,
        "upper_inclusive": upper_inclusive,
        "warn_lower": warn_lower,
        "warn_upper": warn_upper,
        "acceptable_outcomes": list(outcomes),
        "required_for_release": required,
        "reference": reference,
    }


UCMSC_PRODUCT = {
    "code": "UCMSC-sEV",
    "name": "Umbilical-cord MSC small EVs",
    "description": (
        "Small EVs separated from serum-free (or EV-depleted hPL) conditioned medium of "
        "Wharton's-jelly mesenchymal stromal cells, formulated in PBS with 5 % w/v sucrose and "
        "filled at 1 mL per vial."
    ),
    "intended_use": (
        "Phase I trial: intravenous infusion in steroid-refractory acute graft-versus-host disease"
    ),
    "product_class": "native_ev",
    "preparation_term": "sev",
    "route": "intravenous",
    "max_dose_volume": "10 mL",
    "body_weight": "70 kg",
    "storage_temperature": "-80 °C",
    "shelf_life": "12 month",
    "max_freeze_thaw_cycles": "1",
    "misev_release_criterion": True,
    "specifications": [
        _spec(
            "particle_concentration", "nta",
            lower="1e11 particle/mL", warn_lower="2e11 particle/mL", required=True,
            reference="In-house; STTT 2025 Table 1 (particle number by NTA)",
        ),
        _spec(
            "size_mode", "nta",
            lower="50 nm", upper="200 nm", warn_lower="70 nm", warn_upper="150 nm",
            required=True, reference="MISEV2023 Table 2 (sEV < 200 nm); in-house alert band",
        ),
        _spec(
            "size_within_range", "nta",
            lower="90 %", lower_inclusive=False,
            reference="STTT 2025 Table 1: > 90 % of particles within 50-400 nm (NTA)",
        ),
        _spec(
            "protein_concentration",
            lower="20 µg/mL", upper="500 µg/mL", required=True,
            reference="STTT 2025 Table 1 (protein by BCA, reported); in-house range",
        ),
        _spec(
            "particle_protein_ratio",
            lower="1.5e9 particle/µg", warn_lower="2e9 particle/µg",
            reference="Webber & Clayton 2013 (thresholds unverified; decision 4 default)",
        ),
        _spec(
            "endotoxin", "lal_endotoxin",
            upper="0.5 EU/mL", upper_inclusive=False, warn_upper="0.25 EU/mL", required=True,
            reference="WJSC 2025 Table 1 (< 0.5 EU/mL); K/M for 10 mL IV, 70 kg is 35 EU/mL",
        ),
        _spec(
            "sterility", "sterility", outcomes=["no_growth"], required=True,
            reference="USP <71>; STTT 2025 Table 1",
        ),
        _spec(
            "mycoplasma", "mycoplasma", outcomes=["not_detected"], required=True,
            reference="STTT 2025 Table 1 (qPCR)",
        ),
        _spec(
            "potency", "potency",
            lower="70 %", warn_lower="80 %", required=True,
            reference="In-house NF-kB reporter inhibition vs reference standard (REL-POT-01)",
        ),
        _spec(
            "ph", "ph", lower="7.0", upper="7.8", required=True,
            reference="In-house drug-product test (REL-GEN-01)",
        ),
    ],
}  # fmt: skip

HEK_PRODUCT = {
    "code": "HEK-miR-EV",
    "name": "HEK293T EVs loaded with miR-146a-5p mimic",
    "description": (
        "EVs from suspension HEK293T cells in chemically defined medium, loaded with a "
        "hsa-miR-146a-5p mimic by electroporation; free mimic removed by RNase A and SEC."
    ),
    "intended_use": "Preclinical efficacy and toxicology in mice (tail-vein injection)",
    "product_class": "loaded_ev",
    "preparation_term": "ev",
    "route": "intravenous",
    "max_dose_volume": "0.2 mL",
    "body_weight": "25 g",
    "storage_temperature": "-80 °C",
    "shelf_life": "6 month",
    "max_freeze_thaw_cycles": "2",
    "misev_release_criterion": False,
    "specifications": [
        _spec(
            "particle_concentration", "nta",
            lower="5e10 particle/mL", warn_lower="1e11 particle/mL", required=True,
            reference="In-house (dose of 1e10 particles in 0.2 mL)",
        ),
        _spec(
            "size_mode", "nta",
            lower="50 nm", upper="200 nm", warn_lower="70 nm", warn_upper="150 nm",
            required=True, reference="MISEV2023 Table 2; in-house alert band",
        ),
        _spec(
            "endotoxin", "lal_endotoxin",
            upper="0.5 EU/mL", warn_upper="0.25 EU/mL", required=True,
            reference="NMT 0.5 EU/mL; K/M for 0.2 mL IV in a 25 g mouse is 0.625 EU/mL",
        ),
        _spec(
            "sterility", "sterility", outcomes=["no_growth"], required=True,
            reference="USP <71>",
        ),
        _spec(
            "cargo_copies", "rna",
            lower="1e9 copy/µL", warn_lower="2e9 copy/µL", required=True,
            reference="In-house; stem-loop RT-qPCR of RNase-protected mimic",
        ),
    ],
}  # fmt: skip

PLASMA_PRODUCT = {
    "code": "PLASMA-EV-REF",
    "name": "Human plasma EV reference preparation",
    "description": (
        "EVs precipitated from healthy-donor EDTA plasma, kept as an assay-control material "
        "(NTA system suitability, Western blot positive control). Not for administration."
    ),
    "intended_use": "Assay control material, research use only",
    "product_class": "native_ev",
    "preparation_term": "ev",
    "route": "",
    "max_dose_volume": None,
    "body_weight": None,
    "storage_temperature": "-80 °C",
    "shelf_life": "12 month",
    "max_freeze_thaw_cycles": "1",
    "misev_release_criterion": False,
    "specifications": [
        _spec(
            "particle_concentration", "nta", lower="1e10 particle/mL",
            reference="In-house acceptance for control material",
        ),
        _spec(
            "size_mode", "nta", lower="50 nm", upper="250 nm",
            reference="In-house acceptance for control material",
        ),
    ],
}  # fmt: skip

PRODUCTS = [UCMSC_PRODUCT, HEK_PRODUCT, PLASMA_PRODUCT]


def _ref(product: dict[str, Any]) -> dict[str, str]:
    return {"code": product["code"], "name": product["name"]}


# Small helpers
# ------------------------------------------------------------------------------


def _sig(number: float, digits: int = 3) -> float:
    """`number` rounded to `digits` significant figures, as an instrument prints it."""
    return float(f"{number:.{digits}g}")


def _clock(start: str) -> Callable[..., str]:
    """Timestamps of one batch, counted from its fixed start: `at(2, 10.5)` is two days
    and ten and a half hours after `start`, with the start's UTC offset."""
    origin = datetime.fromisoformat(start)

    def at(days: float = 0, hours: float = 0) -> str:
        return (origin + timedelta(days=days, hours=hours)).isoformat()

    return at


def _without_none(data: Any) -> Any:
    """The document without keys whose value is None (the format's default)."""
    if isinstance(data, dict):
        return {key: _without_none(value) for key, value in data.items() if value is not None}
    if isinstance(data, list):
        return [_without_none(value) for value in data]
    return data


# Sources and upstream production
# ------------------------------------------------------------------------------

UCMSC_SOURCE = {
    "kind": "cell_culture",
    "name": "UC-MSC WCB UCM-117 (working cell bank, P3)",
    "species": "Homo sapiens",
    "cell_type": "umbilical-cord mesenchymal stromal cells (Wharton's jelly)",
    "donor": "UC-117 (consented term caesarean delivery; donor serology negative)",
    "tissue": "umbilical cord, Wharton's jelly",
    "authentication_method": (
        "ISCT phenotype by flow (CD73/CD90/CD105 >= 95 %; CD34/CD45/CD14/CD19/HLA-DR <= 2 %), "
        "trilineage differentiation, G-banded karyotype 46,XY"
    ),
    "authenticated_on": "2025-11-12",
    "mycoplasma_status": "negative",
    "mycoplasma_method": "qPCR (MycoSEQ Plus) and culture method, Ph. Eur. 2.6.7",
    "mycoplasma_tested_on": "2025-11-20",
    "notes": "Master cell bank UCM-117 MCB-2509; working cell bank frozen at passage 3.",
}

HEK_SOURCE = {
    "kind": "cell_culture",
    "name": "HEK293T-SF MCB-2502 (suspension-adapted)",
    "species": "Homo sapiens",
    "cell_type": "HEK293T, adapted to suspension in chemically defined medium",
    "cell_line": "RRID:CVCL_0063 (ATCC CRL-3216)",
    "tissue": "embryonic kidney",
    "authentication_method": "STR profiling (ATCC service), 100 % match to CVCL_0063",
    "authenticated_on": "2025-10-02",
    "mycoplasma_status": "negative",
    "mycoplasma_method": "qPCR (MycoSEQ Plus)",
    "mycoplasma_tested_on": "2025-10-06",
}


def _hollow_fibre(
    at: Callable[..., str],
    *,
    passage: int,
    seeded: str,
    harvested: str | None = None,
    viability: str | None = None,
    harvest: str | None = None,
    hours: int | None = 72,
) -> dict[str, Any]:
    """UC-MSC in a Quantum hollow-fibre bioreactor, serum-free medium; without `hours`,
    conditioning is still under way (nothing harvested yet)."""
    done = hours is not None
    return {
        "vessel_type": "hollow_fibre",
        "vessel": "Quantum Cell Expansion System (Terumo BCT), 2.1 m² bioreactor",
        "surface_area": "2.1 m²",
        "base_medium": "MSC NutriStem XF (Sartorius), xeno-free",
        "supplement_type": "serum_free",
        "passage_number": passage,
        "population_doublings": 14.2 + passage,
        "seeding_density": "950 cell/cm²",
        "seeded_cells": seeded,
        "cell_count_at_harvest": harvested,
        "viability_at_harvest": viability,
        "viability_method": "trypan blue exclusion (Vi-CELL BLU)",
        "temperature": "37 °C",
        "o2": "21 %",
        "co2": "5 %",
        "conditioning_started_at": at(0, 9),
        "conditioning_ended_at": at(0, 9 + hours) if done else None,
        "harvest_volume": harvest,
        "harvest_hold_duration": "2 h" if done else None,
        "harvest_hold_temperature": "4 °C" if done else None,
        "notes": "Conditioning in fresh serum-free medium after two PBS washes of the ECS.",
    }  # fmt: skip


def _cellstack(
    at: Callable[..., str],
    *,
    passage: int,
    harvested: str,
    viability: str,
    harvest: str,
    confluence: str = "85 %",
    hpl: bool = False,
    hours: int = 48,
) -> dict[str, Any]:
    """UC-MSC in two CellSTACK-10 multilayer vessels; serum-free or EV-depleted hPL."""
    production: dict[str, Any] = {
        "vessel_type": "multilayer",
        "vessel": "2 x CellSTACK 10-chamber (Corning 3320)",
        "surface_area": "12720 cm²",
        "working_volume": "2.4 L",
        "base_medium": "MSC NutriStem XF (Sartorius), xeno-free",
        "supplement_type": "serum_free",
        "passage_number": passage,
        "population_doublings": 14.2 + passage,
        "seeding_density": "3000 cell/cm²",
        "seeded_cells": "3.8e7 cell",
        "confluence_at_harvest": confluence,
        "cell_count_at_harvest": harvested,
        "viability_at_harvest": viability,
        "viability_method": "trypan blue exclusion (Vi-CELL BLU)",
        "temperature": "37 °C",
        "o2": "21 %",
        "co2": "5 %",
        "conditioning_started_at": at(0, 9),
        "conditioning_ended_at": at(0, 9 + hours),
        "harvest_volume": harvest,
        "harvest_hold_duration": "1.5 h",
        "harvest_hold_temperature": "4 °C",
    }  # fmt: skip
    if hpl:
        production |= {
            "base_medium": "alpha-MEM (Gibco 12571)",
            "supplement_type": "ev_depleted_hpl",
            "supplement_concentration": "5 %",
            "ev_depletion_method": "ultracentrifugation of 20 % hPL in alpha-MEM, Type 45 Ti",
            "ev_depletion_g_force": "120,000 x g",
            "ev_depletion_duration": "18 h",
            "ev_depletion_verified": True,
            "notes": (
                "hPL: PLTMax (Merck SCM141), 2 IU/mL heparin. Depletion verified by NTA: "
                "particle concentration of the depleted medium 96 % below undepleted."
            ),
        }
    return production


def _microcarrier(
    at: Callable[..., str],
    *,
    passage: int,
    harvested: str,
    viability: str,
    harvest: str,
    hours: int = 72,
) -> dict[str, Any]:
    """UC-MSC on microcarriers in a single-use stirred-tank bioreactor, serum-free."""
    return {
        "vessel_type": "microcarrier",
        "vessel": "BioBLU 3c single-use vessel (Eppendorf), Star-Plus microcarriers 10 g/L",
        "surface_area": "9000 cm²",
        "working_volume": "2.5 L",
        "base_medium": "MSC NutriStem XF (Sartorius), xeno-free",
        "supplement_type": "serum_free",
        "passage_number": passage,
        "population_doublings": 14.2 + passage,
        "seeding_density": "4000 cell/cm²",
        "seeded_cells": "3.6e7 cell",
        "cell_count_at_harvest": harvested,
        "viability_at_harvest": viability,
        "viability_method": "NucleoCounter NC-202 (acridine orange/DAPI) after bead digestion",
        "temperature": "37 °C",
        "o2": "21 %",
        "co2": "5 %",
        "conditioning_started_at": at(0, 9),
        "conditioning_ended_at": at(0, 9 + hours),
        "harvest_volume": harvest,
        "harvest_hold_duration": "2 h",
        "harvest_hold_temperature": "4 °C",
        "notes": "Agitation 40 rpm; 100 % medium exchange to serum-free before conditioning.",
    }  # fmt: skip


def _stirred_tank(
    at: Callable[..., str],
    *,
    passage: int,
    seeded: str,
    harvested: str,
    viability: str,
    harvest: str,
    hours: int = 72,
) -> dict[str, Any]:
    """Suspension HEK293T in a glass stirred-tank bioreactor, chemically defined medium."""
    return {
        "vessel_type": "stirred_tank",
        "vessel": "BioFlo 320, 3 L glass vessel (Eppendorf)",
        "working_volume": "2.5 L",
        "base_medium": "HyClone CDM4HEK293 (Cytiva) + 4 mM GlutaMAX",
        "supplement_type": "chemically_defined",
        "passage_number": passage,
        "seeded_cells": seeded,
        "cell_count_at_harvest": harvested,
        "viability_at_harvest": viability,
        "viability_method": "trypan blue exclusion (Vi-CELL BLU)",
        "temperature": "37 °C",
        "co2": "5 %",
        "conditioning_started_at": at(0, 9),
        "conditioning_ended_at": at(0, 9 + hours),
        "harvest_volume": harvest,
        "harvest_hold_duration": "1 h",
        "harvest_hold_temperature": "4 °C",
        "notes": "Seeded at 0.5e6 cell/mL; pH 7.1, DO 40 %, 120 rpm pitched-blade impeller.",
    }  # fmt: skip


# Isolation steps
# ------------------------------------------------------------------------------

LYNX = "Sorvall LYNX 6000, BIOFlex HC swinging-bucket rotor (Thermo Fisher)"
TYPE_45_TI = "Type 45 Ti fixed-angle (Beckman Coulter, Optima XPN-100)"
SW_32_TI = "SW 32 Ti swinging-bucket (Beckman Coulter, Optima XPN-100)"
SW_41_TI = "SW 41 Ti swinging-bucket (Beckman Coulter, Optima XPN-100)"


def _step(
    order: int,
    method: str,
    at: str,
    *,
    purpose: str = "separation",
    input_volume: str | None = None,
    output_volume: str | None = None,
    notes: str = "",
    **parameters: Any,
) -> dict[str, Any]:
    step = {
        "order": order,
        "method": method,
        "purpose": purpose,
        "performed_at": at,
        "input_volume": input_volume,
        "output_volume": output_volume,
        "parameters": parameters,
    }  # fmt: skip
    if notes:
        step["notes"] = notes
    return step


def _clarification(
    at: Callable[..., str],
    day: float,
    volume_ml: float,
    *,
    filtration: bool = True,
    rotor: str = LYNX,
) -> list[dict[str, Any]]:
    """Steps 1-3: 300 x g and 2,000 x g spins, then 0.22 µm filtration (pre-processing)."""
    after_300 = volume_ml - 20
    after_2000 = after_300 - 20
    steps = [
        _step(1, "centrifugation", at(day, 1), purpose="pre_processing",
              input_volume=f"{volume_ml:g} mL", output_volume=f"{after_300:g} mL",
              g_force="300 x g", g_force_type="average", duration="10 min",
              temperature="4 °C", rotor=rotor, tube="1 L PPCO bottles", brake="on"),
        _step(2, "centrifugation", at(day, 1.5), purpose="pre_processing",
              input_volume=f"{after_300:g} mL", output_volume=f"{after_2000:g} mL",
              g_force="2,000 x g", g_force_type="average", duration="20 min",
              temperature="4 °C", rotor=rotor, tube="1 L PPCO bottles", brake="on"),
    ]  # fmt: skip
    if filtration:
        steps.append(
            _step(3, "filtration", at(day, 2.2), purpose="pre_processing",
                  input_volume=f"{after_2000:g} mL", output_volume=f"{after_2000 - 10:g} mL",
                  pore_size="0.22 µm", membrane_material="polyethersulfone (PES)",
                  device="Stericup Quick Release-GP 1 L (Millipore)")
        )  # fmt: skip
    return steps


def _uc(
    order: int,
    at: str,
    *,
    g: str,
    minutes: int,
    rotor: str,
    k: float,
    tube: str,
    input_volume: str,
    output_volume: str,
    washes: int = 0,
    purpose: str = "separation",
    notes: str = "",
) -> dict[str, Any]:
    """An ultracentrifugation step (pellet resuspended in PBS)."""
    return _step(order, "ultracentrifugation", at, purpose=purpose,
                 input_volume=input_volume, output_volume=output_volume, notes=notes,
                 g_force=g, g_force_type="average", duration=f"{minutes} min",
                 temperature="4 °C", rotor=rotor, k_factor=k, tube=tube, washes=washes,
                 resuspension_volume=output_volume,
                 resuspension_buffer="PBS without Ca/Mg, 0.1 µm-filtered")  # fmt: skip


def _tff(
    order: int,
    at: str,
    *,
    mwco: str,
    input_volume: str,
    output_volume: str,
    factor: float,
    diavolumes: float = 5,
    purpose: str = "concentration",
    buffer: str = "PBS pH 7.4",
    notes: str = "",
) -> dict[str, Any]:
    """Hollow-fibre TFF: concentration and diafiltration."""
    return _step(order, "tff", at, purpose=purpose, input_volume=input_volume,
                 output_volume=output_volume, notes=notes, mwco=mwco,
                 membrane_material="modified polyethersulfone (mPES) hollow fibre",
                 device=f"KrosFlo KR2i (Repligen), MidiKros {mwco} 0.5 mm ID module",
                 membrane_area="370 cm²", transmembrane_pressure="0.2 bar",
                 feed_flow_rate="150 mL/min", diafiltration_volumes=diavolumes,
                 diafiltration_buffer=buffer, concentration_factor=factor)  # fmt: skip


def _cl2b(
    order: int, at: str, *, input_volume: str, output_volume: str, notes: str = ""
) -> dict[str, Any]:
    """Preparative SEC on a self-packed Sepharose CL-2B column (AKTA pure)."""
    return _step(order, "sec", at, input_volume=input_volume, output_volume=output_volume,
                 notes=notes, resin="Sepharose CL-2B (Cytiva)",
                 column="XK 26/70 (Cytiva), self-packed, on AKTA pure 25",
                 bed_volume="300 mL", load_volume=input_volume, fraction_volume="10 mL",
                 fractions_collected="F1-F30", fractions_pooled="F9-F14 (void-volume peak)",
                 elution_buffer="PBS pH 7.4, 0.1 µm-filtered",
                 flow_rate="2 mL/min")  # fmt: skip


def _qev10(
    order: int, at: str, *, input_volume: str, output_volume: str, notes: str = ""
) -> dict[str, Any]:
    """SEC on prepacked qEV10 columns (Izon), reported in Izon's own terms."""
    return _step(order, "sec", at, input_volume=input_volume, output_volume=output_volume,
                 notes=notes, resin="qEV resin, 70 nm pore (Izon Science)",
                 column="qEV10 /70 nm Gen 2 (Izon Science), automatic fraction collector",
                 load_volume=input_volume,
                 fractions_collected="buffer volume discarded, then purified collection volume",
                 fractions_pooled="EV-rich part of the purified collection volume",
                 elution_buffer="PBS pH 7.4, 0.1 µm-filtered")  # fmt: skip


# Assays
# ------------------------------------------------------------------------------

NANOSIGHT = "NanoSight NS300 (Malvern Panalytical), 488 nm laser, sCMOS camera"
NANOSIGHT_SOFTWARE = "NTA 3.4 Build 3.4.003"
ZETAVIEW = "ZetaView PMX-120 (Particle Metrix), 488 nm"

QC_OPERATORS = ("K. Lindqvist", "M. Okafor", "S. Brandt", "L. Moreau")

# 60 bins of 10 nm, centres 5 ... 595 nm, as the lab exports its NTA distributions.
BIN_CENTRES = [5.0 + 10.0 * index for index in range(60)]


def _lognormal(size: float, mode: float, sigma: float) -> float:
    """Log-normal density (per nm) whose mode is `mode`."""
    mu = math.log(mode) + sigma * sigma
    return math.exp(-((math.log(size) - mu) ** 2) / (2 * sigma * sigma)) / (
        size * sigma * math.sqrt(2 * math.pi)
    )


def _size_bins(mode: float, sigma: float, shoulder: float = 0.06) -> list[float]:
    """The share of particles per nm in each 10 nm bin: a log-normal main population plus
    a small shoulder of larger vesicles (about 2.2 x the mode), summing to 1 over bins."""
    density = [
        (1 - shoulder) * _lognormal(size, mode, sigma)
        + shoulder * _lognormal(size, 2.2 * mode, 0.28)
        for size in BIN_CENTRES
    ]
    total = sum(density) * 10.0
    return [value / total for value in density]


def _nanosight_settings(camera_level: int = 14, threshold: int = 5) -> dict[str, Any]:
    return {
        "camera_level": camera_level,
        "detection_threshold": threshold,
        "video_count": 5,
        "video_duration": "60 s",
        "frames_analysed": 1498,
        "temperature": "25 °C",
        "viscosity": "0.89 cP",
        "laser_wavelength": "488 nm",
        "calibration_particle_size": "100 nm",
        "syringe_pump_speed": 50,
        "diluent": "PBS, 0.02 µm-filtered (particle-free check < 1e7 particle/mL)",
    }


def _nta(
    at: str,
    *,
    stock: float,
    mode: float,
    dilution: int,
    sigma: float = 0.36,
    basis: str = "measured",
    cv: float = 0.05,
    stage: str = "final",
    step: int | None = None,
    aliquot: str = "",
    operator: str = QC_OPERATORS[0],
    instrument: str = NANOSIGHT,
    software: str = NANOSIGHT_SOFTWARE,
    settings: dict[str, Any] | None = None,
    percentage_bins: bool = False,
    notes: str = "",
) -> dict[str, Any]:
    """An NTA run: concentration (as measured on the diluted sample, or as stock), the size
    statistics of the distribution and the distribution itself (number-weighted)."""
    scale = 1.0 if basis == "stock" else 1.0 / dilution
    concentration = _sig(stock * scale)
    shares = _size_bins(mode, sigma)
    if percentage_bins:
        bins = {"bin_quantity": "percentage", "value_unit": "%",
                "bin_values": [_sig(share * 1000.0) for share in shares]}  # fmt: skip
    else:
        values = [_sig(share * concentration) for share in shares]
        floor = concentration * 1e-7  # the far tail, where the instrument prints 0
        bins = {"bin_quantity": "concentration_density", "value_unit": "particle/mL/nm",
                "basis": basis,
                "bin_values": [value if value >= floor else 0.0 for value in values]}  # fmt: skip
    summary = summarise(BIN_CENTRES, bins["bin_values"])
    within = fraction_within(BIN_CENTRES, bins["bin_values"], 50.0, 400.0)
    results = [
        {"attribute": "particle_concentration", "value": concentration,
         "unit": "particle/mL", "basis": basis, "sd": _sig(concentration * cv), "n": 5},
        {"attribute": "size_mode", "value": mode, "unit": "nm",
         "sd": round(mode * 0.03, 1), "n": 5},
        {"attribute": "size_mean", "value": round(summary.mean, 1), "unit": "nm",
         "sd": round(summary.mean * 0.02, 1), "n": 5},
        {"attribute": "size_sd", "value": round(summary.sd, 1), "unit": "nm"},
        {"attribute": "size_d10", "value": round(summary.d10, 1), "unit": "nm"},
        {"attribute": "size_d50", "value": round(summary.d50, 1), "unit": "nm"},
        {"attribute": "size_d90", "value": round(summary.d90, 1), "unit": "nm"},
        {"attribute": "size_within_range", "value": round(within * 100, 1), "unit": "%",
         "notes": "share of particles with sizes in 50-400 nm"},
    ]  # fmt: skip
    return {
        "method": "nta",
        "instrument": instrument,
        "operator": operator,
        "performed_at": at,
        "sop_reference": "SOP-QC-012 v4 (NTA)",
        "sample_stage": stage,
        "isolation_step": step,
        "aliquot": aliquot,
        "dilution_factor": dilution,
        "software_version": software,
        "settings": settings if settings is not None else _nanosight_settings(),
        "results": results,
        "size_distributions": [
            {"weighting": "number", "centre_unit": "nm", "bin_centres": BIN_CENTRES, **bins}
        ],
        "notes": notes,
    }


def _microbca(
    at: str,
    *,
    stock: float,
    dilution: int = 10,
    basis: str = "measured",
    aliquot: str = "QC-1",
    operator: str = QC_OPERATORS[1],
) -> dict[str, Any]:
    value = _sig(stock / dilution if basis == "measured" else stock)
    return {
        "method": "microbca",
        "instrument": "Infinite M Plex plate reader (Tecan), 562 nm",
        "operator": operator,
        "performed_at": at,
        "sop_reference": "SOP-QC-021 v2 (microBCA)",
        "aliquot": aliquot,
        "dilution_factor": dilution,
        "settings": {"kit": "Micro BCA Protein Assay Kit (Thermo 23235)",
                     "standard": "BSA, 0.5-40 µg/mL, 8 points",
                     "incubation_duration": "2 h", "incubation_temperature": "37 °C"},
        "lysis_buffer": "RIPA (Thermo 89900), 1:1 v/v, 10 min on ice",
        "results": [
            {"attribute": "protein_concentration", "value": value, "unit": "µg/mL",
             "basis": basis, "sd": _sig(value * 0.04), "n": 3},
        ],
    }  # fmt: skip


# Antibodies the lab uses: vendor, catalogue number, clone, lot, dilution.
ANTIBODIES = {
    "CD9": ("Abcam", "ab92726", "EPR2949", "GR3418823-4", "1:2000"),
    "CD63": ("Abcam", "ab59479", "TS63", "GR3402117-7", "1:1000"),
    "CD81": ("Santa Cruz Biotechnology", "sc-166029", "B-11", "K2624", "1:500"),
    "TSG101": ("Abcam", "ab125011", "EPR7130(B)", "GR3395622-12", "1:1000"),
    "ALIX": ("Cell Signaling Technology", "2171", "3A9", "7", "1:1000"),
    "syntenin": ("Abcam", "ab133267", "EPR8102", "GR3421870-3", "1:1000"),
    "calnexin": ("Abcam", "ab22595", "", "GR3410045-1", "1:1000"),
    "GM130": ("BD Biosciences", "610822", "35", "5187643", "1:500"),
    "APOA1": ("Abcam", "ab52945", "EP1368Y", "GR3386501-9", "1:1000"),
}
ABSENT_FROM_EVS = frozenset({"calnexin", "GM130", "APOA1"})
TETRASPANINS = ("CD9", "CD63", "CD81")


def _marker(
    protein: str,
    *,
    load: str | None,
    load_particles: str | None = None,
    detected: bool | None = None,
) -> dict[str, Any]:
    vendor, catalogue, clone, lot, dilution = ANTIBODIES[protein]
    return {
        "protein": protein,
        "detected": protein not in ABSENT_FROM_EVS if detected is None else detected,
        "antibody_vendor": vendor,
        "antibody_catalogue_number": catalogue,
        "antibody_clone": clone,
        "antibody_lot": lot,
        "antibody_dilution": dilution,
        "load_protein": load,
        "load_particles": load_particles,
    }


def _western(
    at: str,
    proteins: Iterable[str],
    *,
    reducing: bool,
    load: str | None = "10 µg",
    load_particles: str | None = None,
    aliquot: str = "QC-1",
    operator: str = QC_OPERATORS[2],
    notes: str = "",
) -> dict[str, Any]:
    """One blot: tetraspanins are run non-reducing, the rest reducing, as the antibodies
    require; a cell-lysate lane (10 µg) is the positive control for the negative markers."""
    return {
        "method": "western_blot",
        "instrument": "ChemiDoc MP (Bio-Rad)",
        "operator": operator,
        "performed_at": at,
        "sop_reference": "SOP-QC-030 v3 (EV Western blot)",
        "aliquot": aliquot,
        "settings": {"gel": "4-20 % Mini-PROTEAN TGX (Bio-Rad)",
                     "transfer": "PVDF, Trans-Blot Turbo, 7 min",
                     "detection": "HRP secondary, Clarity Western ECL"},
        "lysis_buffer": "RIPA (Thermo 89900) + Halt protease inhibitors, 1:1 v/v, 15 min on ice",
        "reducing": reducing,
        "markers": [_marker(protein, load=load, load_particles=load_particles)
                    for protein in proteins],
        "notes": notes or "Cell lysate (10 µg) of the producer cells run alongside as control.",
    }  # fmt: skip


def _full_blots(
    at: str, *, extra_negative: Iterable[str] = (), **options: Any
) -> list[dict[str, Any]]:
    return [
        _western(at, TETRASPANINS, reducing=False, **options),
        _western(at, ("TSG101", "ALIX", "syntenin", "calnexin", "APOA1", *extra_negative),
                 reducing=True, **options),
    ]  # fmt: skip


def _tem(
    at: str,
    lot: str,
    *,
    mean: float,
    sd: float,
    count: int,
    aliquot: str = "QC-1",
    operator: str = QC_OPERATORS[3],
) -> dict[str, Any]:
    return {
        "method": "tem",
        "instrument": "JEM-1400Flash (JEOL), Matataki Flash sCMOS camera",
        "operator": operator,
        "performed_at": at,
        "sop_reference": "SOP-QC-040 v2 (negative-stain TEM)",
        "aliquot": aliquot,
        "settings": {"acceleration_voltage": "100 kV",
                     "stain": "2 % uranyl acetate, negative stain",
                     "grid": "formvar/carbon 200 mesh copper, glow-discharged",
                     "fixation": "2 % paraformaldehyde, 10 min"},
        "results": [
            {"attribute": "size_mean", "value": mean, "unit": "nm", "sd": sd, "n": count,
             "notes": "diameter of vesicles measured in close-up fields (Fiji)"},
        ],
        "images": [
            {"technique": "tem", "field": "wide", "magnification": 12000,
             "scale_bar": "500 nm", "file_name": f"{lot}_TEM_wide_01.tif",
             "caption": "Wide field: dispersed cup-shaped vesicles, no aggregates"},
            {"technique": "tem", "field": "close_up", "magnification": 60000,
             "scale_bar": "100 nm", "file_name": f"{lot}_TEM_close_01.tif",
             "caption": "Close-up: cup-shaped vesicles with an intact bilayer"},
        ],
    }  # fmt: skip


def _endotoxin(
    at: str, value: float | str, *, qualifier: str = "", aliquot: str = "QC-1"
) -> dict[str, Any]:
    """Kinetic chromogenic LAL (Endosafe PTS) at 1:4; the result is the stock's."""
    result: dict[str, Any] = {
        "attribute": "endotoxin", "value": value, "unit": "EU/mL", "basis": "stock",
        "loq": 0.04,
    }  # fmt: skip
    if qualifier:
        result["qualifier"] = qualifier
    return {
        "method": "lal_endotoxin",
        "instrument": "Endosafe nexgen-PTS (Charles River)",
        "operator": QC_OPERATORS[1],
        "performed_at": at,
        "sop_reference": "SOP-QC-050 v5 (LAL, Ph. Eur. 2.6.14 method D)",
        "aliquot": aliquot,
        "dilution_factor": 4,
        "settings": {"cartridge": "PTS2001F, 0.01-1 EU/mL", "spike_recovery": "94 %"},
        "results": [result],
    }


def _sterility(at: str, *, aliquot: str = "QC-1") -> dict[str, Any]:
    return {
        "method": "sterility",
        "instrument": "Steritest Symbio (Millipore), membrane filtration",
        "operator": QC_OPERATORS[1],
        "performed_at": at,
        "sop_reference": "SOP-QC-051 v3 (sterility, USP <71> / Ph. Eur. 2.6.1)",
        "aliquot": aliquot,
        "settings": {"media": "FTM (30-35 °C) and TSB (20-25 °C)", "incubation_duration": "14 d"},
        "results": [{"attribute": "sterility", "value": "no_growth"}],
    }


def _mycoplasma(at: str, *, stage: str = "final", aliquot: str = "") -> dict[str, Any]:
    return {
        "method": "mycoplasma",
        "instrument": "QuantStudio 5 (Thermo Fisher)",
        "operator": QC_OPERATORS[2],
        "performed_at": at,
        "sop_reference": "SOP-QC-052 v2 (MycoSEQ Plus qPCR, Ph. Eur. 2.6.7 NAT)",
        "sample_stage": stage,
        "aliquot": aliquot,
        "results": [{"attribute": "mycoplasma", "value": "not_detected"}],
    }


def _potency(at: str, percent: float, *, sd: float = 6.0, aliquot: str = "QC-1") -> dict[str, Any]:
    return {
        "method": "potency",
        "instrument": "GloMax Discover (Promega)",
        "operator": QC_OPERATORS[3],
        "performed_at": at,
        "sop_reference": "SOP-QC-060 v1 (NF-kB reporter potency)",
        "aliquot": aliquot,
        "settings": {
            "cell_line": "THP1-Lucia NF-kB (InvivoGen), LPS 10 ng/mL",
            "reference_standard": "UCMSC-RS-2501 (in-house reference lot, 100 %)",
            "dose_range": "1e8-1e10 particle/well, 6 points, parallel-line analysis",
            "incubation_duration": "24 h",
        },
        "results": [
            {"attribute": "potency", "value": percent, "unit": "%", "sd": sd, "n": 3,
             "notes": "relative potency (inhibition of NF-kB reporter) vs reference standard"},
        ],
    }  # fmt: skip


def _ph(at: str, value: float, *, aliquot: str = "QC-1") -> dict[str, Any]:
    return {
        "method": "ph",
        "instrument": "SevenCompact S220 with InLab Micro electrode (Mettler Toledo)",
        "operator": QC_OPERATORS[1],
        "performed_at": at,
        "sop_reference": "SOP-QC-070 v1 (pH, Ph. Eur. 2.2.3)",
        "aliquot": aliquot,
        "settings": {"temperature": "22 °C"},
        "results": [{"attribute": "ph", "value": value}],
    }


def _release_panel(
    at: Callable[..., str],
    lot: str,
    day: float,
    *,
    stock: float,
    mode: float,
    sigma: float,
    protein: float,
    endotoxin: float | str,
    potency: float | None,
    ph: float,
    markers: str = "full",
    imaging: bool = True,
    endotoxin_qualifier: str = "",
) -> list[dict[str, Any]]:
    """The final-product QC of a UC-MSC lot, with the deliberate gaps switched in by
    `markers` ("full", "no_negative", "tetraspanins"), `imaging` and `potency` (None:
    not yet tested)."""
    assays = [
        # NTA counts best at 1e7-1e9 particle/mL in the cell, so rich lots go 1:5000.
        _nta(
            at(day, 1),
            stock=stock,
            mode=mode,
            sigma=sigma,
            dilution=5000 if stock >= 1e12 else 1000,
            aliquot="QC-1",
        ),
        _microbca(at(day, 3), stock=protein),
    ]
    if markers == "full":
        assays += _full_blots(at(day + 1, 2))
    elif markers == "no_negative":
        assays += [
            _western(at(day + 1, 2), TETRASPANINS, reducing=False),
            _western(at(day + 1, 2), ("TSG101", "ALIX", "syntenin"), reducing=True,
                     notes="Negative markers not probed on this blot."),
        ]  # fmt: skip
    elif markers == "tetraspanins":
        assays.append(_western(at(day + 1, 2), TETRASPANINS, reducing=False))
    if imaging:
        assays.append(_tem(at(day + 2, 1), lot, mean=round(mode * 0.78), sd=21.0, count=214))
    assays += [
        _endotoxin(at(day, 4), endotoxin, qualifier=endotoxin_qualifier),
        _sterility(at(day, 5)),
        _mycoplasma(at(day, 5), aliquot="QC-1"),
        _ph(at(day, 2), ph),
    ]
    if potency is not None:
        assays.append(_potency(at(day + 3, 1), potency))
    return assays


def _rna_cargo(at: str, copies: float, *, aliquot: str = "QC-1") -> dict[str, Any]:
    return {
        "method": "rna",
        "instrument": "QuantStudio 5 (Thermo Fisher)",
        "operator": QC_OPERATORS[2],
        "performed_at": at,
        "sop_reference": "SOP-QC-080 v1 (miRNA cargo by stem-loop RT-qPCR)",
        "aliquot": aliquot,
        "dilution_factor": 100,
        "settings": {
            "assay": "TaqMan MicroRNA Assay hsa-miR-146a-5p (000468), absolute standard curve",
            "rnase_treatment": "RNase A 10 µg/mL, 30 min at 37 °C, before lysis",
            "isolation_kit": "miRNeasy Micro (Qiagen)",
            "spike_in": "cel-miR-39",
        },
        "results": [
            {"attribute": "cargo_copies", "value": copies, "unit": "copy/µL", "basis": "stock",
             "sd": _sig(copies * 0.12), "n": 3},
            {"attribute": "rna_concentration", "value": 0.31, "unit": "µg/mL", "basis": "stock",
             "notes": "total RNA, Qubit microRNA assay on the same extract"},
        ],
    }  # fmt: skip


def _nano_flow(at: str, *, stock: float, mode: float, aliquot: str = "QC-1") -> dict[str, Any]:
    """NanoFCM: concentration and size by single-particle flow, detergent sensitivity and
    tetraspanin-positive particles with FITC-conjugated antibodies."""
    return {
        "method": "nano_flow",
        "instrument": "Flow NanoAnalyzer N30E (NanoFCM)",
        "operator": QC_OPERATORS[0],
        "performed_at": at,
        "sop_reference": "SOP-QC-015 v1 (nano-flow cytometry)",
        "aliquot": aliquot,
        "dilution_factor": 200,
        "software_version": "NF Profession 2.0",
        "settings": {
            "laser_wavelength": "488 nm",
            "calibration_particle_size": "250 nm",
            "flow_rate": "5.8 nL/min",  # from 250 nm beads of known concentration
            "size_standard": "S16M-Exo silica nanospheres (68-155 nm)",
            "acquisition_time": "1 min",
        },
        "results": [
            {"attribute": "particle_concentration", "value": _sig(stock / 200),
             "unit": "particle/mL", "basis": "measured", "n": 3},
            {"attribute": "size_mode", "value": mode, "unit": "nm"},
            {"attribute": "size_within_range", "value": 97.2, "unit": "%",
             "notes": "share of particles in the 40-200 nm window of the instrument"},
            {"attribute": "detergent_sensitivity", "value": 91.4, "unit": "%",
             "notes": "particle count lost after 1 % Triton X-100, 30 min"},
        ],
        "markers": [
            {"protein": protein, "detected": True, "antibody_vendor": "BioLegend",
             "antibody_catalogue_number": catalogue, "antibody_clone": clone,
             "antibody_dilution": "1:100", "load_particles": "2e8 particle",
             "notes": f"{share} % of particles positive (FITC)"}
            for protein, catalogue, clone, share in (
                ("CD9", "312104", "HI9a", 38), ("CD63", "353006", "H5C6", 24),
                ("CD81", "349504", "5A6", 31),
            )
        ],
    }  # fmt: skip


def _dls(at: str, *, z_average: float, pdi: float, zeta: float) -> dict[str, Any]:
    return {
        "method": "dls",
        "instrument": "Zetasizer Ultra (Malvern Panalytical)",
        "operator": QC_OPERATORS[0],
        "performed_at": at,
        "sop_reference": "SOP-QC-016 v1 (DLS and zeta potential)",
        "aliquot": "QC-1",
        "dilution_factor": 10,
        "software_version": "ZS XPLORER 3.2",
        "settings": {"temperature": "25 °C", "viscosity": "0.89 cP", "weighting": "intensity",
                     "dispersant": "0.1x PBS for zeta potential"},
        "results": [
            {"attribute": "z_average", "value": z_average, "unit": "nm"},
            {"attribute": "polydispersity_index", "value": pdi},
            {"attribute": "zeta_potential", "value": zeta, "unit": "mV", "sd": 1.8, "n": 3},
        ],
    }  # fmt: skip


# Storage and aliquots
# ------------------------------------------------------------------------------


def _storage(
    at: str,
    *,
    fill: str = "1 mL",
    freeze_thaw: int = 0,
    notes: str = "",
    cryoprotectant: bool = True,
) -> dict[str, Any]:
    storage = {
        "temperature": "-80 °C",
        "buffer": "PBS without Ca/Mg, pH 7.4",
        "container": "2 mL Protein LoBind tubes (Eppendorf), polypropylene",
        "fill_volume": fill,
        "freeze_thaw_cycles": freeze_thaw,
        "stored_at": at,
    }
    if cryoprotectant:
        storage |= {"cryoprotectant": "sucrose", "cryoprotectant_concentration": "5 %"}
    else:
        storage["cryoprotectant"] = "none"
    if notes:
        storage["notes"] = notes
    return storage


def _aliquots(
    volume: str = "1 mL",
    *,
    unplanned_thaws: int = 0,
    location: str = "ULT F-03, rack 2",
    retained: int = 2,
) -> list[dict[str, Any]]:
    """QC-1 (thawed once more for release testing), QC-2 (spare) and retention samples;
    `unplanned_thaws` is what every vial went through (a freezer failure)."""
    aliquots = [
        {"label": "QC-1", "volume": volume, "location": location,
         "freeze_thaw_cycles": unplanned_thaws + 1, "status": "used"},
        {"label": "QC-2", "volume": volume, "location": location,
         "freeze_thaw_cycles": unplanned_thaws, "status": "available"},
    ]  # fmt: skip
    aliquots += [
        {"label": f"RET-{index}", "volume": volume, "location": location,
         "freeze_thaw_cycles": unplanned_thaws, "status": "available"}
        for index in range(1, retained + 1)
    ]  # fmt: skip
    return aliquots


def _batch(
    lot: str, product: dict[str, Any], status: str, *, description: str, **parts: Any
) -> dict[str, Any]:
    document = {
        "schema": SCHEMA,
        "lot_number": lot,
        "product": _ref(product),
        "status": status,
        "preparation_term": product["preparation_term"],
        "description": description,
        **parts,
    }
    return _without_none(document)


# The batches
# ------------------------------------------------------------------------------


def _ucmsc_2601() -> dict[str, Any]:
    """Reference complete lot: hollow-fibre bioreactor, TFF + SEC, every assay."""
    at = _clock("2026-01-05T08:00:00+01:00")
    steps = [
        *_clarification(at, 3, 2400),
        _tff(4, at(3, 4), mwco="500 kDa", input_volume="2350 mL", output_volume="24 mL",
             factor=98),
        _cl2b(5, at(3, 9), input_volume="24 mL", output_volume="60 mL"),
    ]  # fmt: skip
    assays = [
        _nta(at(3, 0.5), stock=1.6e10, mode=118.0, sigma=0.42, dilution=20, stage="harvest",
             notes="Conditioned medium at harvest, before clarification."),
        _mycoplasma(at(3, 0.5), stage="harvest"),
        _nta(at(3, 8), stock=1.15e12, mode=112.0, sigma=0.39, dilution=5000,
             stage="in_process", step=4, notes="TFF retentate after diafiltration."),
        *_release_panel(at, "UCMSC-2601", 5, stock=3.2e11, mode=108.0, sigma=0.36,
                        protein=95.0, endotoxin=0.08, potency=96.0, ph=7.38),
        _nano_flow(at(6, 4), stock=2.9e11, mode=74.0),
        _dls(at(6, 5), z_average=131.0, pdi=0.19, zeta=-21.6),
    ]  # fmt: skip
    return _batch(
        "UCMSC-2601", UCMSC_PRODUCT, "released",
        description="Reference lot of the process: HF bioreactor, TFF 500 kDa, CL-2B SEC.",
        source=UCMSC_SOURCE,
        production=_hollow_fibre(at, passage=4, seeded="2.0e7 cell", harvested="6.4e8 cell",
                                 viability="95 %", harvest="2.4 L"),
        isolation_steps=steps,
        storage=_storage(at(3, 12), freeze_thaw=0),
        aliquots=_aliquots(),
        assays=assays,
    )  # fmt: skip


def _ucmsc_2602() -> dict[str, Any]:
    """Differential UC from EV-depleted hPL medium; the process control is excepted."""
    at = _clock("2026-01-12T08:00:00+01:00")
    steps = [
        *_clarification(at, 2, 2300),
        _uc(4, at(2, 4), g="100,000 x g", minutes=70, rotor=f"{TYPE_45_TI} at 35,800 rpm",
            k=210, tube="70 mL polycarbonate bottles (Beckman 355622)",
            input_volume="2250 mL", output_volume="36 mL",
            notes="Six runs of 6 x 62.5 mL; pellets pooled. k-factor adjusted to run speed "
                  "(133 at 45,000 rpm)."),
        _uc(5, at(3, 1), g="100,000 x g", minutes=70, rotor=f"{SW_32_TI} at 28,550 rpm",
            k=256, tube="38.5 mL Ultra-Clear tubes (Beckman 344058)",
            input_volume="36 mL", output_volume="1.5 mL", washes=1,
            notes="PBS wash of the pooled pellets; k-factor adjusted (204 at 32,000 rpm)."),
    ]  # fmt: skip
    assays = [
        _nta(at(2, 0.5), stock=1.1e10, mode=124.0, sigma=0.44, dilution=20, stage="harvest"),
        _mycoplasma(at(2, 0.5), stage="harvest"),
        _nta(at(3, 0), stock=1.3e11, mode=116.0, sigma=0.40, dilution=1000,
             stage="in_process", step=4, notes="Resuspended pellets of step 4, before the wash."),
        *_release_panel(at, "UCMSC-2602", 4, stock=2.6e12, mode=114.0, sigma=0.38,
                        protein=285.0, endotoxin="< 0.04", potency=88.0, ph=7.31),
    ]  # fmt: skip
    return _batch(
        "UCMSC-2602", UCMSC_PRODUCT, "released",
        description="Comparability lot: CellSTACK in 5 % EV-depleted hPL, differential UC.",
        source=UCMSC_SOURCE,
        production=_cellstack(at, passage=4, harvested="2.4e8 cell", viability="93 %",
                              harvest="2.3 L", hpl=True),
        isolation_steps=steps,
        storage=_storage(at(3, 4), freeze_thaw=0),
        aliquots=_aliquots("0.25 mL"),
        assays=assays,
        exceptions=[{
            "rule": "M18-CC-11",
            "justification": (
                "Unconditioned EV-depleted hPL medium (lot HPL-2512-D) was processed in "
                "parallel through the same UC protocol as control run PC-2601 (ELN "
                "2026-0114): 2.1e9 particle/mL in the same final volume, 0.08 % of the lot's "
                "2.6e12. Recorded in the ELN: evqc had no process-control batch type then."
            ),
        }],
    )  # fmt: skip


def _tff_sec_lot(
    lot: str,
    status: str,
    start: str,
    *,
    description: str,
    harvest_stock: float,
    final_stock: float,
    mode: float,
    protein: float,
    endotoxin: float,
    potency: float | None,
    ph: float,
    markers: str = "full",
    producer: str = "hollow_fibre",
    notes: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """A lot of the TFF 500 kDa + CL-2B SEC process (UCMSC-2601's)."""
    at = _clock(start)
    steps = [
        *_clarification(at, 3, 2400),
        _tff(4, at(3, 4), mwco="500 kDa", input_volume="2350 mL", output_volume="24 mL",
             factor=98),
        _cl2b(5, at(3, 9), input_volume="24 mL", output_volume="60 mL"),
    ]  # fmt: skip
    if producer == "hollow_fibre":
        production = _hollow_fibre(
            at,
            passage=4,
            seeded="2.0e7 cell",
            harvested="5.9e8 cell",
            viability="94 %",
            harvest="2.4 L",
        )
    else:
        production = _microcarrier(
            at, passage=5, harvested="2.2e8 cell", viability="91 %", harvest="2.4 L"
        )
    assays = [
        _nta(at(3, 0.5), stock=harvest_stock, mode=mode + 8, sigma=0.42, dilution=20,
             stage="harvest"),
        _mycoplasma(at(3, 0.5), stage="harvest"),
        *_release_panel(at, lot, 5, stock=final_stock, mode=mode, sigma=0.37,
                        protein=protein, endotoxin=endotoxin, potency=potency, ph=ph,
                        markers=markers),
    ]  # fmt: skip
    return _batch(
        lot, UCMSC_PRODUCT, status, description=description, source=UCMSC_SOURCE,
        production=production, isolation_steps=steps,
        storage=_storage(at(3, 12), freeze_thaw=0, notes=notes), aliquots=_aliquots(),
        assays=assays, **extra,
    )  # fmt: skip


def _ucmsc_2604() -> dict[str, Any]:
    """Density-gradient lot; the Western blot probed no negative marker."""
    at = _clock("2026-01-26T08:00:00+01:00")
    steps = [
        *_clarification(at, 3, 2400),
        _tff(4, at(3, 4), mwco="500 kDa", input_volume="2350 mL", output_volume="24 mL",
             factor=98, diavolumes=3),
        _step(5, "ultrafiltration", at(3, 8), purpose="concentration",
              input_volume="24 mL", output_volume="2 mL", mwco="10 kDa",
              membrane_material="regenerated cellulose",
              device="Amicon Ultra-15 (Millipore UFC901024)",
              g_force="4,000 x g", duration="30 min", temperature="4 °C"),
        _step(6, "density_gradient", at(3, 9), input_volume="2 mL", output_volume="2 mL",
              g_force="100,000 x g", g_force_type="average", duration="18 h",
              temperature="4 °C", rotor=f"{SW_41_TI} at 28,500 rpm", k_factor=257,
              gradient_medium="iodixanol", loading="top_down",
              gradient_range="5, 10, 20, 40 % w/v iodixanol (OptiPrep), discontinuous",
              fraction_count=16, fraction_volume="1 mL", ev_fraction_density="1.10 g/mL",
              fractions_pooled="F9-F10 (1.086-1.119 g/mL), two tubes",
              medium_removal="SEC on Sepharose CL-2B (step 7)",
              notes="1 mL of concentrate loaded per tube on 11 mL gradients; k-factor "
                    "adjusted to run speed (124 at 41,000 rpm)."),
        _step(7, "sec", at(4, 5), purpose="buffer_exchange", input_volume="2 mL",
              output_volume="4.8 mL", resin="Sepharose CL-2B (Cytiva)",
              column="Econo-Column 1.0 x 20 cm (Bio-Rad), self-packed", bed_volume="10 mL",
              load_volume="1 mL", fraction_volume="0.5 mL", fractions_collected="F1-F20",
              fractions_pooled="F7-F10 per run (two runs)",
              elution_buffer="PBS pH 7.4, 0.1 µm-filtered"),
    ]  # fmt: skip
    assays = [
        _nta(at(3, 0.5), stock=1.3e10, mode=121.0, sigma=0.43, dilution=20, stage="harvest"),
        _mycoplasma(at(3, 0.5), stage="harvest"),
        _nta(at(3, 7), stock=9.0e11, mode=114.0, sigma=0.40, dilution=5000,
             stage="in_process", step=4),
        *_release_panel(at, "UCMSC-2604", 6, stock=1.0e12, mode=104.0, sigma=0.33,
                        protein=35.0, endotoxin=0.06, potency=91.0, ph=7.42,
                        markers="no_negative"),
    ]  # fmt: skip
    return _batch(
        "UCMSC-2604", UCMSC_PRODUCT, "under_review",
        description="High-purity lot: TFF, iodixanol density gradient, SEC for iodixanol removal.",
        source=UCMSC_SOURCE,
        production=_microcarrier(at, passage=4, harvested="2.1e8 cell", viability="92 %",
                                 harvest="2.4 L"),
        isolation_steps=steps,
        storage=_storage(at(4, 8), fill="0.5 mL", freeze_thaw=0),
        aliquots=_aliquots("0.5 mL"),
        assays=assays,
    )  # fmt: skip


def _uc_lot(
    lot: str,
    status: str,
    start: str,
    *,
    description: str,
    g: str,
    rpm: str,
    k: float,
    minutes: int,
    final_stock: float,
    mode: float,
    protein: float,
    endotoxin: float,
    potency: float | None,
    ph: float,
    imaging: bool = True,
    freeze_thaw: int = 0,
    storage_notes: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """A serum-free CellSTACK lot isolated by one ultracentrifugation and a PBS wash."""
    at = _clock(start)
    steps = [
        *_clarification(at, 2, 2300),
        _uc(4, at(2, 4), g=g, minutes=minutes, rotor=f"{TYPE_45_TI} at {rpm}", k=k,
            tube="70 mL polycarbonate bottles (Beckman 355622)",
            input_volume="2250 mL", output_volume="36 mL",
            notes="Six runs of 6 x 62.5 mL; k-factor adjusted to run speed "
                  "(133 at 45,000 rpm)."),
        _uc(5, at(3, 1), g="100,000 x g", minutes=70, rotor=f"{SW_32_TI} at 28,550 rpm",
            k=256, tube="38.5 mL Ultra-Clear tubes (Beckman 344058)",
            input_volume="36 mL", output_volume="2 mL", washes=1),
    ]  # fmt: skip
    assays = [
        _nta(at(2, 0.5), stock=1.0e10, mode=mode + 10, sigma=0.44, dilution=20,
             stage="harvest"),
        _mycoplasma(at(2, 0.5), stage="harvest"),
        *_release_panel(at, lot, 4, stock=final_stock, mode=mode, sigma=0.38, protein=protein,
                        endotoxin=endotoxin, potency=potency, ph=ph, imaging=imaging),
    ]  # fmt: skip
    return _batch(
        lot, UCMSC_PRODUCT, status, description=description, source=UCMSC_SOURCE,
        production=_cellstack(at, passage=5, harvested="2.2e8 cell", viability="91 %",
                              harvest="2.3 L"),
        isolation_steps=steps,
        storage=_storage(at(3, 4), fill="0.5 mL", freeze_thaw=freeze_thaw,
                         notes=storage_notes),
        aliquots=_aliquots("0.5 mL", unplanned_thaws=max(freeze_thaw - 1, 0)),
        assays=assays, **extra,
    )  # fmt: skip


def _ucmsc_2609() -> dict[str, Any]:
    """Drug-product lot pooled from two released drug-substance lots and reformulated."""
    at = _clock("2026-03-02T08:00:00+01:00")
    steps = [
        _tff(1, at(0, 2), mwco="500 kDa", input_volume="40 mL", output_volume="20 mL",
             factor=2, diavolumes=7, purpose="buffer_exchange",
             buffer="PBS pH 7.4 with 5 % w/v sucrose",
             notes="Pool of 20 mL UCMSC-2601 and 20 mL UCMSC-2603, diafiltered into the "
                   "formulation buffer."),
        _step(2, "filtration", at(0, 5), input_volume="20 mL", output_volume="19 mL",
              pore_size="0.22 µm", membrane_material="polyethersulfone (PES)",
              device="Millex-GP 33 mm (Millipore SLGP033RS)",
              notes="Sterilising filtration before filling 1 mL per vial."),
    ]  # fmt: skip
    day = 1
    assays = [
        *_release_panel(at, "UCMSC-2609", day, stock=5.0e11, mode=110.0, sigma=0.36,
                        protein=150.0, endotoxin=0.05, potency=93.0, ph=7.35),
        {
            "method": "osmolality", "instrument": "OsmoPRO (Advanced Instruments)",
            "operator": QC_OPERATORS[1], "performed_at": at(day, 2), "aliquot": "QC-1",
            "sop_reference": "SOP-QC-071 v1 (freezing-point osmometry)",
            "results": [{"attribute": "osmolality", "value": "452 mOsm/kg"}],
        },
        {
            "method": "appearance", "operator": QC_OPERATORS[1], "performed_at": at(day, 2),
            "aliquot": "QC-1", "sop_reference": "SOP-QC-072 v1 (visual inspection)",
            "results": [{"attribute": "appearance", "value": "conforms",
                         "notes": "clear to slightly opalescent, colourless, no particles"}],
        },
    ]  # fmt: skip
    return _batch(
        "UCMSC-2609", UCMSC_PRODUCT, "under_review",
        description="Drug-product lot: pooled drug substance, formulated in PBS + 5 % sucrose.",
        parents=[
            {"lot_number": "UCMSC-2601", "relation": "pooled", "volume": "20 mL"},
            {"lot_number": "UCMSC-2603", "relation": "pooled", "volume": "20 mL"},
        ],
        isolation_steps=steps,
        storage=_storage(at(0, 7), freeze_thaw=0),
        aliquots=[
            *_aliquots(),
            {"label": "V001-V015", "volume": "15 mL", "location": "ULT F-01, rack 1",
             "freeze_thaw_cycles": 0, "status": "available"},
        ],
        assays=assays,
    )  # fmt: skip


def _ucmsc_2610() -> dict[str, Any]:
    """Conditioning under way: nothing isolated or tested yet."""
    at = _clock("2026-03-16T08:00:00+01:00")
    production = _hollow_fibre(at, passage=4, seeded="2.0e7 cell", hours=None)
    return _batch(
        "UCMSC-2610", UCMSC_PRODUCT, "in_production",
        description="Hollow-fibre run; 72 h conditioning started, harvest planned 2026-03-19.",
        source=UCMSC_SOURCE,
        production=production,
    )  # fmt: skip


def _ucmsc_2611() -> dict[str, Any]:
    return _batch(
        "UCMSC-2611", UCMSC_PRODUCT, "planned",
        description="Planned for the week of 2026-04-13: CellSTACK, serum-free, TFF + SEC.",
        source=UCMSC_SOURCE,
        production={
            "vessel_type": "multilayer",
            "vessel": "2 x CellSTACK 10-chamber (Corning 3320)",
            "surface_area": "12720 cm²",
            "base_medium": "MSC NutriStem XF (Sartorius), xeno-free",
            "supplement_type": "serum_free",
            "passage_number": 4,
            "seeding_density": "3000 cell/cm²",
        },
    )  # fmt: skip


def _electroporation(
    cargo_amount: str, efficiency: str, *, between: str = "TFF (step 4) and SEC (step 5)"
) -> dict[str, Any]:
    return {
        "method": "electroporation",
        "cargo": "hsa-miR-146a-5p mimic (mirVana, Thermo 4464066)",
        "cargo_type": "miRNA",
        "cargo_amount": cargo_amount,
        "voltage": "400 V",
        "duration": "6.2 ms",
        "temperature": "4 °C",
        "loading_efficiency": efficiency,
        "notes": (
            "Gene Pulser Xcell (Bio-Rad), 4 mm cuvettes, 400 µL per cuvette, 125 µF, "
            "exponential decay (6.2 ms is the measured time constant); EVs in 1.15 mM "
            "potassium phosphate pH 7.2, 25 mM KCl, 21 % OptiPrep. Cuvettes on ice, then 30 min "
            "at 37 °C to reseal; RNase A 10 µg/mL 30 min, then the next step removes free mimic. "
            f"Done between {between}. Loading efficiency: RNase-protected copies in the "
            "final lot over copies added."
        ),
    }


def _hek_lot(
    lot: str,
    status: str,
    start: str,
    *,
    description: str,
    final_stock: float,
    mode: float,
    copies: float,
    efficiency: str,
    endotoxin: float,
    nta_settings: bool = True,
) -> dict[str, Any]:
    """HEK293T-SF in a stirred tank, TFF 300 kDa, electroporation, qEV10 SEC."""
    at = _clock(start)
    steps = [
        *_clarification(at, 3, 2500),
        _tff(4, at(3, 4), mwco="300 kDa", input_volume="2450 mL", output_volume="8 mL",
             factor=306),
        _qev10(5, at(4, 2), input_volume="8 mL", output_volume="20 mL",
               notes="Removes free mimic, RNase A and electroporation buffer."),
    ]  # fmt: skip
    if nta_settings:
        final_nta = _nta(
            at(5, 1), stock=final_stock, mode=mode, sigma=0.35, dilution=1000, aliquot="QC-1"
        )
    else:
        final_nta = _nta(
            at(5, 1),
            stock=final_stock,
            mode=mode,
            sigma=0.35,
            dilution=2000,
            aliquot="QC-1",
            instrument=ZETAVIEW,
            software="",
            settings={},
            percentage_bins=True,
            notes="Exported summary only; acquisition settings not recorded.",
        )
    assays = [
        _nta(at(3, 0.5), stock=2.2e10, mode=mode + 12, sigma=0.45, dilution=20,
             stage="harvest"),
        _nta(at(3, 9), stock=4.1e12, mode=mode + 4, sigma=0.40, dilution=10000,
             stage="in_process", step=4),
        final_nta,
        _microbca(at(5, 3), stock=160.0),
        *_full_blots(at(6, 2), extra_negative=("GM130",)),
        _tem(at(7, 1), lot, mean=round(mode * 0.8), sd=19.0, count=187),
        _endotoxin(at(5, 4), endotoxin),
        _sterility(at(5, 5)),
        _rna_cargo(at(6, 4), copies),
    ]  # fmt: skip
    return _batch(
        lot, HEK_PRODUCT, status, description=description, source=HEK_SOURCE,
        production=_stirred_tank(at, passage=18, seeded="1.25e9 cell", harvested="7.5e9 cell",
                                 viability="92 %", harvest="2.5 L"),
        isolation_steps=steps,
        engineering=[_electroporation("120 µg", efficiency)],
        storage=_storage(at(4, 6), fill="0.5 mL", cryoprotectant=False),
        aliquots=_aliquots("0.5 mL", retained=4),
        assays=assays,
        exceptions=HEK_RELEASE_EXCEPTIONS if status == "released" else [],
    )  # fmt: skip


# A preclinical research product: released for an animal study without the clinical-grade
# potency and product mycoplasma tests, each justified.
HEK_RELEASE_EXCEPTIONS = [
    {"rule": "REL-POT-01", "justification": (
        "Preclinical lot for mouse study MS-26-01: the miR-146a potency assay (NF-kB "
        "reporter) is still being qualified; cargo copies per particle stand in for it.")},
    {"rule": "REL-SAF-03", "justification": (
        "Mycoplasma tested negative on the HEK293T-SF working cell bank and on the "
        "conditioned medium (qPCR); the final product is not tested for research lots.")},
]  # fmt: skip


def _hek_2603() -> dict[str, Any]:
    """Research-scale lot by anti-CD63 immunoaffinity capture after a UC pellet."""
    at = _clock("2026-02-25T08:00:00+01:00")
    steps = [
        *_clarification(at, 3, 1000),
        _uc(4, at(3, 4), g="100,000 x g", minutes=90, rotor=f"{TYPE_45_TI} at 35,800 rpm",
            k=210, tube="70 mL polycarbonate bottles (Beckman 355622)",
            input_volume="950 mL", output_volume="2 mL"),
        _step(5, "immunoaffinity", at(3, 8), input_volume="2 mL", output_volume="1 mL",
              capture_target="CD63",
              antibody="anti-human CD63 on magnetic beads (Exosome-Human CD63 Isolation "
                       "Reagent, Invitrogen 10606D)",
              kit_name="Exosome-Human CD63 Isolation/Detection Reagent (Invitrogen 10606D)",
              kit_lot="02894561", bead_type="Dynabeads superparamagnetic, 2.7 µm",
              elution="0.1 M glycine-HCl pH 2.8, 5 min, neutralised at once with 1 M Tris pH 8.5",
              notes="Overnight capture at 4 °C, end-over-end; beads washed 3 x PBS/0.1 % BSA. "
                    "Low-pH elution accepted for a research biodistribution lot."),
        _step(6, "ultrafiltration", at(4, 2), purpose="buffer_exchange", input_volume="1 mL",
              output_volume="0.4 mL", mwco="100 kDa", membrane_material="regenerated cellulose",
              device="Amicon Ultra-0.5 (Millipore UFC510024)", g_force="14,000 x g",
              duration="10 min", temperature="4 °C"),
    ]  # fmt: skip
    assays = [
        _nta(at(3, 0.5), stock=1.9e10, mode=126.0, sigma=0.45, dilution=20, stage="harvest"),
        _nta(at(5, 1), stock=3.4e11, mode=98.0, sigma=0.33, dilution=1000, aliquot="QC-1"),
        _microbca(at(5, 3), stock=42.0, dilution=4),
        *_full_blots(at(6, 2), extra_negative=("GM130",)),
        _tem(at(7, 1), "HEK-2603", mean=79.0, sd=17.0, count=156),
        _endotoxin(at(5, 4), 0.11),
        _sterility(at(5, 5)),
        _rna_cargo(at(6, 4), 3.6e9),
    ]  # fmt: skip
    return _batch(
        "HEK-2603", HEK_PRODUCT, "under_review",
        description="CD63-captured subpopulation for a biodistribution study (research scale).",
        source=HEK_SOURCE,
        production=_stirred_tank(at, passage=20, seeded="5.0e8 cell", harvested="3.0e9 cell",
                                 viability="90 %", harvest="1.0 L", hours=48),
        isolation_steps=steps,
        engineering=[_electroporation("10 µg", "0.3 %", between="UC (step 4) and immunoaffinity "
                                                     "capture (step 5)")],
        storage=_storage(at(4, 6), fill="0.1 mL", cryoprotectant=False),
        aliquots=_aliquots("0.1 mL"),
        assays=assays,
    )  # fmt: skip


def _plasma_2601() -> dict[str, Any]:
    """The rules.md biofluid scenario: plasma EVs by a precipitation kit, NTA and a
    tetraspanin blot only."""
    at = _clock("2026-02-03T07:30:00+01:00")
    steps = [
        _step(1, "centrifugation", at(0, 1.25), purpose="pre_processing",
              input_volume="9 mL", output_volume="4.2 mL", g_force="2,500 x g",
              g_force_type="average", duration="15 min", temperature="20 °C",
              rotor="Allegra X-30R, SX4400 swinging-bucket (Beckman Coulter)",
              tube="15 mL conical polypropylene", brake="off",
              notes="Platelet-poor plasma: upper plasma taken 0.5 cm above the buffy coat."),
        _step(2, "centrifugation", at(0, 1.75), purpose="pre_processing",
              input_volume="4.2 mL", output_volume="4 mL", g_force="2,500 x g",
              g_force_type="average", duration="15 min", temperature="20 °C",
              rotor="Allegra X-30R, SX4400 swinging-bucket (Beckman Coulter)",
              tube="15 mL conical polypropylene", brake="off",
              notes="Platelet-free plasma; aliquoted 0.5 mL and frozen at -80 °C."),
        _step(3, "centrifugation", at(21, 2), purpose="pre_processing",
              input_volume="1 mL", output_volume="0.95 mL", g_force="10,000 x g",
              g_force_type="average", duration="20 min", temperature="4 °C",
              rotor="FA-45-24-11 fixed-angle (Eppendorf 5424 R)",
              tube="1.5 mL Protein LoBind tubes", brake="on",
              notes="Thawed plasma cleared of large particles as the kit's protocol asks."),
        _step(4, "precipitation", at(21, 3), input_volume="0.95 mL", output_volume="0.2 mL",
              reagent="polymer-based precipitation reagent, after proteinase K (0.05 vol)",
              kit_name="Total Exosome Isolation Reagent (from plasma), Invitrogen 4484450",
              kit_lot="2718634", incubation_duration="10 min", incubation_temperature="4 °C",
              g_force="10,000 x g", duration="5 min", temperature="22 °C",
              notes="0.5 vol PBS, proteinase K 10 min at 37 °C, 0.2 vol reagent; pellet "
                    "resuspended in 200 µL PBS."),
    ]  # fmt: skip
    assays = [
        _nta(at(21, 6), stock=2.8e12, mode=96.0, sigma=0.40, dilution=5000, aliquot="QC-1",
             operator=QC_OPERATORS[3]),
        _western(at(22, 2), TETRASPANINS, reducing=False, load=None,
                 load_particles="5e9 particle",
                 notes="Equal particle numbers loaded (NTA); no protein assay was run."),
    ]  # fmt: skip
    return _batch(
        "PLASMA-2601", PLASMA_PRODUCT, "in_qc",
        description="Plasma EV control material from one healthy donor (precipitation kit).",
        source={
            "kind": "biofluid",
            "material": "plasma",
            "subject": "HV-0412",
            "health_status": "healthy volunteer, no acute illness",
            "age": "34 year",
            "sex": "female",
            "fasting": True,
            "medications": "none in the previous 14 days",
            "needle_gauge": "21G butterfly",
            "tube_type": "K2EDTA 10 mL (BD Vacutainer 367525)",
            "anticoagulant": "edta",
            "discard_tube": True,
            "collection_volume": "9 mL",
            "collected_at": at(0, 0.5),
            "processing_interval": "45 min",
            "hold_temperature": "20 °C",
            "storage_temperature": "-80 °C",
            "storage_duration": "21 d",
            "freeze_thaw_cycles": 1,
            "free_haemoglobin": "0.12 g/L",
            "notes": "Haemolysis check by absorbance at 414 nm; one thaw before isolation.",
        },
        isolation_steps=steps,
        storage=_storage(at(21, 7), fill="0.05 mL", cryoprotectant=False),
        aliquots=_aliquots("0.05 mL"),
        assays=assays,
    )  # fmt: skip


BATCHES: list[dict[str, Any]] = [
    _ucmsc_2601(),
    _ucmsc_2602(),
    _tff_sec_lot(
        "UCMSC-2603",
        "released",
        "2026-01-19T08:00:00+01:00",
        description="Second lot of the HF bioreactor, TFF + CL-2B SEC process.",
        harvest_stock=1.4e10,
        final_stock=2.7e11,
        mode=112.0,
        protein=88.0,
        endotoxin=0.07,
        potency=102.0,
        ph=7.40,
    ),
    _ucmsc_2604(),
    _tff_sec_lot(
        "UCMSC-2605",
        "rejected",
        "2026-02-02T08:00:00+01:00",
        description="Rejected: endotoxin 1.2 EU/mL (OOS-2026-004).",
        harvest_stock=1.5e10,
        final_stock=2.9e11,
        mode=110.0,
        protein=102.0,
        endotoxin=1.2,
        potency=94.0,
        ph=7.36,
        notes="Kept at -80 °C until OOS-2026-004 closes; then destroyed but for retains.",
    ),
    _uc_lot(
        "UCMSC-2606",
        "quarantined",
        "2026-02-09T08:00:00+01:00",
        description="Quarantined: two unplanned thaws after freezer F-02 failed (DEV-2026-011).",
        held_from="under_review",
        g="120,000 x g",
        rpm="39,200 rpm",
        k=175,
        minutes=90,
        final_stock=1.9e12,
        mode=106.0,
        protein=210.0,
        endotoxin=0.09,
        potency=84.0,
        ph=7.33,
        freeze_thaw=3,
        storage_notes=(
            "Freezer F-02 failed on the night after storage (-5 °C for 9 h; lot re-frozen) "
            "and again during the transfer to F-03: two unplanned cycles, then the QC thaw, "
            "so 3 freeze-thaw cycles. Deviation DEV-2026-011 open; stability data cover 1."
        ),
    ),
    _tff_sec_lot(
        "UCMSC-2607",
        "in_qc",
        "2026-02-16T08:00:00+01:00",
        description="Microcarrier lot in QC; potency assay scheduled.",
        harvest_stock=1.2e10,
        final_stock=2.3e11,
        mode=116.0,
        protein=74.0,
        endotoxin=0.12,
        potency=None,
        ph=7.45,
        markers="tetraspanins",
        producer="microcarrier",
    ),
    _uc_lot(
        "UCMSC-2608",
        "in_qc",
        "2026-02-23T08:00:00+01:00",
        description="UC lot in QC; no electron microscopy slot before review.",
        g="110,000 x g",
        rpm="37,500 rpm",
        k=191,
        minutes=120,
        final_stock=2.2e12,
        mode=101.0,
        protein=240.0,
        endotoxin=0.05,
        potency=90.0,
        ph=7.30,
        imaging=False,
    ),
    _ucmsc_2609(),
    _ucmsc_2610(),
    _ucmsc_2611(),
    _hek_lot(
        "HEK-2601",
        "released",
        "2026-01-07T08:00:00+01:00",
        description="miR-146a-loaded EVs for the mouse efficacy study MS-26-01.",
        final_stock=4.6e11,
        mode=102.0,
        copies=9.0e9,
        efficiency="3.5 %",
        endotoxin=0.07,
    ),
    _hek_lot(
        "HEK-2602",
        "in_qc",
        "2026-02-11T08:00:00+01:00",
        description="miR-146a-loaded EVs for the GLP toxicology study; NTA on the ZetaView.",
        final_stock=3.8e11,
        mode=106.0,
        copies=7.2e9,
        efficiency="2.8 %",
        endotoxin=0.09,
        nta_settings=False,
    ),
    _hek_2603(),
    _plasma_2601(),
]

# What each lot lacks or fails on purpose (see the table in the module docstring).
EXPECTED_DEVIATIONS: dict[str, list[str]] = {
    "UCMSC-2601": [],
    "UCMSC-2602": [],
    "UCMSC-2603": [],
    "UCMSC-2604": ["no_negative_marker"],
    "UCMSC-2605": ["endotoxin_oos"],
    "UCMSC-2606": ["freeze_thaw_exceeded"],
    "UCMSC-2607": ["only_tetraspanins", "no_cytosolic_marker", "no_negative_marker",
                   "potency_pending"],
    "UCMSC-2608": ["no_imaging"],
    "UCMSC-2609": [],
    "UCMSC-2610": ["not_yet_tested"],
    "UCMSC-2611": ["not_yet_tested"],
    "HEK-2601": [],
    "HEK-2602": ["no_nta_settings"],
    "HEK-2603": [],
    "PLASMA-2601": ["no_protein_assay", "no_imaging", "only_tetraspanins",
                    "no_cytosolic_marker", "no_negative_marker"],
}  # fmt: skip

# Rule exceptions recorded on purpose, by lot: the gap shows as "excepted".
EXPECTED_EXCEPTIONS: dict[str, list[str]] = {
    "UCMSC-2602": ["M18-CC-11"],
    "HEK-2601": ["REL-POT-01", "REL-SAF-03"],
}
