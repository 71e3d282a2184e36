"""Mexican federal working-day calendar for legal deadlines counted in días hábiles.

Why this exists: COMAR's 45 working days (LRPCAP art. 24), the 30 working days to file an asylum
claim (LRPCAP art. 18, SCJN protocol), the 3-day ratification (LRPCAP art. 11) and the 15-day
recurso de revisión all skip weekends, official rest days and days on which the authority suspended
its terms (COMAR did so from March to 20 April 2020 for COVID). SpiffWorkflow timers only understand
ISO-8601 instants and durations, so the engine computes the due instant here and feeds it to a date
or cycle timer (docs/architecture.md, "Deadlines").

Rules encoded (and why). Two regimes of rest days; which one a deadline counts on is a setting of
the authority it runs before (``CalendarioAutoridad``), the default being the federal
administrative one:

* ``lfpa_28`` (Ley Federal de Procedimiento Administrativo art. 28, the default): "No se
  considerarán días hábiles: los sábados, los domingos, el 1o. de enero; 5 de febrero; 21 de marzo;
  1o. de mayo; 5 de mayo; 1o. y 16 de septiembre; 20 de noviembre; 1o. de diciembre de cada seis
  años, cuando corresponda a la transmisión del Poder Ejecutivo Federal, y el 25 de diciembre, así
  como los días en que tengan vacaciones generales las autoridades competentes o aquellos en que se
  suspendan las labores, los que se harán del conocimiento público mediante acuerdo del titular de
  la Dependencia respectiva, que se publicará en el Diario Oficial de la Federación." Fixed dates,
  never moved to a Monday. The article still says 1 December for the hand-over; since CPEUM art.
  83 (reform DOF 10-02-2014) the hand-over is on 1 October (2024, 2030, ...), so the day "que
  corresponda a la transmisión" is taken, 1 December before 2024 [P: reading of a text the
  reform did not update]. The days each authority declares by acuerdo are the authority's
  ``dias_declarados``; a year without them is incomplete (``espera_dias_declarados``).
* ``lft_74`` (Ley Federal del Trabajo art. 74): 1 January; first Monday of February; third Monday
  of March; 1 May; 16 September; third Monday of November; "El 1o. de octubre de cada seis años,
  cuando corresponda a la transmisión del Poder Ejecutivo Federal" (fr. VII, reformed DOF
  30-09-2024); 25 December. The labour calendar, for an authority a deployment says follows it.
  The "Monday" rule dates from the LFT reform of DOF 17-01-2006; earlier years are not supported
  (no case in this system predates the 2021 reform of the Ley de Migración). Before 2024 the
  hand-over was on 1 December (2018, 2012, ...); computed too so historical cases replay.
* Saturdays and Sundays are never working days, in either regime.
* Other non-working days are **configuration**, never hard-coded: ``dias_inhabiles_extra`` (dated,
  for every authority: e.g. a day the whole federal administration stops) and
  ``dias_inhabiles_recurrentes`` (every year, "MM-DD"), and per authority the days it declared
  (vacation periods, Holy Thursday and Friday). The election day of LFT art. 74 fr. IX and state
  holidays go there too. Leaving a day out gives an *earlier* due date, the conservative side
  both for authority deadlines (escalate earlier) and for the child's own filing deadlines; hence
  the warning when a year in use has no declared days (app/services/calendars.py).
* Suspensions of terms apply per jurisdiction (INEGI 2-digit state code); a federal suspension
  (jurisdiction "00") applies everywhere, to every authority's working-day deadlines.
* Counting (LFPA arts. 28 and 38 practice): a term of n working days starts on the day *after* the
  triggering act and ends at the end (23:59:59.999999 local time) of the n-th working day.

All instants are tz-aware; results are returned in UTC. Mexico City has had no DST since the
Ley de los Husos Horarios (DOF 28-10-2022), so it is UTC-6 all year; older dates (e.g. April 2020,
UTC-5) still come out right because the IANA zone database is used, never a fixed offset.
``zoneinfo`` reads that database from the system or, where there is none, from the ``tzdata``
package (a runtime dependency on such machines).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FEDERAL = "00"
"""Jurisdiction code of the federation: its suspensions apply to every state."""

PRIMER_CAMBIO_EJECUTIVO_OCTUBRE = 2024
"""First year the federal executive changed on 1 October (CPEUM art. 83, reform DOF 10-02-2014)."""

LFPA_28 = "lfpa_28"
"""Regime of LFPA art. 28: fixed dates plus the days each authority declares (the default)."""
LFT_74 = "lft_74"
"""Regime of LFT art. 74: the labour calendar's movable Mondays."""
REGIMENES = (LFPA_28, LFT_74)
#: Regimes whose law leaves days to each authority's acuerdo: a year without them is incomplete.
REGIMENES_CON_DIAS_DECLARADOS = frozenset({LFPA_28})

