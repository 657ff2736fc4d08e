"""The dry run of an import: what each row would do (create, update, unchanged, or error) and every problem with
its row and column. Nothing of the registry is written; the plan also carries the writes that apply_import makes.

How rows become organizations, locations and services (docs/import-format.md): a row is one service, matched by its
external id. Rows belong to one organization when they share the organization's external id, or — without one —
when the organization's name is the same; a matched service brings its own organization. Rows of an organization
share a location when they share the location's external id, or — without one — the same point and address; a
matched service keeps its location unless the file says otherwise. Rows of one organization (or location) must
agree on its columns."""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

from sqlalchemy.orm import Session

from ..auth.policy import require_import_rights
from ..data import bulk
from ..registry import hours
from . import checks, lookup
from .columns import BY_NAME, REQUIRED, header_key, kind_index
from .reading import ImportFileError, Table
from .results import ImportPlan, RowResult
from .rows import WARNINGS, ParsedRow, Problem, RowReader

# --- the groups rows form ---------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Group:
    """Rows of the file that form one organization or one location."""

    key: tuple
    id: int | None  # an existing entry, or None (new; an id is drawn when applied)
    rows: list[ParsedRow]
    values: dict
    changes: dict = field(default_factory=dict)  # column -> new value (existing entries)
    phone_target: tuple | None = None  # the phones to have, where they differ from the stored ones
    state: dict | None = None  # the stored entry


@dataclass(eq=False)
class OrgGroup(_Group):
    """The rows of one organization."""


@dataclass(eq=False)
class LocGroup(_Group):
    """The rows of one location of `org`."""

    org: OrgGroup = field(kw_only=True)
    moved: bool = False
    settlement: dict | None = None  # resolved settlement (new locations, or a changed settlement name)


@dataclass(eq=False)
class ServicePlan:
    row: ParsedRow
    loc: LocGroup
    id: int | None
    values: dict
    changes: dict = field(default_factory=dict)
    relocated: bool = False
    hours: str | None = None  # weekly hours to write, as service.hours' text (registry/hours.py); None: none
    areas: dict | None = None  # {"delivery", "radius_km"} when the areas must be made to match
    state: dict | None = None


@dataclass
class Writes:
    orgs: list[OrgGroup]
    locs: list[LocGroup]
    services: list[ServicePlan]

    @property
    def empty(self) -> bool:
        return not any(self._changed(x) for x in (*self.orgs, *self.locs, *self.services))

    @staticmethod
    def _changed(x) -> bool:
        return x.id is None or bool(x.changes) or getattr(x, "moved", False) or getattr(x, "relocated", False) \
            or getattr(x, "areas", None) is not None \
            or getattr(x, "phone_target", None) is not None


STATEMENT_TIMEOUT = "300s"  # a bulk import is not held to the web's statement timeout


# A file's hours cells repeat ("пн-пт 9:00-18:00"): each distinct tuple of slots is written out once.
_hours_text = lru_cache(maxsize=4096)(hours.to_multirange)


@contextmanager
def bulk_statements(session: Session):
    """The transaction's statement timeout raised for an import's bulk statements, then set back."""
    previous = bulk.statement_timeout(session)
    bulk.set_statement_timeout(session, STATEMENT_TIMEOUT)
    yield
    bulk.set_statement_timeout(session, previous)


