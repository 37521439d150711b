"""The journey routes: who may read them, CSV answers, and clear errors for bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from tests.journeys.conftest import T0, event, item, write_lake

from parcours.core.auth.models import Role
from parcours.core.settings import Settings

D = timedelta(days=1)


def _fill(settings: Settings) -> None:
    bought = event("p1", "Order Completed", 2 * D, "till", store_id="s1", revenue=4200)
    write_lake(
        settings.lake_dir,
        [
            event("p1", "Product Viewed", 0 * D, product_id="prd_1"),
            bought,
            event("p2", "Product Viewed", 1 * D, "app", product_id="prd_1"),
        ],
        [item(bought, "prd_1", 4200)],
    )


FUNNEL = {
    "spec": {"steps": [{"event": "Product Viewed"}, {"event": "Order Completed"}]},
    "start": T0.date().isoformat(),
    "end": (T0 + 10 * D).date().isoformat(),
}


def test_managers_and_marketers_read_journeys_associates_do_not(
    staff_client: Callable[..., TestClient], settings: Settings
) -> None:
    _fill(settings)
    for role in (Role.MANAGER, Role.MARKETER):
        answer = staff_client(role).post("/v1/journeys/funnels", json=FUNNEL)
        assert answer.status_code == 200, answer.text
        assert [s["persons"] for s in answer.json()["steps"]] == [2, 1]
    assert (
        staff_client(Role.ASSOCIATE, stores={"loc_a"})
        .post("/v1/journeys/funnels", json=FUNNEL)
        .status_code
        == 403
    )


def test_web_to_store_answers_json_and_csv(
    staff_client: Callable[..., TestClient], settings: Settings
) -> None:
    _fill(settings)
    client = staff_client(Role.MANAGER)
    query = {"start": FUNNEL["start"], "end": FUNNEL["end"]}
    body = client.get("/v1/journeys/web-to-store", params=query).json()
    assert (body["store_purchases"], body["after_product_research"]) == (1, 1)
    assert body["revenue_after_research"] == 4200

    answer = client.get("/v1/journeys/web-to-store", params=query | {"format": "csv"})
    assert answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0] == ["measure", "value"]
    assert ["store_purchases", "1"] in rows


def test_bad_input_is_named(staff_client: Callable[..., TestClient], settings: Settings) -> None:
    _fill(settings)
    client = staff_client(Role.MANAGER)
    bad_column = {
        "spec": {
            "steps": [{"event": "a", "filters": [{"column": "pwd", "value": "x"}]}, {"event": "b"}]
        }
    }
    answer = client.post("/v1/journeys/funnels", json=bad_column)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "unknown column" in answer.text

    answer = client.get("/v1/journeys/overview", params={"origin": "nowhere"})
    assert answer.status_code == 422
    assert answer.json()["code"] == "unknown_origin"
    answer = client.get(
        "/v1/journeys/overview", params={"start": "2026-03-10", "end": "2026-03-01"}
    )
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_period"
    answer = client.get("/v1/journeys/friction", params={"format": "csv", "table": "nope"})
    assert answer.status_code == 422
    assert answer.json()["code"] == "unknown_table"
    answer = client.post("/v1/journeys/funnels/dropped", params={"step": 5}, json=FUNNEL)
    assert answer.status_code == 422


def test_a_funnel_compiles_for_clickhouse(
    staff_client: Callable[..., TestClient], settings: Settings
) -> None:
    answer = staff_client(Role.MANAGER).post(
        "/v1/journeys/funnels/sql", params={"dialect": "clickhouse"}, json=FUNNEL
    )
    assert answer.status_code == 200
    assert "join_use_nulls" in answer.json()["sql"]
    assert answer.json()["params"] == []
