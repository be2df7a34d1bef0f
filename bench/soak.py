#!/usr/bin/env python3
"""Manifestor's soak benchmark (issue 18): `make bench-soak`, and part of `make bench`.

Runs thousands of operations one after another through `manifestor serve` against the real
smart-HTTP git server of the tests (lighttpd + git http-backend, loopback), with the repository
holding 1,000 and then 10,000 previews, and watches what a server that runs for months must keep
flat: the cache's size on disk and its file count (the cache is packed as it serves), the
server's RSS, and the sequential deploy latency (p50 of the changing deploys at the start and at
the end). Each operation is one of a cycle of four, so the number of previews stays where it
started: deploy a new preview, re-deploy a seeded preview with a new tag (a change), the same
re-deploy again (unchanged, the no-op path), delete the new preview.

Every 1,000 operations it prints cache MiB, cache files, loose objects, packs, RSS and the p50 of
the last 1,000 changing operations; at the end it writes bench/soak.md with the goals of issue
18's acceptance 3, each marked met or missed:
  * after 5,000 operations at 1,000 previews the cache is under 3x its size after the first
    deploy plus the pack of the new history (`git pack-objects` of what the soak committed, named
    by path as `git repack` does, with its index), and under 500 files;
  * RSS within 15% of its value after the first 500 operations;
  * p50 at the end within 15% of the p50 at the start.

The helpers (git server, generated repositories, `manifestor serve` with a warm cache sharing the
generated objects through objects/info/alternates) come from bench/run.py.

Usage: bench/soak.py [--manifestor PATH] [--ops-small N] [--ops-large N] [--sizes 1000,10000]
                     [--quick] [--out bench/soak.md]
Environment: BENCH_KEEP=1 keeps the work folder (printed).
"""

import argparse
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (bench/run.py: GitServer, generate_base, Serve, ...)

ROOT = bench.ROOT
log = bench.log


class Setup:
    """What bench.Serve reads from its `bench` argument, for the soak."""

    def __init__(self, manifestor, keep):
        self.manifestor = os.path.abspath(manifestor)
        if not os.access(self.manifestor, os.X_OK):
            raise SystemExit("no manifestor binary at %s (make release)" % self.manifestor)
        self.keep = keep
        self.work = tempfile.mkdtemp(prefix="manifestor-soak-")
        out = bench.sh([self.manifestor, "token", "create", "soak", "--role", "deployer"]).splitlines()
        self.token, self.token_entry = out[0].strip(), out[1].rstrip()
        self.signing_key = None
        self.template = bench.PreviewTemplate(self.manifestor, self.work)
        self.server = bench.GitServer(self.work)
        self.skeleton = bench.read_skeleton()

    def cleanup(self):
        self.server.stop()
        if self.keep:
            log("work folder kept: %s" % self.work)
        else:
            bench.sh(["rm", "-rf", self.work], check=False)


class Operations:
    """One keep-alive connection; the soak's four kinds of operation."""

    def __init__(self, port, token):
        self.client = bench.Client(port, token)
        self.port, self.token = port, token

    def deploy(self, task, tag):
        status, elapsed, answer = self.client.deploy(task, tag)
        return status, elapsed

    def delete(self, task):
        headers = {"Authorization": "Bearer %s" % self.token}
        for attempt in range(2):
            try:
                if self.client.conn is None:
                    self.client.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                start = time.monotonic()
                self.client.conn.request("DELETE", "/api/tasks/%s/preview" % task, headers=headers)
                resp = self.client.conn.getresponse()
                resp.read()
                return resp.status, time.monotonic() - start
            except (http.client.HTTPException, ConnectionError, OSError):
                self.client.close()
                self.client.conn = None
                if attempt == 1:
                    raise

    def close(self):
        self.client.close()


