"""Mexican federal working-day calendar for legal deadlines counted in días hábiles.

Why this exists: COMAR's 45 working days (LRPCAP art. 24), the 30 working days to file an asylum
claim (LRPCAP art. 18, SCJN protocol), the 3-day ratification (LRPCAP art. 11) and the 15-day
recurso de revisión all skip weekends, official rest days and days on which the authority suspended
its terms (COMAR did so from March to 20 April 2020 for COVID). SpiffWorkflow timers only understand
ISO-8601 instants and durations, so the engine computes the due instant here and feeds it to a date
or cycle timer (docs/architecture.md, "Deadlines").

Rules encoded (and why):

* Rest days are those of Ley Federal del Trabajo (LFT) art. 74: 1 January; first Monday of February
  (5 Feb); third Monday of March (21 Mar); 1 May; 16 September; third Monday of November (20 Nov);
  1 October every six years when the federal executive changes; 25 December. Saturdays and Sundays
  are never working days. The "Monday" rule dates from the LFT reform of DOF 17-01-2006; earlier
  years are not supported (no case in this system predates the 2021 reform of the Ley de Migración).
* Change of federal executive: since the constitutional reform of DOF 10-02-2014 (art. 83) the
  president takes office on 1 October, first in 2024, then 2030, 2036... Before 2024 the hand-over
  was on 1 December (2018, 2012, ...); we compute that too so historical cases replay correctly
  [P: the pre-2024 date follows the constitution; the LFT wording was updated later].
* Other non-working days (administrative holidays and vacation periods declared by each dependency
  in the DOF under Ley Federal de Procedimiento Administrativo (LFPA) art. 28, the election day of
  LFT art. 74 fr. IX, state holidays) are **configuration**, never hard-coded:
  ``dias_inhabiles_extra`` (dated) and ``dias_inhabiles_recurrentes`` (every year, "MM-DD").
  LFPA art. 28 is recalled to list 5 May as well, but that was not confirmed in a retrieved source
  [U], so it is not a default. Leaving a day out gives an *earlier* due date, the conservative
  side both for authority deadlines (escalate earlier) and for the child's own filing deadlines.
* Suspensions of terms apply per jurisdiction (INEGI 2-digit state code); a federal suspension
  (jurisdiction "00") applies everywhere. All working-day deadlines in the route are COMAR
  procedures, so a suspension applies to every working-day deadline of the jurisdiction.
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
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FEDERAL = "00"
"""Jurisdiction code of the federation: its suspensions apply to every state."""

PRIMER_CAMBIO_EJECUTIVO_OCTUBRE = 2024
"""First year the federal executive changed on 1 October (CPEUM art. 83, reform DOF 10-02-2014)."""

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
    """Working-day calendar: LFT art. 74 rest days + weekends + configured days + suspensions.

    Immutable in use: ``con_suspension`` returns a new calendar, so a worker can recompute every
    open deadline against the new one and compare (docs/architecture.md, "Deadlines").
    """

    def __init__(
        self,
        suspensiones: Iterable[Suspension] = (),
        dias_inhabiles_extra: Iterable[date] = (),
        zona: str = "America/Mexico_City",
        dias_inhabiles_recurrentes: Iterable[tuple[int, int]] = (),
    ) -> None:
        """Build a calendar.

        ``dias_inhabiles_extra``: dated non-working days declared by acuerdo (DOF).
        ``dias_inhabiles_recurrentes``: (month, day) pairs that are non-working every year, for
        days a deployment decides to add (e.g. (5, 5) if LFPA art. 28 is held to apply) [U].
        """
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
        self._lft_cache: dict[int, dict[date, str]] = {}

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

    def __repr__(self) -> str:
        return (
            f"CalendarioLaboral(zona={self._zona!r}, suspensiones={len(self._suspensiones)}, "
            f"dias_inhabiles_extra={len(self._extra)}, recurrentes={sorted(self._recurrentes)})"
        )

    # ----------------------------------------------------------------- days

    def _descansos(self, anio: int) -> dict[date, str]:
        if anio not in self._lft_cache:
            self._lft_cache[anio] = descansos_lft(anio)
        return self._lft_cache[anio]

    def _es_inhabil_general(self, d: date) -> bool:
        """Non-working for everybody: weekend, LFT rest day or configured day."""
        return (
            d.weekday() >= 5
            or d in self._descansos(d.year)
            or d in self._extra
            or (d.month, d.day) in self._recurrentes
        )

    def es_habil(self, d: date, jurisdiccion: str) -> bool:
        """True if ``d`` counts towards a working-day term in ``jurisdiccion``."""
        validar_jurisdiccion(jurisdiccion)
        if isinstance(d, datetime) or not isinstance(d, date):
            raise ValueError(f"d must be a date, got {d!r}")
        if self._es_inhabil_general(d):
            return False
        return not any(s.aplica(d, jurisdiccion) for s in self._suspensiones)

    def dias_inhabiles(self, anio: int, jurisdiccion: str | None = None) -> list[date]:
        """Sorted non-working weekdays-or-holidays of ``anio`` (weekends are not listed).

        Without ``jurisdiccion``: LFT art. 74 days plus configured days. With it, also the days
        suspended for that jurisdiction (federal suspensions included).
        """
        dias = set(self._descansos(anio))
        dias |= {d for d in self._extra if d.year == anio}
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
        """End of local day ``d`` (23:59:59.999999 in ``zona``) as a UTC instant."""
        return datetime.combine(d, _FIN_DEL_DIA, tzinfo=self._tz).astimezone(UTC)

    def fecha_local(self, instante: datetime) -> date:
        """Calendar date of ``instante`` in the calendar's zone (a 23:00 UTC-6 act is that day)."""
        return exigir_tz(instante, "instante").astimezone(self._tz).date()

    def sumar_dias_habiles(self, inicio: datetime, n: int, jurisdiccion: str) -> datetime:
        """End of the n-th working day after ``inicio``, as a tz-aware UTC datetime.

        The count starts on the day after ``inicio`` (LFPA art. 38 practice: terms run from the day
        after the notification takes effect) and skips every non-working day for ``jurisdiccion``.
        """
        exigir_tz(inicio, "inicio")
        validar_jurisdiccion(jurisdiccion)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive integer number of working days, got {n!r}")
        d = self.fecha_local(inicio)
        contados = 0
        while contados < n:
            d += timedelta(days=1)
            if self.es_habil(d, jurisdiccion):
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
        return (inicio + timedelta(hours=horas)).astimezone(UTC)

    def con_suspension(self, s: Suspension) -> CalendarioLaboral:
        """A new calendar with ``s`` added; this one is unchanged (deadlines are recomputed)."""
        return CalendarioLaboral(
            suspensiones=(*self._suspensiones, s),
            dias_inhabiles_extra=self._extra,
            zona=self._zona,
            dias_inhabiles_recurrentes=self._recurrentes,
        )
