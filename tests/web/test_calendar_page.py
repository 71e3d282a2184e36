"""The compliance page shows the calendars' warnings (app/services/calendars.py) in Spanish."""

from __future__ import annotations

import html
from datetime import UTC, datetime


async def test_compliance_page_warns_of_a_year_without_declared_days(browser):
    year = datetime.now(UTC).year  # nothing is declared for COMAR this year by config or tests
    b = await browser("cndh.oversight")
    page = await b.get("/compliance")
    assert page.status_code == 200
    text = html.unescape(page.text)
    assert "Calendarios: días inhábiles sin cargar" in text
    assert (
        f"No se han cargado los días inhábiles que COMAR declaró para {year} (LFPA art. 28). "
        "Sus plazos en días hábiles (D10_solicitud_asilo, D11_ratificacion_solicitud, "
        "D13_resolucion_comar, D14_recurso_revision) se cuentan sin ellos"
    ) in text
    await b.get("/lang/en")
    english = html.unescape((await b.get("/compliance")).text)
    assert f"No non-working days declared by COMAR are loaded for {year}" in english
