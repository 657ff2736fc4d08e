"""The /coverage page's pieces (issue 21): the district table joined with the request log's unmet requests, the
districts where both say help is missing, the choropleth map's script (folium, as resourcemap/maps.py makes the
public map: Leaflet from static/, the script under the page's CSP nonce), and the CSV and GeoJSON downloads."""
from __future__ import annotations

import csv
import io
import json
import re

import folium
from flask_babel import gettext
from markupsafe import escape

from ..errors import N_

from ..maps import ATTRIBUTION, LEAFLET_CSS, LEAFLET_JS, SCALE

MAP_ID = "coverage"  # folium names the map `map_coverage`: the page's <div id="map_coverage">
# Shares of a district's children beyond the chosen distance, and their colours (light to dark; colour-blind safe,
# told apart by lightness): (upper bound of the share, class, colour, the legend's words).
BANDS = [
    (0.0, "c0", "#fef0d9", N_("нет детей дальше %(km)s км")),
    (0.10, "c1", "#fdcc8a", N_("дальше %(km)s км — до 10%% детей")),
    (0.25, "c2", "#fc8d59", N_("дальше %(km)s км — от 10 до 25%% детей")),
    (0.50, "c3", "#e34a33", N_("дальше %(km)s км — от 25 до 50%% детей")),
    (1.0, "c4", "#b30000", N_("дальше %(km)s км — больше половины детей")),
]
NO_CHILDREN = ("cx", "#bdbdbd", N_("детей не учтено"))


def band(share: float | None) -> tuple[str, str]:
    """(class, colour) of a share of children beyond the distance; None: the district counts no children."""
    if share is None:
        return NO_CHILDREN[0], NO_CHILDREN[1]
    for upper, css, colour, _words in BANDS:
        if share <= upper:
            return css, colour
    return BANDS[-1][1], BANDS[-1][2]


def legend(km: float) -> list[dict]:
    """The map's legend in words, with the classes of its swatches."""
    return ([{"css": css, "words": gettext(words, km=format(km, "g"))} for _u, css, _c, words in BANDS]
            + [{"css": NO_CHILDREN[0], "words": gettext(NO_CHILDREN[2])}])


def district_rows(body: dict, km: float, unmet: list[dict]) -> list[dict]:
    """The figures' districts with the share of children beyond `km`, its band, and the request log's requests
    and unmet requests; `missing`: both the figures (children beyond `km`) and the log (unmet requests) say so."""
    log = {(row["district_id"], row["municipality"]): row for row in unmet}
    rows = []
    for group in body["districts"]:
        beyond = group["beyond"][f"{km:g}"]
        share = beyond["children"] / group["children"] if group["children"] else None
        asked = log.get((group["district_id"], group.get("municipality")), {"requests": 0, "unmet": 0})
        rows.append({**group, "far": beyond, "share": share, "band": band(share)[0], "requests": asked["requests"],
                     "unmet": asked["unmet"], "missing": beyond["children"] > 0 and asked["unmet"] > 0})
    return rows


def _label(row: dict, km: float) -> str:
    name = row["district_name"] or gettext("вне известных районов")
    return str(escape(gettext("%(name)s: дети дальше %(km)s км: %(far)s из %(children)s; обращений без помощи: "
                              "%(unmet)s", name=name, km=format(km, "g"), far=row["far"]["children"],
                              children=row["children"], unmet=row["unmet"])))


def _whole_region(name: str, rows: list[dict], km: float) -> dict:
    """The map's label and colour of a region without district outlines, drawn whole: its municipalities' rows
    (and those outside any) added up."""
    far, children = sum(r["far"]["children"] for r in rows), sum(r["children"] for r in rows)
    share = far / children if children else None
    words = gettext("%(name)s (районы не очерчены; по муниципалитетам — в таблице): дети дальше %(km)s км: "
                    "%(far)s из %(children)s", name=name, km=format(km, "g"), far=far, children=children)
    return {"label": str(escape(words)), "fill": band(share)[1]}


