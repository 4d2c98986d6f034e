"""The API client against the simulator over real HTTP, and the faults it survives.

docs/reliability.md lists each guarantee with the test below that proves it.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from meetergo_pipeline import stop
from meetergo_pipeline.client import (
    MeetergoAuthError,
    MeetergoClient,
    MeetergoConnectError,
    MeetergoCredentialError,
    MeetergoHTTP,
    MeetergoNotFoundError,
    MeetergoPaginationError,
    MeetergoRateLimitError,
    MeetergoResponseShapeError,
    MeetergoServerError,
    RateBudget,
    connect,
)
from meetergo_pipeline.client.credentials import Credential
from meetergo_pipeline.client.models import parse_utc
from meetergo_pipeline.simulator import SimulatorConfig, SimulatorServer

PAGED = "/v4/appointment/paginated"
API_KEY = "ak_live:123e4567-e89b-12d3-a456-426614174000:SENTINELSECRET"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    config = SimulatorConfig(seed=7, users=6, appointments=900, rate_limit_enabled=False)
    with SimulatorServer(config, port=0) as server:
        yield server


@pytest.fixture(autouse=True)
def clean_faults(sim: SimulatorServer) -> Iterator[None]:
    sim.faults.clear()
    sim.stats.reset()
    yield
    sim.faults.clear()


class FakeSleep:
    """Records the waits the client asks for instead of sleeping (the injected clock)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def make_client(sim: SimulatorServer, sleep: FakeSleep | None = None, **options) -> MeetergoClient:
    budget = RateBudget(1_000_000, 1_000_000)
    return connect(
        sim.base_url,
        sim.api_key,
        acting_user_id=sim.admin_user_id,
        budget=budget,
        sleep=sleep or FakeSleep(),
        **options,
    )


def read_all_appointment_ids(client: MeetergoClient, user_id: str) -> list[str]:
    return [row["id"] for page in client.fetch_appointment_pages(user_id) for row in page.rows()]


def busiest_user(sim: SimulatorServer) -> str:
    users = [user["id"] for user in sim.tenant.users]
    return max(users, key=lambda user_id: len(sim.tenant.appointment_ids_for_user(user_id)))


# --- credentials -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "ak_live:not-a-uuid:secret", "rgo-short", "Bearer xyz"])
def test_malformed_credential_is_rejected_before_any_request(
    sim: SimulatorServer, value: str
) -> None:
    with pytest.raises(MeetergoCredentialError) as raised:
        connect(sim.base_url, value)
    message = str(raised.value)
    assert "MEETERGO_API_KEY" in message
    if value:
        assert "ak_live:<uuid>:<secret>" in message
        assert value not in message or (value == "Bearer xyz" and "xyz" not in message)
    assert sim.stats.total == 0


def test_credential_repr_hides_the_secret() -> None:
    credential = Credential.parse("ak_live:123e4567-e89b-12d3-a456-426614174000:SENTINELSECRET")
    assert credential.kind == "api_key"
    assert "SENTINEL" not in repr(credential) and "SENTINEL" not in str(credential)
    token = Credential.parse("rgo-" + "a" * 32)
    assert token.kind == "personal_token"


def test_expired_and_invalid_keys_raise_auth_errors_without_retry(sim: SimulatorServer) -> None:
    with pytest.raises(MeetergoAuthError) as raised:
        connect(sim.base_url, sim.expired_api_key, sleep=FakeSleep())
    assert raised.value.status_code == 401
    assert raised.value.message == "API key has expired"
    assert sim.stats.total == 1
    assert sim.expired_api_key.split(":")[-1] not in str(raised.value)


# --- pagination styles -------------------------------------------------------------------


