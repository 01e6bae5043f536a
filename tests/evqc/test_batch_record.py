import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest

from evqc.batch_record import (
    BASIS_ONLY_DILUTES,
    BINS_LENGTHS,
    BINS_NEGATIVE,
    BINS_NOT_INCREASING,
    CLEARER_MESSAGES,
    DUPLICATE_EXCEPTION,
    DUPLICATE_ORDER,
    DUPLICATE_PARENT,
    ENDS_BEFORE_START,
    FORMS,
    IN_PROCESS_NEEDS_STEP,
    MAX_RESULTS_PER_ASSAY,
    MEASURED_NEEDS_DILUTION,
    NEEDS_BASIS,
    NO_IMAGES,
    NO_MARKERS,
    NO_SUCH_ALIQUOT,
    NO_SUCH_STEP,
    NOT_AN_OBJECT,
    NOT_REPORTED_BY,
    NUL,
    ONLY_CELL_CULTURE,
    OWN_PARENT,
    SCHEMA,
    SETTING_KINDS,
    STEP_ONLY_IN_PROCESS,
    UNKNOWN_OUTCOME,
    UNKNOWN_SETTING_WITH_UNIT,
    VALUE_HAS_ITS_OWN_UNIT,
    BatchRecordError,
    batch_record_json,
    batch_record_schema,
    parse_batch_record,
)
from evqc.units import QuantityValue
from evqc.vocabulary import ResultBasis, SourceKind

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "batch-record.schema.json"
WRITE_SCHEMA = (
    'python -c "from pathlib import Path; from evqc.batch_record import write_json_schema; '
    "write_json_schema(Path('docs/batch-record.schema.json'))\""
)

MARCH_1 = "2026-03-01T09:00:00+01:00"
MARCH_3 = "2026-03-03T09:00:00+01:00"
MARCH_5 = "2026-03-05T10:00:00+01:00"


# Documents
# ------------------------------------------------------------------------------

MINIMAL = {
    "schema": "evqc.batch-record/1",
    "lot_number": "UCMSC-EV-2026-014",
    "product": {"code": "UCMSC-EV", "name": "Umbilical-cord MSC EVs"},
}


def document(**keys):
    """The minimal document with `keys` added or replaced."""
    return {**copy.deepcopy(MINIMAL), **keys}


def assay(method, **keys):
    return {"method": method, "performed_at": MARCH_5, **keys}


def result(attribute, value, unit=None, **keys):
    given = {"attribute": attribute, "value": value, **keys}
    return given if unit is None else {**given, "unit": unit}


def step(order, method, **parameters):
    return {"order": order, "method": method, "parameters": parameters}


def bins(centres, values):
    return {
        "bin_quantity": "concentration_density",
        "value_unit": "particle/mL/nm",
        "bin_centres": centres,
        "bin_values": values,
    }


def refusals(given):
    """The refusals of a document, by JSON path."""
    with pytest.raises(BatchRecordError) as caught:
        parse_batch_record(given)
    return caught.value.fields


def only(path, message, code):
    """The refusals of a document with one problem."""
    return {path: [{"message": message, "code": code}]}


