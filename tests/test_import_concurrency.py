"""A spreadsheet import running while curators edit the same organizations (issue 9, concurrency): each side
either wins or meets a conflict; nothing of either is lost or written twice; the history holds what was accepted."""
from __future__ import annotations

import threading

from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.db import make_engine
from resourcemap.exchange import apply_import, read_table
from resourcemap.registry import edit
from tests.factories import CURATOR, REGION, csv_bytes, row

EDITORS = 4
SAVES_PER_EDITOR = 6
FIRST = 20  # organizations imported before the race; the racing import updates them and adds 40 more


def test_an_import_and_curators_editing_at_the_same_time_lose_nothing(registry, database_url):
    apply_import(registry, read_table("a.csv", csv_bytes([row(n) for n in range(1, FIRST + 1)])), REGION, CURATOR)
    registry.commit()
    org_ids = dict(registry.execute(text(
        "SELECT external_id, id FROM organization WHERE external_id LIKE 'org-%'")).all())
    racing_file = csv_bytes([row(n, email=f"imp-{n}@example.org") for n in range(1, FIRST + 1)]
                            + [row(n) for n in range(FIRST + 1, 3 * FIRST + 1)])

    engine = make_engine(database_url, statement_timeout_ms=60000, pool_size=EDITORS + 1)
    start = threading.Barrier(EDITORS + 1)
    accepted: dict[int, list[str]] = {org_id: [] for org_id in org_ids.values()}  # org -> descriptions, in order
    failures: list[str] = []
    conflicts = [0]
    lock = threading.Lock()

    def importer():
        start.wait()
        with Session(engine) as session:
            try:
                apply_import(session, read_table("b.csv", racing_file), REGION, CURATOR)
                session.commit()
            except Exception as error:  # reported below
                failures.append(f"import: {error!r}")

    def editor(e: int):
        mine = [org_ids[f"org-{n}"] for n in range(1, FIRST + 1) if n % EDITORS == e]
        start.wait()
        with Session(engine) as session:
            for i in range(SAVES_PER_EDITOR):
                org_id = mine[i % len(mine)]
                description = f"правка {e}-{i}"
                for _ in range(50):
                    doc = edit.organization_document(session, org_id)
                    session.rollback()
                    doc["description"] = description
                    try:
                        edit.save_document(session, org_id, doc, doc["version"], CURATOR, change_note=description)
                        session.commit()
                        with lock:
                            accepted[org_id].append(description)
                        break
                    except edit.Conflict:
                        session.rollback()
                        with lock:
                            conflicts[0] += 1
                    except Exception as error:  # reported below
                        session.rollback()
                        failures.append(f"editor {e}: {error!r}")
                        return
                else:
                    failures.append(f"editor {e}: no save won in 50 tries")

    threads = [threading.Thread(target=importer)] + [threading.Thread(target=editor, args=(e,))
                                                     for e in range(EDITORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    engine.dispose()
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    print(f"conflicts met by the editors: {conflicts[0]}")

    registry.rollback()
    # The import is whole: every row, once.
    orgs = dict(registry.execute(text(
        "SELECT external_id, count(*) FROM organization WHERE external_id LIKE 'org-%' GROUP BY 1")).all())
    assert len(orgs) == 3 * FIRST and set(orgs.values()) == {1}
    assert registry.execute(text("SELECT count(*) FROM service WHERE external_id LIKE 'svc-%'")).scalar() == 3 * FIRST
    for n in range(1, FIRST + 1):
        org_id = org_ids[f"org-{n}"]
        email, description = registry.execute(text(
            "SELECT email, description FROM organization WHERE id = :id"), {"id": org_id}).one()
        # The import's change is kept whatever the editors did ...
        assert email == f"imp-{n}@example.org"
        # ... and so is each curator's last accepted save.
        if accepted[org_id]:
            assert description == accepted[org_id][-1]
    # The history holds exactly the accepted saves and the import's changes, nothing of the conflicted ones.
    saved = registry.execute(text(
        "SELECT count(*) FROM change WHERE entity = 'organization' AND field = 'description'"
        " AND note LIKE 'правка %'")).scalar()
    assert saved == sum(len(v) for v in accepted.values()) == EDITORS * SAVES_PER_EDITOR
    imported = registry.execute(text(
        "SELECT count(*) FROM change WHERE entity = 'organization' AND field = 'email' AND note = 'import b.csv'"
    )).scalar()
    assert imported == FIRST