_JURISDICCION = re.compile(r"^\d{2}$")
_FIN_DEL_DIA = time(23, 59, 59, 999999)
_MAX_JURISDICCION = 32  # INEGI: 01 Aguascalientes .. 32 Zacatecas


def validar_jurisdiccion(jurisdiccion: str) -> str:
    """Check an INEGI state code ("00" federal, "01".."32" states) and return it.

    Why strict: a typo such as "7" instead of "07" would silently ignore a state suspension and
    give a too-early due date.
    """
    if (
        not isinstance(jurisdiccion, str)
        or not _JURISDICCION.match(jurisdiccion)
        or int(jurisdiccion) > _MAX_JURISDICCION
    ):
        raise ValueError(
            f"jurisdiccion must be an INEGI 2-digit code '00'..'32', got {jurisdiccion!r}"
        )
    return jurisdiccion


INSTANTE_MAXIMO = datetime(2999, 12, 31, tzinfo=UTC)
"""No deadline is due later: the route's "never" (like an unknown majority date). A date stored
beyond it (9999-12-31, accepted before dates were bounded, issue 15) makes a deadline due then,
instead of overflowing the date arithmetic and failing every command on the case."""
INSTANTE_MINIMO = datetime(1900, 1, 1, tzinfo=UTC)
"""No deadline counts from earlier (0001-01-01 in the child's zone is the year 0: an overflow)."""


def acotar(instante: datetime) -> datetime:
    """``instante`` within [INSTANTE_MINIMO, INSTANTE_MAXIMO]: the deadline code never raises
    on a stored date, however implausible."""
    exigir_tz(instante, "instante")
    return min(max(instante, INSTANTE_MINIMO), INSTANTE_MAXIMO)


def exigir_tz(valor: datetime, nombre: str) -> datetime:
    """Refuse naive datetimes: a naive instant would be read in the server's zone, not Mexico's."""
    if not isinstance(valor, datetime):
        raise ValueError(f"{nombre} must be a timezone-aware datetime, got {type(valor).__name__}")
    if valor.tzinfo is None or valor.utcoffset() is None:
        raise ValueError(f"{nombre} must be a timezone-aware datetime (got naive {valor!r})")
    return valor


