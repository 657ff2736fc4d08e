"""A spreadsheet import running while curators edit the same organizations (issue 9, concurrency): each side
either wins or meets a conflict; nothing of either is lost or written twice; the history holds what was accepted."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.db import make_engine
from resourcemap.exchange import apply_import, read_table
from resourcemap.registry import edit
from tests.factories import CURATOR, REGION, csv_bytes, row

EDITORS = 4
SAVES_PER_EDITOR = 6
FIRST = 20  # organizations imported before the race; the racing import updates them and adds 40 more


@dataclass
class Race:
    """What the importer and the editors share: the engine, the start line, and what each side got."""
    engine: object
    org_ids: dict[str, int]
    racing_file: bytes
    start: threading.Barrier = field(default_factory=lambda: threading.Barrier(EDITORS + 1))
    accepted: dict[int, list[str]] = field(default_factory=dict)  # org -> descriptions, in order
    failures: list[str] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=lambda: [0])
    lock: threading.Lock = field(default_factory=threading.Lock)


def test_an_import_and_curators_editing_at_the_same_time_lose_nothing(registry, database_url):
    org_ids = _import_the_first_organizations(registry)
    racing_file = csv_bytes([row(n, email=f"imp-{n}@example.org") for n in range(1, FIRST + 1)]
                            + [row(n) for n in range(FIRST + 1, 3 * FIRST + 1)])

    engine = make_engine(database_url, statement_timeout_ms=60000, pool_size=EDITORS + 1)
    race = Race(engine, org_ids, racing_file, accepted={org_id: [] for org_id in org_ids.values()})
    threads = [threading.Thread(target=_importer, args=(race,))] + [
        threading.Thread(target=_editor, args=(race, e)) for e in range(EDITORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    engine.dispose()
    assert not any(t.is_alive() for t in threads)
    assert race.failures == []
    print(f"conflicts met by the editors: {race.conflicts[0]}")

    registry.rollback()
    _check_the_import_is_whole(registry)
    _check_each_side_kept_its_changes(registry, org_ids, race.accepted)


def _import_the_first_organizations(registry) -> dict[str, int]:
    """The organizations imported before the race; their ids by external id."""
    apply_import(registry, read_table("a.csv", csv_bytes([row(n) for n in range(1, FIRST + 1)])), REGION, CURATOR)
    registry.commit()
    return dict(registry.execute(text(
        "SELECT external_id, id FROM organization WHERE external_id LIKE 'org-%'")).all())


def _importer(race: Race) -> None:
    race.start.wait()
    with Session(race.engine) as session:
        try:
            apply_import(session, read_table("b.csv", race.racing_file), REGION, CURATOR)
            session.commit()
        except Exception as error:  # reported by the test
            race.failures.append(f"import: {error!r}")


def _editor(race: Race, e: int) -> None:
    mine = [race.org_ids[f"org-{n}"] for n in range(1, FIRST + 1) if n % EDITORS == e]
    race.start.wait()
    with Session(race.engine) as session:
        for i in range(SAVES_PER_EDITOR):
            if not _save_until_won(race, session, e, mine[i % len(mine)], f"правка {e}-{i}"):
                return


def _save_until_won(race: Race, session, e: int, org_id: int, description: str) -> bool:
    """Save `description` into the organization, reading it afresh after each conflict (50 tries); False after a
    failure other than a conflict."""
    for _ in range(50):
        doc = edit.organization_document(session, org_id)
        session.rollback()
        doc["description"] = description
        try:
            edit.save_document(session, org_id, doc, doc["version"], CURATOR, change_note=description)
            session.commit()
            with race.lock:
                race.accepted[org_id].append(description)
            return True
        except edit.Conflict:
            session.rollback()
            with race.lock:
                race.conflicts[0] += 1
        except Exception as error:  # reported by the test
            session.rollback()
            race.failures.append(f"editor {e}: {error!r}")
            return False
    race.failures.append(f"editor {e}: no save won in 50 tries")
    return True


def _check_the_import_is_whole(registry) -> None:
    """The import is whole: every row, once."""
    orgs = dict(registry.execute(text(
        "SELECT external_id, count(*) FROM organization WHERE external_id LIKE 'org-%' GROUP BY 1")).all())
    assert len(orgs) == 3 * FIRST and set(orgs.values()) == {1}
    assert registry.execute(text("SELECT count(*) FROM service WHERE external_id LIKE 'svc-%'")).scalar() == 3 * FIRST


def _check_each_side_kept_its_changes(registry, org_ids: dict[str, int], accepted: dict[int, list[str]]) -> None:
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
