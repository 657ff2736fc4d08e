"""Demo data: the organizations named in the programme texts (data/demo/registry.json), and a generator of
synthetic organizations at real settlements, weighted by population, for demos and benchmarks.

Every record here is marked `is_synthetic`: the demo registry's phones and hours are invented even where the
organization is real, and pages that show such a record show a "demo data" banner."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ..data import bulk
from ..data import demo as data
from .write import create_organization

SYNTHETIC_SOURCE = "synthetic"


def load_demo_registry(engine: Engine, path: Path) -> tuple[int, int]:
    """Add the demo organizations that are not in the database yet (matched by external id `demo:<key>`).
    Returns (added, already there). All or nothing."""
    orgs = json.loads(Path(path).read_text("utf-8"))
    added = present = 0
    with Session(engine) as session, session.begin():
        existing = data.demo_external_ids(session)
        for org in orgs:
            external_id = f"demo:{org['key']}"
            if external_id in existing:
                present += 1
                continue
            create_organization(session, {**org, "external_id": external_id, "synthetic": True,
                                          "locations": [{**loc, "approximate": True} for loc in org["locations"]],
                                          "services": [demo_needs(svc, n) for n, svc in enumerate(org["services"])]})
            added += 1
    return added, present


# The child's conditions and the cost shown by the demo (invented like the demo's phones and hours; every demo record
# carries the "demo data" banner): per kind of help, the conditions such services usually work with and the cost.
_DEMO_NEEDS = {
    "early_help": (("developmental_delay", "hearing", "vision", "motor", "autism", "down_syndrome", "complex_needs"),
                   "free", ("state_programme",)),
    "rehabilitation": (("motor", "complex_needs", "developmental_delay", "down_syndrome"), "free", ("referral",)),
    "psychological_help": (("autism", "developmental_delay"), "free", ()),
    "mobile_team": (("complex_needs", "motor"), "free", ("state_programme",)),
    "rental_point": (("motor", "complex_needs"), "free", ()),
    "family_support": ((), "free", ()), "legal_help": ((), "free", ()), "hotline": ((), "free", ()),
    "crisis_apartment": ((), "free", ()), "humanitarian_aid": ((), "free", ()), "parent_club": ((), "free", ()),
}


def demo_needs(svc: dict, n: int) -> dict:
    """A demo service with the conditions and cost of its kind (_DEMO_NEEDS) unless it names its own; every third
    psychological or rehabilitation service partly paid and with fewer conditions, so that the filters show a
    difference."""
    if "conditions" in svc or "cost" in svc or svc["type"] not in _DEMO_NEEDS:
        return svc
    conditions, cost, basis = _DEMO_NEEDS[svc["type"]]
    if svc["type"] in ("psychological_help", "rehabilitation") and n % 3 == 2:
        conditions, cost, basis = conditions[:1], "partly_paid", ()
    return {**svc, "conditions": list(conditions), "cost": cost, "cost_basis": list(basis)}


# Kinds of help and how common they are among synthetic services (rough shares of a real registry).
_TYPE_WEIGHTS = [
    ("family_support", 14), ("psychological_help", 14), ("rehabilitation", 10), ("early_help", 9),
    ("legal_help", 8), ("day_care", 7), ("parent_club", 6), ("humanitarian_aid", 6), ("social_nanny", 5),
    ("respite_care", 4), ("rental_point", 4), ("mobile_team", 4), ("palliative_care", 3), ("hotline", 2),
    ("crisis_apartment", 2), ("addiction_rehab", 2),
]

RADIUS_QUAD_SEGS = 8  # outreach radius areas of synthetic services: coarser buffers than an editor's (16)


def generate_synthetic(engine: Engine, locations: int, seed: float = 0.42, regions: list[str] | None = None) -> int:
    """Add `locations` synthetic organizations (one location each, one to three services) at real settlements,
    chosen with probability proportional to population, points scattered within 4 km. Returns the count. Drawn in
    SQL, written through the bulk path (data/bulk.py) the spreadsheet import uses."""
    if locations <= 0:
        return 0
    with Session(engine) as session, session.begin():
        # Generated filler is not curators' work: the change history (migration 0008) does not record it.
        bulk.filler_transaction(session, asynchronous_commit=True)
        data.draw_synthetic(session, locations, seed, regions, _TYPE_WEIGHTS)
        data.stage_organizations(session, SYNTHETIC_SOURCE)
        bulk.insert_staged(session, "organization")
        data.stage_locations(session)
        bulk.insert_staged(session, "location")
        data.stage_services(session)
        bulk.insert_staged(session, "service")
        data.stage_areas(session)
        bulk.insert_areas(session, quad_segs=RADIUS_QUAD_SEGS)
        data.stage_phones(session)
        bulk.insert_staged(session, "phone")
        bulk.analyze_registry(session)
    return locations


def delete_synthetic(engine: Engine) -> int:
    """Remove every generated synthetic organization (not the demo registry). Returns how many."""
    with Session(engine) as session, session.begin():
        bulk.filler_transaction(session)
        return bulk.delete_organizations_of_source(session, SYNTHETIC_SOURCE)
