"""Exporting a region's registry (or every region's, for admins): the spreadsheet format as CSV or GeoJSON, and
Open Referral HSDS 3.0 as JSON or as a CSV datapackage (exchange/hsds.py).

Who sees what is search/redaction.py's: a viewer who may see confidential places gets their
exact points, addresses and phones; anyone else gets published, active entries only, confidential places snapped to
the 5 km grid without address or place name, and only their intake phone. Staff exports hold drafts and
deactivated entries too, so that an export imports back onto the registry unchanged.

CSV cells that a spreadsheet would run as a formula are neutralized with a leading apostrophe (an import takes it
off again): every cell starting with '=', '@', a tab or a carriage return, and a cell starting with '+' or '-'
unless it is only a number or a phone number (digits, spaces, brackets, dots and hyphens)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from .. import clock
from ..auth.policy import require_export_rights, sees_unpublished
from ..data import export as queries
from ..data.reference import region_timezones
from ..search.redaction import export_row
from . import columns as c
from .lookup import export_key, region_names, taxonomy

FORMATS = ("csv", "geojson", "hsds-json", "hsds-csv")
MIMETYPES = {"csv": "text/csv; charset=utf-8", "geojson": "application/geo+json",
             "hsds-json": "application/json", "hsds-csv": "application/zip"}
EXTENSIONS = {"csv": "csv", "geojson": "geojson", "hsds-json": "json", "hsds-csv": "zip"}


class ExportError(ValueError):
    """The export cannot be made as asked (an unknown region or format); the message is Russian."""




@dataclass(frozen=True)
class ExportPhone(c.Phone):
    note: str = ""
    id: int = 0


def _phones(rows) -> list[ExportPhone]:
    return [ExportPhone(r[0], r[1], r[2], r[3], int(r[4])) for r in rows]


def registry_rows(session: Session, region_codes: list[str] | None, viewer) -> list[dict]:
    """One row per service at its (first) location, as the viewer may see it: confidential places redacted for
    viewers who may not see them, drafts and deactivated entries for staff only."""
    everything = sees_unpublished(viewer)
    rows = []
    for row in queries.registry_rows(session, region_codes, everything):
        row["location_phones"] = _phones(row["location_phones"])
        row["organization_phones"] = _phones(row["organization_phones"])
        row["hours"] = tuple(tuple(s) for s in row.pop("slots"))
        rows.append(export_row(row, viewer))
    return rows


def export_region(session: Session, region_codes: list[str] | None, fmt: str, viewer) -> tuple[bytes, str, str]:
    """The registry of these regions (all when None) as (bytes, mimetype, filename), in fmt: csv | geojson |
    hsds-json | hsds-csv; the filename carries today's date where the regions are (export_date). Raises
    auth.policy.Forbidden when the viewer may not export a region, ExportError when the format or a region is unknown."""
    if fmt not in FORMATS:
        raise ExportError(f"Неизвестный формат выгрузки «{str(fmt)[:20]}»: csv, geojson, hsds-json или hsds-csv.")
    zones = {}
    if region_codes is not None:
        region_codes = sorted(set(region_codes))
        zones = region_timezones(session, region_codes)
        unknown = [code for code in region_codes if code not in zones]
        if unknown or not region_codes:
            raise ExportError(f"Неизвестный регион: {', '.join(unknown)[:60] or 'не указан'}.")
    require_export_rights(viewer, region_codes)
    rows = registry_rows(session, region_codes, viewer)
    terms = taxonomy(session)
    if fmt == "csv":
        data = to_csv(rows, terms)
    elif fmt == "geojson":
        data = to_geojson(rows)
    else:
        from . import hsds

        regions = region_names(session)
        data = hsds.to_json(rows, terms, regions) if fmt == "hsds-json" else hsds.to_datapackage(rows, terms, regions)
    scope = "all" if region_codes is None else ("-".join(region_codes) if len(region_codes) <= 3 else "regions")
    prefix = "hsds-" if fmt.startswith("hsds") else "registry-"
    filename = f"{prefix}{scope}-{export_date(set(zones.values())).isoformat()}.{EXTENSIONS[fmt]}"
    return data, MIMETYPES[fmt], filename


def export_date(zones: set[str]) -> dt.date:
    """Today where the exported regions are: their own zone when they share one, else Moscow's date."""
    return clock.local_date(next(iter(zones)) if len(zones) == 1 else clock.MOSCOW)


