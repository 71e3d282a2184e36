"""Deadline catalogue (workflows/plazos.py, config/plazos.toml).

Expected instants are worked out by hand in the comments, never derived from the code under test.
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from workflows.calendario import CalendarioLaboral, Suspension
from workflows.plazos import CatalogoPlazos, Duracion, PlazosConfigError

UTC = timezone.utc
CDMX = timezone(timedelta(hours=-6))
REPO = Path(__file__).resolve().parents[1]

REQUIRED_LEGAL_IDS = [
    "D1_notificacion_procuraduria",
    "D2_acta_canalizacion",
    "D5_decreto_mp",
    "D6_ratificacion_judicial",
    "D10_solicitud_asilo",
    "D11_ratificacion_solicitud",
    "D12_notificacion_comar_inm",
    "D13_resolucion_comar",
    "D14_recurso_revision",
]
REQUIRED_OPERATIONAL_IDS = [
    "plan_caso",
    "bia",
    "colocacion_sin_cupo",
    "bid_panel",
    "presentar_plan_inm",
    "seguimiento_medida",
]


@pytest.fixture(scope="module")
def catalogo() -> CatalogoPlazos:
    return CatalogoPlazos.cargar(REPO / "config" / "plazos.toml")


@pytest.fixture
def cal() -> CalendarioLaboral:
    return CalendarioLaboral()


# ------------------------------------------------------------------ shipped configuration


def test_shipped_config_has_every_required_deadline(catalogo: CatalogoPlazos):
    for plazo_id in REQUIRED_LEGAL_IDS + REQUIRED_OPERATIONAL_IDS:
        assert plazo_id in catalogo.ids()
    assert catalogo.ruta == REPO / "config" / "plazos.toml"


def test_every_shipped_entry_computes_a_parseable_cycle(catalogo: CatalogoPlazos):
    cal = catalogo.calendario_desde_config()
    desde = datetime(2026, 10, 26, 10, 0, tzinfo=CDMX)
    for plazo in catalogo:
        nivel = "medio" if plazo.depende_de_riesgo else None
        due = catalogo.vencimiento(plazo.id, desde, cal, "07", nivel)
        assert due > desde and due.utcoffset() == timedelta(0), plazo.id
        cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(
            catalogo.ciclo(plazo.id, desde, cal, "07", nivel)
        )
        assert (cycles, start, duration) == (
            plazo.niveles,
            due,
            plazo.escalamiento_intervalo.como_timedelta(),
        ), plazo.id
        assert plazo.fuente_legal and plazo.descripcion_es and plazo.descripcion_en


def test_confirmation_flags_follow_the_domain_notes(catalogo: CatalogoPlazos):
    # Confirmed from the law's text (/work/shared/domain/care-route.md §2b): LGDNNA 122 fr. VI-VII.
    for plazo_id in ("D5_decreto_mp", "D6_ratificacion_judicial"):
        assert catalogo[plazo_id].confirmado, plazo_id
    # [U]/[P] somewhere (article number, working days, local SOP). D1 and D2: the law says
    # "inmediata" (LM 98, 112 fr. I, 74); the 24 h figure is only the 2016 INM protocol's.
    for plazo_id in (
        "D1_notificacion_procuraduria",
        "D2_acta_canalizacion",
        *REQUIRED_OPERATIONAL_IDS,
    ):
        assert not catalogo[plazo_id].confirmado, plazo_id


#: Each asylum deadline: the article its legal source must quote, and whether the law's text
#: confirmed it (domain notes §2b: LRPCAP arts. 11, 18, 24, 25 and LFPA arts. 38, 85 were read;
#: the 72 h notice to INM appears only in the SCJN protocol).
ASYLUM_SOURCES = {
    "D10_solicitud_asilo": (("LRPCAP art. 18", "materialmente posible"), True),
    "D11_ratificacion_solicitud": (("LRPCAP art. 11", "tres días hábiles"), True),
    "D12_notificacion_comar_inm": (("SCJN", "sin confirmar"), False),
    "D13_resolucion_comar": (("LRPCAP art. 24", "día siguiente a la presentación"), True),
    "D14_recurso_revision": (("LRPCAP art. 25", "LFPA art. 85", "LFPA art. 38"), True),
}


@pytest.mark.parametrize("plazo_id", sorted(ASYLUM_SOURCES))
def test_asylum_deadlines_quote_their_article_and_name_their_start(
    catalogo: CatalogoPlazos, plazo_id: str
):
    quotes, confirmed = ASYLUM_SOURCES[plazo_id]
    plazo = catalogo[plazo_id]
    assert plazo.confirmado is confirmed
    for text in quotes:
        assert text in plazo.fuente_legal, (plazo_id, text)
    assert plazo.inicia_es and plazo.inicia_en  # shown as "starts at" in docs/care-route.md


def test_shipped_values(catalogo: CatalogoPlazos):
    assert catalogo["D5_decreto_mp"].duracion == Duracion.parse("PT3H")
    assert catalogo["D6_ratificacion_judicial"].duracion == Duracion.parse("PT24H")
    assert catalogo["D13_resolucion_comar"].calendario == "dias_habiles"
    assert catalogo["D13_resolucion_comar"].duracion == 45
    assert catalogo["D10_solicitud_asilo"].duracion == 30
    assert catalogo["D11_ratificacion_solicitud"].duracion == 3
    assert catalogo["D14_recurso_revision"].duracion == 15
    assert catalogo["D12_notificacion_comar_inm"].duracion == Duracion.parse("PT72H")
    plan = catalogo["plan_caso"].por_riesgo
    assert plan is not None
    assert {k: str(v) for k, v in plan.items()} == {"alto": "P3D", "medio": "P7D", "bajo": "P14D"}


def test_shipped_calendar_contains_the_covid_suspension_example(catalogo: CatalogoPlazos):
    cal = catalogo.calendario_desde_config()
    assert cal.zona == "America/Mexico_City"
    assert not cal.es_habil(date(2020, 3, 24), "07")  # Tuesday, suspended federally
    assert cal.es_habil(date(2020, 4, 20), "27")  # Monday, terms resumed
    assert cal.dias_inhabiles_extra == frozenset()


# ------------------------------------------------------------------ computation


def test_d13_45_working_days_across_holidays(catalogo: CatalogoPlazos, cal: CalendarioLaboral):
    # Filed Mon 26 Oct 2026; D13 counts on COMAR's calendar (LFPA art. 28). Count from Tue 27
    # Oct: Oct 27-30 (4), Nov 2-6 (9), 9-13 (14), 16-19 (18), Fri 20 Nov skipped, 23-27 (23),
    # 30 (24), Dec 1-4 (28), 7-11 (33), 14-18 (38), 21-24 (42), 25 skipped, 28 29 30 (45)
    # -> end of Wed 30 Dec local = 31 Dec 05:59:59.999999 UTC.
    desde = datetime(2026, 10, 26, 10, 0, tzinfo=CDMX)
    assert catalogo.vencimiento("D13_resolucion_comar", desde, cal, "07") == datetime(
        2026, 12, 31, 5, 59, 59, 999999, tzinfo=UTC
    )


def test_d13_issue_11_claim_filed_on_2_march_2026(catalogo: CatalogoPlazos, cal: CalendarioLaboral):
    # Filed Mon 2 Mar 2026 (a date: noon in Mexico City). Count from Tue 3 Mar: Mar 3-6 (4),
    # 9-13 (9), 16 third Monday skipped, 17-20 (13), 23-27 (18), 30 31 (20), Apr 1-3 (23), 6-10
    # (28), 13-17 (33), 20-24 (38), 27-30 (42), May 1 skipped, 4 5 6 (45) -> end of Wed 6 May.
    filed = datetime(2026, 3, 2, 12, 0, tzinfo=CDMX)
    due = catalogo.vencimiento("D13_resolucion_comar", filed, cal, "00")
    assert due == datetime(2026, 5, 7, 5, 59, 59, 999999, tzinfo=UTC)
    # The one extension (LRPCAP art. 24), counted from that due date: May 7 8 (2), 11-15 (7),
    # 18-22 (12), 25-29 (17), Jun 1-5 (22), 8-12 (27), 15-19 (32), 22-26 (37), 29 30 (39),
    # Jul 1-3 (42), 6 7 8 (45) -> end of Wed 8 July.
    assert catalogo.vencimiento("D13_resolucion_comar", due, cal, "00") == datetime(
        2026, 7, 9, 5, 59, 59, 999999, tzinfo=UTC
    )


def test_d13_with_a_state_suspension(catalogo: CatalogoPlazos, cal: CalendarioLaboral):
    # Chiapas suspends Mon 9 .. Fri 13 Nov 2026: 5 working days lost -> on 30 Dec the count is
    # 40; Dec 31 (41); Jan 1 holiday; Jan 4 5 6 7 (45) -> end of Thu 7 Jan 2027 local.
    suspendido = cal.con_suspension(
        Suspension("07", date(2026, 11, 9), date(2026, 11, 13), "prueba", "Acuerdo de prueba")
    )
    desde = datetime(2026, 10, 26, 10, 0, tzinfo=CDMX)
    assert catalogo.vencimiento("D13_resolucion_comar", desde, suspendido, "07") == datetime(
        2027, 1, 8, 5, 59, 59, 999999, tzinfo=UTC
    )
    assert catalogo.vencimiento("D13_resolucion_comar", desde, suspendido, "27") == datetime(
        2026, 12, 31, 5, 59, 59, 999999, tzinfo=UTC
    )


def test_d5_cycle_across_midnight_parsed_by_spiffworkflow(
    catalogo: CatalogoPlazos, cal: CalendarioLaboral
):
    # Request received 10 Mar 2026 22:30 local (04:30 UTC on the 11th) + 3 h = 07:30 UTC on the
    # 11th. Three escalation levels one hour apart.
    desde = datetime(2026, 3, 10, 22, 30, tzinfo=CDMX)
    ciclo = catalogo.ciclo("D5_decreto_mp", desde, cal, "00")
    assert ciclo == "R3/2026-03-11T07:30:00+00:00/PT1H"
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(ciclo)
    assert cycles == 3
    assert start == datetime(2026, 3, 11, 7, 30, tzinfo=UTC)
    assert duration == timedelta(hours=1)


def test_working_day_cycle_parsed_by_spiffworkflow(
    catalogo: CatalogoPlazos, cal: CalendarioLaboral
):
    desde = datetime(2026, 10, 26, 10, 0, tzinfo=CDMX)
    ciclo = catalogo.ciclo("D13_resolucion_comar", desde, cal, "07")
    assert ciclo == "R3/2026-12-31T05:59:59.999999+00:00/P1D"
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(ciclo)
    assert (cycles, start, duration) == (
        3,
        datetime(2026, 12, 31, 5, 59, 59, 999999, tzinfo=UTC),
        timedelta(days=1),
    )


def test_risk_dependent_natural_days(catalogo: CatalogoPlazos, cal: CalendarioLaboral):
    # Assessment approved Fri 13 Mar 2026 15:00 local. Natural days ignore weekends and the
    # 16 Mar holiday. alto P3D: 14, 15, 16 -> end of Mon 16 Mar local = 17 Mar 05:59:59.999999Z.
    # medio P7D: 14..20 -> end of Fri 20 Mar. bajo P14D: 14..27 -> end of Fri 27 Mar.
    desde = datetime(2026, 3, 13, 15, 0, tzinfo=CDMX)
    fin = {
        nivel: catalogo.vencimiento("plan_caso", desde, cal, "07", nivel)
        for nivel in ("alto", "medio", "bajo")
    }
    assert fin == {
        "alto": datetime(2026, 3, 17, 5, 59, 59, 999999, tzinfo=UTC),
        "medio": datetime(2026, 3, 21, 5, 59, 59, 999999, tzinfo=UTC),
        "bajo": datetime(2026, 3, 28, 5, 59, 59, 999999, tzinfo=UTC),
    }


def test_risk_dependent_deadline_without_level_names_the_deadline(
    catalogo: CatalogoPlazos, cal: CalendarioLaboral
):
    desde = datetime(2026, 3, 13, 15, 0, tzinfo=CDMX)
    with pytest.raises(ValueError, match="plan_caso"):
        catalogo.vencimiento("plan_caso", desde, cal, "07")
    with pytest.raises(ValueError, match="plan_caso"):
        catalogo.ciclo("plan_caso", desde, cal, "07", "critico")


def test_fixed_deadline_ignores_the_level(catalogo: CatalogoPlazos, cal: CalendarioLaboral):
    desde = datetime(2026, 3, 10, 22, 30, tzinfo=CDMX)
    assert catalogo.vencimiento("D5_decreto_mp", desde, cal, "00", "alto") == datetime(
        2026, 3, 11, 7, 30, tzinfo=UTC
    )


def test_naive_desde_is_rejected(catalogo: CatalogoPlazos, cal: CalendarioLaboral):
    with pytest.raises(ValueError, match="desde"):
        catalogo.vencimiento("D5_decreto_mp", datetime(2026, 3, 10, 22, 30), cal, "00")
    with pytest.raises(ValueError, match="desde"):
        catalogo.ciclo("D13_resolucion_comar", datetime(2026, 3, 10, 22, 30), cal, "00")


def test_unknown_deadline_is_a_key_error(catalogo: CatalogoPlazos, cal: CalendarioLaboral):
    with pytest.raises(KeyError, match="D99"):
        catalogo.vencimiento("D99", datetime(2026, 3, 10, tzinfo=UTC), cal, "00")


def test_warning_six_months_before_an_event(tmp_path: Path, cal: CalendarioLaboral):
    # antes_de() counts backwards (e.g. a warning six months before the 18th birthday).
    # Turns 18 on 31 Aug 2030, 00:00 local (06:00 UTC). Six calendar months earlier is
    # "31 Feb 2030", which does not exist: clamped to 28 Feb 2030, 00:00 local = 06:00 UTC.
    catalogo = CatalogoPlazos.cargar(
        write(
            tmp_path,
            VALID.replace("[D5_decreto_mp]", "[aviso]")
            .replace('calendario = "horas"', 'calendario = "dias_naturales"')
            .replace('duracion = "PT3H"', 'duracion = "P6M"'),
        )
    )
    mayoria = datetime(2030, 8, 31, 0, 0, tzinfo=CDMX)
    assert catalogo.antes_de("aviso", mayoria, cal) == datetime(2030, 2, 28, 6, 0, tzinfo=UTC)


def test_month_arithmetic_clamps_to_month_end():
    p1m = Duracion.parse("P1M")
    assert p1m.sumar_a_fecha(date(2027, 1, 31)) == date(2027, 2, 28)
    assert p1m.sumar_a_fecha(date(2028, 1, 31)) == date(2028, 2, 29)
    assert Duracion.parse("P6M").sumar_a_fecha(date(2026, 10, 26)) == date(2027, 4, 26)
    assert Duracion.parse("P1Y2M3D").sumar_a_fecha(date(2026, 12, 30)) == date(2028, 3, 3)


@pytest.mark.parametrize("texto", ["", "P", "PT", "3H", "P1.5D", "P1W2D", "PT-3H", "P0D", "PT3"])
def test_bad_iso_durations(texto):
    with pytest.raises(ValueError):
        Duracion.parse(texto)


# ------------------------------------------------------------------ configuration errors

VALID = """
[D5_decreto_mp]
descripcion_es = "El MP decreta"
descripcion_en = "MP decrees"
calendario = "horas"
duracion = "PT3H"
escalamiento_intervalo = "PT1H"
fuente_legal = "LGDNNA art. 122"
confirmado = true
"""


def write(tmp_path: Path, body: str) -> Path:
    ruta = tmp_path / "plazos.toml"
    ruta.write_text(textwrap.dedent(body), encoding="utf-8")
    return ruta


def test_minimal_valid_file_uses_defaults(tmp_path: Path):
    catalogo = CatalogoPlazos.cargar(write(tmp_path, VALID))
    assert catalogo.ids() == ["D5_decreto_mp"]
    assert catalogo["D5_decreto_mp"].niveles == 3
    assert catalogo.calendario_desde_config().suspensiones == ()


@pytest.mark.parametrize(
    ("old", "new", "campo", "problema"),
    [
        ('calendario = "horas"', 'calendario = "laborables"', "calendario", "unknown calendar"),
        ('duracion = "PT3H"', 'duracion = "3 horas"', "duracion", "ISO-8601"),
        ('duracion = "PT3H"', 'duracion = "P1M"', "duracion", "dias_naturales"),
        ('duracion = "PT3H"', "duracion = 3", "duracion", "ISO-8601"),
        ('duracion = "PT3H"', 'duracion = "PT3H"\nplazo = "x"', "plazo", "unknown key"),
        (
            'escalamiento_intervalo = "PT1H"',
            'escalamiento_intervalo = "P1M"',
            "escalamiento_intervalo",
            "years or months",
        ),
        ("confirmado = true", 'confirmado = "si"', "confirmado", "true or false"),
        ("confirmado = true\n", "confirmado = true\nniveles = 0\n", "niveles", "positive"),
        ('fuente_legal = "LGDNNA art. 122"\n', "", "fuente_legal", "missing"),
        ('duracion = "PT3H"\n', "", "duracion", "exactly one"),
    ],
)
def test_malformed_entry_names_file_id_and_field(tmp_path, old, new, campo, problema):
    assert old in VALID
    ruta = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(PlazosConfigError) as info:
        CatalogoPlazos.cargar(ruta)
    mensaje = str(info.value)
    assert str(ruta) in mensaje
    assert "[D5_decreto_mp]" in mensaje
    assert f"field '{campo}'" in mensaje
    assert problema in mensaje
    assert (info.value.plazo_id, info.value.campo) == ("D5_decreto_mp", campo)


def test_missing_risk_level(tmp_path: Path):
    ruta = write(
        tmp_path,
        """
        [plan_caso]
        descripcion_es = "Plan"
        descripcion_en = "Plan"
        calendario = "dias_naturales"
        por_riesgo = { alto = "P3D", medio = "P7D" }
        escalamiento_intervalo = "P1D"
        fuente_legal = "SOP local"
        confirmado = false
        """,
    )
    with pytest.raises(PlazosConfigError, match=r"\[plan_caso\] field 'por_riesgo.bajo': missing"):
        CatalogoPlazos.cargar(ruta)


def test_working_days_need_an_integer(tmp_path: Path):
    body = VALID.replace('calendario = "horas"', 'calendario = "dias_habiles"')
    with pytest.raises(PlazosConfigError, match=r"field 'duracion': dias_habiles needs"):
        CatalogoPlazos.cargar(write(tmp_path, body))


def test_bad_calendar_table(tmp_path: Path):
    body = VALID + textwrap.dedent(
        """
        [[calendario.suspensiones]]
        jurisdiccion = "7"
        desde = 2026-11-09
        hasta = 2026-11-13
        motivo = "x"
        fuente = "y"
        """
    )
    with pytest.raises(PlazosConfigError, match=r"\[calendario\] field 'suspensiones\[0\]'"):
        CatalogoPlazos.cargar(write(tmp_path, body))
    body = VALID + '\n[calendario]\ndias_inhabiles_extra = ["2026-13-01"]\n'
    with pytest.raises(PlazosConfigError, match=r"field 'dias_inhabiles_extra\[0\]'"):
        CatalogoPlazos.cargar(write(tmp_path, body))


def test_calendar_table_is_used(tmp_path: Path):
    body = VALID + textwrap.dedent(
        """
        [calendario]
        zona = "America/Mexico_City"
        dias_inhabiles_extra = [2026-04-02]
        dias_inhabiles_recurrentes = ["05-05"]

        [[calendario.suspensiones]]
        jurisdiccion = "27"
        desde = 2026-11-09
        hasta = "2026-11-13"
        motivo = "Inundaciones"
        fuente = "Acuerdo de prueba"
        """
    )
    cal = CatalogoPlazos.cargar(write(tmp_path, body)).calendario_desde_config()
    assert not cal.es_habil(date(2026, 4, 2), "00")
    assert not cal.es_habil(date(2026, 5, 5), "00")
    assert not cal.es_habil(date(2026, 11, 10), "27")
    assert cal.es_habil(date(2026, 11, 10), "07")


def test_invalid_toml_and_missing_file(tmp_path: Path):
    with pytest.raises(PlazosConfigError, match="invalid TOML"):
        CatalogoPlazos.cargar(write(tmp_path, "[D5\n"))
    with pytest.raises(PlazosConfigError, match="not found"):
        CatalogoPlazos.cargar(tmp_path / "nope.toml")


def test_environment_variable_overrides_default(tmp_path: Path, monkeypatch):
    ruta = write(tmp_path, VALID)
    monkeypatch.setenv("CAREROUTE_PLAZOS", str(ruta))
    assert CatalogoPlazos.cargar().ids() == ["D5_decreto_mp"]
    monkeypatch.delenv("CAREROUTE_PLAZOS")
    assert "D13_resolucion_comar" in CatalogoPlazos.cargar().ids()


# ------------------------------------------------------------------ calendars per authority

COMAR_DIAS_HABILES = """
[D13_resolucion_comar]
descripcion_es = "La COMAR resuelve"
descripcion_en = "COMAR decides"
calendario = "dias_habiles"
autoridad = "COMAR"
duracion = 3
escalamiento_intervalo = "P1D"
fuente_legal = "LRPCAP art. 24"
confirmado = true
"""


def test_shipped_comar_terms_count_on_comar_s_lfpa_calendar(catalogo: CatalogoPlazos):
    assert catalogo.plazos_de_autoridad("COMAR") == [
        "D10_solicitud_asilo",
        "D11_ratificacion_solicitud",
        "D13_resolucion_comar",
        "D14_recurso_revision",
    ]
    assert catalogo.plazos_de_autoridad(None) == []  # every working-day term names its authority
    cal = catalogo.calendario_desde_config()
    assert cal.regimen == "lfpa_28" and cal.regimen_de("COMAR") == "lfpa_28"
    assert "COMAR" in catalogo.autoridades_con_calendario()


def test_authority_settings_and_acuerdos_from_the_config(tmp_path: Path):
    body = COMAR_DIAS_HABILES + textwrap.dedent(
        """
        [calendario]
        regimen = "lft_74"

        [calendario.autoridades.COMAR]
        regimen = "lfpa_28"

        [[calendario.autoridades.COMAR.acuerdos]]
        fuente = "Acuerdo de prueba, DOF"
        dias = [2027-03-25, "2027-03-26"]
        periodos = [[2027-07-19, 2027-07-23]]
        """
    )
    catalogo = CatalogoPlazos.cargar(write(tmp_path, body))
    cal = catalogo.calendario_desde_config()
    assert cal.regimen == "lft_74" and cal.regimen_de("COMAR") == "lfpa_28"
    comar = cal.autoridad("COMAR")
    assert {date(2027, 3, 25), date(2027, 3, 26), date(2027, 7, 19), date(2027, 7, 23)} <= (
        comar.dias_declarados
    )
    assert len(comar.dias_declarados) == 7
    # Filed Tue 23 Mar 2027: Wed 24 (1), Thu 25 and Fri 26 declared, Mon 29 (2), Tue 30 (3).
    desde = datetime(2027, 3, 23, 10, 0, tzinfo=CDMX)
    assert catalogo.vencimiento("D13_resolucion_comar", desde, cal, "07") == datetime(
        2027, 3, 31, 5, 59, 59, 999999, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("extra", "campo", "problema"),
    [
        ('[calendario]\nregimen = "federal"\n', "regimen", "unknown regime"),
        ("[calendario.autoridades.CNDH]\n", "autoridades.CNDH", "not an authority type"),
        (
            '[calendario.autoridades.COMAR]\nregimen = "lft"\n',
            "autoridades.COMAR.regimen",
            "unknown regime",
        ),
        (
            "[[calendario.autoridades.COMAR.acuerdos]]\ndias = [2027-03-25]\n",
            "autoridades.COMAR.acuerdos[0].fuente",
            "must name the acuerdo",
        ),
        (
            '[[calendario.autoridades.COMAR.acuerdos]]\nfuente = "x"\n',
            "autoridades.COMAR.acuerdos[0]",
            "declares no day",
        ),
        (
            '[[calendario.autoridades.COMAR.acuerdos]]\nfuente = "x"\n'
            "periodos = [[2027-07-23, 2027-07-19]]\n",
            "autoridades.COMAR.acuerdos[0].periodos[0]",
            "before",
        ),
    ],
)
def test_bad_authority_calendar_names_the_field(tmp_path: Path, extra, campo, problema):
    with pytest.raises(PlazosConfigError) as info:
        CatalogoPlazos.cargar(write(tmp_path, COMAR_DIAS_HABILES + "\n" + extra))
    assert (info.value.plazo_id, info.value.campo) == ("calendario", campo)
    assert problema in str(info.value)


def test_autoridad_of_a_deadline_is_checked(tmp_path: Path):
    body = COMAR_DIAS_HABILES.replace('autoridad = "COMAR"', 'autoridad = "SEGOB"')
    with pytest.raises(PlazosConfigError, match=r"field 'autoridad': 'SEGOB' is not an authority"):
        CatalogoPlazos.cargar(write(tmp_path, body))
    body = VALID.replace('calendario = "horas"', 'calendario = "horas"\nautoridad = "COMAR"')
    with pytest.raises(PlazosConfigError, match=r"field 'autoridad': only a dias_habiles"):
        CatalogoPlazos.cargar(write(tmp_path, body))


# ------------------------------------------------------------------ stored dates out of range


@pytest.mark.parametrize(
    "desde",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),
        datetime(9999, 12, 31, 12, tzinfo=CDMX),
        datetime(1, 1, 1, tzinfo=UTC),
    ],
)
def test_no_deadline_computation_raises_on_a_stored_date(
    catalogo: CatalogoPlazos, cal: CalendarioLaboral, desde: datetime
):
    """Issue 15: a detection stored as 9999-12-31 made every deadline overflow (a 500 on every
    command of the case). Every deadline of the catalogue now computes from any stored instant:
    at most 2999-12-31 (the route's "never"), counting from 1900 at the earliest."""
    from workflows.calendario import INSTANTE_MAXIMO, INSTANTE_MINIMO

    for plazo_id in catalogo.ids():
        plazo = catalogo[plazo_id]
        nivel = "alto" if plazo.por_riesgo else None
        due = catalogo.vencimiento(plazo_id, desde, cal, "07", nivel)
        assert INSTANTE_MINIMO < due <= INSTANTE_MAXIMO, (plazo_id, due)
        if desde.year == 9999:
            assert due == INSTANTE_MAXIMO, plazo_id
        cycle = catalogo.ciclo(plazo_id, desde, cal, "07", nivel)
        assert TimerEventDefinition.parse_iso_recurring_interval(cycle)
    assert cal.sumar_dias_habiles(desde, 10, "07") <= INSTANTE_MAXIMO
    assert cal.sumar_dias_naturales(desde, 10) <= INSTANTE_MAXIMO
    assert cal.sumar_horas(desde, 24) <= INSTANTE_MAXIMO
    assert cal.fecha_local(desde).year in (1899, 1900, 2999)


def test_a_birth_date_no_calendar_holds_gives_no_majority_date():
    from zoneinfo import ZoneInfo

    from workflows.guarantees import majority_instant

    zone = ZoneInfo("America/Mexico_City")
    for born in ("9999-12-31", "9990-02-29"):
        assert majority_instant({"fecha_nacimiento": born}, {}, zone, lambda: None) is None
