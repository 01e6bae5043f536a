import pytest

from batches import demo
from evqc.batch_record import parse_batch_record
from evqc.guidelines import RULE_IDS, Severity, Status, check_record, left_out_rules, rules_of
from tests.evqc.test_guidelines import complete_msc_batch

RELEASE = ["release"]
NEGATIVE_CATEGORY_4 = "a category-4 protein (e.g. calnexin, GM130) probed and not detected"


def flow_marker(protein, detected=True):
    return {
        "protein": protein,
        "detected": detected,
        "antibody_clone": "clone-1",
        "antibody_dilution": "1:100",
    }


def release_ready_batch():
    """The complete MSC-EV batch of test_guidelines with the release tests of a CoA."""
    document = complete_msc_batch()
    document["assays"][0]["results"].append({"attribute": "size_within_range", "value": "94 %"})
    document["assays"] += [
        {
            "method": "nano_flow",
            "instrument": "NanoFCM N30E",
            "software_version": "NF Profession 2.0",
            "dilution_factor": 50,
            "performed_at": "2026-03-06T14:00:00Z",
            "results": [{"attribute": "detergent_sensitivity", "value": "93 %"}],
            "markers": [flow_marker(p) for p in ("CD44", "CD73", "CD105")],
        },
        {
            "method": "lal_endotoxin",
            "performed_at": "2026-03-07T09:00:00Z",
            "results": [{"attribute": "endotoxin", "value": "< 0.05 EU/mL"}],
        },
        {
            "method": "sterility",
            "performed_at": "2026-03-07T09:30:00Z",
            "results": [{"attribute": "sterility", "value": "no_growth"}],
        },
        {
            "method": "mycoplasma",
            "performed_at": "2026-03-07T10:00:00Z",
            "results": [{"attribute": "mycoplasma", "value": "not_detected"}],
        },
        {
            "method": "potency",
            "performed_at": "2026-03-08T10:00:00Z",
            "results": [{"attribute": "potency", "value": "85 %"}],
        },
        {
            "method": "ph",
            "performed_at": "2026-03-07T11:00:00Z",
            "results": [{"attribute": "ph", "value": 7.4}],
        },
        {
            "method": "osmolality",
            "performed_at": "2026-03-07T11:10:00Z",
            "results": [{"attribute": "osmolality", "value": "300 mOsm/kg"}],
        },
        {
            "method": "appearance",
            "performed_at": "2026-03-07T11:20:00Z",
            "results": [{"attribute": "appearance", "value": "conforms"}],
        },
    ]
    return document


def release_findings(document):
    return {f.rule_id: f for f in check_record(parse_batch_record(document), RELEASE)}


def release_changed(change):
    document = release_ready_batch()
    change(document)
    return document


def assay(document, method):
    return next(a for a in document["assays"] if a["method"] == method)


def without_assay(method):
    def change(document):
        document["assays"].remove(assay(document, method))

    change.__name__ = f"without_{method}"
    return change


def blot(document):
    return assay(document, "western_blot")["markers"]


# Scenarios
# ------------------------------------------------------------------------------


def test_a_release_ready_batch_has_no_open_release_finding():
    found = release_findings(release_ready_batch())

    assert {rule_id: f.status for rule_id, f in found.items() if f.open} == {}
    assert found["REL-ID-02"].status == Status.MET  # a UC-MSC source: the panel applies


def test_a_misev_complete_batch_is_not_yet_release_ready():
    # given: the batch that meets every MISEV2018 rule, without the CoA tests
    found = release_findings(complete_msc_batch())

    # then: MISEV compliance says nothing of safety, potency or the size window
    assert {rule_id: f.status for rule_id, f in found.items() if f.open} == {
        "REL-GEN-01": Status.WARNING,
        "REL-ID-02": Status.WARNING,
        "REL-POT-01": Status.GAP,
        "REL-PUR-02": Status.GAP,
        "REL-PUR-03": Status.WARNING,
        "REL-SAF-01": Status.GAP,
        "REL-SAF-02": Status.GAP,
        "REL-SAF-03": Status.GAP,
    }


def test_a_failing_result_still_counts_as_measured():
    # given: results that fail any specification
    def failing(document):
        assay(document, "sterility")["results"][0]["value"] = "growth"
        assay(document, "mycoplasma")["results"][0]["value"] = "detected"
        assay(document, "lal_endotoxin")["results"][0]["value"] = "12 EU/mL"
        assay(document, "potency")["results"][0]["value"] = "5 %"

    found = release_findings(release_changed(failing))

    # then: pass or fail is the specification's verdict, not these rules'
    for rule_id in ("REL-SAF-01", "REL-SAF-02", "REL-SAF-03", "REL-POT-01"):
        assert found[rule_id].status == Status.MET


# Each rule fires with exactly what is missing
# ------------------------------------------------------------------------------


def without_calnexin(document):
    assay(document, "western_blot")["markers"] = [
        m for m in blot(document) if m["protein"] != "calnexin"
    ]


