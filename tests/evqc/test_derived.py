from dataclasses import FrozenInstanceError

import pytest

from evqc.batch_record import BatchRecord, parse_batch_record
from evqc.derived import (
    DerivedValues,
    derived_values,
    overall_recovery,
    particle_protein_ratio,
    particles_per_cell,
    particles_per_harvest_ml,
    pelleting_doses,
    step_recoveries,
    stock_value,
    total_particles,
)
from evqc.vocabulary import AssayMethod, IsolationMethod

MARCH_1 = "2026-03-01T10:00:00Z"
MARCH_2 = "2026-03-02T10:00:00Z"
MARCH_5 = "2026-03-05T10:00:00Z"
MARCH_9 = "2026-03-09T10:00:00Z"


# Documents
# ------------------------------------------------------------------------------


def batch(**parts) -> BatchRecord:
    return parse_batch_record(
        {
            "schema": "evqc.batch-record/1",
            "lot_number": "T-1",
            "product": {"code": "P", "name": "P"},
            **parts,
        }
    )


def assay(method, performed_at, *results, stage="final", step=None, dilution=None):
    document = {
        "method": method,
        "performed_at": performed_at,
        "sample_stage": stage,
        "results": list(results),
    }
    if step is not None:
        document["isolation_step"] = step
    if dilution is not None:
        document["dilution_factor"] = dilution
    return document


def particles(value, unit="particle/mL", **extra):
    result = {"attribute": "particle_concentration", "value": value, **extra}
    return {**result, "unit": unit} if unit else result


def protein(value, unit="µg/mL", **extra):
    result = {"attribute": "protein_concentration", "value": value, **extra}
    return {**result, "unit": unit} if unit else result


def step(order, method, output_volume=None, **parameters):
    document = {"order": order, "method": method, "parameters": parameters}
    if output_volume is not None:
        document["output_volume"] = output_volume
    return document


# The reference product: NTA 1.1e9/mL measured at x200 dilution = 2.2e11/mL stock;
# microBCA 0.2 mg/mL = 200 µg/mL; 5 mL after the last step; 2.2e8 cells in 500 mL.
FINAL_NTA = assay("nta", MARCH_5, particles(1.1e9, basis="measured"), dilution=200)
FINAL_BCA = assay("microbca", MARCH_5, protein(0.2, "mg/mL"))
PRODUCTION = {"cell_count_at_harvest": "2.2e8 cell", "harvest_volume": "500 mL"}
STEPS = [step(1, "centrifugation", "450 mL"), step(2, "ultracentrifugation", "5 mL")]


def reference(**parts) -> BatchRecord:
    return batch(
        **{
            "production": PRODUCTION,
            "isolation_steps": STEPS,
            "assays": [FINAL_NTA, FINAL_BCA],
            **parts,
        }
    )


# Stock values
# ------------------------------------------------------------------------------


def test_a_measured_concentration_times_the_dilution_is_the_stock_value():
    record = batch(assays=[FINAL_NTA])
    nta = record.assays[0]

    stock = stock_value(nta, nta.results[0])

    # 1.1e9/mL measured x 200 = 2.2e11/mL
    assert stock is not None
    assert stock.value == pytest.approx(2.2e11)
    assert stock.unit == "particle/mL"
    assert stock.canonical_value == pytest.approx(2.2e11)
    assert stock.reported == nta.results[0].quantity.reported


def test_a_stock_value_keeps_the_unit_the_result_was_reported_in():
    record = batch(
        assays=[
            assay(
                "nta",
                MARCH_5,
                particles("2.2e5 particles/µL", unit=None, basis="measured"),
                dilution=200,
            )
        ]
    )
    nta = record.assays[0]

    stock = stock_value(nta, nta.results[0])

    # 2.2e5/µL x 200 = 4.4e7/µL = 4.4e10/mL
    assert stock is not None
    assert stock.value == pytest.approx(4.4e7)
    assert stock.unit == "particle/µL"
    assert stock.canonical_value == pytest.approx(4.4e10)
    assert stock.reported == "2.2e5 particles/µL"


def test_a_value_reported_as_the_stocks_is_not_multiplied_again():
    record = batch(assays=[assay("nta", MARCH_5, particles(2.2e11, basis="stock"), dilution=200)])
    nta = record.assays[0]

    assert stock_value(nta, nta.results[0]) == nta.results[0].quantity


