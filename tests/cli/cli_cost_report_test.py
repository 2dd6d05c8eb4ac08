"""`convstore report --html` and `convstore costs`: the page's numbers are the cost report's (and cost_summary's,
group_costs', team_spend's and usage_stats' for the same filter), user text is escaped, nothing is fetched from a
network, and headless Chromium draws the charts (each model's colour, the budget bars and the latency bars show up
in a screenshot); the terminal tables carry the same numbers; bad arguments are refused and write no page.

CONVSTORE_REPORT_BROWSER=skip leaves out the Chromium rendering (for a stage without a browser); by default a missing
browser fails the test."""
import datetime
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import tempfile
import zlib

from cli_support import check, finish, run

import convstore

MODELS = ["gpt-4o", "claude-3-5-sonnet", "llama-3.1-70b"]
COLOURS = ["#4e79a7", "#f28e2b", "#e15759"]  # the first three of the page's model colours
HOSTILE = "<script>alert('x')</script>&\"eve\""


def png_pixels(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG, decoded here (no imaging library)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), f"PNG depth {depth} colour type {colour}"
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev, i = [], bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b, c = prev[x], prev[x - bpp] if x >= bpp else 0
            if ftype == 1:
                line[x] = (line[x] + a) & 255
            elif ftype == 2:
                line[x] = (line[x] + b) & 255
            elif ftype == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [[tuple(r[x * bpp:x * bpp + 3]) for x in range(width)] for r in rows]


def colour_counts(pixels, colours):
    want = {tuple(int(c[k:k + 2], 16) for k in (1, 3, 5)): c for c in colours}
    counts = {c: 0 for c in colours}
    for row in pixels:
        for p in row:
            if p in want:
                counts[want[p]] += 1
    return counts