def calnexin_detected(document):
    next(m for m in blot(document) if m["protein"] == "calnexin")["detected"] = True


def no_transmembrane_detected(document):
    for marker in blot(document) + assay(document, "nano_flow")["markers"]:
        if marker["protein"] in ("CD63", "CD81", "CD44", "CD73", "CD105"):
            marker["detected"] = False


def without_cd105(document):
    flow = assay(document, "nano_flow")
    flow["markers"] = [m for m in flow["markers"] if m["protein"] != "CD105"]


def without_msc_panel(document):
    assay(document, "nano_flow")["markers"] = []


def source_without_authentication(document):
    del document["source"]["authentication_method"]


def untested_cells(document):
    document["source"]["mycoplasma_status"] = "not_tested"


def without_protein(document):
    without_assay("microbca")(document)


def protein_below_range(document):
    assay(document, "microbca")["results"][0]["value"] = "< 5 µg/mL"


def nta_without(attribute):
    def change(document):
        nta = assay(document, "nta")
        nta["results"] = [r for r in nta["results"] if r["attribute"] != attribute]

    change.__name__ = f"nta_without_{attribute}"
    return change


def without_detergent(document):
    assay(document, "nano_flow")["results"] = []


def nta_only_at_harvest(document):
    assay(document, "nta")["sample_stage"] = "harvest"


def mycoplasma_only_at_harvest(document):
    assay(document, "mycoplasma")["sample_stage"] = "harvest"


def without_storage(document):
    del document["storage"]


def without_freeze_thaw(document):
    del document["storage"]["freeze_thaw_cycles"]


def without_ph_and_appearance(document):
    without_assay("ph")(document)
    without_assay("appearance")(document)


PARTICLES_BY_COUNTING = "particle concentration by a single-particle method"
SIZE_SHARE = (
    "share of particles within the size range (or a binned distribution) "
    "by a single-particle method"
)
SIZE_MODE = "modal or median size by a single-particle method"

FIRES = [
    ("REL-ID-01", without_calnexin, Status.GAP, (NEGATIVE_CATEGORY_4,)),
    ("REL-ID-01", calnexin_detected, Status.GAP, (NEGATIVE_CATEGORY_4,)),
    (
        "REL-ID-01",
        no_transmembrane_detected,
        Status.GAP,
        ("a detected category-1 (transmembrane) protein",),
    ),
    ("REL-ID-02", without_cd105, Status.WARNING, ("CD105 (ENG) probed",)),
    (
        "REL-ID-02",
        without_msc_panel,
        Status.WARNING,
        ("CD44 probed", "CD73 (NT5E) probed", "CD105 (ENG) probed"),
    ),
    ("REL-ID-03", source_without_authentication, Status.GAP, ("source.authentication_method",)),
    ("REL-ID-03", untested_cells, Status.GAP, ("source.mycoplasma_status",)),
    ("REL-PUR-01", without_protein, Status.WARNING, ("protein concentration",)),
    (
        "REL-PUR-01",
        protein_below_range,
        Status.WARNING,
        ("a particle or protein concentration that is a value, not a bound",),
    ),
    ("REL-PUR-01", nta_only_at_harvest, Status.WARNING, (PARTICLES_BY_COUNTING,)),
    ("REL-PUR-02", nta_without("size_within_range"), Status.GAP, (SIZE_SHARE,)),
    ("REL-PUR-02", nta_without("size_mode"), Status.GAP, (SIZE_MODE,)),
    ("REL-PUR-02", nta_only_at_harvest, Status.GAP, (SIZE_SHARE, SIZE_MODE)),
    (
        "REL-PUR-03",
        without_detergent,
        Status.WARNING,
        ("detergent sensitivity of the final product",),
    ),
    ("REL-QTY-01", without_protein, Status.GAP, ("protein concentration of the final product",)),
    (
        "REL-QTY-01",
        nta_only_at_harvest,
        Status.GAP,
        ("particle concentration of the final product",),
    ),
    (
        "REL-POT-01",
        without_assay("potency"),
        Status.GAP,
        ("a potency result of the final product",),
    ),
    (
        "REL-SAF-01",
        without_assay("sterility"),
        Status.GAP,
        ("a sterility result of the final product",),
    ),
    (
        "REL-SAF-02",
        without_assay("lal_endotoxin"),
        Status.GAP,
        ("an endotoxin result of the final product",),
    ),
    (
        "REL-SAF-03",
        without_assay("mycoplasma"),
        Status.GAP,
        ("a mycoplasma result of the final product",),
    ),
    (
        "REL-SAF-03",
        mycoplasma_only_at_harvest,
        Status.GAP,
        ("a mycoplasma result of the final product",),
    ),
    ("REL-STB-01", without_storage, Status.GAP, ("storage",)),
    ("REL-STB-01", without_freeze_thaw, Status.GAP, ("storage.freeze_thaw_cycles",)),
    ("REL-GEN-01", without_assay("osmolality"), Status.WARNING, ("osmolality",)),
    ("REL-GEN-01", without_ph_and_appearance, Status.WARNING, ("pH", "appearance")),
]


