"""Custody in a migration station (issue 11, LM art. 99): recorded as a fact, hours counted, the
oversight figures drawn from the custody rows, only the INM of the child's location and the
Procuraduría of the case may record it, and bad instants answer 422 naming the field."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import httpx

from app.cases import handlers
from app.cases.handlers import custody as custody_handlers
from app.route_engine import form_example, form_schema
from app.tables import (
    AuditEvent,
    Authority,
    DeadlineEscalation,
    DeadlineRegister,
    Notification,
    StationCustody,
    User,
)
from tests.app.helpers import opening_form

CHANNELLING = "emitir_acta_canalizacion"


def _z(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _authority(code: str) -> int:
    return (await Authority.select(Authority.id).where(Authority.code == code).first())["id"]


async def _case(api, detected: datetime) -> str:
    """A Chiapas case detected at ``detected``, notified to PROCURADURIA-07 (which sees it)."""
    body = {
        "form": opening_form("07", fecha_deteccion=_z(detected)),
        "identidad": {"nombres": "Custodia", "apellidos": "Prueba"},
    }
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    folio = r.json()["folio"]
    await api.complete(folio, "registrar_deteccion")
    await api.complete(folio, "notificar_procuraduria")
    return folio


async def test_inm_records_a_custody_with_hours_held_and_audit(api):
    now = datetime.now(UTC)
    folio = await _case(api, now - timedelta(days=2))
    started = now - timedelta(hours=5)
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/cases/{folio}/custody",
        json={"started_at": _z(started), "station_name": "Estación Migratoria Siglo XXI"},
    )
    assert r.status_code == 201, r.text
    rec = r.json()
    assert rec["folio"] == folio
    assert rec["station_code"] == "INM-07"  # an INM officer's own authority by default
    assert rec["station_name"] == "Estación Migratoria Siglo XXI"
    assert rec["held"] is True and rec["ended_at"] is None
    assert 5.0 <= rec["hours_held"] < 5.1  # counted to now while the child is held
    assert rec["recorded_by"] == "inm-07.officer"
    assert datetime.fromisoformat(rec["started_at"]) == started.replace(microsecond=0) or (
        abs(datetime.fromisoformat(rec["started_at"]) - started) < timedelta(seconds=1)
    )

    row = await StationCustody.select().where(StationCustody.id == rec["id"]).first()
    assert row["ended_at"] is None and row["station_authority_id"] == await _authority("INM-07")
    started_audit = await AuditEvent.select(AuditEvent.legal_basis, AuditEvent.changes).where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == "custody.started")
    )
    assert len(started_audit) == 1
    assert started_audit[0]["legal_basis"].startswith("LM art. 99")
    assert f'"custody_id":{rec["id"]}' in started_audit[0]["changes"]

    # the case page's data: the record, with the hours held so far
    detail = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()
    (shown,) = detail["custody"]
    assert shown["id"] == rec["id"] and shown["held"] and shown["hours_held"] >= 5.0
    assert "custody.started" in [e["action"] for e in detail["timeline"]]

    # a second start while the first is open: 409, nothing written
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/cases/{folio}/custody",
        json={"started_at": _z(now - timedelta(hours=1)), "station_name": "Otra"},
    )
    assert r.status_code == 409, r.text

    ended = now - timedelta(hours=1)
    r = await api.post(
        "inm-07.officer", f"/api/v1/custody/{rec['id']}/end", json={"ended_at": _z(ended)}
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["held"] is False and done["hours_held"] == 4.0
    assert done["ended_by"] == "inm-07.officer"
    r = await api.post("inm-07.officer", f"/api/v1/custody/{rec['id']}/end", json={})
    assert r.status_code == 409, r.text
    ended_audit = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_folio == folio) & (AuditEvent.action == "custody.ended")
    )
    assert len(ended_audit) == 1 and '"hours_held":4.0' in ended_audit[0]["changes"]


async def test_the_procuraduria_names_the_station_and_others_may_not_record(api):
    now = datetime.now(UTC)
    folio = await _case(api, now - timedelta(days=1))
    url = f"/api/v1/cases/{folio}/custody"
    body = {"started_at": _z(now - timedelta(hours=2)), "station_name": "Estancia provisional"}
    # the Procuraduría is no INM authority: it must say which one runs the station
    r = await api.post("procuraduria-07.officer", url, json=body)
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.station_authority_id"]
    shelter = await _authority("CAS-07-TAPACHULA")
    r = await api.post(
        "procuraduria-07.officer", url, json=body | {"station_authority_id": shelter}
    )
    assert r.status_code == 422, r.text
    assert [e["path"] for e in r.json()["errors"]] == ["$.station_authority_id"]

    # authorities that do not see the case: 404, as if it did not exist
    for username in ("inm-27.officer", "procuraduria-27.officer", "fiscalia-07.officer"):
        r = await api.post(username, url, json=body)
        assert r.status_code == 404, (username, r.text)
    r = await api.post("cndh.oversight", url, json=body)
    assert r.status_code == 403, r.text
    assert await StationCustody.count().where(StationCustody.case.folio == folio) == 0

    inm = await _authority("INM-07")
    r = await api.post("procuraduria-07.supervisor", url, json=body | {"station_authority_id": inm})
    assert r.status_code == 201, r.text
    custody_id = r.json()["id"]
    assert r.json()["recorded_by_authority"] == "PROCURADURIA-07"
    for username in ("inm-27.officer", "fiscalia-07.officer"):
        r = await api.post(username, f"/api/v1/custody/{custody_id}/end", json={})
        assert r.status_code == 404, (username, r.text)
    r = await api.post("procuraduria-07.officer", f"/api/v1/custody/{custody_id}/end", json={})
    assert r.status_code == 200, r.text
    assert r.json()["held"] is False


async def test_bad_instants_answer_422_naming_the_field(api):
    now = datetime.now(UTC)
    detected = now - timedelta(days=1)
    folio = await _case(api, detected)
    url = f"/api/v1/cases/{folio}/custody"

    async def start(started_at: str) -> list[str]:
        r = await api.post(
            "inm-07.officer", url, json={"started_at": started_at, "station_name": "EM"}
        )
        assert r.status_code == 422, r.text
        return [e["path"] for e in r.json()["errors"]]

    assert await start(_z(now + timedelta(hours=1))) == ["$.started_at"]  # future
    assert await start(_z(detected - timedelta(minutes=1))) == ["$.started_at"]  # before detection
    assert await start("2026-11-30T10:00:00") == ["$.started_at"]  # no zone
    r = await api.post("inm-07.officer", url, json={"started_at": "ayer", "station_name": "EM"})
    assert r.status_code == 400 and "started_at" in r.text  # not a date-time at all
    r = await api.post("inm-07.officer", url, json={"started_at": _z(now), "station_name": " "})
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "$.station_name"
    assert await StationCustody.count().where(StationCustody.case.folio == folio) == 0

    r = await api.post(
        "inm-07.officer", url, json={"started_at": _z(detected), "station_name": "EM"}
    )
    assert r.status_code == 201, r.text  # the detection instant itself is allowed
    end = f"/api/v1/custody/{r.json()['id']}/end"
    for ended_at in (_z(detected - timedelta(seconds=1)), _z(now + timedelta(minutes=5))):
        r = await api.post("inm-07.officer", end, json={"ended_at": ended_at})
        assert r.status_code == 422, r.text
        assert [e["path"] for e in r.json()["errors"]] == ["$.ended_at"]
    r = await api.post("inm-07.officer", end, json={"ended_at": _z(detected + timedelta(hours=3))})
    assert r.status_code == 200 and r.json()["hours_held"] == 3.0
    # a new start inside the ended record is refused; one after it is a new record
    assert await start(_z(detected + timedelta(hours=1))) == ["$.started_at"]
    r = await api.post(
        "inm-07.officer",
        url,
        json={"started_at": _z(detected + timedelta(hours=4)), "station_name": "EM"},
    )
    assert r.status_code == 201, r.text


async def test_oversight_counts_the_custody_rows(api):
    """``children_in_migration_stations`` comes from the custody records: held now equals the
    rows without an end; a period counts the records overlapping it and their hours in it."""
    detected = datetime(2021, 5, 1, 10, tzinfo=UTC)  # a period no other test records in
    folio = await _case(api, detected)
    url = f"/api/v1/cases/{folio}/custody"
    start = detected + timedelta(hours=2)
    r = await api.post(
        "inm-07.officer", url, json={"started_at": _z(start), "station_name": "EM Tapachula"}
    )
    assert r.status_code == 201, r.text
    first = r.json()["id"]
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/custody/{first}/end",
        json={"ended_at": _z(start + timedelta(hours=24))},
    )
    assert r.status_code == 200, r.text
    r = await api.post(
        "inm-07.officer",
        url,
        json={"started_at": _z(start + timedelta(hours=30)), "station_name": "EM Tapachula"},
    )
    assert r.status_code == 201, r.text  # still held

    window = {"since": _z(detected), "until": _z(detected + timedelta(days=2))}
    r = await api.get("cndh.oversight", "/api/v1/oversight/compliance", params=window)
    assert r.status_code == 200, r.text
    figures = r.json()["children_in_migration_stations"]
    # in the window: 24 h of the first record, 16 h of the second (from 18:00 on 2 May until the
    # window's end, 10:00 on 3 May)
    assert figures["records"] == 2 and figures["children"] == 1
    assert figures["hours_total"] == 40.0 and figures["median_hours"] == 20.0
    assert figures["max_hours"] == 24.0
    assert figures["legal_source"] == "LM art. 99"
    # a window inside the first record: only its hours within the window
    inside = {"since": _z(start + timedelta(hours=12)), "until": _z(start + timedelta(hours=20))}
    r = await api.get("cndh.oversight", "/api/v1/oversight/compliance", params=inside)
    figures = r.json()["children_in_migration_stations"]
    assert (figures["records"], figures["hours_total"], figures["max_hours"]) == (1, 8.0, 8.0)

    r = await api.get("cndh.oversight", "/api/v1/oversight/compliance")
    figures = r.json()["children_in_migration_stations"]
    held = await StationCustody.select(StationCustody.case).where(StationCustody.ended_at.is_null())
    assert figures["held_now"] == len({h["case_id"] for h in held}) >= 1
    assert figures["records"] == await StationCustody.count()


async def test_a_custody_is_a_breach_at_once_in_the_register_and_closes_when_the_child_leaves(api):
    """LM art. 99 has no term to run: the custody is a breach from its first instant, recorded
    for oversight (level 3 notice to every oversight user), and its lateness is the time held."""
    now = datetime.now(UTC).replace(microsecond=0)
    folio = await _case(api, now - timedelta(days=2))
    started = now - timedelta(hours=7)
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/cases/{folio}/custody",
        json={"started_at": _z(started), "station_name": "Estación Migratoria Siglo XXI"},
    )
    assert r.status_code == 201, r.text
    custody_id = r.json()["id"]
    key = f"custody-{custody_id}"
    [row] = await DeadlineRegister.select().where(DeadlineRegister.deadline_key == key)
    assert (row["plazo_id"], row["status"]) == ("D4_estacion_migratoria", "breached")
    assert row["started_at"] == started and row["due_at"] == started == row["breached_at"]
    assert row["closed_at"] is None and row["authority_id"] == await _authority("INM-07")
    breach = await DeadlineEscalation.select().where(DeadlineEscalation.task_id == key)
    assert [(b["plazo_id"], b["level"]) for b in breach] == [("D4_estacion_migratoria", 3)]
    oversight_notes = await Notification.count().where(Notification.task_id == key)
    assert oversight_notes == await User.count().where(
        (User.role == "oversight") & (User.active.eq(True))
    )
    listed = await api.get(
        "cndh.oversight",
        "/api/v1/oversight/deadlines",
        params={"deadline": "D4_estacion_migratoria", "status": "breached_open", "limit": 200},
    )
    assert any(item["case_folio"] == folio for item in listed.json()["items"])

    ended = now - timedelta(hours=2)
    r = await api.post(
        "inm-07.officer", f"/api/v1/custody/{custody_id}/end", json={"ended_at": _z(ended)}
    )
    assert r.status_code == 200, r.text
    [row] = await DeadlineRegister.select().where(DeadlineRegister.deadline_key == key)
    assert row["status"] == "breached" and row["closed_at"] == ended
    assert row["closed_at"] - row["due_at"] == timedelta(hours=5)  # the hours held


def test_the_custody_handlers_are_wired_row_first():
    """The row is written before anything reads the event's ``custody_id``."""
    assert handlers.PROJECTIONS["custody_started"][0] is custody_handlers.write_started
    assert custody_handlers.audit_started in handlers.PROJECTIONS["custody_started"]
    assert handlers.PROJECTIONS["custody_ended"][0] is custody_handlers.write_ended
    assert custody_handlers.record_from_channelling in handlers.POLICIES["task_completed"]


