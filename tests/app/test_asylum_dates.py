"""The asylum deadlines count from the dates the forms record, checked at the API (issue 11).

A filing date in the future, or before detection, is a 422 naming the field and writes nothing;
a filing recorded a week late puts COMAR's decision due 45 working days after the filing date,
not after the record.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.route_engine import calendario, library
from app.tables import AuditEvent, Case, Task, WorkflowState
from tests.app.helpers import user_for

MX = ZoneInfo("America/Mexico_City")


async def _snapshot(folio: str) -> tuple:
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    state = await WorkflowState.select(WorkflowState.version, WorkflowState.state).where(
        WorkflowState.case == case_id
    )
    tasks = await Task.select(Task.task_id, Task.status).where(Task.case == case_id)
    events = await AuditEvent.count().where(AuditEvent.case_id == case_id)
    return state, tasks, events


async def _at_the_claim(api) -> tuple[str, dict]:
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "detectar_necesidades")
    await api.complete(
        folio,
        "detectar_necesidades",
        indicadores_proteccion_internacional=True,
        motivos_proteccion=["temor_persecucion"],
    )
    return folio, await api.drive_until(folio, "apoyar_solicitud_asilo")


def _claim(filed: str) -> dict:
    return {
        "nna_informada_derecho_asilo": True,
        "presenta_solicitud": True,
        "fecha_presentacion": filed,
        "presentada_ante": "comar",
        "presentada_por": "procuraduria_representante",
        "representacion_legal": "procuraduria",
        "interprete_requerido": False,
        "presentacion_extemporanea": False,
    }


async def test_a_filing_date_in_the_future_or_before_detection_is_a_422_naming_it(api):
    folio, task = await _at_the_claim(api)
    user = user_for(task["authority"], task["rol"])
    url = f"/api/v1/tasks/{task['task_id']}/complete"
    before = await _snapshot(folio)
    tomorrow = (datetime.now(MX) + timedelta(days=1)).date().isoformat()
    for filed in (tomorrow, "2026-03-01"):  # detection (opening form example): 2 March 2026
        r = await api.post(user, url, json={"data": _claim(filed)})
        assert r.status_code == 422, r.text
        assert [e["path"] for e in r.json()["errors"]] == ["$.data.fecha_presentacion"]
        assert await _snapshot(folio) == before


async def test_a_claim_recorded_late_is_due_from_its_filing_date(api):
    folio, task = await _at_the_claim(api)
    filed = (datetime.now(MX) - timedelta(days=7)).date()
    await api.complete(folio, "apoyar_solicitud_asilo", _claim(filed.isoformat()))
    decision = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == "resolver_solicitud")
    expected = library().plazos.vencimiento(
        "D13_resolucion_comar", datetime.combine(filed, time(12), MX), calendario(), "07"
    )
    assert datetime.fromisoformat(decision["due_at"].replace("Z", "+00:00")) == expected
    recorded = library().plazos.vencimiento(
        "D13_resolucion_comar", datetime.now(UTC), calendario(), "07"
    )
    assert expected < recorded
