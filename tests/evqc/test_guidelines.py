import re
from pathlib import Path

import pytest

from batches import demo
from evqc.batch_record import parse_batch_record
from evqc.guidelines import RULE_IDS, Status, check_record, left_out_rules, rules_of
from evqc.guidelines.docs import guidelines_markdown

ROOT = Path(__file__).resolve().parents[2]
RULES_MD = ROOT.parent / "shared" / "design" / "rules.md"
GUIDELINES_MD = ROOT / "docs" / "guidelines.md"
RULE_ROW = re.compile(r"^\| ([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*-\d\d) \|", re.MULTILINE)


def complete_msc_batch():
    """A UC-MSC small-EV batch that reports everything the implemented rules ask for."""
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": "UCMSC-T1",
        "product": {"code": "UCMSC-sEV", "name": "UC-MSC small EVs"},
        "preparation_term": "sev",
        "evtrack_id": "EV260101",
        "source": {
            "kind": "cell_culture",
            "name": "UC-MSC MCB-02",
            "species": "Homo sapiens",
            "cell_type": "UC-MSC",
            "donor": "D-0193",
            "authentication_method": "STR",
            "mycoplasma_status": "negative",
        },
        "production": {
            "vessel_type": "hollow_fibre",
            "temperature": "37 °C",
            "co2": "5 %",
            "base_medium": "MEM alpha",
            "supplement_type": "serum_free",
            "passage_number": 4,
            "seeding_density": "3000 cell/cm²",
            "cell_count_at_harvest": "2.4e8 cell",
            "viability_at_harvest": "94 %",
            "viability_method": "trypan blue",
            "conditioning_started_at": "2026-03-01T08:00:00Z",
            "conditioning_ended_at": "2026-03-03T08:00:00Z",
            "harvest_volume": "2 L",
            "harvest_hold_duration": "2 h",
            "harvest_hold_temperature": "4 °C",
        },
        "isolation_steps": [
            {
                "order": 1,
                "method": "centrifugation",
                "purpose": "pre_processing",
                "parameters": {
                    "g_force": "2,000 x g",
                    "duration": "20 min",
                    "temperature": "4 °C",
                },
            },
            {
                "order": 2,
                "method": "ultracentrifugation",
                "parameters": {
                    "g_force": "100,000 x g",
                    "duration": "70 min",
                    "temperature": "4 °C",
                    "rotor": "Type 45 Ti",
                    "k_factor": 133,
                },
            },
            {
                "order": 3,
                "method": "sec",
                "parameters": {
                    "column": "qEV10 70 nm",
                    "load_volume": "10 mL",
                    "fractions_pooled": "1-4",
                },
            },
        ],
        "storage": {
            "temperature": "-80 °C",
            "buffer": "PBS with 5 % trehalose",
            "container": "cryovial",
            "freeze_thaw_cycles": 0,
        },
        "assays": [
            {
                "method": "nta",
                "instrument": "NS300",
                "software_version": "NTA 3.4",
                "performed_at": "2026-03-05T10:00:00Z",
                "dilution_factor": 200,
                "settings": {"camera_level": 14, "detection_threshold": 5},
                "results": [
                    {
                        "attribute": "particle_concentration",
                        "value": 1.1e9,
                        "unit": "particle/mL",
                        "basis": "measured",
                    },
                    {"attribute": "size_mode", "value": 104, "unit": "nm"},
                ],
            },
            {
                "method": "microbca",
                "performed_at": "2026-03-05T11:00:00Z",
                "lysis_buffer": "RIPA",
                "results": [{"attribute": "protein_concentration", "value": "85 µg/mL"}],
            },
            {
                "method": "western_blot",
                "performed_at": "2026-03-06T10:00:00Z",
                "lysis_buffer": "RIPA",
                "reducing": False,
                "markers": [
                    {
                        "protein": protein,
                        "detected": detected,
                        "antibody_clone": "x",
                        "antibody_dilution": "1:1000",
                        "load_protein": "10 µg",
                    }
                    for protein, detected in (
                        ("CD63", True),
                        ("CD81", True),
                        ("TSG101", True),
                        ("ALIX", True),
                        ("APOA1", False),
                        ("calnexin", False),
                    )
                ],
            },
            {
                "method": "tem",
                "performed_at": "2026-03-07T10:00:00Z",
                "images": [
                    {"technique": "tem", "field": "wide"},
                    {"technique": "tem", "field": "close_up"},
                ],
            },
            {  # the conditioned medium, so the recovery can be computed (M18-SEP-09)
                "method": "nta",
                "instrument": "NS300",
                "software_version": "NTA 3.4",
                "performed_at": "2026-03-03T09:00:00Z",
                "sample_stage": "harvest",
                "dilution_factor": 10,
                "settings": {"camera_level": 14, "detection_threshold": 5},
                "results": [
                    {
                        "attribute": "particle_concentration",
                        "value": "9e8 /mL",
                        "basis": "measured",
                    }
                ],
            },
        ],
    }


