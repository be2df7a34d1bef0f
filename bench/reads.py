"""Measurements of `make bench` beside the deploy-preview rows of run.py, recorded into the same
Bench results and printed in the same table:

  * reads (issue: reads never wait behind writes): at 1,000 and 10,000 previews, deploy-preview
    p50 alone and while four clients poll `GET /api/previews` (goal: at most 1.2x alone), the p50
    of one list page (goal: 50 ms at 10,000) and of one preview's GET, and the server's RSS once
    its preview index is built;
  * signing (issue: signed commits): an unsigned, a signed and a second unsigned server side by
    side, deploys sent to them in turn (the order rotating), so that the machine's drift during
    the run falls on all alike; p50 of each, signed / unsigned (goal: at most 1.05x), and the
    second unsigned server / the first as the control, the spread the harness makes alone.
"""

import statistics
import threading
import time

from run import Client, Serve, log, percentile, sequential


class Reader(Client):
    """A keep-alive GET client."""

    def get(self, path):
        return self.request("GET", path)


def timed_gets(port, token, path, n):
    reader = Reader(port, token)
    out = []
    for _ in range(n):
        status, elapsed, data = reader.get(path)
        if status != 200:
            raise RuntimeError("GET %s: HTTP %d %s" % (path, status, data[:300]))
        out.append(elapsed)
    reader.close()
    return out


class Pollers:
    """`clients` threads listing the previews back to back until stopped."""

    def __init__(self, port, token, clients=4):
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.latencies, self.failures = [], 0
        self.threads = [threading.Thread(target=self.loop, args=(port, token)) for _ in range(clients)]
        for t in self.threads:
            t.start()

    def loop(self, port, token):
        reader = Reader(port, token)
        while not self.stop_flag.is_set():
            status, elapsed, _ = reader.get("/api/previews")
            with self.lock:
                if status == 200:
                    self.latencies.append(elapsed)
                else:
                    self.failures += 1
        reader.close()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join()


