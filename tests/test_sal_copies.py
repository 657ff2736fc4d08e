"""service_at_location's copies (migrations 0001, 0008, 0014) follow the rows they copy, through multi-row updates of
services, locations and organizations, compared with the same values read from those rows; an update that
changes nothing copied rewrites no service_at_location row."""
from __future__ import annotations

from sqlalchemy import text

from tests.factories import add_service

COPIES = """
SELECT sal.id, ST_AsText(sal.geog), sal.timezone, sal.type_code, sal.delivery, sal.age_min_months,
       sal.age_max_months, sal.searchable
FROM service_at_location sal ORDER BY sal.id
"""
# The same values read from the rows they copy, not from the copies.
SOURCES = """
SELECT sal.id, ST_AsText(l.geog), l.timezone, s.type_code, s.delivery, s.age_min_months, s.age_max_months,
       s.active AND o.status = 'published' AND l.active
FROM service_at_location sal JOIN service s ON s.id = sal.service_id JOIN location l ON l.id = sal.location_id
JOIN organization o ON o.id = s.organization_id ORDER BY sal.id
"""


def versions(session) -> dict[int, str]:
    """Each service_at_location row's xmin: the transaction that last wrote it."""
    return dict(session.execute(text("SELECT id, xmin::text FROM service_at_location")).all())


def step(session, sql: str, **params) -> set[int]:
    """Run one statement in its own transaction; the service_at_location rows it rewrote."""
    before = versions(session)
    session.execute(text(sql), params)
    session.commit()
    assert session.execute(text(COPIES)).all() == session.execute(text(SOURCES)).all()
    after = versions(session)
    return {sal for sal in after if after[sal] != before.get(sal)}


def test_copies_follow_each_source_and_untouched_rows_stay_unwritten(registry):
    a = add_service(registry, 55.79, 38.45, "early_help", age_min=0, age_max=36)
    b = add_service(registry, 55.80, 38.46, "early_help")
    c = add_service(registry, 55.81, 38.47, "rehabilitation")
    registry.commit()
    assert registry.execute(text(COPIES)).all() == registry.execute(text(SOURCES)).all()
    sal = {k: v["sal_id"] for k, v in (("a", a), ("b", b), ("c", c))}

    # Two services in one statement: their kind and ages; the third not.
    assert step(registry, "UPDATE service SET type_code = 'legal_help', age_max_months = 24 WHERE id IN (:a, :b)",
                a=a["service_id"], b=b["service_id"]) == {sal["a"], sal["b"]}
    # Every service named, one really changed (delivery), the others set to what they were.
    assert step(registry, "UPDATE service SET delivery = CASE WHEN id = :c THEN 'outreach' ELSE delivery END,"
                          " type_code = type_code, active = active", c=c["service_id"]) == {sal["c"]}
    assert step(registry, "UPDATE service SET active = false WHERE id = :b", b=b["service_id"]) == {sal["b"]}
    # Locations: a move and a time zone in one statement, then a deactivation.
    assert step(registry, "UPDATE location SET geog = CASE WHEN id = :a THEN"
                          " CAST(ST_SetSRID(ST_MakePoint(38.5, 55.7), 4326) AS geography) ELSE geog END,"
                          " timezone = CASE WHEN id = :c THEN 'Asia/Yekaterinburg' ELSE timezone END",
                a=a["location_id"], c=c["location_id"]) == {sal["a"], sal["c"]}
    assert step(registry, "UPDATE location SET active = false WHERE id = :c", c=c["location_id"]) == {sal["c"]}
    # Organizations: a status, then a change of nothing copied (name, version) — no copy rewritten.
    assert step(registry, "UPDATE organization SET status = 'draft' WHERE id = :a",
                a=a["organization_id"]) == {sal["a"]}
    assert step(registry, "UPDATE organization SET name = name || ' (обновлено)', version = version + 1,"
                          " status = status") == set()
    assert step(registry, "UPDATE service SET name = 'Новое название', description = 'Описание'") == set()
    assert step(registry, "UPDATE location SET address = 'ул. Мира, 1', name = name") == set()
    searchable = dict(registry.execute(text("SELECT id, searchable FROM service_at_location")).all())
    assert searchable == {sal["a"]: False, sal["b"]: False, sal["c"]: False}
    assert step(registry, "UPDATE organization SET status = 'published'") == {sal["a"]}
    assert dict(registry.execute(text("SELECT id, searchable FROM service_at_location")).all())[sal["a"]] is True
