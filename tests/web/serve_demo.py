"""Serve careroute on a fresh SQLite file with demo data, for the browser tests.

    python tests/web/serve_demo.py DB_FILE PORT PASSWORD

Seeds the demo authorities and accounts (app/demo.py), drives a few cases with the demo driver
(the same services the API calls): one waiting for INM's detection record, one waiting for the
shelter's admission, one at the Procuraduría (and one with a name to search for), one whose
best-interests assessment awaits the supervisor's approval; prints one JSON line with their folios, then serves
on 127.0.0.1:PORT until killed. (Not the whole ``demo.run``: its backdated cases depend on the
deadline worker, which is not what these tests are about.)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta


async def prepare(password: str) -> dict[str, str]:
    from app import db, demo

    await db.startup()
    await db.migrate()
    await demo.seed_accounts(password)
    driver = demo.Driver()
    await driver.load()
    now = datetime.now(UTC).replace(microsecond=0)
    detect = await driver.open("inm-07.officer", now - timedelta(hours=1), "07", "Tapachula", "B")
    start = now - timedelta(days=2)
    admit = await driver.open("inm-07.officer", start, "07", "Tapachula", "C")
    await driver.drive(admit, start, "admitir_en_cas", now)
    other = await driver.open("inm-07.officer", start, "07", "Tapachula", "D")
    await driver.drive(other, start, "determinar_acompanamiento", now)
    named = await driver.open("inm-07.officer", start, "07", "Tapachula", "Ximena Quetzal")
    await driver.drive(named, start, "determinar_acompanamiento", now)
    early = now - timedelta(days=10)
    bia = await driver.open("inm-07.officer", early, "07", "Tapachula", "Brenda")
    await driver.drive(bia, early, "aprobar_bia", now)
    return {"detect": detect, "admit": admit, "other": other, "named": named, "bia": bia}


def main() -> None:
    db_file, port, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    os.environ["CAREROUTE_DB"] = db_file
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    import app  # noqa: F401

    folios = asyncio.run(prepare(password))
    print(json.dumps(folios), flush=True)
    import uvicorn

    from app.main import create_app

    uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
