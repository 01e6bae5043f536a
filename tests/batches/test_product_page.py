"""The portal's product page: a product's specification and the trend of each attribute
across its batches, with control limits and run-rule flags, for the person's labs only,
in a fixed number of queries.

Batches arrive as batch records through the import service. The values are chosen so the
limits and flags follow from arithmetic written out beside them (sample SD, n - 1).
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.urls import reverse

from assays.services import specification_create, specification_revise
from batches.models import Product
from batches.services import product_create
from evqc.control_charts import Rule
from tests.api import conftest as api
from tests.api.conftest import bca, document, import_records, nta

site = api.site

CTRL = ("CTRL-EV", "Control-chart EVs")
# Particle concentrations in 1e10 particle/mL: 5 and 15 alternating around a 62 in 7th
# place. Sum 30 + 90 + 62 = 182, n 13, mean 14. Squared deviations 6 x 81 + 6 x 1 + 48^2
# = 2796; SD = sqrt(2796/12) = sqrt(233) = 15.264; 3 SD = 45.793, so the limits are
# 14 ± 45.793 = 59.79 and -31.79 (x 1e10), and 62 lies beyond. Nothing else fires: the
# others straddle the mean and never rise or fall for 6 batches.
CONCENTRATIONS = [5, 15] * 3 + [62] + [5, 15] * 3
# Protein in µg/mL on the first 10 batches: 10, 10, then 19 and 21 four times. Sum 180,
# mean 18. Squared deviations 2 x 64 + 4 x 1 + 4 x 9 = 168; SD = sqrt(168/9) = 4.3205;
# 2 SD = 8.64, so 10 is inside the warning limits; 3 SD = 12.96. Batches 3 to 10 are
# the 8 in a row above the mean.
PROTEIN = [10, 10, *[19, 21] * 4]


def lot(n: int) -> str:
    return f"CTRL-{n:02d}"


@pytest.fixture
def product(site) -> Product:
    """Lab A's product with a particle-concentration specification in its 2nd version."""
    product = product_create(site.lab, code=CTRL[0], name=CTRL[1], acting_user=site.admin)
    first = specification_create(
        product,
        attribute="particle_concentration",
        lower_limit="1e10 particle/mL",
        required_for_release=True,
        acting_user=site.admin,
    )
    specification_revise(
        first, lower_limit="2e10 particle/mL", reason="Tighter after PPQ.", acting_user=site.admin
    )
    return product


@pytest.fixture
def planted(site, product) -> list[str]:
    """13 batches: a particle concentration beyond 3 SD at the 7th, and a long run of
    protein results above the mean from the 3rd to the 10th."""
    documents = []
    for n, concentration in enumerate(CONCENTRATIONS, start=1):
        assays = [nta(f"2026-03-{n:02d}T10:00:00Z", f"{concentration}e10 particle/mL")]
        if n <= len(PROTEIN):
            assays.append(bca(f"2026-03-{n:02d}T11:00:00Z", f"{PROTEIN[n - 1]} µg/mL"))
        documents.append(document(lot(n), CTRL, assays=assays))
    import_records(site.lab, site.admin, documents)
    return [lot(n) for n in range(1, len(CONCENTRATIONS) + 1)]


@pytest.fixture
def analyst(client, site):
    client.force_login(site.analyst)
    return client


def page_of(client, product):
    return client.get(reverse("product-page", args=[product.pk]))


def trend_named(response, title):
    (trend,) = [trend for trend in response.context["trends"] if trend["title"] == title]
    return trend


def shown(number: str, unit: str) -> str:
    """How the quantity tag writes a value: the number, then its unit."""
    return f'>{number}</data> <span class="unit">{unit}</span>'


