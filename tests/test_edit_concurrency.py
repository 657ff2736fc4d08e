"""Many curators saving the same organization at once, from real threads on their own database connections:
every save either wins or meets a Conflict, never a silent overwrite; the version moves once per win; the history
holds exactly the accepted changes; and the final document keeps every accepted change that no later accepted save
replaced."""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from resourcemap.auth.policy import Viewer
from resourcemap.db import make_engine
from resourcemap.registry import edit
from tests.factories import new_document

WORKERS = 16
LOCKSTEP_ROUNDS = 4
FREE_SAVES_PER_WORKER = 6

# One field per worker: (path into the document, (entity, which item of that list, column in the history)).
FIELDS = [
    (("name",), ("organization", None, "name")),
    (("description",), ("organization", None, "description")),
    (("legal_form",), ("organization", None, "legal_form")),
    (("source",), ("organization", None, "source")),
    (("locations", 0, "address"), ("location", 0, "address")),
    (("locations", 0, "name"), ("location", 0, "name")),
    (("locations", 0, "accessibility"), ("location", 0, "accessibility")),
    (("services", 0, "name"), ("service", 0, "name")),
    (("services", 0, "description"), ("service", 0, "description")),
    (("services", 0, "eligibility"), ("service", 0, "eligibility")),
    (("services", 1, "name"), ("service", 1, "name")),
    (("services", 1, "eligibility"), ("service", 1, "eligibility")),
    (("phones", 0, "note"), ("phone", 0, "note")),
    (("services", 0, "age_max_months"), ("service", 0, "age_max_months")),
    (("services", 1, "capacity_total"), ("service", 1, "capacity_total")),
    (("services", 1, "description"), ("service", 1, "description")),
]
assert len(FIELDS) == WORKERS


@dataclass
class Attempt:
    worker: int
    n: int
    path: tuple
    value: object
    read_version: int
    outcome: str = ""  # "won" | "conflict"
    new_version: int | None = None
    error: str = ""


def value_for(worker: int, n: int, path: tuple):
    if path[-1] == "age_max_months":
        return 40 + n  # within 0..216 and above the minimum (0); unique per save of this worker
    if path[-1] == "capacity_total":
        return 1000 + n
    return f"правка куратора {worker}, №{n}"


def set_path(doc: dict, path: tuple, value) -> None:
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def get_path(doc: dict, path: tuple):
    for key in path:
        doc = doc[key]
    return doc


def curator(worker: int) -> Viewer:
    return Viewer(role="curator", account_id=100 + worker, email=f"curator{worker}@example.org",
                  regions=frozenset({"RU-MOS"}))


def save_once(engine, org_id: int, worker: int, n: int, attempts: list, lock: threading.Lock,
              before_save: threading.Barrier | None = None) -> Attempt:
    """Read the document, change this worker's field, save with the version read; record the outcome."""
    path = FIELDS[worker][0]
    with Session(engine) as session:
        doc = edit.organization_document(session, org_id)
        session.rollback()
        attempt = Attempt(worker, n, path, value_for(worker, n, path), doc["version"])
        set_path(doc, path, attempt.value)
        if before_save is not None:
            before_save.wait(timeout=60)
        try:
            attempt.new_version = edit.save_document(session, org_id, doc, doc["version"], curator(worker),
                                                     change_note=f"worker {worker} save {n}")
            session.commit()
            attempt.outcome = "won"
        except edit.Conflict as conflict:
            session.rollback()
            attempt.outcome = "conflict"
            assert conflict.current["version"] > attempt.read_version
        except Exception as error:  # anything else is a failure of the test, reported below
            session.rollback()
            attempt.outcome = "error"
            attempt.error = repr(error)
    with lock:
        attempts.append(attempt)
    return attempt


@pytest.fixture
def parallel_engine(database_url):
    engine = make_engine(database_url, statement_timeout_ms=60000, pool_size=WORKERS)
    yield engine
    engine.dispose()


@pytest.fixture
def organization(registry):
    doc = new_document(point=(55.79, 38.45))
    doc["services"][1]["capacity_total"] = 10
    org_id = edit.create_document(registry, doc, curator(0))
    registry.commit()
    return org_id


def run_threads(target, count: int) -> None:
    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads)


