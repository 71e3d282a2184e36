"""Read-only aggregates for the oversight compliance dashboard (counts only, no child data).

Oversight only (the same rule as the audit trail: ``audit_read.require_reader``). Overdue means
an open task whose legal due date has passed, as in the inbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.principal import Principal
from app.services.audit_read import require_reader
from app.tables import Case, Task


async def dashboard(principal: Principal, now: datetime) -> dict[str, Any]:
    require_reader(principal)
    by_authority = await Task.raw(
        "SELECT a.code AS authority, COUNT(*) AS open_tasks,"
        " SUM(CASE WHEN t.due_at IS NOT NULL AND t.due_at < {} THEN 1 ELSE 0 END) AS overdue,"
        " SUM(CASE WHEN t.escalation_level > 0 THEN 1 ELSE 0 END) AS escalated"
        " FROM task t LEFT JOIN authority a ON a.id = t.authority_id"
        " WHERE t.status = 'open' GROUP BY a.code ORDER BY a.code",
        now,
    )
    by_risk = await Case.raw(
        "SELECT COALESCE(risk, '') AS risk, COUNT(*) AS n FROM nna_case"
        " WHERE status = 'open' GROUP BY COALESCE(risk, '') ORDER BY 1"
    )
    by_status = await Case.raw(
        "SELECT status, COUNT(*) AS n FROM nna_case GROUP BY status ORDER BY status"
    )
    for row in by_authority:
        row["authority"] = row["authority"] or "—"
        row["overdue"] = int(row["overdue"] or 0)
        row["escalated"] = int(row["escalated"] or 0)
    return {"by_authority": by_authority, "by_risk": by_risk, "by_status": by_status}


def bar_chart(rows: list[tuple[str, int]], title: str, unit: str, width: int = 640) -> str:
    """A horizontal bar chart as accessible SVG (role=img, title, and a text value per bar)."""
    from html import escape

    bar_h, gap, label_w = 22, 8, 190
    height = max(len(rows), 1) * (bar_h + gap) + 10
    top = max([v for _, v in rows] + [1])
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(rows):
        y = 5 + i * (bar_h + gap)
        w = (width - label_w - 70) * value / top
        parts.append(
            f'<text class="chart-label" x="{label_w - 6}" y="{y + 16}">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}"/>'
            f'<text class="chart-value" x="{label_w + w + 6:.1f}" y="{y + 16}">'
            f"{value} {escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