def complete(**keys):
    """A realistic record of a cell-culture UC-MSC batch, with `keys` replaced."""
    return {
        **copy.deepcopy(MINIMAL),
        "status": "in_qc",
        "preparation_term": "sev",
        "description": "Small EVs from umbilical-cord MSC conditioned medium, lot 14",
        "source": {
            "kind": "cell_culture",
            "name": "UC-MSC donor 7 MCB",
            "species": "Homo sapiens",
            "cell_type": "mesenchymal stromal cell",
            "tissue": "umbilical cord (Wharton's jelly)",
            "donor": "D7",
            "authentication_method": "STR profiling",
            "authenticated_on": "2026-01-12",
            "mycoplasma_status": "negative",
            "mycoplasma_method": "qPCR",
            "mycoplasma_tested_on": "2026-02-20",
        },
        "production": {
            "vessel_type": "multilayer",
            "vessel": "CellSTACK 5",
            "surface_area": "3180 cm²",
            "base_medium": "alpha-MEM",
            "supplement_type": "ev_depleted_hpl",
            "supplement_concentration": "5 %",
            "ev_depletion_method": "ultracentrifugation",
            "ev_depletion_g_force": "120,000 x g",
            "ev_depletion_duration": "18 h",
            "passage_number": "4",
            "seeding_density": "4000 cell/cm²",
            "confluence_at_harvest": "85 %",
            "cell_count_at_harvest": "2.2e8 cell",
            "viability_at_harvest": "96 %",
            "viability_method": "trypan blue",
            "temperature": "37 °C",
            "o2": "21 %",
            "co2": "5 %",
            "conditioning_started_at": MARCH_1,
            "conditioning_ended_at": MARCH_3,
            "harvest_volume": "2 L",
            "harvest_hold_duration": "2 h",
            "harvest_hold_temperature": "4 °C",
        },
        "isolation_steps": [
            {
                **step(1, "centrifugation", g_force="2000 x g", duration="20 min", brake="on"),
                "purpose": "pre_processing",
                "input_volume": "2 L",
                "output_volume": "1950 mL",
            },
            {
                **step(
                    2,
                    "ultracentrifugation",
                    g_force="100,000 x g",
                    g_force_type="average",
                    duration="70 min",
                    temperature="4 °C",
                    rotor="Type 45 Ti",
                    k_factor="133",
                    washes="1",
                    resuspension_volume="3 mL",
                    resuspension_buffer="PBS",
                ),
                "performed_at": "2026-03-03T14:00:00+01:00",
                "input_volume": "1950 mL",
                "output_volume": "3 mL",
            },
            {
                **step(
                    3,
                    "sec",
                    resin="Sepharose CL-2B",
                    column="qEVoriginal 70 nm",
                    load_volume="0.5 mL",
                    fraction_volume="0.5 mL",
                    fractions_pooled="7-9",
                    elution_buffer="PBS",
                ),
                "purpose": "buffer_exchange",
                "output_volume": "5 mL",
            },
        ],
        "storage": {
            "temperature": "-80 °C",
            "buffer": "PBS with 0.1 % human serum albumin",
            "container": "low-binding cryovial",
            "fill_volume": "100 µL",
            "stored_at": "2026-03-04T11:00:00+01:00",
        },
        "aliquots": [
            {"label": "A01", "volume": "100 µL", "location": "Freezer 2, rack 3"},
            {"label": "A02", "volume": "100 µL", "status": "used"},
        ],
        "assays": [
            assay(
                "nta",
                instrument="NanoSight NS300",
                operator="ana",
                aliquot="A02",
                dilution_factor="200",
                software_version="NTA 3.4",
                settings={"camera_level": 14, "temperature": "25 °C", "video_count": 5},
                results=[
                    result(
                        "particle_concentration",
                        1.1e9,
                        "particle/mL",
                        basis="measured",
                        sd=4e7,
                        n=5,
                    ),
                    result("size_mode", 112.4, "nm", sd=3.1, n=5),
                    result("size_mean", "131.2 nm"),
                ],
                size_distributions=[
                    {**bins([50, 100, 150, 200], [1e6, 8e6, 4e6, 5e5]), "basis": "measured"}
                ],
            ),
            assay(
                "microbca",
                aliquot="A02",
                lysis_buffer="RIPA",
                results=[result("protein_concentration", 0.21, "mg/mL")],
            ),
            assay(
                "western_blot",
                lysis_buffer="RIPA",
                reducing=False,
                markers=[
                    {
                        "protein": "CD63",
                        "detected": True,
                        "antibody_vendor": "Abcam",
                        "antibody_catalogue_number": "ab217345",
                        "antibody_clone": "EPR21151",
                        "antibody_dilution": "1:1000",
                        "load_protein": "10 µg",
                    },
                    {"protein": "TSG101", "detected": True, "antibody_dilution": "1:1000"},
                    {"protein": "CANX", "detected": False, "antibody_dilution": "1:1000"},
                ],
            ),
            assay(
                "tem",
                settings={"acceleration_voltage": "80 kV", "stain": "uranyl acetate"},
                images=[
                    {"technique": "tem", "field": "wide", "scale_bar": "500 nm"},
                    {"technique": "tem", "field": "close_up", "scale_bar": "100 nm"},
                ],
            ),
            assay("lal_endotoxin", results=[result("endotoxin", "< 0.05 EU/mL")]),
            assay("sterility", results=[result("sterility", "no_growth")]),
        ],
        "exceptions": [
            {
                "rule": "M18-MRK-02",
                "justification": "HSP70 blot failed; repeated under CAPA-17.",
            }
        ],
        **keys,
    }


