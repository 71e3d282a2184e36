"""Test helpers: log in as demo users (bearer tokens, cached), drive cases through HTTP."""

from __future__ import annotations

import asyncio
import copy
from datetime import datetime
from typing import Any

import httpx

from app.cases import figure_counts
from app.cases.handlers import figures
from app.cases.handlers.task_index import NO_DUE
from app.data_protection_rules import recipients_of
from app.route_engine import form_example, library
from app.tables import Case, CaseAccess, Task, WorkflowState

PASSWORD = "test-password-123"
#: a privacy notice given and a consent to share (POST /api/v1/cases/{folio}/privacy-notices,
#: /consents): the bodies the helpers send before a task that shares the child's data
NOTICE = {
    "version": "2026-01",
    "modalidad": "simplificado",
    "idioma": "espanol",
    "forma_explicacion": "verbal_lenguaje_sencillo",
    "entregado_a": "nna",
    "nna_comprende": "si",
}
CONSENT = {
    "destinatario_nombre": "Destinatario de prueba",
    "finalidad": "localizacion_familiar",
    "decision": "consiente",
    "otorgado_por": "nna",
    "forma": "escrito_firma",
    "opinion_nna": "de_acuerdo",
}


def user_for(authority_code: str, rol: str) -> str:
    """The demo user of an authority who may do a task with BPMN ``rol``."""
    shelter = authority_code.startswith("CAS-")
    role = {"officer": "shelter-staff" if shelter else "officer", "supervisor": "supervisor"}.get(
        rol, rol
    )
    if shelter and role == "supervisor":
        role = "head"
    return f"{authority_code.lower()}.{role}"


def opening_form(estado: str = "07", municipio: str = "Tapachula", **overrides: Any) -> dict:
    form = form_example("inicio_caso.schema.json")
    form.update(jurisdiccion=estado, municipio=municipio, **overrides)
    return form


