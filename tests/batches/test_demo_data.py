"""The demo data (batches/demo.py) is valid, realistic where it should be and wrong exactly
where it says it is. No database: the batch-record format is checked by its own models."""

import copy
import importlib
import json

import pytest

from batches import demo
from evqc.batch_record import BatchRecord, parse_batch_record
from evqc.markers import MarkerCategory, resolve_marker
from evqc.specs import Limits, check_limits
from evqc.units import parse_quantity
from evqc.vocabulary import (
    ATTRIBUTES,
    AssayMethod,
    BatchStatus,
    PreparationTerm,
    ProductClass,
    ResultBasis,
    Technique,
)

LOTS = [batch["lot_number"] for batch in demo.BATCHES]
PRODUCTS = {product["code"]: product for product in demo.PRODUCTS}
ROUTES = {"intravenous", "intramuscular", "subcutaneous", "inhalation", "topical", "intrathecal"}
REQUIRED_ISOLATION = {
    "ultracentrifugation", "density_gradient", "sec", "tff", "precipitation", "immunoaffinity",
}  # fmt: skip
PRODUCT_QUANTITIES = {
    "max_dose_volume": "volume",
    "body_weight": "mass",
    "storage_temperature": "temperature",
    "shelf_life": "duration",
    "max_freeze_thaw_cycles": "count",
}


@pytest.fixture(scope="module")
def records() -> dict[str, BatchRecord]:
    return {batch["lot_number"]: parse_batch_record(batch) for batch in demo.BATCHES}


def _spec(product_code: str, attribute: str) -> dict:
    (spec,) = [s for s in PRODUCTS[product_code]["specifications"] if s["attribute"] == attribute]
    return spec


def _canonical(text: str | None, attribute: str) -> float | None:
    if text is None:
        return None
    return parse_quantity(text, ATTRIBUTES[attribute].kind).canonical_value


def _stock_values(record: BatchRecord, attribute: str) -> list[float]:
    """Canonical stock values of `attribute` in the record: a measured (diluted) value is
    multiplied by its assay's dilution factor."""
    values = []
    for assay in record.assays:
        for result in assay.results:
            if result.attribute != attribute or result.quantity is None:
                continue
            value = result.quantity.canonical_value
            if result.basis == ResultBasis.MEASURED:
                value *= assay.dilution_factor.value
            values.append(value)
    return values


def _above_upper(value: float, spec: dict) -> bool:
    upper = _canonical(spec["upper_limit"], spec["attribute"])
    return value > upper or (value == upper and not spec["upper_inclusive"])


def _markers(record: BatchRecord) -> list[str]:
    return [marker.protein for assay in record.assays for marker in assay.markers]


def _techniques(record: BatchRecord) -> set[Technique]:
    return {assay.method.info.technique for assay in record.assays}


# The format
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("batch", demo.BATCHES, ids=LOTS)
def test_every_batch_is_a_valid_batch_record(batch):
    record = parse_batch_record(batch)

    assert record.lot_number == batch["lot_number"]
    assert batch["schema"] == "evqc.batch-record/1"


def test_the_data_is_plain_json_and_parsing_does_not_change_it():
    before = copy.deepcopy(demo.BATCHES)
    for batch in demo.BATCHES:
        parse_batch_record(batch)

    assert json.loads(json.dumps(demo.BATCHES)) == before == demo.BATCHES
    assert json.loads(json.dumps(demo.PRODUCTS)) == demo.PRODUCTS
    assert json.loads(json.dumps(demo.LAB)) == demo.LAB


def test_the_data_is_the_same_on_every_import():
    before = json.dumps([demo.LAB, demo.PRODUCTS, demo.BATCHES], sort_keys=True)

    reloaded = importlib.reload(demo)

    assert json.dumps([reloaded.LAB, reloaded.PRODUCTS, reloaded.BATCHES], sort_keys=True) == (
        before
    )


def test_the_lab():
    assert demo.LAB == {"code": "demo-lab", "name": "Demo EV Manufacturing Lab"}


