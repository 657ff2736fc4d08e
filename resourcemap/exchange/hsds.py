"""Open Referral HSDS 3.0: the registry as JSON (organizations with their locations, addresses and phones; services
with their schedules, service areas, places and taxonomy attributes) and as a tabular datapackage (a zip of
datapackage.json and one CSV per HSDS table, the paths the HSDS 3.0 schemas name).

Identifiers are UUIDs derived from the registry's ids (uuid5), so the same entry keeps its id from export to export.
Ages are in years (the registry keeps months). HSDS 3.0 has no capacity: free places are left out. The kinds of
help, the delivery (on site, outreach, online), the child's conditions and the cost with its grounds
(registry/vocabulary.py) are taxonomies, linked to services by attributes; the cost is also the service's
`cost_option` (amount 0 in the country's currency when free) and its `fees_description`.

Confidential places are exported as registry_rows gives them (exporting.py): for viewers who may not see them
the point is approximate, there is no address, and an outreach radius comes without its circle."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile
import zoneinfo

from ..registry.hours import hhmm
from ..registry.vocabulary import CONDITIONS, COST_BASES, COSTS, label
from .exporting import neutralize
from .lookup import export_key

HSDS_VERSION = "3.0"
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/openreferral/specification#resourcemap")
KIND_TAXONOMY = "resourcemap-help-kind"
DELIVERY_TAXONOMY = "resourcemap-delivery"
CONDITION_TAXONOMY = "resourcemap-child-condition"
COST_TAXONOMY = "resourcemap-cost"
CURRENCIES = {"RU": "RUB", "KZ": "KZT"}
DELIVERY_NAMES = {"on_site": ("На месте", "On site"), "outreach": ("Выезд к семье", "Outreach"),
                  "online": ("Онлайн", "Online")}
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PHONE_KIND_NAMES = {"main": "основной", "intake": "для записи", "hotline": "горячая линия", "fax": "факс"}


def hsds_id(kind: str, key) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}/{key}"))


def _utc_offset(timezone: str) -> float:
    try:
        offset = dt.datetime.now(zoneinfo.ZoneInfo(timezone)).utcoffset()
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return 0
    return offset.total_seconds() / 3600 if offset else 0


def _website(url: str) -> str | None:
    url = url.strip()
    if not url:
        return None
    return url if "://" in url else "https://" + url


def _years(months: int | None) -> float | None:
    return None if months is None else round(months / 12, 2)


def _clean(obj: dict) -> dict:
    """HSDS fields are optional unless required: leave out the empty ones."""
    return {k: v for k, v in obj.items() if v is not None and v != [] and v != ""}


def _phone(phone, *, organization_id: str | None = None, location_id: str | None = None) -> dict:
    description = PHONE_KIND_NAMES.get(phone.kind, phone.kind)
    if phone.note:
        description += f"; {phone.note}"
    owner = organization_id or location_id  # an intake phone can be shown with several confidential places
    return _clean({"id": hsds_id("phone", f"{phone.id}/{owner}"), "organization_id": organization_id,
                   "location_id": location_id, "number": phone.number,
                   "extension": int(phone.extension) if phone.extension.isdigit() else None,
                   "type": "fax" if phone.kind == "fax" else "voice", "description": description})


def _taxonomies(terms) -> tuple[list[dict], list[dict]]:
    taxonomies = [
        {"id": hsds_id("taxonomy", KIND_TAXONOMY), "name": "Виды помощи семьям с детьми",
         "description": "Виды помощи реестра resourcemap (Kinds of family support in the resourcemap registry)."},
        {"id": hsds_id("taxonomy", DELIVERY_TAXONOMY), "name": "Способ оказания помощи",
         "description": "На месте, выезд к семье или онлайн (How the help is delivered)."},
    ]
    items = [{"id": hsds_id("taxonomy_term", f"{KIND_TAXONOMY}/{code}"), "code": code, "name": name_ru,
              "description": name_en, "taxonomy_id": taxonomies[0]["id"], "language": "ru"}
             for code, name_ru, name_en in terms]
    items += [{"id": hsds_id("taxonomy_term", f"{DELIVERY_TAXONOMY}/{code}"), "code": code, "name": ru,
               "description": en, "taxonomy_id": taxonomies[1]["id"], "language": "ru"}
              for code, (ru, en) in DELIVERY_NAMES.items()]
    taxonomies += [
        {"id": hsds_id("taxonomy", CONDITION_TAXONOMY), "name": "Состояние ребёнка",
         "description": "С какими детьми работает услуга (The child's conditions a service works with)."},
        {"id": hsds_id("taxonomy", COST_TAXONOMY), "name": "Стоимость для семьи",
         "description": "Бесплатно, частично платно, платно; по государственной программе, по направлению "
                        "(Cost to the family and its grounds)."},
    ]
    for taxonomy, terms_of in ((CONDITION_TAXONOMY, CONDITIONS), (COST_TAXONOMY, COSTS + COST_BASES)):
        items += [{"id": needs_term_id(t.code), "code": t.code, "name": t.ru, "description": t.en,
                   "taxonomy_id": hsds_id("taxonomy", taxonomy), "language": "ru"} for t in terms_of]
    return taxonomies, items


def needs_term_id(code: str) -> str:
    """The taxonomy term of a condition, cost or cost basis code."""
    taxonomy = CONDITION_TAXONOMY if code in {t.code for t in CONDITIONS} else COST_TAXONOMY
    return hsds_id("taxonomy_term", f"{taxonomy}/{code}")


def _needs(row: dict, service_id: str) -> tuple[list[dict], list[dict], str | None]:
    """The service's conditions and cost as HSDS attributes, its cost_option and its fees_description."""
    attributes = [{"id": hsds_id("attribute", f"{row['service_id']}/{code}"), "link_id": service_id,
                   "taxonomy_term_id": needs_term_id(code), "link_type": link_type, "link_entity": "service"}
                  for link_type, codes in (("eligibility", row["conditions"] or []),
                                           ("cost", [row["cost"]] if row["cost"] else []),
                                           ("cost_basis", row["cost_basis"] or []))
                  for code in codes]
    if not row["cost"]:
        return attributes, [], None
    fees = "; ".join(label(c) for c in [row["cost"], *(row["cost_basis"] or [])])
    option = _clean({"id": hsds_id("cost_option", row["service_id"]), "service_id": service_id,
                     "option": label(row["cost"]),
                     "currency": CURRENCIES.get(row["location_region"][:2]),
                     "amount": 0 if row["cost"] == "free" else None,
                     "amount_description": "; ".join(label(c) for c in row["cost_basis"] or []) or None})
    return attributes, [option], fees


