"""The oversight dashboard (issue 14, item 3): period filter, disaggregation, funnel from
milestones, drill-down whose rows are exactly what each count counts, and the anonymised
public export (no identity field, no folio, no cell under 5)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from html import unescape

from app.tables import Case, CaseMilestone
from tests.app.helpers import opening_form

OVERSIGHT = "cndh.oversight"
OFFICER = "inm-07.officer"
LINK = re.compile(r'<a href="(/compliance/(?:rows|cases)\?[^"]*)">(?:<strong[^>]*>)?(\d+)<')


async def _drill_count(b, url: str) -> int:
    """Rows the drill-down lists, following its pages."""
    n = 0
    while url:
        r = await b.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        n += len(re.findall(r"<tr><td><a href=\"/cases/", r.text))
        nxt = re.search(r'<a href="([^"]+)" rel="next">', r.text)
        url = unescape(nxt.group(1)) if nxt else ""
    return n


async def _open(json_api, **form) -> str:
    body = {"form": opening_form(**form), "identidad": {"nombres": "Ana", "apellidos": "X"}}
    r = await json_api.post(OFFICER, "/api/v1/cases", json=body)
    assert r.status_code == 201, r.text
    return r.json()["folio"]


async def test_every_count_equals_the_rows_it_links_to(browser, json_api):
    await _open(json_api, sexo="mujer", acompanamiento_declarado="no_acompanado")
    folio = await _open(json_api, sexo="hombre", nacionalidad="HND")
    await json_api.drive_until(folio, "emitir_medida_proteccion")
    await json_api.complete(folio, "emitir_medida_proteccion")
    case_id = (await Case.select(Case.id).where(Case.folio == folio).first())["id"]
    stages = await CaseMilestone.select(CaseMilestone.stage).where(CaseMilestone.case == case_id)
    assert "medida" in {s["stage"] for s in stages}
    b = await browser(OVERSIGHT)
    today = datetime.now(UTC).date()
    period = f"since={today - timedelta(days=1)}&until={today + timedelta(days=1)}"
    page = await b.get(f"/compliance?{period}")
    assert page.status_code == 200
    links = [(unescape(u), int(n)) for u, n in LINK.findall(page.text)]
    assert any("/compliance/cases?" in u and "stage=medida" in u for u, _ in links)
    assert any("/compliance/cases?" in u and "sexo=mujer" in u for u, _ in links)
    assert any("/compliance/rows?" in u for u, _ in links)
    checked = 0
    for url, n in links:
        assert period.split("&")[0] in url  # every drill-down keeps the period
        assert await _drill_count(b, url) == n, url
        checked += 1
    assert checked >= 10
    # the case drill-down links to the case page, which oversight may read
    cases = await b.get(f"/compliance/cases?{period}&stage=medida")
    assert f'href="/cases/{folio}"' in cases.text
    assert (await b.get(f"/cases/{folio}")).status_code == 200


async def test_the_page_says_when_its_medians_are_approximate(browser, json_api):
    """Medians from the kept hour histograms (a period of whole days) are within half an hour:
    the page says so; with a state asked the funnel is counted from the rows, exact, and the
    page does not say it of the funnel."""
    folio = await _open(json_api, sexo="mujer")
    await json_api.drive_until(folio, "emitir_medida_proteccion")
    await json_api.complete(folio, "emitir_medida_proteccion")
    b = await browser(OVERSIGHT)
    page = await b.get("/compliance")
    assert 'id="median-days-approx"' in page.text and "±0,5 h" in page.text
    assert 'id="median-late-approx"' in page.text
    exact = await b.get("/compliance?estado=07")
    assert 'id="median-days-approx"' not in exact.text
    r = await json_api.get(OVERSIGHT, "/api/v1/oversight/compliance")
    assert r.json()["deadlines"]["median_within_hours"] == 0.5


async def test_the_period_filter_counts_only_cases_detected_in_it(browser, json_api):
    await _open(json_api, sexo="intersexual")
    b = await browser(OVERSIGHT)
    today = datetime.now(UTC).date()
    now = await b.get(f"/compliance/cases?since={today - timedelta(days=1)}&sexo=intersexual")
    before = await b.get(f"/compliance/cases?until={today - timedelta(days=3)}&sexo=intersexual")
    assert now.text.count('<tr><td><a href="/cases/') >= 1
    assert before.text.count('<tr><td><a href="/cases/') == 0


async def test_dashboard_is_for_oversight_only(browser):
    officer = await browser(OFFICER)
    for url in ("/compliance", "/compliance/cases", "/compliance/rows", "/compliance/export.csv"):
        assert (await officer.get(url)).status_code == 403, url


async def test_public_export_has_no_identity_and_no_cell_under_5(browser, json_api):
    for i in range(6):  # nationalities no other test uses: five of one, one of the other
        await _open(json_api, sexo="mujer", nacionalidad="ZZA" if i < 5 else "ZZB")
    b = await browser(OVERSIGHT)
    r = await b.get("/compliance/export.csv")
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith("attachment;")
    text = r.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert list(rows[0]) == ["tabla", "valor", "cifra"]
    assert rows
    identity = ("nombre", "apellido", "documento", "folio", "alias", "contacto", "fecha_nac")
    for row in rows:
        assert not any(w in (row["tabla"] + row["valor"]).lower() for w in identity), row
        assert not re.search(r"[A-Z]{4}-\d{4}-\d{6}", row["valor"])  # no folio anywhere
        if row["tabla"].startswith(("ninas_ninos_por_", "embudo_casos", "plazos_")) and (
            "pct" not in row["tabla"]
        ):
            assert row["cifra"] == "<5" or int(row["cifra"]) >= 5, row
    nat = {r["valor"]: r["cifra"] for r in rows if r["tabla"] == "ninas_ninos_por_nacionalidad"}
    assert nat["ZZB"] == "<5" and nat["ZZA"] in ("<5", "5")
    # never one suppressed cell alone in a table (a total would give it back)
    tables: dict[str, int] = {}
    for row in rows:
        tables[row["tabla"]] = tables.get(row["tabla"], 0) + (row["cifra"] == "<5")
    assert all(n != 1 for t, n in tables.items() if len([r for r in rows if r["tabla"] == t]) > 1)


def test_suppression_hides_small_cells_and_one_more():
    from app.services.dashboard import _suppress

    rows = [("t", "a", 10), ("t", "b", 3), ("t", "c", 7), ("t", "d", 5)]
    assert _suppress(rows) == [("t", "a", "10"), ("t", "b", "<5"), ("t", "c", "7"),
                               ("t", "d", "<5")]  # fmt: skip
    assert _suppress([("t", "a", 0), ("t", "b", 2), ("t", "c", 9)]) == [
        ("t", "a", "<5"), ("t", "b", "<5"), ("t", "c", "9")
    ]  # fmt: skip
    assert _suppress([("t", "a", 12)]) == [("t", "a", "12")]


async def test_the_oversight_view_counts_open_cases_per_route_version(browser, json_api):
    """Cases run on the route version they started on until migrated: oversight sees how many
    run on each (issue 13), in the same report as the API."""
    from app.route_engine import library
    from app.services import route_versions

    await _open(json_api)
    number = await route_versions.register_current()
    listed = {v["version"]: v for v in await route_versions.versions()}
    current = listed[library().version]
    assert current["number"] == number and current["current"] and current["open_cases"] >= 1
    page = await (await browser(OVERSIGHT)).get("/compliance")
    assert page.status_code == 200
    section = page.text.split('id="versiones"', 1)[1]
    assert "Casos por versión de la ruta" in section
    row = re.search(
        rf"<td>{number} \(vigente\)</td><td><code>{library().version}</code></td><td>(\d+)</td>",
        section,
    )
    assert row and int(row.group(1)) == current["open_cases"]
    r = await json_api.get(OVERSIGHT, "/api/v1/oversight/compliance")
    assert r.status_code == 200
    api_row = next(v for v in r.json()["route_versions"] if v["version"] == library().version)
    assert api_row["open_cases"] == current["open_cases"] and api_row["number"] == number