def check_invariants(registry, org_id: int, start_version: int, start_change_id: int, attempts: list[Attempt]):
    """What must hold whatever the interleaving was; returns the winners."""
    assert [a.error for a in attempts if a.outcome == "error"] == []
    assert all(a.outcome in ("won", "conflict") for a in attempts)
    won = sorted((a for a in attempts if a.outcome == "won"), key=lambda a: a.new_version)
    final = edit.organization_document(registry, org_id)
    # The version moved exactly once per accepted save, and the accepted saves hold consecutive versions.
    assert final["version"] - start_version == len(won)
    assert [a.new_version for a in won] == list(range(start_version + 1, final["version"] + 1))
    # Each accepted save was made against the version just before its own: nobody saved over someone unseen.
    assert all(a.read_version == a.new_version - 1 for a in won)

    # The history holds exactly the accepted changes: one row each (one field changed per save), no more.
    ids = {"organization": [org_id], "location": [loc["id"] for loc in final["locations"]],
           "service": [s["id"] for s in final["services"]], "phone": [p["id"] for p in final["phones"]]}

    def history_key(a: Attempt):
        entity, index, column = dict(FIELDS)[a.path]
        return entity, ids[entity][index or 0], column, a.value

    rows = registry.execute(text(
        "SELECT entity, entity_id, field, new, op, note FROM change WHERE organization_id = :o AND id > :since"
        " ORDER BY id"), {"o": org_id, "since": start_change_id}).mappings().all()
    assert len(rows) == len(won)
    assert all(r["op"] == "update" for r in rows)
    assert [(r["entity"], r["entity_id"], r["field"], r["new"]) for r in rows] == [history_key(a) for a in won]
    assert [r["note"] for r in rows] == [f"worker {a.worker} save {a.n}" for a in won]
    # No change of a losing save reached the database.
    never_accepted = {a.value for a in attempts if a.outcome == "conflict"} - {a.value for a in won}
    assert not never_accepted & {r["new"] for r in rows}

    # Every accepted change is in the final document unless a later accepted save changed the same field.
    last_by_field = {}
    for a in won:
        last_by_field[a.path] = a.value
    for path, value in last_by_field.items():
        assert get_path(final, path) == value, path
    return won


def test_lockstep_rounds_exactly_one_winner_per_round(registry, organization, parallel_engine):
    """All 16 read the same version, then all save at once: exactly one wins each round, 15 meet a Conflict."""
    start = edit.organization_document(registry, organization)["version"]
    start_change = registry.execute(text("SELECT coalesce(max(id), 0) FROM change")).scalar()
    registry.commit()
    attempts: list[Attempt] = []
    lock = threading.Lock()
    before_save = threading.Barrier(WORKERS)
    round_over = threading.Barrier(WORKERS)

    def worker(i: int) -> None:
        for n in range(LOCKSTEP_ROUNDS):
            save_once(parallel_engine, organization, i, n, attempts, lock, before_save)
            round_over.wait(timeout=120)

    run_threads(worker, WORKERS)
    assert len(attempts) == WORKERS * LOCKSTEP_ROUNDS
    won = check_invariants(registry, organization, start, start_change, attempts)
    assert len(won) == LOCKSTEP_ROUNDS
    assert sum(a.outcome == "conflict" for a in attempts) == LOCKSTEP_ROUNDS * (WORKERS - 1)


def test_free_running_saves_with_retries_lose_nothing(registry, organization, parallel_engine):
    """Workers read and save as they like, retrying after a Conflict the way a curator re-applies a change to
    the newer version: every change is eventually accepted exactly once."""
    start = edit.organization_document(registry, organization)["version"]
    start_change = registry.execute(text("SELECT coalesce(max(id), 0) FROM change")).scalar()
    registry.commit()
    attempts: list[Attempt] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        rng = random.Random(i)
        for n in range(FREE_SAVES_PER_WORKER):
            for _try in range(200):
                threading.Event().wait(rng.random() * 0.01)
                if save_once(parallel_engine, organization, i, n, attempts, lock).outcome != "conflict":
                    break

    run_threads(worker, WORKERS)
    won = check_invariants(registry, organization, start, start_change, attempts)
    # Each intended change was accepted exactly once.
    assert sorted((a.worker, a.value) for a in won) == sorted(
        (i, value_for(i, n, FIELDS[i][0])) for i in range(WORKERS) for n in range(FREE_SAVES_PER_WORKER))
    # With every worker's own field, the final document holds each worker's last change.
    final = edit.organization_document(registry, organization)
    for i in range(WORKERS):
        assert get_path(final, FIELDS[i][0]) == value_for(i, FREE_SAVES_PER_WORKER - 1, FIELDS[i][0])