def findings(document, catalogues=("misev2018",)):
    return {f.rule_id: f for f in check_record(parse_batch_record(document), catalogues)}


def open_rules(document):
    return {rule_id: f.status for rule_id, f in findings(document).items() if f.open}


PLASMA_SOURCE = {
    "kind": "biofluid",
    "material": "plasma",
    "health_status": "healthy volunteer",
    "age": "34 year",
    "sex": "female",
    "needle_gauge": "21G",
    "tube_type": "K2EDTA",
    "anticoagulant": "edta",
    "discard_tube": True,
    "collection_volume": "9 mL",
    "processing_interval": "45 min",
    "hold_temperature": "20 °C",
    "storage_temperature": "-80 °C",
    "storage_duration": "21 d",
    "freeze_thaw_cycles": 1,
    "free_haemoglobin": "0.12 g/L",
}
PLASMA_SPIN = {
    "order": 1,
    "method": "centrifugation",
    "purpose": "pre_processing",
    "parameters": {"g_force": "2,500 x g", "duration": "15 min", "temperature": "20 °C"},
}


def changed(change):
    document = complete_msc_batch()
    change(document)
    return document


def markers(document):
    return document["assays"][2]["markers"]


# Rule ids: code, rules.md and docs/guidelines.md agree
# ------------------------------------------------------------------------------


@pytest.mark.skipif(
    not RULES_MD.exists(), reason="../shared/design/rules.md is not beside the project"
)
def test_the_rule_ids_of_the_code_are_those_of_rules_md():
    catalogue = RULE_ROW.findall(RULES_MD.read_text(encoding="utf-8"))

    assert tuple(catalogue) == RULE_IDS
    assert len(set(catalogue)) == 84


def test_every_rule_is_either_checked_or_left_out_never_both():
    checked = {rule.id for rule in rules_of() if rule.catalogue != "evmetric"}
    left = set(left_out_rules())

    assert checked <= set(RULE_IDS)
    assert left <= set(RULE_IDS)
    assert not checked & left
    assert checked | left == set(RULE_IDS)


def test_docs_guidelines_md_is_written_from_the_registry():
    assert GUIDELINES_MD.read_text(encoding="utf-8") == guidelines_markdown(), (
        "docs/guidelines.md is out of date: run python -m evqc.guidelines.docs"
    )


# Scenarios
# ------------------------------------------------------------------------------


def test_a_complete_msc_ev_batch_has_no_open_finding():
    assert open_rules(complete_msc_batch()) == {}


def test_the_same_record_gives_the_same_findings():
    document = complete_msc_batch()
    markers(document).pop()

    assert check_record(parse_batch_record(document)) == check_record(parse_batch_record(document))


