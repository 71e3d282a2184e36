"""The engine state, the case variables and the consent records' free text are encrypted with the
case's data key (issue 16, item 2); ``careroute retencion cifrar`` seals what an older version
wrote in clear; after an erasure no role reads the engine state's answers, through the API, the
pages or the database, and the audit chain verifies."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

from app import audit, datakeys
from app.clock import utcnow
from app.main import create_app
from app.principal import SYSTEM
from app.route_engine import form_example
from app.services import encryption, personal_data, retention
from app.tables import (
    AuditEvent,
    Case,
    CaseDataKey,
    CaseIdentity,
    CaseNameToken,
    CaseNote,
    CaseRetention,
    DataConsent,
    PrivacyNotice,
    TaskSubmission,
    WorkflowState,
)
from tests.app.helpers import CONSENT, NOTICE
from tests.app.test_reopen import closed_case
from tests.web.conftest import Browser

SECRET = "Relato: su tío la amenazó en Tecún Umán"
OPINION = "Dice que prefiere que no llamen a su mamá"
REMARK = "Se le explicó con dibujos; lloró al final"
EVERYONE = (
    "inm-07.officer",
    "procuraduria-07.officer",
    "procuraduria-07.supervisor",
    "cndh.oversight",
    "sistema.admin",
    "procuraduria-07.proteccion-datos",
)


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


def _free_text_field(schema_name: str) -> str | None:
    """A free text property of a form (no catalog, no format)."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "forms" / schema_name
    props = json.loads(path.read_text()).get("properties", {}) if path.exists() else {}
    for name, prop in props.items():
        if prop.get("type") == "string" and not ({"enum", "format", "pattern"} & set(prop)):
            return name
    return None


async def _case_with_answers(api) -> tuple[str, int]:
    """An open case whose first forms carry a narrative answer, with a notice and a consent."""
    folio = await api.open_case(name="Cifradita")
    written = False
    for _ in range(6):
        tasks = sorted(await api.open_tasks(folio), key=lambda t: t["bpmn_id"])
        task = tasks[0]
        payload = form_example(f"{task['bpmn_id']}.schema.json")
        field = _free_text_field(f"{task['bpmn_id']}.schema.json")
        if field:
            payload[field] = SECRET
            written = True
        await api.complete(folio, task["bpmn_id"], payload)
        if written:
            break
    assert written, "no form with free text in the first steps"
    for _ in range(15):  # until the Procuraduría, which records consents, holds the case
        try:
            officer = await api.procuraduria_officer(folio)
            break
        except AssertionError:
            tasks = sorted(await api.open_tasks(folio), key=lambda t: t["bpmn_id"])
            await api.complete(folio, tasks[0]["bpmn_id"])
    r = await api.post(
        officer, f"/api/v1/cases/{folio}/privacy-notices", json=NOTICE | {"observaciones": REMARK}
    )
    assert r.status_code == 201, r.text
    r = await api.post(
        officer,
        f"/api/v1/cases/{folio}/consents",
        json=CONSENT | {"destinatario": "acnur", "opinion_nna_texto": OPINION, "razones": REMARK},
    )
    assert r.status_code == 201, r.text
    return folio, await _case_id(folio)


async def _raw_rows(case_id: int) -> str:
    """Every stored value of the case that may hold personal data, as the database has it."""
    rows = [
        await WorkflowState.select(WorkflowState.state).where(WorkflowState.case == case_id),
        await Case.select(Case.variables, Case.summary).where(Case.id == case_id),
        await CaseIdentity.select().where(CaseIdentity.case == case_id),
        await TaskSubmission.select(TaskSubmission.data).where(TaskSubmission.case == case_id),
        await PrivacyNotice.select().where(PrivacyNotice.case == case_id),
        await DataConsent.select().where(DataConsent.case == case_id),
    ]
    return json.dumps(rows, default=str, ensure_ascii=False)


def _clear_values(raw: str) -> list[str]:
    return [s for s in (SECRET, OPINION, REMARK, "Cifradita", "fecha_nacimiento") if s in raw]


async def test_engine_state_variables_and_consent_text_are_encrypted_and_read_back(api):
    folio, case_id = await _case_with_answers(api)
    assert _clear_values(await _raw_rows(case_id)) == []
    state = (
        await WorkflowState.select(WorkflowState.state).where(WorkflowState.case == case_id).first()
    )["state"]
    assert state.startswith(datakeys.PREFIX)
    variables = (
        await Case.select(Case.variables).where(Case.id == case_id).first().output(load_json=True)
    )["variables"]
    assert set(variables) == {datakeys.JSON_FIELD}
    # the service decrypts: the engine state (its forms), the variables, the consent records
    assert SECRET in (await personal_data.engine_state(case_id))
    r = await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")
    assert r.status_code == 200, r.text
    assert r.json()["case"]["variables"]["jurisdiccion"] == "07"
    r = await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}/data-protection")
    body = r.json()
    assert body["avisos"][0]["observaciones"] == REMARK
    assert (
        body["consentimientos"][0]["opinion_nna_texto"],
        body["consentimientos"][0]["razones"],
    ) == (
        OPINION,
        REMARK,
    )
    # the case goes on: a further completion restores the encrypted state and seals it again
    tasks = sorted(await api.open_tasks(folio), key=lambda t: t["bpmn_id"])
    await api.complete(folio, tasks[0]["bpmn_id"])
    assert _clear_values(await _raw_rows(case_id)) == []


