"""INEGI state codes (claves de entidad federativa) and the short forms used in case folios."""

from __future__ import annotations

FEDERAL = "00"

#: INEGI code -> (name, folio abbreviation). "00" is the federal level, not a state.
STATES: dict[str, tuple[str, str]] = {
    "00": ("Federación", "FED"),
    "01": ("Aguascalientes", "AGS"),
    "02": ("Baja California", "BC"),
    "03": ("Baja California Sur", "BCS"),
    "04": ("Campeche", "CAMP"),
    "05": ("Coahuila de Zaragoza", "COAH"),
    "06": ("Colima", "COL"),
    "07": ("Chiapas", "CHIS"),
    "08": ("Chihuahua", "CHIH"),
    "09": ("Ciudad de México", "CDMX"),
    "10": ("Durango", "DGO"),
    "11": ("Guanajuato", "GTO"),
    "12": ("Guerrero", "GRO"),
    "13": ("Hidalgo", "HGO"),
    "14": ("Jalisco", "JAL"),
    "15": ("México", "MEX"),
    "16": ("Michoacán de Ocampo", "MICH"),
    "17": ("Morelos", "MOR"),
    "18": ("Nayarit", "NAY"),
    "19": ("Nuevo León", "NL"),
    "20": ("Oaxaca", "OAX"),
    "21": ("Puebla", "PUE"),
    "22": ("Querétaro", "QRO"),
    "23": ("Quintana Roo", "QROO"),
    "24": ("San Luis Potosí", "SLP"),
    "25": ("Sinaloa", "SIN"),
    "26": ("Sonora", "SON"),
    "27": ("Tabasco", "TAB"),
    "28": ("Tamaulipas", "TAMPS"),
    "29": ("Tlaxcala", "TLAX"),
    "30": ("Veracruz de Ignacio de la Llave", "VER"),
    "31": ("Yucatán", "YUC"),
    "32": ("Zacatecas", "ZAC"),
}


def is_valid(code: str) -> bool:
    return code in STATES


def state_name(code: str) -> str:
    return STATES[code][0]


def folio_prefix(code: str, year: int) -> str:
    """``CHIS-2026``: the prefix a new case folio gets in that state and year."""
    return f"{STATES[code][1]}-{year}"