def test_an_input_says_when_the_value_was_reported_as_the_stocks():
    record = batch(
        assays=[
            assay("nta", MARCH_5, particles(2.2e11, basis="stock"), dilution=200),
            assay("bca", MARCH_5, protein(200, basis="stock"), dilution=1),
        ]
    )

    ratio = particle_protein_ratio(record)

    assert ratio is not None
    assert ratio.inputs == (
        "particle concentration of the final product by NTA on 2026-03-05: "
        "2.2e+11 particle/mL (reported as the stock's; sample diluted x200)",
        "protein concentration of the final product by BCA on 2026-03-05: 200 µg/mL "
        "(reported as the stock's; sample diluted x1)",
    )


def test_a_value_that_does_not_change_with_dilution_is_its_own_stock_value():
    size = {"attribute": "size_mode", "value": 110, "unit": "nm"}
    record = batch(
        assays=[assay("nta", MARCH_5, particles(1.1e9, basis="measured"), size, dilution=200)]
    )
    nta = record.assays[0]

    assert stock_value(nta, nta.results[1]) == nta.results[1].quantity


def test_a_qualitative_result_has_no_stock_value():
    record = batch(
        assays=[assay("sterility", MARCH_5, {"attribute": "sterility", "value": "no_growth"})]
    )
    sterility = record.assays[0]

    assert stock_value(sterility, sterility.results[0]) is None


def test_a_measured_value_without_a_dilution_factor_has_no_stock_value():
    # given a record that lost its dilution factor after it was checked (the format
    # refuses such a record; stock_value must not rely on that)
    record = batch(assays=[FINAL_NTA])
    nta = record.assays[0]
    nta.dilution_factor = None

    # then
    assert stock_value(nta, nta.results[0]) is None


# Particle-to-protein ratio
# ------------------------------------------------------------------------------


def test_particle_protein_ratio_divides_stock_particles_by_protein():
    ratio = particle_protein_ratio(reference())

    # 2.2e11 particle/mL / 200 µg/mL = 1.1e9 particle/µg
    assert ratio is not None
    assert ratio.quantity.value == pytest.approx(1.1e9)
    assert ratio.quantity.unit == "particle/µg"
    assert ratio.quantity.kind.name == "particles_per_mass"
    assert "derived" in ratio.quantity.reported
    assert ratio.inputs == (
        "particle concentration of the final product by NTA on 2026-03-05: "
        "2.2e+11 particle/mL (stock: 1.1e+09 particle/mL measured at x200 dilution)",
        "protein concentration of the final product by microBCA on 2026-03-05: 0.2 mg/mL",
    )


def test_particle_protein_ratio_reads_units_in_other_spellings():
    record = batch(
        assays=[
            assay("trps", MARCH_5, particles("2.2e8 particles/µL", unit=None, basis="stock")),
            assay("qubit", MARCH_5, protein("0.2 mg/mL", unit=None)),
        ]
    )

    ratio = particle_protein_ratio(record)

    # 2.2e8/µL = 2.2e11/mL; 0.2 mg/mL = 200 µg/mL; 2.2e11 / 200 = 1.1e9 per µg
    assert ratio is not None
    assert ratio.quantity.canonical_value == pytest.approx(1.1e9)


def test_particle_protein_ratio_uses_the_latest_measurements():
    # given a re-test on March 9 listed before the first test on March 1
    record = batch(
        assays=[
            assay("nta", MARCH_9, particles(4.4e11)),
            assay("nta", MARCH_1, particles(2.2e11)),
            assay("bca", MARCH_1, protein(100)),
            assay("bca", MARCH_9, protein(200)),
        ]
    )

    # when
    ratio = particle_protein_ratio(record)

    # then 4.4e11 / 200 = 2.2e9 (not 2.2e11 / 100)
    assert ratio is not None
    assert ratio.quantity.value == pytest.approx(2.2e9)


def test_the_latest_measurement_is_the_latest_instant_whatever_the_time_zone():
    # 10:00 at +02:00 is 08:00 UTC, earlier than 09:00 UTC
    record = batch(
        assays=[
            assay("nta", "2026-03-05T09:00:00Z", particles(2.2e11)),
            assay("nta", "2026-03-05T10:00:00+02:00", particles(4.4e11)),
            assay("bca", MARCH_5, protein(200)),
        ]
    )

    ratio = particle_protein_ratio(record)

    assert ratio is not None
    assert ratio.quantity.value == pytest.approx(1.1e9)


