"""Plausible bounds on every date (issue 15, item 3).

Before: ``fecha_deteccion: "9999-12-31T23:59:59Z"`` was accepted when a case was opened, and every
completion of its first task then answered 500 (date overflow in the deadline code); the years
0001 and 9999 were accepted for birth and entry dates too. Now a date out of bounds answers 422
naming the field and writes nothing, and a date stored before the bounds existed never makes the
deadline code raise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.clock import utcnow
from app.route_engine import form_example, route_engine
from app.services.personal_data import engine_state
from app.tables import AuditEvent, Case, Placement, Task, TermSuspension, WorkflowState
from tests.app.helpers import opening_form

TOMORROW = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
IN_AN_HOUR = (utcnow() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _counts() -> tuple[int, int]:
    return await Case.count(), await AuditEvent.count().where(AuditEvent.action == "case.opened")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fecha_deteccion", "9999-12-31T23:59:59Z"),  # the finding
        ("fecha_deteccion", "0001-01-01T00:00:00Z"),
        ("fecha_deteccion", "1989-12-31T12:00:00Z"),  # before the floor (1990)
        ("fecha_deteccion", IN_AN_HOUR),  # a fact cannot be in the future
        ("fecha_nacimiento", "0001-01-01"),
        ("fecha_nacimiento", "9999-12-31"),
        ("fecha_nacimiento", "2026-03-03"),  # after the detection (2026-03-02)
        ("fecha_nacimiento", "2001-03-01"),  # more than 25 years before the detection
        ("fecha_ingreso_pais", "0001-01-01"),
        ("fecha_ingreso_pais", "9999-12-31"),
        ("fecha_ingreso_pais", "2010-01-01"),  # before the birth (2011-06-15)
    ],
)
async def test_an_implausible_opening_date_is_refused_naming_the_field(api, field, value):
    before = await _counts()
    form = opening_form(**{field: value})
    r = await api.post(
        "inm-07.officer", "/api/v1/cases", json={"form": form, "identidad": {"nombres": "F"}}
    )
    assert r.status_code == 422, r.text
    assert f"$.form.{field}" in {e["path"] for e in r.json()["errors"]}, r.json()
    assert await _counts() == before


async def test_plausible_opening_dates_are_accepted(api):
    form = opening_form(
        fecha_deteccion="2026-03-02T17:00:00Z",
        fecha_nacimiento="2001-03-03",  # 24 years and 364 days before the detection
        fecha_ingreso_pais="2026-03-02",
    )
    r = await api.post(
        "inm-07.officer", "/api/v1/cases", json={"form": form, "identidad": {"nombres": "F"}}
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    "value",
    [
        "9999-12-31T00:00:00Z",
        "0001-01-01T00:00:00Z",
        "2090-01-01T00:00:00Z",
        "1985-05-05T10:00:00Z",
    ],
)
async def test_a_task_date_out_of_bounds_is_refused_and_nothing_is_written(api, value):
    folio = await api.open_case("inm-07.officer")
    task = (await api.open_tasks(folio))[0]
    assert task["bpmn_id"] == "registrar_deteccion"
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    version = await WorkflowState.select(WorkflowState.version).where(WorkflowState.case == case_id)
    data = form_example("registrar_deteccion.schema.json") | {"fecha_hora_deteccion": value}
    r = await api.post(
        "inm-07.officer", f"/api/v1/tasks/{task['task_id']}/complete", json={"data": data}
    )
    assert r.status_code == 422, r.text
    assert "$.data.fecha_hora_deteccion" in {e["path"] for e in r.json()["errors"]}
    after = await WorkflowState.select(WorkflowState.version).where(WorkflowState.case == case_id)
    assert after == version
    row = await Task.select(Task.status).where(Task.task_id == task["task_id"]).first()
    assert row["status"] == "open"


@pytest.mark.parametrize("stored", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "9999-12-31"])
async def test_a_stored_date_no_calendar_holds_never_answers_500(api, stored):
    """A case stored before the bounds (the detection 9999-12-31): its deadlines count from a
    date the arithmetic cannot hold. Completing its tasks works; the deadline is due "never"
    (2999-12-31) or counted from 1900, instead of a 500 on every command."""
    folio = await api.open_case("inm-07.officer")
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    row = await WorkflowState.select(WorkflowState.state).where(WorkflowState.case == case_id)
    assert row
    engine_case = route_engine().restore(await engine_state(case_id))
    engine_case.meta["caso"]["fecha_deteccion"] = stored
    engine_case.meta["caso"]["fecha_nacimiento"] = stored[:10]
    engine_case.meta["forms"]["inicio_caso"]["fecha_deteccion"] = stored
    await WorkflowState.update({WorkflowState.state: engine_case.dump()}).where(
        WorkflowState.case == case_id
    )
    for bpmn_id in ("registrar_deteccion", "notificar_procuraduria"):
        await api.complete(folio, bpmn_id)  # asserts 200
    detail = await api.get("cndh.oversight", f"/api/v1/cases/{folio}")
    assert detail.status_code == 200
    assert detail.json()["tasks"][-1]["status"] == "open"


async def test_a_departure_from_a_placement_needs_a_plausible_instant(api):
    from app.services.placements import left_payload

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    for value, message in (
        ("9999-12-31T00:00:00Z", "is in the future"),
        ("2026-12-01T13:00:00Z", "is in the future"),
        ("0001-01-01T00:00:00Z", "is before 1990-01-01"),
    ):
        with pytest.raises(Exception) as err:  # noqa: PT011 (InvalidInput, checked below)
            left_payload(value, "salió", False, now=now)
        assert err.value.errors == [{"path": "$.fecha_hora_salida", "message": message}]
    before = await Placement.count()
    assert left_payload("2026-12-01T11:00:00Z", "salió", False, now=now)["fecha_hora_salida"]
    assert await Placement.count() == before


async def test_a_suspension_of_terms_needs_plausible_days(api):
    before = await TermSuspension.count()
    body = {"jurisdiccion": "07", "motivo": "prueba", "fuente": "DOF prueba"}
    for dates, path in (
        ({"desde": "0001-01-01", "hasta": "0001-01-02"}, "$.desde"),
        ({"desde": "2026-01-01", "hasta": "9999-12-31"}, "$.hasta"),
    ):
        r = await api.post("sistema.admin", "/api/v1/suspensions", json=body | dates)
        assert r.status_code == 422, r.text
        assert [e["path"] for e in r.json()["errors"]] == [path]
    assert await TermSuspension.count() == before