# Accepted documents
# ------------------------------------------------------------------------------


def test_a_minimal_document_parses_and_is_written_with_its_status():
    record = parse_batch_record(document())

    assert batch_record_json(record) == {**MINIMAL, "status": "planned"}


def test_a_complete_cell_culture_record_parses():
    # when
    record = parse_batch_record(complete())

    # then
    nta, microbca, western_blot, tem, lal, sterility = record.assays
    ultracentrifugation = record.isolation_steps[1].parameters
    assert record.source_kind == SourceKind.CELL_CULTURE
    assert [s.method for s in record.isolation_steps] == [
        "centrifugation",
        "ultracentrifugation",
        "sec",
    ]
    assert ultracentrifugation.rotor == "Type 45 Ti"
    assert ultracentrifugation.k_factor.value == 133.0
    assert nta.dilution_factor.value == 200.0
    assert nta.results[0].basis == ResultBasis.MEASURED
    assert str(microbca.results[0].quantity) == "0.21 mg/mL"
    assert [m.protein for m in western_blot.markers if m.detected] == ["CD63", "TSG101"]
    assert [image.field for image in tem.images] == ["wide", "close_up"]
    assert (lal.results[0].qualifier, str(lal.results[0].quantity)) == ("<", "0.05 EU/mL")
    assert sterility.results[0].outcome == "no_growth"
    assert record.exceptions[0].rule == "M18-MRK-02"


def test_a_written_record_parses_back_to_the_same_document():
    # given
    written = batch_record_json(parse_batch_record(complete()))

    # when: the document travels as JSON text, as it does between systems
    again = batch_record_json(parse_batch_record(json.loads(json.dumps(written))))

    # then
    assert again == written
    assert written["schema"] == SCHEMA


def test_a_g_force_written_with_thousands_and_x_g_is_stored_in_xg():
    record = parse_batch_record(
        document(isolation_steps=[step(1, "ultracentrifugation", g_force="100,000 x g")])
    )

    g_force = record.isolation_steps[0].parameters.g_force
    assert (g_force.value, g_force.unit, g_force.reported) == (100000.0, "xg", "100,000 x g")


def test_a_harvest_volume_in_litres_is_written_with_its_canonical_millilitres():
    record = parse_batch_record(document(production={"harvest_volume": "2 L"}))

    assert batch_record_json(record)["production"]["harvest_volume"] == {
        "value": 2.0,
        "unit": "L",
        "canonical_value": 2000.0,
        "canonical_unit": "mL",
        "reported_text": "2 L",
    }


def test_a_reported_text_given_in_a_quantity_object_is_kept():
    given = {"value": 2, "unit": "L", "reported_text": "2 litres (2 x 1 L bottles)"}

    record = parse_batch_record(document(production={"harvest_volume": given}))

    assert record.production.harvest_volume.reported == "2 litres (2 x 1 L bottles)"
    assert record.production.harvest_volume.canonical_value == 2000.0


