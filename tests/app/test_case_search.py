"""The case list and search (issue 14, item 1) and the record of completed forms (item 2), via
the API: scope per role, filters, sorting and cursors, the audited name search and form reads."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta

from app.route_engine import form_example
from app.services import auth, case_search
from app.tables import AuditEvent


def _unique(prefix: str) -> str:
    """A name no other test uses (the database is shared by the session)."""
    return prefix + "".join(secrets.choice("bcdfghjklmnpqrstvwxz") for _ in range(8))


async def _last_audit(action: str, username: str) -> dict:
    row = (
        await AuditEvent.select()
        .where((AuditEvent.action == action) & (AuditEvent.actor_username == username))
        .order_by(AuditEvent.id, ascending=False)
        .first()
    )
    assert row is not None, f"no {action} by {username}"
    row["changes"] = json.loads(row["changes"])
    return row


async def _all(api, username: str, **params) -> list[dict]:
    """Every page of a listing, following the cursor."""
    items, cursor = [], None
    for _ in range(100):
        query = {**params, "limit": 2} | ({"cursor": cursor} if cursor else {})
        r = await api.get(username, "/api/v1/cases", params=query)
        assert r.status_code == 200, r.text
        page = r.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items
    raise AssertionError("too many pages")


async def test_name_search_finds_only_cases_in_scope_and_is_audited(api):
    surname = _unique("Zúñiga")
    mine = await api.open_case("inm-07.officer", name=f"José {surname}")
    theirs = await api.open_case("inm-27.officer", estado="27", name=f"Josefa {surname}")
    # accents and case do not matter; every word must match
    r = await api.get("inm-07.officer", "/api/v1/cases", params={"nombre": f"jose {surname}"})
    assert r.status_code == 200, r.text
    found = r.json()["items"]
    assert [c["folio"] for c in found] == [mine]
    assert found[0]["nombre"] == f"José {surname} Prueba"
    event = await _last_audit("case.searched", "inm-07.officer")
    assert event["changes"] == {"by": "name", "filters": ["nombre"], "results": [mine]}
    assert surname.lower() not in event["changes"].__repr__().lower()  # never the name typed
    # another authority's case never appears, whatever is searched
    r = await api.get("inm-27.officer", "/api/v1/cases", params={"nombre": surname})
    assert [c["folio"] for c in r.json()["items"]] == [theirs]
    # oversight sees both states
    r = await api.get("cndh.oversight", "/api/v1/cases", params={"nombre": surname})
    assert sorted(c["folio"] for c in r.json()["items"]) == sorted([mine, theirs])
    # a list without a name search shows no names and writes no audit event
    before = await AuditEvent.count().where(AuditEvent.action == "case.searched")
    r = await api.get("inm-07.officer", "/api/v1/cases", params={"folio": mine})
    assert [(c["folio"], c["nombre"]) for c in r.json()["items"]] == [(mine, None)]
    assert await AuditEvent.count().where(AuditEvent.action == "case.searched") == before


async def test_folio_search_matches_part_of_the_folio_within_scope(api):
    folio = await api.open_case("inm-07.officer", name=_unique("Folio"))
    number = folio.rsplit("-", 1)[1]
    r = await api.get("inm-07.officer", "/api/v1/cases", params={"folio": number.lower()})
    assert folio in [c["folio"] for c in r.json()["items"]]
    r = await api.get("inm-27.officer", "/api/v1/cases", params={"folio": folio})
    assert r.json()["items"] == []


async def test_filters_stage_authority_risk_and_opening_period(api):
    surname = _unique("Etapa")
    at_inm = await api.open_case("inm-07.officer", name=f"Uno {surname}")
    at_proc = await api.open_case("inm-07.officer", name=f"Dos {surname}")
    await api.drive_until(at_proc, "determinar_acompanamiento")
    who = "cndh.oversight"
    mine = {at_inm, at_proc}

    async def folios(**params) -> set[str]:
        return {c["folio"] for c in await _all(api, who, nombre=surname, **params)}

    assert await folios() == mine
    assert await folios(stage="ruta_proteccion_nna") == mine
    assert await folios(authority="PROCURADURIA-07") == {at_proc}
    assert await folios(authority="inm-07") == {at_inm}
    assert await folios(estado="07", municipio="tapachula", status="open") == mine
    assert await folios(estado="27") == set()
    assert await folios(risk="ninguno") == mine
    assert await folios(risk="alto") == set()
    assert await folios(overdue="false") == mine
    assert await folios(opened_to="2000-01-01T00:00:00Z") == set()
    assert await folios(opened_from="2000-01-01T00:00:00Z") == mine
    rows = await _all(api, who, nombre=surname)
    by_folio = {c["folio"]: c for c in rows}
    assert by_folio[at_proc]["authorities"] == ["PROCURADURIA-07"]
    assert by_folio[at_proc]["stages"] == ["ruta_proteccion_nna"]
    assert by_folio[at_inm]["authorities"] == ["INM-07"]
    assert not by_folio[at_inm]["overdue"] and not by_folio[at_proc]["overdue"]


async def test_overdue_means_an_open_task_past_its_legal_due_date(api):
    surname = _unique("Vence")
    folio = await api.open_case("inm-07.officer", name=f"Tres {surname}")
    await api.drive_until(folio, "notificar_procuraduria")
    due = [t["due_at"] for t in await api.open_tasks(folio) if t["due_at"]]
    assert due, "the notice to the Procuraduría has a legal due date (LM art. 112 fr. I)"
    principal = await auth.principal_for_user("cndh.oversight")
    dues = [datetime.fromisoformat(d.replace("Z", "+00:00")) for d in due]
    later, before = max(dues) + timedelta(days=1), min(dues) - timedelta(minutes=1)
    for now, expected in ((later, [folio]), (before, [])):
        query = case_search.CaseQuery(nombre=surname, overdue=True)
        page = await case_search.search(principal, query, now)
        assert [c["folio"] for c in page["items"]] == expected
    page = await case_search.search(principal, case_search.CaseQuery(nombre=surname), later)
    assert page["items"][0]["overdue"] is True


async def test_sorting_and_cursor_pages_cover_every_case_once(api):
    surname = _unique("Orden")
    opened = [await api.open_case("inm-07.officer", name=f"N{i} {surname}") for i in range(5)]
    for sort in ("opened", "updated", "folio"):
        for order in ("desc", "asc"):
            rows = await _all(api, "inm-07.officer", nombre=surname, sort=sort, order=order)
            folios = [c["folio"] for c in rows]
            assert sorted(folios) == sorted(opened), (sort, order)
            expected = sorted(opened, reverse=order == "desc")  # folios grow with opening
            assert folios == expected, (sort, order)


async def test_bad_filters_answer_422_naming_the_field(api):
    for params, path in (
        ({"sort": "name"}, "$.sort"),
        ({"order": "up"}, "$.order"),
        ({"risk": "extremo"}, "$.risk"),
        ({"stage": "no_such_process"}, "$.stage"),
        ({"estado": "99"}, "$.estado"),
        ({"nombre": "a"}, "$.nombre"),
        ({"cursor": "!!"}, "$.cursor"),
    ):
        r = await api.get("inm-07.officer", "/api/v1/cases", params=params)
        assert r.status_code == 422, (params, r.text)
        assert path in r.text, (params, r.text)


async def test_shelter_lists_only_children_placed_with_it(api):
    surname = _unique("Cas")
    placed = await api.open_case("inm-07.officer", name=f"Alojada {surname}")
    await api.drive_until(placed, "admitir_en_cas")
    arriving = await api.open_case("inm-07.officer", name=f"Llega {surname}")
    await api.drive_until(arriving, "admitir_en_cas")  # the shelter holds its admission task
    await api.complete(placed, "admitir_en_cas")
    tap = "cas-07-tapachula.shelter-staff"
    listed = {c["folio"] for c in await _all(api, tap, nombre=surname)}
    assert listed == {placed}
    assert await _all(api, "cas-07-tuxtla.shelter-staff", nombre=surname) == []


async def test_completed_forms_are_read_with_who_and_when_and_the_read_is_audited(api):
    folio = await api.open_case("inm-07.officer", name=_unique("Forma"))
    detection = form_example("registrar_deteccion.schema.json")
    detection["municipio_deteccion"] = "Texto libre de la NNA"
    await api.complete(folio, "registrar_deteccion", detection)
    r = await api.get("inm-07.officer", f"/api/v1/cases/{folio}/forms")
    assert r.status_code == 200, r.text
    forms = r.json()["forms"]
    assert [f["bpmn_id"] for f in forms] == ["inicio_caso", "registrar_deteccion"]
    done = forms[1]
    assert done["data"]["municipio_deteccion"] == "Texto libre de la NNA"
    assert done["submitted_by"] == "inm-07.officer" and done["authority"] == "INM-07"
    assert done["name"] == "Registrar detección y datos iniciales de la NNA" or done["name"]
    event = await _last_audit("case.forms_read", "inm-07.officer")
    assert event["case_folio"] == folio
    assert event["changes"] == {"forms": ["inicio_caso", "registrar_deteccion"], "count": 2}
    assert "Texto libre" not in json.dumps(event["changes"])
    one = await api.get("inm-07.officer", f"/api/v1/cases/{folio}/forms/{done['task_id']}")
    assert [f["task_id"] for f in one.json()["forms"]] == [done["task_id"]]
    # another authority: 404, like the case itself
    assert (await api.get("inm-27.officer", f"/api/v1/cases/{folio}/forms")).status_code == 404
    r = await api.get("inm-07.officer", f"/api/v1/cases/{folio}/forms/no-such-task")
    assert r.status_code == 404


async def test_an_approval_task_carries_the_forms_it_approves(api):
    folio = await api.open_case("inm-07.officer", name=_unique("Aprueba"))
    task = await api.drive_until(folio, "aprobar_bia", max_steps=80)
    r = await api.get("procuraduria-07.supervisor", f"/api/v1/tasks/{task['task_id']}")
    assert r.status_code == 200, r.text
    approved = r.json()["approved_forms"]
    ids = [f["bpmn_id"] for f in approved]
    assert ids[0] == "consolidar_bia"
    assert set(ids) == {
        "consolidar_bia", "entrevista_juridica", "valoracion_psicologica",
        "estudio_trabajo_social", "opinion_nna",
    }  # fmt: skip
    bia = approved[0]
    assert bia["data"]["nivel_riesgo"] == form_example("consolidar_bia.schema.json")["nivel_riesgo"]
    event = await _last_audit("task.read", "procuraduria-07.supervisor")
    assert event["changes"]["task"] == "aprobar_bia"
    assert event["changes"]["forms"] == sorted(ids)
    # a task that approves nothing carries nothing
    other = await api.open_case("inm-07.officer", name=_unique("Nada"))
    first = (await api.open_tasks(other))[0]
    r = await api.get("inm-07.officer", f"/api/v1/tasks/{first['task_id']}")
    assert r.json()["approved_forms"] == []


async def test_migration_fills_the_record_of_cases_opened_before_it(api):
    """Cases opened before migration 0008 get their opening form and the latest submission of
    each completed task from the engine state, attributed to the task row that completed it."""
    import importlib

    from piccolo.engine import engine_finder

    from app.services.personal_data import engine_state
    from app.tables import TaskSubmission, WorkflowState

    migration = importlib.import_module(
        "app.piccolo_migrations.careroute_0010_case_search_and_forms"
    )
    folio = await api.open_case("inm-07.officer", name=_unique("Antes"))
    await api.complete(folio, "registrar_deteccion")
    before = (await api.get("inm-07.officer", f"/api/v1/cases/{folio}/forms")).json()["forms"]
    case_id = (await AuditEvent.select(AuditEvent.case_id).where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == "case.opened")).first()
    )["case_id"]  # fmt: skip
    await TaskSubmission.delete().where(TaskSubmission.case == case_id)
    # as a version before 0010 stored it: the engine state in clear (0010 runs before any key)
    await WorkflowState.update({WorkflowState.state: await engine_state(case_id)}).where(
        WorkflowState.case == case_id
    )
    await migration._backfill_submissions(engine_finder())
    after = (await api.get("inm-07.officer", f"/api/v1/cases/{folio}/forms")).json()["forms"]
    keys = ("task_id", "bpmn_id", "data", "submitted_by", "authority")
    assert [{k: f[k] for k in keys} for f in after] == [{k: f[k] for k in keys} for f in before]
    await migration._backfill_submissions(engine_finder())  # a case with a record: left alone
    assert await TaskSubmission.count().where(TaskSubmission.case == case_id) == len(before)


async def test_a_consulate_never_finds_a_case_through_its_asylum_tasks(api):
    """LRPCAP art. 9: even on a case the consulate may see, the asylum process's open tasks count
    for no filter and are not listed among the stages or responsible authorities."""
    from app.tables import Authority, CaseAccess, Task

    surname = _unique("Consul")
    folio = await api.open_case("inm-07.officer", name=f"Uno {surname}")
    case_id = (await AuditEvent.select(AuditEvent.case_id).where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == "case.opened")).first()
    )["case_id"]  # fmt: skip
    ids = {r["code"]: r["id"] for r in await Authority.select(Authority.id, Authority.code)}
    await CaseAccess.insert(CaseAccess(case=case_id, authority=ids["SRE-00"], reason="test"))
    due = datetime(2000, 1, 1, tzinfo=UTC)
    await Task.insert(
        Task(task_id=f"asylum-{case_id}", case=case_id, bpmn_id="apoyar_solicitud_asilo",
             name="x", name_en="x", process_id="referencia_comar", lane="COMAR", rol="officer",
             authority=ids["COMAR-07"], status="open", due_at=due, sort_due=due, context={})
    )  # fmt: skip
    consul = await auth.principal_for_user("sre-00.officer")
    now = datetime(2030, 1, 1, tzinfo=UTC)
    for query in (
        case_search.CaseQuery(folio=folio, stage="referencia_comar"),
        case_search.CaseQuery(folio=folio, authority="COMAR-07"),
        case_search.CaseQuery(folio=folio, overdue=True),
    ):
        assert (await case_search.search(consul, query, now))["items"] == [], query
    (item,) = (await case_search.search(consul, case_search.CaseQuery(folio=folio), now))["items"]
    assert "referencia_comar" not in item["stages"] and "COMAR-07" not in item["authorities"]
    # the same filters find it for oversight
    oversight = await auth.principal_for_user("cndh.oversight")
    query = case_search.CaseQuery(folio=folio, authority="COMAR-07", overdue=True)
    assert len((await case_search.search(oversight, query, now))["items"]) == 1
    await Task.update({Task.status: "cancelled"}).where(Task.task_id == f"asylum-{case_id}")
