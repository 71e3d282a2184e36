"""Privacy notice, consent to share a child's data with third parties, and the security incident
log (issue 16, items 4 and 5).

Every path that shares data checks the consent or the legal basis that replaces it (the API's
task completion and the page's), the consular block wins over any consent, a withdrawal stops
further sharing, and a refusal writes nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from app.data_protection_rules import (
    CONSENT_RULE,
    CONSENT_SOURCE,
    CONSULAR_RULE,
    NOTICE_RULE,
    may_share,
    rules,
)
from app.route_engine import form_example
from app.tables import AuditEvent, Case, Task
from tests.app.helpers import CONSENT, NOTICE, user_for
from tests.web.conftest import Browser

PROCURADURIA = "procuraduria-07.officer"
SUPERVISOR = "procuraduria-07.supervisor"
OTHER_PROCURADURIA = "procuraduria-27.officer"
SECRET = "La niña dice que su tío la amenazó en Tapachula"


async def _case_id(folio: str) -> int:
    return (await Case.select(Case.id).where(Case.folio == folio).first())["id"]


async def _events(folio: str, action: str | None = None) -> list[dict]:
    q = AuditEvent.select(AuditEvent.id, AuditEvent.action, AuditEvent.changes).where(
        AuditEvent.case_id == await _case_id(folio)
    )
    if action:
        q = q.where(AuditEvent.action == action)
    return [
        r | {"changes": json.loads(r["changes"] or "{}")} for r in await q.order_by(AuditEvent.id)
    ]


async def _complete(api, task: dict, data: dict):
    return await api.post(
        user_for(task["authority"], task["rol"]),
        f"/api/v1/tasks/{task['task_id']}/complete",
        json={"data": data},
    )


async def _still_open(task: dict) -> bool:
    row = await Task.select(Task.status).where(Task.task_id == task["task_id"]).first()
    return row["status"] == "open"


async def _notice(api, folio: str, **kw) -> int:
    r = await api.post(PROCURADURIA, f"/api/v1/cases/{folio}/privacy-notices", json=NOTICE | kw)
    assert r.status_code == 201, r.text
    return r.json()["notice_id"]


async def _consent(api, folio: str, recipient: str, user: str = PROCURADURIA, **kw):
    """Record a consent (``kw`` overrides); the representative's opinion when the case has one
    (unless ``kw`` says otherwise)."""
    body = CONSENT | {"destinatario": recipient}
    rep = await api.get("cndh.oversight", f"/api/v1/cases/{folio}/representative")
    if rep.json()["representacion"]:
        body["opinion_representante"] = "de_acuerdo"
    body = {k: v for k, v in (body | kw).items() if v is not None}
    return await api.post(user, f"/api/v1/cases/{folio}/consents", json=body)


async def test_sharing_with_a_consulate_without_consent_is_refused_on_every_path(api):
    folio = await api.open_case()
    tracing = await api.drive_until(folio, "localizar_via_consular")
    data = form_example("localizar_via_consular.schema.json")
    before = len(await _events(folio))

    # 1. the API: 409 naming the rule and its source; nothing written, the task still open
    r = await _complete(api, tracing, data)
    assert r.status_code == 409, r.text
    assert r.json()["guarantee"] == CONSENT_RULE
    assert r.json()["legal_source"] == CONSENT_SOURCE
    assert [e["path"] for e in r.json()["errors"]] == ["$.data"]
    assert await _still_open(tracing)
    assert len(await _events(folio)) == before

    # 2. the page the consulate completes its task on: the same refusal (409), nothing written
    from app.main import create_app

    browser = Browser(create_app(manage_db=False))
    try:
        await browser.login(user_for(tracing["authority"], tracing["rol"]))
        page = await browser.get(f"/tasks/{tracing['task_id']}")
        assert page.status_code == 200
        posted = {
            "fecha_solicitud": data["fecha_solicitud"],
            "pais_consulado": "HND",
            "nacionalidad": "confirmada",
            "familia_localizada": "false",
        }
        r = await browser.post(f"/tasks/{tracing['task_id']}", posted)
        assert r.status_code == 409, r.text[:500]
        assert await _still_open(tracing)
    finally:
        await browser.close()
    assert not await _events(folio, "task.completed") or all(
        e["changes"].get("task") != "localizar_via_consular"
        for e in await _events(folio, "task.completed")
    )

    # 3. a refusal on file refuses too; a consent needs the privacy notice given first
    r = await _consent(api, folio, "consulado", decision="rechaza", opinion_nna="en_desacuerdo")
    assert r.status_code == 201, r.text
    assert (await _complete(api, tracing, data)).status_code == 409
    r = await _consent(api, folio, "consulado")
    assert r.status_code == 409, r.text
    assert r.json()["guarantee"] == NOTICE_RULE

    # 4. notice given, consent recorded: the completion goes through and says on what
    await _notice(api, folio, observaciones=SECRET)
    r = await _consent(api, folio, "consulado", opinion_nna_texto=SECRET)
    assert r.status_code == 201, r.text
    r = await _complete(api, tracing, data)
    assert r.status_code == 200, r.text
    [shared] = await _events(folio, "case.data_transferred")
    assert shared["changes"]["task"] == "localizar_via_consular"
    assert shared["changes"]["destinatarios"] == [
        {"destinatario": "consulado", "fundamento": "consentimiento"}
    ]
    # no free text about the child anywhere in the trail: digests only
    trail = json.dumps([e["changes"] for e in await _events(folio)], ensure_ascii=False)
    assert SECRET not in trail
    [given] = await _events(folio, "case.privacy_notice_given")
    assert set(given["changes"]["texts"]) == {"observaciones"}


async def test_a_withdrawal_stops_further_sharing_and_is_audited(api):
    folio = await api.open_case()
    other = await api.drive_until(folio, "localizar_otras_vias")
    data = form_example("localizar_otras_vias.schema.json") | {"vias_utilizadas": ["acnur", "oim"]}
    await _notice(api, folio)
    acnur = (await _consent(api, folio, "acnur")).json()["consent_id"]
    assert (await _consent(api, folio, "oim")).status_code == 201
    url = f"/api/v1/cases/{folio}/consents/{acnur}/withdraw"
    r = await api.post(PROCURADURIA, url, json={"retirado_por": "nna", "motivo": SECRET})
    assert r.status_code == 200, r.text
    r = await api.post(PROCURADURIA, url, json={"retirado_por": "nna"})
    assert r.status_code == 409  # once
    r = await _complete(api, other, data)
    assert r.status_code == 409, r.text
    assert r.json()["guarantee"] == CONSENT_RULE
    assert [e["path"] for e in r.json()["errors"]] == ["$.data.vias_utilizadas"]
    assert "acnur" in r.json()["errors"][0]["message"]
    [withdrawn] = await _events(folio, "case.data_consent_withdrawn")
    assert withdrawn["changes"]["destinatario"] == "acnur"
    assert withdrawn["changes"]["retirado_por"] == "nna"
    assert SECRET not in json.dumps(withdrawn["changes"], ensure_ascii=False)
    # sharing with the one still consented goes on
    r = await _complete(api, other, data | {"vias_utilizadas": ["oim", "familiares_conocidos"]})
    assert r.status_code == 200, r.text
    register = (await api.get(PROCURADURIA, f"/api/v1/cases/{folio}/data-protection")).json()
    status = {s["destinatario"]: s for s in register["estado"]}
    assert status["acnur"]["permitido"] is False and status["oim"]["permitido"] is True
    assert [c["withdrawn_at"] is not None for c in register["consentimientos"]] == [True, False]


async def test_the_consular_block_wins_over_any_consent(api):
    folio = await api.open_case()
    await api.drive_until(folio, "localizar_via_consular")
    await _notice(api, folio)
    assert (await _consent(api, folio, "consulado")).status_code == 201
    r = await api.post(
        SUPERVISOR,
        f"/api/v1/cases/{folio}/consents",
        json={
            "destinatario": "consulado",
            "destinatario_nombre": "Consulado de Honduras",
            "finalidad": "localizacion_familiar",
            "decision": "base_legal",
            "base_legal": "orden_autoridad",
            "referencia_documento": "Oficio 123/2026",
        },
    )
    assert r.status_code == 201, r.text
    url = f"/api/v1/cases/{folio}/data-protection"
    status = {s["destinatario"]: s for s in (await api.get(PROCURADURIA, url)).json()["estado"]}
    assert status["consulado"]["permitido"] is True
    # the child fears return: consent and legal basis notwithstanding, nothing goes to the
    # consulate (LRPCAP art. 21)
    r = await api.post(
        PROCURADURIA,
        f"/api/v1/cases/{folio}/fear-of-return",
        json={"motivos": ["temor_retorno"]},
    )
    assert r.status_code == 200, r.text
    status = {s["destinatario"]: s for s in (await api.get(PROCURADURIA, url)).json()["estado"]}
    assert status["consulado"] == {
        "destinatario": "consulado",
        "permitido": False,
        "fundamento": None,
        "regla": CONSULAR_RULE,
    }
    # the rule the completion applies, on the records of this case
    consents = [
        {"id": 1, "destinatario": "consulado", "decision": "consiente", "withdrawn_at": None},
        {
            "id": 2,
            "destinatario": "consulado",
            "decision": "base_legal",
            "base_legal": "orden_autoridad",
            "withdrawn_at": None,
        },
    ]
    assert may_share("consulado", consents, consular_blocked=True).rule == CONSULAR_RULE
    assert may_share("consulado", consents, consular_blocked=False).on == "orden_autoridad"
    assert may_share("acnur", consents, consular_blocked=True).rule == CONSENT_RULE


async def test_a_legal_basis_replaces_consent_only_where_configured(api):
    folio = await api.open_case()
    other = await api.drive_until(folio, "localizar_otras_vias")
    body = {
        "destinatario_nombre": "Cruz Roja Mexicana",
        "finalidad": "localizacion_familiar",
        "decision": "base_legal",
        "base_legal": "defensa_derechos",
        "referencia_documento": "Requerimiento 9/2026",
    }
    url = f"/api/v1/cases/{folio}/consents"
    r = await api.post(PROCURADURIA, url, json=body | {"destinatario": "cicr"})
    assert r.status_code == 403  # an officer does not decide the basis
    r = await api.post(SUPERVISOR, url, json=body | {"destinatario": "cicr"})
    assert r.status_code == 422  # defensa_derechos is not applied to the ICRC here
    assert [e["path"] for e in r.json()["errors"]] == ["$.base_legal"]
    assert "defensa_derechos" not in {
        b.key for b in rules().bases.values() if "cicr" in b.destinatarios
    }
    r = await api.post(
        SUPERVISOR, url, json=body | {"destinatario": "cicr", "base_legal": "emergencia"}
    )
    assert r.status_code == 201, r.text
    data = form_example("localizar_otras_vias.schema.json")  # ICRC and known relatives
    r = await _complete(api, other, data)
    assert r.status_code == 200, r.text
    [shared] = await _events(folio, "case.data_transferred")
    assert shared["changes"]["destinatarios"] == [
        {"destinatario": "cicr", "fundamento": "emergencia"}
    ]


async def test_consent_records_the_childs_and_the_representatives_opinion(api):
    folio = await api.open_case()
    await api.drive_until(folio, "designar_representante")
    await api.complete(folio, "designar_representante")
    await _notice(api, folio, entregado_a="nna_y_representante")
    r = await _consent(api, folio, "acnur", opinion_representante=None)
    assert r.status_code == 422  # the case has a representative: their opinion is recorded
    assert [e["path"] for e in r.json()["errors"]] == ["$.opinion_representante"]
    r = await _consent(
        api, folio, "acnur", opinion_representante="de_acuerdo", forma="verbal",
        opinion_nna="en_desacuerdo",
    )  # fmt: skip
    assert r.status_code == 422  # in writing (art. 15), and reasons against the child's opinion
    assert sorted(e["path"] for e in r.json()["errors"]) == ["$.forma", "$.razones"]
    r = await _consent(
        api, folio, "acnur", opinion_representante="de_acuerdo",
        otorgado_por="nna_y_representante", opinion_nna_texto=SECRET,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    register = (await api.get(PROCURADURIA, f"/api/v1/cases/{folio}/data-protection")).json()
    [consent] = register["consentimientos"]
    assert consent["opinion_nna"] == "de_acuerdo"
    assert consent["opinion_representante"] == "de_acuerdo"
    assert consent["representante_usuario"]
    assert consent["privacy_notice_id"] == register["avisos"][0]["id"]
    assert consent["opinion_nna_texto"] == SECRET  # in the record, never in the trail
    [event] = await _events(folio, "case.data_consent_recorded")
    assert SECRET not in json.dumps(event["changes"], ensure_ascii=False)
    assert sorted(event["changes"]["texts"]) == ["destinatario_nombre", "opinion_nna_texto"]
    # the read is audited
    assert await _events(folio, "case.data_protection_read")


async def test_notice_fields_are_checked_and_named(api):
    folio = await api.open_case()
    await api.drive_until(folio, "determinar_acompanamiento")  # the Procuraduría has the case
    url = f"/api/v1/cases/{folio}/privacy-notices"
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    r = await api.post(
        PROCURADURIA,
        url,
        json=NOTICE | {"idioma": "klingon", "version": "1999", "explicado_en": future},
    )
    assert r.status_code == 422, r.text
    assert sorted(e["path"] for e in r.json()["errors"]) == [
        "$.explicado_en", "$.idioma", "$.version",
    ]  # fmt: skip
    r = await api.post(PROCURADURIA, url, json=NOTICE | {"idioma": "mam"})
    assert r.status_code == 422  # a language other than Spanish: with an interpreter
    assert [e["path"] for e in r.json()["errors"]] == ["$.interprete"]
    r = await api.post(
        PROCURADURIA, url, json=NOTICE | {"idioma": "mam", "interprete": True,
                                          "forma_explicacion": "con_interprete"}
    )  # fmt: skip
    assert r.status_code == 201, r.text
    [given] = await _events(folio, "case.privacy_notice_given")
    assert given["changes"]["idioma"] == "mam" and given["changes"]["explicado_por"] == PROCURADURIA


async def test_scoping_other_authorities_and_roles(api):
    folio = await api.open_case()
    tracing = await api.drive_until(folio, "localizar_via_consular")
    consulate = user_for(tracing["authority"], tracing["rol"])
    base = f"/api/v1/cases/{folio}"
    # another state's Procuraduría: the case does not exist for it
    assert (await api.get(OTHER_PROCURADURIA, f"{base}/data-protection")).status_code == 404
    r = await api.post(OTHER_PROCURADURIA, f"{base}/privacy-notices", json=NOTICE)
    assert r.status_code == 404
    r = await _consent(api, folio, "acnur", user=OTHER_PROCURADURIA)
    assert r.status_code == 404
    # the consulate sees the case but not this record, and records nothing in it
    assert (await api.get(consulate, f"{base}/data-protection")).status_code == 403
    assert (await api.post(consulate, f"{base}/privacy-notices", json=NOTICE)).status_code == 403
    assert (await _consent(api, folio, "consulado", user=consulate)).status_code == 403
    # oversight reads, never writes
    assert (await api.get("cndh.oversight", f"{base}/data-protection")).status_code == 200
    r = await api.post("cndh.oversight", f"{base}/privacy-notices", json=NOTICE)
    assert r.status_code == 403
    # a consent of another case is not found through this one
    other = await api.open_case()
    await api.drive_until(other, "determinar_acompanamiento")
    await _notice(api, other)
    cid = (await _consent(api, other, "oim")).json()["consent_id"]
    r = await api.post(
        PROCURADURIA, f"{base}/consents/{cid}/withdraw", json={"retirado_por": "nna"}
    )
    assert r.status_code == 404


# --------------------------------------------------------------------------- incidents
INCIDENT = {
    "tipo": "uso_acceso_no_autorizado",
    "descripcion": "Una cuenta de prueba leyó expedientes sin motivo.",
    "datos_comprometidos": ["identidad", "expediente"],
    "afectacion_significativa": True,
    "acciones_inmediatas": "Cuenta suspendida.",
}


async def test_the_security_incident_log(api):
    folio = await api.open_case()
    now = datetime.now(UTC)
    body = INCIDENT | {
        "ocurrio_en": (now - timedelta(days=2)).isoformat(),
        "detectado_en": (now - timedelta(days=1)).isoformat(),
        "folios": [folio],
    }
    url = "/api/v1/security-incidents"
    # who records: an admin; oversight and caseworkers do not
    for user in ("cndh.oversight", PROCURADURIA):
        assert (await api.post(user, url, json=body)).status_code == 403
    r = await api.post("sistema.admin", url, json=body | {"folios": [folio, "NOPE-2026-999999"]})
    assert r.status_code == 422
    assert [e["path"] for e in r.json()["errors"]] == ["$.folios[1]"]
    r = await api.post("sistema.admin", url, json=body)
    assert r.status_code == 201, r.text
    incident = r.json()["incident_id"]
    notice = {"destinatario": "titulares", "medio": "entrevista_personal",
              "enviado_en": now.isoformat(), "personas_notificadas": 1}  # fmt: skip
    assert (
        await api.post("cndh.oversight", f"{url}/{incident}/notices", json=notice)
    ).status_code == 403
    r = await api.post("sistema.admin", f"{url}/{incident}/notices", json=notice)
    assert r.status_code == 201, r.text
    r = await api.post("sistema.admin", f"{url}/99999999/notices", json=notice)
    assert r.status_code == 404
    # who reads: admin and oversight; not caseworkers
    assert (await api.get(PROCURADURIA, url)).status_code == 403
    for user in ("sistema.admin", "cndh.oversight"):
        r = await api.get(user, url)
        assert r.status_code == 200, r.text
        [mine] = [i for i in r.json()["incidents"] if i["id"] == incident]
        assert mine["folios"] == [folio]
        assert [a["destinatario"] for a in mine["avisos"]] == ["titulares"]
    # the case's trail says its data was touched (no text); the log's event has digests
    [linked] = await _events(folio, "case.security_incident")
    assert linked["changes"] == {"incident_id": incident, "tipo": "uso_acceso_no_autorizado"}
    recorded = await AuditEvent.select(AuditEvent.changes).where(
        AuditEvent.action == "security_incident.recorded"
    )
    assert all(INCIDENT["descripcion"] not in r["changes"] for r in recorded)


async def test_a_withdrawal_and_a_sharing_completion_racing_never_interleave(api):
    """Both take the case lock (the case command path): either the data went out before the
    withdrawal, or the completion is refused; two withdrawals of one consent: one wins."""
    import asyncio

    folio = await api.open_case()
    other = await api.drive_until(folio, "localizar_otras_vias")
    data = form_example("localizar_otras_vias.schema.json") | {"vias_utilizadas": ["oim"]}
    await _notice(api, folio)
    cid = (await _consent(api, folio, "oim")).json()["consent_id"]
    url = f"/api/v1/cases/{folio}/consents/{cid}/withdraw"
    done, withdrawn, again = await asyncio.gather(
        _complete(api, other, data),
        api.post(PROCURADURIA, url, json={"retirado_por": "nna"}),
        api.post(SUPERVISOR, url, json={"retirado_por": "representante"}),
    )
    assert sorted([withdrawn.status_code, again.status_code]) == [200, 409], withdrawn.text
    assert done.status_code in (200, 409), done.text
    [withdrawal] = await _events(folio, "case.data_consent_withdrawn")
    shared = await _events(folio, "case.data_transferred")
    if done.status_code == 200:
        assert [e["id"] < withdrawal["id"] for e in shared] == [True]
    else:
        assert done.json()["guarantee"] == CONSENT_RULE and not shared
