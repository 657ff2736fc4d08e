"""Request and response schemas of API v1; the OpenAPI document is generated from them."""
from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, Raw, String
from apiflask.validators import Length, Range
from marshmallow import EXCLUDE, INCLUDE, ValidationError, pre_load, validates_schema

from ..config import PROJECT_ROOT
from ..gazetteer.load import read_index
from ..limits import MAX_AGE_MONTHS, MAX_ID, MAX_NOTE, MAX_OFFSET, MAX_PAGE_SIZE, MAX_VERSION, STALE_AFTER_DAYS
from ..registry.vocabulary import CONDITION_CODES, COST_CODES

# What the server checks beyond a field's type is declared too, so that a request valid by the document is taken:
# a region code is one of data/regions/index.csv (what `resourcemap load-regions` loads; /api/v1/regions lists the
# loaded ones); a version is one the organization's row can still move on from (registry/edit.py).
REGION_CODES = [row["code"] for row in read_index(PROJECT_ROOT / "data" / "regions")]


def _region(description: str = "ISO 3166-2 code of a region (see /api/v1/regions), e.g. RU-SMO", **kwargs) -> String:
    return String(validate=Length(2, 8), metadata={
        "description": description, "enum": REGION_CODES, "pattern": r"^[A-Z]{2}-[A-Z0-9]{2,3}$"}, **kwargs)


def _version(description: str) -> Integer:
    return Integer(required=True, validate=Range(1, MAX_VERSION), metadata={"description": description})


class _Query(Schema):
    class Meta:
        unknown = EXCLUDE

    @pre_load
    def _no_nul(self, data, **kwargs):
        """A NUL character is never part of a name or a code (and PostgreSQL text cannot hold one)."""
        for name in self.fields:
            value = data.get(name)
            if isinstance(value, str) and "\x00" in value:
                raise ValidationError("Must not contain a NUL character.", name)
        return data


class SettlementsQuery(_Query):
    q = String(required=True, validate=Length(1, 100), metadata={"description": "Name as typed: «г. Демидов», «Электросталь»"})
    region = _region()
    prefer_region = _region(description=(
        "The family's region, when known: its places come first among names that match equally well (an exact "
        "name still before a prefix, a prefix before a look-alike); unlike region, the others are not left out"))
    limit = Integer(load_default=10, validate=Range(1, 50))


class NearestArgs(_Query):
    """The query of /api/v1/nearest as the document declares it; question.parse_nearest reads its meaning."""

    # Where the family is: lat and lon together, settlement, or q (a typed place); exactly one (400 otherwise).
    lat = Float(validate=Range(-90, 90), metadata={
        "description": "Latitude of the family (WGS84). Required with lon unless settlement is given; "
                       "not together with settlement"})
    lon = Float(validate=Range(-180, 180), metadata={
        "description": "Longitude of the family (WGS84). Required with lat unless settlement is given; "
                       "not together with settlement"})
    settlement = Integer(validate=Range(1, MAX_ID), metadata={
        "description": "Settlement id (/api/v1/settlements) instead of lat and lon: required unless lat and lon "
                       "are given, not together with them"})
    q = String(validate=Length(1, 100), metadata={
        "description": "A place as typed («Электросталь», «Лукино Московская», «с. Родники, Раменский р-н») instead "
                       "of settlement or lat and lon: kind words are ignored, a region or district named in it "
                       "narrows. Taken only when exactly one settlement has this name there; otherwise 404 "
                       "not_found with the closest names, or 409 ambiguous with the namesakes (biggest first), as "
                       "`candidates` in the error: ask again with settlement=<id> of the one meant"})
    service = String(required=True, validate=Length(1, 400),
                     metadata={"description": "Kinds of help, comma-separated codes: early_help,rehabilitation"})
    age_months = Integer(validate=Range(0, MAX_AGE_MONTHS), metadata={"description": "The child's age in months"})
    condition = List(String(metadata={"enum": list(CONDITION_CODES)}), metadata={
        "description": "The child's condition, repeatable or comma-separated (condition=hearing&condition=motor): "
                       "only services that state they work with every condition given. Codes: "
                       + ", ".join(CONDITION_CODES)})
    cost = List(String(metadata={"enum": list(COST_CODES)}), metadata={
        "description": "What the family can pay, repeatable or comma-separated (cost=free,partly_paid): only "
                       "services whose stated cost is one of these. Codes: " + ", ".join(COST_CODES)})
    open_now = Boolean(load_default=False)
    limit = Integer(load_default=10, validate=Range(1, 100))
    within_km = Float(validate=Range(0, 20000, min_inclusive=False))
    abroad = Boolean(load_default=False, metadata={
        "description": "Also rank services in other countries than the family's. Without it they are listed only "
                       "when the family's country has no such help at all (then `abroad` is true in the answer)"})

    @validates_schema
    def _origin(self, data, **kwargs):
        named = [name for name in ("settlement", "q") if name in data]
        if len(named) > 1 or (named and ("lat" in data or "lon" in data)):
            raise ValidationError("Give one of: lat and lon, settlement, q.", named[-1])
        if not named:
            if "lat" not in data:
                raise ValidationError("Give lat and lon, settlement, or q.", "lat")
            if "lon" not in data:
                raise ValidationError("Give lat and lon, settlement, or q.", "lon")


