"""docs/benchmarks.md and docs/img/bench-*.png from bench/results/*.json.

    .venv/bin/python -m bench.report [--label latest]

The generated part sits between `<!-- bench:LABEL:begin -->` and `<!-- bench:LABEL:end -->`;
everything else in the file (findings, before/after notes) is kept as written.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.common import RESULTS, ROOT

DOC = ROOT / "docs" / "benchmarks.md"
IMG = ROOT / "docs" / "img"


def _load() -> dict[str, dict[str, Any]]:
    out = {}
    for path in sorted(RESULTS.glob("s*_*.json")):
        data = json.loads(path.read_text())
        out[data["scenario"]] = data
    return out


def _ok(flag: bool | None) -> str:
    return "n/a" if flag is None else ("yes" if flag else "**no**")


def _get(d: dict[str, Any], *path: str) -> Any:
    for p in path:
        if not isinstance(d, dict) or p not in d:
            return None
        d = d[p]
    return d


def _cpu_ms(run: dict[str, Any], proc: str) -> float | None:
    """CPU milliseconds one request cost the named process."""
    pct, rate = _get(run, "cpu_pct", proc), run.get("per_s")
    return round(10 * pct / rate, 2) if pct is not None and rate else None


def summary_rows(r: dict[str, dict[str, Any]]) -> list[list[str]]:
    rows: list[list[str]] = []
    s1 = r.get("s1_submit", {}).get("runs", {})
    for clients, run in s1.items():
        sub, bare = run["submit_base64"], run["bare_route"]
        rows.append([f"1 submit, {clients} clients, base64", f"{sub['per_s']}/s, p99 {sub['latency_ms'].get('p99')} ms",
                     f"bare route {bare['per_s']}/s", f"{run['ratios']['submit_base64']}",
                     ">= 0.6" + (", p99 <= 50 ms" if clients == "16" else ""),
                     _ok(run["ratios"]["submit_base64"] >= 0.6
                         and (clients != "16" or sub["latency_ms"].get("p99", 1e9) <= 50))])
        mp = run["submit_multipart"]
        rows.append([f"1 submit, {clients} clients, multipart",
                     f"{mp['per_s']}/s, p99 {mp['latency_ms'].get('p99')} ms",
                     f"bare route {bare['per_s']}/s", f"{run['ratios']['submit_multipart']}", ">= 0.6",
                     _ok(run["ratios"]["submit_multipart"] >= 0.6)])
    s2 = r.get("s2_e2e", {})
    for key, label in (("serial", "1 at a time"), ("rate_100", "100 jobs/s offered")):
        if key in s2:
            t, f = s2[key]["total_ms"], s2["floor"]["sum_ms"]
            target = "p50 <= 15 ms, p99 <= 60 ms" if key == "serial" else "all done, 100/s sustained"
            met = (t.get("p50", 1e9) <= 15 and t.get("p99", 1e9) <= 60) if key == "serial" else (
                s2[key]["failed"] == 0 and s2[key]["per_s"] >= 95)
            rows.append([f"2 end to end, {label}", f"p50 {t.get('p50')} / p99 {t.get('p99')} ms ({s2[key]['per_s']}/s)",
                         f"Kafka+NOTIFY p50 {f['p50']} / p99 {f['p99']} ms",
                         f"{s2[key]['ratio_to_floor'].get('p50')} (p50)", target, _ok(met)])
    s3 = r.get("s3_worker", {})
    if "one" in s3:
        rows.append(["3 worker, 1 process", f"{s3['one']['jobs_per_s']} jobs/s",
                     f"bare SQL {s3['floor']['jobs_per_s']} jobs/s", str(s3["ratio_one_to_floor"]), ">= 0.5",
                     _ok(s3["ratio_one_to_floor"] >= 0.5)])
        rows.append(["3 worker, 2 processes", f"{s3['two']['jobs_per_s']} jobs/s",
                     f"1 process {s3['one']['jobs_per_s']}",
                     f"x{s3['scaling_two_over_one']}", ">= x1.7", _ok(s3["scaling_two_over_one"] >= 1.7)])
        floor2 = s3["floor_two_processes"]["jobs_per_s"]
        rows.append(["3 worker, 2 processes vs 2 bare SQL processes", f"{s3['two']['jobs_per_s']} jobs/s",
                     f"bare SQL, 2 processes {floor2} jobs/s (x{round(floor2 / s3['floor']['jobs_per_s'], 2)} "
                     "of 1)", str(round(s3["two"]["jobs_per_s"] / floor2, 3)), "(what the machine allows)", ""])
    s4 = r.get("s4_slow", {})
    if "jobs_per_s" in s4:
        rows.append(["4 slow recognizer (2 s, 200 at once)", f"{s4['jobs_per_s']} jobs/s, RSS slope "
                     f"{s4['rss_mib']['slope_mib_per_min_second_half']} MiB/min", f"ideal {s4['ideal_per_s']} jobs/s",
                     str(s4["ratio_to_ideal"]), ">= 0.9, memory flat", _ok(s4["ratio_to_ideal"] >= 0.9)])
    s5 = r.get("s5_subscriptions", {})
    if "delivery_ms" in s5:
        d = s5["delivery_ms"]
        rows.append([f"5 {s5['subscriptions']} subscriptions, burst of {s5['burst']}",
                     f"{s5['delivered']} delivered, p50 {d.get('p50')} / p99 {d.get('p99')} ms",
                     "NOTIFY->LISTEN (s2 floor)", "", "all, p99 <= 250 ms",
                     _ok(s5["delivered"] == s5["burst"] and d.get("p99", 1e9) <= 250)])
        rows.append(["5 memory per idle subscription", f"{s5['kib_per_idle_subscription']} KiB", "", "",
                     "<= 30 KB", _ok(s5["kib_per_idle_subscription"] <= 29.3)])
        rows.append(["5 API CPU per unwatched event, 4000 subs open (after the burst) vs none",
                     f"{s5['cpu_ms_per_unwatched_event_all_subs']} ms vs {s5['cpu_ms_per_unwatched_event_0_subs']} ms",
                     "", f"x{s5['dispatch_cost_ratio_all_vs_0_subs']}", "flat (O(1))",
                     _ok(s5["dispatch_cost_ratio_all_vs_0_subs"] <= 1.5)])
    s6 = r.get("s6_priority", {})
    if "paid_submit_to_done_ms" in s6:
        t = s6["paid_submit_to_done_ms"]
        rows.append([f"6 paid job behind {s6['backlog_free_jobs']} free", f"p50 {t.get('p50')} / max {t.get('max')} ms",
                     f"recognizer {s6['floor_ms']} ms", f"{s6['ratio_to_floor'].get('p50')} (p50)", "<= 1500 ms",
                     _ok(t.get("max", 1e9) <= 1500 and s6["failed"] == 0)])
    return rows


def s1_detail(r: dict[str, Any]) -> list[str]:
    lines = ["| clients | target | req/s | p50 ms | p99 ms | errors | server CPU % | CPU ms/req | loadgen CPU % "
             "| machine CPU % |", "|---|---|---|---|---|---|---|---|---|---|"]
    for clients, run in r.get("runs", {}).items():
        for target in ("submit_base64", "submit_multipart", "bare_route", "trivial_query", "noop_route"):
            x = run[target]
            proc = "bare" if target in ("bare_route", "noop_route") else "api"
            lines.append(f"| {clients} | {target} | {x['per_s']} | {x['latency_ms'].get('p50')} | "
                         f"{x['latency_ms'].get('p99')} | {x['errors']} | {x['cpu_pct'].get(proc)} | "
                         f"{_cpu_ms(x, proc)} | {x['cpu_pct'].get('loadgen')} | {x['cpu_pct'].get('machine')} |")
    return lines


def plots(r: dict[str, dict[str, Any]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    IMG.mkdir(parents=True, exist_ok=True)
    made = []
    s1 = r.get("s1_submit", {}).get("runs")
    if s1:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
        targets = ["submit_base64", "submit_multipart", "bare_route", "trivial_query"]
        for ax, metric in zip(axes, ("per_s", "p99"), strict=True):
            for i, (clients, run) in enumerate(s1.items()):
                vals = [run[t]["per_s"] if metric == "per_s" else run[t]["latency_ms"].get("p99", 0) for t in targets]
                ax.bar([x + i * 0.4 for x in range(len(targets))], vals, width=0.4, label=f"{clients} clients")
            ax.set_xticks([x + 0.2 for x in range(len(targets))], [t.replace("_", "\n") for t in targets])
            ax.set_title("requests/s" if metric == "per_s" else "p99 latency (ms)")
            ax.legend()
        fig.suptitle("Scenario 1: submit (200 KB JPEG) vs bare route and trivial query")
        made.append(_save(fig, "bench-s1-submit.png"))
    s2 = r.get("s2_e2e", {})
    if "serial" in s2:
        fig, ax = plt.subplots(figsize=(7, 4))
        keys = ["p50", "p90", "p99"]
        series = {"floor (Kafka+NOTIFY)": [s2["floor"]["sum_ms"][k] for k in keys],
                  "1 at a time": [s2["serial"]["total_ms"].get(k, 0) for k in keys],
                  "100/s offered": [s2["rate_100"]["total_ms"].get(k, 0) for k in keys]}
        for i, (name, vals) in enumerate(series.items()):
            ax.bar([x + i * 0.27 for x in range(3)], vals, width=0.27, label=name)
        ax.set_xticks([x + 0.27 for x in range(3)], keys)
        ax.set_yscale("log")
        ax.set_ylabel("ms (log)")
        ax.set_title("Scenario 2: submit -> DONE on the subscription")
        ax.legend()
        made.append(_save(fig, "bench-s2-e2e.png"))
    s3 = r.get("s3_worker", {})
    if "one" in s3:
        fig, ax = plt.subplots(figsize=(7, 4))
        names = ["bare SQL\n1 process", "bare SQL\n2 processes", "worker\n1 process", "worker\n2 processes"]
        vals = [s3["floor"]["jobs_per_s"], s3["floor_two_processes"]["jobs_per_s"], s3["one"]["jobs_per_s"],
                s3["two"]["jobs_per_s"]]
        ax.bar(names, vals, color=["grey", "grey", "C0", "C0"])
        ax.set_ylabel("jobs/s")
        ax.set_title("Scenario 3: worker throughput, zero-latency recognizer")
        made.append(_save(fig, "bench-s3-worker.png"))
    s4 = r.get("s4_slow", {})
    if s4.get("rss_samples"):
        fig, ax = plt.subplots(figsize=(7, 4))
        ax.plot([t for t, _ in s4["rss_samples"]], [m for _, m in s4["rss_samples"]])
        ax.set_xlabel("s")
        ax.set_ylabel("worker RSS (MiB)")
        ax.set_ylim(bottom=0)
        ax.set_title(f"Scenario 4: 2 s recognizer, concurrency 200: {s4['jobs_per_s']} jobs/s")
        made.append(_save(fig, "bench-s4-rss.png"))
    s5 = r.get("s5_subscriptions", {})
    if _get(s5, "delivery_ms", "count"):
        fig, ax = plt.subplots(figsize=(7, 4))
        d = s5["delivery_ms"]
        ax.bar(["p50", "p90", "p99", "max"], [d["p50"], d["p90"], d["p99"], d["max"]])
        ax.axhline(250, color="red", linestyle="--", label="target p99")
        ax.set_ylabel("ms from COMMIT to client")
        ax.set_title(f"Scenario 5: burst of {s5['burst']} over {s5['subscriptions']} open subscriptions")
        ax.legend()
        made.append(_save(fig, "bench-s5-delivery.png"))
    s6 = r.get("s6_priority", {})
    if _get(s6, "paid_submit_to_done_ms", "count"):
        fig, ax = plt.subplots(figsize=(7, 4))
        t = s6["paid_submit_to_done_ms"]
        ax.bar(["p50", "p90", "max"], [t["p50"], t["p90"], t["max"]])
        ax.axhline(s6["floor_ms"], color="grey", linestyle="--", label="recognizer (floor)")
        ax.axhline(1500, color="red", linestyle="--", label="target")
        ax.set_ylabel("ms, submit -> DONE")
        ax.set_title(f"Scenario 6: paid job behind {s6['backlog_free_jobs']} free jobs")
        ax.legend()
        made.append(_save(fig, "bench-s6-priority.png"))
    return made


def _save(fig: Any, name: str) -> str:
    fig.tight_layout()
    fig.savefig(IMG / name, dpi=90)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return name


def render(label: str) -> str:
    r = _load()
    if not r:
        return f"_no results in {RESULTS.relative_to(ROOT)}_\n"
    any_run = next(iter(r.values()))
    m = any_run["machine"]
    modes = sorted({x.get("mode", "?") for x in r.values()})
    lines = [f"### Run `{label}`", "",
             f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; Python {m['python']}; "
             f"commit `{m['commit']}`; {m['when']}; mode: {', '.join(modes)}.", "",
             "| scenario | measured | floor (same run) | ratio | target | met |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(row) + " |" for row in summary_rows(r)]
    errors = [f"- {k}: {v['error']}" for k, v in r.items() if "error" in v]
    if errors:
        lines += ["", "Scenarios that failed to run:", *errors]
    if "s1_submit" in r:
        lines += ["", "Scenario 1 in detail (server CPU is the process serving the target; 100 % = one core):", "",
                  *s1_detail(r["s1_submit"])]
    extra = []
    if "s2_e2e" in r and "serial" in r["s2_e2e"]:
        s2 = r["s2_e2e"]
        extra.append(f"- Scenario 2: of the 1-at-a-time total, submit took p50 "
                     f"{s2['serial']['submit_ms'].get('p50')} ms "
                     f"and submit-response -> DONE p50 {s2['serial']['after_submit_ms'].get('p50')} ms; Kafka round "
                     f"trip p50 {s2['floor']['kafka_ms']['p50']} ms, NOTIFY round trip p50 "
                     f"{s2['floor']['notify_ms']['p50']} ms.")
        stages = s2["serial"].get("stages_ms")
        if stages:
            extra.append(f"  By the database's clock: submit statement start -> claimed (commit, then the submit's "
                         f"hint or the outbox relay and Kafka hop, claim) p50 "
                         f"{stages['created_to_claimed'].get('p50')} ms, "
                         f"claimed -> finished p50 {stages['claimed_to_finished'].get('p50')} ms; API CPU "
                         f"{s2['serial']['cpu_pct'].get('api')} %, worker {s2['serial']['cpu_pct'].get('worker')} %, "
                         f"broker {s2['serial']['cpu_pct'].get('broker')} %, machine "
                         f"{s2['serial']['cpu_pct'].get('machine')} %.")
    if "s3_worker" in r and "one" in r["s3_worker"]:
        s3 = r["s3_worker"]
        extra.append(f"- Scenario 3: 1 worker claim -> done p50 {_get(s3, 'one', 'claim_to_done_ms', 'p50')} ms, gap "
                     f"between consecutive claims p50 {_get(s3, 'one', 'gap_between_claims_ms', 'p50')} ms; worker CPU "
                     f"{s3['one']['cpu_pct'].get('workers')} %, machine {s3['one']['cpu_pct'].get('machine')} %.")
    if "s5_subscriptions" in r and "open" in r["s5_subscriptions"]:
        s5 = r["s5_subscriptions"]
        extra.append(f"- Scenario 5: opening {s5['open']['opened']} subscriptions took {s5['open']['open_s']} s "
                     f"({s5['open']['failed']} failed); API RSS {s5['rss_mib']['before']} -> "
                     f"{s5['rss_mib']['after']} MiB; CPU per delivered event {s5['cpu_ms_per_delivered_event']} ms.")
    if "s6_priority" in r and "free_left" in r["s6_priority"]:
        s6 = r["s6_priority"]
        extra.append(f"- Scenario 6: {s6['free_done_during_window']} free jobs finished while the paid ones ran; "
                     f"{s6['free_left']} still queued at the end.")
    if extra:
        lines += ["", *extra]
    images = plots(r)
    lines += ["", *[f"![{name}](img/{name})" for name in images], ""]
    return "\n".join(lines) + "\n"


def write_report(label: str = "latest") -> Path:
    """Replace (or append) the section of `label` in docs/benchmarks.md."""
    begin, end = f"<!-- bench:{label}:begin -->", f"<!-- bench:{label}:end -->"
    body = render(label)
    DOC.parent.mkdir(parents=True, exist_ok=True)
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n\n"
    if begin in text and end in text:
        head, _, rest = text.partition(begin)
        _, _, tail = rest.partition(end)
        text = f"{head}{begin}\n{body}{end}{tail}"
    else:
        text = text.rstrip("\n") + f"\n\n{begin}\n{body}{end}\n"
    DOC.write_text(text)
    return DOC


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--label", default="latest")
    print(write_report(parser.parse_args().label))


if __name__ == "__main__":
    main()