def test_a_reported_text_given_with_a_result_is_kept():
    given = result("particle_concentration", 1.1e9, "particle/mL", reported_text="1.1E+09 p/ml")

    record = parse_batch_record(document(assays=[assay("nta", results=[given])]))

    written = batch_record_json(record)["assays"][0]["results"][0]
    assert written["reported_text"] == "1.1E+09 p/ml"
    assert (written["value"], written["unit"]) == (1.1e9, "particle/mL")


def test_a_value_below_the_limit_of_quantification_keeps_its_qualifier_and_text():
    record = parse_batch_record(
        document(assays=[assay("lal_endotoxin", results=[result("endotoxin", "< 0.05 EU/mL")])])
    )

    assert batch_record_json(record)["assays"][0]["results"] == [
        {
            "attribute": "endotoxin",
            "value": 0.05,
            "unit": "EU/mL",
            "reported_text": "< 0.05 EU/mL",
            "qualifier": "<",
        }
    ]


def test_a_known_instrument_setting_becomes_a_quantity_and_others_stay_as_given():
    # given
    settings = {"temperature": "25 °C", "camera_level": 14, "filter": "none", "flow": True}

    # when
    record = parse_batch_record(document(assays=[assay("nta", settings=settings)]))

    # then
    read = record.assays[0].settings
    assert isinstance(read["temperature"], QuantityValue)
    assert (read["temperature"].value, read["temperature"].unit) == (25.0, "°C")
    assert (read["filter"], read["flow"]) == ("none", True)
    written = batch_record_json(record)["assays"][0]["settings"]
    assert written["temperature"]["canonical_unit"] == "°C"
    assert written["camera_level"]["value"] == 14.0


def test_a_diluting_result_without_basis_is_accepted_when_the_sample_was_not_diluted():
    given = result("particle_concentration", 2.2e11, "particle/mL")

    record = parse_batch_record(document(assays=[assay("nta", results=[given])]))

    assert record.assays[0].results[0].basis is None


# Quantities that are refused
# ------------------------------------------------------------------------------


def test_a_size_given_in_millilitres_is_refused():
    given = document(assays=[assay("nta", results=[result("size_mode", "120 mL")])])

    assert refusals(given) == only(
        "assays[0].results[0].value",
        '"120 mL" is a volume; expected a size (length) such as "120 nm".',
        "wrong_dimension",
    )


def test_times_are_kept_in_utc_whatever_offset_they_were_sent_with():
    given = document(assays=[assay("nta", performed_at="2026-03-09T10:00:00+16:00")])

    performed_at = parse_batch_record(given).assays[0].performed_at

    assert performed_at == datetime(2026, 3, 8, 18, 0, tzinfo=UTC)
    assert performed_at.utcoffset() == timedelta(0)


def test_a_time_before_the_calendar_once_in_utc_is_refused():
    given = document(assays=[assay("nta", performed_at="0001-01-01T00:00:00+01:00")])

    assert refusals(given) == only(
        "assays[0].performed_at",
        "is outside the years 1 to 9999 once converted to UTC",
        "datetime_out_of_range",
    )


def test_text_with_a_nul_character_is_refused_where_it_is():
    given = document(assays=[assay("nta", operator="A\x00"), assay("dls", notes="ok")])
    given["description"] = "\x00"

    assert refusals(given) == {
        "description": [{"message": NUL, "code": "nul_character"}],
        "assays[0].operator": [{"message": NUL, "code": "nul_character"}],
    }


def test_a_negative_concentration_is_refused():
    given = document(
        assays=[assay("nta", results=[result("particle_concentration", "-2e11 particle/mL")])]
    )

    assert refusals(given) == only(
        "assays[0].results[0].value",
        '"-2e11 particle/mL" is below 0 particle/mL, the lowest possible particle '
        'concentration; expected a particle concentration (number per volume) such as "2.1e11 '
        'particle/mL".',
        "out_of_range",
    )


def test_a_viability_above_100_percent_is_refused():
    given = document(production={"viability_at_harvest": "101 %"})

    assert refusals(given) == only(
        "production.viability_at_harvest",
        '"101 %" is above 100 %, the highest possible percentage; expected a percentage '
        '(pure number) such as "95 %".',
        "out_of_range",
    )


