"""Every scenario, one after another on one set of servers, then docs/benchmarks.md and its plots.

    .venv/bin/python -m bench.run_all [--quick] [--profile] [--label before|after|latest] [--only s1,s3]

Full runs take about 12 minutes on a 2-core machine (`--quick`: about 3). Results land in
bench/results/<scenario>.json; the report goes into docs/benchmarks.md between the markers
of `--label`, so a "before" section survives a later "after" run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import time
import traceback

from bench.common import open_stack, py_spy, save_result
from bench.report import write_report

SCENARIOS = ["s1_submit", "s2_e2e", "s3_worker", "s4_slow", "s5_subscriptions", "s6_priority", "s7_flood"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--label", default="latest")
    parser.add_argument("--only", default="", help="comma-separated scenario prefixes, e.g. s1,s5")
    args = parser.parse_args()
    # the bench extra's tools, checked before a run of many minutes, not when its report is drawn
    missing = [] if importlib.util.find_spec("matplotlib") else ["matplotlib"]
    if args.profile and py_spy() is None:
        missing.append("py-spy")
    if missing:
        parser.error(f"{' and '.join(missing)} missing: .venv/bin/pip install -e '.[dev,bench]' (docs/benchmarks.md)")
    chosen = [s for s in SCENARIOS if not args.only or s.split("_")[0] in args.only.split(",")]
    started = time.monotonic()
    with open_stack() as stack:
        for name in chosen:
            t0 = time.monotonic()
            print(f"== {name}", flush=True)
            module = importlib.import_module(f"bench.{name}")
            try:
                result = module.run(stack, quick=args.quick, profile=args.profile)
            except Exception as exc:
                traceback.print_exc()
                result = {"error": repr(exc)}
            result["mode"] = "quick" if args.quick else "full"
            result["elapsed_s"] = round(time.monotonic() - t0, 1)
            save_result(name, result)
            print(f"== {name} took {result['elapsed_s']} s", flush=True)
    print(f"all scenarios: {time.monotonic() - started:.0f} s")
    print(f"-> {write_report(args.label)}")


if __name__ == "__main__":
    main()
