"""GET /api/v1/coverage: where help of a kind is missing, counted in settlements, people and children (issue 21).
The public gets aggregates per district, region and country, computed with confidential places at their public point
and with distances rounded (resourcemap/coverage); staff get them from the exact points, to 0.1 km, and the
worst-served settlements of the regions they study."""
from __future__ import annotations

from apiflask import Schema
from apiflask.fields import Boolean, Dict, Float, Integer, List, Nested, Raw, String
from apiflask.validators import Length, Range
from flask import jsonify
from marshmallow import ValidationError, missing, pre_load

from ..auth.policy import current_viewer, may_choose_coverage_thresholds
from ..coverage import DEFAULT_THRESHOLDS_KM, UNSERVED_KM
from ..coverage.answer import MAX_THRESHOLDS, for_viewer
from ..db import get_read_session
from ..errors import ApiError
from ..search import reference
from . import bp
from .routes import _region_param
from .schemas import _Query, _region

MAX_THRESHOLD_KM = 2000.0
_DISTANCE = ("A distance in km per child; \"none\" when that share of the children has no such help in the "
             "country; null when the group counts no children. Public answers: rounded to 5 km")


class CoverageQuery(_Query):
    service = String(required=True, validate=Length(1, 64), metadata={
        "description": "The kind of help (a code of /api/v1/service-types), e.g. early_help"})
    region = _region(description="Only this region and its districts (ISO 3166-2 code, see /api/v1/regions); "
                                 "else every region and district")
    threshold_km = List(Float(validate=Range(1, MAX_THRESHOLD_KM)), metadata={
        "description": "A distance in km to count beyond (repeatable, at most 5; default "
                       + ", ".join(f"{t:g}" for t in DEFAULT_THRESHOLDS_KM) + ")"})

    @pre_load
    def _thresholds(self, data, **kwargs):
        """A threshold that is not a number of km in range is an error of `threshold_km` itself (not of an item)."""
        values = data.get("threshold_km")
        if values is missing or values is None:
            return data
        for value in values if isinstance(values, list) else [values]:
            try:
                km = float(value)
            except (TypeError, ValueError):
                km = None
            if km is None or not 1 <= km <= MAX_THRESHOLD_KM:
                raise ValidationError(f"A number of km from 1 to {MAX_THRESHOLD_KM:g}.", "threshold_km")
        return data


class BeyondOut(Schema):
    settlements = Integer()
    people = Integer()
    children = Integer()


class CoverageGroupOut(Schema):
    country = String()
    region_code = String(metadata={"description": "Regions and districts"})
    region_name = String()
    district_id = Integer(allow_none=True, metadata={"description": "Districts; null: outside any known district"})
    district_name = String()
    settlements = Integer()
    people = Integer()
    children = Integer()
    children_unknown = Integer(metadata={"description": "Settlements without a children count (counted as 0)"})
    without_any = Integer(metadata={"description": "Settlements with no such help in their country"})
    median_km = Raw(metadata={"description": "Median distance per child. " + _DISTANCE})
    p90_km = Raw(metadata={"description": "90th-percentile distance per child. " + _DISTANCE})
    beyond = Dict(keys=String(), values=Nested(BeyondOut), metadata={
        "description": "Per threshold (km, as given): the settlements, people and children farther from any such "
                       "help, or with none in their country"})
    online_services = Integer(metadata={
        "description": "The country and regions: published online services of the kind serving them, counted apart "
                       "(online help never counts as coverage)"})


class UnservedOut(Schema):
    settlement_id = Integer()
    name = String()
    region_code = String()
    district_id = Integer(allow_none=True)
    district = String(allow_none=True)
    population = Integer(allow_none=True)
    children = Integer(allow_none=True)
    distance_km = Raw(metadata={"description": "To the nearest such help, 0.1 km; \"none\": none in the country"})
    confidential = Boolean(metadata={"description": "The nearest is a confidential place"})


class CoverageStateOut(Schema):
    type_code = String()
    refreshed_at = String(allow_none=True, metadata={"description": "When computed in full (ISO 8601)"})
    updated_at = String(allow_none=True, metadata={"description": "When last brought up to date after edits"})
    pending = Integer(metadata={"description": "Edits noted and not applied yet"})


class CoverageOut(Schema):
    service = String()
    region = String(allow_none=True)
    thresholds_km = List(Float())
    public = Boolean(metadata={"description": "Aggregates only, confidential places counted at their public point, "
                                              "distances rounded (the answer to the public)"})
    state = Nested(CoverageStateOut)
    country = List(Nested(CoverageGroupOut))
    regions = List(Nested(CoverageGroupOut))
    districts = List(Nested(CoverageGroupOut))
    unserved = List(Nested(UnservedOut), metadata={
        "description": f"Staff only: the largest settlements with nothing within {UNSERVED_KM:g} km, in the "
                       "regions the account studies; empty for the public"})


def service_param(raw: str) -> str:
    """A kind of help's code; an ApiError naming `service` for an unknown one."""
    code = raw.strip()
    if code not in {t["code"] for t in reference.service_types(get_read_session())}:
        raise ApiError(f"Unknown kind of help: {code[:50]}. See /api/v1/service-types.", "service",
                       code="unknown_service")
    return code


def thresholds_param(values: list[float] | None) -> list[float]:
    """The thresholds asked (the defaults when none); an ApiError naming `threshold_km` for too many."""
    if not values:
        return list(DEFAULT_THRESHOLDS_KM)
    if len(values) > MAX_THRESHOLDS:
        raise ApiError(f"threshold_km: at most {MAX_THRESHOLDS} distances.", "threshold_km")
    return sorted(set(values))


@bp.get("/coverage")
@bp.input(CoverageQuery, location="query", arg_name="query")
@bp.output(CoverageOut)
@bp.doc(responses=[400, 401])
def coverage(query):
    """Where help of a kind is missing: per district, region and country, the settlements, people and children
    beyond each threshold and the median and 90th-percentile distance per child."""
    service = service_param(query["service"])
    region = _region_param(query.get("region"))
    thresholds = thresholds_param(query.get("threshold_km"))
    if not set(thresholds) <= set(DEFAULT_THRESHOLDS_KM) and not may_choose_coverage_thresholds(current_viewer()):
        raise ApiError("threshold_km: the public may ask 30, 60 or 100 km (staff any distance).", "threshold_km")
    try:
        body = for_viewer(get_read_session().get_bind(), current_viewer(), service, region,
                          thresholds)
    except ValueError as error:
        raise ApiError(str(error), "service", code="unknown_service") from None
    return jsonify(body)