def test_a_rotor_speed_given_for_a_g_force_is_refused_with_the_conversion():
    given = document(isolation_steps=[step(1, "ultracentrifugation", g_force="4000 rpm")])

    assert refusals(given) == only(
        "isolation_steps[0].parameters.g_force",
        '"4000 rpm" is a rotor speed; ×g needs the rotor radius (RCF = 1.118e-5 × radius in '
        'cm × rpm²); expected a g-force (acceleration) such as "100000 x g".',
        "wrong_dimension",
    )


def test_a_result_that_gives_its_unit_twice_is_refused():
    given = result("particle_concentration", "2e11 /mL", "particle/mL")

    assert refusals(document(assays=[assay("nta", results=[given])])) == only(
        "assays[0].results[0].unit",
        VALUE_HAS_ITS_OWN_UNIT.format(value="2e11 /mL"),
        "unit_twice",
    )


# Times that are refused
# ------------------------------------------------------------------------------


def test_an_assay_time_without_a_time_zone_is_refused_with_an_example():
    given = document(assays=[assay("nta", performed_at="2026-03-05T10:00:00")])

    assert refusals(given) == only(
        "assays[0].performed_at", CLEARER_MESSAGES["timezone_aware"], "timezone_aware"
    )
    assert CLEARER_MESSAGES["timezone_aware"].startswith("needs a time zone, ")


def test_a_conditioning_that_ends_before_it_starts_is_refused():
    given = document(
        production={
            "conditioning_started_at": "2026-03-05T10:00:00Z",
            "conditioning_ended_at": "2026-03-01T10:00:00Z",
        }
    )

    assert refusals(given) == only(
        "production.conditioning_ended_at",
        ENDS_BEFORE_START.format(
            start="conditioning_started_at", start_value="2026-03-05T10:00:00+00:00"
        ),
        "ends_before_start",
    )


# Isolation steps that are refused
# ------------------------------------------------------------------------------


def test_an_unknown_parameter_is_refused_at_its_path_without_the_method_tag():
    given = document(isolation_steps=[step(1, "ultracentrifugation", gforce="100000 x g")])

    assert refusals(given) == only(
        "isolation_steps[0].parameters.gforce",
        CLEARER_MESSAGES["extra_forbidden"],
        "extra_forbidden",
    )


def test_two_isolation_steps_with_the_same_order_are_refused_at_the_second():
    given = document(isolation_steps=[step(1, "centrifugation"), step(1, "sec")])

    assert refusals(given) == only(
        "isolation_steps[1].order", DUPLICATE_ORDER.format(order=1), "duplicate"
    )


# Assays and results that are refused
# ------------------------------------------------------------------------------


def test_an_attribute_the_method_cannot_report_is_refused():
    given = result("protein_concentration", 0.2, "mg/mL")

    assert refusals(document(assays=[assay("nta", results=[given])])) == only(
        "assays[0].results[0].attribute",
        NOT_REPORTED_BY.format(
            method="nta",
            attribute="protein_concentration",
            reported="particle_concentration, size_d10, size_d50, size_d90, size_mean, "
            "size_mode, size_sd, size_within_range, zeta_potential",
        ),
        "not_reported",
    )


def test_markers_on_an_nta_run_are_refused():
    given = document(assays=[assay("nta", markers=[{"protein": "CD63", "detected": True}])])

    assert refusals(given) == only(
        "assays[0].markers",
        NO_MARKERS.format(method="nta", methods="nano_flow, western_blot, elisa, mass_spec"),
        "no_markers",
    )


def test_images_on_a_bca_run_are_refused():
    given = document(assays=[assay("bca", images=[{"technique": "tem", "field": "wide"}])])

    assert refusals(given) == only(
        "assays[0].images",
        NO_IMAGES.format(method="bca", methods="tem, cryo_em, afm"),
        "no_images",
    )


