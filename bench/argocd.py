#!/usr/bin/env python3
"""The Argo CD loop of `make bench` (issue: close the loop with Argo CD): how long after a
deploy-preview answer the preview's Application exists in Argo CD, and how long until it is
ready, with Manifestor's notification (the ApplicationSet push event and the refresh) against
the same server without it, where only the ApplicationSet controller's periodic requeue (3
minutes, Argo CD's default) finds the new directory.

Argo CD itself cannot run here: both sides run against the Argo CD stand-in of the tests
(scripts/argocd-standin.py, over the bench's git server), with its requeue at Argo CD's 180 s
and a stated sync delay (the time an Application takes from seeing a new revision to Synced and
Healthy). "Ready" is Manifestor's own `GET /api/tasks/{id}/preview?wait=ready` returning ready.
The baseline deploys at a random point of the requeue period, as a real deploy does, so one
sample waits what a deploy waits on average over many (90 s expected, 180 s at worst).

Usage: bench/argocd.py [--manifestor PATH] [--deploys N] [--baseline N] [--sync-delay S] [--out bench/argocd.md]
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import ROOT, Client, GitServer, PreviewTemplate, Serve, log, publish, read_skeleton, sh  # noqa: E402

STANDIN = os.path.join(ROOT, "scripts", "argocd-standin.py")


class StandIn:
    """scripts/argocd-standin.py over `repo` (a bare repository of the git server)."""

    def __init__(self, work, repo_path, repo_url, requeue, sync_delay, token="bench-argocd-token", secret="bench-webhook-secret"):
        self.dir = tempfile.mkdtemp(prefix="argocd-", dir=work)
        for name, value in (("repo", repo_path), ("repo_url", repo_url), ("branch", "main"), ("token", token),
                            ("secret", secret), ("requeue", str(requeue)), ("sync_delay", str(sync_delay))):
            with open(os.path.join(self.dir, name), "w") as f:
                f.write(value)
        self.token, self.secret = token, secret
        self.proc = subprocess.Popen([sys.executable, STANDIN, self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.dir, "port")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("the Argo CD stand-in did not start")
            time.sleep(0.02)
        self.url = "http://127.0.0.1:%s" % open(port_file).read().strip()

    def app(self, name):
        with urllib.request.urlopen(self.url + "/_standin/apps", timeout=10) as r:
            return json.loads(r.read()).get(name)

    def webhook_time(self, commit):
        """When the push event naming `commit` arrived (seconds since 1970), or None."""
        with urllib.request.urlopen(self.url + "/_standin/webhooks", timeout=10) as r:
            return next((w["time"] for w in json.loads(r.read()) if w.get("after") == commit), None)

    def wait_for_app(self, name, timeout):
        """Seconds (monotonic) when Application `name` first exists, polling every 10 ms."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.app(name) is not None:
                return time.monotonic()
            time.sleep(0.01)
        raise RuntimeError("Application %s did not appear within %.0f s" % (name, timeout))

    def stop(self):
        self.proc.kill()
        self.proc.wait()


class Bench:
    """What run.Serve needs of run.py's Bench."""

    def __init__(self, manifestor, work):
        self.manifestor, self.work, self.keep = manifestor, work, os.environ.get("BENCH_KEEP") == "1"
        out = sh([manifestor, "token", "create", "bench", "--role", "deployer"]).splitlines()
        self.token, self.token_entry = out[0].strip(), out[1].rstrip()
        self.server = GitServer(work)


def argocd_config(work, standin, notify):
    with open(os.path.join(work, "argocd.token"), "w") as f:
        f.write(standin.token)
    with open(os.path.join(work, "argocd.secret"), "w") as f:
        f.write(standin.secret)
    text = "argocd:\n  server: %s\n  tokenFile: %s\n" % (standin.url, os.path.join(work, "argocd.token"))
    if notify:
        text += "  applicationSetWebhook: %s/api/webhook\n  webhookSecretFile: %s\n" % (standin.url, os.path.join(work, "argocd.secret"))
    return text