def test_the_page_shows_the_specification_in_force_and_its_earlier_version(
    analyst, product, planted
):
    response = page_of(analyst, product)

    html = response.content.decode()
    assert response.status_code == 200
    assert [s.version for s in response.context["specifications"]] == [2]
    assert [s.version for s in response.context["retired_specifications"]] == [1]
    assert '≥ <span class="quantity"><data value="20000000000.0"' in html
    assert shown("2e10", "particle/mL") in html
    assert shown("1e10", "particle/mL") in html  # the retired version
    assert "13 batches</a>" in html


def test_limits_are_the_mean_plus_and_minus_2_and_3_sd_and_the_outlier_is_flagged(
    analyst, product, planted
):
    response = page_of(analyst, product)

    trend = trend_named(response, "Particle concentration by NTA")
    assert [p["lot_number"] for p in trend["points"]] == planted
    limits = trend["limits"]
    assert limits["mean"].canonical_value == pytest.approx(14e10)
    assert limits["sd"].canonical_value == pytest.approx(233**0.5 * 1e10)
    assert limits["upper_control"].canonical_value == pytest.approx(59.793e10, rel=1e-4)
    assert limits["lower_control"].canonical_value == pytest.approx(-31.793e10, rel=1e-4)
    assert limits["upper_warning"].canonical_value == pytest.approx(44.529e10, rel=1e-4)
    assert [(v.rule, v.indices) for v in trend["chart"].violations] == [
        (Rule.BEYOND_CONTROL, (6,))
    ]
    assert [p["rules"] for p in trend["points"]].count(()) == 12
    html = response.content.decode()
    for number in ("5.979e11", "4.453e11", "1.4e11", "-1.653e11", "-3.179e11", "1.526e11"):
        assert shown(number, "particle/mL") in html
    assert (
        "CTRL-07 lies above the upper control limit (the mean + 3 SD). By chance alone this "
        "happens to about 3 batches in 1000"
    ) in html
    assert "◆ Point beyond the 3 SD control limit" in html
    assert '<polygon class="point flagged"' in html
    assert "Flagged by a run rule (1): CTRL-07." in html


def test_a_long_run_above_the_mean_is_flagged_with_its_batches(analyst, product, planted):
    response = page_of(analyst, product)

    trend = trend_named(response, "Protein concentration by microBCA")
    assert len(trend["points"]) == 10
    assert trend["limits"]["mean"].canonical_value == pytest.approx(18.0)
    assert trend["limits"]["sd"].canonical_value == pytest.approx((168 / 9) ** 0.5)
    assert [(v.rule, v.indices) for v in trend["chart"].violations] == [
        (Rule.LONG_RUN, (2, 3, 4, 5, 6, 7, 8, 9))
    ]
    html = response.content.decode()
    assert shown("18", "µg/mL") in html
    assert shown("4.32", "µg/mL") in html
    assert shown("30.96", "µg/mL") in html  # 18 + 3 x 4.3205
    assert "8 consecutive batches (CTRL-03 to CTRL-10) lie above the mean." in html


def test_an_attribute_without_spread_or_with_too_few_batches_has_no_limits(
    analyst, product, planted, site
):
    import_records(
        site.lab,
        site.admin,
        [
            document("ONE-1", CTRL, assays=[
                {"method": "lal_endotoxin", "performed_at": "2026-04-01T10:00:00Z",
                 "results": [{"attribute": "endotoxin", "value": "0.2 EU/mL"}]},
            ])
        ],
    )  # fmt: skip

    response = page_of(analyst, product)

    # every NTA run in `nta` reports a mode of 112 nm
    size = trend_named(response, "Modal size by NTA")
    assert size["limits"] is None
    assert size["chart"].violations == ()
    endotoxin = trend_named(response, "Endotoxin by LAL endotoxin")
    html = response.content.decode()
    assert "No control limits: every batch has the same result, so the spread (SD) is 0." in html
    assert "No control limits yet: 1 batch with a result; limits need at least 3." in html
    assert endotoxin["limits"] is None