def nth_weekday(anio: int, mes: int, weekday: int, n: int) -> date:
    """The n-th given weekday (Monday=0) of a month: LFT art. 74 fr. II, III and VI use Mondays."""
    first = date(anio, mes, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def cambio_ejecutivo_federal(anio: int) -> date | None:
    """Day of the federal executive hand-over in ``anio`` (LFT art. 74 fr. VII), if any.

    1 October from 2024 every six years (CPEUM art. 83 as reformed DOF 10-02-2014); 1 December in
    the six-yearly hand-overs before 2024 (2018, 2012, ...).
    """
    diferencia = anio - PRIMER_CAMBIO_EJECUTIVO_OCTUBRE
    if diferencia % 6:
        return None
    return date(anio, 10, 1) if diferencia >= 0 else date(anio, 12, 1)


def descansos_lft(anio: int) -> dict[date, str]:
    """Official rest days of LFT art. 74 for one year, each with the fraction that creates it."""
    dias = {
        date(anio, 1, 1): "LFT art. 74 fr. I (1 de enero)",
        nth_weekday(anio, 2, 0, 1): "LFT art. 74 fr. II (primer lunes de febrero)",
        nth_weekday(anio, 3, 0, 3): "LFT art. 74 fr. III (tercer lunes de marzo)",
        date(anio, 5, 1): "LFT art. 74 fr. IV (1 de mayo)",
        date(anio, 9, 16): "LFT art. 74 fr. V (16 de septiembre)",
        nth_weekday(anio, 11, 0, 3): "LFT art. 74 fr. VI (tercer lunes de noviembre)",
        date(anio, 12, 25): "LFT art. 74 fr. VIII (25 de diciembre)",
    }
    cambio = cambio_ejecutivo_federal(anio)
    if cambio is not None:
        dias[cambio] = "LFT art. 74 fr. VII (transmisión del Poder Ejecutivo Federal)"
    return dias


def descansos_lfpa(anio: int) -> dict[date, str]:
    """Non-working dates LFPA art. 28 lists for one year (weekends aside), each with its words."""
    dias = {
        date(anio, 1, 1): "LFPA art. 28 (1o. de enero)",
        date(anio, 2, 5): "LFPA art. 28 (5 de febrero)",
        date(anio, 3, 21): "LFPA art. 28 (21 de marzo)",
        date(anio, 5, 1): "LFPA art. 28 (1o. de mayo)",
        date(anio, 5, 5): "LFPA art. 28 (5 de mayo)",
        date(anio, 9, 1): "LFPA art. 28 (1o. de septiembre)",
        date(anio, 9, 16): "LFPA art. 28 (16 de septiembre)",
        date(anio, 11, 20): "LFPA art. 28 (20 de noviembre)",
        date(anio, 12, 25): "LFPA art. 28 (25 de diciembre)",
    }
    cambio = cambio_ejecutivo_federal(anio)
    if cambio is not None:
        dias[cambio] = "LFPA art. 28 (transmisión del Poder Ejecutivo Federal; CPEUM art. 83)"
    return dias


def descansos(regimen: str, anio: int) -> dict[date, str]:
    """The rest days of ``regimen`` (``lfpa_28`` | ``lft_74``) in ``anio``."""
    if regimen == LFPA_28:
        return descansos_lfpa(anio)
    if regimen == LFT_74:
        return descansos_lft(anio)
    raise ValueError(f"regimen must be one of {', '.join(REGIMENES)}, got {regimen!r}")


def validar_regimen(regimen: str) -> str:
    if regimen not in REGIMENES:
        raise ValueError(f"regimen must be one of {', '.join(REGIMENES)}, got {regimen!r}")
    return regimen


@dataclass(frozen=True)
class CalendarioAutoridad:
    """The calendar setting of one authority type (a lane code: COMAR, INM, ...).

    ``regimen``: which law's rest days its terms skip. ``dias_declarados``: the non-working days it
    declared by acuerdo published in the DOF (LFPA art. 28: general vacations, days labours are
    suspended), from config/plazos.toml and from the database (``careroute calendario``).
    """

    autoridad: str
    regimen: str = LFPA_28
    dias_declarados: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if not isinstance(self.autoridad, str) or not self.autoridad:
            raise ValueError(f"autoridad must be an authority type code, got {self.autoridad!r}")
        validar_regimen(self.regimen)
        object.__setattr__(self, "dias_declarados", frozenset(self.dias_declarados))
        for d in self.dias_declarados:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise ValueError(f"dias_declarados must contain dates, got {d!r}")

    @property
    def espera_dias_declarados(self) -> bool:
        """True if its regime leaves days to the authority's acuerdo (a year needs them)."""
        return self.regimen in REGIMENES_CON_DIAS_DECLARADOS

    @property
    def anios_declarados(self) -> frozenset[int]:
        """Years with at least one declared day."""
        return frozenset(d.year for d in self.dias_declarados)

    def con_dias(self, dias: Iterable[date]) -> CalendarioAutoridad:
        """This setting with ``dias`` declared too."""
        return CalendarioAutoridad(self.autoridad, self.regimen, self.dias_declarados | set(dias))


@dataclass(frozen=True)
class Suspension:
    """A period in which an authority suspended its terms (e.g. COMAR, March–20 April 2020).

    ``jurisdiccion`` is "00" for a federal suspension (applies to every jurisdiction) or the INEGI
    2-digit state code ("07" Chiapas, "27" Tabasco). ``hasta`` is inclusive. ``fuente`` cites the
    acuerdo or DOF publication so the audit trail can say why a due date moved.
    """

    jurisdiccion: str
    desde: date
    hasta: date
    motivo: str
    fuente: str

    def __post_init__(self) -> None:
        validar_jurisdiccion(self.jurisdiccion)
        for nombre in ("desde", "hasta"):
            valor = getattr(self, nombre)
            if isinstance(valor, datetime) or not isinstance(valor, date):
                raise ValueError(f"Suspension.{nombre} must be a date, got {valor!r}")
        if self.hasta < self.desde:
            raise ValueError(f"Suspension.hasta ({self.hasta}) is before desde ({self.desde})")

    def aplica(self, dia: date, jurisdiccion: str) -> bool:
        """True if ``dia`` is suspended for ``jurisdiccion`` (federal suspensions apply to all)."""
        if self.jurisdiccion not in (FEDERAL, jurisdiccion):
            return False
        return self.desde <= dia <= self.hasta


class CalendarioLaboral:
    """Working-day calendars of every authority: a regime's rest days + weekends + configured
    days + each authority's declared days + suspensions of terms.

    One object serves every authority: ``autoridad`` (a lane code) selects that authority's
    setting; an authority without one (or ``autoridad=None``) counts on the default, ``regimen``
    with no declared days of its own. Immutable in use: ``con_suspension`` and
    ``con_dias_declarados`` return a new calendar, so a worker can recompute every open deadline
    against the new one and compare (docs/architecture.md, "Deadlines").
    """

    def __init__(
        self,
        suspensiones: Iterable[Suspension] = (),
        dias_inhabiles_extra: Iterable[date] = (),
        zona: str = "America/Mexico_City",
        dias_inhabiles_recurrentes: Iterable[tuple[int, int]] = (),
        regimen: str = LFPA_28,
        autoridades: Iterable[CalendarioAutoridad] | Mapping[str, CalendarioAutoridad] = (),
    ) -> None:
        """Build a calendar.

        ``dias_inhabiles_extra``: dated non-working days for every authority (DOF).
        ``dias_inhabiles_recurrentes``: (month, day) pairs that are non-working every year, for
        days a deployment decides to add [U].
        ``regimen``: the default regime (``lfpa_28``), for authorities without a setting.
        ``autoridades``: per authority type, its regime and declared days.
        """
        self._regimen = validar_regimen(regimen)
        valores = autoridades.values() if isinstance(autoridades, Mapping) else autoridades
        self._autoridades: dict[str, CalendarioAutoridad] = {}
        for a in valores:
            if not isinstance(a, CalendarioAutoridad):
                raise ValueError(f"autoridades must contain CalendarioAutoridad objects, got {a!r}")
            self._autoridades[a.autoridad] = a
        self._suspensiones = tuple(suspensiones)
        for s in self._suspensiones:
            if not isinstance(s, Suspension):
                raise ValueError(f"suspensiones must contain Suspension objects, got {s!r}")
        self._extra = frozenset(dias_inhabiles_extra)
        for d in self._extra:
            if isinstance(d, datetime) or not isinstance(d, date):
                raise ValueError(f"dias_inhabiles_extra must contain dates, got {d!r}")
        self._recurrentes = frozenset(
            self._validar_recurrente(md) for md in dias_inhabiles_recurrentes
        )
        try:
            self._tz = ZoneInfo(zona)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {zona!r} (install the 'tzdata' package if the system has no "
                "IANA tz database)"
            ) from exc
        self._zona = zona
        self._descansos_cache: dict[tuple[str, int], dict[date, str]] = {}

    @staticmethod
    def _validar_recurrente(md: tuple[int, int]) -> tuple[int, int]:
        mes, dia = md
        date(2024, mes, dia)  # leap year, so 29 Feb is accepted; raises ValueError if impossible
        return (mes, dia)

    # ----------------------------------------------------------------- properties

    @property
    def zona(self) -> str:
        """IANA zone in which days start and end (deadlines end at local midnight)."""
        return self._zona

    @property
    def tz(self) -> ZoneInfo:
        """The zone as a tzinfo, for callers that do local calendar arithmetic."""
        return self._tz

    @property
    def suspensiones(self) -> tuple[Suspension, ...]:
        return self._suspensiones

    @property
    def dias_inhabiles_extra(self) -> frozenset[date]:
        return self._extra

    @property
    def regimen(self) -> str:
        """The default regime, for authorities without a setting of their own."""
        return self._regimen

    @property
    def autoridades(self) -> Mapping[str, CalendarioAutoridad]:
        """Per authority type, its setting (only those configured or with declared days)."""
        return dict(self._autoridades)

    def autoridad(self, autoridad: str | None) -> CalendarioAutoridad | None:
        """The setting of ``autoridad``; None for the default calendar."""
        if autoridad is None:
            return None
        return self._autoridades.get(autoridad) or CalendarioAutoridad(autoridad, self._regimen)

    def regimen_de(self, autoridad: str | None) -> str:
        ajuste = self.autoridad(autoridad)
        return ajuste.regimen if ajuste else self._regimen

    def __repr__(self) -> str:
        return (
            f"CalendarioLaboral(zona={self._zona!r}, regimen={self._regimen!r}, "
            f"autoridades={sorted(self._autoridades)}, suspensiones={len(self._suspensiones)}, "
            f"dias_inhabiles_extra={len(self._extra)}, recurrentes={sorted(self._recurrentes)})"
        )

    # ----------------------------------------------------------------- days

    def _descansos(self, anio: int, regimen: str | None = None) -> dict[date, str]:
        clave = (regimen or self._regimen, anio)
        if clave not in self._descansos_cache:
            self._descansos_cache[clave] = descansos(*clave)
        return self._descansos_cache[clave]

    def _es_inhabil_general(self, d: date, autoridad: str | None = None) -> bool:
        """Non-working for the authority whatever the place: weekend, a rest day of its regime,
        a configured day or a day it declared."""
        ajuste = self._autoridades.get(autoridad) if autoridad is not None else None
        regimen = ajuste.regimen if ajuste else self._regimen
        return (
            d.weekday() >= 5
            or d in self._descansos(d.year, regimen)
            or d in self._extra
            or (d.month, d.day) in self._recurrentes
            or (ajuste is not None and d in ajuste.dias_declarados)
        )

    def es_habil(self, d: date, jurisdiccion: str, autoridad: str | None = None) -> bool:
        """True if ``d`` counts towards a working-day term in ``jurisdiccion`` before
        ``autoridad`` (an authority type; None: the default calendar)."""
        validar_jurisdiccion(jurisdiccion)
        if isinstance(d, datetime) or not isinstance(d, date):
            raise ValueError(f"d must be a date, got {d!r}")
        if self._es_inhabil_general(d, autoridad):
            return False
        return not any(s.aplica(d, jurisdiccion) for s in self._suspensiones)

    def dias_inhabiles(
        self, anio: int, jurisdiccion: str | None = None, autoridad: str | None = None
    ) -> list[date]:
        """Sorted non-working days of ``anio``: the regime's dates (even on a weekend), configured
        days, and the weekdays declared or suspended (their weekends are not listed).

        Without ``jurisdiccion``: the rest days of the authority's regime, configured days and the
        days it declared. With it, also the days suspended for that jurisdiction (federal
        suspensions included).
        """
        ajuste = self._autoridades.get(autoridad) if autoridad is not None else None
        dias = set(self._descansos(anio, ajuste.regimen if ajuste else None))
        dias |= {d for d in self._extra if d.year == anio}
        if ajuste is not None:
            dias |= {d for d in ajuste.dias_declarados if d.year == anio and d.weekday() < 5}
        for mes, dia in self._recurrentes:
            try:
                dias.add(date(anio, mes, dia))
            except ValueError:  # 29 Feb in a common year
                continue
        if jurisdiccion is not None:
            validar_jurisdiccion(jurisdiccion)
            for s in self._suspensiones:
                if s.jurisdiccion in (FEDERAL, jurisdiccion):
                    d = max(s.desde, date(anio, 1, 1))
                    while d <= min(s.hasta, date(anio, 12, 31)):
                        if d.weekday() < 5:
                            dias.add(d)
                        d += timedelta(days=1)
        return sorted(dias)

    # ----------------------------------------------------------------- arithmetic

    def fin_del_dia(self, d: date) -> datetime:
        """End of local day ``d`` (23:59:59.999999 in ``zona``) as a UTC instant (at most
        INSTANTE_MAXIMO)."""
        if d >= INSTANTE_MAXIMO.date():
            return INSTANTE_MAXIMO
        return datetime.combine(d, _FIN_DEL_DIA, tzinfo=self._tz).astimezone(UTC)

    def fecha_local(self, instante: datetime) -> date:
        """Calendar date of ``instante`` in the calendar's zone (a 23:00 UTC-6 act is that day)."""
        return acotar(exigir_tz(instante, "instante")).astimezone(self._tz).date()

    def sumar_dias_habiles(
        self, inicio: datetime, n: int, jurisdiccion: str, autoridad: str | None = None
    ) -> datetime:
        """End of the n-th working day after ``inicio``, as a tz-aware UTC datetime.

        The count starts on the day after ``inicio`` (LFPA art. 38 practice: terms run from the day
        after the notification takes effect) and skips every non-working day for ``jurisdiccion``
        on the calendar of ``autoridad`` (None: the default calendar).
        """
        exigir_tz(inicio, "inicio")
        validar_jurisdiccion(jurisdiccion)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer number of working days, got {n!r}")
        if acotar(inicio) >= INSTANTE_MAXIMO:
            return INSTANTE_MAXIMO
        d = self.fecha_local(inicio)
        contados = 0
        while contados < n:
            d += timedelta(days=1)
            if self.es_habil(d, jurisdiccion, autoridad):
                contados += 1
        return self.fin_del_dia(d)

    def sumar_dias_naturales(self, inicio: datetime, dias: int) -> datetime:
        """End of the ``dias``-th calendar day after ``inicio`` (local), as UTC.

        Same counting rule as working days (from the next day, to the end of the last day) but
        every day counts: used for operational SLAs such as the case plan (3/7/14 days).
        """
        exigir_tz(inicio, "inicio")
        if isinstance(dias, bool) or not isinstance(dias, int) or dias < 0:
            raise ValueError(f"dias must be a non-negative integer, got {dias!r}")
        return self.fin_del_dia(self.fecha_local(inicio) + timedelta(days=dias))

    def sumar_horas(self, inicio: datetime, horas: float) -> datetime:
        """``inicio`` + ``horas`` on a 24x7 clock (LGDNNA art. 122's 3 h and 24 h never pause)."""
        exigir_tz(inicio, "inicio")
        if isinstance(horas, bool) or not isinstance(horas, int | float) or horas < 0:
            raise ValueError(f"horas must be a non-negative number, got {horas!r}")
        return min(acotar(inicio) + timedelta(hours=horas), INSTANTE_MAXIMO).astimezone(UTC)

    def _copia(
        self,
        suspensiones: Iterable[Suspension] | None = None,
        autoridades: Iterable[CalendarioAutoridad] | None = None,
    ) -> CalendarioLaboral:
        return CalendarioLaboral(
            suspensiones=self._suspensiones if suspensiones is None else suspensiones,
            dias_inhabiles_extra=self._extra,
            zona=self._zona,
            dias_inhabiles_recurrentes=self._recurrentes,
            regimen=self._regimen,
            autoridades=self._autoridades.values() if autoridades is None else autoridades,
        )

    def con_suspension(self, s: Suspension) -> CalendarioLaboral:
        """A new calendar with ``s`` added; this one is unchanged (deadlines are recomputed)."""
        return self._copia(suspensiones=(*self._suspensiones, s))

    def con_dias_declarados(self, autoridad: str, dias: Iterable[date]) -> CalendarioLaboral:
        """A new calendar in which ``autoridad`` also declared ``dias`` non-working (its regime
        is kept, or the default one if it had no setting); this one is unchanged."""
        ajuste = self.autoridad(autoridad)
        assert ajuste is not None
        otras = [a for k, a in self._autoridades.items() if k != autoridad]
        return self._copia(autoridades=[*otras, ajuste.con_dias(dias)])