def measure(bench, base, commit, deploys, sync_delay, notify, label):
    """(seconds to the push event, to the Application, to ready) per deploy, from the deploy's answer."""
    repo = bench.server.fresh_repo(base, commit, label)
    standin = StandIn(bench.work, bench.server.repo_path(repo), bench.server.repo_url(repo), 180, sync_delay)
    serve = Serve(bench, repo, base, commit, server=bench.server, extra=argocd_config(bench.work, standin, notify))
    client = Client(serve.port, bench.token)
    results = []
    try:
        for i in range(deploys):
            task = "%s%d" % (label, i)
            if not notify:
                # A deploy lands at a random point of the generators' 180 s period.
                time.sleep(random.uniform(0, 180))
            status, _, answer = client.deploy(task, i)
            answered, answered_wall = time.monotonic(), time.time()
            if status != 201:
                raise RuntimeError("deploy %s: HTTP %d %s" % (task, status, answer))
            exists = standin.wait_for_app("preview-task-%s" % task, 200) - answered
            status, _, data = client.request("GET", "/api/tasks/%s/preview?wait=ready&timeout=600" % task)
            ready = time.monotonic() - answered
            state = json.loads(data).get("status", {})
            if status != 200 or not state.get("ready"):
                raise RuntimeError("preview %s never ready: HTTP %d %s" % (task, status, data[:300]))
            received = standin.webhook_time(answer.get("commit"))
            # 0 when the event arrived before this client had read the answer.
            event = max(0.0, received - answered_wall) if received is not None else None
            results.append((event, exists, ready))
            log("%s deploy %d: push event after %s, Application after %.3f s, ready after %.3f s" % (
                label, i, "%.3f s" % event if event is not None else "-", exists, ready))
    finally:
        client.close()
        serve.stop()
        standin.stop()
    return results


def fmt(values):
    if not values:
        return "-"
    return "%.3f s (min %.3f, max %.3f)" % (statistics.median(values), min(values), max(values))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifestor", default=os.path.join(ROOT, ".build", "release", "manifestor"))
    p.add_argument("--deploys", type=int, default=10, help="deploys with notification")
    p.add_argument("--baseline", type=int, default=1, help="deploys without notification (each about 180 s)")
    p.add_argument("--sync-delay", type=float, default=2.0, help="the stand-in's sync delay in seconds")
    p.add_argument("--previews", type=int, default=1000, help="previews in the repository")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "argocd.md"))
    a = p.parse_args()
    manifestor = os.path.abspath(a.manifestor)
    work = tempfile.mkdtemp(prefix="manifestor-bench-argocd-")
    started = time.monotonic()
    bench = Bench(manifestor, work)
    try:
        template = PreviewTemplate(manifestor, work)
        base, commit = "base", bench.server.generate_base("base", a.previews, template, read_skeleton())[0]
        notified = measure(bench, base, commit, a.deploys, a.sync_delay, True, "n")
        polled = measure(bench, base, commit, a.baseline, a.sync_delay, False, "p") if a.baseline else []
    finally:
        bench.server.stop()
        if not bench.keep:
            shutil.rmtree(work, ignore_errors=True)
    n_event = [e for e, _, _ in notified if e is not None]
    n_exists, n_ready = [e for _, e, _ in notified], [r for _, _, r in notified]
    p_exists, p_ready = [e for _, e, _ in polled], [r for _, _, r in polled]
    ratio = (statistics.median(p_ready) / statistics.median(n_ready)) if p_ready and n_ready else float("nan")
    lines = [
        "# Argo CD loop: from the deploy-preview answer to a live preview",
        "",
        "Generated by `make bench` (bench/argocd.py) on %s: %d cores; %s previews in the repository; lighttpd + git "
        "http-backend on 127.0.0.1; the Argo CD stand-in of the tests (scripts/argocd-standin.py) with Argo CD's "
        "3-minute requeue (ApplicationSet generators and Application polling) and a sync delay of %.1f s (an "
        "Application takes that long from seeing a new revision to Synced and Healthy). Ready: "
        "`GET /api/tasks/{id}/preview?wait=ready` answered ready. The run took %.0f s." % (
            time.strftime("%Y-%m-%d %H:%M"), os.cpu_count(), format(a.previews, ","), a.sync_delay, time.monotonic() - started),
        "",
        "| | deploys | answer → push event received | answer → Application exists | answer → ready |",
        "|---|---|---|---|---|",
        "| Manifestor with `argocd.applicationSetWebhook` (push event + refresh) | %d | %s | %s | %s |" % (
            len(notified), fmt(n_event), fmt(n_exists), fmt(n_ready)),
        "| the same without notification (the 180 s requeue finds it; deployed at a random point of the period) | %d | - | %s | %s |" % (
            len(polled), fmt(p_exists), fmt(p_ready)),
        "",
        "Without notification a preview waits for the next requeue: 90 s on average over many deploys, 180 s at "
        "worst, then the sync. Measured here: ready %.1fx sooner with notification (medians). From the push event "
        "to the Application is the stand-in's own generation (it lists every directory of the tip in Python); "
        "the push event's time is the stand-in's clock at arrival (0: it arrived before the client had read the answer)." % ratio,
    ]
    publish("\n".join(lines) + "\n", a.out)


if __name__ == "__main__":
    main()