# --- the spreadsheet format -----------------------------------------------------------------------------------
def _number(value: float | None, places: int) -> str:
    if value is None:
        return ""
    return f"{value:.{places}f}".rstrip("0").rstrip(".")


def format_cells(row: dict, kind_names: dict[str, str]) -> dict[str, str]:
    """A registry row as the text cells of the spreadsheet format (canonical column -> text)."""
    return {
        "external_id": export_key("service", row["service_id"], row["service_external_id"]),
        "organization_external_id": export_key("organization", row["organization_id"],
                                               row["organization_external_id"]),
        "organization": row["organization"],
        "kind": kind_names.get(row["type_code"], row["type_code"]),
        "service_name": row["service_name"],
        "address": row["address"],
        "settlement": row["settlement"] or "",
        "lat": _number(row["lat"], 7),
        "lon": _number(row["lon"], 7),
        "phones": c.write_phones(row["location_phones"]),
        "hours": c.write_hours(row["hours"]),
        "age_min_months": "" if row["age_min_months"] is None else str(row["age_min_months"]),
        "age_max_months": "" if row["age_max_months"] is None else str(row["age_max_months"]),
        "delivery": c.DELIVERY_LABELS[row["delivery"]],
        "outreach_radius_km": _number(row["radius_km"], 3) if row["delivery"] == "outreach" else "",
        "confidential": c.write_bool(row["confidential"]),
        "website": row["website"],
        "email": row["email"],
        "description": row["description"],
        "eligibility": row["eligibility"],
        "conditions": c.write_codes(row["conditions"]),
        "cost": c.write_codes([row["cost"]] if row["cost"] else []),
        "cost_basis": c.write_codes(row["cost_basis"]),
        "capacity_total": "" if row["capacity_total"] is None else str(row["capacity_total"]),
        "capacity_free": "" if row["capacity_free"] is None else str(row["capacity_free"]),
        "status": c.STATUS_LABELS[row["status"]],
        "location_external_id": export_key("location", row["location_id"], row["location_external_id"]),
        "location_name": row["location_name"],
        "accessibility": row["accessibility"],
        "legal_form": row["legal_form"],
        "organization_description": row["organization_description"],
        "organization_phones": c.write_phones(row["organization_phones"]),
        "verified_at": row["verified_at"].isoformat() if row["verified_at"] else "",
        "active": c.write_bool(row["service_active"] and row["location_active"]),
    }


_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9 ().\-]*$")


def neutralize(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, with a leading apostrophe (see the module's docstring)."""
    if cell.startswith(("+", "-")) and _PLAIN_NUMBER.match(cell):
        return cell
    return c.neutralize(cell)


def to_csv(rows: list[dict], terms) -> bytes:
    """UTF-8 with a BOM, ';'-separated, Russian headers: what Excel in a Russian locale opens as it is."""
    kind_names = {code: name_ru for code, name_ru, _ in terms}
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([col.header for col in c.COLUMNS])
    for row in rows:
        cells = format_cells(row, kind_names)
        writer.writerow([neutralize(cells[col.name]) for col in c.COLUMNS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_geojson(rows: list[dict]) -> bytes:
    """A FeatureCollection of points; properties are the format's canonical columns with typed values (codes for
    the kind of help, delivery and status)."""
    features = []
    for row in rows:
        cells = format_cells(row, {})
        props = {
            **{k: v for k, v in cells.items() if k not in ("lat", "lon")},
            "kind": row["type_code"], "delivery": row["delivery"], "status": row["status"],
            "confidential": row["confidential"], "active": row["service_active"] and row["location_active"],
            "age_min_months": row["age_min_months"], "age_max_months": row["age_max_months"],
            "capacity_total": row["capacity_total"], "capacity_free": row["capacity_free"],
            "outreach_radius_km": row["radius_km"] if row["delivery"] == "outreach" else None,
            "conditions": list(row["conditions"] or []), "cost": row["cost"], "cost_basis": list(row["cost_basis"] or []),
        }
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [round(row["lon"], 7), round(row["lat"], 7)]},
                         "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False).encode("utf-8")