def test_plasma_evs_by_a_precipitation_kit_without_protein_imaging_or_cytosolic_markers():
    # given: the rules.md scenario: plasma, a kit, NTA, and only tetraspanins
    document = {
        "schema": "evqc.batch-record/1",
        "lot_number": "PL-1",
        "product": {"code": "PL", "name": "Plasma EVs"},
        "preparation_term": "ev",
        "evtrack_id": "EV260102",
        "source": PLASMA_SOURCE,
        "isolation_steps": [
            PLASMA_SPIN,
            {
                "order": 2,
                "method": "precipitation",
                "parameters": {"kit_name": "ExoQuick", "kit_lot": "L1"},
            },
        ],
        "storage": {
            "temperature": "-80 °C",
            "buffer": "PBS",
            "container": "tube",
            "freeze_thaw_cycles": 1,
        },
        "assays": [
            {
                "method": "nta",
                "instrument": "NS300",
                "software_version": "3.4",
                "performed_at": "2026-03-05T10:00:00Z",
                "dilution_factor": 1000,
                "settings": {"camera_level": 13, "detection_threshold": 4},
                "results": [
                    {
                        "attribute": "particle_concentration",
                        "value": "2e8 /mL",
                        "basis": "measured",
                    },
                    {"attribute": "size_mode", "value": "95 nm"},
                ],
            },
            {
                "method": "western_blot",
                "performed_at": "2026-03-06T10:00:00Z",
                "lysis_buffer": "RIPA",
                "reducing": False,
                "markers": [
                    {
                        "protein": p,
                        "detected": True,
                        "antibody_clone": "c",
                        "antibody_dilution": "1:500",
                        "load_protein": "20 µg",
                    }
                    for p in ("CD9", "CD63", "CD81")
                ],
            },
        ],
    }

    # then
    assert open_rules(document) == {
        "M18-MRK-01": Status.GAP,
        "M18-MRK-03": Status.GAP,
        "M18-QNT-02": Status.GAP,
        "M18-QNT-03": Status.WARNING,
        "M18-REP-01": Status.GAP,
        "M18-SEP-09": Status.WARNING,  # nobody counted the particles of the plasma itself
        "M18-SGL-01": Status.GAP,
        "M18-SGL-03": Status.GAP,
    }


COMPLETE_DEMO_LOTS = [
    lot for lot, deviations in demo.EXPECTED_DEVIATIONS.items() if not deviations
]


@pytest.mark.parametrize(
    "document",
    [d for d in demo.BATCHES if d["lot_number"] in COMPLETE_DEMO_LOTS],
    ids=lambda d: d["lot_number"],
)
def test_demo_batches_without_deliberate_gaps_have_none(document):
    gaps = {
        rule_id: f.missing for rule_id, f in findings(document).items() if f.status == Status.GAP
    }
    assert gaps == {}


# Each rule fires, and does not fire
# ------------------------------------------------------------------------------


def drop_steps(document):
    document["isolation_steps"] = []


def uc_without_rotor(document):
    del document["isolation_steps"][1]["parameters"]["rotor"]


def spin_without_temperature(document):
    del document["isolation_steps"][0]["parameters"]["temperature"]


def dg_without_density(document):
    document["isolation_steps"][1] = {
        "order": 2,
        "method": "density_gradient",
        "parameters": {
            "g_force": "100,000 x g",
            "duration": "18 h",
            "temperature": "4 °C",
            "rotor": "SW 41 Ti",
            "k_factor": 124,
            "gradient_medium": "iodixanol",
            "gradient_range": "5-40 %",
            "fraction_count": 12,
        },
    }


def sec_without_column(document):
    del document["isolation_steps"][2]["parameters"]["column"]


def tff_without_cut_off(document):
    document["isolation_steps"].append(
        {
            "order": 4,
            "method": "tff",
            "parameters": {"membrane_material": "mPES", "device": "KrosFlo"},
        }
    )


def kit_without_lot(document):
    document["isolation_steps"].append(
        {"order": 4, "method": "kit", "parameters": {"kit_name": "exoEasy"}}
    )


def no_protein(document):
    del document["assays"][1]


def nta_without_settings(document):
    document["assays"][0]["settings"] = {}


def only_tetraspanins(document):
    document["assays"][2]["markers"] = [
        m for m in markers(document) if m["protein"] in ("CD63", "CD81")
    ]


def only_promiscuous_cytosolic(document):
    for marker in markers(document):
        if marker["protein"] in ("TSG101", "ALIX"):
            marker["protein"] = "HSPA8" if marker["protein"] == "TSG101" else "GAPDH"


def no_purity_marker(document):
    document["assays"][2]["markers"] = [m for m in markers(document) if m["protein"] != "APOA1"]


def blot_without_antibody(document):
    markers(document)[0]["antibody_clone"] = ""


def blot_without_reducing(document):
    document["assays"][2]["reducing"] = None


def only_wide_images(document):
    document["assays"][3]["images"] = [{"technique": "tem", "field": "wide"}]


def dls_instead_of_nta(document):
    document["assays"][0] = {
        "method": "dls",
        "performed_at": "2026-03-05T10:00:00Z",
        "results": [{"attribute": "z_average", "value": "120 nm"}],
    }


