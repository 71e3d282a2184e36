"""Deadline catalogue: every legal and operational deadline of the route (config/plazos.toml).

Why a catalogue and not durations in the BPMN: the legal values (LGDNNA art. 122's 3 h and 24 h,
COMAR's 45 working days, ...) must live in one reviewed place with their legal source and their
confidence, and the unconfirmed ones ([U]/[P] in /work/shared/domain/care-route.md §2) must be
changeable without touching a process model. BPMN boundary timers only name a deadline id
(``plazo_ciclo("D5_decreto_mp")``); this module turns it into an instant or an ISO-8601 recurring
interval that SpiffWorkflow 3.2's ``CycleTimerEventDefinition`` understands.

File format (one table per deadline id, plus ``[calendario]``)::

    [D5_decreto_mp]
    descripcion_es = "..."          # required
    descripcion_en = "..."          # required
    calendario = "horas"            # "horas" | "dias_naturales" | "dias_habiles"
    duracion = "PT3H"               # ISO-8601 (horas, dias_naturales) or integer (dias_habiles)
    # por_riesgo = { alto = "P3D", medio = "P7D", bajo = "P14D" }   # instead of duracion
    escalamiento_intervalo = "PT1H" # time between escalation levels (exact: no Y/M)
    niveles = 3                     # optional, default 3: supervisor, head, oversight
    fuente_legal = "LGDNNA art. 122"
    confirmado = true               # false for every [U]/[P] item
    nota = "..."                    # optional
    inicia_es = "detección de la NNA"   # optional: the event the law counts from, in words
    inicia_en = "detection of the child"  # (docs/care-route.md "starts at"; the BPMN passes
                                          #  its instant as plazo_ciclo's ``desde``)
    autoridad = "COMAR"             # dias_habiles only, optional: the authority type whose
                                    # calendar the term counts on (default: the default regime)

    [calendario]
    regimen = "lfpa_28"             # default regime: "lfpa_28" | "lft_74"
    [calendario.autoridades.COMAR]  # one table per authority type (a lane code)
    regimen = "lfpa_28"
    [[calendario.autoridades.COMAR.acuerdos]]   # days it declared non-working, per acuerdo
    fuente = "Acuerdo ... DOF dd-mm-aaaa"
    dias = [2027-03-25, 2027-03-26]
    periodos = [[2027-07-19, 2027-07-30]]       # inclusive ranges

Calendar types and how the due instant is computed:

* ``horas``: ``desde`` + duration on a 24x7 clock (hour deadlines never stop for weekends).
  Durations must be exact (W/D/H/M/S, no years or months).
* ``dias_naturales``: end of the local day that is ``desde``'s local date + duration (counting
  starts the day after, like working days). Date-only durations (Y/M/W/D); months are calendar
  months, clamped to the month's last day (31 Jan + P1M = 28/29 Feb).
* ``dias_habiles``: ``CalendarioLaboral.sumar_dias_habiles`` on the calendar of the deadline's
  ``autoridad`` (its regime, LFPA art. 28 or LFT art. 74, and the days it declared), with the
  suspensions of the case's jurisdiction.

The escalation interval is always clock time, because SpiffWorkflow's cycle timer adds a fixed
number of seconds between firings.
"""

from __future__ import annotations

import re
import tomllib
from calendar import monthrange
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .calendario import (
    INSTANTE_MAXIMO,
    LFPA_28,
    REGIMENES,
    CalendarioAutoridad,
    CalendarioLaboral,
    Suspension,
    acotar,
    exigir_tz,
    validar_jurisdiccion,
)
from .errors import SpecError
from .route_files import ENV_PLAZOS, plazos_file, shipped

#: config/plazos.toml as shipped: the checkout's, or the installed wheel's copy.
RUTA_POR_DEFECTO = shipped("config") / "plazos.toml"

CALENDARIOS = ("horas", "dias_naturales", "dias_habiles")
NIVELES_RIESGO = ("alto", "medio", "bajo")
NIVELES_POR_DEFECTO = 3

