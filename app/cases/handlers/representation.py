"""The child's representative: who may be appointed, and the audit of each appointment.

The engine records the appointment (the route's ``designar_representante`` or a replacement
through POST /api/v1/cases/{folio}/representative) and reports ``representative_designated``;
the service knows the users. The representative is an identified person: an active account of a
Procuraduría de Protección (LGDNNA art. 106 and art. 122 fr. II give the representation to the
Procuraduría), else 422 and nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cases.aggregate import Event
from app.errors import field_error
from app.tables import User

if TYPE_CHECKING:  # the unit of work imports the handlers; they only name its session
    from app.cases.unit_of_work import CaseSession

#: What the audit trail cites for an appointment.
LEGAL_BASIS = "LGDNNA art. 4 fr. XXIV y XXVI, art. 106 y art. 122 fr. II"
#: The field message (stable: the pages translate it).
NOT_PROCURADURIA_USER = "is not an active user of a Procuraduría de Protección"


async def check_representative(session: CaseSession, event: Event) -> None:
    """Policy: the appointed account exists, is active and belongs to a Procuraduría."""
    username = str(event.data.get("representante_usuario") or "")
    row = await (
        User.select(
            User.active,
            User.authority.tipo.as_alias("tipo"),
            User.authority.active.as_alias("authority_active"),
        )
        .where(User.username == username)
        .first()
    )
    if (
        row is None
        or not (row["active"] and row["authority_active"])
        or row["tipo"] != "PROCURADURIA"
    ):
        raise field_error("$.data.representante_usuario", NOT_PROCURADURIA_USER)


async def audit_appointment(session: CaseSession, event: Event) -> None:
    """Projection: who represents the child from now on, and of which kind (no free text)."""
    session.audit(
        "case.representative_designated",
        changes={
            "tipo": event.data.get("tipo"),
            "representante_usuario": event.data.get("representante_usuario"),
            "sustitucion": event.data.get("sustitucion"),
        },
        legal_basis=LEGAL_BASIS,
    )