async def _channelling_case(api, detected: datetime) -> str:
    """A case whose open task is INM's ``emitir_acta_canalizacion``."""
    body = {
        "form": opening_form("07", fecha_deteccion=_z(detected)),
        "identidad": {"nombres": "Acta", "apellidos": "Prueba"},
    }
    r = await api.post("inm-07.officer", "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    folio = r.json()["folio"]
    await api.complete(folio, "registrar_deteccion")
    await api.complete(folio, "notificar_procuraduria")
    return folio


async def _complete_acta(api, folio: str, **data) -> httpx.Response:
    (task,) = [t for t in await api.open_tasks(folio) if t["bpmn_id"] == CHANNELLING]
    payload = form_example(f"{CHANNELLING}.schema.json") | data
    return await api.post(
        "inm-07.officer", f"/api/v1/tasks/{task['task_id']}/complete", json={"data": payload}
    )


async def test_the_channelling_record_says_where_the_child_was_and_a_station_is_a_custody(api):
    """No field attests that LM art. 99 was kept: the acta records where the child was; a
    migration station becomes a custody record from ``estancia_desde`` to the hand-over."""
    schema = form_schema(f"{CHANNELLING}.schema.json")
    assert "nna_a_disposicion_dif" not in schema["properties"]
    assert not [k for k, p in schema["properties"].items() if p.get("const") is True]

    now = datetime.now(UTC)
    detected = now - timedelta(hours=30)
    folio = await _channelling_case(api, detected)
    station = {"lugar_antes_canalizacion": "estacion_migratoria"}
    r = await _complete_acta(api, folio, **station)  # which station, since when: required
    assert r.status_code == 422, r.text
    paths = {e["path"] for e in r.json()["errors"]}
    assert paths == {"$.data.estacion_nombre", "$.data.estancia_desde"}
    station |= {
        "estacion_nombre": "Estación Migratoria Siglo XXI",
        "fecha_hora_puesta_disposicion_dif": _z(now - timedelta(hours=2)),
    }
    r = await _complete_acta(
        api, folio, **station, estancia_desde=_z(detected - timedelta(hours=1))
    )
    assert r.status_code == 422, r.text  # before the detection
    assert [e["path"] for e in r.json()["errors"]] == ["$.data.estancia_desde"]
    assert await StationCustody.count().where(StationCustody.case.folio == folio) == 0

    r = await _complete_acta(api, folio, **station, estancia_desde=_z(detected))
    assert r.status_code == 200, r.text
    (rec,) = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()["custody"]
    assert rec["station_code"] == "INM-07" and rec["station_name"] == station["estacion_nombre"]
    assert rec["held"] is False and rec["hours_held"] == 28.0
    assert rec["recorded_by"] == "inm-07.officer"


async def test_the_channelling_record_ends_a_custody_already_recorded(api):
    now = datetime.now(UTC)
    detected = now - timedelta(hours=10)
    folio = await _channelling_case(api, detected)
    r = await api.post(
        "inm-07.officer",
        f"/api/v1/cases/{folio}/custody",
        json={"started_at": _z(detected + timedelta(hours=1)), "station_name": "EM"},
    )
    assert r.status_code == 201, r.text
    r = await _complete_acta(
        api,
        folio,
        lugar_antes_canalizacion="lugar_habilitado",
        estacion_nombre="EM",
        estancia_desde=_z(detected + timedelta(hours=1)),
        fecha_hora_puesta_disposicion_dif=_z(detected + timedelta(hours=7)),
    )
    assert r.status_code == 200, r.text
    (rec,) = (await api.get("cndh.oversight", f"/api/v1/cases/{folio}")).json()["custody"]
    assert rec["held"] is False and rec["hours_held"] == 6.0


def test_no_form_makes_an_officer_attest_lm_article_99():
    """A field citing LM art. 99 records what happened: it never has a single allowed value."""
    from workflows.route_files import forms_dir

    attesting = []
    for path in sorted(forms_dir().glob("*.schema.json")):
        schema = form_schema(path.name)
        for name, prop in (schema.get("properties") or {}).items():
            if "art. 99" in str(prop.get("description", "")) and "const" in prop:
                attesting.append(f"{path.name}: {name}")
    assert attesting == []


async def test_the_example_channelling_record_records_no_custody(api):
    folio = await _channelling_case(api, datetime.now(UTC) - timedelta(hours=3))
    r = await _complete_acta(api, folio)
    assert r.status_code == 200, r.text
    assert await StationCustody.count().where(StationCustody.case.folio == folio) == 0


async def test_concurrent_custody_records_of_one_case_one_wins(api):
    """Recording a custody reads the case's records, then writes (no overlap allowed): eight
    officers recording the same stay at once give one 201 and 409s, one row, one breach row
    in the register, one audit event (the case's lock serialises them; on PostgreSQL too)."""
    now = datetime.now(UTC).replace(microsecond=0)
    folio = await _case(api, now - timedelta(days=2))
    body = {"started_at": _z(now - timedelta(hours=3)), "station_name": "Siglo XXI"}
    results = await asyncio.gather(
        *(api.post("inm-07.officer", f"/api/v1/cases/{folio}/custody", json=body) for _ in range(8))
    )
    assert sorted(r.status_code for r in results) == [201] + [409] * 7, [r.text for r in results]
    case_id = (
        await AuditEvent.select(AuditEvent.case_id).where(AuditEvent.case_folio == folio).first()
    )["case_id"]
    assert await StationCustody.count().where(StationCustody.case == case_id) == 1
    assert (
        await DeadlineRegister.count().where(
            (DeadlineRegister.case == case_id)
            & (DeadlineRegister.plazo_id == "D4_estacion_migratoria")
        )
        == 1
    )
    assert (
        await AuditEvent.count().where(
            (AuditEvent.case_folio == folio) & (AuditEvent.action == "custody.started")
        )
        == 1
    )
