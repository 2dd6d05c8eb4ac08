"""`convstore bench`: every workload runs both sides and reports consistent figures (percentiles ordered, calls and
throughput positive, items per call as documented), as a table and as JSON; the scratch stores are removed (kept
with --keep); an unknown workload, a missing directory or an out-of-range option is refused before anything runs.
CONVSTORE_BENCH_TEST_SECONDS sizes the full run (default 4)."""
import json
import os
import tempfile

from cli_support import check, finish, run

seconds = os.environ.get("CONVSTORE_BENCH_TEST_SECONDS", "4")
names = ["insert", "insert_exclusive", "insert_batch", "writers_threads", "writers_processes", "get_conversation",
         "list_conversations", "cost_summary", "metadata_search", "text_search", "vector_search"]

with tempfile.TemporaryDirectory() as d:
    r = run("bench", "--dir", d, "--seconds", seconds, "--rounds", "1", "--json", "--writers", "2", "--batch", "10")
    out = json.loads(r.stdout) if r.returncode == 0 else {}
    check(r.returncode == 0, f"bench --json: {r.returncode} {r.stderr[-2000:]!r}")
    ran = {w["name"]: w for w in out.get("workloads", [])}
    check(list(ran) == names, f"every workload, in order: {list(ran)}")
    for name, w in ran.items():
        for side in ("convstore", "raw"):
            s = w[side]
            check(s["calls"] > 0 and s["calls_per_second"] > 0 and s["items_per_second"] > 0,
                  f"{name} {side}: calls and throughput {s}")
            check(0 < s["p50_us"] <= s["p90_us"] <= s["p99_us"] <= s["p999_us"] <= s["max_us"],
                  f"{name} {side}: percentiles in order {s}")
            check(abs(s["items_per_second"] - s["calls_per_second"] * w["items_per_call"]) < 1e-6 * s["items_per_second"] + 1e-9,
                  f"{name} {side}: items/s = calls/s x items per call")
        check(w["ratio"] > 0 and w["convstore_call"] and w["raw_call"], f"{name}: ratio and descriptions {w}")
    if ran:
        check(ran["insert_batch"]["items_per_call"] == 10, "--batch sets the batch")
        check("exclusive" in ran["insert_exclusive"]["convstore_call"]
              and "EXCLUSIVE" in ran["insert_exclusive"]["raw_call"], "the exclusive inserts say so")
        check(ran["writers_threads"]["workers"] == 2 and not ran["writers_threads"]["processes"], "threads")
        check(ran["writers_processes"]["workers"] == 2 and ran["writers_processes"]["processes"], "processes")
    check(os.listdir(d) == [], f"the scratch stores are removed: {os.listdir(d)}")

    r = run("bench", "--dir", d, "--seconds", "1", "--rounds", "2", "--only", "insert,list_conversations", "--keep")
    check(r.returncode == 0 and "insert" in r.stdout and "list_conversations" in r.stdout and "p99.9" in r.stdout
          and "vs raw" in r.stdout and "get_conversation" not in r.stdout.split("\n\n")[1],
          f"table of two workloads: {r.returncode} {r.stdout!r} {r.stderr[-1000:]!r}")
    kept = os.listdir(d)
    check(len(kept) == 1 and kept[0].startswith("convstore-bench-")
          and "insert.db" in os.listdir(os.path.join(d, kept[0])), f"--keep keeps the stores: {kept}")

    for args, what in [(["--only", "nosuch"], "unknown workload"),
                       (["--dir", os.path.join(d, "missing")], "missing directory"),
                       (["--seconds", "0"], "zero seconds"),
                       (["--writers", "1"], "one writer"),
                       (["--rounds", "0"], "zero rounds"),
                       (["--bogus"], "unknown flag")]:
        before = sorted(os.listdir(d))
        r = run("bench", "--dir", d, *args) if args[0] != "--dir" else run("bench", *args)
        check(r.returncode == 2 and r.stderr, f"{what}: {r.returncode} {r.stderr!r}")
        check(sorted(os.listdir(d)) == before, f"{what}: nothing made")

finish("cli bench test")