def build(rows: list[dict], terms, regions: dict[str, str]) -> dict:
    """The HSDS objects of the export: {"organizations", "services", "taxonomies", "taxonomy_terms"} (nested as
    the HSDS 3.0 JSON schemas describe them)."""
    taxonomies, taxonomy_terms = _taxonomies(terms)
    term_id = {t["code"] if t["taxonomy_id"] == taxonomies[0]["id"] else ("delivery", t["code"]): t["id"]
               for t in taxonomy_terms}
    organizations: dict[int, dict] = {}
    locations: dict[int, dict] = {}
    services = []
    for row in rows:
        org_id = hsds_id("organization", row["organization_id"])
        org = organizations.get(row["organization_id"])
        if org is None:
            org = organizations[row["organization_id"]] = _clean({
                "id": org_id, "name": row["organization"], "description": row["organization_description"] or "",
                "email": row["email"] or None, "website": _website(row["website"]),
                "legal_status": row["legal_form"] or None,
                "phones": [_phone(p, organization_id=org_id) for p in row["organization_phones"]],
            })
            org["description"] = row["organization_description"] or ""
            org["locations"] = []
        location_id = hsds_id("location", row["location_id"])
        if row["location_id"] not in locations:
            location = _clean({
                "id": location_id, "location_type": "physical", "organization_id": org_id,
                "name": row["location_name"] or None, "latitude": round(row["lat"], 7),
                "longitude": round(row["lon"], 7),
                "external_identifier": export_key("location", row["location_id"], row["location_external_id"]),
                "external_identifier_type": "resourcemap",
                "description": "Адрес не раскрывается (конфиденциальное место), точка приблизительная."
                if row["hidden"] else None,
            })
            if row["address"]:
                location["addresss"] = [{
                    "id": hsds_id("address", row["location_id"]), "location_id": location_id,
                    "address_1": row["address"], "city": row["settlement"] or "",
                    "state_province": regions.get(row["location_region"], ""), "postal_code": "",
                    "country": row["location_region"][:2], "address_type": "physical"}]
            if row["accessibility"]:
                location["accessibilitys"] = [{"id": hsds_id("accessibility", row["location_id"]),
                                               "location_id": location_id, "description": row["accessibility"]}]
            phones = [_phone(p, location_id=location_id) for p in row["location_phones"]]
            if phones:
                location["phones"] = phones
            locations[row["location_id"]] = location
            org["locations"].append(location)
        service_id = hsds_id("service", row["service_id"])
        services.append(_service(row, service_id, org_id, location_id, term_id, regions))
    for org in organizations.values():
        if not org["locations"]:
            del org["locations"]
    return {"organizations": list(organizations.values()), "services": services, "taxonomies": taxonomies,
            "taxonomy_terms": taxonomy_terms}