_CLAVES_REQUERIDAS = (
    "descripcion_es",
    "descripcion_en",
    "calendario",
    "escalamiento_intervalo",
    "fuente_legal",
    "confirmado",
)
_CLAVES_OPCIONALES = (
    "duracion",
    "por_riesgo",
    "niveles",
    "nota",
    "inicia_es",
    "inicia_en",
    "autoridad",
)
_CLAVES_CALENDARIO = (
    "zona",
    "regimen",
    "dias_inhabiles_extra",
    "dias_inhabiles_recurrentes",
    "suspensiones",
    "autoridades",
)
_CLAVES_AUTORIDAD = ("regimen", "acuerdos")
_CLAVES_ACUERDO = ("fuente", "dias", "periodos")
_CLAVES_SUSPENSION = ("jurisdiccion", "desde", "hasta", "motivo", "fuente")

# The subset of ISO-8601 durations that SpiffWorkflow 3.2's parse_iso_duration also accepts:
# integer components, weeks not mixed with Y/M/D, "T" only when a time component follows.
_ISO_DURACION = re.compile(
    r"^P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_ISO_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class PlazosConfigError(SpecError):
    """config/plazos.toml is unusable. Names the file, the deadline id (or table) and the field.

    A subclass of ``SpecError`` so ``load_library()`` callers catch one error type for a bad route.
    """

    def __init__(self, archivo: Path | str, plazo_id: str | None, campo: str | None, problema: str):
        self.archivo = str(archivo)
        self.plazo_id = plazo_id
        self.campo = campo
        partes = [f"{self.archivo}"]
        if plazo_id is not None:
            partes.append(f"[{plazo_id}]")
        if campo is not None:
            partes.append(f"field '{campo}'")
        Exception.__init__(self, f"{' '.join(partes)}: {problema}")
        self.file = self.archivo
        self.element = plazo_id


@dataclass(frozen=True)
class Duracion:
    """A parsed ISO-8601 duration; kept with its text so the cycle string round-trips."""

    texto: str
    years: int = 0
    months: int = 0
    weeks: int = 0
    days: int = 0
    hours: int = 0
    minutes: int = 0
    seconds: int = 0

    @classmethod
    def parse(cls, texto: str) -> Duracion:
        """Parse ``texto``; raise ValueError when it is not a (Spiff-compatible) ISO duration."""
        if not isinstance(texto, str):
            raise ValueError(f"expected an ISO-8601 duration string, got {texto!r}")
        normal = texto.strip().upper()
        m = _ISO_DURACION.match(normal)
        if not m:
            raise ValueError(f"{texto!r} is not an ISO-8601 duration such as PT3H, P7D or P6M")
        partes = {k: int(v) for k, v in m.groupdict().items() if v is not None}
        if partes.get("weeks") and any(partes.get(k) for k in ("years", "months", "days")):
            raise ValueError(f"{texto!r}: weeks cannot be combined with years, months or days")
        duracion = cls(texto=normal, **partes)
        if duracion.es_cero:
            raise ValueError(f"{texto!r} is a zero duration")
        return duracion

    @property
    def es_cero(self) -> bool:
        return not any(
            (self.years, self.months, self.weeks, self.days, self.hours, self.minutes, self.seconds)
        )

    @property
    def es_exacta(self) -> bool:
        """No years or months: the same length whatever the start date."""
        return not (self.years or self.months)

    @property
    def solo_fecha(self) -> bool:
        """Only Y/M/W/D: a number of calendar days, suitable for ``dias_naturales``."""
        return not (self.hours or self.minutes or self.seconds)

    def como_timedelta(self) -> timedelta:
        if not self.es_exacta:
            raise ValueError(f"{self.texto} has years or months and no fixed length")
        return timedelta(
            weeks=self.weeks,
            days=self.days,
            hours=self.hours,
            minutes=self.minutes,
            seconds=self.seconds,
        )

    def sumar_a_fecha(self, d: date, signo: int = 1) -> date:
        """Calendar arithmetic on a date: months first (clamped to month end), then days."""
        total_meses = d.year * 12 + (d.month - 1) + signo * (self.years * 12 + self.months)
        anio, mes = divmod(total_meses, 12)
        mes += 1
        dia = min(d.day, monthrange(anio, mes)[1])
        return date(anio, mes, dia) + signo * timedelta(weeks=self.weeks, days=self.days)

    def __str__(self) -> str:
        return self.texto


Cantidad = Duracion | int
"""A deadline length: an ISO duration (horas, dias_naturales) or a number of working days."""


@dataclass(frozen=True)
class Plazo:
    """One deadline of config/plazos.toml, validated (see the module docstring for the format)."""

    id: str
    descripcion_es: str
    descripcion_en: str
    calendario: str
    duracion: Cantidad | None
    por_riesgo: Mapping[str, Cantidad] | None
    escalamiento_intervalo: Duracion
    niveles: int
    fuente_legal: str
    confirmado: bool
    nota: str | None = None
    #: the event the law counts the deadline from, in words (e.g. "presentación de la solicitud")
    inicia_es: str | None = None
    inicia_en: str | None = None
    #: dias_habiles: the authority type whose calendar the term counts on (None: the default)
    autoridad: str | None = None

    @property
    def depende_de_riesgo(self) -> bool:
        """True when the length depends on the case's risk level (alto/medio/bajo)."""
        return self.por_riesgo is not None

    def cantidad(self, nivel: str | None = None) -> Cantidad:
        """The length for ``nivel``.

        A risk-dependent deadline needs ``nivel`` (ValueError naming the deadline otherwise). A
        fixed deadline ignores ``nivel``, so a BPMN expression may pass the case's risk level
        uniformly without knowing which deadlines depend on it.
        """
        if self.por_riesgo is None:
            assert self.duracion is not None
            return self.duracion
        if nivel is None:
            raise ValueError(
                f"deadline {self.id!r} depends on the risk level: pass nivel="
                f"{'|'.join(NIVELES_RIESGO)}"
            )
        if nivel not in self.por_riesgo:
            raise ValueError(
                f"deadline {self.id!r}: unknown risk level {nivel!r}, expected one of "
                f"{', '.join(NIVELES_RIESGO)}"
            )
        return self.por_riesgo[nivel]

    def cantidad_dada(self, duracion: str | int) -> Cantidad:
        """A length given by the case instead of the configured one, valid for this calendar."""

        def error(campo: str, problema: str) -> ValueError:
            return ValueError(f"deadline {self.id!r}: {campo} {problema}")

        return _parse_cantidad(duracion, self.calendario, "duracion", error)


@dataclass(frozen=True)
class Acuerdo:
    """Days an authority declared non-working by one acuerdo (LFPA art. 28), from the config."""

    fuente: str
    dias: frozenset[date]


@dataclass(frozen=True)
class ConfigAutoridad:
    """``[calendario.autoridades.<TIPO>]``: an authority type's regime and declared days."""

    autoridad: str
    regimen: str = LFPA_28
    acuerdos: tuple[Acuerdo, ...] = ()

    def construir(self) -> CalendarioAutoridad:
        dias: set[date] = set()
        for acuerdo in self.acuerdos:
            dias |= acuerdo.dias
        return CalendarioAutoridad(self.autoridad, self.regimen, frozenset(dias))


@dataclass(frozen=True)
class ConfigCalendario:
    """The ``[calendario]`` table: zone, default regime, configured non-working days, each
    authority's setting and suspensions of terms."""

    zona: str = "America/Mexico_City"
    dias_inhabiles_extra: tuple[date, ...] = ()
    dias_inhabiles_recurrentes: tuple[tuple[int, int], ...] = ()
    suspensiones: tuple[Suspension, ...] = ()
    regimen: str = LFPA_28
    autoridades: tuple[ConfigAutoridad, ...] = ()

    def construir(self) -> CalendarioLaboral:
        return CalendarioLaboral(
            suspensiones=self.suspensiones,
            dias_inhabiles_extra=self.dias_inhabiles_extra,
            zona=self.zona,
            dias_inhabiles_recurrentes=self.dias_inhabiles_recurrentes,
            regimen=self.regimen,
            autoridades=[a.construir() for a in self.autoridades],
        )


class CatalogoPlazos:
    """All deadlines of the route, keyed by id, with due-date and escalation-cycle computation."""

    def __init__(
        self,
        plazos: Mapping[str, Plazo],
        calendario: ConfigCalendario | None = None,
        ruta: Path | None = None,
    ) -> None:
        self._plazos = dict(plazos)
        self._calendario = calendario or ConfigCalendario()
        self.ruta = ruta
        """Source file; ``workflows.specs`` hashes it into the route version."""

    # ----------------------------------------------------------------- loading

    @classmethod
    def cargar(cls, path: Path | str | None = None) -> CatalogoPlazos:
        """Load and validate a catalogue.

        ``path`` defaults to ``$CAREROUTE_PLAZOS`` or else the shipped config/plazos.toml.
        Every problem raises ``PlazosConfigError`` naming file, deadline id and field, so a bad
        configuration stops the service at start-up instead of producing a wrong due date later.
        """
        ruta = Path(path or plazos_file())
        try:
            with ruta.open("rb") as fh:
                datos = tomllib.load(fh)
        except FileNotFoundError as exc:
            hint = (
                f"set {ENV_PLAZOS} to the deadline catalogue (config/plazos.toml), "
                "or unset it to use the one installed with careroute"
            )
            raise PlazosConfigError(ruta, None, None, f"file not found: {hint}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise PlazosConfigError(ruta, None, None, f"invalid TOML: {exc}") from exc
        return cls.desde_dict(datos, ruta)

    @classmethod
    def desde_dict(cls, datos: Mapping[str, Any], ruta: Path | str = "<dict>") -> CatalogoPlazos:
        """Validate an already-parsed TOML document (``ruta`` is only used in error messages)."""
        ruta = Path(ruta)
        calendario = _parse_calendario(datos.get("calendario", {}), ruta)
        plazos: dict[str, Plazo] = {}
        for plazo_id, tabla in datos.items():
            if plazo_id == "calendario":
                continue
            if not _ISO_ID.match(plazo_id):
                raise PlazosConfigError(ruta, plazo_id, None, "deadline ids must be identifiers")
            if not isinstance(tabla, dict):
                raise PlazosConfigError(ruta, plazo_id, None, "expected a table of fields")
            plazos[plazo_id] = _parse_plazo(plazo_id, tabla, ruta)
        if not plazos:
            raise PlazosConfigError(ruta, None, None, "no deadlines defined")
        return cls(plazos, calendario, ruta if ruta.exists() else None)

    # ----------------------------------------------------------------- mapping

    def ids(self) -> list[str]:
        """Deadline ids in file order."""
        return list(self._plazos)

    def __getitem__(self, plazo_id: str) -> Plazo:
        try:
            return self._plazos[plazo_id]
        except KeyError:
            raise KeyError(
                f"deadline {plazo_id!r} is not in {self.ruta or 'the catalogue'}"
            ) from None

    def __contains__(self, plazo_id: object) -> bool:
        return plazo_id in self._plazos

    def __iter__(self) -> Iterator[Plazo]:
        return iter(self._plazos.values())

    def __len__(self) -> int:
        return len(self._plazos)

    @property
    def config_calendario(self) -> ConfigCalendario:
        return self._calendario

    def calendario_desde_config(self) -> CalendarioLaboral:
        """The working-day calendar described by the ``[calendario]`` table."""
        return self._calendario.construir()

    def plazos_de_autoridad(self, autoridad: str | None) -> list[str]:
        """Ids of the working-day deadlines counted on ``autoridad``'s calendar (None: those on
        the default calendar)."""
        return [p.id for p in self if p.calendario == "dias_habiles" and p.autoridad == autoridad]

    def autoridades_con_calendario(self) -> list[str]:
        """Authority types with a calendar setting or named by a working-day deadline."""
        nombres = {a.autoridad for a in self._calendario.autoridades}
        nombres |= {p.autoridad for p in self if p.autoridad is not None}
        return sorted(nombres)

    # ----------------------------------------------------------------- computation

    def vencimiento(
        self,
        plazo_id: str,
        desde: datetime,
        calendario: CalendarioLaboral,
        jurisdiccion: str,
        nivel: str | None = None,
        duracion: str | int | None = None,
    ) -> datetime:
        """Due instant (tz-aware UTC) of ``plazo_id`` counted from ``desde``.

        ``jurisdiccion`` (INEGI code, "00" federal) selects which suspensions of terms apply; it
        only matters for ``dias_habiles`` deadlines but is always validated. ``duracion`` replaces
        the configured length with one the case set (a plan measure's follow-up periodicity),
        checked against the deadline's calendar like a configured one (ValueError otherwise).
        A ``desde`` outside what a date can plausibly be (a year 9999 stored before dates were
        bounded) is taken within [INSTANTE_MINIMO, INSTANTE_MAXIMO], and no due instant is later
        than INSTANTE_MAXIMO (the route's "never"): this never raises on a stored date.
        """
        desde = acotar(exigir_tz(desde, "desde"))
        validar_jurisdiccion(jurisdiccion)
        plazo = self[plazo_id]
        cantidad = plazo.cantidad(nivel) if duracion is None else plazo.cantidad_dada(duracion)
        if desde >= INSTANTE_MAXIMO:
            return INSTANTE_MAXIMO
        if plazo.calendario == "dias_habiles":
            assert isinstance(cantidad, int)
            return calendario.sumar_dias_habiles(desde, cantidad, jurisdiccion, plazo.autoridad)
        assert isinstance(cantidad, Duracion)
        if plazo.calendario == "horas":
            return min(desde + cantidad.como_timedelta(), INSTANTE_MAXIMO).astimezone(UTC)
        local = calendario.fecha_local(desde)
        return calendario.fin_del_dia(cantidad.sumar_a_fecha(local))

    def antes_de(
        self,
        plazo_id: str,
        hasta: datetime,
        calendario: CalendarioLaboral,
        nivel: str | None = None,
    ) -> datetime:
        """Instant ``duracion`` *before* ``hasta`` (tz-aware UTC), for warnings ahead of an event.

        Why: the transition to adult life starts about six months before the 18th birthday
        (``transicion_aviso``, local SOP [U]). ``horas``: exact subtraction. ``dias_naturales``:
        calendar subtraction on the local date, keeping the local time of day. Working-day
        deadlines are not counted backwards (no legal rule needs it): ValueError.
        """
        hasta = acotar(exigir_tz(hasta, "hasta"))
        plazo = self[plazo_id]
        cantidad = plazo.cantidad(nivel)
        if plazo.calendario == "dias_habiles" or not isinstance(cantidad, Duracion):
            raise ValueError(f"deadline {plazo_id!r}: antes_de() needs horas or dias_naturales")
        if plazo.calendario == "horas":
            return (hasta - cantidad.como_timedelta()).astimezone(UTC)
        local = hasta.astimezone(calendario.tz)
        d = cantidad.sumar_a_fecha(local.date(), signo=-1)
        return datetime.combine(d, local.timetz()).astimezone(UTC)

    def ciclo(
        self,
        plazo_id: str,
        desde: datetime,
        calendario: CalendarioLaboral,
        jurisdiccion: str,
        nivel: str | None = None,
    ) -> str:
        """ISO-8601 recurring interval ``R<niveles>/<due>/<escalamiento_intervalo>``.

        SpiffWorkflow 3.2's ``TimerEventDefinition.parse_iso_recurring_interval`` reads it as
        cycles = niveles, start = due date, duration = escalation interval: the boundary timer
        fires at the due date (level 1: supervisor) and after each interval (level 2: head of the
        authority, level 3: oversight), as docs/architecture.md "Deadlines" requires.
        """
        plazo = self[plazo_id]
        due = self.vencimiento(plazo_id, desde, calendario, jurisdiccion, nivel)
        return f"R{plazo.niveles}/{due.astimezone(UTC).isoformat()}/{plazo.escalamiento_intervalo}"


# --------------------------------------------------------------------- parsing helpers


def _parse_plazo(plazo_id: str, tabla: Mapping[str, Any], ruta: Path) -> Plazo:
    def error(campo: str | None, problema: str) -> PlazosConfigError:
        return PlazosConfigError(ruta, plazo_id, campo, problema)

    for clave in tabla:
        if clave not in _CLAVES_REQUERIDAS + _CLAVES_OPCIONALES:
            permitidas = ", ".join(_CLAVES_REQUERIDAS + _CLAVES_OPCIONALES)
            raise error(clave, f"unknown key (allowed: {permitidas})")
    for clave in _CLAVES_REQUERIDAS:
        if clave not in tabla:
            raise error(clave, "missing")
    for clave in ("descripcion_es", "descripcion_en", "fuente_legal"):
        if not isinstance(tabla[clave], str) or not tabla[clave].strip():
            raise error(clave, "must be a non-empty string")
    for clave in ("nota", "inicia_es", "inicia_en"):
        if clave in tabla and not isinstance(tabla[clave], str):
            raise error(clave, "must be a string")
    if not isinstance(tabla["confirmado"], bool):
        raise error("confirmado", "must be true or false")

    calendario = tabla["calendario"]
    if calendario not in CALENDARIOS:
        raise error("calendario", f"unknown calendar {calendario!r}, expected {CALENDARIOS}")

    duracion, por_riesgo = _parse_longitud(tabla, calendario, error)

    try:
        intervalo = Duracion.parse(tabla["escalamiento_intervalo"])
    except ValueError as exc:
        raise error("escalamiento_intervalo", str(exc)) from None
    if not intervalo.es_exacta:
        raise error("escalamiento_intervalo", "must not use years or months (fixed clock time)")

    niveles = tabla.get("niveles", NIVELES_POR_DEFECTO)
    if isinstance(niveles, bool) or not isinstance(niveles, int) or niveles < 1:
        raise error("niveles", f"must be a positive integer, got {niveles!r}")

    autoridad = tabla.get("autoridad")
    if autoridad is not None:
        if calendario != "dias_habiles":
            raise error(
                "autoridad", "only a dias_habiles deadline counts on an authority's calendar"
            )
        _validar_autoridad(autoridad, "autoridad", error)

    return Plazo(
        id=plazo_id,
        descripcion_es=tabla["descripcion_es"].strip(),
        descripcion_en=tabla["descripcion_en"].strip(),
        calendario=calendario,
        duracion=duracion,
        por_riesgo=por_riesgo,
        escalamiento_intervalo=intervalo,
        niveles=niveles,
        fuente_legal=tabla["fuente_legal"].strip(),
        confirmado=tabla["confirmado"],
        nota=tabla.get("nota"),
        inicia_es=tabla.get("inicia_es"),
        inicia_en=tabla.get("inicia_en"),
        autoridad=autoridad,
    )


def _validar_autoridad(valor: Any, campo: str, error: Any) -> str:
    from .specs import AUTHORITY_TYPES  # specs imports this module when it loads the route

    if not isinstance(valor, str) or valor not in AUTHORITY_TYPES:
        raise error(campo, f"{valor!r} is not an authority type {sorted(AUTHORITY_TYPES)}")
    return valor


def _parse_longitud(
    tabla: Mapping[str, Any], calendario: str, error: Any
) -> tuple[Cantidad | None, Mapping[str, Cantidad] | None]:
    """Exactly one of ``duracion`` / ``por_riesgo`` (with alto, medio and bajo)."""
    tiene_duracion, tiene_riesgo = "duracion" in tabla, "por_riesgo" in tabla
    if tiene_duracion == tiene_riesgo:
        campo = "duracion" if not tiene_duracion else "por_riesgo"
        raise error(campo, "give exactly one of 'duracion' or 'por_riesgo'")
    if tiene_duracion:
        return _parse_cantidad(tabla["duracion"], calendario, "duracion", error), None
    riesgo = tabla["por_riesgo"]
    if not isinstance(riesgo, dict):
        raise error("por_riesgo", "must be a table {alto = ..., medio = ..., bajo = ...}")
    for nivel in riesgo:
        if nivel not in NIVELES_RIESGO:
            raise error(f"por_riesgo.{nivel}", f"unknown risk level, expected {NIVELES_RIESGO}")
    valores: dict[str, Cantidad] = {}
    for nivel in NIVELES_RIESGO:
        if nivel not in riesgo:
            raise error(f"por_riesgo.{nivel}", "missing risk level")
        valores[nivel] = _parse_cantidad(riesgo[nivel], calendario, f"por_riesgo.{nivel}", error)
    return None, MappingProxyType(valores)


def _parse_cantidad(valor: Any, calendario: str, campo: str, error: Any) -> Cantidad:
    if calendario == "dias_habiles":
        if isinstance(valor, bool) or not isinstance(valor, int) or valor < 1:
            raise error(campo, f"dias_habiles needs a positive integer of days, got {valor!r}")
        return valor
    try:
        duracion = Duracion.parse(valor)
    except ValueError as exc:
        raise error(campo, str(exc)) from None
    if calendario == "horas" and not duracion.es_exacta:
        raise error(campo, f"{duracion} uses years or months: use dias_naturales")
    if calendario == "dias_naturales" and not duracion.solo_fecha:
        raise error(campo, f"{duracion} has hours/minutes/seconds: use calendario = 'horas'")
    return duracion


def _parse_calendario(tabla: Any, ruta: Path) -> ConfigCalendario:
    def error(campo: str | None, problema: str) -> PlazosConfigError:
        return PlazosConfigError(ruta, "calendario", campo, problema)

    if not isinstance(tabla, dict):
        raise error(None, "expected a table")
    for clave in tabla:
        if clave not in _CLAVES_CALENDARIO:
            raise error(clave, f"unknown key (allowed: {', '.join(_CLAVES_CALENDARIO)})")
    zona = tabla.get("zona", "America/Mexico_City")
    if not isinstance(zona, str):
        raise error("zona", "must be an IANA zone name")
    regimen = tabla.get("regimen", LFPA_28)
    if regimen not in REGIMENES:
        raise error("regimen", f"unknown regime {regimen!r}, expected {REGIMENES}")
    autoridades_tabla = tabla.get("autoridades", {})
    if not isinstance(autoridades_tabla, dict):
        raise error("autoridades", "expected a table of authority types")
    autoridades = tuple(
        _parse_autoridad(nombre, valor, error) for nombre, valor in autoridades_tabla.items()
    )
    extra = tuple(
        _parse_fecha(v, f"dias_inhabiles_extra[{i}]", error)
        for i, v in enumerate(_lista(tabla, "dias_inhabiles_extra", error))
    )
    recurrentes = tuple(
        _parse_mes_dia(v, f"dias_inhabiles_recurrentes[{i}]", error)
        for i, v in enumerate(_lista(tabla, "dias_inhabiles_recurrentes", error))
    )
    suspensiones = tuple(
        _parse_suspension(v, i, error) for i, v in enumerate(_lista(tabla, "suspensiones", error))
    )
    config = ConfigCalendario(zona, extra, recurrentes, suspensiones, regimen, autoridades)
    try:
        config.construir()
    except ValueError as exc:
        raise error("zona", str(exc)) from None
    return config


def _lista(tabla: Mapping[str, Any], campo: str, error: Any) -> list[Any]:
    valor = tabla.get(campo, [])
    if not isinstance(valor, list):
        raise error(campo, "must be an array")
    return valor


def _parse_fecha(valor: Any, campo: str, error: Any) -> date:
    """A TOML local date (2020-03-24) or an ISO string ("2020-03-24")."""
    if isinstance(valor, datetime):
        raise error(campo, f"expected a date without time, got {valor!r}")
    if isinstance(valor, date):
        return valor
    if isinstance(valor, str):
        try:
            return date.fromisoformat(valor)
        except ValueError:
            pass
    raise error(campo, f"expected a date YYYY-MM-DD, got {valor!r}")


def _parse_mes_dia(valor: Any, campo: str, error: Any) -> tuple[int, int]:
    m = re.match(r"^(\d{2})-(\d{2})$", valor) if isinstance(valor, str) else None
    if not m:
        raise error(campo, f"expected 'MM-DD', got {valor!r}")
    mes, dia = int(m.group(1)), int(m.group(2))
    try:
        date(2024, mes, dia)
    except ValueError:
        raise error(campo, f"{valor!r} is not a calendar day") from None
    return mes, dia


def _parse_suspension(valor: Any, indice: int, error: Any) -> Suspension:
    base = f"suspensiones[{indice}]"
    if not isinstance(valor, dict):
        raise error(base, "expected a table")
    for clave in valor:
        if clave not in _CLAVES_SUSPENSION:
            raise error(
                f"{base}.{clave}", f"unknown key (allowed: {', '.join(_CLAVES_SUSPENSION)})"
            )
    for clave in _CLAVES_SUSPENSION:
        if clave not in valor:
            raise error(f"{base}.{clave}", "missing")
    for clave in ("jurisdiccion", "motivo", "fuente"):
        if not isinstance(valor[clave], str) or not valor[clave].strip():
            raise error(f"{base}.{clave}", "must be a non-empty string")
    desde = _parse_fecha(valor["desde"], f"{base}.desde", error)
    hasta = _parse_fecha(valor["hasta"], f"{base}.hasta", error)
    try:
        return Suspension(valor["jurisdiccion"], desde, hasta, valor["motivo"], valor["fuente"])
    except ValueError as exc:
        raise error(base, str(exc)) from None


def _parse_autoridad(nombre: str, valor: Any, error: Any) -> ConfigAutoridad:
    base = f"autoridades.{nombre}"
    _validar_autoridad(nombre, base, error)
    if not isinstance(valor, dict):
        raise error(base, "expected a table")
    for clave in valor:
        if clave not in _CLAVES_AUTORIDAD:
            raise error(f"{base}.{clave}", f"unknown key (allowed: {', '.join(_CLAVES_AUTORIDAD)})")
    regimen = valor.get("regimen", LFPA_28)
    if regimen not in REGIMENES:
        raise error(f"{base}.regimen", f"unknown regime {regimen!r}, expected {REGIMENES}")
    acuerdos = tuple(
        _parse_acuerdo(v, f"{base}.acuerdos[{i}]", error)
        for i, v in enumerate(_lista(valor, "acuerdos", error))
    )
    return ConfigAutoridad(nombre, regimen, acuerdos)


def _parse_acuerdo(valor: Any, base: str, error: Any) -> Acuerdo:
    """One acuerdo: ``fuente`` (required), ``dias`` (dates) and/or ``periodos`` ([desde, hasta])."""
    if not isinstance(valor, dict):
        raise error(base, "expected a table")
    for clave in valor:
        if clave not in _CLAVES_ACUERDO:
            raise error(f"{base}.{clave}", f"unknown key (allowed: {', '.join(_CLAVES_ACUERDO)})")
    fuente = valor.get("fuente")
    if not isinstance(fuente, str) or not fuente.strip():
        raise error(f"{base}.fuente", "must name the acuerdo (DOF publication)")
    dias = {
        _parse_fecha(v, f"{base}.dias[{i}]", error)
        for i, v in enumerate(_lista(valor, "dias", error))
    }
    for i, periodo in enumerate(_lista(valor, "periodos", error)):
        campo = f"{base}.periodos[{i}]"
        if not isinstance(periodo, list) or len(periodo) != 2:
            raise error(campo, "expected [desde, hasta]")
        desde = _parse_fecha(periodo[0], campo, error)
        hasta = _parse_fecha(periodo[1], campo, error)
        if hasta < desde:
            raise error(campo, f"hasta ({hasta}) is before desde ({desde})")
        dias |= {desde + timedelta(days=k) for k in range((hasta - desde).days + 1)}
    if not dias:
        raise error(base, "declares no day: give dias or periodos")
    return Acuerdo(fuente.strip(), frozenset(dias))
