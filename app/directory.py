"""The authority directory, kept in memory per process and reloaded only when it changed.

Routing a task and deciding who may see a case read authorities (type, level, jurisdiction)
on every command. They change rarely (an admin creates one), so each process keeps them in
memory under the ``directory_version`` number. A case command reads that number in the same
statement that locks the case (app/cases/repository.py); when it differs from the cached one,
the directory is read again. Another process's change is therefore seen by the very next
command, and routing itself costs no query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.tables import Authority, DirectoryVersion


@dataclass(frozen=True)
class AuthorityRef:
    """What routing and access rules need to know about an authority."""

    id: int
    code: str
    tipo: str
    nivel: str
    estado: str
    municipio: str | None
    capacidad: int | None
    active: bool

    def covers(self, estado: str, municipio: str | None) -> bool:
        """Whether this authority's jurisdiction includes a location."""
        if self.nivel == "federal" or self.estado == "00":
            return True
        if self.estado != estado:
            return False
        if self.nivel == "municipal":
            return _norm(self.municipio) == _norm(municipio)
        return True


def _norm(value: str | None) -> str:
    return (value or "").strip().casefold()


@dataclass(frozen=True)
class Directory:
    version: int
    by_id: dict[int, AuthorityRef]

    def active_of_type(self, tipo: str) -> list[AuthorityRef]:
        return [a for a in self.by_id.values() if a.tipo == tipo and a.active]

    def get(self, authority_id: int | None) -> AuthorityRef | None:
        return self.by_id.get(authority_id) if authority_id is not None else None


_cached: Directory | None = None


async def current_version() -> int:
    row = await DirectoryVersion.select(DirectoryVersion.n).first()
    return int(row["n"]) if row else 0


async def directory(version: int | None = None) -> Directory:
    """The directory at ``version`` (read it when unknown: one query), from memory if cached."""
    global _cached
    if version is None:
        version = await current_version()
    if _cached is not None and _cached.version == version:
        return _cached
    rows = await Authority.select(
        Authority.id,
        Authority.code,
        Authority.tipo,
        Authority.nivel,
        Authority.estado,
        Authority.municipio,
        Authority.capacidad,
        Authority.active,
    )
    _cached = Directory(version, {r["id"]: _ref(r) for r in rows})
    return _cached


def _ref(row: dict[str, Any]) -> AuthorityRef:
    return AuthorityRef(
        id=row["id"],
        code=row["code"],
        tipo=row["tipo"],
        nivel=row["nivel"],
        estado=row["estado"],
        municipio=row["municipio"],
        capacidad=row["capacidad"],
        active=bool(row["active"]),
    )


async def bump() -> None:
    """Call in the transaction that creates or changes an authority."""
    await DirectoryVersion.update({DirectoryVersion.n: DirectoryVersion.n + 1}).where(
        DirectoryVersion.id == 1
    )