@contextmanager
def collector_paused():
    """Python's cyclic garbage collector paused. A plan makes several objects per cell and keeps nearly all of them
    to its end; meanwhile the collector would scan the whole growing heap again and again (for 100,000 rows, a third
    of the plan's Python time) and find nothing to free. Reference counting still frees what the plan drops; the
    collector's first runs after the pause scan the plan's objects once more. The switch is process-wide: a plan
    running in another thread meanwhile keeps it off a little longer, or finds it on again (and runs slower)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def plan_import(session: Session, table: Table, region_code: str, actor) -> ImportPlan:
    """The dry run: per row create | update | unchanged | error, and every problem (row, column, code, message).
    Raises auth.policy.Forbidden when the actor may not import into the region. Writes nothing to the registry."""
    planner = Planner(session, table, region_code, actor)
    with bulk_statements(session):
        return planner.plan(lock=False)


class Planner:
    def __init__(self, session: Session, table: Table, region_code: str, actor):
        require_import_rights(actor, region_code)
        self.session, self.table, self.region_code = session, table, region_code
        self.region = lookup.region(session, region_code)
        if self.region is None:
            raise ImportFileError(f"Неизвестный регион «{region_code[:20]}».")
        self.problems: list[Problem] = []

    def error(self, row: ParsedRow, column: str, code: str, message: str) -> None:
        self.problems.append(Problem(row.number, self.table.header_of(column), code, message))
        if code not in WARNINGS:
            row.ok = False

    # -- the steps ---------------------------------------------------------------------------------------------
    def plan(self, *, lock: bool) -> ImportPlan:
        with collector_paused():
            return self._plan(lock)

    def _plan(self, lock: bool) -> ImportPlan:
        table = self.table
        missing = [name for name in REQUIRED if name not in table.columns]
        for name in missing:
            self.problems.append(Problem(None, BY_NAME[name].header, "missing_column",
                                         f"Нет обязательного столбца «{BY_NAME[name].header}» ({name})."))
        for header, name in table.duplicate_headers:
            self.problems.append(Problem(None, header, "duplicate_column",
                                         f"Столбец «{header}» повторяет столбец «{table.columns[name]}»."))
        for header in table.unknown_headers:
            self.problems.append(Problem(None, header, "unknown_column",
                                         f"Столбец «{header}» не из формата и пропущен."))
        if missing or table.duplicate_headers:
            rows = [RowResult(r.number, "error", r.cells.get("external_id", ""), r.cells.get("organization", ""))
                    for r in table.rows]
            return ImportPlan(table.filename, self.region_code, rows, self.problems, table.empty_rows,
                              headers=dict(table.columns))

        reader = RowReader(table.header_of, set(table.columns), kind_index(lookup.taxonomy(self.session)),
                           self.region["country"])
        parsed = [reader.read(r.number, r.cells) for r in table.rows]
        self.problems += reader.problems
        self._duplicate_keys(parsed)
        self._check_points(parsed)
        orgs, locs, services = self._group(parsed)
        if lock:
            lookup.lock_organizations(self.session, {g.id for g in orgs if g.id is not None})
        self._diff(orgs, locs, services)
        self._resolve_settlements(locs)
        self._duplicates(locs)
        results = [self._result(s) for s in services]
        planned = {s.row.number for s in services}
        results += [RowResult(p.number, "error", p.key, p.org.get("name", "")) for p in parsed
                    if p.number not in planned]
        results.sort(key=lambda r: r.row)
        self.problems.sort(key=lambda p: (p.row or 0))
        return ImportPlan(table.filename, self.region_code, results, self.problems, table.empty_rows,
                          writes=Writes(orgs, locs, services), headers=dict(table.columns))

    def _duplicate_keys(self, parsed: list[ParsedRow]) -> None:
        first: dict[str, int] = {}
        for row in parsed:
            if not row.key:
                continue
            if row.key in first:
                self.error(row, "external_id", "duplicate_external_id",
                           f"Код записи «{row.key[:40]}» уже встречался в строке {first[row.key]}.")
            else:
                first[row.key] = row.number

    def _check_points(self, parsed: list[ParsedRow]) -> None:
        points = {i: (row.loc["lat"], row.loc["lon"]) for i, row in enumerate(parsed) if row.loc["lat"] is not None}
        names = None
        for i, where in checks.points_outside(self.session, self.region_code, points).items():
            row = parsed[i]
            names = names or lookup.region_names(self.session)
            lat, lon = points[i]
            if where["swapped"] == self.region_code:
                self.error(row, "lat", "lat_lon_swapped",
                           f"Широта и долгота перепутаны местами: точка ({lat}, {lon}) попадает в регион, если их "
                           f"поменять (широта {lon}, долгота {lat}).")
            elif abs(lat) > 90 or abs(lon) > 180:
                self.error(row, "lat" if abs(lat) > 90 else "lon", "bad_coordinates",
                           "Широта — от -90 до 90, долгота — от -180 до 180.")
            elif where["here"]:
                self.error(row, "lat", "outside_region",
                           f"Точка лежит в регионе «{names.get(where['here'], where['here'])}», а загрузка идёт "
                           f"в «{self.region['name_ru']}».")
            else:
                self.error(row, "lat", "outside_region",
                           f"Точка ({lat}, {lon}) не попадает ни в один регион России или Казахстана.")

    def _group(self, parsed: list[ParsedRow]):
        """Rows to organizations, locations and services, with every matched entry of the registry."""
        session = self.session
        ok = [r for r in parsed if r.ok]
        svc_match = lookup.match_services(session, [r.key for r in ok])
        org_match = lookup.match_organizations(session, [r.org["external_id"] for r in ok if r.org.get("external_id")])
        loc_match = lookup.match_locations(session, [r.loc["external_id"] for r in ok if r.loc.get("external_id")])
        org_key = self._organization_keys(ok, svc_match, org_match, loc_match)
        ok = [r for r in ok if r.ok]
        loc_key = _location_keys(ok, org_key, svc_match, loc_match)
        return self._build_groups(ok, org_key, loc_key, svc_match)

    def _organization_keys(self, ok: list[ParsedRow], svc_match: dict, org_match: dict, loc_match: dict
                           ) -> dict[int, tuple]:
        """Per row number, the key of its organization: an existing one's id (matched by the service, the
        organization's or the location's external id), else the file's external id, else its name. Rows that match
        entries of another region or of different organizations get an error."""
        region, names = self.region_code, lookup.region_names(self.session)
        org_key: dict[int, tuple] = {}
        for row in ok:
            m, om = svc_match.get(row.key), org_match.get(row.org.get("external_id"))
            lm = loc_match.get(row.loc.get("external_id"))
            for match, column in ((m, "external_id"), (om, "organization_external_id")):
                if match and match["region_code"] != region:
                    self.error(row, column, "other_region",
                               f"Эта запись относится к региону «{names.get(match['region_code'])}»: загружайте её "
                               f"в свой регион.")
            owner = om["id"] if om else (m["organization_id"] if m else None)
            if m and om and m["organization_id"] != om["id"]:
                self.error(row, "organization_external_id", "organization_mismatch",
                           "Услуга с этим кодом записи принадлежит другой организации.")
            if lm and owner is not None and lm["organization_id"] != owner:
                self.error(row, "location_external_id", "location_mismatch",
                           "Место с этим кодом принадлежит другой организации.")
            if lm and owner is None:
                owner = lm["organization_id"]
                if lm["region_code"] != region:
                    self.error(row, "location_external_id", "other_region",
                               "Место с этим кодом относится к другому региону.")
            if not row.ok:
                continue
            if owner is not None:
                org_key[row.number] = ("id", owner)
            elif row.org.get("external_id"):
                org_key[row.number] = ("x", row.org["external_id"])
            else:
                org_key[row.number] = ("name", header_key(row.org["name"]))
        rows = [r for r in ok if r.ok]
        _merge_aliases(rows, org_key, lambda r: [("name", header_key(r.org["name"]))]
                       + ([("x", r.org["external_id"])] if r.org.get("external_id") else []))
        return org_key

    def _build_groups(self, ok: list[ParsedRow], org_key: dict[int, tuple], loc_key: dict[int, tuple],
                      svc_match: dict) -> tuple[list[OrgGroup], list[LocGroup], list[ServicePlan]]:
        """The organizations, locations and services the keyed rows form; a row that disagrees with its group's
        first row, or names a location of another organization, gets an error and is left out."""
        orgs: dict[tuple, OrgGroup] = {}
        locs: dict[tuple, LocGroup] = {}
        services = []
        for row in ok:
            ok_key = org_key[row.number]
            org = orgs.get(ok_key)
            if org is None:
                org = orgs[ok_key] = OrgGroup(ok_key, ok_key[1] if ok_key[0] == "id" else None, [], dict(row.org))
            elif not self._agree(row, org, row.org, "organization"):
                continue
            lk = loc_key[row.number]
            loc = locs.get(lk)
            if loc is None:
                loc = locs[lk] = LocGroup(lk, lk[1] if lk[0] == "id" else None, [], dict(row.loc), org=org)
            elif loc.org is not org:
                self.error(row, "location_external_id", "location_mismatch",
                           "Место с этим кодом уже указано для другой организации в этом файле.")
                continue
            elif not self._agree(row, loc, row.loc, "location"):
                continue
            org.rows.append(row)
            loc.rows.append(row)
            m = svc_match.get(row.key)
            services.append(ServicePlan(row, loc, m["id"] if m else None, dict(row.svc)))
        return list(orgs.values()), list(locs.values()), services

    _LEVEL_COLUMN = {
        "organization": {"external_id": "organization_external_id", "name": "organization",
                         "legal_form": "legal_form", "description": "organization_description", "website": "website",
                         "email": "email", "status": "status", "verified_at": "verified_at",
                         "phones": "organization_phones"},
        "location": {"external_id": "location_external_id", "name": "location_name", "address": "address",
                     "settlement": "settlement", "lat": "lat", "lon": "lon", "confidential": "confidential",
                     "accessibility": "accessibility", "phones": "phones"},
    }

    def _agree(self, row: ParsedRow, group, mine: dict, level: str) -> bool:
        """Rows of one organization (location) must give it the same values; the first row's win."""
        values = group.values
        if mine == values:  # the usual case; equal values are also the same in the looser comparisons below
            return True
        for name, value in mine.items():
            if name not in values:
                values[name] = value
                continue
            other = values[name]
            if name == "name" and level == "organization":
                same = header_key(value) == header_key(other)
            elif name in ("lat", "lon"):
                same = round(value, 7) == round(other, 7)
            elif name == "phones":
                same = set(value) == set(other)
            else:
                same = value == other
            if not same:
                first = f" (строка {group.rows[0].number})" if group.rows else ""
                self.error(row, self._LEVEL_COLUMN[level][name], "conflicting_values",
                           f"Для этой {'организации' if level == 'organization' else 'точки'} в другой строке{first} "
                           f"указано иное значение.")
                return False
        return True

    def _diff(self, orgs: list[OrgGroup], locs: list[LocGroup], services: list[ServicePlan]) -> None:
        session = self.session
        org_state = lookup.organizations(session, {g.id for g in orgs if g.id is not None})
        loc_state = lookup.locations(session, {g.id for g in locs if g.id is not None})
        svc_state = lookup.services(session, {s.id for s in services if s.id is not None})
        for org in orgs:
            org.state = org_state.get(org.id)
            if org.state is None:
                continue
            _changes(org, org.state, {"name": "name", "legal_form": "legal_form", "description": "description",
                                      "website": "website", "email": "email", "status": "status",
                                      "verified_at": "verified_at"}, skip_none=("status", "verified_at"))
            ext = org.values.get("external_id")
            if ext and ext != lookup.export_key("organization", org.id, org.state["external_id"]):
                org.changes["external_id"] = ext
            if "phones" in org.values and set(org.values["phones"]) != set(org.state["phones"]):
                org.phone_target = org.values["phones"]
        for loc in locs:
            loc.state = loc_state.get(loc.id)
            if loc.state is None:
                continue
            _changes(loc, loc.state, {"name": "name", "address": "address", "confidential": "confidential",
                                      "accessibility": "accessibility"})
            if (round(loc.values["lat"], 7), round(loc.values["lon"], 7)) != \
                    (round(loc.state["lat"], 7), round(loc.state["lon"], 7)):
                loc.moved = True
            named = loc.values.get("settlement")
            if named and header_key(named) != header_key(loc.state["settlement"] or ""):
                loc.changes["settlement"] = named
            if "phones" in loc.values and set(loc.values["phones"]) != set(loc.state["phones"]):
                loc.phone_target = loc.values["phones"]
            if not loc.state["active"] and any(r.svc.get("active") is True for r in loc.rows):
                loc.changes["active"] = True
        for svc in services:
            svc.state = svc_state.get(svc.id)
            self._diff_service(svc)

    def _diff_service(self, svc: ServicePlan) -> None:
        v, state, row = svc.values, svc.state, svc.row
        if state is None:
            svc.id = None
            delivery = v.get("delivery") or "on_site"
            if delivery == "outreach" and v.get("radius_km") is None:
                self.error(row, "outreach_radius_km", "missing_radius",
                           "Для выезда к семье укажите радиус выезда в километрах.")
            svc.hours = _hours_text(v.get("hours", ()))
            return
        _changes(svc, state, {"type": "type", "name": "name", "description": "description",
                              "eligibility": "eligibility", "age_min_months": "age_min_months",
                              "age_max_months": "age_max_months", "delivery": "delivery",
                              "capacity_total": "capacity_total", "capacity_free": "capacity_free",
                              "conditions": "conditions", "cost": "cost", "cost_basis": "cost_basis"})
        if "active" in v:
            # An export writes "active" as service and location both active: "no" at an inactive location leaves
            # the service's own flag as it is.
            location_active = svc.loc.state["active"] if svc.loc.state else True
            wanted = v["active"] if (v["active"] or location_active) else state["active"]
            if wanted != state["active"]:
                svc.changes["active"] = wanted
        svc.hours = state["hours"]
        if "hours" in v and (wanted := _hours_text(v["hours"])) != state["hours"]:
            svc.hours = svc.changes["hours"] = wanted
        if svc.loc.id is None or svc.loc.id != state["location_id"]:
            svc.relocated = True
        delivery = v.get("delivery", state["delivery"])
        radius = v["radius_km"] if "radius_km" in v else state["radius_km"]
        radius_changed = delivery == "outreach" and "radius_km" in v and v["radius_km"] is not None and (
            state["radius_km"] is None or round(state["radius_km"], 3) != v["radius_km"])
        if radius_changed:
            svc.changes["radius_km"] = v["radius_km"]
        if delivery == "outreach" and radius is None and not state["drawn_area"]:
            self.error(row, "outreach_radius_km", "missing_radius",
                       "Для выезда к семье укажите радиус выезда в километрах.")
        if "delivery" in svc.changes or radius_changed:
            svc.areas = {"delivery": delivery, "radius_km": radius if delivery == "outreach" else None}

    def _resolve_settlements(self, locs: list[LocGroup]) -> None:
        wanted = {i: loc for i, loc in enumerate(locs) if loc.id is None or "settlement" in loc.changes}
        places = {i: (loc.values["lat"], loc.values["lon"], loc.values.get("settlement") or "")
                  for i, loc in wanted.items()}
        found = checks.settlements(self.session, places)
        for i, loc in wanted.items():
            loc.settlement = found.get(i)
            named = loc.values.get("settlement")
            if named and (loc.settlement is None or not loc.settlement["by_name"]):
                nearest = f"; выбран ближайший: {loc.settlement['name_ru']}" if loc.settlement else ""
                self.error(loc.rows[0], "settlement", "unknown_settlement",
                           f"Населённый пункт «{named[:60]}» не найден в 30 км от точки{nearest}.")

    def _duplicates(self, locs: list[LocGroup]) -> None:
        fresh = [loc for loc in locs if loc.id is None]
        groups = {id(org): n for n, org in enumerate({id(loc.org): loc.org for loc in fresh}.values())}
        places = [(loc.rows[0].number, groups[id(loc.org)], loc.org.id, loc.values["lat"], loc.values["lon"],
                   loc.org.values["name"]) for loc in fresh]
        in_registry, in_file = checks.likely_duplicates(self.session, places)
        by_row = {loc.rows[0].number: loc for loc in fresh}
        for number, found in sorted(in_registry.items()):
            self.error(by_row[number].rows[0], "organization", "likely_duplicate",
                       f"Похоже на запись реестра «{found['name'][:80]}» (№ {found['id']}) в {int(found['metres'])} м: "
                       f"проверьте, не дубликат ли это.")
        for number, found in sorted(in_file.items()):
            self.error(by_row[number].rows[0], "organization", "likely_duplicate",
                       f"Похоже на запись в строке {found['other']} этого файла ({int(found['metres'])} м): "
                       f"проверьте, не дубликат ли это.")

    def _result(self, svc: ServicePlan) -> RowResult:
        row = svc.row
        name = svc.loc.org.values.get("name", "")
        if not row.ok:
            return RowResult(row.number, "error", row.key, name)
        if svc.id is None:
            return RowResult(row.number, "create", row.key, name)
        changed = [_SERVICE_COLUMN.get(k, k) for k in svc.changes]
        if svc.relocated:
            changed.append("location")
        loc, org = svc.loc, svc.loc.org
        changed += [_LOCATION_COLUMN.get(k, k) for k in loc.changes] + (["lat", "lon"] if loc.moved else []) \
            + (["phones"] if loc.phone_target is not None else [])
        changed += [_ORG_COLUMN.get(k, k) for k in org.changes] \
            + (["organization_phones"] if org.phone_target is not None else [])
        if changed:
            return RowResult(row.number, "update", row.key, name, tuple(dict.fromkeys(changed)))
        return RowResult(row.number, "unchanged", row.key, name)


