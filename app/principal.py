"""Who is acting: the authenticated principal and its audit actor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: Roles that do casework; oversight reads, admin manages accounts, ``proteccion_datos`` reads
#: only the records retention blocked (app/access.py).
WORKER_ROLES = frozenset({"officer", "supervisor", "head", "shelter_staff"})
#: Task ``rol`` (BPMN property) -> user roles allowed to complete it.
TASK_ROLE_ALLOWS: dict[str, frozenset[str]] = {
    "officer": frozenset({"officer", "supervisor", "head", "shelter_staff"}),
    "supervisor": frozenset({"supervisor", "head"}),
    "head": frozenset({"head"}),
}
SUPERVISING_ROLES = frozenset({"supervisor", "head"})


@dataclass(frozen=True)
class Actor:
    """What the audit trail records about whoever caused an event."""

    user_id: int | None
    username: str
    role: str
    authority_id: int | None
    authority_code: str | None


SYSTEM = Actor(None, "system", "system", None, None)


@dataclass(frozen=True)
class Principal:
    """An authenticated user, with the authority (and jurisdiction) they act for."""

    user_id: int
    username: str
    display_name: str
    role: str
    authority_id: int
    authority_code: str
    authority_name: str
    authority_tipo: str
    authority_nivel: str
    authority_estado: str
    authority_municipio: str | None
    token_id: int
    token_kind: str
    #: when the account became usable (approved, else created): its first days are watched
    account_since: datetime | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.username, self.role, self.authority_id, self.authority_code)

    @property
    def is_worker(self) -> bool:
        return self.role in WORKER_ROLES

    @property
    def is_oversight(self) -> bool:
        return self.role == "oversight"

    @property
    def is_data_protection(self) -> bool:
        """The authority's data protection officer: reads only its blocked records."""
        return self.role == "proteccion_datos"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def supervises(self) -> bool:
        return self.role in SUPERVISING_ROLES

    def may_do(self, task_rol: str) -> bool:
        """Whether this user's role may complete a task with BPMN ``rol`` (same authority)."""
        return role_may_do(self.role, self.authority_tipo, task_rol)


def role_may_do(role: str, authority_tipo: str, task_rol: str) -> bool:
    """Task ``rol`` officer: any caseworker of the authority (shelter staff only in a shelter);
    supervisor: supervisors and heads; head: heads only."""
    if role == "shelter_staff" and authority_tipo != "DIF_CAS":
        return False
    return role in TASK_ROLE_ALLOWS.get(task_rol, frozenset())
