"""`webhooks register | list | unregister` against the simulator's webhook API, with a real
receiver on loopback: idempotent, bounded by meetergo's limit, never showing the token."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from meetergo_pipeline.cli import main
from meetergo_pipeline.client import build_client
from meetergo_pipeline.settings import Settings
from meetergo_pipeline.simulator import SimulatorServer
from meetergo_pipeline.webhooks.registration import SUBSCRIBED_EVENTS, masked_endpoint
from meetergo_pipeline.webhooks.server import ReceiverServer
from meetergo_pipeline_tests.support.pipeline_env import PipelineEnv

TOKEN = "registration-test-token-0123456789"


@pytest.fixture
def receiver(pipeline_env: PipelineEnv, tmp_path: Path) -> Iterator[ReceiverServer]:
    with ReceiverServer(TOKEN, tmp_path / "receiver_log") as server:
        yield server


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["webhooks", *args])
    out, err = capsys.readouterr()
    assert TOKEN not in out + err
    return code, out, err


def test_register_twice_keeps_one_registration_that_receives_deliveries(
    small_simulator: SimulatorServer,
    receiver: ReceiverServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, first, _ = cli(capsys, "register", "--url", receiver.url)
    assert code == 0
    [webhook] = small_simulator.tenant.webhooks.values()
    assert webhook["endpoint"] == receiver.url
    assert webhook["eventTypes"] == list(SUBSCRIBED_EVENTS)
    masked = f"{receiver.base_url}/webhooks/meetergo/***"
    assert first == f"registered: {webhook['id']} {masked} ({', '.join(SUBSCRIBED_EVENTS)})\n"

    code, second, _ = cli(capsys, "register", "--url", receiver.url, "--events", "booking_created")
    assert code == 0
    assert second.startswith(f"already registered: {webhook['id']} {masked} (")
    assert list(small_simulator.tenant.webhooks) == [webhook["id"]]

    small_simulator.tenant.add_random_bookings(1)
    deadline = time.monotonic() + 10
    while not list((receiver.log_dir).glob("*.jsonl")) and time.monotonic() < deadline:
        time.sleep(0.05)
    [log] = receiver.log_dir.glob("*.jsonl")
    assert '"booking_created"' in log.read_text()


def test_seventh_registration_names_the_limit_and_how_to_make_room(
    small_simulator: SimulatorServer,
    receiver: ReceiverServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with build_client(Settings.from_env().client) as client:
        for n in range(6):
            client.register_webhook(f"https://hooks.example/{n}", ["booking_created"])
    code, out, err = cli(capsys, "register", "--url", receiver.url)
    assert (code, out) == (2, "")
    assert err == (
        "error: meetergo allows at most 6 webhooks per company and 6 are registered: "
        "unregister one with `meetergo-pipeline webhooks unregister ID` (`webhooks list` "
        "shows the ids), then register again\n"
    )
    assert len(small_simulator.tenant.webhooks) == 6
    assert receiver.url not in {w["endpoint"] for w in small_simulator.tenant.webhooks.values()}


def test_list_masks_the_token_and_unregister_removes_the_webhook(
    small_simulator: SimulatorServer,
    receiver: ReceiverServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli(capsys, "register", "--url", receiver.url)[0] == 0
    with build_client(Settings.from_env().client) as client:
        other = client.register_webhook(
            "https://hooks.example/private-path?key=s3cr3t", ["booking_cancelled"]
        )
    [ours] = [w for w in small_simulator.tenant.webhooks.values() if w["endpoint"] == receiver.url]

    code, listing, _ = cli(capsys, "list")
    assert code == 0
    assert listing.splitlines() == [
        f"{ours['id']}  {receiver.base_url}/webhooks/meetergo/***  " + ", ".join(SUBSCRIBED_EVENTS),
        f"{other['id']}  https://hooks.example/***  booking_cancelled",
        "2 of at most 6 webhooks registered",
    ]
    assert "s3cr3t" not in listing

    code, out, _ = cli(capsys, "unregister", ours["id"])
    assert (code, out) == (0, f"unregistered: {ours['id']} {masked_endpoint(receiver.url)}\n")
    assert list(small_simulator.tenant.webhooks) == [other["id"]]
    code, out, err = cli(capsys, "unregister", ours["id"])
    assert (code, out) == (2, "")
    assert f"DELETE /webhooks/{ours['id']} failed with 404" in err


def test_register_refuses_a_url_that_is_not_http(
    small_simulator: SimulatorServer, receiver: ReceiverServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = cli(capsys, "register", "--url", f"/webhooks/meetergo/{TOKEN}")
    assert (code, out) == (2, "")
    assert "--url must be the receiver's absolute URL" in err
    assert "/webhooks/meetergo/***" in err
    assert small_simulator.tenant.webhooks == {}