def no_storage(document):
    del document["storage"]


def no_freeze_thaw(document):
    del document["storage"]["freeze_thaw_cycles"]


def production_without(*names):
    def change(document):
        for name in names:
            del document["production"][name]

    change.__name__ = f"production_without_{'_'.join(names)}"
    return change


def source_without(*names):
    def change(document):
        for name in names:
            del document["source"][name]

    change.__name__ = f"source_without_{'_'.join(names)}"
    return change


def ev_depleted_hpl_without_verification(document):
    document["production"] |= {
        "supplement_type": "ev_depleted_hpl",
        "supplement_concentration": "5 %",
        "ev_depletion_method": "120,000 x g, 18 h",
    }


def no_clarification(document):
    document["isolation_steps"][0]["purpose"] = "separation"


def untested_cells(document):
    document["source"]["mycoplasma_status"] = "not_tested"


FIRES = [
    ("M18-CC-01", source_without("donor"), Status.GAP),
    ("M18-CC-01", source_without("authentication_method"), Status.GAP),
    ("M18-CC-02", production_without("passage_number"), Status.GAP),
    ("M18-CC-03", production_without("seeding_density"), Status.GAP),
    ("M18-CC-04", production_without("viability_method"), Status.GAP),
    ("M18-CC-05", production_without("base_medium"), Status.GAP),
    ("M18-CC-05", ev_depleted_hpl_without_verification, Status.GAP),
    ("M18-CC-06", production_without("conditioning_ended_at"), Status.GAP),
    ("M18-CC-07", production_without("harvest_volume"), Status.GAP),
    ("M18-CC-08", production_without("co2"), Status.WARNING),
    ("M18-CC-09", untested_cells, Status.GAP),
    ("M18-CC-10", no_clarification, Status.GAP),
    ("M18-CC-10", production_without("harvest_hold_duration"), Status.GAP),
    ("M18-SEP-01", drop_steps, Status.GAP),
    ("M18-SEP-02", uc_without_rotor, Status.GAP),
    ("M18-SEP-02", spin_without_temperature, Status.GAP),
    ("M18-SEP-04", dg_without_density, Status.GAP),
    ("M18-SEP-05", sec_without_column, Status.GAP),
    ("M18-SEP-06", tff_without_cut_off, Status.GAP),
    ("M18-SEP-07", kit_without_lot, Status.GAP),
    ("M18-QNT-02", no_protein, Status.GAP),
    ("M18-QNT-03", no_protein, Status.WARNING),
    ("M18-QNT-04", nta_without_settings, Status.GAP),
    ("M18-MRK-01", only_tetraspanins, Status.GAP),
    ("M18-MRK-02", only_promiscuous_cytosolic, Status.WARNING),
    ("M18-MRK-03", no_purity_marker, Status.WARNING),  # serum-free: calnexin is enough
    ("M18-MRK-06", blot_without_antibody, Status.GAP),
    ("M18-MRK-06", blot_without_reducing, Status.GAP),
    ("M18-SGL-01", only_wide_images, Status.GAP),
    ("M18-SGL-02", dls_instead_of_nta, Status.GAP),
    ("M18-SGL-03", dls_instead_of_nta, Status.GAP),
    ("M18-STO-01", no_storage, Status.GAP),
    ("M18-STO-01", no_freeze_thaw, Status.GAP),
]


@pytest.mark.parametrize(
    ("rule_id", "change", "status"), FIRES, ids=lambda v: getattr(v, "__name__", v)
)
def test_a_rule_fires_when_its_data_is_missing(rule_id, change, status):
    found = findings(changed(change))[rule_id]

    assert found.status == status
    assert found.missing


def complete_dg(document):
    dg_without_density(document)
    document["isolation_steps"][1]["parameters"]["ev_fraction_density"] = "1.10 g/mL"


def complete_tff(document):
    tff_without_cut_off(document)
    document["isolation_steps"][3]["parameters"]["mwco"] = "500 kDa"


def complete_kit(document):
    kit_without_lot(document)
    document["isolation_steps"][3]["parameters"]["kit_lot"] = "K-2291"


# The complete batch has no gradient, membrane or kit step: these rules need one.
WITH_THEIR_STEP = {
    "M18-SEP-04": complete_dg,
    "M18-SEP-06": complete_tff,
    "M18-SEP-07": complete_kit,
}


