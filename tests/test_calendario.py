"""Mexican federal working-day calendar (workflows/calendario.py).

Expected dates are counted by hand in the comments (from a printed calendar), never derived from
the code under test.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from workflows.calendario import (
    LFPA_28,
    LFT_74,
    CalendarioAutoridad,
    CalendarioLaboral,
    Suspension,
)

UTC = timezone.utc
CDMX = timezone(timedelta(hours=-6))  # America/Mexico_City: UTC-6 all year since DOF 28-10-2022

# Filing date used by the 45-working-day tests: Monday 26 October 2026, 10:00 local.
PRESENTACION = datetime(2026, 10, 26, 10, 0, tzinfo=CDMX)

# By hand, counting starts Tuesday 27 Oct 2026 (the day after filing):
#   Oct 27 28 29 30                       -> 4
#   Nov  2  3  4  5  6                    -> 9
#   Nov  9 10 11 12 13                    -> 14
#   Nov 16 = third Monday of Nov (LFT 74 fr. VI), skipped
#   Nov 17 18 19 20                       -> 18
#   Nov 23 24 25 26 27                    -> 23
#   Nov 30                                -> 24
#   Dec  1  2  3  4                       -> 28
#   Dec  7 .. 11                          -> 33
#   Dec 14 .. 18                          -> 38
#   Dec 21 22 23 24 (25 = LFT 74 fr. VIII) -> 42
#   Dec 28 29 30                          -> 45  => Wednesday 30 Dec 2026
# End of 30 Dec local (23:59:59.999999 -06:00) = 31 Dec 05:59:59.999999 UTC.
VENCE_45 = datetime(2026, 12, 31, 5, 59, 59, 999999, tzinfo=UTC)

# Same count with Mon 9 .. Fri 13 Nov suspended (5 working days lost): on 30 Dec the count is 40;
#   Dec 31 -> 41; Jan 1 2027 (LFT 74 fr. I) skipped; Jan 2-3 weekend; Jan 4 5 6 7 -> 45
# => Thursday 7 Jan 2027, end of day local = 8 Jan 05:59:59.999999 UTC.
VENCE_45_SUSPENDIDO = datetime(2027, 1, 8, 5, 59, 59, 999999, tzinfo=UTC)


def suspension(jurisdiccion: str, desde: date, hasta: date) -> Suspension:
    return Suspension(jurisdiccion, desde, hasta, "prueba", "Acuerdo de prueba")


def lft(**kwargs) -> CalendarioLaboral:
    """The labour calendar (LFT art. 74) as the default regime: most tests below count on it."""
    return CalendarioLaboral(regimen=LFT_74, **kwargs)


@pytest.fixture
def cal() -> CalendarioLaboral:
    return lft()


# ------------------------------------------------------------------ rest days (LFT art. 74)


@pytest.mark.parametrize(
    ("dia", "por_que"),
    [
        # 2026: 1 Feb is a Sunday -> first Monday is 2 Feb; 1 Mar is a Sunday -> Mondays 2, 9, 16;
        # 1 Nov is a Sunday -> Mondays 2, 9, 16.
        (date(2026, 2, 2), "first Monday of February 2026"),
        (date(2026, 3, 16), "third Monday of March 2026"),
        (date(2026, 11, 16), "third Monday of November 2026"),
        # 2027: 1 Feb, 1 Mar and 1 Nov are Mondays -> 1 Feb; 1, 8, 15 Mar; 1, 8, 15 Nov.
        (date(2027, 2, 1), "first Monday of February 2027"),
        (date(2027, 3, 15), "third Monday of March 2027"),
        (date(2027, 11, 15), "third Monday of November 2027"),
        (date(2026, 1, 1), "1 January (Thursday)"),
        (date(2026, 5, 1), "1 May (Friday)"),
        (date(2026, 9, 16), "16 September (Wednesday)"),
        (date(2026, 12, 25), "25 December (Friday)"),
        (date(2030, 10, 1), "change of federal executive, Tuesday 1 Oct 2030"),
        (date(2024, 10, 1), "change of federal executive, Tuesday 1 Oct 2024"),
    ],
)
def test_lft_rest_days_are_not_working_days(cal: CalendarioLaboral, dia: date, por_que: str):
    assert dia.weekday() < 5, f"{dia} should be a weekday for this test"
    assert not cal.es_habil(dia, "00"), por_que


@pytest.mark.parametrize(
    "dia",
    [
        date(2026, 10, 1),  # Thursday; 2026 is not a change-of-executive year
        date(2026, 2, 5),  # the commemorated date itself is moved to the Monday
        date(2026, 3, 19),  # Thursday; 21 Mar is commemorated on Monday 16 Mar
        date(2026, 11, 20),  # Friday: the commemoration runs on Monday 16 Nov
        date(2026, 11, 2),  # Día de Muertos is not in LFT art. 74
        date(2027, 3, 22),  # fourth Monday of March 2027
    ],
)
def test_ordinary_weekdays_are_working_days(cal: CalendarioLaboral, dia: date):
    assert cal.es_habil(dia, "07")


def test_weekends_are_not_working_days(cal: CalendarioLaboral):
    assert not cal.es_habil(date(2026, 10, 31), "00")  # Saturday
    assert not cal.es_habil(date(2026, 11, 1), "00")  # Sunday


def test_dias_inhabiles_lists_the_lft_days_of_the_year(cal: CalendarioLaboral):
    assert cal.dias_inhabiles(2026) == [
        date(2026, 1, 1),
        date(2026, 2, 2),
        date(2026, 3, 16),
        date(2026, 5, 1),
        date(2026, 9, 16),
        date(2026, 11, 16),
        date(2026, 12, 25),
    ]
    assert date(2030, 10, 1) in cal.dias_inhabiles(2030)
    assert date(2030, 10, 1) not in cal.dias_inhabiles(2026)
    # Before the DOF 10-02-2014 reform took effect the hand-over was on 1 December (2018).
    assert date(2018, 12, 1) in cal.dias_inhabiles(2018)
    assert not any(d.month == 10 and d.day == 1 for d in cal.dias_inhabiles(2018))


def test_extra_and_recurring_days_come_from_configuration():
    cal = lft(
        dias_inhabiles_extra=[date(2026, 4, 2), date(2026, 4, 3)],  # Holy Thu/Fri by acuerdo
        dias_inhabiles_recurrentes=[(5, 5)],
    )
    assert not cal.es_habil(date(2026, 4, 2), "00")
    assert not cal.es_habil(date(2026, 4, 3), "27")
    assert not cal.es_habil(date(2026, 5, 5), "07")  # Tuesday
    assert not cal.es_habil(date(2027, 5, 5), "07")  # Wednesday, every year
    assert date(2026, 4, 2) in cal.dias_inhabiles(2026)
    assert date(2027, 5, 5) in cal.dias_inhabiles(2027)
    assert lft().es_habil(date(2026, 5, 5), "07")  # not a default


# ------------------------------------------------------------------ LFPA art. 28 (the default)


def test_lfpa_28_is_the_default_regime_with_its_fixed_dates():
    # LFPA art. 28: "el 1o. de enero; 5 de febrero; 21 de marzo; 1o. de mayo; 5 de mayo; 1o. y 16
    # de septiembre; 20 de noviembre; ... y el 25 de diciembre". In 2026: Thu 1 Jan, Thu 5 Feb,
    # Sat 21 Mar (a weekend anyway), Fri 1 May, Tue 5 May, Tue 1 Sep, Wed 16 Sep, Fri 20 Nov,
    # Fri 25 Dec. No movable Mondays.
    cal = CalendarioLaboral()
    assert cal.regimen == LFPA_28
    assert cal.dias_inhabiles(2026) == [
        date(2026, 1, 1),
        date(2026, 2, 5),
        date(2026, 3, 21),
        date(2026, 5, 1),
        date(2026, 5, 5),
        date(2026, 9, 1),
        date(2026, 9, 16),
        date(2026, 11, 20),
        date(2026, 12, 25),
    ]
    for lunes in (date(2026, 2, 2), date(2026, 3, 16), date(2026, 11, 16)):
        assert cal.es_habil(lunes, "07"), f"{lunes}: an LFT Monday, a working day under LFPA 28"


@pytest.mark.parametrize(
    ("regimen", "vence"),
    [
        # From Fri 29 Jan 2027, 4 working days.
        # LFPA 28: Mon 1 Feb, Tue 2, Wed 3, Thu 4 -> Thu 4 Feb (Fri 5 Feb would be skipped).
        (LFPA_28, datetime(2027, 2, 5, 5, 59, 59, 999999, tzinfo=UTC)),
        # LFT 74: Mon 1 Feb (first Monday of February) skipped; Tue 2, Wed 3, Thu 4, Fri 5.
        (LFT_74, datetime(2027, 2, 6, 5, 59, 59, 999999, tzinfo=UTC)),
    ],
)
def test_the_two_regimes_differ_in_february_2027(regimen: str, vence: datetime):
    inicio = datetime(2027, 1, 29, 12, 0, tzinfo=CDMX)
    assert CalendarioLaboral(regimen=regimen).sumar_dias_habiles(inicio, 4, "07") == vence


@pytest.mark.parametrize("regimen", [LFPA_28, LFT_74])
def test_change_of_government_2030_is_1_october_in_both_regimes(regimen: str):
    # Tue 1 Oct 2030: LFT 74 fr. VII (DOF 30-09-2024) and, for LFPA 28, the day "que corresponda a
    # la transmisión del Poder Ejecutivo Federal" (CPEUM art. 83). From Mon 30 Sep 2030, one
    # working day is Wed 2 Oct.
    cal = CalendarioLaboral(regimen=regimen)
    assert not cal.es_habil(date(2030, 10, 1), "00")
    assert date(2030, 10, 1) in cal.dias_inhabiles(2030)
    assert cal.es_habil(date(2026, 10, 1), "00")  # no hand-over in 2026
    inicio = datetime(2030, 9, 30, 10, 0, tzinfo=CDMX)
    assert cal.sumar_dias_habiles(inicio, 1, "00") == datetime(
        2030, 10, 3, 5, 59, 59, 999999, tzinfo=UTC
    )


# ------------------------------------------------------------------ per authority


def test_holy_week_2027_declared_by_comar_moves_only_comar_terms():
    # Easter 2027 is Sunday 28 March: Holy Thursday 25 and Good Friday 26 March. COMAR declares
    # them non-working; INM (no setting) counts on the default calendar.
    semana_santa = [date(2027, 3, 25), date(2027, 3, 26)]
    cal = CalendarioLaboral(autoridades=[CalendarioAutoridad("COMAR", LFPA_28, semana_santa)])
    inicio = datetime(2027, 3, 23, 11, 0, tzinfo=CDMX)  # Tue 23 Mar 2027
    # COMAR: Wed 24 (1), Thu 25 and Fri 26 declared, weekend, Mon 29 (2), Tue 30 (3).
    assert cal.sumar_dias_habiles(inicio, 3, "07", "COMAR") == datetime(
        2027, 3, 31, 5, 59, 59, 999999, tzinfo=UTC
    )
    # Default calendar and another authority: Wed 24, Thu 25, Fri 26.
    for autoridad in (None, "INM"):
        assert cal.sumar_dias_habiles(inicio, 3, "07", autoridad) == datetime(
            2027, 3, 27, 5, 59, 59, 999999, tzinfo=UTC
        )
    assert date(2027, 3, 25) in cal.dias_inhabiles(2027, autoridad="COMAR")
    assert date(2027, 3, 25) not in cal.dias_inhabiles(2027)
    assert cal.autoridad("COMAR").anios_declarados == {2027}
    assert cal.autoridad("COMAR").espera_dias_declarados
    assert not CalendarioAutoridad("INM", LFT_74).espera_dias_declarados


def test_an_authority_may_count_on_the_lft_calendar():
    # Mon 1 Feb 2027 is a working day for COMAR (LFPA 28), not for an authority set to LFT 74.
    cal = CalendarioLaboral(autoridades=[CalendarioAutoridad("DIF_CAS", LFT_74)])
    assert cal.regimen_de("DIF_CAS") == LFT_74 and cal.regimen_de("COMAR") == LFPA_28
    assert not cal.es_habil(date(2027, 2, 1), "07", "DIF_CAS")
    assert cal.es_habil(date(2027, 2, 1), "07", "COMAR")
    assert not cal.es_habil(date(2027, 2, 5), "07", "COMAR")


def test_con_dias_declarados_returns_a_new_calendar_keeping_the_rest():
    base = lft(
        autoridades=[CalendarioAutoridad("COMAR", LFPA_28, [date(2027, 3, 25)])]
    ).con_suspension(suspension("07", date(2027, 1, 11), date(2027, 1, 15)))
    nuevo = base.con_dias_declarados("COMAR", [date(2027, 3, 26)])
    assert base.autoridad("COMAR").dias_declarados == {date(2027, 3, 25)}
    assert nuevo.autoridad("COMAR").dias_declarados == {date(2027, 3, 25), date(2027, 3, 26)}
    assert nuevo.regimen == LFT_74 and nuevo.regimen_de("COMAR") == LFPA_28
    assert nuevo.suspensiones == base.suspensiones
    # An authority without a setting gets the default regime.
    assert nuevo.con_dias_declarados("INM", [date(2027, 3, 26)]).regimen_de("INM") == LFT_74


def test_a_bad_regime_is_rejected():
    with pytest.raises(ValueError, match="regimen"):
        CalendarioLaboral(regimen="lft")
    with pytest.raises(ValueError, match="regimen"):
        CalendarioAutoridad("COMAR", "federal")


# ------------------------------------------------------------------ working-day arithmetic


def test_45_working_days_across_third_monday_of_november_and_christmas(cal: CalendarioLaboral):
    assert cal.sumar_dias_habiles(PRESENTACION, 45, "07") == VENCE_45


def test_state_suspension_shifts_only_that_state():
    chiapas = lft().con_suspension(suspension("07", date(2026, 11, 9), date(2026, 11, 13)))
    assert chiapas.sumar_dias_habiles(PRESENTACION, 45, "07") == VENCE_45_SUSPENDIDO
    assert chiapas.sumar_dias_habiles(PRESENTACION, 45, "27") == VENCE_45  # Tabasco unaffected
    assert not chiapas.es_habil(date(2026, 11, 10), "07")
    assert chiapas.es_habil(date(2026, 11, 10), "27")


def test_federal_suspension_applies_everywhere():
    federal = lft(suspensiones=[suspension("00", date(2026, 11, 9), date(2026, 11, 13))])
    for jurisdiccion in ("00", "07", "27"):
        assert federal.sumar_dias_habiles(PRESENTACION, 45, jurisdiccion) == VENCE_45_SUSPENDIDO


def test_suspension_over_weekend_and_holiday_counts_each_lost_day_once():
    # Thu 12 Nov .. Tue 17 Nov 2026: suspended working days are only Thu 12, Fri 13 and Tue 17
    # (14-15 weekend, 16 already a holiday): 3 days lost. On 30 Dec the count is 42;
    # Dec 31 -> 43; Jan 4 -> 44; Jan 5 -> 45 => Tuesday 5 Jan 2027; end of day local is
    # 6 Jan 05:59:59.999999 UTC.
    cal = lft().con_suspension(suspension("27", date(2026, 11, 12), date(2026, 11, 17)))
    assert cal.sumar_dias_habiles(PRESENTACION, 45, "27") == datetime(
        2027, 1, 6, 5, 59, 59, 999999, tzinfo=UTC
    )


def test_con_suspension_returns_a_new_calendar():
    base = lft()
    nuevo = base.con_suspension(suspension("07", date(2026, 11, 9), date(2026, 11, 13)))
    assert base.suspensiones == ()
    assert len(nuevo.suspensiones) == 1
    assert base.sumar_dias_habiles(PRESENTACION, 45, "07") == VENCE_45


def test_count_starts_the_day_after_and_ends_at_local_midnight_in_utc(cal: CalendarioLaboral):
    # Wed 1 Jul 2026 10:00 local -> 1 working day = Thu 2 Jul, ends 23:59:59.999999 -06:00,
    # i.e. Fri 3 Jul 05:59:59.999999 UTC (no DST in summer any more).
    inicio = datetime(2026, 7, 1, 10, 0, tzinfo=CDMX)
    fin = cal.sumar_dias_habiles(inicio, 1, "00")
    assert fin == datetime(2026, 7, 3, 5, 59, 59, 999999, tzinfo=UTC)
    assert fin.utcoffset() == timedelta(0)


def test_local_date_of_inicio_is_used_not_the_utc_date(cal: CalendarioLaboral):
    # 2 Jul 03:00 UTC is still Wed 1 Jul 21:00 in Mexico City: 1 working day = Thu 2 Jul.
    inicio = datetime(2026, 7, 2, 3, 0, tzinfo=UTC)
    assert cal.sumar_dias_habiles(inicio, 1, "00") == datetime(
        2026, 7, 3, 5, 59, 59, 999999, tzinfo=UTC
    )


def test_notification_on_friday_counts_from_monday(cal: CalendarioLaboral):
    # Fri 23 Oct 2026 -> Sat/Sun skipped -> 3 working days: Mon 26, Tue 27, Wed 28 Oct.
    inicio = datetime(2026, 10, 23, 18, 0, tzinfo=CDMX)
    assert cal.sumar_dias_habiles(inicio, 3, "07") == datetime(
        2026, 10, 29, 5, 59, 59, 999999, tzinfo=UTC
    )


def test_covid_style_suspension_2020():
    # COMAR 24 Mar .. 17 Apr 2020 federal. Filed Mon 23 Mar 2020, 3 working days:
    # 24 Mar .. 17 Apr all suspended (plus weekends) -> Mon 20, Tue 21, Wed 22 Apr.
    # In 2020 Mexico City still had DST (UTC-5 from Sunday 5 Apr), so the end of 22 Apr local is
    # 23 Apr 04:59:59.999999 UTC: the zone database, not a fixed -6 h offset, must be used.
    cal = lft(suspensiones=[suspension("00", date(2020, 3, 24), date(2020, 4, 17))])
    inicio = datetime(2020, 3, 23, 9, 0, tzinfo=CDMX)
    assert cal.sumar_dias_habiles(inicio, 3, "07") == datetime(
        2020, 4, 23, 4, 59, 59, 999999, tzinfo=UTC
    )
    assert date(2020, 3, 24) in cal.dias_inhabiles(2020, "07")
    assert date(2020, 3, 28) not in cal.dias_inhabiles(2020, "07")  # Saturday: not listed


# ------------------------------------------------------------------ hours (24x7)


def test_three_hours_across_midnight(cal: CalendarioLaboral):
    # 10 Mar 2026 22:30 local + 3 h = 11 Mar 01:30 local = 11 Mar 07:30 UTC.
    inicio = datetime(2026, 3, 10, 22, 30, tzinfo=CDMX)
    fin = cal.sumar_horas(inicio, 3)
    assert fin == datetime(2026, 3, 11, 7, 30, tzinfo=UTC)
    assert fin.tzinfo is not None and fin.utcoffset() == timedelta(0)


def test_hours_do_not_stop_on_weekends_or_holidays(cal: CalendarioLaboral):
    # Sun 15 Nov 2026 23:00 local + 24 h = Mon 16 Nov (holiday) 23:00 local = 17 Nov 05:00 UTC.
    inicio = datetime(2026, 11, 15, 23, 0, tzinfo=CDMX)
    assert cal.sumar_horas(inicio, 24) == datetime(2026, 11, 17, 5, 0, tzinfo=UTC)


# ------------------------------------------------------------------ validation


def test_naive_datetimes_are_rejected(cal: CalendarioLaboral):
    with pytest.raises(ValueError, match="inicio"):
        cal.sumar_dias_habiles(datetime(2026, 10, 26, 10, 0), 45, "00")
    with pytest.raises(ValueError, match="inicio"):
        cal.sumar_horas(datetime(2026, 10, 26, 10, 0), 3)


@pytest.mark.parametrize("jurisdiccion", ["7", "33", "CH", "", None])
def test_bad_jurisdiction_is_rejected(cal: CalendarioLaboral, jurisdiccion):
    with pytest.raises(ValueError, match="jurisdiccion"):
        cal.sumar_dias_habiles(PRESENTACION, 1, jurisdiccion)


@pytest.mark.parametrize("n", [0, -1, True, 1.5])
def test_working_days_must_be_a_positive_integer(cal: CalendarioLaboral, n):
    with pytest.raises(ValueError, match="n must"):
        cal.sumar_dias_habiles(PRESENTACION, n, "00")


def test_suspension_validates_its_fields():
    with pytest.raises(ValueError, match="before"):
        suspension("07", date(2026, 11, 13), date(2026, 11, 9))
    with pytest.raises(ValueError, match="jurisdiccion"):
        suspension("7", date(2026, 11, 9), date(2026, 11, 13))


def test_unknown_zone_is_rejected():
    with pytest.raises(ValueError, match="tzdata"):
        CalendarioLaboral(zona="America/Nowhere")
