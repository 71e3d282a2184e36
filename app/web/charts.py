"""Charts for the pages: accessible inline SVG, no JavaScript."""

from __future__ import annotations


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