# The batches as a set
# ------------------------------------------------------------------------------


def test_there_are_at_least_twelve_batches_with_unique_lot_numbers():
    assert len(LOTS) >= 12
    assert len(set(LOTS)) == len(LOTS)


def test_every_status_appears(records):
    assert {record.status for record in records.values()} == set(BatchStatus)


def test_a_quarantined_batch_says_which_status_it_was_held_from(records):
    quarantined = [r for r in records.values() if r.status == BatchStatus.QUARANTINED]

    assert quarantined
    assert all(record.held_from is not None for record in quarantined)


def test_every_required_isolation_method_appears(records):
    methods = {step.method for record in records.values() for step in record.isolation_steps}

    assert methods >= REQUIRED_ISOLATION


def test_parents_appear_earlier_in_the_list():
    seen: set[str] = set()
    pooled = 0
    for batch in demo.BATCHES:
        for parent in batch.get("parents", []):
            assert parent["lot_number"] in seen, (batch["lot_number"], parent["lot_number"])
            pooled += parent["relation"] == "pooled"
        seen.add(batch["lot_number"])

    assert pooled >= 2


def test_every_batch_belongs_to_a_demo_product():
    for batch in demo.BATCHES:
        product = PRODUCTS[batch["product"]["code"]]
        assert batch["product"]["name"] == product["name"]


def test_performed_dates_are_in_2026_with_a_time_zone(records):
    moments = [
        moment
        for record in records.values()
        for moment in (
            *(assay.performed_at for assay in record.assays),
            *(step.performed_at for step in record.isolation_steps),
        )
        if moment is not None
    ]

    assert moments
    assert all(moment.year == 2026 and moment.utcoffset() is not None for moment in moments)


def test_most_batches_with_isolation_steps_start_with_a_clarification(records):
    isolated = [r for r in records.values() if r.isolation_steps and not r.parents]
    clarified = [
        r
        for r in isolated
        if any(
            step.purpose == "pre_processing" and step.method == "centrifugation"
            for step in r.isolation_steps
        )
    ]

    assert len(clarified) == len(isolated)


def test_ultracentrifugation_steps_record_g_force_time_rotor_and_k_factor(records):
    for record in records.values():
        for step in record.isolation_steps:
            if step.method in {"ultracentrifugation", "density_gradient"}:
                parameters = step.parameters
                assert 100_000 <= parameters.g_force.canonical_value <= 120_000
                assert parameters.temperature.canonical_value == 4
                assert parameters.rotor
                assert parameters.k_factor is not None


def test_size_distributions_have_30_to_60_increasing_bins(records):
    distributions = [
        distribution
        for record in records.values()
        for assay in record.assays
        for distribution in assay.size_distributions
    ]

    assert distributions
    for distribution in distributions:
        assert 30 <= len(distribution.bin_centres) <= 60


def test_final_nta_results_are_in_the_published_ranges(records):
    for lot, record in records.items():
        for assay in record.assays:
            if assay.method != AssayMethod.NTA or assay.sample_stage != "final":
                continue
            (stock,) = _stock_values(record.model_copy(update={"assays": [assay]}),
                                     "particle_concentration")  # fmt: skip
            mode = next(r for r in assay.results if r.attribute == "size_mode")
            assert 1e10 <= stock <= 5e12, lot
            assert 90 <= mode.quantity.canonical_value <= 150, lot


def test_a_batch_has_harvest_and_in_process_nta_for_step_recoveries(records):
    def recoverable(record: BatchRecord) -> bool:
        stages = {
            (assay.sample_stage, assay.isolation_step)
            for assay in record.assays
            if assay.method == AssayMethod.NTA
        }
        orders = {step.order for step in record.isolation_steps}
        return ("harvest", None) in stages and any(
            stage == "in_process" and step in orders for stage, step in stages
        )

    assert any(recoverable(record) for record in records.values())


