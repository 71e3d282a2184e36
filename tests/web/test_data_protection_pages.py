"""The child's personal data page and the security incident log page (issue 16): Spanish first,
the same services and refusals as the API, scoped like the case page."""

from __future__ import annotations

from app.tables import DataConsent, PrivacyNotice

PROCURADURIA = "procuraduria-07.officer"


async def _folio(json_api) -> str:
    folio = await json_api.open_case("inm-07.officer")
    await json_api.drive_until(folio, "determinar_acompanamiento")  # the Procuraduría has it
    return folio


async def test_notice_and_consent_through_the_page(browser, json_api):
    folio = await _folio(json_api)
    b = await browser(PROCURADURIA)
    page = await b.get(f"/cases/{folio}/datos-personales")
    assert page.status_code == 200
    assert "Aviso de privacidad" in page.text and "Consulado del país de origen" in page.text
    assert f'href="/cases/{folio}/datos-personales"' in (await b.get(f"/cases/{folio}")).text
    base = f"/cases/{folio}/datos-personales"
    # a consent before any notice: 409, the rule named beside the form, nothing written
    consent = {"destinatario": "acnur", "destinatario_nombre": "ACNUR Tapachula",
               "finalidad": "reasentamiento", "decision": "consiente", "otorgado_por": "nna",
               "forma": "escrito_firma", "opinion_nna": "de_acuerdo"}  # fmt: skip
    r = await b.post(f"{base}/consentimiento", consent)
    assert r.status_code == 409, r.text[:300]
    assert "privacy notice" in r.text
    # a bad notice: 422 naming the field
    notice = {"version": "2026-01", "modalidad": "simplificado", "idioma": "mam",
              "forma_explicacion": "con_interprete", "entregado_a": "nna", "nna_comprende": "si"}  # fmt: skip
    r = await b.post(f"{base}/aviso", notice)
    assert r.status_code == 422 and "interprete" in r.text
    r = await b.post(f"{base}/aviso", notice | {"interprete": "true"})
    assert r.status_code == 303, r.text[:300]
    r = await b.post(f"{base}/consentimiento", consent)
    assert r.status_code == 303, r.text[:300]
    case_rows = await DataConsent.select(DataConsent.id, DataConsent.decision).where(
        DataConsent.case.folio == folio
    )
    assert [c["decision"] for c in case_rows] == ["consiente"]
    assert await PrivacyNotice.count().where(PrivacyNotice.case.folio == folio) == 1
    r = await b.post(
        f"{base}/consentimiento/{case_rows[0]['id']}/retirar", {"retirado_por": "representante"}
    )
    assert r.status_code == 303
    page = await b.get(base)
    assert "Retirado" in page.text


async def test_the_page_is_scoped_like_the_case(browser, json_api):
    folio = await _folio(json_api)
    other = await browser("procuraduria-27.officer")
    assert (await other.get(f"/cases/{folio}/datos-personales")).status_code == 404
    oversight = await browser("cndh.oversight")
    page = await oversight.get(f"/cases/{folio}/datos-personales")
    assert page.status_code == 200
    assert 'action="/cases/' not in page.text.split("<main", 1)[-1]  # no form to write
    r = await oversight.post(f"/cases/{folio}/datos-personales/aviso", {"version": "2026-01"})
    assert r.status_code == 403


async def test_the_incident_log_page(browser, json_api):
    folio = await json_api.open_case("inm-07.officer")
    admin = await browser("sistema.admin")
    page = await admin.get("/incidentes")
    assert page.status_code == 200 and "Bitácora de vulneraciones" in page.text
    r = await admin.post(
        "/incidentes",
        [("tipo", "robo_extravio_copia"), ("descripcion", "Respaldo extraviado"),
         ("ocurrio_en", "2026-11-20T10:00"), ("detectado_en", "2026-11-21T10:00"),
         ("datos_comprometidos", "identidad"), ("folios", f"{folio}\nNOPE-1")],
    )  # fmt: skip
    assert r.status_code == 422 and "folios[1]" in r.text
    r = await admin.post(
        "/incidentes",
        [("tipo", "robo_extravio_copia"), ("descripcion", "Respaldo extraviado"),
         ("ocurrio_en", "2026-11-20T10:00"), ("detectado_en", "2026-11-21T10:00"),
         ("datos_comprometidos", "identidad"), ("folios", folio)],
    )  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    oversight = await browser("cndh.oversight")
    page = await oversight.get("/incidentes")
    assert page.status_code == 200 and folio in page.text
    officer = await browser(PROCURADURIA)
    assert (await officer.get("/incidentes")).status_code == 403
