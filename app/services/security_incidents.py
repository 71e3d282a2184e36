"""The security incident log (LGPDPPSO art. 33: "bitácora de las vulneraciones a la seguridad"):
what happened (art. 32 fr. I-IV), when it occurred and was detected, why, whose data (the cases
affected), the corrective actions, and the notices sent (art. 34: to the people affected and to
the Secretaría or the autoridad garante) with their dates.

Who records: an **admin** or a **data protection officer** (``proteccion_datos``;
``INCIDENT_RECORDERS``). Admins run the system: they are who detects and contains a breach (lost
backup, leaked account, tampering that ``careroute audit verify`` finds), and they see no child's
record, so naming the affected folios gives them nothing more. The data protection officer is the
one the law makes answerable for the log (issue 16); it reads the log it keeps.
Oversight reads the log but does not write it: the body that checks the log is not the one that
keeps it. Admin and oversight read it; caseworkers do not (it names cases of every authority).
Every write and every read is audited; the free text goes to the log only (keyed digests in the
trail).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.audit import text_digests
from app.cases.aggregate import IN_FUTURE, NO_ZONE
from app.command import command
from app.errors import Forbidden, InvalidInput, NotFound
from app.principal import Principal
from app.tables import (
    Case,
    SecurityIncident,
    SecurityIncidentCase,
    SecurityIncidentNotice,
    User,
)

#: Roles that record incidents and their notices (see the module docstring and
#: docs/data-protection.md "Security incident register").
INCIDENT_RECORDERS = frozenset({"admin", "proteccion_datos"})
#: a recorder reads the log it keeps (to add the notices); oversight reads it and writes nothing
INCIDENT_READERS = frozenset({"admin", "oversight", "proteccion_datos"})
#: LGPDPPSO art. 32 fr. I-IV
TIPOS = (
    "perdida_destruccion",
    "robo_extravio_copia",
    "uso_acceso_no_autorizado",
    "dano_alteracion",
)
DATOS = ("identidad", "expediente", "formularios", "notas_adjuntos", "cuentas", "bitacora", "otros")
DESTINATARIOS = ("titulares", "autoridad_garante", "secretaria")
MEDIOS = ("oficio", "correo_electronico", "entrevista_personal", "comunicado_publico", "otro")
LEGAL_BASIS = "LGPDPPSO arts. 31, 32 y 33"
NOTICE_LEGAL_BASIS = "LGPDPPSO arts. 34 y 35"
TEXT_MAX = 8000
MAX_FOLIOS = 10_000


def _reader(principal: Principal) -> None:
    if principal.role not in INCIDENT_READERS:
        raise Forbidden(
            "only admins, data protection officers and oversight read the security incident log"
        )


def _recorder(principal: Principal) -> None:
    if principal.role not in INCIDENT_RECORDERS:
        raise Forbidden("only an admin or a data protection officer records security incidents")


def _when(errors: list[dict[str, str]], path: str, at: datetime | None, now: datetime) -> None:
    if at is None:
        errors.append({"path": path, "message": "is required"})
    elif at.tzinfo is None:
        errors.append({"path": path, "message": NO_ZONE})
    elif at > now:
        errors.append({"path": path, "message": IN_FUTURE})


def _text(
    errors: list[dict[str, str]], path: str, value: Any, required: bool = False
) -> str | None:
    text = str(value).strip() if value is not None else ""
    if required and not text:
        errors.append({"path": path, "message": "is required"})
    if len(text) > TEXT_MAX:
        errors.append({"path": path, "message": f"is longer than {TEXT_MAX}"})
    return text or None


async def record(principal: Principal, data: dict[str, Any]) -> dict[str, Any]:
    """Record an incident; 403 unless an admin; 422 naming each bad field (an unknown folio by
    its index)."""
    _recorder(principal)
    async with command(principal.actor) as cmd:
        errors: list[dict[str, str]] = []
        if data.get("tipo") not in TIPOS:
            errors.append({"path": "$.tipo", "message": "must be one of " + ", ".join(TIPOS)})
        what = _text(errors, "$.descripcion", data.get("descripcion"), required=True)
        why = _text(errors, "$.motivo", data.get("motivo"))
        immediate = _text(errors, "$.acciones_inmediatas", data.get("acciones_inmediatas"))
        final = _text(errors, "$.acciones_definitivas", data.get("acciones_definitivas"))
        _when(errors, "$.ocurrio_en", data.get("ocurrio_en"), cmd.now)
        _when(errors, "$.detectado_en", data.get("detectado_en"), cmd.now)
        if not errors and data["detectado_en"] < data["ocurrio_en"]:
            errors.append({"path": "$.detectado_en", "message": "is before it occurred"})
        datos = list(data.get("datos_comprometidos") or [])
        for i, d in enumerate(datos):
            if d not in DATOS:
                errors.append(
                    {
                        "path": f"$.datos_comprometidos[{i}]",
                        "message": "must be one of " + ", ".join(DATOS),
                    }
                )
        folios = list(data.get("folios") or [])
        if len(folios) > MAX_FOLIOS:
            errors.append({"path": "$.folios", "message": f"has more than {MAX_FOLIOS}"})
            folios = []
        found = {
            r["folio"]: r["id"]
            for r in (
                await Case.select(Case.id, Case.folio).where(Case.folio.is_in(folios))
                if folios
                else []
            )
        }
        for i, folio in enumerate(folios):
            if folio not in found:
                errors.append({"path": f"$.folios[{i}]", "message": "no case with this folio"})
        if errors:
            raise InvalidInput("the incident is not valid", errors)
        row = (
            await SecurityIncident.insert(
                SecurityIncident(
                    tipo=data["tipo"],
                    descripcion=what,
                    motivo=why,
                    ocurrio_en=data["ocurrio_en"].astimezone(UTC),
                    detectado_en=data["detectado_en"].astimezone(UTC),
                    datos_comprometidos=sorted(set(datos)),
                    afectacion_significativa=bool(data.get("afectacion_significativa")),
                    acciones_inmediatas=immediate,
                    acciones_definitivas=final,
                    recorded_by=principal.user_id,
                    recorded_at=cmd.now,
                )
            ).returning(SecurityIncident.id)
        )[0]
        unique = sorted(set(folios))
        if unique:
            await SecurityIncidentCase.insert(
                *[SecurityIncidentCase(incident=row["id"], case=found[f], folio=f) for f in unique]
            )
        texts = {
            k: v
            for k, v in (
                ("descripcion", what),
                ("motivo", why),
                ("acciones_inmediatas", immediate),
                ("acciones_definitivas", final),
            )
            if v
        }
        cmd.audit(
            "security_incident.recorded",
            changes={
                "incident_id": row["id"],
                "tipo": data["tipo"],
                "ocurrio_en": data["ocurrio_en"].astimezone(UTC).isoformat(),
                "detectado_en": data["detectado_en"].astimezone(UTC).isoformat(),
                "datos_comprometidos": sorted(set(datos)),
                "afectacion_significativa": bool(data.get("afectacion_significativa")),
                "cases": len(unique),
                **text_digests(**texts),
            },
            legal_basis=LEGAL_BASIS,
        )
        # each affected case's trail says so (an ARCO access answer lists it): no text
        for folio in unique:
            cmd.audit(
                "case.security_incident",
                case_id=found[folio],
                case_folio=folio,
                changes={"incident_id": row["id"], "tipo": data["tipo"]},
                legal_basis=LEGAL_BASIS,
            )
    return {"incident_id": row["id"], "cases": len(unique)}


async def record_notice(
    principal: Principal, incident_id: int, data: dict[str, Any]
) -> dict[str, Any]:
    """A notice of the incident sent (to whom, how, when); 404 if no such incident."""
    _recorder(principal)
    if not 1 <= incident_id <= 2**31 - 1:
        raise NotFound("incident not found")
    async with command(principal.actor) as cmd:
        incident = (
            await SecurityIncident.select(SecurityIncident.id, SecurityIncident.ocurrio_en)
            .where(SecurityIncident.id == incident_id)
            .first()
        )
        if incident is None:
            raise NotFound("incident not found")
        errors: list[dict[str, str]] = []
        if data.get("destinatario") not in DESTINATARIOS:
            errors.append(
                {"path": "$.destinatario", "message": "must be one of " + ", ".join(DESTINATARIOS)}
            )
        if data.get("medio") not in MEDIOS:
            errors.append({"path": "$.medio", "message": "must be one of " + ", ".join(MEDIOS)})
        _when(errors, "$.enviado_en", data.get("enviado_en"), cmd.now)
        if not errors and data["enviado_en"] < incident["ocurrio_en"]:
            errors.append({"path": "$.enviado_en", "message": "is before the incident occurred"})
        people = data.get("personas_notificadas")
        if people is not None and (not isinstance(people, int) or people < 0):
            errors.append({"path": "$.personas_notificadas", "message": "must be 0 or more"})
        if errors:
            raise InvalidInput("the notice is not valid", errors)
        row = (
            await SecurityIncidentNotice.insert(
                SecurityIncidentNotice(
                    incident=incident_id,
                    destinatario=data["destinatario"],
                    medio=data["medio"],
                    enviado_en=data["enviado_en"].astimezone(UTC),
                    personas_notificadas=people,
                    recorded_by=principal.user_id,
                    recorded_at=cmd.now,
                )
            ).returning(SecurityIncidentNotice.id)
        )[0]
        cmd.audit(
            "security_incident.notice_recorded",
            changes={
                "incident_id": incident_id,
                "notice_id": row["id"],
                "destinatario": data["destinatario"],
                "medio": data["medio"],
                "enviado_en": data["enviado_en"].astimezone(UTC).isoformat(),
                "personas_notificadas": people,
            },
            legal_basis=NOTICE_LEGAL_BASIS,
        )
    return {"incident_id": incident_id, "notice_id": row["id"]}


async def log(principal: Principal) -> dict[str, Any]:
    """Every incident, newest first, with its cases (folios) and notices: an audited read."""
    _reader(principal)
    incidents = (
        await SecurityIncident.select()
        .order_by(SecurityIncident.id, ascending=False)
        .output(load_json=True)
    )
    ids = [i["id"] for i in incidents]
    cases = (
        await SecurityIncidentCase.select(SecurityIncidentCase.incident, SecurityIncidentCase.folio)
        .where(SecurityIncidentCase.incident.is_in(ids))
        .order_by(SecurityIncidentCase.folio)
        if ids
        else []
    )
    notices = (
        await SecurityIncidentNotice.select()
        .where(SecurityIncidentNotice.incident.is_in(ids))
        .order_by(SecurityIncidentNotice.id)
        if ids
        else []
    )
    users = {
        u["id"]: u["username"]
        for u in (
            await User.select(User.id, User.username).where(
                User.id.is_in(
                    sorted({i["recorded_by_id"] for i in incidents if i["recorded_by_id"]}) or [0]
                )
            )
        )
    }
    out = []
    for i in incidents:
        out.append(
            {
                "id": i["id"],
                "tipo": i["tipo"],
                "descripcion": i["descripcion"],
                "motivo": i["motivo"],
                "ocurrio_en": i["ocurrio_en"],
                "detectado_en": i["detectado_en"],
                "datos_comprometidos": i["datos_comprometidos"] or [],
                "afectacion_significativa": i["afectacion_significativa"],
                "acciones_inmediatas": i["acciones_inmediatas"],
                "acciones_definitivas": i["acciones_definitivas"],
                "recorded_by": users.get(i["recorded_by_id"]),
                "recorded_at": i["recorded_at"],
                "folios": [c["folio"] for c in cases if c["incident_id"] == i["id"]],
                "avisos": [
                    {
                        "destinatario": n["destinatario"],
                        "medio": n["medio"],
                        "enviado_en": n["enviado_en"],
                        "personas_notificadas": n["personas_notificadas"],
                    }
                    for n in notices
                    if n["incident_id"] == i["id"]
                ],
            }
        )
    async with command(principal.actor) as cmd:
        cmd.audit("security_incident.log_read", changes={"incidents": len(out)})
    return {"incidents": out}
