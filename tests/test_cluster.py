"""The loopback cluster (issue 23, resourcemap/loopback/), started once for this module as `scripts/cluster` starts
it: a primary and a streaming replica, two gunicorn instances, HAProxy in front. Every request goes through
HAProxy, as a family's or a curator's would:

- the public's nearest-help reads are served by the replica (its own statistics count the scans, the primary's
  do not move);
- a curator's save is theirs to read at once, on either instance, while the replica has not replayed it (paused
  on purpose) and the public still reads the replica's older answer;
- the replica stopped under a load of concurrent reads: no request fails but a bounded number of 503s;
- the primary stopped: reads are still served, writes answer 503 JSON, and after its restart every write that
  was acknowledged is there;
- the instances keep nothing another needs: a spreadsheet checked on one is applied on the other, and an instance
  killed under load costs no read and no signed-in session."""
from __future__ import annotations

import os
import re
import shutil
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy.orm import Session

from resourcemap.db import make_engine
from resourcemap.db_embedded import start, stop
from resourcemap.limits import REPLICA_SKIP_S
from resourcemap.loopback import running
from tests.factories import new_document
from tests.replication import current_lsn, replay_paused, scratch_dir, table_scans, wait_replayed
from tests.staff import ACCOUNTS, PASSWORD, editor_form_from, form_token, issue_staff_tokens

TIMEOUT_S = 60  # one request on a busy 2-core machine
NEAREST = "/api/v1/nearest?lat={lat}&lon={lon}&service=early_help,rehabilitation&limit=5"
POINTS = [(55.79, 38.45), (54.78, 32.05), (55.75, 37.62), (43.24, 76.95), (56.84, 60.6)]
LOAD_REQUESTS, LOAD_THREADS, STOP_AFTER = 300, 8, 60
MAX_503 = 10  # requests cut while the replica stopped under them (HAProxy tries a cut GET once more)


@pytest.fixture(scope="module")
def demo():
    root = scratch_dir("test-cluster")
    try:
        with running(root, census=False, echo=lambda line: None, env={
                "RESOURCEMAP_API_RATE_LIMIT": "100000 per minute",
                # A replica whose replay is paused on purpose stays in use (test_a_curators_save_...).
                "RESOURCEMAP_REPLICA_MAX_LAG_SECONDS": "3600"}) as cluster:
            yield cluster
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def tokens(demo):
    """The staff of tests/staff.py in the demo's primary, each with an API token."""
    engine = make_engine(demo.primary.url)
    try:
        with Session(engine) as session:
            plain = issue_staff_tokens(session, "cluster tests")
            session.commit()
    finally:
        engine.dispose()
    return plain


def _get(demo, path: str, session=None, **kw) -> requests.Response:
    return (session or requests).get(demo.balancer_url + path, timeout=TIMEOUT_S, **kw)


def _create(demo, tokens, name: str) -> requests.Response:
    return requests.post(demo.balancer_url + "/api/v1/registry/organizations", json=new_document(name=name),
                         headers={"Authorization": f"Bearer {tokens['admin']}"}, timeout=TIMEOUT_S)


def _nearest(demo, n: int) -> int | str:
    lat, lon = POINTS[n % len(POINTS)]
    try:
        response = _get(demo, NEAREST.format(lat=lat, lon=lon))
    except requests.RequestException as error:
        return type(error).__name__
    if response.status_code == 200:
        assert "results" in response.json()
    return response.status_code