def features(rows: list[dict], shapes: list[dict], km: float, *, label: bool = False) -> dict:
    """The districts as a GeoJSON FeatureCollection, with their figures (and the map's label and colour)."""
    by_id = {shape["district_id"]: shape for shape in shapes}
    whole = {row["region_code"] for row in rows if row.get("municipality")}  # regions without district outlines
    out = []
    for row in rows:
        shape = by_id.get(row["district_id"])
        if label and row["district_id"] is None and row["region_code"] in whole:  # the map: the region as a whole
            if shape is not None and not any(f.get("id") == 0 for f in out):
                out.append({"type": "Feature", "id": 0, "geometry": json.loads(shape["geojson"]),
                            "properties": _whole_region(row["region_name"], [
                                r for r in rows if r["district_id"] is None and r["region_code"] == row["region_code"]],
                                km)})
            continue
        if row.get("municipality"):  # a census municipality of a region without district outlines: no shape
            out.append({"type": "Feature", "geometry": None, "properties": csv_record(row)})
            continue
        if shape is None:
            continue
        properties = csv_record(row)
        if label:
            properties = {"label": _label(row, km), "fill": band(row["share"])[1]}
        feature = {"type": "Feature", "id": row["district_id"], "geometry": json.loads(shape["geojson"]),
                   "properties": properties}
        if row["district_id"] is None:  # the rest of the region: no id in the download, 0 on the map
            feature.pop("id")
            if label:
                feature["id"] = 0
        out.append(feature)
    return {"type": "FeatureCollection", "features": out}


def _bounds(collection: dict) -> list[list[float]] | None:
    """[[south, west], [north, east]] of the features' coordinates."""
    numbers = re.findall(r"(-?\d+(?:\.\d+)?), (-?\d+(?:\.\d+)?)",
                         json.dumps([f["geometry"]["coordinates"] for f in collection["features"] if f["geometry"]]))
    if not numbers:
        return None
    lons, lats = [float(x) for x, _ in numbers], [float(y) for _, y in numbers]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def map_script(rows: list[dict], shapes: list[dict], km: float, tile_url: str, attribution: str = ATTRIBUTION) -> str:
    """The map's JavaScript (folium): the tiles, the districts coloured by the share of children beyond `km`,
    a tooltip in words; no URL but the tiles'. Put it in a <script nonce=...> after the static Leaflet script."""
    m = folium.Map(location=(60.0, 90.0), zoom_start=3, tiles=None, control_scale=False, min_zoom=2, max_zoom=14)
    m._id = MAP_ID
    m.default_js, m.default_css = LEAFLET_JS, LEAFLET_CSS
    folium.TileLayer(tiles=tile_url, attr=attribution, name="tiles", max_zoom=18).add_to(m)
    collection = features(rows, shapes, km, label=True)
    if not collection["features"]:
        return _finish(m, tile_url, attribution)
    layer = folium.GeoJson(collection, name="districts", tooltip=folium.GeoJsonTooltip(fields=["label"], labels=False),
                           style_function=lambda f: {"fillColor": f["properties"]["fill"], "color": "#333",
                                                     "weight": 1, "fillOpacity": 0.9})
    layer._id = MAP_ID
    layer.add_to(m)
    bounds = _bounds(collection)
    if bounds:
        m.fit_bounds(bounds)
    return _finish(m, tile_url, attribution)


def _finish(m: folium.Map, tile_url: str, attribution: str) -> str:
    """The map's script, checked to name no URL but the tiles'."""
    figure = m.get_root()
    figure.render()
    script = figure.script.render() + SCALE.format(map=f"map_{MAP_ID}")  # metric, under the zoom buttons
    linked = script
    for url in re.findall(r'href="([^"]+)"', attribution):
        linked = linked.replace(url, "")
    if re.search(r"https?://(?!" + re.escape(tile_url.split("/")[2]) + r")", linked):
        raise ValueError("folium rendered an external URL into the map script")
    return script.strip()


def csv_record(row: dict) -> dict:
    """One district's figures as the downloads have them (staff precision)."""
    record = {"region_code": row["region_code"], "region_name": row["region_name"],
              "district_id": row["district_id"], "district_name": row["district_name"],
              "settlements": row["settlements"], "people": row["people"], "children": row["children"],
              "median_km": row["median_km"], "p90_km": row["p90_km"]}
    for km, beyond in row["beyond"].items():
        for what in ("settlements", "people", "children"):
            record[f"{what}_beyond_{km}_km"] = beyond[what]
    record["requests"], record["unmet_requests"] = row["requests"], row["unmet"]
    return record


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def districts_csv(rows: list[dict]) -> str:
    """The district table as CSV (UTF-8 with BOM for spreadsheet programs; no cell read as a formula)."""
    records = [csv_record(row) for row in rows]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    if records:
        writer.writerow(list(records[0]))
    for record in records:
        writer.writerow([_cell(value) for value in record.values()])
    return out.getvalue()