def test_a_hek_batch_is_loaded_by_electroporation(records):
    loaded = [
        engineering
        for record in records.values()
        if record.product.code == "HEK-miR-EV"
        for engineering in record.engineering
        if engineering.method == "electroporation"
    ]

    assert loaded
    assert all(e.voltage is not None and e.loading_efficiency is not None for e in loaded)
    assert all("miR" in e.cargo for e in loaded)


def test_exceptions_carry_a_justification_and_are_the_expected_ones(records):
    recorded = {
        lot: [exception.rule for exception in record.exceptions]
        for lot, record in records.items()
        if record.exceptions
    }

    assert recorded == demo.EXPECTED_EXCEPTIONS
    assert all(e.justification for r in records.values() for e in r.exceptions)


# The products
# ------------------------------------------------------------------------------


@pytest.mark.parametrize("product", demo.PRODUCTS, ids=list(PRODUCTS))
def test_a_product_is_described_in_evqc_words(product):
    assert ProductClass(product["product_class"])
    assert PreparationTerm(product["preparation_term"])
    assert isinstance(product["misev_release_criterion"], bool)
    for key, kind in PRODUCT_QUANTITIES.items():
        if product[key] is not None:
            parse_quantity(product[key], kind, field=key)


def test_the_two_therapeutic_products_have_a_route_dose_and_body_weight():
    for code in ("UCMSC-sEV", "HEK-miR-EV"):
        product = PRODUCTS[code]
        assert product["route"] in ROUTES
        assert product["max_dose_volume"]
        assert product["body_weight"]

    assert PRODUCTS["UCMSC-sEV"]["product_class"] == "native_ev"
    assert PRODUCTS["UCMSC-sEV"]["preparation_term"] == "sev"
    assert PRODUCTS["HEK-miR-EV"]["product_class"] == "loaded_ev"
    assert PRODUCTS["HEK-miR-EV"]["preparation_term"] == "ev"


@pytest.mark.parametrize("product", demo.PRODUCTS, ids=list(PRODUCTS))
def test_specifications_parse_in_their_attribute_kind_and_can_judge(product):
    keys = set()
    for spec in product["specifications"]:
        attribute = ATTRIBUTES[spec["attribute"]]
        if spec["method"]:
            assert spec["attribute"] in AssayMethod(spec["method"]).info.attributes
        if attribute.size:
            assert spec["method"], f"{spec['attribute']}: size specs name a method"
        if attribute.qualitative:
            assert spec["acceptable_outcomes"]
            assert set(spec["acceptable_outcomes"]) <= set(attribute.outcomes)
            assert spec["lower_limit"] is None
            assert spec["upper_limit"] is None
        else:
            assert spec["acceptable_outcomes"] == []
            limits = {
                name: _canonical(spec[name], spec["attribute"])
                for name in ("lower_limit", "upper_limit", "warn_lower", "warn_upper")
            }
            check_limits(
                Limits(
                    lower=limits["lower_limit"], upper=limits["upper_limit"],
                    lower_inclusive=spec["lower_inclusive"],
                    upper_inclusive=spec["upper_inclusive"],
                    warn_lower=limits["warn_lower"], warn_upper=limits["warn_upper"],
                )
            )  # fmt: skip
        assert isinstance(spec["required_for_release"], bool)
        keys.add((spec["attribute"], spec["method"]))

    assert len(keys) == len(product["specifications"]), "one spec per attribute and method"


def test_the_ucmsc_specification_covers_the_release_attributes():
    specs = {s["attribute"]: s for s in PRODUCTS["UCMSC-sEV"]["specifications"]}
    required = {name for name, s in specs.items() if s["required_for_release"]}

    assert required >= {
        "particle_concentration", "size_mode", "endotoxin", "sterility", "mycoplasma",
        "potency", "ph",
    }  # fmt: skip
    assert not specs["particle_protein_ratio"]["required_for_release"]  # decision 4


# The deliberate deviations
# ------------------------------------------------------------------------------


def test_expected_deviations_name_every_lot():
    assert set(demo.EXPECTED_DEVIATIONS) == set(LOTS)


