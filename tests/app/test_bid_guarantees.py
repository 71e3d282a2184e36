"""The BID binds through the API too (issue 12): the task-completion command is the one path that
writes a panel, a decision or a plan, and it answers 409 naming the guarantee and its legal
source, with each field and nothing written, when a well-formed submission would break one
(workflows/panel_bid.py); a malformed one stays 422."""

from __future__ import annotations

from app.tables import AuditEvent, Case, Task
from tests.app.helpers import form_example, user_for
from workflows.guarantees import GUARANTEE_BY_NAME

RETURN = {
    "solucion_duradera_propuesta": "retorno_asistido",
    "retorno_en_interes_superior": True,
    "razonamiento_retorno": "La madre fue localizada en el país de origen.",
}


async def _refused(api, folio: str, bpmn_id: str, guarantee: str, **overrides) -> list[dict]:
    """Submit ``bpmn_id`` with its example updated by ``overrides``; assert 409 naming
    ``guarantee`` and its legal source, nothing written."""
    task = next(t for t in await api.open_tasks(folio) if t["bpmn_id"] == bpmn_id)
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    before = await AuditEvent.count().where(AuditEvent.case_id == case_id)
    data = form_example(f"{bpmn_id}.schema.json") | overrides
    r = await api.post(
        user_for(task["authority"], task["rol"]),
        f"/api/v1/tasks/{task['task_id']}/complete",
        json={"data": data},
    )
    assert r.status_code == 409, r.text
    assert r.json()["guarantee"] == guarantee
    assert r.json()["legal_source"] == GUARANTEE_BY_NAME[guarantee].legal_source
    assert await AuditEvent.count().where(AuditEvent.case_id == case_id) == before
    row = await Task.select(Task.status).where(Task.task_id == task["task_id"]).first()
    assert row["status"] == "open"
    return r.json()["errors"]


async def test_a_small_panel_and_a_plan_contradicting_the_bid_are_refused(api):
    folio = await api.open_case("inm-07.officer")
    await api.drive_until(folio, "elaborar_plan_restitucion")
    r = await api.post(
        "procuraduria-07.officer",
        f"/api/v1/cases/{folio}/bid-reconsideration",
        json={"motivo": "La madre fue localizada en el país de origen."},
    )
    assert r.status_code == 200, r.text
    await api.complete(folio, "compilar_informe_bid", recomendacion="retorno_asistido")
    await api.complete(folio, "verificar_preparacion_bid")
    two = form_example("convocar_panel.schema.json")["miembros"][:2]
    errors = await _refused(api, folio, "convocar_panel", "panel_bid_integrado", miembros=two)
    assert {e["path"] for e in errors} == {"$.data.miembros", "$.data.quorum"}
    assert "panel_bid_integrado" in errors[0]["message"]
    await api.complete(folio, "convocar_panel")
    for _ in range(3):
        await api.complete(
            folio, "votar_panel_bid", voto="rechazar", razonamiento="No hay condiciones seguras."
        )
    errors = await _refused(
        api, folio, "registrar_decision_bid", "decision_bid_sigue_votos", decision="aprobar"
    )
    assert {e["path"] for e in errors} == {
        "$.data.razones_apartarse_mayoria",
        "$.data.hay_disenso",
    }
    await api.complete(folio, "registrar_decision_bid", decision="rechazar")
    await api.complete(folio, "informar_nna_decision")
    await api.drive_until(folio, "elaborar_plan_restitucion")
    errors = await _refused(
        api, folio, "elaborar_plan_restitucion", "plan_no_contradice_bid", **RETURN
    )
    assert {e["path"] for e in errors} == {
        "$.data.solucion_duradera_propuesta",
        "$.data.retorno_en_interes_superior",
    }
    assert all("plan_no_contradice_bid" in e["message"] for e in errors)
    await api.complete(folio, "elaborar_plan_restitucion")