def _service(row: dict, service_id: str, org_id: str, location_id: str, term_id: dict, regions: dict) -> dict:
    schedules = []
    by_hours: dict[tuple[int, int], list[int]] = {}
    for weekday, opens, closes in row["hours"]:
        by_hours.setdefault((opens, closes), []).append(weekday)
    offset = _utc_offset(row["timezone"])
    for (opens, closes), days in sorted(by_hours.items()):
        schedules.append({"id": hsds_id("schedule", f"{row['service_id']}/{opens}/{closes}"),
                          "service_id": service_id, "freq": "WEEKLY", "interval": 1,
                          "byday": ",".join(DAYS[d - 1] for d in days), "opens_at": hhmm(opens),
                          "closes_at": hhmm(closes), "timezone": offset})
    areas = []
    if row["delivery"] == "outreach" and row["radius_km"]:
        areas.append(_clean({"id": hsds_id("service_area", f"{row['service_id']}/radius"), "service_id": service_id,
                             "name": f"Выезд к семье в радиусе {row['radius_km']:g} км",
                             "extent": None if row["hidden"] else _circle(row), "extent_type": None
                             if row["hidden"] else "geojson"}))
    if row["delivery"] == "outreach" and row["drawn_area"]:
        areas.append({"id": hsds_id("service_area", f"{row['service_id']}/drawn"), "service_id": service_id,
                      "name": "Район выезда к семье", "extent": row["drawn_area"], "extent_type": "geojson"})
    if row["delivery"] == "online":
        for code in row["area_regions"]:
            areas.append({"id": hsds_id("service_area", f"{row['service_id']}/{code}"), "service_id": service_id,
                          "name": regions.get(code, code), "uri": f"urn:iso:std:iso:3166:-2:{code}"})
    attributes = [
        {"id": hsds_id("attribute", f"{row['service_id']}/kind"), "link_id": service_id,
         "taxonomy_term_id": term_id[row["type_code"]], "link_type": "service_type", "link_entity": "service"},
        {"id": hsds_id("attribute", f"{row['service_id']}/delivery"), "link_id": service_id,
         "taxonomy_term_id": term_id[("delivery", row["delivery"])], "link_type": "delivery_method",
         "link_entity": "service"},
    ]
    needs_attributes, cost_options, fees = _needs(row, service_id)
    attributes += needs_attributes
    active = row["service_active"] and row["location_active"] and row["status"] == "published"
    return _clean({
        "id": service_id, "organization_id": org_id, "name": row["service_name"] or row["type_name"],
        "description": row["description"] or None, "status": "active" if active else "inactive",
        "eligibility_description": row["eligibility"] or None,
        "minimum_age": _years(row["age_min_months"]), "maximum_age": _years(row["age_max_months"]),
        "assured_date": row["verified_at"].isoformat() if row["verified_at"] else None,
        "fees_description": fees, "cost_options": cost_options,
        "schedules": schedules, "service_areas": areas, "attributes": attributes,
        "service_at_locations": [{"id": hsds_id("service_at_location", f"{row['service_id']}/{row['location_id']}"),
                                  "service_id": service_id, "location_id": location_id}],
    })


def _circle(row: dict) -> str:
    """The outreach radius as a GeoJSON polygon (64 points on the sphere) around the location."""
    import math

    lat, lon, km = row["lat"], row["lon"], row["radius_km"]
    ring = []
    for i in range(65):
        bearing = 2 * math.pi * (i % 64) / 64
        d = km / 6371.0088
        la1, lo1 = math.radians(lat), math.radians(lon)
        la2 = math.asin(math.sin(la1) * math.cos(d) + math.cos(la1) * math.sin(d) * math.cos(bearing))
        lo2 = lo1 + math.atan2(math.sin(bearing) * math.sin(d) * math.cos(la1),
                               math.cos(d) - math.sin(la1) * math.sin(la2))
        ring.append([round(math.degrees(lo2), 6), round(math.degrees(la2), 6)])
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def _rows_with_names(rows: list[dict], terms) -> list[dict]:
    names = {code: name_ru for code, name_ru, _ in terms}
    return [{**r, "type_name": names.get(r["type_code"], r["type_code"])} for r in rows]


def to_json(rows: list[dict], terms, regions: dict[str, str]) -> bytes:
    doc = {"hsds_version": HSDS_VERSION, "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
           **build(_rows_with_names(rows, terms), terms, regions)}
    return json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")


