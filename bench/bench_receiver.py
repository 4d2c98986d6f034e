"""Benchmark: webhook receiver throughput/latency over loopback, then ingest of a 1M-line log.

    .venv/bin/python bench/bench_receiver.py [--deliveries 20000] [--senders 32] [--lines 1000000]

The receiver runs in its own process (uvicorn, as in production); 32 httpx senders share the
deliveries. The ingest runs in a child process so its peak RSS is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import ROOT, Row, format_table, run_measured, tail

TARGET_RATE = 2_000.0
TARGET_P99_MS = 50.0
TARGET_INGEST_S = 30.0
TARGET_INGEST_RSS_MB = 2048.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--senders", type=int, default=32)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument(
        "--ingest-child", nargs=2, metavar=("LOG_DIR", "DB"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.ingest_child:
        return _ingest_child(Path(args.ingest_child[0]), Path(args.ingest_child[1]))

    print(format_table(run(args.deliveries, args.senders, args.max_seconds, args.lines)))
    return 0


def run(
    deliveries: int = 20_000, senders: int = 32, max_seconds: float = 60.0, lines: int = 1_000_000
) -> list[Row]:
    """Receiver throughput/latency (httpx and raw senders), then the ingest of `lines` lines."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as scratch:
        work = Path(scratch)
        sent = _bench_receiver(work / "receiver", deliveries, senders, max_seconds)
        for kind, label in (("httpx", "httpx senders"), ("raw", "raw asyncio senders")):
            run = sent[kind]
            rows += [
                Row(
                    f"durable deliveries/s, {senders} {label}",
                    f">= {TARGET_RATE:,.0f}",
                    f"{run['rate']:,.0f}",
                    run["rate"] >= TARGET_RATE,
                ),
                Row(
                    f"p99 latency, {senders} {label}",
                    f"<= {TARGET_P99_MS:.0f} ms",
                    f"{run['p99_ms']:.1f} ms (p50 {run['p50_ms']:.1f} ms)",
                    run["p99_ms"] <= TARGET_P99_MS,
                ),
            ]
        rows.append(
            Row(
                "deliveries acknowledged == logged",
                "equal",
                f"{sent['acked']:,} / {sent['logged']:,}",
                sent["acked"] == sent["logged"],
            )
        )
        ingest = _bench_ingest(work / "ingest", lines)
        rows += [
            Row(
                f"ingest {lines:,} webhook log lines",
                f"<= {TARGET_INGEST_S:.0f} s",
                f"{ingest['seconds']:.1f} s ({ingest['rows']:,} events / "
                f"{ingest['deliveries']:,} deliveries)",
                ingest["seconds"] <= TARGET_INGEST_S,
            ),
            Row(
                "ingest peak RSS (child process)",
                f"<= {TARGET_INGEST_RSS_MB / 1024:.0f} GB",
                f"{ingest['peak_rss_mb']:,.0f} MB",
                ingest["peak_rss_mb"] <= TARGET_INGEST_RSS_MB,
            ),
        ]
    return rows


def _bench_receiver(log_dir: Path, deliveries: int, senders: int, max_seconds: float) -> dict:
    token = secrets.token_urlsafe(32)
    process = subprocess.Popen(
        [sys.executable, "-m", "meetergo_pipeline.webhooks", "serve", "--port", "0",
         "--log-dir", str(log_dir)],
        env={**os.environ, "MEETERGO_WEBHOOK_TOKEN": token},
        stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        port = _wait_for_port(process)
        url = f"http://127.0.0.1:{port}/webhooks/meetergo/{token}"
        results = {
            kind: _summarise(*asyncio.run(_send(url, deliveries, senders, max_seconds, kind)))
            for kind in ("httpx", "raw")
        }
    finally:
        process.terminate()
        process.wait(timeout=30)
    results["logged"] = sum(
        len(p.read_bytes().splitlines()) for p in log_dir.glob("events-*.jsonl")
    )
    results["acked"] = results["httpx"]["acked"] + results["raw"]["acked"]
    return results


def _summarise(latencies: list[float], elapsed: float) -> dict:
    latencies.sort()
    return {
        "rate": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "acked": len(latencies),
    }


async def _send(
    url: str, deliveries: int, senders: int, max_seconds: float, client_kind: str
) -> tuple[list[float], float]:
    """``senders`` concurrent loops share the deliveries; each has its own connection."""
    latencies: list[float] = []
    remaining = iter(range(deliveries))
    deadline = time.perf_counter() + max_seconds

    async def sender() -> None:
        post = await (_httpx_poster(url) if client_kind == "httpx" else _raw_poster(url))
        try:
            for number in remaining:
                if time.perf_counter() > deadline:
                    return
                body = _synthetic_body(number).encode()
                started = time.perf_counter()
                if await post.send(body) == 200:
                    latencies.append(time.perf_counter() - started)
        finally:
            await post.aclose()

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(senders)))
    return latencies, time.perf_counter() - started


