"""Scenario 1, submit: 16 and 64 concurrent clients sending submitReceipt with one 200 KB JPEG.

Subjects (the real API process): submitReceipt with the image as base64, and as a multipart
upload. Floors in the same run, interleaved round by round with the subjects: a bare
Starlette route doing the identical insert and Kafka send (bench.floors), and strawberry's
trivial query `{ __typename }` on the API itself. A no-op route on the bare server shows
what the load generator can do when the server costs nothing.

    .venv/bin/python -m bench.s1_submit [--quick] [--profile]
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import Any

import httpx

from bench.common import (
    CpuWindow,
    Stack,
    bench_settings,
    ensure_bench_topics,
    jpeg_bytes,
    percentiles,
    profiled,
    run_scenario,
    settings_summary,
    start_api,
    start_module,
    stop_all,
    summarize_profile,
    token_for,
)
from bench.loadgen import LoadGen, graphql_json, graphql_multipart, http_request

SUBMIT = "mutation($images: [ImageInput!]!) { submitReceipt(images: $images) { id status } }"
GENERATORS = 2


def build_requests(settings: Any, image: bytes, clients: int) -> dict[str, list[bytes]]:
    """Prepared request bytes per target, one per client (each client is its own user)."""
    tokens = [token_for(settings, uuid.uuid4()) for _ in range(clients)]
    variables = {"images": [{"base64": base64.b64encode(image).decode()}]}
    json_bodies = [graphql_json(SUBMIT, variables, t) for t in tokens]
    body = json_bodies[0].split(b"\r\n\r\n", 1)[1]
    return {
        "submit_base64": json_bodies,
        "submit_multipart": [graphql_multipart(SUBMIT, image, t) for t in tokens],
        "bare_route": [http_request("/submit", body, {"Content-Type": "application/json",
                                                      "Authorization": f"Bearer {t}"}) for t in tokens],
        "trivial_query": [graphql_json("{ __typename }", {}, None)],
        "noop_route": [http_request("/noop", body, {"Content-Type": "application/json"})],
    }


def segment(gen: LoadGen, port: int, requests: list[bytes], clients: int, seconds: float,
            cpu: CpuWindow) -> dict[str, Any]:
    """One closed-loop segment from every generator process; raw latencies and CPU shares."""
    start_at = time.monotonic() + 0.3
    per = clients // GENERATORS
    gen.send("http", [{"host": "127.0.0.1", "port": port, "requests": requests[i * per : (i + 1) * per] or requests,
                       "conns": per, "start_at": start_at, "duration_s": seconds, "max_requests": 200_000}
                      for i in range(GENERATORS)])
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu.start()
    results = gen.recv()
    shares = cpu.stop()
    crashed = [r["crashed"] for r in results if "crashed" in r]
    if crashed:
        raise RuntimeError(f"load generator failed: {crashed[0]}")
    wall = max(r["wall_s"] for r in results)
    shares["loadgen"] = round(100 * sum(r["cpu_s"] for r in results) / wall, 1)
    return {"latencies": [x for r in results for x in r["latencies_ms"]], "ok": sum(r["ok"] for r in results),
            "errors": sum(r["errors"] for r in results), "wall_s": wall, "cpu": shares,
            "error_sample": next((r["error_sample"] for r in results if r["error_sample"]), None)}


def merge(segments: list[dict[str, Any]]) -> dict[str, Any]:
    wall = sum(s["wall_s"] for s in segments)
    ok = sum(s["ok"] for s in segments)
    cpu_keys = segments[0]["cpu"].keys()
    return {
        "per_s": round(ok / wall, 1), "ok": ok, "errors": sum(s["errors"] for s in segments),
        "latency_ms": percentiles([x for s in segments for x in s["latencies"]]),
        "cpu_pct": {k: round(sum(s["cpu"][k] * s["wall_s"] for s in segments) / wall, 1) for k in cpu_keys},
        "error_sample": next((s["error_sample"] for s in segments if s["error_sample"]), None),
    }


def wait_http(url: str, deadline_s: float = 30) -> None:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            if httpx.post(url, content=b"{}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(url)
        time.sleep(0.2)


async def _prepare(stack: Stack) -> Any:
    settings = bench_settings(await stack.new_database("s1"), stack)
    await ensure_bench_topics(settings)
    return settings


def run(stack: Stack, *, quick: bool, profile: bool = False) -> dict[str, Any]:
    from app.embedded import free_port

    settings = asyncio.run(_prepare(stack))
    image = jpeg_bytes(200_000)
    api, api_url = start_api(settings, stack)
    bare_port = free_port()
    bare = start_module("bare-route", ["bench.floors", "serve", "--port", str(bare_port)], settings, stack)
    api_port = int(api_url.rsplit(":", 1)[1])
    ports = {"submit_base64": api_port, "submit_multipart": api_port, "trivial_query": api_port,
             "bare_route": bare_port, "noop_route": bare_port}
    seconds, rounds = (2.0, 1) if quick else (10.0, 2)
    out: dict[str, Any] = {"image_bytes": len(image), "segment_s": seconds, "rounds": rounds, "runs": {},
                           "settings": settings_summary(settings, "db_pool_size", "kafka_topic_partitions")}
    try:
        wait_http(f"http://127.0.0.1:{bare_port}/noop")
        with LoadGen(GENERATORS) as gen:
            cpu = CpuWindow({"api": lambda: [api.proc.pid], "bare": lambda: [bare.proc.pid],
                             "postgres": stack.pg_pids, "broker": stack.broker_pids})
            for clients in (16, 64):
                reqs = build_requests(settings, image, clients)
                for target in reqs:  # warm-up: connections, pools, caches
                    segment(gen, ports[target], reqs[target], clients, 1.0, cpu)
                segs: dict[str, list[dict[str, Any]]] = {t: [] for t in reqs}
                for _ in range(rounds):
                    for target in reqs:
                        if target == "noop_route" and segs[target]:
                            continue
                        segs[target].append(segment(gen, ports[target], reqs[target], clients, seconds, cpu))
                        print(f"  {clients:>3} clients {target:<17} {segs[target][-1]['ok'] / seconds:8.1f}/s")
                out["runs"][str(clients)] = {t: merge(s) for t, s in segs.items()}
            if profile:
                reqs = build_requests(settings, image, 16)
                with profiled(api.proc.pid, "s1-api-submit", True):
                    segment(gen, api_port, reqs["submit_base64"], 16, 5.0 if quick else 15.0, cpu)
                out["profile"] = summarize_profile("s1-api-submit")
    finally:
        stop_all(api, bare)
    for r in out["runs"].values():
        bare_rate = r["bare_route"]["per_s"]
        r["ratios"] = {t: round(r[t]["per_s"] / bare_rate, 3) for t in ("submit_base64", "submit_multipart")}
        r["ratios"]["trivial_query_vs_bare"] = round(r["trivial_query"]["per_s"] / bare_rate, 3)
        r["loadgen_headroom"] = round(r["noop_route"]["per_s"] / max(r["bare_route"]["per_s"],
                                                                   r["submit_base64"]["per_s"]), 1)
    return out


def summary(result: dict[str, Any]) -> str:
    lines = []
    for clients, r in result["runs"].items():
        for t in ("submit_base64", "submit_multipart", "bare_route", "trivial_query", "noop_route"):
            x = r[t]
            lines.append(f"{clients:>3} {t:<17} {x['per_s']:8.1f}/s p50 {x['latency_ms'].get('p50')} "
                         f"p99 {x['latency_ms'].get('p99')} err {x['errors']} cpu {x['cpu_pct']}")
        lines.append(f"    ratios {r['ratios']} loadgen headroom x{r['loadgen_headroom']}")
    return "\n".join(lines)


if __name__ == "__main__":
    run_scenario("s1_submit", __doc__, run, summary)
