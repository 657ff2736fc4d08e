"""Issue 18, what a new user met on the public pages (the parts the server renders): the place's "open in maps"
links work on an iPhone too, the footer is Russian on the Russian page, the map's scale is metric."""
from __future__ import annotations

import re

from resourcemap import maps
from tests.factories import add_service


def test_open_in_maps_links_are_https_links_that_every_phone_opens(client, registry):
    org = add_service(registry, 55.7847, 38.4447, "early_help", name="Центр «Карта»", address="ул. Мира, 5")
    registry.commit()
    html = client.get(f"/org/{org['organization_id']}").get_data(as_text=True)
    assert "geo:" not in html  # an iPhone does nothing with a geo: link
    assert 'href="https://yandex.ru/maps/?pt=38.4447,55.7847&amp;z=16&amp;l=map"' in html
    assert 'href="https://2gis.ru/geo/38.4447,55.7847"' in html


def test_a_confidential_place_has_no_open_in_maps_link(client, registry):
    org = add_service(registry, 55.80123, 38.43987, "crisis_apartment", confidential=True)
    registry.commit()
    html = client.get(f"/org/{org['organization_id']}").get_data(as_text=True)
    assert "yandex.ru/maps" not in html and "2gis.ru" not in html


def test_the_footer_speaks_the_page_language(client):
    russian = client.get("/").get_data(as_text=True).split('<footer')[1].split('</footer>')[0]
    assert "contributors" not in russian and "участники" in russian and "Росстат, ВПН-2020" in russian
    english = client.get("/?lang=en").get_data(as_text=True).split('<footer')[1].split('</footer>')[0]
    assert re.search(r"OpenStreetMap</a> contributors", english) and "Rosstat, 2020 census" in english


def test_the_map_scale_is_metric_and_above_the_attribution():
    script = maps.map_script("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "L.control.scale()" not in script
    assert re.search(r'L\.control\.scale\(\{imperial: false, metric: true, position: "topleft"', script)
