import pytest

from batches import demo
from evqc.batch_record import parse_batch_record
from evqc.guidelines import Severity, Status, check_record, left_out_rules, rules_of
from tests.evqc.test_guidelines import complete_msc_batch

CATALOGUES = ["misev2023", "evmetric"]


def complete_batch():
    """A UC-MSC small-EV batch reporting everything the MISEV2023, related-framework and
    EV-METRIC rules ask for: UC and a density gradient, western blot, TEM, NTA, TRPS, DLS,
    nano-flow and an RNA analysis."""
    base = complete_msc_batch()
    return {
        "schema": base["schema"],
        "lot_number": "UCMSC-M23",
        "product": base["product"],
        "preparation_term": "sev",
        "evtrack_id": "EV260001",
        "source": base["source"],
        "production": base["production"],
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
                    "ev_fraction_density": "1.10 g/mL",
                },
            },
            {
                "order": 4,
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
            "buffer": "PBS",
            "cryoprotectant": "trehalose",
            "cryoprotectant_concentration": "5 %",
            "container": "cryovial",
            "freeze_thaw_cycles": 0,
            "stored_at": "2026-03-04T10:00:00Z",
        },
        "assays": [
            {
                "method": "nta",
                "instrument": "NS300",
                "software_version": "NTA 3.4",
                "performed_at": "2026-03-05T10:00:00Z",
                "dilution_factor": 200,
                "settings": {"camera_level": 14, "detection_threshold": 5, "video_count": 5},
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
                    {"technique": "tem", "field": "wide", "magnification": 12000},
                    {"technique": "tem", "field": "close_up", "scale_bar": "100 nm"},
                ],
            },
            {
                "method": "trps",
                "instrument": "Exoid",
                "software_version": "3.4",
                "performed_at": "2026-03-05T12:00:00Z",
                "settings": {"nanopore_size": "150 nm"},
                "results": [
                    {"attribute": "particle_concentration", "value": "2e11 particle/mL"},
                    {"attribute": "size_mode", "value": "98 nm"},
                ],
            },
            {
                "method": "dls",
                "performed_at": "2026-03-05T13:00:00Z",
                "results": [
                    {"attribute": "z_average", "value": "120 nm"},
                    {"attribute": "polydispersity_index", "value": 0.18},
                ],
            },
            {
                "method": "nano_flow",
                "instrument": "Flow NanoAnalyzer N30E",
                "software_version": "NF Profession 2.0",
                "performed_at": "2026-03-05T14:00:00Z",
                "settings": {"calibration_particle_size": "250 nm", "flow_rate": "5 nL/min"},
                "results": [
                    {"attribute": "particle_concentration", "value": "2.1e11 particle/mL"},
                    {"attribute": "size_mode", "value": "75 nm"},
                ],
            },
            {
                "method": "rna",
                "performed_at": "2026-03-06T12:00:00Z",
                "settings": {
                    "rnase_treatment": "RNase A 10 µg/mL, 30 min at 37 °C",
                    "spike_in": "cel-miR-39",
                    "isolation_kit": "miRNeasy Micro (Qiagen)",
                },
                "results": [{"attribute": "rna_concentration", "value": "0.31 µg/mL"}],
            },
        ],
    }


NTA, MICROBCA, BLOT, TEM, TRPS, DLS, NANO_FLOW, RNA = range(8)


def findings(document, catalogues=CATALOGUES):
    return {f.rule_id: f for f in check_record(parse_batch_record(document), catalogues)}


def open_rules(document):
    return {rule_id: f.status for rule_id, f in findings(document).items() if f.open}


def changed(*changes):
    document = complete_batch()
    for change in changes:
        change(document)
    return document