async def _write_in_clear(case_id: int) -> None:
    """Rewrite the case's rows as a version before the data keys wrote them."""
    opener = await personal_data.Opener.of(case_id)
    ws = await WorkflowState.select(WorkflowState.state).where(WorkflowState.case == case_id)
    await WorkflowState.update({WorkflowState.state: opener.state(ws[0]["state"])}).where(
        WorkflowState.case == case_id
    )
    case = await Case.select(Case.variables).where(Case.id == case_id).first()
    await Case.update({Case.variables: opener.variables(case["variables"])}).where(
        Case.id == case_id
    )
    ident = await CaseIdentity.select(CaseIdentity.data).where(CaseIdentity.case == case_id)
    await CaseIdentity.update(
        {
            CaseIdentity.data: opener.json(personal_data.IDENTITY, ident[0]["data"]),
            CaseIdentity.search_name: "cifradita prueba",
        }
    ).where(CaseIdentity.case == case_id)
    await CaseNameToken.delete().where(CaseNameToken.case == case_id)
    for row in await TaskSubmission.select().where(TaskSubmission.case == case_id):
        await TaskSubmission.update(
            {TaskSubmission.data: json.dumps(opener.form(row["data"]), ensure_ascii=False)}
        ).where(TaskSubmission.id == row["id"])
    await CaseNote.insert(CaseNote(case=case_id, body=SECRET, created_at=utcnow()))
    await PrivacyNotice.update({PrivacyNotice.observaciones: REMARK}).where(
        PrivacyNotice.case == case_id
    )
    await DataConsent.update(
        {DataConsent.opinion_nna_texto: OPINION, DataConsent.razones: REMARK}
    ).where(DataConsent.case == case_id)
    # and no data key yet, as before migration 0017
    await CaseDataKey.delete().where(CaseDataKey.case == case_id)


async def _sealed_everywhere() -> list[str]:
    """Every value of every encrypted kind that is still in clear (``table.column#id``)."""
    found = []
    for table, column, _aad, how in encryption.COLUMNS:
        key = "id" if table == "nna_case" else "case_id"
        rows = await Case.raw(
            f"SELECT id, {key} AS case_id, {column} AS value FROM {table}"  # noqa: S608
            f" WHERE {column} IS NOT NULL"
        )
        found += [f"{table}.{column}#{r['id']}" for r in rows if encryption._clear(r["value"], how)]
    return found


async def test_the_backfill_encrypts_every_clear_row_and_everything_still_reads(api, tmp_path):
    folio, case_id = await _case_with_answers(api)
    await _write_in_clear(case_id)
    assert set(_clear_values(await _raw_rows(case_id))) >= {SECRET, OPINION, REMARK, "Cifradita"}
    # an old identity in clear is read as it is
    r = await api.get("inm-07.officer", f"/api/v1/cases/{folio}/identity")
    assert r.json()["identidad"]["nombres"] == "Cifradita"

    progress = await encryption.encrypt_all(SYSTEM, size=3)
    assert progress.cases_sealed >= 1 and progress.values["workflow_state.state"] >= 1
    assert await _sealed_everywhere() == []
    assert _clear_values(await _raw_rows(case_id)) == []
    note = await CaseNote.select(CaseNote.body).where(CaseNote.case == case_id)
    assert all(n["body"].startswith(datakeys.PREFIX) for n in note)
    # one audit event for the case, naming counts, never the content
    events = await AuditEvent.select(AuditEvent.changes).where(
        (AuditEvent.case_id == case_id) & (AuditEvent.action == "case.data_encrypted")
    )
    assert len(events) == 1
    changes = json.loads(events[0]["changes"])
    assert changes["sealed"]["workflow_state.state"] == 1
    assert changes["sealed"]["data_consent.opinion_nna_texto"] == 1
    assert SECRET not in events[0]["changes"] and OPINION not in events[0]["changes"]

    # everything reads through the API as before, the name search included (the blind index)
    r = await api.get("inm-07.officer", f"/api/v1/cases/{folio}/identity")
    assert r.json()["identidad"]["nombres"] == "Cifradita"
    r = await api.get("inm-07.officer", "/api/v1/cases", params={"nombre": "cifradi"})
    assert folio in {c["folio"] for c in r.json()["items"]}
    r = await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}/data-protection")
    assert r.json()["consentimientos"][0]["opinion_nna_texto"] == OPINION
    assert r.json()["avisos"][0]["observaciones"] == REMARK
    r = await api.get("procuraduria-07.officer", f"/api/v1/cases/{folio}")
    assert r.json()["case"]["variables"]["jurisdiccion"] == "07"
    assert SECRET in (await personal_data.engine_state(case_id))
    tasks = sorted(await api.open_tasks(folio), key=lambda t: t["bpmn_id"])
    await api.complete(folio, tasks[0]["bpmn_id"])  # the command path loads it and goes on

    # idempotent: a second run seals nothing and audits nothing
    before = await AuditEvent.count()
    again = await encryption.encrypt_all(SYSTEM, size=50)
    assert (again.cases_sealed, again.total) == (0, 0)
    assert await AuditEvent.count() == before
    assert (await audit.verify()).ok