def cache_usage(cache, parts=None):
    """(MiB on disk, regular files, loose objects, packs) of the cache folder. `parts`, a dict,
    gets the MiB of each kind of file: pack, idx, loose, temporary (a merge being written), other."""
    blocks, files, loose, packs = 0, 0, 0, 0
    for dirpath, _, names in os.walk(cache):
        fanout = re.search(r"/objects/[0-9a-f]{2}$", dirpath) is not None
        for n in names:
            st = os.lstat(os.path.join(dirpath, n))
            blocks += st.st_blocks
            files += 1
            if fanout:
                loose += 1
                kind = "loose"
            elif "/manifestor-" in dirpath and dirpath.endswith(".tmp"):
                kind = "temporary"
            elif dirpath.endswith("/objects/pack") and n.endswith(".pack"):
                packs += 1
                kind = "pack"
            elif dirpath.endswith("/objects/pack") and n.endswith(".idx"):
                kind = "idx"
            else:
                kind = "other"
            if parts is not None:
                parts[kind] = parts.get(kind, 0) + st.st_blocks * 512 / 2**20
    return blocks * 512 / 2**20, files, loose, packs


def new_history_pack_mib(server, repo, base_commit):
    """What `git repack` makes of everything the soak committed: one pack of those objects,
    named by their paths as `git rev-list --objects` gives them, and its index (git's own
    `count-objects` counts a pack as both files), in disk blocks as the cache is measured."""
    path = server.repo_path(repo)
    objects = bench.git("--git-dir", path, "rev-list", "--objects", "main", "^" + base_commit)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["git", "--git-dir", path, "pack-objects", "-q", os.path.join(work, "history")],
                       input=objects.encode(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
        return sum(os.stat(os.path.join(work, n)).st_blocks * 512 for n in os.listdir(work)
                   if n.endswith((".pack", ".idx"))) / 2**20


def packing_runs(log_path):
    """(runs, longest ms, total ms) of the 'packed the cache' lines of a serve log."""
    runs, longest, total = 0, 0, 0
    with open(log_path, errors="replace") as f:
        for line in f:
            if "packed the cache" in line:
                m = re.search(r'\bms"?[=:]"?(\d+)', line)
                if m:
                    ms = int(m.group(1))
                    runs, longest, total = runs + 1, max(longest, ms), total + ms
    return runs, longest, total


def soak(setup, size, ops, every, rss_after, window):
    name = "base-%d" % size
    commit, seconds = setup.server.generate_base(name, size, setup.template, setup.skeleton)
    log("generated %d previews in %.1f s" % (size, seconds))
    repo = setup.server.fresh_repo(name, commit, "soak-%d" % size)
    serve = bench.Serve(setup, repo, name, commit)
    cache = os.path.join(serve.work, "cache")
    rows, changing = [], []  # changing: (op index, seconds)
    rss = []  # (operations done, RSS MiB), every 50 operations
    result = {"size": size, "ops": ops, "rss_after": rss_after}
    op = None
    try:
        client = Operations(serve.port, setup.token)
        started = time.monotonic()
        for i in range(ops):
            cycle, kind = divmod(i, 4)
            seed = "seed-%05d" % (cycle % size)
            if kind == 0:
                op = ("deploy", "soak-%d" % cycle, 201)
                status, elapsed = client.deploy(op[1], cycle)
            elif kind == 1:
                op = ("re-deploy", seed, 201)
                status, elapsed = client.deploy(seed, 100000 + cycle)
            elif kind == 2:
                op = ("unchanged re-deploy", seed, 200)
                status, elapsed = client.deploy(seed, 100000 + cycle)
            else:
                op = ("delete", "soak-%d" % cycle, 200)
                status, elapsed = client.delete(op[1])
            if status != op[2]:
                raise RuntimeError("operation %d (%s %s): HTTP %d, expected %d" % (i, op[0], op[1], status, op[2]))
            if kind in (0, 1):
                changing.append((i, elapsed))
            done = i + 1
            if done == 1:
                result["first_mib"] = cache_usage(cache)[0]
            if done % 50 == 0:
                rss.append((done, serve.status("VmRSS")))
            if done % every == 0 or done == ops:
                parts = {}
                mib, files, loose, packs = cache_usage(cache, parts)
                result["parts"] = parts
                recent = [s for j, s in changing if j >= done - every]
                row = {"ops": done, "mib": mib, "files": files, "loose": loose, "packs": packs,
                       "rss": serve.status("VmRSS"), "peak": serve.status("VmHWM"),
                       "p50": statistics.median(recent) if recent else float("nan"),
                       "load": os.getloadavg()[0], "wall": time.monotonic() - started}
                rows.append(row)
                log("%d previews, %5d operations: cache %.1f MiB, %d files (%d loose objects, %d packs), "
                    "RSS %.1f MiB (peak %.1f), p50 %.1f ms, load %.1f" % (
                        size, done, mib, files, loose, packs, row["rss"], row["peak"], row["p50"] * 1e3, row["load"]))
        client.close()
        result["p50_start"] = statistics.median([s for j, s in changing if j < window])
        result["p50_end"] = statistics.median([s for j, s in changing if j >= ops - window])
        # RSS moves while a merge of packs is written in the background (its pack builder's
        # memory, returned afterwards): each reference is the median of the samples taken every
        # 50 operations over the last `rss_after / 2` operations before it.
        half = max(50, rss_after // 2)
        result["rss_early"] = statistics.median([m for d, m in rss if rss_after - half < d <= rss_after])
        result["rss_end"] = statistics.median([m for d, m in rss if d > ops - half])
        result["end_mib"], result["end_files"] = rows[-1]["mib"], rows[-1]["files"]
        result["history_mib"] = new_history_pack_mib(setup.server, repo, commit)
        result["packing"] = packing_runs(serve.log_path)
        result["rows"] = rows
    finally:
        serve.stop()
    result["p50_control"] = control_p50(setup, repo, window)
    return result


def control_p50(setup, repo, window):
    """The p50 of changing deploys through a new server with a new warm cache (tracking ref at
    the remote's current tip) against the same, aged, server repository: what the machine and
    the git server give now, without the soak's cache. If the soak's end p50 is above its start
    but near this, the cache did not cause it."""
    tip = bench.git("--git-dir", setup.server.repo_path(repo), "rev-parse", "refs/heads/main").strip()
    # Its cache borrows the server repository's objects (which borrows the generated ones).
    serve = bench.Serve(setup, repo, repo, tip)
    try:
        client = Operations(serve.port, setup.token)
        times = []
        for i in range(max(50, window // 4)):
            status, elapsed = client.deploy("seed-%05d" % i, 900000 + i)
            if status == 201:
                times.append(elapsed)
        client.close()
    finally:
        serve.stop()
    return statistics.median(times) if times else float("nan")


def goals(r):
    """[(goal, measured, met)] of acceptance 3 for one leg."""
    limit = 3 * r["first_mib"] + r["history_mib"]
    rss_ratio = r["rss_end"] / r["rss_early"]
    p50_ratio = r["p50_end"] / r["p50_start"]
    return [
        ("cache under 3x its size after the first deploy (%.2f MiB) plus the pack of the new history (%.2f MiB): "
         "under %.2f MiB" % (r["first_mib"], r["history_mib"], limit), "%.2f MiB" % r["end_mib"], r["end_mib"] < limit),
        ("cache under 500 files", "%d files" % r["end_files"], r["end_files"] < 500),
        ("RSS within 15%% of its value after the first %d operations (%.1f MiB; each the median of the samples "
         "every 50 operations over the %d before)" % (r["rss_after"], r["rss_early"], max(50, r["rss_after"] // 2)),
         "%.1f MiB (%+.1f%%)" % (r["rss_end"], (rss_ratio - 1) * 100), abs(rss_ratio - 1) <= 0.15),
        ("p50 of the changing deploys at the end within 15%% of the start (%.1f ms)" % (r["p50_start"] * 1e3),
         "%.1f ms (%+.1f%%); a new server with a new cache on the same git repository, at the end: %.1f ms"
         % (r["p50_end"] * 1e3, (p50_ratio - 1) * 100, r["p50_control"] * 1e3), p50_ratio <= 1.15),
        ("not a goal, the cache's own ageing alone: p50 at the end against that new server on the aged git "
         "server, within 15%", "%+.1f%%" % ((r["p50_end"] / r["p50_control"] - 1) * 100),
         r["p50_end"] / r["p50_control"] <= 1.15),
    ]


def report(results, args, elapsed):
    out = ["# Manifestor soak results", "",
           "Generated by `make bench-soak` (bench/soak.py) on %s: %d cores, %s, git %s; lighttpd + git http-backend "
           "with basic auth on 127.0.0.1; `manifestor serve` with its shipped defaults (the cache is packed once "
           "repository.packLooseObjects new objects, held in memory, are in it, its default). Operations one after another over one connection, in a cycle of four "
           "(deploy a new preview, re-deploy a seeded preview with a new tag, the same again unchanged, delete the "
           "new preview), so the number of previews stays where it started. The cache starts warm, sharing the "
           "generated repository's objects through objects/info/alternates. p50 is that of the changing deploys "
           "(the first two of each cycle) among the first and the last %d operations. The load average (1 minute) is "
           "the machine's, other work included: on 2 cores, it moves p50 more than anything the soak does. "
           "The whole run took %.0f s."
           % (time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(), os.uname().release, bench.git("--version").split()[-1],
              args.window, elapsed), ""]
    for r in results:
        out += ["## %s previews, %s operations" % (format(r["size"], ","), format(r["ops"], ",")), "",
                "| operations | cache MiB | cache files | loose objects | packs | RSS MiB | peak RSS MiB | p50 (last %s) | load average |"
                % format(args.every, ","),
                "|---|---|---|---|---|---|---|---|---|"]
        for row in r["rows"]:
            out.append("| %s | %.2f | %d | %d | %d | %.1f | %.1f | %.1f ms | %.1f |" % (
                format(row["ops"], ","), row["mib"], row["files"], row["loose"], row["packs"], row["rss"], row["peak"],
                row["p50"] * 1e3, row["load"]))
        runs, longest, total = r["packing"]
        parts = ", ".join("%s %.2f MiB" % (k, v) for k, v in sorted(r["parts"].items(), key=lambda kv: -kv[1]))
        out += ["", "Packing: %d runs on the git thread, the longest %d ms, %.1f s in all; cache %.2f MiB after the first "
                "deploy. The cache at the end: %s." % (runs, longest, total / 1000, r["first_mib"], parts), ""]
        out += ["| goal (issue 18, acceptance 3) | measured | |", "|---|---|---|"]
        for goal, measured, met in goals(r):
            out.append("| %s | %s | %s |" % (goal, measured, "met" if met else "**missed**"))
        out.append("")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifestor", default=os.path.join(ROOT, ".build", "release", "manifestor"))
    p.add_argument("--sizes", default="1000,10000")
    p.add_argument("--ops-small", type=int, default=5000, help="operations at the smallest size")
    p.add_argument("--ops-large", type=int, default=2000, help="operations at the other sizes")
    p.add_argument("--every", type=int, default=1000, help="print a row every N operations")
    p.add_argument("--rss-after", type=int, default=500, help="the RSS of reference is taken after N operations")
    p.add_argument("--window", type=int, default=500, help="p50 over the first and the last N operations")
    p.add_argument("--quick", action="store_true", help="a smoke run: 1,000 previews, 1,200 operations")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "soak.md"))
    args = p.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    if args.quick:
        sizes, args.ops_small, args.every, args.rss_after, args.window = sizes[:1], 1200, 200, 200, 200
    started = time.monotonic()
    setup = Setup(args.manifestor, os.environ.get("BENCH_KEEP") == "1")
    results = []
    try:
        for size in sizes:
            ops = args.ops_small if size == sizes[0] else args.ops_large
            results.append(soak(setup, size, ops, args.every, args.rss_after, args.window))
    finally:
        setup.cleanup()
    text = report(results, args, time.monotonic() - started)
    bench.publish(text, args.out)


if __name__ == "__main__":
    main()