def test_a_batch_is_charted_by_its_latest_final_result_and_others_are_left_out(analyst, site):
    # given: batch 1 tested twice (a repeat on the 5th), once at harvest, and an endotoxin
    # result below the assay's limit; batches 2 and 3 once
    product = product_create(site.lab, code=CTRL[0], name=CTRL[1], acting_user=site.admin)
    harvest = nta("2026-03-09T10:00:00Z", "9e11 particle/mL", sample_stage="harvest")
    below = {
        "method": "lal_endotoxin",
        "performed_at": "2026-03-02T10:00:00Z",
        "results": [{"attribute": "endotoxin", "value": "< 0.05 EU/mL"}],
    }
    first = [
        nta("2026-03-01T10:00:00Z", "1e11 particle/mL"),
        nta("2026-03-05T10:00:00Z", "3e11 particle/mL"),
        harvest,
        below,
    ]
    import_records(
        site.lab,
        site.admin,
        [
            document("B-1", CTRL, assays=first),
            document("B-2", CTRL, assays=[nta("2026-03-03T10:00:00Z", "2e11 particle/mL")]),
            document("B-3", CTRL, assays=[nta("2026-03-04T10:00:00Z", "4e11 particle/mL")]),
        ],
    )

    # when
    response = page_of(analyst, product)

    # then: the repeat (3e11) stands for B-1, the harvest sample is not the product
    trend = trend_named(response, "Particle concentration by NTA")
    assert [(p["lot_number"], p["value"].canonical_value) for p in trend["points"]] == [
        ("B-1", 3e11),
        ("B-2", 2e11),
        ("B-3", 4e11),
    ]
    endotoxin = trend_named(response, "Endotoxin by LAL endotoxin")
    assert endotoxin["points"] == []
    assert [row["lot_number"] for row in endotoxin["not_charted"]] == ["B-1"]
    assert "Not charted, reported as below or above a limit" in response.content.decode()


def test_another_labs_product_is_not_found_like_a_missing_one(analyst, site):
    theirs = product_create(
        site.other_lab, code=CTRL[0], name=CTRL[1], acting_user=site.other_admin
    )

    assert page_of(analyst, theirs).status_code == 404
    assert analyst.get(reverse("product-page", args=[theirs.pk + 1000])).status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(client, product):
    url = reverse("product-page", args=[product.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse(settings.LOGIN_URL)}?next={url}"


def test_the_batch_page_and_the_batch_list_link_to_the_product(analyst, product, planted):
    url = reverse("product-page", args=[product.pk])

    assert f'href="{url}"' in analyst.get(reverse("batch-page", args=[lot(1)])).content.decode()
    assert f'href="{url}"' in analyst.get(reverse("batch-list")).content.decode()


@pytest.mark.parametrize("batches", [30, 120])
def test_the_page_costs_the_same_queries_for_10_batches_or_more(
    analyst, site, product, batches, django_assert_max_num_queries
):
    def add(numbers):
        import_records(
            site.lab,
            site.admin,
            [
                document(
                    lot(n),
                    CTRL,
                    assays=[
                        nta(f"2026-03-01T10:{n % 60:02d}:00Z", f"{2 + n % 7}e11 particle/mL"),
                        bca(f"2026-03-01T11:{n % 60:02d}:00Z", f"{80 + n % 9} µg/mL"),
                    ],
                )
                for n in numbers
            ],
        )

    add(range(10))
    analyst.get(reverse("home"))  # the session is loaded once
    # session, user, product with lab, specifications, batch count, results
    with django_assert_max_num_queries(6) as ten:
        assert len(trend_named(page_of(analyst, product), "Modal size by NTA")["points"]) == 10
    add(range(10, batches))

    with django_assert_max_num_queries(len(ten.captured_queries)) as more:
        response = page_of(analyst, product)

    assert len(more.captured_queries) == len(ten.captured_queries)
    assert len(trend_named(response, "Modal size by NTA")["points"]) == batches