def test_the_cli_encrypts_prints_counts_and_fails_clearly(tmp_path, monkeypatch):
    """``careroute retencion cifrar`` on a database with a row in clear, then on a bad batch
    size (exit 2) and on a database it cannot open (exit 1 and the reason)."""
    db = tmp_path / "cifrar.db"
    env = {**__import__("os").environ, "CAREROUTE_DB": str(db)}
    env.pop("DATABASE_URL", None)
    run = [sys.executable, "-m", "app.cli", "--db", str(db)]
    out = subprocess.run(
        [*run, "demo"], capture_output=True, text=True, env=env, check=False, timeout=600
    )
    assert out.returncode == 0, out.stderr[-2000:]
    import sqlite3

    con = sqlite3.connect(db)
    case_id = con.execute("SELECT min(id) FROM nna_case").fetchone()[0]
    con.execute(
        "UPDATE case_note SET body = ? WHERE id = (SELECT min(id) FROM case_note)", (SECRET,)
    )
    con.execute(
        "INSERT INTO case_text (case_id, action, field, text, created_at)"
        " VALUES (?, 'case.relocated', 'motivo', ?, '2026-01-01T00:00:00+00:00')",
        (case_id, SECRET),
    )
    con.commit()
    out = subprocess.run(
        [*run, "retencion", "cifrar", "--por", "Lic. N. (DPO)", "--lote", "7"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "cifrado terminado" in out.stdout and "case_text.text: 1" in out.stdout
    assert "lote 1:" in out.stdout
    left = con.execute("SELECT count(*) FROM case_text WHERE text = ?", (SECRET,)).fetchone()[0]
    assert left == 0
    con.close()
    out = subprocess.run(
        [*run, "retencion", "cifrar", "--por", "x", "--lote", "0"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    assert out.returncode == 2 and "--lote" in out.stderr
    out = subprocess.run(
        [*run, "audit", "verify"], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr


async def test_after_erasure_no_role_reads_the_engine_state_answers(api):
    folio = await closed_case("Borradita")
    case_id = await _case_id(folio)
    backup_state = (
        await WorkflowState.select(WorkflowState.state).where(WorkflowState.case == case_id).first()
    )["state"]
    backup_vars = (await Case.select(Case.variables).where(Case.id == case_id).first())["variables"]
    assert backup_state.startswith(datakeys.PREFIX)
    assert "inicio_caso" in await personal_data.engine_state(case_id)  # readable while it lives

    closed = (await Case.select(Case.closed_at).where(Case.id == case_id).first())["closed_at"]
    await retention.sweep(closed + timedelta(minutes=1), cases=[case_id])
    clock = await CaseRetention.select().where(CaseRetention.case == case_id).first()
    await retention.sweep(clock["block_at"] + timedelta(seconds=1), cases=[case_id])
    await retention.sweep(clock["erase_at"] + timedelta(seconds=1), cases=[case_id])

    # the database: the row is gone, the variables emptied, and a copy taken before (a backup)
    # no longer decrypts
    assert await WorkflowState.count().where(WorkflowState.case == case_id) == 0
    assert await personal_data.engine_state(case_id) is None
    keys_now = await datakeys.existing_keys([case_id])
    for value, opening in (
        (backup_state, lambda k: datakeys.open_state(k, case_id, backup_state)),
        (
            backup_vars,
            lambda k: datakeys.open_json(k, case_id, datakeys.VARIABLES, backup_vars),
        ),
    ):
        try:
            opening(keys_now[case_id])
        except datakeys.DataErased:
            continue
        raise AssertionError(f"an erased value was decrypted: {str(value)[:40]}")
    raw = await Case.select(Case.variables).where(Case.id == case_id).first().output(load_json=True)
    assert raw["variables"] == {}
    # every role, through the API and the pages
    for who in EVERYONE:
        for url in (
            f"/api/v1/cases/{folio}",
            f"/api/v1/cases/{folio}/representative",
            f"/api/v1/cases/{folio}/data-protection",
            f"/api/v1/cases/{folio}/forms",
        ):
            r = await api.get(who, url)
            assert r.status_code in (403, 404), (who, url, r.status_code)
            assert "inicio_caso" not in r.text and "Borradita" not in r.text
        browser = Browser(create_app(manage_db=False))
        try:
            await browser.login(who)
            for url in (f"/cases/{folio}", f"/cases/{folio}/expediente"):
                page = await browser.get(url)
                assert page.status_code in (403, 404), (who, url, page.status_code)
                assert "Borradita" not in page.text
        finally:
            await browser.close()
    result = await audit.verify()
    assert result.ok, result.reason