_SERVICE_COLUMN = {"type": "kind", "name": "service_name", "radius_km": "outreach_radius_km"}
_LOCATION_COLUMN = {"name": "location_name"}
_ORG_COLUMN = {"name": "organization", "description": "organization_description",
               "external_id": "organization_external_id"}


def _changes(group, state: dict, fields: dict[str, str], skip_none: tuple[str, ...] = ()) -> None:
    for name, column in fields.items():
        if name not in group.values:
            continue
        value = group.values[name]
        if value is None and name in skip_none:
            continue
        if value != state[column]:
            group.changes[name] = value


def _location_keys(ok: list[ParsedRow], org_key: dict[int, tuple], svc_match: dict, loc_match: dict
                   ) -> dict[int, tuple]:
    """Per row number, the key of its location: an existing one's id (by its external id, or the matched service's
    location), else the file's external id within the organization, else the point and address."""
    loc_key: dict[int, tuple] = {}
    for row in ok:
        m, lm = svc_match.get(row.key), loc_match.get(row.loc.get("external_id"))
        if lm:
            loc_key[row.number] = ("id", lm["id"])
        elif row.loc.get("external_id"):
            loc_key[row.number] = ("x", org_key[row.number], row.loc["external_id"])
        elif m and m["location_id"]:
            loc_key[row.number] = ("id", m["location_id"])
        else:
            loc_key[row.number] = _place_key(row, org_key[row.number])
    _merge_aliases(ok, loc_key, lambda r: [_place_key(r, org_key[r.number])] if not r.loc.get("external_id")
                   else [])
    return loc_key


def _place_key(row: ParsedRow, org_key: tuple) -> tuple:
    return ("pt", org_key, round(row.loc["lat"], 6), round(row.loc["lon"], 6), header_key(row.loc.get("address", "")))


def _merge_aliases(rows: list[ParsedRow], keys: dict[int, tuple], aliases_of) -> None:
    """Rows whose key is only a name or a point join the group of a matched row with the same name or point (when
    exactly one such group exists)."""
    # An alias re-keys a row keyed by a name or a point, or by an external id that a matched row also has: with
    # every row keyed by an external id of the file alone (no match, no name, no point), none applies.
    if all(keys[row.number][0] == "x" for row in rows):
        return
    alias: dict[tuple, set] = {}
    for row in rows:
        key = keys[row.number]
        if key[0] in ("id", "x"):
            for a in aliases_of(row):
                if a != key:
                    alias.setdefault(a, set()).add(key)
    for row in rows:
        key = keys[row.number]
        if key in alias and len(alias[key]) == 1:
            keys[row.number] = next(iter(alias[key]))