class Api:
    """An AsyncTestClient plus per-user bearer tokens (one login per user per session)."""

    def __init__(self, client: httpx.AsyncClient):
        self.client = client
        self._tokens: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def token(self, username: str) -> str:
        # One login per user even when a test sends many requests at once: the login throttle
        # counts every attempt until its password is checked (app/throttle.py), so 30 logins of
        # one user in flight from one address would meet its budget.
        async with self._locks.setdefault(username, asyncio.Lock()):
            if username not in self._tokens:
                r = await self.client.post(
                    "/api/v1/auth/login",
                    json={"username": username, "password": PASSWORD, "mode": "api"},
                )
                assert r.status_code == 200, r.text
                self._tokens[username] = r.json()["token"]
        return self._tokens[username]

    async def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self.token(username)}"}

    async def get(self, username: str, url: str, **kw: Any):
        return await self.client.get(url, headers=await self.headers(username), **kw)

    async def post(self, username: str, url: str, json: Any = None, **kw: Any):
        return await self.client.post(url, headers=await self.headers(username), json=json, **kw)

    async def put(self, username: str, url: str, json: Any = None, **kw: Any):
        return await self.client.put(url, headers=await self.headers(username), json=json, **kw)

    # ------------------------------------------------------------------ cases
    async def open_case(
        self, username: str = "inm-07.officer", estado: str = "07", name: str = "Test", **kw: Any
    ) -> str:
        body = {
            "form": opening_form(estado, kw.pop("municipio", "Tapachula")),
            "identidad": {"nombres": name, "apellidos": "Prueba"},
            **kw,
        }
        r = await self.post(username, "/api/v1/cases", json=body)
        assert r.status_code == 201, r.text
        return r.json()["folio"]

    async def open_tasks(self, folio: str, username: str = "cndh.oversight") -> list[dict]:
        r = await self.get(username, f"/api/v1/cases/{folio}")
        assert r.status_code == 200, r.text
        return [t for t in r.json()["tasks"] if t["status"] == "open"]

    async def complete(
        self, folio: str, bpmn_id: str, data: dict | None = None, **overrides: Any
    ) -> dict:
        """Complete the open task ``bpmn_id`` as the right user of the authority it routes to."""
        task = next(t for t in await self.open_tasks(folio) if t["bpmn_id"] == bpmn_id)
        username = user_for(task["authority"], task["rol"])
        payload = (
            copy.deepcopy(data) if data is not None else form_example(f"{bpmn_id}.schema.json")
        )
        payload.update(overrides)
        await self.consent_to_share(folio, bpmn_id, payload)
        r = await self.post(
            username, f"/api/v1/tasks/{task['task_id']}/complete", json={"data": payload}
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def consent_to_share(self, folio: str, bpmn_id: str, payload: dict) -> None:
        """A task that shares the child's data with a third party (config/datos_personales.toml)
        is refused without the consent on file (issue 16): as a caseworker would, the
        Procuraduría gives the privacy notice and records the consent first, unless one allows
        it already. tests/app/test_data_protection.py checks the refusals themselves."""
        recipients = recipients_of(bpmn_id, payload)
        if not recipients:
            return
        officer = await self.procuraduria_officer(folio)
        url = f"/api/v1/cases/{folio}/data-protection"
        r = await self.get(officer, url)
        assert r.status_code == 200, r.text
        allowed = {s["destinatario"] for s in r.json()["estado"] if s["permitido"]}
        missing = [x for x in recipients if x not in allowed]
        if not missing:
            return
        if not r.json()["avisos"]:
            r = await self.post(officer, f"/api/v1/cases/{folio}/privacy-notices", json=NOTICE)
            assert r.status_code == 201, r.text
        rep = await self.get(officer, f"/api/v1/cases/{folio}/representative")
        both = {"otorgado_por": "nna_y_representante", "opinion_representante": "de_acuerdo"}
        for recipient in missing:
            body = CONSENT | {"destinatario": recipient}
            if rep.json()["representacion"]:
                body |= both
            r = await self.post(officer, f"/api/v1/cases/{folio}/consents", json=body)
            assert r.status_code == 201, r.text

    async def procuraduria_officer(self, folio: str) -> str:
        """The officer of the Procuraduría that may see the case."""
        rows = await CaseAccess.select(CaseAccess.authority.code.as_alias("code")).where(
            (CaseAccess.case.folio == folio)
            & CaseAccess.active.eq(True)
            & (CaseAccess.authority.tipo == "PROCURADURIA")
        )
        assert rows, f"no Procuraduría sees {folio}"
        return user_for(rows[0]["code"], "officer")

    async def drive_until(self, folio: str, bpmn_id: str, max_steps: int = 60) -> dict:
        """Complete ready tasks (alphabetical, form examples) until ``bpmn_id`` is open."""
        for _ in range(max_steps):
            tasks = await self.open_tasks(folio)
            match = [t for t in tasks if t["bpmn_id"] == bpmn_id]
            if match:
                return match[0]
            assert tasks, f"case {folio} has no open task before reaching {bpmn_id}"
            await self.complete(folio, sorted(t["bpmn_id"] for t in tasks)[0])
        raise AssertionError(f"{bpmn_id} never became ready")


async def store_case(
    folio: str, estado: str, engine_case, index_tasks_at: datetime | None = None
) -> int:
    """An open case row and its engine state, as an opening would store them; its id. With
    ``index_tasks_at``, also its ready tasks' index rows, created at that instant."""
    row = (
        await Case.insert(
            Case(
                folio=folio,
                estado=estado,
                status="open",
                summary={},
                variables={},
                spec_version=library().version,
            )
        ).returning(Case.id, Case.opened_at)
    )[0]
    await figures.write([row["id"]], row["opened_at"], {}, {})  # as the opening writes it
    await figure_counts.add_counts({("open", ""): 1})
    await WorkflowState.insert(
        WorkflowState(
            case=row["id"],
            state=engine_case.dump(),
            version=1,
            spec_version=library().version,
            next_due_at=engine_case.next_due_at(),
        )
    )
    if index_tasks_at is not None:
        for t in engine_case.ready_tasks():  # the task index, as the case command path writes it
            await Task.insert(
                Task(
                    task_id=t.task_id,
                    case=row["id"],
                    bpmn_id=t.bpmn_id,
                    name=t.name,
                    name_en=t.name_en,
                    process_id=t.process_id,
                    lane=t.lane,
                    rol=t.rol,
                    due_at=t.due_at,
                    sort_due=t.due_at or NO_DUE,  # as the task index sorts a task with none
                    deadline_id=t.deadline_id,
                    created_at=index_tasks_at,
                )
            )
    return row["id"]


async def retire_cases(ids: list[int]) -> None:
    """Retire cases a test seeded (tasks cancelled, nothing due, case closed) without the
    command path, moving them in the kept counts of cases per status and risk as a closure would
    (app/cases/figure_counts.py). Never deleted: SQLite would reuse their ids, and the
    append-only audit trail refers to cases by id."""
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        await Task.update({Task.status: "cancelled"}).where(
            Task.case.is_in(chunk) & (Task.status == "open")
        )
        await WorkflowState.update({WorkflowState.next_due_at: None}).where(
            WorkflowState.case.is_in(chunk)
        )
        moved: dict[tuple[str, str], int] = {}
        for r in await Case.select(Case.risk).where(Case.id.is_in(chunk) & (Case.status == "open")):
            for key, n in ((("open", r["risk"] or ""), -1), (("closed", r["risk"] or ""), 1)):
                moved[key] = moved.get(key, 0) + n
        await Case.update({Case.status: "closed"}).where(Case.id.is_in(chunk))
        await figure_counts.add_counts(moved)