def test_of_measurements_made_at_the_same_time_the_last_listed_counts():
    record = batch(
        assays=[
            assay("nta", MARCH_5, particles(4.4e11), particles(2.2e11)),
            assay("bca", MARCH_5, protein(200)),
        ]
    )

    ratio = particle_protein_ratio(record)

    assert ratio is not None
    assert ratio.quantity.value == pytest.approx(1.1e9)


def test_particle_protein_ratio_ignores_particles_counted_by_dls():
    # given a later particle concentration from DLS, a bulk method that counts nothing
    # (the record format refuses it, so the method is changed after checking)
    record = batch(
        assays=[
            assay("nta", MARCH_1, particles(2.2e11)),
            assay("nta", MARCH_9, particles(9.9e12)),
            assay("bca", MARCH_1, protein(200)),
        ]
    )
    record.assays[1].method = AssayMethod.DLS

    # when
    ratio = particle_protein_ratio(record)

    # then the NTA count is used
    assert ratio is not None
    assert ratio.quantity.value == pytest.approx(1.1e9)


def test_particle_protein_ratio_ignores_qualified_results():
    # given later results that are bounds ("> 1e12", "< 5 µg/mL"), not values
    record = batch(
        assays=[
            assay("nta", MARCH_1, particles(2.2e11)),
            assay("nta", MARCH_9, particles("> 1e12 particle/mL", unit=None)),
            assay("bca", MARCH_1, protein(200)),
            assay("bca", MARCH_9, protein(5, qualifier="<")),
        ]
    )

    # when
    ratio = particle_protein_ratio(record)

    # then
    assert ratio is not None
    assert ratio.quantity.value == pytest.approx(1.1e9)


def test_particle_protein_ratio_uses_only_the_final_product():
    record = batch(
        production=PRODUCTION,
        isolation_steps=STEPS,
        assays=[
            assay("nta", MARCH_1, particles(2.2e11)),
            assay("nta", MARCH_9, particles(9e9), stage="harvest"),
            assay("nta", MARCH_9, particles(9e10), stage="in_process", step=2),
            assay("bca", MARCH_1, protein(200)),
            assay("bca", MARCH_9, protein(900), stage="in_process", step=1),
        ],
    )

    ratio = particle_protein_ratio(record)

    assert ratio is not None
    assert ratio.quantity.value == pytest.approx(1.1e9)


@pytest.mark.parametrize(
    "assays",
    [
        pytest.param([FINAL_NTA], id="no protein"),
        pytest.param([FINAL_BCA], id="no particles"),
        pytest.param([FINAL_NTA, assay("bca", MARCH_5, protein(0))], id="protein is zero"),
        pytest.param(
            [assay("nta", MARCH_5, particles(2e9), stage="harvest"), FINAL_BCA],
            id="particles only at harvest",
        ),
    ],
)
def test_particle_protein_ratio_is_none_without_both_values(assays):
    record = batch(production=PRODUCTION, assays=assays)

    assert particle_protein_ratio(record) is None


# Totals and yields
# ------------------------------------------------------------------------------


def test_total_particles_is_the_final_concentration_times_the_product_volume():
    total = total_particles(reference())

    # 2.2e11/mL x 5 mL (output of step 2, the last) = 1.1e12 particles
    assert total is not None
    assert total.quantity.value == pytest.approx(1.1e12)
    assert total.quantity.unit == "particle"
    assert total.quantity.kind.name == "particle_count"
    assert total.inputs[1] == (
        "product volume, output volume of step 2 (ultracentrifugation): 5 mL"
    )


def test_total_particles_takes_the_last_step_that_recorded_an_output_volume():
    # given step 3 without an output volume and volumes written in litres
    steps = [
        step(2, "ultracentrifugation", "0.005 L"),
        step(1, "centrifugation", "0.45 L"),
        step(3, "filtration"),
    ]

    # when
    total = total_particles(reference(isolation_steps=steps))

    # then 2.2e11/mL x 5 mL (step 2's 0.005 L) = 1.1e12
    assert total is not None
    assert total.quantity.value == pytest.approx(1.1e12)


@pytest.mark.parametrize(
    ("steps", "assays"),
    [
        pytest.param([], [FINAL_NTA], id="no isolation steps"),
        pytest.param([step(1, "sec")], [FINAL_NTA], id="no output volume"),
        pytest.param(STEPS, [FINAL_BCA], id="no final particle concentration"),
    ],
)
def test_total_particles_is_none_without_a_concentration_and_a_volume(steps, assays):
    record = batch(isolation_steps=steps, assays=assays)

    assert total_particles(record) is None


