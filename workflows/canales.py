"""Entry channels: who receives a child by each channel, read from config/canales_ingreso.toml.

A child does not always meet INM first: the child may present at a DIF system, at COMAR or at the
Procuraduría, or be referred by a civil-society organisation or another authority (Ruta de
Protección Integral, etapa 1; LGDNNA arts. 12 and 123 fr. I). The route branches on the case
variable ``autoridad_receptora`` (bpmn/ruta_proteccion_nna.bpmn, ``ruta_gw_canal``), which the
engine sets at the opening from this catalogue; the app passes the opener's authority type, so an
authority can open a case only by a channel it receives (a 422 naming ``canal_ingreso``).

A reopened case runs the route again from the channel ``reapertura`` (``REAPERTURA``), which no
opening form may choose.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError
from .route_files import shipped

ENV_CANALES = "CAREROUTE_CANALES"
#: The channel of a run that reopens a closed case (set by ``RouteEngine.reopen``).
REAPERTURA = "reapertura"
#: Who receives a reopened case: the Procuraduría that reopens it.
RECEPTORA_REAPERTURA = "PROCURADURIA"
#: The authority types the route's entry branches on (``ruta_gw_canal``): a channel may name only
#: these as receivers, or the route would send the child down INM's path.
_TIPOS = frozenset({"INM", "PROCURADURIA", "DIF_CAS", "COMAR"})


@dataclass(frozen=True)
class Canal:
    """One entry channel of the opening form's ``canal_ingreso``."""

    nombre: str
    #: authority types that receive a child by this channel (the first is the default)
    recibe: tuple[str, ...]
    #: the Procuraduría informs INM after the reception (channels not received by INM)
    aviso_inm: bool
    fuente: str

    def receptora(self, tipo: str | None) -> str | None:
        """The receiving authority type for an opener of ``tipo`` (the default without one);
        None if that type does not receive children by this channel."""
        if tipo is None:
            return self.recibe[0]
        return tipo if tipo in self.recibe else None


@dataclass(frozen=True)
class CatalogoCanales:
    """``[canales.*]`` of config/canales_ingreso.toml."""

    canales: Mapping[str, Canal]
    ruta: str = "<dict>"

    def __getitem__(self, nombre: str) -> Canal:
        return self.canales[nombre]

    def __contains__(self, nombre: object) -> bool:
        return nombre in self.canales

    @classmethod
    def cargar(cls, path: Path | str | None = None) -> CatalogoCanales:
        """Read and check the file; a bad one stops the service at start-up (SpecError)."""
        ruta = Path(
            path or os.environ.get(ENV_CANALES) or shipped("config") / "canales_ingreso.toml"
        )
        try:
            with ruta.open("rb") as fh:
                tabla = tomllib.load(fh).get("canales")
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SpecError(f"cannot read the entry channels: {exc}", file=str(ruta)) from exc
        if not isinstance(tabla, dict) or not tabla:
            raise SpecError("missing table [canales]", file=str(ruta))
        return cls.desde_dict(tabla, str(ruta))

    @classmethod
    def desde_dict(cls, tabla: Mapping[str, Any], ruta: str = "<dict>") -> CatalogoCanales:
        canales: dict[str, Canal] = {}
        for nombre, valores in tabla.items():
            where = f"[canales.{nombre}]"
            if nombre == REAPERTURA:
                raise SpecError(f"{where}: '{REAPERTURA}' is the reopening's channel", file=ruta)
            if not isinstance(valores, dict):
                raise SpecError(f"{where} must be a table", file=ruta)
            unknown = set(valores) - {"recibe", "aviso_inm", "fuente"}
            if unknown:
                raise SpecError(f"{where} unknown fields: {sorted(unknown)}", file=ruta)
            recibe = valores.get("recibe")
            if (
                not isinstance(recibe, list)
                or not recibe
                or not all(t in _TIPOS for t in recibe)
                or len(set(recibe)) != len(recibe)
            ):
                raise SpecError(
                    f"{where} recibe must list authority types of {sorted(_TIPOS)}", file=ruta
                )
            aviso = valores.get("aviso_inm", False)
            if not isinstance(aviso, bool):
                raise SpecError(f"{where} aviso_inm must be true or false", file=ruta)
            fuente = valores.get("fuente")
            if not isinstance(fuente, str) or not fuente.strip():
                raise SpecError(f"{where} needs its legal source (fuente)", file=ruta)
            canales[nombre] = Canal(nombre, tuple(recibe), aviso, fuente.strip())
        return cls(canales, ruta)

    def check_form(self, enum: list[str], form_file: str) -> None:
        """At load: the opening form offers exactly the configured channels."""
        missing = sorted(set(enum) - set(self.canales))
        extra = sorted(set(self.canales) - set(enum))
        if missing or extra:
            raise SpecError(
                f"canal_ingreso of {form_file} and {self.ruta} differ: not configured "
                f"{missing}, not in the form {extra}",
                file=self.ruta,
            )