# --- the tabular datapackage ------------------------------------------------------------------------------------
# table -> (CSV path as the HSDS schema names it, columns). The 3.0 schemas call the address table's file
# "addresss.csv", a slip of their generated plurals (openreferral/specification#559); the 3.2 schema names it
# "addresses.csv", and so does this package (datapackage.json gives every path to readers).
TABLES = {
    "organization": ("organizations.csv", ["id", "name", "description", "email", "website", "legal_status"]),
    "location": ("locations.csv", ["id", "location_type", "organization_id", "name", "description", "latitude",
                                   "longitude", "external_identifier", "external_identifier_type"]),
    "address": ("addresses.csv", ["id", "location_id", "address_1", "city", "state_province", "postal_code",
                                  "country", "address_type"]),
    "accessibility": ("accessibility.csv", ["id", "location_id", "description"]),
    "phone": ("phones.csv", ["id", "organization_id", "location_id", "number", "extension", "type", "description"]),
    "service": ("services.csv", ["id", "organization_id", "name", "description", "status", "eligibility_description",
                                 "fees_description", "minimum_age", "maximum_age", "assured_date"]),
    "cost_option": ("cost_options.csv", ["id", "service_id", "option", "currency", "amount", "amount_description"]),
    "service_at_location": ("service_at_location.csv", ["id", "service_id", "location_id"]),
    "schedule": ("schedules.csv", ["id", "service_id", "freq", "interval", "byday", "opens_at", "closes_at",
                                   "timezone"]),
    "service_area": ("service_areas.csv", ["id", "service_id", "name", "extent", "extent_type", "uri"]),
    "taxonomy": ("taxonomies.csv", ["id", "name", "description"]),
    "taxonomy_term": ("taxonomy_terms.csv", ["id", "code", "name", "description", "taxonomy_id", "language"]),
    "attribute": ("attributes.csv", ["id", "link_id", "taxonomy_term_id", "link_type", "link_entity"]),
}
NUMBER_FIELDS = {"latitude", "longitude", "extension", "minimum_age", "maximum_age", "interval", "timezone",
                 "amount"}
DATE_FIELDS = {"assured_date"}
FOREIGN_KEYS = {
    "location": [("organization_id", "organization")], "address": [("location_id", "location")],
    "accessibility": [("location_id", "location")],
    "phone": [("organization_id", "organization"), ("location_id", "location")],
    "service": [("organization_id", "organization")],
    "service_at_location": [("service_id", "service"), ("location_id", "location")],
    "cost_option": [("service_id", "service")],
    "schedule": [("service_id", "service")], "service_area": [("service_id", "service")],
    "taxonomy_term": [("taxonomy_id", "taxonomy")],
    "attribute": [("link_id", "service"), ("taxonomy_term_id", "taxonomy_term")],
}


def tables(objects: dict) -> dict[str, list[dict]]:
    """The nested HSDS objects flattened into HSDS tables."""
    out: dict[str, list[dict]] = {name: [] for name in TABLES}
    for org in objects["organizations"]:
        out["organization"].append(org)
        for phone in org.get("phones", []):
            out["phone"].append(phone)
        for location in org.get("locations", []):
            out["location"].append(location)
            out["address"] += location.get("addresss", [])
            out["accessibility"] += location.get("accessibilitys", [])
            out["phone"] += location.get("phones", [])
    for service in objects["services"]:
        out["service"].append(service)
        out["service_at_location"] += service.get("service_at_locations", [])
        out["schedule"] += service.get("schedules", [])
        out["service_area"] += service.get("service_areas", [])
        out["attribute"] += service.get("attributes", [])
        out["cost_option"] += service.get("cost_options", [])
    out["taxonomy"] = objects["taxonomies"]
    out["taxonomy_term"] = objects["taxonomy_terms"]
    return out


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return neutralize(str(value))


def datapackage_descriptor() -> dict:
    resources = []
    for name, (path, columns) in TABLES.items():
        fields = [{"name": col, "type": "number" if col in NUMBER_FIELDS else "date" if col in DATE_FIELDS
                   else "string"} for col in columns]
        resources.append({
            "name": name, "path": path, "profile": "tabular-data-resource", "format": "csv",
            "mediatype": "text/csv", "encoding": "utf-8",
            "schema": {"fields": fields, "primaryKey": "id",
                       "foreignKeys": [{"fields": col, "reference": {"resource": ref, "fields": "id"}}
                                       for col, ref in FOREIGN_KEYS.get(name, [])]},
        })
    return {"profile": "tabular-data-package", "name": "resourcemap-hsds",
            "title": "Реестр помощи семьям с детьми (Open Referral HSDS 3.0)", "version": HSDS_VERSION,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "resources": resources}


def to_datapackage(rows: list[dict], terms, regions: dict[str, str]) -> bytes:
    data = tables(build(_rows_with_names(rows, terms), terms, regions))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("datapackage.json", json.dumps(datapackage_descriptor(), ensure_ascii=False, indent=1))
        for name, (path, columns) in TABLES.items():
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n")
            writer.writerow(columns)
            for obj in data[name]:
                writer.writerow([_cell(obj.get(col)) for col in columns])
            archive.writestr(path, text.getvalue().encode("utf-8"))
    return out.getvalue()