def test_a_diluting_result_without_basis_is_refused_when_the_assay_was_diluted():
    given = assay(
        "nta",
        dilution_factor=200,
        results=[result("particle_concentration", 1.1e9, "particle/mL")],
    )

    assert refusals(document(assays=[given])) == only(
        "assays[0].results[0].basis",
        NEEDS_BASIS.format(dilution=200, attribute="particle concentration"),
        "missing_basis",
    )


def test_a_measured_result_is_refused_when_the_assay_has_no_dilution_factor():
    given = result("particle_concentration", 1.1e9, "particle/mL", basis="measured")

    assert refusals(document(assays=[assay("nta", results=[given])])) == only(
        "assays[0].results[0].basis",
        MEASURED_NEEDS_DILUTION.format(attribute="particle concentration"),
        "missing_dilution",
    )


def test_a_basis_on_an_attribute_that_does_not_dilute_is_refused():
    given = assay(
        "nta", dilution_factor=200, results=[result("size_mode", 112, "nm", basis="measured")]
    )

    assert refusals(document(assays=[given])) == only(
        "assays[0].results[0].basis", BASIS_ONLY_DILUTES.format(attribute="size_mode"), "no_basis"
    )


def test_a_qualitative_outcome_that_the_attribute_does_not_have_is_refused():
    given = document(assays=[assay("sterility", results=[result("sterility", "sterile")])])

    assert refusals(given) == only(
        "assays[0].results[0].value",
        UNKNOWN_OUTCOME.format(
            outcome="sterile", attribute="sterility", outcomes="no_growth, growth"
        ),
        "unknown_outcome",
    )


def test_an_in_process_assay_naming_a_missing_step_is_refused():
    given = document(
        isolation_steps=[step(1, "centrifugation")],
        assays=[assay("nta", sample_stage="in_process", isolation_step=3)],
    )

    assert refusals(given) == only(
        "assays[0].isolation_step", NO_SUCH_STEP.format(order=3), "no_such_step"
    )


def test_an_assay_naming_a_missing_aliquot_is_refused():
    given = document(aliquots=[{"label": "A01"}], assays=[assay("nta", aliquot="A09")])

    assert refusals(given) == only(
        "assays[0].aliquot", NO_SUCH_ALIQUOT.format(label="A09"), "no_such_aliquot"
    )


def test_an_in_process_assay_without_its_isolation_step_is_refused():
    given = document(assays=[assay("nta", sample_stage="in_process")])

    fields = refusals(given)

    assert list(fields) == ["assays[0].isolation_step"]
    assert fields["assays[0].isolation_step"][0]["code"] == "missing_step"


def test_an_in_process_assay_without_its_isolation_step_is_told_why():
    given = document(assays=[assay("nta", sample_stage="in_process")])

    assert refusals(given)["assays[0].isolation_step"][0]["message"] == IN_PROCESS_NEEDS_STEP


def test_a_final_sample_that_names_an_isolation_step_is_refused():
    given = document(
        isolation_steps=[step(1, "centrifugation")], assays=[assay("nta", isolation_step=1)]
    )

    assert refusals(given) == only("assays[0].sample_stage", STEP_ONLY_IN_PROCESS, "stage")


def test_too_many_results_in_one_assay_are_refused():
    results = [result("sterility", "no_growth")] * (MAX_RESULTS_PER_ASSAY + 1)

    assert refusals(document(assays=[assay("sterility", results=results)])) == only(
        "assays[0].results",
        "has too many items: at most 10000 are accepted",
        "too_long",
    )


# Instrument settings that are refused
# ------------------------------------------------------------------------------


def test_an_unknown_setting_given_with_a_unit_is_refused():
    given = document(assays=[assay("nta", settings={"frame_rate": {"value": 30, "unit": "1/s"}})])

    assert refusals(given) == only(
        "assays[0].settings.frame_rate",
        UNKNOWN_SETTING_WITH_UNIT.format(
            name="frame_rate", known=", ".join(sorted(SETTING_KINDS))
        ),
        "unknown_setting",
    )