def _wait(condition, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(0.3)


def test_the_publics_nearest_help_is_served_by_the_replica(demo):
    on_replica = table_scans(demo.replica, "service_at_location")
    on_primary = table_scans(demo.primary, "service_at_location")
    for n in range(20):
        assert _nearest(demo, n) == 200
    _wait(lambda: table_scans(demo.replica, "service_at_location") >= on_replica + 20,
          "the replica's statistics count the nearest-help scans")
    time.sleep(2)  # by the time the replica's statistics came in, the primary's would have too (the same flush)
    assert table_scans(demo.primary, "service_at_location") == on_primary


def _signed_in(demo, who: str) -> requests.Session:
    browser = requests.Session()
    token = form_token(_get(demo, "/signin", browser).text)
    response = browser.post(demo.balancer_url + "/signin", data={"email": ACCOUNTS[who][0], "password": PASSWORD,
                                                                 "csrf_token": token},
                            allow_redirects=False, timeout=TIMEOUT_S)
    assert response.status_code == 302, response.text[:300]
    return browser


def test_a_curators_save_is_theirs_to_read_at_once(demo, tokens):
    created = _create(demo, tokens, "Центр «Реплика»")
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    wait_replayed(demo.replica, current_lsn(demo.primary))
    curator = _signed_in(demo, "curator_mos")
    form = editor_form_from(_get(demo, f"/curate/org/{org_id}", curator).text)
    with replay_paused(demo.replica):
        saved = curator.post(f"{demo.balancer_url}/curate/org/{org_id}", allow_redirects=False, timeout=TIMEOUT_S,
                             data={**form, "name": "Центр «Реплика» (сохранено)", "action": "save"})
        assert saved.status_code == 302, saved.text[:500]
        for _ in range(4):  # HAProxy takes turns: both instances
            assert _get(demo, f"/api/v1/organizations/{org_id}", curator).json()["name"] == \
                "Центр «Реплика» (сохранено)"
            assert "Центр «Реплика» (сохранено)" in _get(demo, f"/org/{org_id}", curator).text
            # The public reads the replica, which has not replayed the save yet.
            assert _get(demo, f"/api/v1/organizations/{org_id}").json()["name"] == "Центр «Реплика»"
    _wait(lambda: _get(demo, f"/api/v1/organizations/{org_id}").json()["name"] == "Центр «Реплика» (сохранено)",
          "the public sees the save once the replica has replayed it")


def test_the_replica_stopped_under_load_fails_no_read(demo):
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        answers = [pool.submit(_nearest, demo, n) for n in range(LOAD_REQUESTS)]
        _wait(lambda: sum(a.done() for a in answers) >= STOP_AFTER, "the first reads")
        stop(demo.replica)
        try:
            statuses = [a.result() for a in answers]
        finally:
            start(demo.replica)
    failed = [s for s in statuses if s != 200]
    assert set(failed) <= {503} and len(failed) <= MAX_503, failed
    print(f"replica stopped under {LOAD_REQUESTS} reads: {len(failed)} answered 503")


def test_the_primary_stopped_reads_go_on_writes_503_nothing_acknowledged_lost(demo, tokens):
    time.sleep(REPLICA_SKIP_S + 1)  # the replica, back from the test before, is taken again
    acknowledged, refused, writing = [], [], threading.Event()
    writing.set()

    def write_on():
        n = 0
        while writing.is_set():
            n += 1
            try:
                response = _create(demo, tokens, f"Запись {n}")
            except requests.RequestException as error:
                refused.append((type(error).__name__, None, ""))
                continue
            if response.status_code == 201:
                acknowledged.append(response.json()["id"])
            else:
                refused.append((response.status_code, response.headers.get("Content-Type"), response.text[:200]))
                time.sleep(0.2)

    writer = threading.Thread(target=write_on)
    writer.start()
    try:
        _wait(lambda: len(acknowledged) >= 5, "the first acknowledged writes")
        stop(demo.primary)
        try:
            _reads_and_refused_writes_while_the_primary_is_down(demo, tokens)
        finally:
            writing.clear()
            writer.join()
            start(demo.primary)
    finally:
        writing.clear()
    _wait(lambda: _get(demo, "/api/v1/health").json().get("database") == "ok", "the primary is back")
    assert all(status == 503 and kind == "application/json" and '"error"' in body
               for status, kind, body in refused), refused[:5]
    staff = {"Authorization": f"Bearer {tokens['admin']}"}
    lost = [i for i in acknowledged if _get(demo, f"/api/v1/registry/organizations/{i}", headers=staff)
            .status_code != 200]
    assert acknowledged and lost == []


def _reads_and_refused_writes_while_the_primary_is_down(demo, tokens) -> None:
    for n in range(30):
        assert _nearest(demo, n) == 200
    assert _get(demo, "/api/v1/health").json() == {"status": "degraded", "database": "read_only"}
    refused = _create(demo, tokens, "Не записано")
    assert refused.status_code == 503
    assert refused.headers["Content-Type"] == "application/json"
    assert refused.json()["error"]["code"] == "database_unavailable"


IMPORT_CSV = ("Код записи;Организация;Вид помощи;Населённый пункт;Широта;Долгота;Телефоны;Часы работы\n"
              "rep-1;Центр «Кластер»;Ранняя помощь;Коломна;55,0794;38,7783;8 (496) 615-00-09;пн-пт 09:00-18:00\n")


def test_a_spreadsheet_checked_on_one_instance_is_applied_on_the_other(demo, tokens):
    first, second = demo.instance_urls
    curator = _signed_in(demo, "curator_mos")
    csrf = form_token(curator.get(first + "/curate/import", timeout=TIMEOUT_S).text)
    checked = curator.post(first + "/curate/import", timeout=TIMEOUT_S, data={"csrf_token": csrf, "region": "RU-MOS"},
                           files={"file": ("cluster.csv", IMPORT_CSV.encode("utf-8"), "text/csv")})
    assert checked.status_code == 200, checked.text[:2000]
    token = re.search(r'name="token" value="([^"]+)"', checked.text).group(1)
    applied = curator.post(second + "/curate/import/apply", timeout=TIMEOUT_S,
                           data={"csrf_token": form_token(checked.text), "token": token})
    assert applied.status_code == 200 and "Импорт применён" in applied.text, applied.text[:2000]


def test_an_instance_killed_under_load_costs_no_read_and_no_session(demo):
    curator = _signed_in(demo, "curator_mos")
    with ThreadPoolExecutor(LOAD_THREADS) as pool:
        answers = [pool.submit(_nearest, demo, n) for n in range(LOAD_REQUESTS)]
        _wait(lambda: sum(a.done() for a in answers) >= STOP_AFTER, "the first reads")
        victim = demo.instances[0].process
        os.killpg(victim.pid, signal.SIGKILL)  # gunicorn and its workers, at once, mid-request
        victim.wait()
        statuses = [a.result() for a in answers]
    failed = [s for s in statuses if s != 200]
    assert set(failed) <= {503} and len(failed) <= MAX_503, failed
    for _ in range(4):  # the other instance knows the curator from the signed cookie alone
        page = _get(demo, "/curate", curator, allow_redirects=False)
        assert page.status_code == 200, page.status_code
