"""Message catalogs (es default, en) as JSON dicts; every UI string comes from here."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

LANGS = ("es", "en")
DEFAULT = "es"
COOKIE = "careroute_lang"


@cache
def catalog(lang: str) -> dict[str, str]:
    """``{lang}.json`` plus the pages' own parts (``{lang}.<part>.json``, e.g. the oversight
    dashboard's), so a page's strings live beside each other and not in one ever-growing file."""
    here = Path(__file__).parent
    out: dict[str, str] = json.loads((here / f"{lang}.json").read_text(encoding="utf-8"))
    for part in sorted(here.glob(f"{lang}.*.json")):
        out.update(json.loads(part.read_text(encoding="utf-8")))
    return out


def norm(lang: str | None) -> str:
    return lang if lang in LANGS else DEFAULT


def translate(lang: str, key: str, **kw: object) -> str:
    text = catalog(norm(lang)).get(key) or catalog(DEFAULT).get(key) or key
    return text.format(**kw) if kw else text


def label(lang: str, prefix: str, code: str) -> str:
    """The catalog's label for a code (``action_task.completed``), else the code itself."""
    text = catalog(norm(lang)).get(prefix + code) or catalog(DEFAULT).get(prefix + code)
    return text or code