def test_full_read_matches_ground_truth(sim: SimulatorServer) -> None:
    truth = sim.tenant.truth()
    with make_client(sim) as client:
        users = [user for page in client.fetch_user_pages() for user in page.rows()]
        assert len(users) == truth.user_count == len({user["id"] for user in users})
        meeting_types = [mt for user in users for mt in client.list_meeting_types(user["id"])]
        assert len(meeting_types) == truth.meeting_type_count
        appointment_ids: set[str] = set()
        rows_read = 0
        for user in users:
            ids = read_all_appointment_ids(client, user["id"])
            assert len(ids) == len(set(ids)), "a listing yielded an id twice"
            assert set(ids) == set(sim.tenant.appointment_ids_for_user(user["id"]))
            appointment_ids.update(ids)
            rows_read += len(ids)
        assert len(appointment_ids) == truth.appointment_count
        assert rows_read > truth.appointment_count, "multi-host appointments appear per host"
        assert client.get_me()["id"] == sim.admin_user_id


def test_an_admins_personal_token_reads_what_the_api_key_reads(sim: SimulatorServer) -> None:
    colleague = sim.tenant.personal_token_user_id
    budget = RateBudget(1_000_000, 1_000_000)
    # An acting user set for API keys (MEETERGO_API_USER_ID) must not leak into token calls.
    with (
        connect(
            sim.base_url, sim.admin_personal_token, acting_user_id=colleague, budget=budget
        ) as token,
        make_client(sim) as key,
    ):
        assert token.get_me()["id"] == sim.admin_user_id
        users = [row["id"] for page in token.fetch_user_pages() for row in page.rows()]
        assert len(users) == sim.tenant.truth().user_count
        for user_id in users:
            assert token.list_meeting_types(user_id) == key.list_meeting_types(user_id)
            assert read_all_appointment_ids(token, user_id) == read_all_appointment_ids(
                key, user_id
            )
    token_requests = [r for r in sim.stats.requests if r.credential_kind == "personal_token"]
    assert token_requests and all(r.status == 200 for r in token_requests)
    type_requests = [r for r in token_requests if r.path == "/v4/meeting-type"]
    assert sorted(r.query["userId"] for r in type_requests) == sorted(users)


def test_users_are_read_with_offset_paging(sim: SimulatorServer) -> None:
    with make_client(sim) as client:
        list(client.fetch_user_pages())
    user_requests = [r for r in sim.stats.requests if r.path == "/v4/user"]
    assert [r.query["offset"] for r in user_requests] == ["0"]
    assert user_requests[0].query["limit"] == "100"


def test_calendar_connections_and_unknown_appointment(sim: SimulatorServer) -> None:
    with make_client(sim) as client:
        assert isinstance(client.list_calendar_connections(sim.admin_user_id), list)
        with pytest.raises(MeetergoNotFoundError) as raised:
            client.get_appointment("00000000-0000-0000-0000-000000000000")
    assert raised.value.status_code == 404


def test_created_after_stops_at_the_high_water_mark(sim: SimulatorServer) -> None:
    user_id = busiest_user(sim)
    created = sorted(
        (
            parse_utc(sim.tenant.appointments[i]["createdAt"])
            for i in sim.tenant.appointment_ids_for_user(user_id)
        ),
        reverse=True,
    )
    mark = created[5]
    with make_client(sim) as client:
        pages = list(client.fetch_appointment_pages(user_id, created_after=mark))
    assert len(pages) == 1
    assert len([r for r in sim.stats.requests if r.path == PAGED]) == 1


# --- rate limits -------------------------------------------------------------------------


def test_retry_after_seconds_is_honoured_and_only_that_page_is_repeated(
    sim: SimulatorServer,
) -> None:
    user_id = busiest_user(sim)
    sim.faults.add(
        method="GET",
        path=PAGED,
        query={"page": "1"},
        times=1,
        status=429,
        headers={"Retry-After": "7"},
    )
    sleep = FakeSleep()
    with make_client(sim, sleep) as client:
        ids = read_all_appointment_ids(client, user_id)
    assert set(ids) == set(sim.tenant.appointment_ids_for_user(user_id))
    assert sleep.waits == [7.0]
    pages = sorted(int(r.query["page"]) for r in sim.stats.requests if r.path == PAGED)
    assert pages.count(1) == 2
    assert all(pages.count(p) == 1 for p in set(pages) - {1})


