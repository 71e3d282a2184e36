"""The data protection officer's pages (issue 16, items 3 and 5): register an ARCO request, extend
it once, answer an access request with the CSV, set and lift a legal hold; Spanish first; each
count of the view links to as many rows as it says."""

from __future__ import annotations

import re
from datetime import timedelta

from app.services import deadlines
from app.tables import ArcoRequest, LegalHold
from tests.web.test_spanish_pages import check_spanish, element_ids

DPO = "inm-07.proteccion-datos"


async def test_the_officer_works_requests_and_holds_on_the_pages(browser, json_api):
    folio = await json_api.open_case("inm-07.officer", name="Citlali")
    b = await browser(DPO)
    home = await b.get("/proteccion-datos")
    assert home.status_code == 200, home.text
    assert "Solicitudes ARCO" in home.text and "Retenciones legales" in home.text

    # a refused form writes nothing and says which field
    r = await b.post("/proteccion-datos/arco", {"folio": folio, "derecho": "acceso",
                     "solicitante_relacion": "nna", "solicitante_nombre": "Citlali",
                     "verificacion": "comparecencia_personal", "verificacion_detalle": ""})  # fmt: skip
    assert r.status_code == 422 and "verificacion_detalle" in r.text
    assert await ArcoRequest.count().where(ArcoRequest.case_folio == folio) == 0
    r = await b.post("/proteccion-datos/arco", {"folio": folio, "derecho": "acceso",
                     "solicitante_relacion": "nna", "solicitante_nombre": "Citlali",
                     "verificacion": "comparecencia_personal",
                     "verificacion_detalle": "Cotejo con constancia del DIF"})  # fmt: skip
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    page = await b.get(url)
    assert page.status_code == 200 and "Cotejo con constancia del DIF" in page.text
    assert "quedan" in page.text  # working days left
    assert (await b.post(f"{url}/ampliar", {"razones": "Falta un documento"})).status_code == 303
    r = await b.post(f"{url}/ampliar", {"razones": "Otra vez"})
    assert r.status_code == 422 and "ampliada_en" in r.text
    r = await b.post(f"{url}/acceso.csv", {})
    assert r.status_code == 200 and r.content.startswith("\ufeff".encode())
    assert "Citlali" in r.content.decode("utf-8-sig")

    r = await b.post("/proteccion-datos/retenciones",
                     {"folio": folio, "motivo": "litigio", "referencia": "Amparo 9/2026"})  # fmt: skip
    assert r.status_code == 303, r.text
    hold = await LegalHold.select(LegalHold.id).order_by(LegalHold.id, ascending=False).first()
    r = await b.post(f"/proteccion-datos/retenciones/{hold['id']}/liberar", {})
    assert r.status_code == 303
    lifted = await LegalHold.select(LegalHold.lifted_at).where(LegalHold.id == hold["id"]).first()
    assert lifted["lifted_at"] is not None

    home = await b.get("/proteccion-datos")
    links = re.findall(r'href="/proteccion-datos/seccion/(\w+)">(\d+)</a>', home.text)
    assert len(links) == 8
    for name, count in links:
        section = await b.get(f"/proteccion-datos/seccion/{name}")
        assert section.status_code == 200
        assert section.text.count("<tr>") - (1 if int(count) else 0) == int(count), name
    ids = element_ids()
    assert check_spanish("dpo", home.text, ids) == []
    assert check_spanish("arco", (await b.get(url)).text, ids) == []

    # an unanswered request past its deadline escalates: the notifications name it in Spanish
    r = await b.post("/proteccion-datos/arco", {"folio": folio, "derecho": "oposicion",
                     "solicitante_relacion": "nna", "solicitante_nombre": "Citlali",
                     "verificacion": "comparecencia_personal", "verificacion_detalle": "Cotejo",
                     "descripcion": "No compartir"})  # fmt: skip
    assert r.status_code == 303, r.text
    row = (
        await ArcoRequest.select(ArcoRequest.vence_en)
        .where((ArcoRequest.case_folio == folio) & (ArcoRequest.estado == "abierta"))
        .first()
    )
    await deadlines.sweep(row["vence_en"] + timedelta(seconds=1))
    notes = await b.get("/notifications")
    assert "Respuesta a una solicitud ARCO" in notes.text

    officer = await browser("inm-07.officer")
    assert (await officer.get("/proteccion-datos")).status_code == 403
    other = await browser("procuraduria-27.proteccion-datos")
    assert (await other.get(url)).status_code == 404
