import json
import re
from io import StringIO

import jsonschema
import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from assays.models import AssayRun, Result
from batches import demo
from batches.models import AuditEvent, Batch, Lab, LabMembership
from batches.selectors import batch_record_for_lot, batch_record_get
from batches.services import BatchRecordImporter, batch_record_import
from evqc.batch_record import batch_record_json, batch_record_schema
from evqc.exceptions import NotFound

pytestmark = pytest.mark.django_db


def exactly(message):
    return f"^{re.escape(message)}$"


@pytest.fixture
def importer(db):
    user = get_user_model().objects.create_user("importer", first_name="Ines")
    lab = Lab.objects.create(code="cell-lab", name="Cell lab")
    LabMembership.objects.create(lab=lab, user=user, role="admin")
    return user


def document(lot="EV-001", results=1, **changes):
    """A small cell-culture batch record with `results` NTA results."""
    return {
        "schema": "evqc.batch-record/1",
        "lot_number": lot,
        "product": {"code": "UCMSC-sEV", "name": "UC-MSC small EVs"},
        "status": "in_qc",
        "source": {"kind": "cell_culture", "name": "UC-MSC MCB-02"},
        "isolation_steps": [
            {
                "order": 1,
                "method": "ultracentrifugation",
                "parameters": {"g_force": "100,000 x g", "duration": "70 min"},
            },
        ],
        "assays": [
            {
                "method": "nta",
                "performed_at": "2026-03-05T10:00:00Z",
                "results": [
                    {"attribute": "size_mode", "value": 100 + index % 50, "unit": "nm"}
                    for index in range(results)
                ],
            },
            {
                "method": "western_blot",
                "performed_at": "2026-03-06T10:00:00Z",
                "lysis_buffer": "RIPA",
                "markers": [{"protein": "CD63", "detected": True}],
            },
        ],
        **changes,
    }


def empty_the_database():
    """Remove every row of batches and assays but labs and members (children first)."""
    keep = {Lab, LabMembership}
    models = [
        model
        for model in apps.get_models()
        if model._meta.app_label in {"batches", "assays"} and model not in keep
    ]
    for model in reversed(models):
        model.objects.all()._raw_delete(model.objects.db)


def test_every_demo_batch_exports_imports_into_an_empty_database_and_exports_the_same(importer):
    # given: the demo batches, imported in order (pooled batches after their parents)
    lab = Lab.objects.get()
    for batch in demo.BATCHES:
        batch_record_import(batch, lab=lab, acting_user=importer)
    exported = [batch_record_json(batch_record_for_lot(b["lot_number"])) for b in demo.BATCHES]

    # when: everything goes, and the exported records come back
    empty_the_database()
    assert not Batch.objects.exists()
    for document_ in exported:
        batch_record_import(json.loads(json.dumps(document_)), lab=lab, acting_user=importer)

    # then
    again = [batch_record_json(batch_record_for_lot(b["lot_number"])) for b in demo.BATCHES]
    assert again == exported
    assert len(exported) >= 12


def test_an_export_is_valid_against_the_published_json_schema(importer):
    lab = Lab.objects.get()
    for batch in demo.BATCHES:
        batch_record_import(batch, lab=lab, acting_user=importer)
    validator = jsonschema.Draft202012Validator(batch_record_schema())

    for batch in demo.BATCHES:
        validator.validate(batch_record_json(batch_record_for_lot(batch["lot_number"])))


@pytest.mark.parametrize("results", [5, 500])
def test_loading_a_whole_batch_record_costs_12_queries_whatever_its_size(
    importer, results, django_assert_num_queries
):
    batch_record_import(document(results=results), lab=Lab.objects.get(), acting_user=importer)

    # batch_get; the batch with product, cell source, sample, production and storage
    # joined; then one query each for isolation steps, engineering steps, aliquots, parent
    # links with their parents, rule exceptions, assay runs (with instrument, step and
    # aliquot joined), results, markers, images and size distributions.
    with django_assert_num_queries(12):
        batch_record = batch_record_get(user=importer, lot_number="EV-001")

    assert len(batch_record.assays[0].results) == results


def test_another_labs_batch_cannot_be_read_as_a_record(importer):
    batch_record_import(document(), lab=Lab.objects.get(), acting_user=importer)
    outsider = get_user_model().objects.create_user("outsider")
    other = Lab.objects.create(code="other", name="Other lab")
    LabMembership.objects.create(lab=other, user=outsider, role="admin")

    with pytest.raises(NotFound, match=exactly("No batch EV-001.")):
        batch_record_get(user=outsider, lot_number="EV-001")


def write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def test_import_batch_imports_each_file_and_says_so(importer, tmp_path):
    first = write(tmp_path, "a.json", document("EV-001"))
    second = write(tmp_path, "b.json", document("EV-002"))
    out = StringIO()

    call_command("import_batch", str(first), str(second), "--user", "importer", stdout=out)

    assert out.getvalue().splitlines() == [
        f"{first}: imported batch EV-001.",
        f"{second}: imported batch EV-002.",
    ]
    assert set(Batch.objects.values_list("lot_number", flat=True)) == {"EV-001", "EV-002"}


