"""What the registry holds now for the rows of an import: entries matched by external id, and their stored values
to compare with the file. Each question is one set-based query over arrays of keys or ids (data/import_lookup.py);
here, which match wins and the stored phones as Phone values.

External ids: a service, location or organization is matched by its `external_id`, or, when it has none, by the
id an export wrote for it (`rm-s<id>`, `rm-l<id>`, `rm-o<id>`), so that an exported region imports back onto
itself unchanged."""
from __future__ import annotations

from sqlalchemy.orm import Session

from ..data import import_lookup as data
from ..data.arrays import float_array, int_array, records, text_array  # noqa: F401  (used through this module)
from ..data.import_lookup import EXPORT_PREFIX, region, region_names, taxonomy  # noqa: F401  (part of the contract)
from .columns import Phone


def export_key(entity: str, row_id: int, external_id: str | None) -> str:
    """The external id an export writes for a row: its own, else rm-<letter><id>."""
    return external_id or f"{EXPORT_PREFIX[entity]}{row_id}"


def _match(session: Session, entity: str, keys) -> dict[str, dict]:
    found: dict[str, dict] = {}
    if not keys:
        return found
    for row in data.matches(session, entity, keys):
        if row["key"] not in found or row["own"]:  # a row's own external id wins over an export id
            found[row["key"]] = row
    return found


def match_services(session: Session, keys) -> dict[str, dict]:
    """key -> {id, organization_id, region_code (its organization's), location_id}."""
    return _match(session, "service", keys)


def match_organizations(session: Session, keys) -> dict[str, dict]:
    """key -> {id, region_code}."""
    return _match(session, "organization", keys)


def match_locations(session: Session, keys) -> dict[str, dict]:
    """key -> {id, organization_id, region_code}."""
    return _match(session, "location", keys)


def lock_organizations(session: Session, ids) -> None:
    """Row locks on the organizations an import will write (in id order, so two imports cannot deadlock); an
    editor's save of the same organization waits, then meets a moved version."""
    if ids:
        data.lock_organizations(session, ids)


def _by_id_with_phones(rows) -> dict[int, dict]:
    """id -> the stored row, its phones ([number, kind, extension, id] arrays) as Phone values with their ids apart."""
    out = {}
    for row in rows:
        phones = row["phones"]
        row["phones"], row["phone_ids"] = [Phone(p[0], p[1], p[2]) for p in phones], [int(p[3]) for p in phones]
        out[row["id"]] = row
    return out


def organizations(session: Session, ids) -> dict[int, dict]:
    """id -> the organization as stored, its own phones as Phone values with their ids apart."""
    return _by_id_with_phones(data.organization_states(session, ids))


def locations(session: Session, ids) -> dict[int, dict]:
    """id -> the location as stored, its own phones as Phone values with their ids apart."""
    return _by_id_with_phones(data.location_states(session, ids))


def services(session: Session, ids) -> dict[int, dict]:
    """id -> the service as stored."""
    return {svc["id"]: svc for svc in data.service_states(session, ids)}