def plasma_source(document):
    """A complete plasma source (the fields of the demo's PLASMA-2601)."""
    document["source"] = {
        "kind": "biofluid",
        "material": "plasma",
        "subject": "HV-0412",
        "health_status": "healthy volunteer",
        "age": "34 year",
        "sex": "female",
        "needle_gauge": "21G",
        "tube_type": "K2EDTA 10 mL",
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
    del document["production"]


def pooled(document):
    """A batch pooled from others: its parents carry the source and the culture."""
    del document["source"], document["production"]


def tissue_source(document):
    document["source"] = {
        "kind": "tissue",
        "tissue": "adipose",
        "health_status": "healthy",
        "tissue_mass": "500 mg",
        "dissociation_enzyme": "collagenase I",
        "dissociation_duration": "30 min",
        "dissociation_temperature": "37 °C",
        "storage_temperature": "-80 °C",
        "storage_duration": "7 d",
        "freeze_thaw_cycles": 0,
    }
    del document["production"]


# The catalogue
# ------------------------------------------------------------------------------


def test_a_complete_batch_has_no_open_finding():
    assert open_rules(complete_batch()) == {}


def test_misev2023_rules_are_labelled_suggested():
    misev2023 = [r for r in rules_of(["misev2023"]) if r.id.startswith("M23-")]

    assert misev2023
    assert all("(suggested)" in r.guideline for r in misev2023)


def test_related_frameworks_are_in_the_misev2023_catalogue():
    assert {"FC-01", "BL-01", "RNA-01", "CCM-01"} <= {r.id for r in rules_of(["misev2023"])}


@pytest.mark.parametrize(
    ("rule_id", "severity"),
    [
        ("M23-NOM-01", Severity.REQUIRED),
        ("M23-QNT-01", Severity.REQUIRED),
        ("M23-REP-01", Severity.RECOMMENDED),
        ("FC-01", Severity.REQUIRED),
        ("CCM-01", Severity.RECOMMENDED),
    ],
)
def test_severities_are_those_of_rules_md(rule_id, severity):
    assert {r.id: r for r in rules_of(["misev2023"])}[rule_id].severity == severity


@pytest.mark.parametrize(
    "rule_id", ["M23-NOM-02", "M23-REL-01", "M23-UPT-01", "M23-FUN-01", "M23-INV-01"]
)
def test_rules_evqc_has_no_data_for_are_left_out_with_a_reason(rule_id):
    assert left_out_rules()[rule_id].endswith(".")


# Each rule fires, and is met
# ------------------------------------------------------------------------------


def drop(index):
    def change(document):
        del document["assays"][index]

    change.__name__ = f"drop_assay_{index}"
    return change


def set_in(*path_and_value):
    *path, key, value = path_and_value

    def change(document):
        part = document
        for step in path:
            part = part[step]
        if value is None:
            del part[key]
        else:
            part[key] = value

    change.__name__ = f"set_{'_'.join(map(str, [*path, key]))}_{value}"
    return change


def no_term(document):
    del document["preparation_term"]


def ev_without_images_or_detergent(document):
    document["preparation_term"] = "ev"
    document["assays"][TEM]["images"] = []


def sev_without_single_particle_size(document):
    for index in sorted((NANO_FLOW, TRPS, NTA), reverse=True):
        del document["assays"][index]


def called_exosome(document):
    document["preparation_term"] = "exosome"


def uc_without_rotor(document):
    del document["isolation_steps"][1]["parameters"]["rotor"]


def nta_without_threshold(document):
    del document["assays"][NTA]["settings"]["detection_threshold"]


def nta_without_videos(document):
    del document["assays"][NTA]["settings"]["video_count"]


def only_tetraspanins(document):
    blot = document["assays"][BLOT]
    blot["markers"] = [m for m in blot["markers"] if m["protein"] in ("CD63", "CD81")]


def no_co_isolate_probed(document):
    blot = document["assays"][BLOT]
    blot["markers"] = [m for m in blot["markers"] if m["detected"]]


def dls_without_pdi(document):
    document["assays"][DLS]["results"].pop()


def image_without_scale(document):
    del document["assays"][TEM]["images"][1]["scale_bar"]


def blot_without_dilution(document):
    document["assays"][BLOT]["markers"][0]["antibody_dilution"] = ""


def plasma_without_processing_interval(document):
    plasma_source(document)
    del document["source"]["processing_interval"]


def plasma_without_haemoglobin(document):
    plasma_source(document)
    del document["source"]["free_haemoglobin"]


def tissue_without_storage(document):
    tissue_source(document)
    del document["source"]["storage_temperature"]


def tissue_without_mass(document):
    tissue_source(document)
    del document["source"]["tissue_mass"]


FIRES = [
    ("M23-NOM-01", no_term, Status.GAP),
    ("M23-NOM-01", ev_without_images_or_detergent, Status.GAP),
    ("M23-NOM-03", sev_without_single_particle_size, Status.GAP),
    ("M23-NOM-04", called_exosome, Status.GAP),
    ("M23-PRE-01", set_in("production", "passage_number", None), Status.GAP),
    ("M23-PRE-01", plasma_without_processing_interval, Status.GAP),
    ("M23-PRE-01", tissue_without_storage, Status.GAP),
    ("M23-PRE-01", tissue_without_mass, Status.GAP),
    ("M23-STO-01", set_in("storage", "cryoprotectant", None), Status.GAP),
    ("M23-STO-01", set_in("storage", "stored_at", None), Status.GAP),
    ("M23-STO-01", set_in("storage", "container", None), Status.GAP),
    ("M23-SEP-01", uc_without_rotor, Status.GAP),
    ("M23-SEP-01", set_in("isolation_steps", []), Status.GAP),
    ("M23-QNT-01", nta_without_threshold, Status.GAP),
    ("M23-QNT-01", drop(MICROBCA), Status.GAP),
    ("M23-QNT-01", set_in("assays", TRPS, "instrument", None), Status.GAP),
    ("M23-CHR-01", only_tetraspanins, Status.GAP),
    ("M23-CHR-01", no_co_isolate_probed, Status.GAP),
    ("M23-TECH-01", nta_without_videos, Status.GAP),
    ("M23-TECH-01", set_in("assays", TRPS, "settings", {}), Status.GAP),
    ("M23-TECH-01", dls_without_pdi, Status.GAP),
    ("M23-TECH-01", image_without_scale, Status.GAP),
    ("M23-TECH-01", blot_without_dilution, Status.GAP),
    ("M23-REP-01", set_in("evtrack_id", None), Status.WARNING),
    ("FC-01", set_in("assays", NANO_FLOW, "settings", "flow_rate", None), Status.GAP),
    ("FC-01", set_in("assays", NANO_FLOW, "settings", "calibration_particle_size", None),
     Status.GAP),
    ("BL-01", plasma_without_processing_interval, Status.GAP),
    ("BL-01", plasma_without_haemoglobin, Status.GAP),
    ("RNA-01", set_in("assays", RNA, "settings", "spike_in", None), Status.GAP),
    ("CCM-01", set_in("production", "viability_method", None), Status.WARNING),
]  # fmt: skip


@pytest.mark.parametrize(
    ("rule_id", "change", "status"), FIRES, ids=lambda v: getattr(v, "__name__", v)
)
def test_a_rule_fires_when_its_data_is_missing(rule_id, change, status):
    found = findings(changed(change))[rule_id]

    assert found.status == status
    assert found.missing


# Rules that need a plasma or tissue source to apply.
MET_BY = {"BL-01": plasma_source}


@pytest.mark.parametrize("rule_id", sorted({rule_id for rule_id, _, _ in FIRES}))
def test_a_rule_is_met_by_a_batch_that_reports_what_it_asks(rule_id):
    document = changed(MET_BY.get(rule_id, lambda document: None))

    assert findings(document)[rule_id].status == Status.MET


@pytest.mark.parametrize("source", [plasma_source, tissue_source])
def test_pre_analytics_are_met_by_a_complete_biofluid_or_tissue_source(source):
    found = findings(changed(source))

    assert found["M23-PRE-01"].status == Status.MET
    assert found["CCM-01"].status == Status.NOT_APPLICABLE


def test_every_implemented_misev2023_rule_has_a_case_where_it_fires():
    assert {rule_id for rule_id, _, _ in FIRES} == {r.id for r in rules_of(["misev2023"])}


def test_what_is_missing_names_the_misev2018_rule_it_comes_from():
    found = findings(changed(set_in("production", "passage_number", None)))["M23-PRE-01"]

    assert found.missing == (
        "M18-CC-02: production.passage_number or production.population_doublings",
    )


def test_an_extracellular_particle_needs_no_bilayer_evidence():
    document = changed(ev_without_images_or_detergent, set_in("preparation_term", "ep"))

    assert findings(document)["M23-NOM-01"].status == Status.MET


def test_a_detergent_sensitivity_result_shows_the_bilayer():
    document = changed(ev_without_images_or_detergent)
    document["assays"][NANO_FLOW]["results"].append(
        {"attribute": "detergent_sensitivity", "value": "91 %"}
    )

    assert findings(document)["M23-NOM-01"].status == Status.MET


def test_what_is_missing_names_the_assay_and_its_settings():
    found = findings(changed(set_in("assays", RNA, "settings", {})))["RNA-01"]

    assert found.missing == ("assay 8 (rna): rnase_treatment, spike_in, isolation_kit",)


@pytest.mark.parametrize(
    ("rule_id", "change"),
    [
        ("M23-NOM-03", set_in("preparation_term", "ev")),
        ("FC-01", drop(NANO_FLOW)),
        ("RNA-01", drop(RNA)),
        ("BL-01", lambda document: None),
        ("CCM-01", tissue_source),
        ("M23-PRE-01", pooled),
    ],
)
def test_a_rule_that_does_not_concern_the_batch_is_not_applicable(rule_id, change):
    document = complete_batch()
    change(document)

    assert findings(document)[rule_id].status == Status.NOT_APPLICABLE


# EV-METRIC components (scored in tests/evqc/test_scores.py)
# ------------------------------------------------------------------------------


def no_uc_step(document):
    document["isolation_steps"] = [
        step for step in document["isolation_steps"] if step["order"] not in (2, 3)
    ]


def no_dg_step(document):
    document["isolation_steps"] = [s for s in document["isolation_steps"] if s["order"] != 3]


def blot_without_lysis_buffer(document):
    document["assays"][BLOT]["lysis_buffer"] = ""


def only_negative_markers_probed(document):
    blot = document["assays"][BLOT]
    blot["markers"] = [m for m in blot["markers"] if not m["detected"]]


def no_lysate_assay(document):
    del document["assays"][BLOT], document["assays"][MICROBCA]


EVMETRIC_FIRES = [
    ("EVM-01", uc_without_rotor),
    ("EVM-02", blot_without_dilution),
    ("EVM-03", blot_without_lysis_buffer),
    ("EVM-04", only_negative_markers_probed),
    ("EVM-05", no_co_isolate_probed),
    ("EVM-06", drop(TEM)),
    ("EVM-07", sev_without_single_particle_size),
    ("EVM-08", no_dg_step),
]


@pytest.mark.parametrize(
    ("rule_id", "change"), EVMETRIC_FIRES, ids=lambda v: getattr(v, "__name__", v)
)
def test_an_ev_metric_component_is_a_warning_when_not_fulfilled(rule_id, change):
    found = findings(changed(change), ["evmetric"])

    assert found[rule_id].status == Status.WARNING
    assert found[rule_id].missing


@pytest.mark.parametrize("rule_id", [rule_id for rule_id, _ in EVMETRIC_FIRES])
def test_an_ev_metric_component_is_met_by_a_complete_batch(rule_id):
    assert findings(complete_batch(), ["evmetric"])[rule_id].status == Status.MET


@pytest.mark.parametrize(
    ("rule_id", "change"),
    [
        ("EVM-01", no_uc_step),
        ("EVM-02", drop(BLOT)),
        ("EVM-03", no_lysate_assay),
    ],
)
def test_method_specific_components_apply_only_when_their_method_was_used(rule_id, change):
    document = complete_batch()
    change(document)

    assert findings(document, ["evmetric"])[rule_id].status == Status.NOT_APPLICABLE


def test_the_ninth_component_is_unknown_and_never_applies():
    assert findings(complete_batch(), ["evmetric"])["EVM-09"].status == Status.NOT_APPLICABLE


def test_ev_metric_components_are_recommended_with_only_the_method_specific_confirmed():
    components = rules_of(["evmetric"])

    assert [r.id for r in components] == [f"EVM-0{n}" for n in range(1, 10)]
    assert {r.severity for r in components} == {Severity.RECOMMENDED}
    assert [r.confidence.value for r in components] == ["C"] * 3 + ["U"] * 6


# The demo batches
# ------------------------------------------------------------------------------

COMPLETE_DEMO_LOTS = [
    lot for lot, deviations in demo.EXPECTED_DEVIATIONS.items() if not deviations
]


@pytest.mark.parametrize(
    "document",
    [d for d in demo.BATCHES if d["lot_number"] in COMPLETE_DEMO_LOTS],
    ids=lambda d: d["lot_number"],
)
def test_complete_demo_lots_have_no_misev2023_finding_but_the_evtrack_warning(document):
    # No demo lot was deposited in EV-TRACK: M23-REP-01 rightly warns about it.
    found = findings(document, ["misev2023"])

    assert {rule_id: f.status for rule_id, f in found.items() if f.open} == {
        "M23-REP-01": Status.WARNING
    }