class OrganizationsQuery(_Query):
    region = _region()
    service = String(validate=Length(1, 400))
    bbox = String(validate=Length(7, 200), metadata={"description": "minlon,minlat,maxlon,maxlat"})
    limit = Integer(load_default=100, validate=Range(1, MAX_PAGE_SIZE))
    offset = Integer(load_default=0, validate=Range(0, MAX_OFFSET))


class ErrorBody(Schema):
    code = String()
    message = String()
    field = String(allow_none=True)


class ErrorOut(Schema):
    error = Nested(ErrorBody)


class HealthOut(Schema):
    status = String()
    database = String()


class ServiceTypeOut(Schema):
    code = String()
    name_ru = String()
    name_en = String()
    description_ru = String()


class ServiceTypesOut(Schema):
    results = List(Nested(ServiceTypeOut))


class RegionRef(Schema):
    code = String()
    name = String()


class RegionOut(Schema):
    code = String()
    name_ru = String()
    name_en = String()
    country = String()
    timezone = String()
    settlement_count = Integer()


class RegionsOut(Schema):
    results = List(Nested(RegionOut))


class SettlementOut(Schema):
    id = Integer()
    name = String()
    name_kk = String(allow_none=True)
    kind = String()
    type = String(allow_none=True, metadata={
        "description": "The 2021 census' type of settlement as written (д, с, п, х, ст-ца, пгт, г …); null for "
                       "places the census does not list (Kazakhstan)"})
    type_name = String(metadata={"description": "The type spelt out in Russian: деревня, село, станица, город …"})
    district = String(allow_none=True)
    region = Nested(RegionRef)
    label = String()
    lat = Float()
    lon = Float()
    population = Integer(allow_none=True)


class SettlementMatchOut(SettlementOut):
    match = String(metadata={"enum": ["exact", "prefix", "fuzzy"], "description": (
        "How the settlement's name (or one of its other names) matches the typed one: the same, beginning with it, "
        "or only similar")})


class SettlementsOut(Schema):
    results = List(Nested(SettlementMatchOut))


class PlaceErrorBody(ErrorBody):
    name = String(metadata={"description": "The place name read from q (kind words and region or district off)"})
    area = List(String(), metadata={"description": "The words of q read as its region or district"})
    candidates = List(Nested(SettlementMatchOut), metadata={
        "description": "not_found: the closest names; ambiguous: the settlements of this name, biggest first"})


class PlaceErrorOut(Schema):
    error = Nested(PlaceErrorBody)


class PhoneOut(Schema):
    number = String()
    display = String()
    kind = String()
    note = String()