@pytest.mark.parametrize("rule_id", sorted({rule_id for rule_id, _, _ in FIRES} | {"M18-REP-01"}))
def test_a_rule_is_met_by_a_batch_that_reports_what_it_asks(rule_id):
    document = changed(WITH_THEIR_STEP.get(rule_id, lambda document: None))

    assert findings(document)[rule_id].status == Status.MET


def test_every_implemented_rule_is_tested():
    tests = "".join(path.read_text() for path in Path(__file__).parent.glob("test_guidelines*.py"))

    assert [rule.id for rule in rules_of() if f'"{rule.id}"' not in tests] == []


def test_unjustified_gaps_are_a_gap_of_their_own_until_excepted():
    document = changed(only_wide_images)
    assert findings(document)["M18-REP-01"].missing == ("M18-SGL-01",)

    document["exceptions"] = [{"rule": "M18-SGL-01", "justification": "Close-ups outsourced."}]
    assert findings(document)["M18-REP-01"].status == Status.MET


def test_a_missing_negative_marker_is_a_gap_when_the_medium_brings_evs():
    # decision 3: calnexin alone is not enough for EVs made in platelet lysate
    document = changed(no_purity_marker)
    ev_depleted_hpl_without_verification(document)

    assert findings(document)["M18-MRK-03"].status == Status.GAP


def test_a_rule_that_does_not_concern_the_batch_is_not_applicable():
    assert findings(complete_msc_batch())["M18-SEP-04"].status == Status.NOT_APPLICABLE


def test_cell_culture_rules_do_not_apply_to_a_plasma_batch():
    document = complete_msc_batch()
    document["source"] = {"kind": "biofluid", "material": "plasma"}
    del document["production"]

    cell_culture = {r: f for r, f in findings(document).items() if r.startswith("M18-CC-")}

    assert {f.status for f in cell_culture.values()} == {Status.NOT_APPLICABLE}


def test_what_is_missing_names_the_fields_to_fill_in():
    found = findings(changed(ev_depleted_hpl_without_verification))["M18-CC-05"]

    assert found.missing == ("production.ev_depletion_verified",)


def test_a_justified_exception_shows_the_gap_as_excepted_not_gone():
    document = changed(only_wide_images)
    document["exceptions"] = [{"rule": "M18-SGL-01", "justification": "Close-ups outsourced."}]

    found = findings(document)["M18-SGL-01"]

    assert (found.status, found.justification) == (Status.EXCEPTED, "Close-ups outsourced.")
    assert found.missing == ("a close-up image",)
    assert not found.open


def test_what_is_missing_names_the_step_and_the_parameters():
    found = findings(changed(uc_without_rotor))["M18-SEP-02"]

    assert found.missing == ("step 2 (ultracentrifugation): rotor",)


# What each deliberate deviation of the demo data must show as (batches/demo.py).
DEVIATION_GAPS = {
    "no_negative_marker": {"M18-MRK-03"},
    "only_tetraspanins": {"M18-MRK-01"},
    "no_cytosolic_marker": {"M18-MRK-01"},
    "no_imaging": {"M18-SGL-01", "M18-SGL-03"},
    "no_protein_assay": {"M18-QNT-02"},
    "no_nta_settings": {"M18-QNT-04"},
}
# Gaps that follow from others: REP-01 lists the unjustified ones; a small-EV claim
# without a negative marker also misses MRK-04.
CONSEQUENTIAL = {"M18-REP-01", "M18-MRK-04"}
DELIBERATE = [
    document
    for document in demo.BATCHES
    if demo.EXPECTED_DEVIATIONS[document["lot_number"]]
    and "not_yet_tested" not in demo.EXPECTED_DEVIATIONS[document["lot_number"]]
]


@pytest.mark.parametrize("document", DELIBERATE, ids=lambda d: d["lot_number"])
def test_demo_batches_show_their_deliberate_gaps_and_no_others(document):
    deviations = demo.EXPECTED_DEVIATIONS[document["lot_number"]]
    expected = set().union(*(DEVIATION_GAPS.get(deviation, set()) for deviation in deviations))

    gaps = {rule_id for rule_id, f in findings(document).items() if f.status == Status.GAP}

    assert expected <= gaps
    assert gaps - CONSEQUENTIAL <= expected