def test_particles_per_cell_divides_total_particles_by_cells_at_harvest():
    per_cell = particles_per_cell(reference())

    # 1.1e12 particles / 2.2e8 cells = 5000 particles per cell
    assert per_cell is not None
    assert per_cell.quantity.value == pytest.approx(5000)
    assert per_cell.quantity.unit == "particle/cell"
    assert per_cell.inputs[-1] == "cell count at harvest: 2.2e+08 cell"


def test_particles_per_harvest_ml_divides_total_particles_by_the_harvest_volume():
    per_ml = particles_per_harvest_ml(reference(production={"harvest_volume": "0.5 L"}))

    # 1.1e12 particles / 500 mL (0.5 L) = 2.2e9 particles per mL harvested
    assert per_ml is not None
    assert per_ml.quantity.canonical_value == pytest.approx(2.2e9)
    assert per_ml.quantity.unit == "particle/mL"
    assert per_ml.inputs[-1] == "harvest volume: 0.5 L"


@pytest.mark.parametrize(
    "production",
    [
        pytest.param(None, id="no production"),
        pytest.param({"harvest_volume": "500 mL"}, id="no cell count"),
        pytest.param({"cell_count_at_harvest": "0 cell"}, id="no cells"),
    ],
)
def test_particles_per_cell_is_none_without_a_cell_count(production):
    assert particles_per_cell(reference(production=production)) is None


@pytest.mark.parametrize(
    "production",
    [
        pytest.param(None, id="no production"),
        pytest.param({"cell_count_at_harvest": "2.2e8 cell"}, id="no harvest volume"),
        pytest.param({"harvest_volume": "0 mL"}, id="zero harvest volume"),
    ],
)
def test_particles_per_harvest_ml_is_none_without_a_harvest_volume(production):
    assert particles_per_harvest_ml(reference(production=production)) is None


def test_yields_are_none_without_total_particles():
    record = reference(assays=[FINAL_BCA])

    assert particles_per_cell(record) is None
    assert particles_per_harvest_ml(record) is None


# Recovery per isolation step
# ------------------------------------------------------------------------------

# Harvest 2e9/mL x 500 mL = 1e12 particles.
# Step 1 (centrifugation) leaves 2e9/mL x 450 mL = 9e11: 9e11 / 1e12 = 90 %.
# Step 2 (ultracentrifugation) leaves 4.5e10/mL x 10 mL = 4.5e11: 4.5e11 / 9e11 = 50 %.
# Step 3 (SEC) leaves the final 6.3e10/mL x 5 mL = 3.15e11: 3.15e11 / 4.5e11 = 70 %.
PROCESS_STEPS = [
    step(1, "centrifugation", "450 mL"),
    step(2, "ultracentrifugation", "10 mL"),
    step(3, "sec", "5 mL"),
]
HARVEST_NTA = assay("nta", MARCH_1, particles(2e9), stage="harvest")
AFTER_1 = assay("nta", MARCH_2, particles(2e9), stage="in_process", step=1)
AFTER_2 = assay(
    "nta", MARCH_2, particles(2.25e8, basis="measured"), stage="in_process", step=2, dilution=200
)
FINAL = assay("nta", MARCH_5, particles(6.3e10))


def process(assays, steps=PROCESS_STEPS, **parts) -> BatchRecord:
    return batch(
        **{"production": {"harvest_volume": "500 mL"}, "isolation_steps": steps, "assays": assays}
        | parts
    )


def percentages(recoveries):
    return [None if r.recovery is None else r.recovery.quantity.value for r in recoveries]


def test_each_step_recovers_the_particles_after_it_over_those_entering_it():
    recoveries = step_recoveries(process([HARVEST_NTA, AFTER_1, AFTER_2, FINAL]))

    assert [r.order for r in recoveries] == [1, 2, 3]
    assert [r.method for r in recoveries] == [
        IsolationMethod.CENTRIFUGATION,
        IsolationMethod.ULTRACENTRIFUGATION,
        IsolationMethod.SEC,
    ]
    assert percentages(recoveries) == [
        pytest.approx(90),
        pytest.approx(50),
        pytest.approx(70),
    ]
    assert all(r.missing == "" for r in recoveries)
    assert recoveries[0].recovery.quantity.unit == "%"
    assert recoveries[0].recovery.quantity.kind.name == "relative_percentage"
    assert recoveries[0].particles_in.quantity.value == pytest.approx(1e12)
    assert recoveries[1].particles_in == recoveries[0].particles_out