class PlaceRef(Schema):
    id = Integer()
    name = String()
    name_kk = String(allow_none=True, metadata={"description": "The Kazakh name, where the gazetteer has one"})


class LocationOut(Schema):
    id = Integer()
    name = String(allow_none=True)
    address = String(allow_none=True)
    settlement = Nested(PlaceRef, allow_none=True)
    lat = Float()
    lon = Float()
    confidential = Boolean()
    approximate = Boolean()
    region = String(allow_none=True)


class ServiceBrief(Schema):
    id = Integer()
    type = String()
    name = String(allow_none=True)
    delivery = String()
    age_min_months = Integer(allow_none=True)
    age_max_months = Integer(allow_none=True)
    open_now = Boolean(allow_none=True)
    capacity_free = Integer(allow_none=True)
    capacity_updated_at = String(allow_none=True)
    conditions = List(String(), metadata={"description": "The child's conditions the service states it works with"})
    cost = String(allow_none=True, metadata={"description": "free, partly_paid or paid; null: not stated"})
    cost_basis = List(String(), metadata={"description": "state_programme, referral"})


class OrganizationRef(Schema):
    id = Integer()
    name = String()
    verified_at = String(allow_none=True)
    synthetic = Boolean()


class NearestResult(Schema):
    distance_km = Float()
    reaches_you = Boolean()
    beyond_radius = Boolean()
    far = Boolean(metadata={"description": "Farther than `far_km` of its kind, and does not come to the family"})
    country = String(allow_none=True, metadata={"description": "The service's country: RU, KZ"})
    service = Nested(ServiceBrief)
    organization = Nested(OrganizationRef)
    location = Nested(LocationOut)
    phones = List(Nested(PhoneOut))


class OriginOut(Schema):
    lat = Float()
    lon = Float()
    region = String(allow_none=True)
    settlement = Nested(SettlementOut, allow_none=True)
    alternatives = List(Nested(SettlementMatchOut), metadata={
        "description": "With q: other places the typed name may have meant (not the right place?)"})


class NearestOut(Schema):
    origin = Nested(OriginOut)
    results = List(Nested(NearestResult))
    online = List(Nested(NearestResult))
    nothing_near = Boolean(metadata={"description": "No result is near: say so first, then offer the far ones, "
                                                    "the online services and the helplines"})
    far_km = Dict(keys=String(), values=Float(), metadata={
        "description": "Per asked kind, the distance beyond which a service is far"})
    abroad = Boolean(metadata={"description": "The results are in other countries: the family's has none"})
    helplines = List(Nested(NearestResult), metadata={
        "description": "When nothing is near: helplines (kind `hotline`) serving the family's region or country"})


class FeatureCollectionOut(Schema):
    type = String()
    features = List(Dict())
    links = List(Dict())
    numberReturned = Integer()


class OrganizationOut(Schema):
    id = Integer()
    name = String()
    legal_form = String()
    description = String()
    website = String()
    email = String()
    verified_at = String(allow_none=True)
    recheck = Boolean(metadata={"description": "A family's problem report was confirmed: the record is being checked "
                                               "again"})
    region = String()
    synthetic = Boolean()
    locations = List(Nested(LocationOut))
    services = List(Dict())
    phones = List(Nested(PhoneOut))


class RegistryQuery(_Query):
    region = _region()
    limit = Integer(load_default=100, validate=Range(1, MAX_PAGE_SIZE))
    offset = Integer(load_default=0, validate=Range(0, MAX_OFFSET))


class RegistryOrganizationOut(OrganizationOut):
    status = String(metadata={"description": "published, draft or inactive"})


class RegistryEntry(RegistryOrganizationOut):
    """An item of the staff list; its own class, so the spec does not register RegistryOrganizationOut twice."""


class RegistryOrganizationsOut(Schema):
    results = List(Nested(RegistryEntry))


