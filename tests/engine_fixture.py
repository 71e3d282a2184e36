"""A tiny route and deadline catalogue for engine tests that must not depend on the real route."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "engine"


@dataclass(frozen=True)
class _Plazo:
    fuente_legal: str


class FixturePlazos:
    """Deadline catalogue stand-in: D1 is 24 h with three escalation levels one hour apart."""

    ruta = None

    def ids(self) -> list[str]:
        return ["D1"]

    def __getitem__(self, key: str) -> _Plazo:
        if key != "D1":
            raise KeyError(key)
        return _Plazo("Protocolo INM 2016")

    def vencimiento(
        self, plazo_id, desde: datetime, calendario, jurisdiccion, nivel=None
    ) -> datetime:
        return desde + timedelta(hours=24)

    def ciclo(self, plazo_id, desde, calendario, jurisdiccion, nivel=None) -> str:
        due = self.vencimiento(plazo_id, desde, calendario, jurisdiccion, nivel)
        return f"R3/{due.isoformat()}/PT1H"

    def calendario_desde_config(self):
        return None
