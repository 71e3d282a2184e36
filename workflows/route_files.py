"""Where the route's files are: bpmn/, forms/ and config/ of a checkout, or their wheel copies.

The folders stay at the repository root because process analysts own them; pyproject.toml maps
them into the wheel as ``workflows/route/{bpmn,forms,config}``. A checkout (or an editable
install) has no ``workflows/route/`` and reads the root folders directly. An environment variable
overrides each, for tests and deployments with their own route.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
#: The checkout's root; meaningless in an installed wheel (use ``shipped``).
REPO_ROOT = PACKAGE_DIR.parent
#: Where pyproject.toml puts the route folders inside an installed wheel.
WHEEL_ROUTE_DIR = PACKAGE_DIR / "route"

ENV_BPMN = "CAREROUTE_BPMN_DIR"
ENV_FORMS = "CAREROUTE_FORMS_DIR"
ENV_PLAZOS = "CAREROUTE_PLAZOS"


def shipped(folder: str) -> Path:
    """``folder`` (bpmn, forms or config) as shipped with this copy of careroute."""
    installed = WHEEL_ROUTE_DIR / folder
    return installed if installed.is_dir() else REPO_ROOT / folder


def bpmn_dir() -> Path:
    """$CAREROUTE_BPMN_DIR, else the shipped bpmn/."""
    return Path(os.environ.get(ENV_BPMN) or shipped("bpmn"))


def forms_dir() -> Path:
    """$CAREROUTE_FORMS_DIR, else the shipped forms/."""
    return Path(os.environ.get(ENV_FORMS) or shipped("forms"))


def plazos_file() -> Path:
    """$CAREROUTE_PLAZOS, else the shipped config/plazos.toml."""
    return Path(os.environ.get(ENV_PLAZOS) or shipped("config") / "plazos.toml")