def measure_reads(bench, rnd, size):
    repo = bench.server.fresh_repo(bench.base[size], bench.base_commit[size], "reads-%d" % size)
    serve = Serve(bench, repo, bench.base[size], bench.base_commit[size])
    token = bench.token  # a deployer's token reads too
    try:
        serve.warm_up("wr%d" % rnd, build_index=False)  # the first list below builds it, and is timed
        start = time.monotonic()
        first = timed_gets(serve.port, token, "/api/previews", 1)
        bench.record("reads-%d-first-list" % size, time.monotonic() - start)
        bench.record("reads-%d-rss" % size, serve.status("VmRSS"))
        n = bench.args.seq
        alone, _ = sequential(serve.port, bench.token, "ra%d" % rnd, n)
        pollers = Pollers(serve.port, token)
        try:
            loaded, _ = sequential(serve.port, bench.token, "rp%d" % rnd, n)
        finally:
            pollers.stop()
        page = timed_gets(serve.port, token, "/api/previews?limit=100", n)
        one = timed_gets(serve.port, token, "/api/tasks/ra%d-%d/preview" % (rnd, n // 2), n)
        bench.record("reads-%d-alone-p50" % size, percentile(alone, 0.5))
        bench.record("reads-%d-polled-p50" % size, percentile(loaded, 0.5))
        bench.record("reads-%d-ratio" % size, percentile(loaded, 0.5) / percentile(alone, 0.5))
        bench.record("reads-%d-polls" % size, len(pollers.latencies) / max(1e-9, sum(loaded)))
        bench.record("reads-%d-poll-p50" % size, percentile(pollers.latencies, 0.5) if pollers.latencies else float("nan"))
        bench.record("reads-%d-page-p50" % size, percentile(page, 0.5))
        bench.record("reads-%d-get-p50" % size, percentile(one, 0.5))
        if pollers.failures:
            bench.notes.append("round %d: %d list requests failed while polling at %d previews" % (rnd, pollers.failures, size))
        log("  reads at %d: deploy p50 %.0f ms alone, %.0f ms with 4 pollers (%.0f lists/s, p50 %.1f ms); page p50 %.1f ms, "
            "get p50 %.1f ms; first list %.2f s" % (
                size, percentile(alone, 0.5) * 1e3, percentile(loaded, 0.5) * 1e3,
                len(pollers.latencies) / max(1e-9, sum(loaded)), percentile(pollers.latencies, 0.5) * 1e3 if pollers.latencies else 0,
                percentile(page, 0.5) * 1e3, percentile(one, 0.5) * 1e3, first[0]))
    finally:
        serve.stop()


def measure_signing(bench, rnd, size):
    """Two unsigned servers and a signed one, each on its own fresh repository, deploys sent in
    turn (the order rotating, so that none always goes first). The second unsigned server is the
    control: its ratio to the first is what the harness alone makes of two identical servers."""
    modes = ("unsigned", "signed", "control")
    servers = {}
    try:
        for mode in modes:
            repo = bench.server.fresh_repo(bench.base[size], bench.base_commit[size], "pair-%s-%d" % (mode, size))
            servers[mode] = Serve(bench, repo, bench.base[size], bench.base_commit[size], signed=mode == "signed")
            servers[mode].warm_up("wp%s%d" % (mode[0], rnd))
        clients = {mode: Client(servers[mode].port, bench.token) for mode in servers}
        latencies = {mode: [] for mode in servers}
        for i in range(bench.args.seq):
            order = modes[i % 3:] + modes[:i % 3]
            if (i // 3) % 2:
                order = tuple(reversed(order))
            for mode in order:
                status, elapsed, answer = clients[mode].deploy("p%s%d-%d" % (mode[0], rnd, i), i + 1)
                if status != 201:
                    raise RuntimeError("%s deploy %d: HTTP %d %s" % (mode, i, status, answer))
                latencies[mode].append(elapsed)
        for c in clients.values():
            c.close()
    finally:
        for s in servers.values():
            s.stop()
    p50 = {mode: percentile(v, 0.5) for mode, v in latencies.items()}
    bench.record("pair-unsigned-%d-p50" % size, p50["unsigned"])
    bench.record("pair-signed-%d-p50" % size, p50["signed"])
    bench.record("pair-ratio-%d" % size, p50["signed"] / p50["unsigned"])
    bench.record("pair-control-%d" % size, p50["control"] / p50["unsigned"])
    log("  signing at %d, deploys in turn: unsigned p50 %.1f ms, signed p50 %.1f ms (%.3fx); "
        "a second unsigned server %.1f ms (%.3fx)" % (
            size, p50["unsigned"] * 1e3, p50["signed"] * 1e3, p50["signed"] / p50["unsigned"],
            p50["control"] * 1e3, p50["control"] / p50["unsigned"]))


def rows(bench, summary, ms, x):
    R, a = bench.results, bench.args
    out = []
    if a.read_sizes:
        out.append("| **reads beside writes** (4 clients poll `GET /api/previews` back to back during the polled run) | | | |")
        for size in a.read_sizes:
            s = format(size, ",")
            out.append("| deploy-preview p50 at %s previews, alone | %s |" % (s, summary(R.get("reads-%d-alone-p50" % size), ms)))
            out.append("| deploy-preview p50 at %s previews, while 4 clients poll the list | %s |" % (s, summary(R.get("reads-%d-polled-p50" % size), ms)))
            out.append("| ratio polled / alone at %s (goal: at most 1.2x) | %s |" % (s, summary(R.get("reads-%d-ratio" % size), x)))
            out.append("| lists answered per second meanwhile | %s |" % summary(R.get("reads-%d-polls" % size), lambda v: "%.0f/s" % v))
            out.append("| list p50 while polled and written | %s |" % summary(R.get("reads-%d-poll-p50" % size), ms))
            out.append("| list page (`limit=100`) p50 at %s | %s |" % (s, summary(R.get("reads-%d-page-p50" % size), ms)))
            out.append("| one preview's GET p50 at %s | %s |" % (s, summary(R.get("reads-%d-get-p50" % size), ms)))
            out.append("| first list after start (builds the index) at %s | %s |" % (s, summary(R.get("reads-%d-first-list" % size), ms)))
            out.append("| server RSS with the index built at %s | %s |" % (s, summary(R.get("reads-%d-rss" % size), lambda v: "%.0f MiB" % v)))
        if len(a.read_sizes) >= 2:
            lo, hi = min(a.read_sizes), max(a.read_sizes)
            per = [(h - l) * 1024 * 1024 / (hi - lo) for l, h in zip(R.get("reads-%d-rss" % lo, []), R.get("reads-%d-rss" % hi, []))]
            out.append("| RSS per preview, (RSS at %s - RSS at %s) / %s (index, trees read, caches) | %s |" % (
                format(hi, ","), format(lo, ","), format(hi - lo, ","), summary(per, lambda v: "%.0f bytes" % v)))
    if a.signing_pair:
        out.append("| **signed commits, deploys sent in turn to an unsigned, a signed and a second unsigned server** | | | |")
        for size in a.sizes:
            s = format(size, ",")
            out.append("| unsigned p50 at %s previews | %s |" % (s, summary(R.get("pair-unsigned-%d-p50" % size), ms)))
            out.append("| signed p50 at %s previews | %s |" % (s, summary(R.get("pair-signed-%d-p50" % size), ms)))
            out.append("| ratio signed / unsigned at %s (goal: at most 1.05x) | %s |" % (s, summary(R.get("pair-ratio-%d" % size), x)))
            out.append("| control: a second unsigned server / the first at %s (the harness's own spread) | %s |" % (
                s, summary(R.get("pair-control-%d" % size), x)))
    return out


def goals(bench, goal):
    R, a = bench.results, bench.args
    med = lambda k: statistics.median(R[k]) if R.get(k) else float("nan")  # noqa: E731
    for size in a.read_sizes:
        v = med("reads-%d-ratio" % size)
        goal("reads: deploy-preview p50 at %s previews while 4 clients poll the list at most 1.2x alone" % format(size, ","), "%.2fx" % v, v <= 1.2)
    if a.read_sizes:
        size = max(a.read_sizes)
        v = med("reads-%d-page-p50" % size)
        goal("reads: a list page's p50 at %s previews at most 50 ms" % format(size, ","), "%.1f ms" % (v * 1e3), v <= 0.05)
    if a.signing_pair:
        v = max(med("pair-ratio-%d" % size) for size in a.sizes)
        goal("signed commits: sequential p50 at most 1.05x unsigned, deploys in turn (worst size)", "%.3fx" % v, v <= 1.05)