def test_a_step_recovery_names_every_input():
    recoveries = step_recoveries(process([HARVEST_NTA, AFTER_1, AFTER_2, FINAL]))

    assert recoveries[1].recovery.inputs == (
        "particle concentration of the sample after step 1 by NTA on 2026-03-02: "
        "2e+09 particle/mL",
        "output volume of step 1 (centrifugation): 450 mL",
        "particle concentration of the sample after step 2 by NTA on 2026-03-02: "
        "4.5e+10 particle/mL (stock: 2.25e+08 particle/mL measured at x200 dilution)",
        "output volume of step 2 (ultracentrifugation): 10 mL",
    )


def test_a_recovery_above_100_percent_is_not_clamped():
    # 2.4e9/mL x 450 mL = 1.08e12 after step 1; 1.08e12 / 1e12 = 108 %
    after_1 = assay("nta", MARCH_2, particles(2.4e9), stage="in_process", step=1)

    recoveries = step_recoveries(process([HARVEST_NTA, after_1], steps=PROCESS_STEPS[:1]))

    assert percentages(recoveries) == [pytest.approx(108)]


def test_a_step_without_a_measurement_after_it_says_so_and_stops_the_next_one():
    recoveries = step_recoveries(process([HARVEST_NTA, AFTER_1, FINAL]))

    assert percentages(recoveries) == [pytest.approx(90), None, None]
    assert recoveries[1].missing == "no particle concentration measured after step 2"
    assert recoveries[2].missing == "no particle concentration measured after step 2"
    assert recoveries[1].particles_out is None
    assert recoveries[2].particles_out.quantity.value == pytest.approx(3.15e11)


def test_a_step_without_an_output_volume_says_so_and_stops_the_next_one():
    steps = [step(1, "centrifugation"), *PROCESS_STEPS[1:]]

    recoveries = step_recoveries(process([HARVEST_NTA, AFTER_1, AFTER_2, FINAL], steps=steps))

    assert percentages(recoveries) == [None, None, pytest.approx(70)]
    assert recoveries[0].missing == "step 1 has no output volume"
    assert recoveries[1].missing == "step 1 has no output volume"
    assert recoveries[2].missing == ""


def test_the_first_step_needs_the_harvest_count_and_volume():
    recoveries = step_recoveries(process([AFTER_1, AFTER_2, FINAL], production=None))

    assert percentages(recoveries) == [None, pytest.approx(50), pytest.approx(70)]
    assert (
        recoveries[0].missing == "no particle concentration measured at harvest; no harvest volume"
    )
    assert recoveries[0].particles_in is None


def test_the_last_step_prefers_an_in_process_sample_to_the_final_product():
    # 5e10/mL x 5 mL = 2.5e11 after step 3: 2.5e11 / 4.5e11 = 55.6 %
    after_3 = assay("nta", MARCH_2, particles(5e10), stage="in_process", step=3)

    recoveries = step_recoveries(process([HARVEST_NTA, AFTER_1, AFTER_2, after_3, FINAL]))

    assert recoveries[2].recovery.quantity.value == pytest.approx(2.5e11 / 4.5e11 * 100)


def test_the_last_step_says_when_neither_a_sample_after_it_nor_the_product_was_measured():
    recoveries = step_recoveries(process([HARVEST_NTA, AFTER_1, AFTER_2]))

    assert recoveries[2].recovery is None
    assert recoveries[2].missing == (
        "no particle concentration measured after step 3 or on the final product"
    )


def test_a_biofluid_recovery_starts_from_the_collection_volume():
    # 2e9/mL x 10 mL plasma = 2e10 particles; the final 2e9/mL x 1 mL = 2e9: 10 %
    record = batch(
        source={"kind": "biofluid", "material": "plasma", "collection_volume": "10 mL"},
        isolation_steps=[step(1, "sec", "1 mL")],
        assays=[HARVEST_NTA, assay("nta", MARCH_5, particles(2e9))],
    )

    (recovery,) = step_recoveries(record)

    assert recovery.recovery.quantity.value == pytest.approx(10)
    assert "collection volume of the biofluid: 10 mL" in recovery.recovery.inputs