class _HttpxPoster:
    def __init__(self, url: str) -> None:
        self.url = url
        # One client per sender: a single httpx pool shared by 32 tasks costs ~3x the CPU.
        self.client = httpx.AsyncClient(timeout=30)

    async def send(self, body: bytes) -> int:
        response = await self.client.post(self.url, content=body)
        return response.status_code

    async def aclose(self) -> None:
        await self.client.aclose()


class _RawPoster:
    """Minimal keep-alive HTTP/1.1 client: shows the receiver's capacity without httpx's CPU."""

    def __init__(self, url: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        parsed = httpx.URL(url)
        self.head = (
            f"POST {parsed.raw_path.decode()} HTTP/1.1\r\nHost: {parsed.host}\r\n"
            "Content-Type: application/json\r\nContent-Length: "
        ).encode()
        self.reader, self.writer = reader, writer

    async def send(self, body: bytes) -> int:
        self.writer.write(self.head + str(len(body)).encode() + b"\r\n\r\n" + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
        await self.reader.readexactly(length)
        return int(head.split(b" ", 2)[1])

    async def aclose(self) -> None:
        self.writer.close()


async def _httpx_poster(url: str) -> _HttpxPoster:
    return _HttpxPoster(url)


async def _raw_poster(url: str) -> _RawPoster:
    parsed = httpx.URL(url)
    reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
    return _RawPoster(url, reader, writer)


def _bench_ingest(work: Path, lines: int) -> dict:
    log_dir = work / "log"
    log_dir.mkdir(parents=True)
    _write_synthetic_log(log_dir / "events-2025-03-01.jsonl", lines)
    # The child's own peak RSS (VmHWM), not the receiver's or this process's.
    child = run_measured(
        [sys.executable, __file__, "--ingest-child", str(log_dir), str(work / "bench.duckdb")],
        cwd=ROOT,
    )
    if child.returncode != 0:
        raise RuntimeError(f"ingest failed:\n{tail(child.output)}")
    result = json.loads(child.output.strip().splitlines()[-1])
    result["peak_rss_mb"] = child.peak_rss_mb
    return result


def _ingest_child(log_dir: Path, db_path: Path) -> int:
    from meetergo_pipeline.warehouse.connection import connect_writer
    from meetergo_pipeline.webhooks.ingest import ingest_webhook_logs

    con = connect_writer(db_path)  # the pipeline's own connection, memory cap included
    started = time.perf_counter()
    result = ingest_webhook_logs(con, log_dir)
    seconds = time.perf_counter() - started
    (rows,) = con.execute("SELECT count(*) FROM raw.webhook_events").fetchone()
    deliveries = result.new_events + result.duplicates
    print(json.dumps({"seconds": seconds, "rows": rows, "deliveries": deliveries}))
    return 0


def _write_synthetic_log(path: Path, lines: int) -> None:
    """Receiver-shaped lines; every 10th repeats an earlier delivery (at-least-once)."""
    with path.open("w") as out:
        for number in range(lines):
            body = _synthetic_body(number - 5 if number % 10 == 9 else number)
            second = number % 86_400
            out.write(
                f'{{"received_at":"2025-03-01T{second // 3600:02d}:{second // 60 % 60:02d}:'
                f'{second % 60:02d}.{number % 1_000_000:06d}+00:00","body":{body}}}\n'
            )


def _synthetic_body(number: int) -> str:
    kind = ("booking_created", "booking_rescheduled", "booking_cancelled")[number % 3]
    minute = number % 60
    cancelled = "true" if number % 3 == 2 else "false"
    return (
        f'{{"webhookType":"{kind}","id":"apt-{number // 3:08d}","meetingTypeId":"mt-{number % 17}",'
        f'"start":"2025-03-10T10:{minute:02d}:00+01:00","end":"2025-03-10T10:{minute:02d}:00+01:00",'
        f'"createdAt":"2025-03-01T09:{minute:02d}:00Z","updatedAt":"2025-03-01T09:{minute:02d}:30Z",'
        f'"rescheduledAt":"2025-03-01T09:{minute:02d}:45Z","isCancelled":{cancelled},'
        f'"cancel":{{"actionAt":"2025-03-01T09:{minute:02d}:50Z","reason":"n/a"}},'
        f'"hostIds":["host-{number % 5}"],"attendees":[{{"email":"guest{number}@example.com",'
        f'"firstname":"Guest","lastname":"Number {number}","timezone":"Europe/Berlin"}}]}}'
    )


def _wait_for_port(process: subprocess.Popen[str]) -> int:
    assert process.stderr is not None
    for line in process.stderr:
        found = re.search(r"listening on http://[^:]+:(\d+)", line)
        if found:
            # Keep draining stderr so the receiver never blocks on a full pipe.
            import threading

            threading.Thread(target=process.stderr.read, daemon=True).start()
            return int(found.group(1))
    raise RuntimeError(f"receiver exited with {process.wait()} before listening")


if __name__ == "__main__":
    sys.exit(main())