def test_retry_after_http_date(sim: SimulatorServer) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    sim.faults.add(
        method="GET", path="/v4/user/me", times=1, status=429, headers={"Retry-After": when}
    )
    sleep = FakeSleep()
    with make_client(sim, sleep) as client:
        client.get_me()
    assert len(sleep.waits) == 1 and 88.5 <= sleep.waits[0] <= 91


@pytest.mark.parametrize("header", ["0", "-5", "soon"])
def test_useless_retry_after_falls_back_to_backoff(sim: SimulatorServer, header: str) -> None:
    sim.faults.add(
        method="GET", path="/v4/user/me", times=2, status=429, headers={"Retry-After": header}
    )
    sleep = FakeSleep()
    with make_client(sim, sleep) as client:
        client.get_me()
    assert len(sleep.waits) == 2
    assert all(wait >= 1.0 for wait in sleep.waits)


def test_retry_after_above_the_cap_fails_fast(sim: SimulatorServer) -> None:
    sim.faults.add(
        method="GET", path="/v4/user/me", times=1, status=429, headers={"Retry-After": "3600"}
    )
    sleep = FakeSleep()
    with make_client(sim, sleep) as client, pytest.raises(MeetergoRateLimitError) as raised:
        client.get_me()
    assert raised.value.retry_after_s == 3600
    assert sleep.waits == []
    assert sim.stats.total == 1


def test_three_429s_without_retry_after_then_success(sim: SimulatorServer) -> None:
    sim.faults.add(method="GET", path="/v4/user/me", times=3, status=429)
    sleep = FakeSleep()
    with make_client(sim, sleep) as client:
        assert client.get_me()["id"] == sim.admin_user_id
    assert len(sleep.waits) == 3
    assert sleep.waits[0] < sleep.waits[1] < sleep.waits[2]
    assert client.http.rate_limited == 3


def test_429_forever_gives_up_after_the_attempt_cap(sim: SimulatorServer) -> None:
    sim.faults.add(method="GET", path="/v4/user/me", times=100, status=429)
    sleep = FakeSleep()
    with make_client(sim, sleep, max_attempts=5) as client, pytest.raises(MeetergoRateLimitError):
        client.get_me()
    assert sim.stats.total == 5
    assert len(sleep.waits) == 4  # between attempts; none after the last


# --- server errors, timeouts, broken bodies, writes -----------------------------------------