@pytest.mark.parametrize(
    ("rule_id", "change", "status", "missing"),
    FIRES,
    ids=[f"{rule_id}-{change.__name__}" for rule_id, change, _, _ in FIRES],
)
def test_a_release_rule_fires_with_what_is_missing(rule_id, change, status, missing):
    found = release_findings(release_changed(change))[rule_id]

    assert (found.status, found.missing) == (status, missing)


@pytest.mark.parametrize("rule_id", [rule.id for rule in rules_of(RELEASE)])
def test_a_release_rule_is_met_by_a_release_ready_batch(rule_id):
    assert release_findings(release_ready_batch())[rule_id].status == Status.MET


def test_every_release_rule_has_a_case_where_it_fires():
    assert {rule_id for rule_id, *_ in FIRES} == {rule.id for rule in rules_of(RELEASE)}


def test_a_binned_distribution_stands_in_for_the_share_within_the_size_range():
    def binned(document):
        nta_without("size_within_range")(document)
        assay(document, "nta")["size_distributions"] = [
            {
                "bin_quantity": "percentage",
                "value_unit": "%",
                "bin_centres": [50, 100, 150, 200],
                "bin_values": [10, 55, 30, 5],
            }
        ]

    assert release_findings(release_changed(binned))["REL-PUR-02"].status == Status.MET


def test_a_tem_size_does_not_stand_in_for_a_single_particle_size():
    # decision 6: a size from another method says nothing of the single-particle window
    def tem_mode(document):
        nta_without("size_mode")(document)
        assay(document, "tem")["results"] = [{"attribute": "size_mode", "value": "98 nm"}]

    assert release_findings(release_changed(tem_mode))["REL-PUR-02"].missing == (SIZE_MODE,)


@pytest.mark.parametrize(
    "cell_type",
    ["UC-MSC", "hBMSC", "umbilical-cord mesenchymal stromal cells (Wharton's jelly)"],
)
def test_the_msc_ev_panel_applies_to_msc_sources(cell_type):
    def source(document):
        document["source"]["cell_type"] = cell_type
        without_msc_panel(document)

    assert release_findings(release_changed(source))["REL-ID-02"].status == Status.WARNING


def test_the_msc_ev_panel_does_not_apply_to_other_cells():
    def hek(document):
        document["source"]["cell_type"] = "HEK293T"
        without_msc_panel(document)

    assert release_findings(release_changed(hek))["REL-ID-02"].status == Status.NOT_APPLICABLE


def test_parent_cell_identity_does_not_apply_to_a_plasma_batch():
    def plasma(document):
        document["source"] = {"kind": "biofluid", "material": "plasma"}
        del document["production"]

    assert release_findings(release_changed(plasma))["REL-ID-03"].status == (Status.NOT_APPLICABLE)


def test_a_release_gap_can_be_excepted_with_its_justification():
    document = release_changed(without_assay("potency"))
    document["exceptions"] = [
        {"rule": "REL-POT-01", "justification": "Preclinical lot; potency assay in validation."}
    ]

    found = release_findings(document)["REL-POT-01"]

    assert (found.status, found.missing) == (
        Status.EXCEPTED,
        ("a potency result of the final product",),
    )


# Left out, with reasons
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("rule_id", ["REL-PUR-04", "REL-SAF-04"])
def test_release_rules_evqc_cannot_check_are_left_out_with_a_reason(rule_id):
    assert left_out_rules()[rule_id]
    assert rule_id not in {rule.id for rule in rules_of()}


def test_every_release_rule_of_rules_md_is_checked_or_left_out():
    release_ids = {rule_id for rule_id in RULE_IDS if rule_id.startswith("REL-")}
    checked = {rule.id for rule in rules_of(RELEASE)}

    assert checked | (set(left_out_rules()) & release_ids) == release_ids


# Demo data
# ------------------------------------------------------------------------------

# Required release gaps the demo's released lots still have. HEK-2601 is a preclinical
# lot whose product specification has no potency or mycoplasma test, and no exception is
# recorded for either; batches/demo.py should add the tests or the justified exceptions,
# and this entry then goes.
KNOWN_RELEASE_GAPS: dict[str, set[str]] = {}


@pytest.mark.parametrize(
    "document",
    [d for d in demo.BATCHES if d["status"] == "released"],
    ids=lambda d: d["lot_number"],
)
def test_released_demo_lots_have_no_open_required_release_gap(document):
    found = check_record(parse_batch_record(document), RELEASE)

    gaps = {f.rule_id for f in found if f.status == Status.GAP}

    assert gaps == KNOWN_RELEASE_GAPS.get(document["lot_number"], set())
    assert all(f.severity == Severity.REQUIRED for f in found if f.status == Status.GAP)