class Cells(html.parser.HTMLParser):
    """data-nanousd / data-us values of the elements inside the element with each id of interest."""

    def __init__(self):
        super().__init__()
        self.stack, self.values, self.ids, self.text = [], {}, {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.stack.append(a.get("id"))
        self.ids.setdefault(a.get("id"), a)
        section = next((i for i in reversed(self.stack) if i), None)
        for key in ("data-nanousd", "data-us"):
            if key in a:
                self.values.setdefault(section, []).append((a, int(a[key])))

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def browser():
    return shutil.which("chromium") or shutil.which("chromium-browser")


with tempfile.TemporaryDirectory() as d:
    db = os.path.join(d, "store.db")
    now = datetime.datetime.now(datetime.timezone.utc)
    with convstore.Store(db) as s:
        s.upsert_team("netops", monthly_budget_usd="40")
        s.upsert_team("ml", monthly_budget_usd="1000")
        s.upsert_team("idle", monthly_budget_usd="5")
        s.upsert_user("ana", team="netops")
        s.upsert_user("bo", team="ml")
        s.upsert_user(HOSTILE, team="ml")
        s.upsert_user("cy")
        for day in range(5):
            at = now - datetime.timedelta(days=day, minutes=5)
            for k, model in enumerate(MODELS):
                for user in ("ana", "bo", HOSTILE, "cy")[: 4 - k]:
                    s.record_api_usage(user, model, cost_usd=f"{(day + 1) * (k + 1) * 0.37:.2f}",
                                       latency_us=1000 * (k + 1) * (10 + day), recorded_at=at,
                                       tokens_input=100 * (k + 1), tokens_output=50)
        c = s.create_conversation("ana", "t")
        s.add_message(c["id"], "assistant", "answer", model=MODELS[0], cost_usd="0.5", latency_us=9000)
        report = s.cost_report(days=7)
        # A report without from_ covers the last 7 whole days, today included.
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) - datetime.timedelta(days=6)
        summary = s.cost_summary(from_=midnight)
        by_user = s.group_costs(["user"], from_=midnight)
        stats = s.usage_stats(from_=midnight)
        netops = s.team_spend("netops")

    # The report's numbers equal the separate calls'.
    check({k: v for k, v in report["summary"].items() if k != "to" and k != "to_us"} ==
          {k: v for k, v in summary.items() if k != "to" and k != "to_us"}, "summary differs from cost_summary")
    check(sum(g["cost_nanousd"] for g in report["daily_by_model"]["groups"]) == summary["total_cost_nanousd"],
          "the daily chart and the total count different rows")
    check(sorted(g["cost_nanousd"] for g in report["top_users"]) ==
          sorted(g["cost_nanousd"] for g in by_user["groups"]), "top users differ from group_costs")
    check(report["models"][:3] == sorted(MODELS, key=lambda m: -sum(
        g["cost_nanousd"] for g in report["daily_by_model"]["groups"] if g["keys"]["model"] == m)), "model order")
    team_rows = {t["team"]: t for t in report["team_budgets"]}
    check(team_rows.get("netops", {}).get("month_to_date_nanousd") == netops["month_to_date_nanousd"],
          "netops month to date differs from team_spend")
    check("idle" in team_rows and team_rows["idle"]["month_to_date_nanousd"] == 0, "a team with a budget is listed")
    for lat in report["latency_by_model"]:
        rows = [u for u in stats if u["model"] == lat["model"]]
        check(lat["calls"] == sum(u["calls"] for u in rows), f"latency calls of {lat['model']}")
        check(min(u["p95_latency_us"] for u in rows) <= lat["p95_latency_us"] <= max(u["p95_latency_us"] for u in rows),
              f"p95 of {lat['model']} outside its users' p95s")

    # The page.
    page = os.path.join(d, "report.html")
    r = run("report", db, "--html", page, "--days", "7")
    check(r.returncode == 0 and os.path.exists(page), f"report: {r.returncode} {r.stdout!r} {r.stderr!r}")
    text = open(page, encoding="utf-8").read()
    check(not re.search(r"(src|href)\s*=|https?://|@import|<script", text, re.I), "the page refers to something outside")
    check("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text, "a user key is not escaped")
    cells = Cells()
    cells.feed(text)
    check(cells.ids.get("total-cost", {}).get("data-nanousd") == str(summary["total_cost_nanousd"]), "total on the page")
    spend = {(a["data-day"], a["data-model"]): v for a, v in cells.values.get("daily-chart", [])}
    expected = {(g["keys"]["day"], g["keys"]["model"]): g["cost_nanousd"]
                for g in report["daily_by_model"]["groups"] if g["cost_nanousd"] > 0}
    check(spend == expected, f"daily chart segments differ: {len(spend)} vs {len(expected)}")
    users_on_page = [v for a, v in cells.values.get("users-chart", [])]
    check(users_on_page == [g["cost_nanousd"] for g in report["top_users"]], "users chart values")
    p95_on_page = {a["data-model"]: v for a, v in cells.values.get("latency-chart", [])}
    check(p95_on_page == {l["model"]: l["p95_latency_us"] for l in report["latency_by_model"]}, "latency chart values")
    budget_cells = [v for a, v in cells.values.get("budget-chart", []) if a.get("data-team") == "netops"]
    check(budget_cells[:1] == [40_000_000_000] and netops["month_to_date_nanousd"] in budget_cells,
          f"netops budget bars: {budget_cells}")
    visible = "".join(cells.text)
    for s_ in (f"${summary['total_cost_nanousd'] / 1e9:,.2f}",):
        check(s_ in visible, f"{s_} not shown")

    # Headless Chromium draws it.
    if os.environ.get("CONVSTORE_REPORT_BROWSER") != "skip":
        chrome = browser()
        check(chrome is not None, "chromium is not installed (scripts/deps.sh installs it)")
        if chrome:
            shot = os.path.join(d, "shot.png")
            profile = os.path.join(d, "profile")
            r = subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                f"--user-data-dir={profile}", "--force-device-scale-factor=1",
                                "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1200,2600",
                                f"--screenshot={shot}", "file://" + page],
                               capture_output=True, text=True, timeout=120)
            check(r.returncode == 0 and os.path.exists(shot), f"chromium: {r.returncode} {r.stderr[-2000:]!r}")
            if os.path.exists(shot):
                w, h, pixels = png_pixels(shot)
                counts = colour_counts(pixels, COLOURS + ["#59a14f", "#e8eef6"])
                for colour, model in zip(COLOURS, report["models"]):
                    check(counts[colour] > 200, f"model {model}'s colour {colour}: {counts[colour]} pixels drawn")
                check(counts["#59a14f"] > 200, f"teams chart: {counts['#59a14f']} pixels")
                check(counts["#e8eef6"] > 200, f"budget boxes: {counts['#e8eef6']} pixels")
                # A page with nothing in it draws none of them: the counts come from the charts.
                empty_db = os.path.join(d, "empty.db")
                convstore.Store(empty_db).close()
                empty_page = os.path.join(d, "empty.html")
                run("report", empty_db, "--html", empty_page)
                empty_shot = os.path.join(d, "empty.png")
                subprocess.run([chrome, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                                "--force-device-scale-factor=1", "--window-size=1200,1400",
                                f"--screenshot={empty_shot}", "file://" + empty_page],
                               capture_output=True, timeout=120)
                if os.path.exists(empty_shot):
                    _, _, px = png_pixels(empty_shot)
                    check(sum(colour_counts(px, COLOURS).values()) == 0, "an empty report drew bars")

    # The terminal tables.
    r = run("costs", db, "--days", "7")
    check(r.returncode == 0, f"costs: {r.returncode} {r.stderr!r}")
    out = r.stdout
    check(f"${summary['total_cost_nanousd'] / 1e9:,.2f}" in out, "costs: the total")
    for section in ("daily spend by model", "top users", "top teams", "team budgets", "latency by model"):
        check(section in out, f"costs: section {section!r}")
    for lat in report["latency_by_model"]:
        check(re.search(re.escape(lat["model"]) + r"\s+\d+\s+[\d.]+\s+[\d.]+\s+" +
                        re.escape(f"{lat['p95_latency_us'] / 1000:.1f}"), out) is not None,
              f"costs: p95 of {lat['model']}")
    r = run("costs", db, "--days", "7", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["summary"]["total_cost_nanousd"] == summary["total_cost_nanousd"],
          "costs --json")

    # Bad arguments: refused, no page written.
    bad_page = os.path.join(d, "bad.html")
    for args, what in [(("report", db, "--html", bad_page, "--days", "0"), "days 0"),
                       (("report", db, "--html", bad_page, "--source", "both"), "bad source"),
                       (("report", db, "--html", bad_page, "--from", "yesterday"), "bad time"),
                       (("report", os.path.join(d, "missing.db"), "--html", bad_page), "missing store"),
                       (("report", db), "no --html"),
                       (("costs", db, "--top", "0"), "top 0")]:
        r = run(*args)
        check(r.returncode != 0 and r.stderr and not os.path.exists(bad_page),
              f"{what}: {r.returncode} {r.stderr!r}")
    # An unknown team selects nothing, as in cost_summary.
    r = run("costs", db, "--team", "nobody", "--json")
    check(r.returncode == 0 and json.loads(r.stdout)["summary"]["total_cost_nanousd"] == 0, f"unknown team: {r.stdout!r}")
    r = run("report", db, "--html", os.path.join(d, "no-such-dir", "r.html"))
    check(r.returncode == 1 and "cannot write" in r.stderr, f"unwritable page: {r.returncode} {r.stderr!r}")

finish("cli cost report test")
