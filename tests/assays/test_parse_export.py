import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "instruments"
SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "instrument-samples"
GD14 = SAMPLES / "nanosight" / "GD14_Pexo_1000_-ExperimentSummary.csv"


def parsed(*args):
    out, err = StringIO(), StringIO()
    call_command("parse_export", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.skipif(
    not GD14.exists(), reason="../shared/instrument-samples is not beside the project"
)
def test_parse_export_shows_the_values_and_the_dilution_it_only_suggests():
    out, err = parsed(str(GD14))

    lines = out.splitlines()
    assert lines[0] == f"{GD14}: nanosight (NTA 3.2 Dev Build 3.2.16), method nta"
    assert "  dilution suggested by the file's text: 1000.0" in lines
    assert any(
        line.startswith("  particle_concentration: 6.53e+08 particle/mL (measured)")
        for line in lines
    )
    assert "warning:" in err


def test_parse_export_as_json_gives_every_measurement_with_its_unit():
    fixture = next((FIXTURES / "zetasizer").iterdir())

    out, _ = parsed(str(fixture), "--json")

    export = json.loads(out)
    assert export["format"] == "zetasizer"
    z_average = next(m for m in export["measurements"] if m["attribute"] == "z_average")
    assert z_average["quantity"]["canonical_unit"] == "nm"


def test_parse_export_refuses_a_file_it_cannot_read(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("lot,concentration\nEV-1,2e11\n")

    with pytest.raises(CommandError) as refused:
        parsed(str(path))

    assert str(refused.value).startswith(f"{path} is not an export evqc can read")
