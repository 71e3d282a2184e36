"""The oversight funnel's milestones (``case_milestone``): the first instant a case reached a
stage (a protection measure, a shelter, the BIA, the BID, a durable solution). Detection is the
case's opening. Kept here, on the events that reach a stage, so the dashboard counts one small
indexed table (app/services/dashboard.py) instead of scanning the task index.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases.aggregate import Event
from app.cases.handlers import figures
from app.tables import CaseMilestone

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

#: stage -> the user tasks whose first completion reaches it (in funnel order; "albergue" is
#: reached by the first admission to a shelter)
STAGE_TASKS: dict[str, tuple[str, ...]] = {
    "medida": ("emitir_medida_proteccion", "decretar_medida_urgente", "ordenar_medida_urgente"),
    "albergue": (),
    "bia": ("aprobar_bia",),
    "bid": ("registrar_decision_bid",),
    "solucion": (
        "verificar_entrega_familiar",
        "regularizar_estancia",
        "coordinar_reasentamiento_acnur",
        "acompanar_retorno",
    ),
}
STAGES: tuple[str, ...] = ("deteccion", *STAGE_TASKS)
_BY_TASK = {task: stage for stage, tasks in STAGE_TASKS.items() for task in tasks}


async def _reach(session: CaseSession, stage: str) -> None:
    await CaseMilestone.raw(
        "INSERT INTO case_milestone (case_id, stage, reached_at) VALUES ({}, {}, {})"
        " ON CONFLICT (case_id, stage) DO NOTHING",
        session.case.id,
        stage,
        session.now,
    )
    await figures.stage_reached(session, stage)


async def task_completed(session: CaseSession, event: Event) -> None:
    stage = _BY_TASK.get(str(event.data.get("bpmn_id")))
    if stage is not None:
        await _reach(session, stage)


async def placement_admitted(session: CaseSession, _: Event) -> None:
    await _reach(session, "albergue")
