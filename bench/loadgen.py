"""Load generators: separate processes (multiprocessing, spawn), each one uvloop event loop.

The measuring process never sends load itself: it starts `LoadGen(n)`, hands every child a
command over a pipe, and gathers what they measured. Children stay up between commands, so
a floor and its subject can be measured in interleaved rounds by the same generators.

HTTP is spoken by a minimal keep-alive HTTP/1.1 client over asyncio streams, with request
bytes built once in the parent: per request the generator only writes bytes, reads the head,
and reads Content-Length bytes. That keeps its CPU per request far below the server's;
every command reports the generator's own CPU seconds so the report can show it.
Websockets use the `websockets` library (graphql-transport-ws spoken by hand).

Every loop is bounded by a deadline and a count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

GQL_SUBPROTOCOL = "graphql-transport-ws"
WATCH = "subscription($id: ID!) { productJob(id: $id) { id status imagesDone } }"


# ---------------------------------------------------------------- request building (parent side)


def http_request(path: str, body: bytes, headers: dict[str, str], host: str = "127.0.0.1") -> bytes:
    """A complete HTTP/1.1 POST, keep-alive, as bytes."""
    head = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def graphql_json(query: str, variables: dict[str, Any], token: str | None) -> bytes:
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return http_request("/graphql", body, headers)


def graphql_multipart(query: str, image: bytes, token: str) -> bytes:
    """The GraphQL multipart request spec with one file mapped to variables.images.0.upload."""
    boundary = "foodaibenchboundary7c1f"
    ops = json.dumps({"query": query, "variables": {"images": [{"upload": None}]}})
    parts = [
        (b'Content-Disposition: form-data; name="operations"\r\n\r\n', ops.encode()),
        (b'Content-Disposition: form-data; name="map"\r\n\r\n', b'{"0": ["variables.images.0.upload"]}'),
        (b'Content-Disposition: form-data; name="0"; filename="receipt.jpg"\r\nContent-Type: image/jpeg\r\n\r\n',
         image),
    ]
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + h + v + b"\r\n" for h, v in parts)
    body += b"--" + boundary.encode() + b"--\r\n"
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Authorization": f"Bearer {token}",
               "Apollo-Require-Preflight": "true"}
    return http_request("/graphql", body, headers)


# ---------------------------------------------------------------- the minimal HTTP client (child side)


class HttpConn:
    """One keep-alive HTTP/1.1 connection; `call` sends prepared bytes and returns (status, body)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> HttpConn:
        reader, writer = await asyncio.open_connection(host, port, limit=2**20)
        return cls(reader, writer)

    async def call(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"content-length:")
        if at < 0:
            raise RuntimeError(f"no content-length in response head: {head[:300]!r}")
        length = int(lower[at + 15 : lower.find(b"\r\n", at)])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    errors: int = 0
    error_sample: str | None = None

    def record(self, ms: float, status: int, body: bytes) -> None:
        self.latencies.append(ms)
        if status == 200 and b'"errors"' not in body:
            self.ok += 1
        else:
            self.errors += 1
            self.error_sample = self.error_sample or f"{status} {body[:300]!r}"


async def http_load(host: str, port: int, requests: list[bytes], conns: int, start_at: float, duration_s: float,
                    max_requests: int) -> dict[str, Any]:
    """`conns` closed-loop clients, each sending its next request as soon as the last is answered."""
    tally = Tally()
    await _sleep_until(start_at)
    stop_at = start_at + duration_s

    async def client(n: int) -> None:
        conn = await HttpConn.open(host, port)
        i = n
        try:
            while time.monotonic() < stop_at and len(tally.latencies) < max_requests:
                t0 = time.perf_counter()
                status, body = await conn.call(requests[i % len(requests)])
                tally.record((time.perf_counter() - t0) * 1000, status, body)
                i += conns
        finally:
            conn.close()

    await asyncio.gather(*(client(n) for n in range(conns)))
    return {"latencies_ms": tally.latencies, "ok": tally.ok, "errors": tally.errors,
            "error_sample": tally.error_sample, "wall_s": time.monotonic() - start_at}


async def _sleep_until(when: float) -> None:
    delay = when - time.monotonic()  # CLOCK_MONOTONIC: one clock for every process on the machine
    if delay > 0:
        await asyncio.sleep(delay)