def test_a_biofluid_without_a_collection_volume_says_so():
    record = batch(
        source={"kind": "biofluid", "material": "plasma"},
        isolation_steps=[step(1, "sec", "1 mL")],
        assays=[HARVEST_NTA, assay("nta", MARCH_5, particles(2e9))],
    )

    (recovery,) = step_recoveries(record)

    assert recovery.recovery is None
    assert recovery.missing == "no collection volume"


def test_no_recovery_is_computed_from_zero_particles_entering():
    harvest = assay("nta", MARCH_1, particles(0), stage="harvest")

    recoveries = step_recoveries(process([harvest, AFTER_1], steps=PROCESS_STEPS[:1]))

    assert recoveries[0].recovery is None
    assert recoveries[0].missing == "no particles counted entering step 1"


def test_a_record_without_isolation_steps_has_no_recoveries():
    assert step_recoveries(process([HARVEST_NTA, FINAL], steps=[])) == []


# Pelleting dose
# ------------------------------------------------------------------------------


def test_pelleting_dose_is_g_force_times_duration_for_each_spin_step():
    steps = [
        step(1, "centrifugation", g_force="2,000 x g", duration="20 min"),
        step(2, "ultracentrifugation", g_force="100000 xg", duration="1.5 h"),
        step(3, "density_gradient", g_force="100000 xg"),
        step(4, "sec"),
    ]

    doses = pelleting_doses(batch(isolation_steps=steps))

    # 2000 xg x 20 min = 40,000 xg·min; 100,000 xg x 90 min = 9e6 xg·min; step 3 has no
    # duration and step 4 does not spin
    assert doses == {1: pytest.approx(40_000), 2: pytest.approx(9e6)}


# Everything at once
# ------------------------------------------------------------------------------


def test_derived_values_gathers_every_derived_value():
    record = process(
        [HARVEST_NTA, AFTER_1, AFTER_2, FINAL, FINAL_BCA],
        production={"harvest_volume": "500 mL", "cell_count_at_harvest": "1e8 cell"},
    )

    values = derived_values(record)

    # 6.3e10/mL / 200 µg/mL = 3.15e8 per µg; 6.3e10 x 5 mL = 3.15e11 particles;
    # / 1e8 cells = 3150 per cell; / 500 mL = 6.3e8 per mL harvested
    assert isinstance(values, DerivedValues)
    assert values.particle_protein_ratio.quantity.value == pytest.approx(3.15e8)
    assert values.total_particles.quantity.value == pytest.approx(3.15e11)
    assert values.particles_per_cell.quantity.value == pytest.approx(3150)
    assert values.particles_per_harvest_ml.quantity.value == pytest.approx(6.3e8)
    assert values.step_recoveries == tuple(step_recoveries(record))
    assert values.pelleting_doses == {}


def test_derived_values_cannot_be_changed():
    values = derived_values(reference())

    with pytest.raises(FrozenInstanceError):
        values.total_particles = None
    with pytest.raises(TypeError):
        values.pelleting_doses[1] = 1.0
    with pytest.raises(FrozenInstanceError):
        values.total_particles.inputs = ()


def test_overall_recovery_is_product_particles_over_harvest_particles_without_step_samples():
    # harvest: 2e9/mL x 1,000 mL = 2e12 particles; product: 2e11/mL x 5 mL = 1e12 particles
    # -> 50 % recovered, though no sample was taken between the steps.
    record = parse_batch_record(
        {
            "schema": "evqc.batch-record/1",
            "lot_number": "T-1",
            "product": {"code": "P", "name": "P"},
            "source": {"kind": "cell_culture", "name": "MSC"},
            "production": {"harvest_volume": "1 L"},
            "isolation_steps": [
                {"order": 1, "method": "tff", "output_volume": "50 mL"},
                {"order": 2, "method": "sec", "output_volume": "5 mL"},
            ],
            "assays": [
                {
                    "method": "nta",
                    "performed_at": "2026-03-01T10:00:00Z",
                    "sample_stage": "harvest",
                    "results": [{"attribute": "particle_concentration", "value": "2e9 /mL"}],
                },
                {
                    "method": "nta",
                    "performed_at": "2026-03-02T10:00:00Z",
                    "results": [{"attribute": "particle_concentration", "value": "2e11 /mL"}],
                },
            ],
        }
    )

    recovery = overall_recovery(record)

    assert recovery is not None
    assert recovery.quantity.canonical_value == pytest.approx(50.0)
    assert derived_values(record).overall_recovery == recovery
    assert all(step.recovery is None for step in step_recoveries(record))