# Size distributions that are refused
# ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("centres", "values", "path", "message", "code"),
    [
        (
            [50, 60, 70],
            [1, 2],
            "bin_values",
            BINS_LENGTHS.format(centres=3, values=2),
            "length_mismatch",
        ),
        (
            [50, 70, 60],
            [1, 2, 3],
            "bin_centres[2]",
            BINS_NOT_INCREASING.format(index=2),
            "not_increasing",
        ),
        ([50, 60, 70], [1, -2, 3], "bin_values[1]", BINS_NEGATIVE.format(index=1), "negative"),
    ],
    ids=["lengths differ", "centres decrease", "negative value"],
)
def test_a_size_distribution_with_bad_bins_is_refused_at_the_bin(
    centres, values, path, message, code
):
    given = document(assays=[assay("nta", size_distributions=[bins(centres, values)])])

    assert refusals(given) == only(f"assays[0].size_distributions[0].{path}", message, code)


# Records that are refused as a whole
# ------------------------------------------------------------------------------


def test_a_production_run_on_a_biofluid_batch_is_refused():
    given = document(
        source={"kind": "biofluid", "material": "plasma"}, production={"harvest_volume": "2 L"}
    )

    assert refusals(given) == only(
        "production", ONLY_CELL_CULTURE.format(kind="biofluid"), "not_cell_culture"
    )


def test_a_batch_named_as_its_own_parent_is_refused():
    given = document(parents=[{"lot_number": MINIMAL["lot_number"], "relation": "split"}])

    assert refusals(given) == only("parents[0].lot_number", OWN_PARENT, "own_parent")


def test_a_parent_named_twice_is_refused_at_the_second():
    parent = {"lot_number": "UCMSC-EV-2026-010", "relation": "pooled"}

    assert refusals(document(parents=[parent, parent])) == only(
        "parents[1].lot_number", DUPLICATE_PARENT.format(lot="UCMSC-EV-2026-010"), "duplicate"
    )


def test_two_exceptions_to_the_same_rule_are_refused_at_the_second():
    exception = {"rule": "M18-MRK-02", "justification": "HSP70 blot failed."}

    assert refusals(document(exceptions=[exception, exception])) == only(
        "exceptions[1].rule", DUPLICATE_EXCEPTION.format(rule="M18-MRK-02"), "duplicate"
    )


def test_a_malformed_rule_id_is_refused():
    given = document(exceptions=[{"rule": "m18 mrk 2", "justification": "HSP70 blot failed."}])

    fields = refusals(given)

    assert list(fields) == ["exceptions[0].rule"]
    assert fields["exceptions[0].rule"][0]["code"] == "string_pattern_mismatch"


def test_a_malformed_rule_id_is_refused_with_the_form_a_rule_id_has():
    given = document(exceptions=[{"rule": "m18 mrk 2", "justification": "HSP70 blot failed."}])

    message = refusals(given)["exceptions[0].rule"][0]["message"]

    assert message == FORMS["rule"]


def test_an_unknown_top_level_key_is_refused():
    given = document(lot="UCMSC-EV-2026-014")

    assert refusals(given) == only("lot", CLEARER_MESSAGES["extra_forbidden"], "extra_forbidden")


@pytest.mark.parametrize("given", [[], "{}", None, 14], ids=["list", "text", "null", "number"])
def test_a_document_that_is_not_an_object_is_refused(given):
    with pytest.raises(BatchRecordError) as caught:
        parse_batch_record(given)

    assert caught.value.fields == only("", NOT_AN_OBJECT, "invalid")
    assert caught.value.message == NOT_AN_OBJECT