# OpenAPI links: where an answer's ids lead (clients and schemathesis' stateful phase follow them).
def _link(path: str, parameter: str, expression: str, description: str, **constants) -> dict:
    ref = "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/get"
    return {"operationRef": ref, "parameters": {parameter: expression, **constants}, "description": description}


SETTLEMENT_LINKS = {"NearestToSettlement": _link(
    "/api/v1/nearest", "settlement", "$response.body#/results/0/id", "Early help nearest the first settlement",
    service="early_help")}
ORGANIZATIONS_LINKS = {"Organization": _link(
    "/api/v1/organizations/{org_id}", "org_id", "$response.body#/features/0/id", "The first organization")}
REGISTRY_LINKS = {"RegistryOrganization": _link(
    "/api/v1/registry/organizations/{org_id}", "org_id", "$response.body#/results/0/id",
    "The first organization as staff see it")}


# --- the curators' editing API (api/staff.py, registry/edit.py) ---------------------------------------------------

class OrganizationDocumentIn(Schema):
    """An organization as one document (see registry/edit.py); unknown keys pass through to the checks there."""

    class Meta:
        unknown = INCLUDE

    version = Integer(metadata={"description": "Ignored when creating; see SavedDocumentIn"})
    name = String()
    status = String(metadata={"description": "draft | published | inactive"})
    locations = List(Dict())
    services = List(Dict())
    phones = List(Dict())
    region_exception_reason = String(validate=Length(0, MAX_NOTE), metadata={
        "description": "Why a location lies outside the curator's regions (written to the history)"})
    change_note = String(validate=Length(0, MAX_NOTE))


class SavedDocumentIn(OrganizationDocumentIn):
    """The document saved over an organization: with the version it was read at."""

    version = _version("The version the document was read at")


class StatusIn(Schema):
    status = String(required=True, metadata={"description": "draft | published | inactive"})
    version = _version("The organization's version as last read")


class VersionIn(Schema):
    version = _version("The organization's version as last read")


def require_bodies(spec: dict) -> dict:
    """The OpenAPI document's request bodies whose schema has required fields are required themselves (APIFlask
    leaves requestBody.required out: a request without a body would be valid by the document, and get a 400)."""
    schemas = spec.get("components", {}).get("schemas", {})
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody") if isinstance(operation, dict) else None
            if body and any(schemas.get(media["schema"].get("$ref", "").rsplit("/", 1)[-1], {}).get("required")
                            for media in body.get("content", {}).values()):
                body["required"] = True
    return spec


class HistoryQuery(_Query):
    limit = Integer(load_default=200, validate=Range(1, 1000))
    before = Integer(validate=Range(1, 2**62), metadata={"description": "Only changes older than this change id"})


class StaleQuery(_Query):
    region = _region()
    days = Integer(load_default=STALE_AFTER_DAYS, validate=Range(1, 3650))


class ProblemOut(Schema):
    field = String()
    code = String()
    message = String()


class DocumentOut(Schema):
    id = Integer()
    version = Integer()
    document = Dict()


class VersionOut(Schema):
    id = Integer()
    version = Integer()


class VerifiedOut(Schema):
    id = Integer()
    verified_at = String()


class ChangeOut(Schema):
    id = Integer()
    at = String()
    account_id = Integer(allow_none=True)
    actor_email = String()
    entity = String()
    entity_id = Integer()
    field = String(allow_none=True)
    old = Raw(allow_none=True)
    new = Raw(allow_none=True)
    change_set = Integer()
    note = String()
    op = String()


class HistoryOut(Schema):
    results = List(Nested(ChangeOut))


class StaleOrganizationOut(Schema):
    id = Integer()
    name = String()
    region_code = String()
    status = String()
    version = Integer()
    verified_at = String(allow_none=True)
    days_since_check = Integer(allow_none=True)
    recheck_since = String(allow_none=True, metadata={
        "description": "A family's problem report was confirmed then: check the record again"})


class StaleOut(Schema):
    results = List(Nested(StaleOrganizationOut))
