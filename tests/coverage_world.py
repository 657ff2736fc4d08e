"""The registry the coverage API and page tests share (issue 21): a few early-help services in Moscow oblast and
Yakutia, children counts for every settlement without one, the coverage of early help computed in full."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap import coverage
from tests.conftest import REGISTRY_TABLES
from tests.factories import KOLOMNA, add_service, random_points_in

KIND = "early_help"
# Early help in Moscow oblast (Коломна and random places) and in Yakutia (Якутск and one more), a confidential
# crisis apartment: coverage of early help must not depend on it.
YAKUTSK = (62.03, 129.73)


@contextmanager
def coverage_world(engine):
    """The registry above, computed; afterwards the registry emptied and the children counts as they were."""
    with engine.begin() as conn:
        given = list(conn.execute(text(
            "UPDATE settlement SET children = (id * 7919) % 900 WHERE children IS NULL RETURNING id")).scalars())
    with Session(engine) as session:
        add_service(session, *KOLOMNA, KIND, name="Центр «Коломенский»")
        for lat, lon in random_points_in(engine, "RU-MOS", 4, seed=21):
            add_service(session, lat, lon, KIND)
        add_service(session, *YAKUTSK, KIND, name="Служба ранней помощи (Якутск)")
        add_service(session, 60.37, 120.43, KIND, delivery="outreach", radius_km=40)  # Олёкминск
        add_service(session, 55.80123, 38.43987, "crisis_apartment", confidential=True)
        session.commit()
    coverage.refresh(engine, [KIND])
    try:
        yield
    finally:
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {REGISTRY_TABLES} RESTART IDENTITY CASCADE"))
            conn.execute(text("UPDATE settlement SET children = NULL WHERE id = ANY(:ids)"), {"ids": given})