def test_a_single_refusal_is_the_error_message_with_its_path():
    with pytest.raises(BatchRecordError) as caught:
        parse_batch_record(document(production={"viability_at_harvest": "101 %"}))

    assert caught.value.code == "invalid_batch_record"
    assert caught.value.message == (
        'production.viability_at_harvest: "101 %" is above 100 %, the highest possible '
        'percentage; expected a percentage (pure number) such as "95 %".'
    )
    assert caught.value.extra == {"fields": caught.value.fields}


def test_errors_in_independent_places_are_reported_together():
    # given: a bad percentage, a bad size and an empty justification, in three parts
    given = document(
        production={"viability_at_harvest": "101 %"},
        assays=[assay("nta", results=[result("size_mode", "120 mL")])],
        exceptions=[{"rule": "M18-MRK-02", "justification": " "}],
    )

    # when
    with pytest.raises(BatchRecordError) as caught:
        parse_batch_record(given)

    # then
    paths = [
        "production.viability_at_harvest",
        "assays[0].results[0].value",
        "exceptions[0].justification",
    ]
    assert list(caught.value.fields) == paths
    assert caught.value.message == f"3 fields are invalid: {', '.join(paths)}."


# Messages that could be clearer, and readings that are wrong
# ------------------------------------------------------------------------------


def test_a_number_written_with_times_ten_to_the_power_is_read_beside_its_unit():
    given = result("particle_concentration", "1.2x10^11", "particle/mL")

    record = parse_batch_record(document(assays=[assay("nta", results=[given])]))

    assert record.assays[0].results[0].quantity.canonical_value == 1.2e11


def test_a_refused_number_is_shown_as_the_lab_would_write_it():
    given = result("particle_concentration", 2.1e11, "nm")

    fields = refusals(document(assays=[assay("nta", results=[given])]))

    message = fields["assays[0].results[0].value"][0]["message"]
    assert message.startswith(('"2.1e11 nm"', '"2.1e+11 nm"'))


def test_a_refused_quantity_object_is_shown_as_its_value_and_unit():
    given = document(production={"harvest_volume": {"value": -1, "unit": "mL"}})

    message = refusals(given)["production.harvest_volume"][0]["message"]

    assert message.startswith('"-1 mL" is below 0 mL')


def test_a_size_distribution_without_its_value_unit_is_told_in_words():
    distribution = {**bins([50, 60], [1, 2]), "value_unit": ""}

    fields = refusals(document(assays=[assay("nta", size_distributions=[distribution])]))

    message = fields["assays[0].size_distributions[0].value_unit"][0]["message"]
    assert "(1.0, " not in message
    assert "[length]" not in message


def test_an_isolation_step_without_its_method_is_refused_at_the_method():
    given = document(isolation_steps=[{"order": 1, "parameters": {}}])

    assert refusals(given) == only(
        "isolation_steps[0].method", CLEARER_MESSAGES["missing"], "missing"
    )


# The JSON Schema
# ------------------------------------------------------------------------------


def test_the_json_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(batch_record_schema())


def test_the_json_schema_accepts_the_documents_evqc_writes():
    validator = jsonschema.Draft202012Validator(batch_record_schema())

    for given in (document(), complete()):
        validator.validate(batch_record_json(parse_batch_record(given)))


def test_the_json_schema_refuses_an_unknown_key_as_the_parser_does():
    validator = jsonschema.Draft202012Validator(batch_record_schema())

    with pytest.raises(jsonschema.ValidationError):
        validator.validate(document(lot="UCMSC-EV-2026-014"))


def test_the_json_schema_accepts_a_bare_dilution_factor_as_the_parser_does():
    given = document(assays=[assay("nta", dilution_factor=200)])
    parse_batch_record(given)

    jsonschema.Draft202012Validator(batch_record_schema()).validate(given)


def test_the_committed_json_schema_is_the_one_the_models_give():
    if not SCHEMA_FILE.exists():
        pytest.fail(f"{SCHEMA_FILE} is missing; write it with: {WRITE_SCHEMA}")

    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))

    assert committed == batch_record_schema(), (
        f"{SCHEMA_FILE} is out of date; write it again with: {WRITE_SCHEMA}"
    )