def test_import_batch_names_the_json_path_of_each_error_and_keeps_nothing_of_that_file(
    importer, tmp_path
):
    # given: a good file, and one whose last assay has a size in mL
    good = write(tmp_path, "good.json", document("EV-001"))
    broken = document("EV-002")
    broken["assays"][0]["results"][0]["unit"] = "mL"
    bad = write(tmp_path, "bad.json", broken)
    err = StringIO()

    # when
    with pytest.raises(CommandError, match=exactly("1 of 2 files were not imported.")):
        call_command("import_batch", str(good), str(bad), "--user", "importer", stderr=err)

    # then
    assert err.getvalue().splitlines() == [
        f"{bad}: not imported.",
        '  assays[0].results[0].value: "100 mL" is a volume; expected a size (length) such '
        'as "120 nm".',
    ]
    assert list(Batch.objects.values_list("lot_number", flat=True)) == ["EV-001"]


def test_a_refused_import_writes_nothing_at_all(importer):
    lab = Lab.objects.get()
    batch_record_import(document("EV-001"), lab=lab, acting_user=importer)
    counts = (Batch.objects.count(), AssayRun.objects.count(), AuditEvent.objects.count())
    broken = document("EV-002")
    broken["parents"] = [{"lot_number": "EV-404", "relation": "pooled"}]

    with pytest.raises(NotFound, match=exactly("Lab cell-lab has no batch EV-404.")):
        batch_record_import(broken, lab=lab, acting_user=importer)

    assert (Batch.objects.count(), AssayRun.objects.count(), AuditEvent.objects.count()) == counts


def test_import_batch_refuses_a_file_that_is_not_json(importer, tmp_path):
    path = write(tmp_path, "notes.json", "lot EV-001, 2e11 particles/mL")
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("import_batch", str(path), "--user", "importer", stderr=err)

    assert err.getvalue().startswith(f"{path}: not JSON (")
    assert not Batch.objects.exists()


def test_import_batch_needs_a_known_user(tmp_path):
    path = write(tmp_path, "a.json", document())

    with pytest.raises(CommandError, match=exactly("There is no user nobody.")):
        call_command("import_batch", str(path), "--user", "nobody")


def test_export_batch_writes_the_record_to_standard_output(importer):
    batch_record_import(document(), lab=Lab.objects.get(), acting_user=importer)
    out = StringIO()

    call_command("export_batch", "EV-001", stdout=out)

    exported = json.loads(out.getvalue())
    assert exported == batch_record_json(batch_record_for_lot("EV-001"))
    assert exported["isolation_steps"][0]["parameters"]["g_force"]["reported_text"] == (
        "100,000 x g"
    )


def test_export_batch_of_an_unknown_lot_says_so():
    with pytest.raises(CommandError, match=exactly("No batch EV-404.")):
        call_command("export_batch", "EV-404")


def test_seed_demo_loads_the_demo_once_and_only_on_a_local_evqc(settings):
    settings.DEBUG = True

    call_command("seed_demo", stdout=StringIO())
    counts = (Batch.objects.count(), Result.objects.count(), AuditEvent.objects.count())
    call_command("seed_demo", stdout=StringIO())

    assert counts[0] == len(demo.BATCHES)
    assert (Batch.objects.count(), Result.objects.count(), AuditEvent.objects.count()) == counts
    statuses = set(Batch.objects.values_list("status", flat=True))
    assert statuses == {
        "planned",
        "in_production",
        "in_qc",
        "under_review",
        "released",
        "rejected",
        "quarantined",
    }


def test_seed_demo_refuses_to_run_on_a_production_evqc(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DJANGO_DEBUG=True"):
        call_command("seed_demo")

    assert not Batch.objects.exists()


def test_importing_many_records_keeps_the_good_ones_and_says_why_the_bad_one_was_refused(
    importer,
):
    # given: five records in a chunk of three; the fourth names a parent that does not
    # exist, the fifth is pooled from the second (so the second is stored first)
    documents = [document(f"EV-{index}") for index in range(1, 6)]
    documents[3]["parents"] = [{"lot_number": "EV-404", "relation": "pooled"}]
    documents[4]["parents"] = [{"lot_number": "EV-2", "relation": "pooled"}]
    importer_ = BatchRecordImporter(lab=Lab.objects.get(), acting_user=importer)

    # when
    outcomes = importer_.import_records(documents, chunk=3)

    # then: every record has its outcome, in order; the refused one wrote nothing
    assert [getattr(outcome, "lot_number", None) for outcome in outcomes] == [
        "EV-1",
        "EV-2",
        "EV-3",
        None,
        "EV-5",
    ]
    assert isinstance(outcomes[3], NotFound)
    assert outcomes[3].message == "Lab cell-lab has no batch EV-404."
    assert sorted(Batch.objects.values_list("lot_number", flat=True)) == [
        "EV-1",
        "EV-2",
        "EV-3",
        "EV-5",
    ]
    assert Batch.objects.get(lot_number="EV-5").parents.get().lot_number == "EV-2"
    imported = AuditEvent.objects.filter(action="evqc.batch.imported")
    assert sorted(imported.values_list("batch__lot_number", flat=True)) == [
        "EV-1",
        "EV-2",
        "EV-3",
        "EV-5",
    ]


def test_records_imported_together_are_stored_as_those_imported_one_by_one(importer):
    lab = Lab.objects.get()
    batch_record_import(document("EV-1", results=3), lab=lab, acting_user=importer)
    single = batch_record_json(batch_record_for_lot("EV-1"))
    empty_the_database()

    outcomes = BatchRecordImporter(lab=lab, acting_user=importer).import_records(
        [document(f"EV-{index}", results=3) for index in range(1, 4)], chunk=10
    )

    assert all(isinstance(outcome, Batch) for outcome in outcomes)
    assert batch_record_json(batch_record_for_lot("EV-1")) == single