class FakeClock(FakeSleep):
    """A monotonic clock that only the recorded waits advance."""

    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0

    def __call__(self, seconds: float) -> None:
        super().__call__(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_refused_connections_are_retried_for_30_s_then_name_the_base_url() -> None:
    url = closed_port_url()
    clock = FakeClock()
    budget = RateBudget(1_000_000, 1_000_000)
    with pytest.raises(MeetergoConnectError) as raised:
        connect(url, API_KEY, budget=budget, max_attempts=20, sleep=clock, clock=clock.clock)
    assert sum(clock.waits) == pytest.approx(30.0)
    assert 5 <= len(clock.waits) < 19  # the time bound ended it, not the attempt cap
    assert str(raised.value) == (
        f"cannot connect to {url} (MEETERGO_API_BASE_URL): connection refused (after "
        f"{len(clock.waits) + 1} attempts); check the URL and that this machine can reach it"
    )
    assert "SENTINEL" not in str(raised.value)


def test_unknown_host_is_named_as_such() -> None:
    with pytest.raises(MeetergoConnectError) as raised:
        connect("http://meetergo.invalid", API_KEY, max_attempts=1, sleep=FakeSleep())
    assert "cannot connect to http://meetergo.invalid (MEETERGO_API_BASE_URL): " in str(
        raised.value
    )
    assert "unknown host name (DNS lookup failed)" in str(raised.value)


def test_html_502_twice_then_success(sim: SimulatorServer) -> None:
    sim.faults.add(method="GET", path="/v4/user/me", times=2, status=502, html=True)
    with make_client(sim) as client:
        assert client.get_me()["id"] == sim.admin_user_id
    assert sim.stats.total == 3


def test_500_forever_fails_after_the_attempt_cap(sim: SimulatorServer) -> None:
    sim.faults.add(method="GET", path="/v4/user/me", times=100, status=500)
    with make_client(sim, max_attempts=4) as client, pytest.raises(MeetergoServerError) as raised:
        client.get_me()
    assert raised.value.status_code == 500
    assert sim.stats.total == 4


@pytest.mark.parametrize(
    ("status", "body", "error_type"),
    [
        (
            400,
            {
                "statusCode": 400,
                "message": ["page must not be less than 0"],
                "error": "Bad Request",
            },
            Exception,
        ),
        (
            403,
            {
                "code": "PLAN_LIMIT_REACHED",
                "feature": "api",
                "statusCode": 403,
                "message": "Plan limit reached",
            },
            MeetergoAuthError,
        ),
        (
            404,
            {"statusCode": 404, "message": "Not Found", "error": "Not Found"},
            MeetergoNotFoundError,
        ),
    ],
)
def test_client_errors_are_not_retried(sim, status, body, error_type) -> None:
    sim.faults.add(method="GET", path="/v4/user/me", times=1, status=status, body=body)
    with make_client(sim) as client, pytest.raises(error_type) as raised:
        client.get_me()
    assert raised.value.status_code == status
    assert raised.value.message == body["message"]
    assert sim.stats.total == 1


def test_stalled_body_times_out_and_is_retried(sim: SimulatorServer) -> None:
    sim.faults.add(method="GET", path="/v4/user/me", times=1, delay_s=3.0)
    with make_client(sim, timeout_s=0.5) as client:
        assert client.get_me()["id"] == sim.admin_user_id
    assert sim.stats.total == 2


@pytest.mark.parametrize("fault", [{"drop": True}, {"truncate": True}])
def test_broken_page_is_retried_never_taken_as_the_last_page(sim, fault) -> None:
    user_id = busiest_user(sim)
    sim.faults.add(method="GET", path=PAGED, query={"page": "1"}, times=1, **fault)
    with make_client(sim) as client:
        ids = read_all_appointment_ids(client, user_id)
    assert set(ids) == set(sim.tenant.appointment_ids_for_user(user_id))


def test_post_is_not_retried_on_5xx_but_is_on_429(sim: SimulatorServer) -> None:
    meeting_type = next(mt for mt in sim.tenant.meeting_types if mt["userId"] == sim.admin_user_id)
    booking = {
        "meetingTypeId": meeting_type["id"],
        "start": "2031-03-03T10:00:00.000Z",
        "hostIds": [sim.admin_user_id],
        "attendee": {
            "email": "a@example.com",
            "firstname": "Zoë",
            "lastname": "Ånström",
            "receiveReminders": False,
            "notes": {},
        },
    }
    sim.faults.add(method="POST", path="/v4/booking", times=1, status=503)
    with make_client(sim) as client:
        with pytest.raises(MeetergoServerError):
            client.create_booking(booking)
        assert sim.stats.total == 1
        sim.faults.add(method="POST", path="/v4/booking", times=1, status=429)
        created = client.create_booking(booking)
    assert created["appointmentId"] in sim.tenant.appointments
    assert sim.stats.total == 3


def test_changed_response_shape_fails_at_once_naming_the_field(sim: SimulatorServer) -> None:
    user_id = busiest_user(sim)
    sim.faults.add(method="GET", path=PAGED, status=200, body={"items": [], "total": 0})
    with make_client(sim) as client, pytest.raises(MeetergoResponseShapeError) as raised:
        read_all_appointment_ids(client, user_id)
    assert "`appointments`" in str(raised.value)
    assert sim.stats.total == 1  # well-formed JSON of another shape: retrying cannot help


# --- inconsistent pages --------------------------------------------------------------------


def test_a_row_repeated_within_one_page_is_yielded_once(sim: SimulatorServer) -> None:
    user_id = busiest_user(sim)
    first, second = sim.tenant.appointment_ids_for_user(user_id)[:2]
    rows = [sim.tenant.appointments[first], sim.tenant.appointments[first]]
    rows.append(sim.tenant.appointments[second])
    sim.faults.add(method="GET", path=PAGED, status=200, body={"appointments": rows, "total": 3})
    with make_client(sim) as client:
        pages = list(client.fetch_appointment_pages(user_id))
    assert pages[0].ids == [first, second]
    assert [row["id"] for row in pages[0].rows()] == [first, second]
    ids = [row_id for page in pages for row_id in page.ids]
    assert len(ids) == len(set(ids))  # the short count made it re-read the listing: no repeats
    assert set(ids) == set(sim.tenant.appointment_ids_for_user(user_id))


def test_repeated_page_is_re_read(sim: SimulatorServer) -> None:
    user_id = busiest_user(sim)
    sim.faults.repeat_page(PAGED, page=2, times=1)
    with make_client(sim) as client:
        ids = read_all_appointment_ids(client, user_id)
    assert len(ids) == len(set(ids))
    assert set(ids) == set(sim.tenant.appointment_ids_for_user(user_id))


def test_persistently_repeated_page_fails(sim: SimulatorServer) -> None:
    user_id = busiest_user(sim)
    sim.faults.repeat_page(PAGED, page=1, times=5)
    with make_client(sim) as client, pytest.raises(MeetergoPaginationError):
        read_all_appointment_ids(client, user_id)


def test_rows_shifting_during_paging_are_neither_lost_nor_duplicated(
    sim: SimulatorServer,
) -> None:
    user_id = busiest_user(sim)
    meeting_type = next(mt for mt in sim.tenant.meeting_types if mt["userId"] == user_id)
    new_ids: list[str] = []

    def book_two_more() -> None:
        for hour in (9, 11):
            created = sim.tenant.create_booking(
                meeting_type_id=meeting_type["id"],
                start=f"2031-05-0{len(new_ids) + 1}T{hour:02d}:00:00Z",
                host_ids=[user_id],
                attendee={"email": "x@example.com", "firstname": "Jürgen", "lastname": "Ø"},
            )
            new_ids.append(created["id"])

    sim.faults.on_request(PAGED, {"page": "1"}, book_two_more, times=1)
    with make_client(sim) as client:
        ids = read_all_appointment_ids(client, user_id)
    assert len(new_ids) == 2
    assert len(ids) == len(set(ids))
    assert set(ids) == set(sim.tenant.appointment_ids_for_user(user_id))


# --- secrets -------------------------------------------------------------------------------


def test_secret_never_reaches_logs_or_errors(sim: SimulatorServer, caplog) -> None:
    secret = sim.api_key.split(":")[-1]
    caplog.set_level(logging.DEBUG)
    sim.faults.add(method="GET", path="/v4/user/me", times=1, status=500)
    sim.faults.add(method="GET", path="/v4/user/me", times=1, status=429)
    sim.faults.add(method="GET", path="/v4/user/me", times=1, delay_s=2.0)
    errors: list[str] = []
    with make_client(sim, timeout_s=0.5, max_attempts=8) as client:
        client.get_me()
        errors.append(repr(client.http._credential))
        sim.faults.add(
            method="GET",
            path="/v4/user/me",
            times=1,
            status=401,
            body={"statusCode": 401, "message": "Invalid API key"},
        )
        with pytest.raises(MeetergoAuthError) as raised:
            client.get_me()
        errors += [str(raised.value), repr(raised.value), repr(client), repr(client.http.__dict__)]
    assert caplog.records, "expected DEBUG records from httpx/httpcore and the client"
    assert secret not in caplog.text
    assert all(secret not in text for text in errors)


# --- rate budget ---------------------------------------------------------------------------


def test_budget_waits_exactly_as_long_as_the_bucket_requires() -> None:
    now = [0.0]
    sleep_log: list[float] = []

    def sleep(seconds: float) -> None:
        sleep_log.append(seconds)
        now[0] += seconds

    budget = RateBudget(60, 10, clock=lambda: now[0], sleep=sleep)
    for _ in range(25):
        budget.acquire()
    assert now[0] == pytest.approx(15.0)
    assert budget.requests_granted == 25


def test_budget_is_shared_between_processes(tmp_path) -> None:
    now = [1000.0]
    first = RateBudget(60, 5, state_path=tmp_path / "b.json", clock=lambda: now[0], sleep=None)
    second = RateBudget(60, 5, state_path=tmp_path / "b.json", clock=lambda: now[0], sleep=None)
    assert [first._try_take() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert [second._try_take() for _ in range(2)] == [0.0, 0.0]
    assert second._try_take() == pytest.approx(1.0)
    assert first._try_take() == pytest.approx(1.0)


def test_budgeted_read_meets_no_429_under_the_simulated_limit() -> None:
    config = SimulatorConfig(
        seed=3, users=4, appointments=1500, rate_limit_per_minute=1200, rate_limit_burst=20
    )
    with SimulatorServer(config, port=0) as limited:
        budget = RateBudget(1200 * 0.9, 20 * 0.9)
        with connect(limited.base_url, limited.api_key, budget=budget) as client:
            user_ids = [user_id for page in client.fetch_user_pages() for user_id in page.ids]
            rows = list(client.fetch_pages_in_parallel(user_ids, client.fetch_appointment_pages))
        assert sum(len(page) for _user, page in rows if page) >= 400
        assert sum(page is None for _user, page in rows) == len(user_ids)
        assert limited.stats.status_counts.get(429, 0) == 0
        assert client.http.requests_sent == limited.stats.total > 20
        assert limited.stats.max_in_window(1.0) <= 1200 / 60 + 20


# Two `meetergo-pipeline fetch` processes against one key. The simulator allows 1200/min
# with a burst of 20; each process may use a share of 0.8 of 1200/min with a burst of 10
# (16/s, burst 8). Sharing one budget, both together stay within that share; each on its
# own budget, together they would spend 32/s, beyond the key's limit. The clients are told
# a smaller burst than the simulator allows so that a process descheduled on a busy machine
# cannot bunch its requests into a 429 the budget did not cause.
SHARED_KEY_LIMIT = SimulatorConfig(
    seed=5, users=8, appointments=4000, rate_limit_per_minute=1200, rate_limit_burst=20
)
FETCH_SHARE = {
    "MEETERGO_API_BUDGET_SHARE": "0.8",
    "MEETERGO_API_RATE_LIMIT_PER_MINUTE": "1200",
    "MEETERGO_API_RATE_LIMIT_BURST": "10",
}
SCRIPT = Path(sys.executable).parent / "meetergo-pipeline"
REQUESTS_LINE = re.compile(r"requests spent: (\d+) \((\d+) retried, (\d+) answered 429\)")


def fetch_in_two_processes(
    limited: SimulatorServer, cwd: Path, budget_dirs: tuple[Path | None, Path | None]
) -> list[tuple[int, int]]:
    """Run two `fetch` processes at once; (requests sent, 429s met) of each."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MEETERGO_")}
    base |= limited.environment() | FETCH_SHARE
    processes = [
        subprocess.Popen(
            [str(SCRIPT), "fetch"],
            cwd=cwd,
            env=base | ({"MEETERGO_API_BUDGET_DIR": str(folder)} if folder else {}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for folder in budget_dirs
    ]
    counts = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-3000:]
        assert f"appointments:   {SHARED_KEY_LIMIT.appointments} distinct" in out
        spent = REQUESTS_LINE.search(out)
        assert spent is not None, out
        counts.append((int(spent[1]), int(spent[3])))
    return counts


def test_two_processes_share_one_budget_by_default(tmp_path: Path) -> None:
    with SimulatorServer(SHARED_KEY_LIMIT, port=0) as limited:
        counts = fetch_in_two_processes(limited, tmp_path, (None, None))
        assert [met_429 for _sent, met_429 in counts] == [0, 0]
        assert limited.stats.status_counts.get(429, 0) == 0
        assert sum(sent for sent, _met in counts) == limited.stats.total > 2 * 50
        # One share allows at most its burst plus 2 s of refill in any 2 s (8 + 2 x 16);
        # two unshared budgets would allow twice that. The margin absorbs network jitter.
        assert limited.stats.max_in_window(2.0) <= 8 + 2 * 16 + 8
    (state,) = (tmp_path / "data" / "api_budget").glob("rate-budget-*.json")
    assert limited.api_key.rsplit(":", 1)[-1] not in state.read_text()


def test_two_processes_with_their_own_budgets_exceed_the_key_limit(tmp_path: Path) -> None:
    """Guards the test above: the same two fetches, each on its own budget, meet 429s."""
    with SimulatorServer(SHARED_KEY_LIMIT, port=0) as limited:
        counts = fetch_in_two_processes(limited, tmp_path, (tmp_path / "a", tmp_path / "b"))
        assert limited.stats.status_counts.get(429, 0) >= 1
        assert sum(met_429 for _sent, met_429 in counts) == limited.stats.status_counts[429]


def test_unbudgeted_burst_does_hit_the_simulated_limit() -> None:
    """Guards the test above: without the budget the same read does meet 429s."""
    config = SimulatorConfig(
        seed=3,
        users=4,
        appointments=400,
        rate_limit_per_minute=60,
        rate_limit_burst=5,
        retry_after_probability=1.0,
    )
    with SimulatorServer(config, port=0) as limited:
        http = MeetergoHTTP(
            limited.base_url,
            Credential.parse(limited.api_key),
            RateBudget(1e9, 1e9),
            sleep=lambda _s: None,
            max_attempts=1,
        )
        client = MeetergoClient(http, limited.admin_user_id)
        with pytest.raises(MeetergoRateLimitError):
            for _ in range(10):
                client.get_me()
        assert limited.stats.status_counts.get(429, 0) >= 1


def test_a_stop_request_ends_a_budget_wait_at_once() -> None:
    budget = RateBudget(per_minute=1, burst=1)  # the second token comes after a minute
    budget.acquire()
    requester = threading.Timer(0.3, stop.request_stop)
    started = time.monotonic()
    requester.start()
    try:
        with pytest.raises(stop.StopRequested):
            budget.acquire()
    finally:
        requester.cancel()
        stop.reset()
    assert time.monotonic() - started < 1.5


def test_a_listing_closed_early_cancels_its_waiting_workers(sim: SimulatorServer) -> None:
    """The consumer leaves after one page: the workers waiting on the budget send nothing more."""
    client = connect(
        sim.base_url,
        sim.api_key,
        acting_user_id=sim.admin_user_id,
        budget=RateBudget(per_minute=6, burst=2),  # two requests, then one every 10 s
    )
    user_ids = [user["id"] for user in sim.tenant.users]
    listing = client.fetch_pages_in_parallel(user_ids, client.fetch_appointment_pages, workers=4)
    next(listing)
    started = time.monotonic()
    listing.close()
    closed_in = time.monotonic() - started
    sent = sim.stats.total
    time.sleep(1.0)
    client.close()
    assert closed_in < 1.0
    assert sim.stats.total == sent <= 2