def test_exactly_one_batch_has_endotoxin_above_its_products_limit(records):
    above = []
    for lot, record in records.items():
        product = PRODUCTS[record.product.code]
        specs = [s for s in product["specifications"] if s["attribute"] == "endotoxin"]
        if not specs:
            continue
        (spec,) = specs
        if any(_above_upper(value, spec) for value in _stock_values(record, "endotoxin")):
            above.append(lot)

    assert above == ["UCMSC-2605"]
    assert "endotoxin_oos" in demo.EXPECTED_DEVIATIONS["UCMSC-2605"]


def test_exactly_one_batch_has_more_freeze_thaw_cycles_than_its_product_allows(records):
    exceeded = []
    for lot, record in records.items():
        if record.storage is None or record.storage.freeze_thaw_cycles is None:
            continue
        product = PRODUCTS[record.product.code]
        allowed = parse_quantity(product["max_freeze_thaw_cycles"], "count").canonical_value
        if record.storage.freeze_thaw_cycles.canonical_value > allowed:
            exceeded.append(lot)

    assert exceeded == ["UCMSC-2606"]
    assert "freeze_thaw_exceeded" in demo.EXPECTED_DEVIATIONS["UCMSC-2606"]


def test_the_plasma_batch_is_the_rules_biofluid_scenario(records):
    record = records["PLASMA-2601"]

    assert record.source.kind == "biofluid"
    assert record.source.material == "plasma"
    assert any(step.method == "precipitation" for step in record.isolation_steps)
    assert Technique.PROTEIN not in _techniques(record)
    assert Technique.IMAGING not in _techniques(record)
    assert set(_markers(record)) == {"CD9", "CD63", "CD81"}


def test_documented_gaps_are_really_in_the_records(records):
    for lot, deviations in demo.EXPECTED_DEVIATIONS.items():
        record = records[lot]
        categories = {resolve_marker(protein).category for protein in _markers(record)}
        if "no_imaging" in deviations:
            assert Technique.IMAGING not in _techniques(record), lot
        if "no_protein_assay" in deviations:
            assert Technique.PROTEIN not in _techniques(record), lot
        if "only_tetraspanins" in deviations:
            assert set(_markers(record)) <= {"CD9", "CD63", "CD81"}, lot
        if "no_cytosolic_marker" in deviations:
            assert MarkerCategory.CYTOSOLIC not in categories, lot
        if "no_negative_marker" in deviations:
            assert categories.isdisjoint(
                {MarkerCategory.NON_EV_COISOLATE, MarkerCategory.OTHER_COMPARTMENT}
            ), lot
        if "no_nta_settings" in deviations:
            final = [a for a in record.assays if a.method == "nta" and a.sample_stage == "final"]
            assert final, lot
            assert all(not a.settings and not a.software_version for a in final), lot
            assert all(a.dilution_factor is not None for a in final), lot
        if "potency_pending" in deviations:
            assert AssayMethod.POTENCY not in {a.method for a in record.assays}, lot
        if "not_yet_tested" in deviations:
            assert not record.assays, lot
            assert not record.isolation_steps, lot


def test_lots_without_deviations_have_the_full_characterisation(records):
    for lot, deviations in demo.EXPECTED_DEVIATIONS.items():
        if deviations:
            continue
        record = records[lot]
        categories = {resolve_marker(protein).category for protein in _markers(record)}
        assert {Technique.SINGLE_PARTICLE, Technique.PROTEIN, Technique.IMAGING,
                Technique.MARKERS, Technique.SAFETY} <= _techniques(record), lot  # fmt: skip
        assert {MarkerCategory.TRANSMEMBRANE, MarkerCategory.CYTOSOLIC,
                MarkerCategory.NON_EV_COISOLATE} <= categories, lot  # fmt: skip
        images = {image.field for a in record.assays for image in a.images}
        assert images == {"wide", "close_up"}, lot
        assert record.storage is not None, lot
        assert record.storage.freeze_thaw_cycles is not None, lot
