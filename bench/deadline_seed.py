"""Seed many open cases with a due deadline, fast (bench/deadlines.py and tests/app/test_deadlines*).

One case is run through the engine once (opened with ``fecha_deteccion = t0``, detection
registered), so ``notificar_procuraduria`` waits with deadline D1 (24 h, LM art. 112 fr. I) due at
``t0 + 24 h``. Each seeded case is a copy of that state with fresh engine task UUIDs (so task ids
stay unique), its own ``nna_case`` row (with the case variables, as an opening writes them) and
``workflow_state`` row with ``next_due_at``, and the access row its opener (the state's INM) holds.
The task index is left empty: the worker's first firing routes the task (as a real sweep would
after an import), so the measured work is never less than production's.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from app.cases import figure_counts
from app.cases.handlers import figures
from app.route_engine import form_example, library, route_engine
from app.tables import Authority, Case, CaseAccess, WorkflowState

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def template_state(t0: datetime, estado: str = "07") -> tuple[str, datetime]:
    state, due, _ = template_case(t0, estado)
    return state, due


def template_case(t0: datetime, estado: str = "07") -> tuple[str, datetime, dict]:
    """The engine state of a case waiting on ``notificar_procuraduria``; and its next due time."""
    form = form_example("inicio_caso.schema.json")
    form.update(
        jurisdiccion=estado,
        municipio="Tapachula",
        fecha_deteccion=t0.isoformat().replace("+00:00", "Z"),
    )
    case = route_engine().start_case(form, t0)
    first = case.ready_tasks()[0]
    case.complete_task(first.task_id, form_example(f"{first.bpmn_id}.schema.json"), t0)
    due = case.next_due_at()
    assert due is not None
    return case.dump(), due, case.variables


def fresh_copy(state: str) -> str:
    """The same state with every UUID replaced (consistently) by a new one."""
    mapping: dict[str, str] = {}

    def sub(match: re.Match[str]) -> str:
        old = match.group(0)
        if old not in mapping:
            mapping[old] = str(uuid.uuid4())
        return mapping[old]

    return _UUID.sub(sub, state)


async def seed_cases(
    n: int,
    t0: datetime,
    *,
    prefix: str,
    estado: str = "07",
    due_at: datetime | None = None,
    real_state: bool = True,
    batch: int = 500,
) -> list[int]:
    """Insert ``n`` open cases (folios ``<prefix>-<i>``) whose next timer is D1 (or ``due_at``).

    ``real_state=False`` stores an empty placeholder state: for the bench's never-due filler rows,
    which no sweep ever loads (only their indexed ``next_due_at`` matters).
    """
    state, due, variables = template_case(t0, estado)
    version = library().version
    opener = await Authority.select(Authority.id).where(Authority.code == f"INM-{estado}").first()
    ids: list[int] = []
    for start in range(0, n, batch):
        count = min(batch, n - start)
        rows = await Case.insert(
            *[
                Case(
                    folio=f"{prefix}-{start + i:06d}",
                    estado=estado,
                    municipio="Tapachula",
                    status="open",
                    summary={},
                    variables=variables if real_state else {},
                    opened_at=t0,
                    updated_at=t0,
                    spec_version=version,
                )
                for i in range(count)
            ]
        ).returning(Case.id)
        case_ids = [r["id"] for r in rows]
        await figures.write(case_ids, t0, {}, variables if real_state else {})
        await figure_counts.add_counts({("open", ""): len(case_ids)})  # as openings count them
        await WorkflowState.insert(
            *[
                WorkflowState(
                    case=cid,
                    state=fresh_copy(state) if real_state else "{}",
                    version=1,
                    spec_version=version,
                    next_due_at=due_at or due,
                    updated_at=t0,
                )
                for cid in case_ids
            ]
        )
        if real_state and opener is not None:
            await CaseAccess.insert(
                *[
                    CaseAccess(
                        case=cid,
                        authority=opener["id"],
                        reason="opened",
                        active=True,
                        granted_at=t0,
                    )
                    for cid in case_ids
                ]
            )
        ids += case_ids
    return ids