# ---------------------------------------------------------------- graphql-transport-ws


class GqlSocket:
    """One graphql-transport-ws connection; many subscriptions, each ended by `terminal` statuses."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.next_id = 0
        self.waiters: dict[str, asyncio.Future[float]] = {}
        self.first: dict[str, asyncio.Future[float]] = {}
        self.reader: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, url: str, token: str) -> GqlSocket:
        import websockets

        sock = await websockets.connect(url, subprotocols=[GQL_SUBPROTOCOL], max_size=2**22,  # type: ignore[list-item]
                                        open_timeout=60, ping_interval=None)
        await sock.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        ack = json.loads(await sock.recv())
        if ack.get("type") != "connection_ack":
            raise RuntimeError(f"no connection_ack: {ack}")
        me = cls(sock)
        me.reader = asyncio.create_task(me._read())
        return me

    async def watch(self, job_id: str) -> tuple[asyncio.Future[float], asyncio.Future[float]]:
        """Subscribe; futures resolve with the monotonic time of the first event and of DONE/FAILED."""
        self.next_id += 1
        op = str(self.next_id)
        loop = asyncio.get_running_loop()
        first, done = loop.create_future(), loop.create_future()
        self.first[op], self.waiters[op] = first, done
        await self.sock.send(json.dumps(
            {"id": op, "type": "subscribe", "payload": {"query": WATCH, "variables": {"id": job_id}}}))
        return first, done

    async def _read(self) -> None:
        async for raw in self.sock:
            now = time.monotonic()
            msg = json.loads(raw)
            op = msg.get("id")
            if msg["type"] == "next":
                job = (msg["payload"].get("data") or {}).get("productJob") or {}
                first = self.first.pop(op, None)
                if first is not None and not first.done():
                    first.set_result(now)
                if job.get("status") in ("DONE", "FAILED"):
                    self._resolve(op, now)
            elif msg["type"] in ("error", "complete"):
                self._resolve(op, None, msg)

    def _resolve(self, op: str, when: float | None, msg: Any = None) -> None:
        waiter = self.waiters.pop(op, None)
        if waiter is not None and not waiter.done():
            if when is None:
                waiter.set_exception(RuntimeError(f"subscription ended without DONE: {msg}"))
            else:
                waiter.set_result(when)

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sock.close(), 5)


# ---------------------------------------------------------------- end to end: submit -> DONE


async def e2e_load(host: str, port: int, users: list[dict[str, Any]], rate: float, jobs: int, duration_s: float,
                   http_conns: int, start_at: float, timeout_s: float = 30.0) -> dict[str, Any]:
    """Submit over HTTP, watch over websockets, time submit -> DONE.

    rate == 0: one job at a time. rate > 0: open loop, a job every 1/rate s (until `jobs` or
    `duration_s`), users taken round-robin; each user has its own websocket.
    """
    url = f"ws://{host}:{port}/graphql"
    sockets = [await GqlSocket.open(url, u["token"]) for u in users]
    pool: asyncio.Queue[HttpConn] = asyncio.Queue()
    for _ in range(http_conns):
        pool.put_nowait(await HttpConn.open(host, port))
    out: dict[str, list[float]] = {"total_ms": [], "submit_ms": [], "after_submit_ms": []}
    failures: list[str] = []

    async def one(n: int) -> None:
        user, sock = users[n % len(users)], sockets[n % len(users)]
        conn = await pool.get()
        t0 = time.monotonic()
        try:
            status, body = await conn.call(user["submit"])
        finally:
            pool.put_nowait(conn)
        t1 = time.monotonic()
        try:
            job_id = json.loads(body)["data"]["submitReceipt"]["id"]
            _, done = await sock.watch(job_id)
            t2 = await asyncio.wait_for(done, timeout_s)
        except Exception as exc:
            failures.append(f"{status} {exc!r} {body[:200]!r}")
            return
        out["total_ms"].append((t2 - t0) * 1000)
        out["submit_ms"].append((t1 - t0) * 1000)
        out["after_submit_ms"].append((t2 - t1) * 1000)

    await _sleep_until(start_at)
    stop_at = start_at + duration_s
    if rate <= 0:
        for n in range(jobs):
            if time.monotonic() > stop_at:
                break
            await one(n)
    else:
        tasks = []
        for n in range(jobs):
            due = start_at + n / rate
            if due > stop_at:
                break
            await _sleep_until(due)
            tasks.append(asyncio.create_task(one(n)))
        _, late = await asyncio.wait(tasks, timeout=max(1.0, stop_at + timeout_s - time.monotonic()))
        for task in late:  # bounded: what has not finished by then counts as failed
            task.cancel()
        failures += [f"unfinished {timeout_s:g} s after the last submit"] * len(late)
    wall = time.monotonic() - start_at
    for sock in sockets:
        await sock.close()
    while not pool.empty():
        pool.get_nowait().close()
    return {**out, "failures": failures[:5], "failed": len(failures), "wall_s": wall}


# ---------------------------------------------------------------- many idle subscriptions


async def hold_subscriptions(host: str, port: int, subs: list[tuple[str, str]], phase: Connection,
                             open_concurrency: int = 64) -> dict[str, Any]:
    """One websocket per (token, job id); report 'ready' when every one got its first event, then
    record when each DONE arrives, until the parent says 'collect'."""
    url = f"ws://{host}:{port}/graphql"
    gate = asyncio.Semaphore(open_concurrency)
    sockets: list[GqlSocket] = []
    received: dict[str, float] = {}
    failures: list[str] = []

    async def open_one(token: str, job_id: str) -> None:
        try:
            async with gate:
                sock = await GqlSocket.open(url, token)
                sockets.append(sock)
                first, done = await sock.watch(job_id)
                await asyncio.wait_for(first, 120)
        except Exception as exc:
            failures.append(repr(exc))
            return
        done.add_done_callback(lambda f: received.__setitem__(job_id, f.result()) if not f.exception() else None)

    t0 = time.monotonic()
    await asyncio.gather(*(open_one(t, j) for t, j in subs))
    loop = asyncio.get_running_loop()
    phase.send({"phase": "ready", "open": len(sockets), "failed": len(failures), "open_s": time.monotonic() - t0})
    command = await loop.run_in_executor(None, phase.recv)
    assert command == "collect", command
    for start in range(0, len(sockets), 500):
        await asyncio.gather(*(s.close() for s in sockets[start : start + 500]))
    return {"received": received, "failures": failures[:5], "failed": len(failures)}


# ---------------------------------------------------------------- the process pool


HANDLERS: dict[str, Callable[..., Coroutine[Any, Any, dict[str, Any]]]] = {
    "http": http_load, "e2e": e2e_load, "subs": hold_subscriptions,
}


def _child(conn: Connection) -> None:
    import resource

    try:
        import uvloop

        run: Callable[[Any], Any] = uvloop.run
    except ImportError:  # pragma: no cover
        run = asyncio.run
    while True:
        command = conn.recv()
        if command is None:
            return
        kind, kwargs = command
        if kind == "subs":
            kwargs["phase"] = conn
        before = resource.getrusage(resource.RUSAGE_SELF)
        try:
            result = run(HANDLERS[kind](**kwargs))
        except Exception as exc:
            result = {"crashed": repr(exc)}
        after = resource.getrusage(resource.RUSAGE_SELF)
        result["cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        conn.send(result)


class LoadGen:
    """`n` generator processes; `run(kind, [kwargs per process])` returns their results."""

    def __init__(self, n: int) -> None:
        ctx = mp.get_context("spawn")
        self._pipes: list[Connection] = []
        self._procs = []
        for _ in range(n):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_child, args=(child,), daemon=True)
            proc.start()
            self._pipes.append(parent)
            self._procs.append(proc)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs if p.pid is not None]

    def send(self, kind: str, per_process: list[dict[str, Any]]) -> None:
        for pipe, kwargs in zip(self._pipes, per_process, strict=False):
            pipe.send((kind, kwargs))

    def recv(self, count: int | None = None) -> list[Any]:
        return [pipe.recv() for pipe in self._pipes[: count or len(self._pipes)]]

    def tell(self, message: Any, count: int | None = None) -> None:
        for pipe in self._pipes[: count or len(self._pipes)]:
            pipe.send(message)

    def run(self, kind: str, per_process: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self.send(kind, per_process)
        return self.recv(len(per_process))

    def close(self) -> None:
        for pipe in self._pipes:
            with contextlib.suppress(OSError):
                pipe.send(None)
        for proc in self._procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()

    def __enter__(self) -> LoadGen:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
