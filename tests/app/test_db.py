"""Database engine settings careroute relies on."""

from __future__ import annotations

import pytest

from app import db
from app.tables import CaseIdentity


async def test_foreign_keys_hold_inside_a_transaction(api):
    """app/db.py skips Piccolo's per-statement PRAGMA on SQLite: the connection's own setting
    must still refuse a row that points nowhere (PostgreSQL always does)."""
    with pytest.raises(Exception, match="(?i)foreign key"):
        async with db.write_tx():
            await CaseIdentity.insert(CaseIdentity(case=2_000_000_000, data={}))
