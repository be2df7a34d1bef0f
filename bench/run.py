#!/usr/bin/env python3
"""Manifestor's benchmark suite (issue 7): `make bench`.

Measures, side by side and in the same run, on this machine, against the real smart-HTTP git
server of the tests (lighttpd + git http-backend, basic auth, loopback):

  * Manifestor: deploy-preview latency through the HTTP API (`manifestor serve`), sequential,
    with the repository holding 100 and 10,000 previews; a burst of 1,000 requests from 50
    concurrent clients at 10,000 previews (throughput, p99, pushes, all landed, peak RSS);
  * the unchanged re-deploy (the no-op path: one look at the remote's tip, no push) beside the
    changing deploy;
  * the baseline: the same deploys done with the git CLI in a persistent clone (pull, write the
    files, add, commit, push; one writer at a time behind a lock), behind the same HTTP route so
    the same load generator drives it, sequential and under the same burst (fewer requests);
  * the floor: a bare `git push` of a one-file commit;
  * the same Manifestor rows over https (the https mode: a second git server with TLS and a
    private CA over the same repositories, `repository.caFile`), with the floor over https too;
  * render throughput (`manifestor bench-render`).

Every figure is the median of several rounds with min and max; ratios are computed pair by pair
within a round, then summarised the same way. The 10,000-preview repository is generated with
`git fast-import` from one real render, templated per task id, in a few seconds.

Usage: bench/run.py [--manifestor PATH] [--rounds N] [--quick] [--out bench/results.md]
Environment: BENCH_KEEP=1 keeps the work folder (printed) for a post-mortem.
"""

import argparse
import http.client
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
GIT_SERVER = os.path.join(ROOT, "scripts", "git-server.sh")
TEMPLATE_ID = "tmplbench0"
IMAGE = "git.fuq.tv/admin/aiworker-backend"


def publish(text, out):
    """Prints a results page and writes it to `out` (none: print only)."""
    print(text)
    if out:
        with open(out, "w") as f:
            f.write(text)
        log("written to %s" % out)


def log(*args):
    print("bench:", *args, file=sys.stderr, flush=True)


def sh(args, cwd=None, env=None, input=None, check=True, timeout=600):
    full_env = dict(os.environ)
    full_env.update(env or {})
    r = subprocess.run(args, cwd=cwd, env=full_env, input=input, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s%s" % (
            r.returncode, " ".join(args), r.stdout.decode(errors="replace")[-2000:],
            r.stderr.decode(errors="replace")[-2000:]))
    return r.stdout.decode()


def git(*args, **kw):
    env = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0",
           "GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "bench@aiworker.dev",
           "GIT_COMMITTER_NAME": "Bench", "GIT_COMMITTER_EMAIL": "bench@aiworker.dev"}
    env.update(kw.pop("env", {}) or {})
    return sh(["git"] + list(args), env=env, **kw)


def cpu_seconds(pid):
    """CPU time of process `pid` and of its children it has waited for (user + system), in
    seconds: for lighttpd, the TLS it speaks and the git processes it ran."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def percentile(values, q):
    """Nearest-rank percentile."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(math.ceil(q * len(s))) - 1))
    return s[k]


# --------------------------------------------------------------------------------------------
# The preview template: one real render, with the task id as a placeholder


class PreviewTemplate:
    def __init__(self, manifestor, work):
        out = os.path.join(work, "template")
        sh([manifestor, "render", "--env", "preview", "--task", TEMPLATE_ID,
            "--image", "backend=%s:pr-0" % IMAGE, "--out", out], cwd=ROOT)
        self.files = {}
        for name in sorted(os.listdir(out)):
            with open(os.path.join(out, name), encoding="utf-8") as f:
                self.files[name] = f.read()
        if not self.files:
            raise RuntimeError("render produced no files")

    def render(self, task_id, tag="pr-0"):
        """{file name: content} of preview/task-<task_id>/."""
        result = {}
        for name, text in self.files.items():
            text = text.replace(TEMPLATE_ID, task_id).replace("%s:pr-0" % IMAGE, "%s:%s" % (IMAGE, tag))
            result[name.replace(TEMPLATE_ID, task_id)] = text
        return result


# --------------------------------------------------------------------------------------------
# The git server and the repositories


class GitServer:
    """scripts/git-server.sh in work/git (http), or with `tls` in work/git-tls (https, a private
    CA: `ca`). A TLS server started with `repos` serves that folder (a symlink): the same
    repositories over both schemes, each server with its own requests.log."""

    counter = 0  # shared, so that repositories made through either server never share a name

    def __init__(self, work, tls=False, repos=None, password=None):
        self.dir = os.path.join(work, "git-tls" if tls else "git")
        os.makedirs(self.dir, exist_ok=True)
        if repos:
            os.symlink(repos, os.path.join(self.dir, "repos"))
        env = {"GIT_SERVER_PASSWORD": password} if password else None
        sh(["bash", GIT_SERVER, "start", self.dir] + (["--tls"] if tls else []), env=env, timeout=120)
        self.url = open(os.path.join(self.dir, "url")).read().strip()
        self.password = open(os.path.join(self.dir, "password")).read().strip()
        self.repos = os.path.join(self.dir, "repos")
        self.requests_log = os.path.join(self.dir, "requests.log")
        self.ca = os.path.join(self.dir, "ca.pem") if tls else None
        # What the git CLI needs to trust the server (the floor's pushes over https).
        self.git_env = {"GIT_SSL_CAINFO": self.ca} if tls else {}

    def stop(self):
        sh(["bash", GIT_SERVER, "stop", self.dir], check=False, timeout=60)

    def cpu(self):
        """lighttpd's CPU seconds so far, the git processes it ran included."""
        try:
            return cpu_seconds(int(open(os.path.join(self.dir, "pid")).read()))
        except (OSError, ValueError):
            return float("nan")

    def repo_url(self, name, credentials=False):
        url = "%s/%s.git" % (self.url, name)
        if credentials:
            url = url.replace("://", "://manifestor:%s@" % self.password, 1)
        return url

    def repo_path(self, name):
        return os.path.join(self.repos, name + ".git")

    def generate_base(self, name, previews, template, skeleton):
        """A bare repository whose main holds the skeleton and `previews` rendered previews, in
        one commit, made with git fast-import. Returns (commit, seconds)."""
        start = time.monotonic()
        path = self.repo_path(name)
        git("init", "-q", "--bare", "--initial-branch=main", path)
        proc = subprocess.Popen(["git", "--git-dir", path, "fast-import", "--quiet", "--done"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        w = proc.stdin
        msg = b"seed: skeleton and %d previews (benchmark)\n" % previews
        w.write(b"commit refs/heads/main\ncommitter Bench <bench@aiworker.dev> 1800000000 +0000\n")
        w.write(b"data %d\n%s\n" % (len(msg), msg))
        for rel, data in skeleton:
            w.write(b"M 100644 inline %s\ndata %d\n%s\n" % (rel.encode(), len(data), data))
        for i in range(previews):
            task = "seed-%05d" % i
            for fname, text in template.render(task, "pr-%d" % i).items():
                data = text.encode()
                w.write(b"M 100644 inline preview/task-%s/%s\ndata %d\n%s\n" % (
                    task.encode(), fname.encode(), len(data), data))
        w.write(b"\ndone\n")
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError("fast-import failed: %s" % err.decode())
        commit = git("--git-dir", path, "rev-parse", "refs/heads/main").strip()
        return commit, time.monotonic() - start

    def fresh_repo(self, base, commit, label):
        """A new server repository sharing `base`'s objects (alternates) with main at `commit`:
        every measurement starts from the same state and pushes into its own repository."""
        GitServer.counter += 1
        name = "%s-%d" % (label, GitServer.counter)
        path = self.repo_path(name)
        git("init", "-q", "--bare", "--initial-branch=main", path)
        with open(os.path.join(path, "objects", "info", "alternates"), "w") as f:
            f.write(os.path.join(self.repo_path(base), "objects") + "\n")
        git("--git-dir", path, "update-ref", "refs/heads/main", commit)
        for key, value in (("http.receivepack", "true"), ("receive.denyNonFastForwards", "true"),
                           ("receive.autogc", "false"), ("gc.auto", "0")):
            git("--git-dir", path, "config", key, value)
        return name

    def requests(self, name, service, method="POST"):
        """How many `METHOD .../<service>` requests repository `name` has served (a service of
        `info/refs` is an advertisement: `info/refs?service=git-upload-pack`)."""
        needle = "%s /git/%s.git/%s" % (method, name, service)
        try:
            with open(self.requests_log) as f:
                return sum(1 for line in f if line.startswith(needle + " "))
        except FileNotFoundError:
            return 0

    def all_requests(self, name):
        """Every request repository `name` has served."""
        needle = "/git/%s.git/" % name
        try:
            with open(self.requests_log) as f:
                return sum(1 for line in f if needle in line)
        except FileNotFoundError:
            return 0

    def pushes(self, name):
        return self.requests(name, "git-receive-pack")

    def fetches(self, name):
        return self.requests(name, "git-upload-pack")


def read_skeleton():
    base = os.path.join(ROOT, "gitops-skeleton")
    files = []
    for dirpath, _, names in os.walk(base):
        for n in sorted(names):
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                files.append((os.path.relpath(p, base), f.read()))
    return sorted(files)


# --------------------------------------------------------------------------------------------
# HTTP load generation (Manifestor and the baseline answer the same route)


def deploy_body(i):
    return json.dumps({"images": {"backend": "%s:pr-%d" % (IMAGE, i)}, "requestedBy": "bench"})


class Client:
    def __init__(self, port, token):
        self.port = port
        self.token = token
        self.conn = None

    def request(self, method, path, body=None):
        """One request on the keep-alive connection (reopened once if the server closed it):
        (status, seconds, raw body)."""
        headers = {"Authorization": "Bearer %s" % self.token}
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                start = time.monotonic()
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                return resp.status, time.monotonic() - start, data
            except (http.client.HTTPException, ConnectionError, OSError):
                if self.conn:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise

    def deploy(self, task, i):
        status, elapsed, data = self.request("POST", "/api/tasks/%s/deploy-preview" % task, deploy_body(i))
        return status, elapsed, (json.loads(data) if data else {})

    def close(self):
        if self.conn:
            self.conn.close()


def sequential(port, token, prefix, n, expect=201):
    """n deploys one after another; returns latencies (s) and answers. Run again with the same
    prefix and expect=200, it re-deploys what is there: the no-op path."""
    client = Client(port, token)
    latencies, answers = [], []
    for i in range(n):
        status, elapsed, answer = client.deploy("%s-%d" % (prefix, i), i + 1)
        if status != expect:
            raise RuntimeError("deploy %s-%d: HTTP %d %s" % (prefix, i, status, answer))
        latencies.append(elapsed)
        answers.append(answer)
    client.close()
    return latencies, answers


def burst(port, token, prefix, requests, clients):
    """`requests` deploys from `clients` concurrent clients (keep-alive connections), all
    released at once. Returns (wall seconds, latencies, {task: answer}, failures)."""
    per_client = [list(range(c, requests, clients)) for c in range(clients)]
    barrier = threading.Barrier(clients + 1)
    lock = threading.Lock()
    latencies, answers, failures = [], {}, []

    def worker(indices):
        client = Client(port, token)
        barrier.wait()
        for i in indices:
            task = "%s-%d" % (prefix, i)
            try:
                status, elapsed, answer = client.deploy(task, i + 1)
            except Exception as e:  # noqa: BLE001 - recorded, reported as not landed
                with lock:
                    failures.append("%s: %s" % (task, e))
                continue
            with lock:
                if status == 201:
                    latencies.append(elapsed)
                    answers[task] = answer
                else:
                    failures.append("%s: HTTP %d %s" % (task, status, answer))
        client.close()

    threads = [threading.Thread(target=worker, args=(idx,)) for idx in per_client]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.monotonic()
    for t in threads:
        t.join()
    return time.monotonic() - start, latencies, answers, failures


def landed(server, repo, answers, prefix, count):
    """Whether every answered deploy is on the remote: its directory in main and its commit
    in main's history."""
    path = server.repo_path(repo)
    dirs = set(git("--git-dir", path, "ls-tree", "--name-only", "main:preview").split())
    history = set(git("--git-dir", path, "rev-list", "main").split())
    missing = [t for t in ("%s-%d" % (prefix, i) for i in range(count)) if "task-" + t not in dirs]
    not_in_history = [t for t, a in answers.items() if a.get("commit") not in history]
    return len(missing) == 0 and len(not_in_history) == 0 and len(answers) == count, missing, not_in_history


# --------------------------------------------------------------------------------------------
# Manifestor under test


class Serve:
    """`manifestor serve --config F --listen 127.0.0.1:0` against one fresh server repository,
    with a warm cache (a bare repository sharing the base's objects, tracking ref at the base
    commit, as a long-running server would have it). `server`: the git server it pushes to
    (bench.server, plain http, unless told; over https the config names the server's CA)."""

    def __init__(self, bench, repo, base, commit, signed=False, server=None, extra=""):
        self.bench = bench
        server = server or bench.server
        work = tempfile.mkdtemp(prefix="serve-", dir=bench.work)
        self.work = work
        cache = os.path.join(work, "cache")
        cache_repo = os.path.join(cache, "repo.git")
        git("init", "-q", "--bare", "--initial-branch=main", cache_repo)
        with open(os.path.join(cache_repo, "objects", "info", "alternates"), "w") as f:
            f.write(os.path.join(server.repo_path(base), "objects") + "\n")
        git("--git-dir", cache_repo, "update-ref", "refs/remotes/origin/main", commit)
        with open(os.path.join(work, "git.token"), "w") as f:
            f.write(server.password)
        with open(os.path.join(work, "tokens.yaml"), "w") as f:
            f.write("tokens:\n%s\n" % bench.token_entry)
        config = os.path.join(work, "manifestor.yaml")
        with open(config, "w") as f:
            f.write("repository:\n  url: %s\n  branch: main\n  username: manifestor\n"
                    "  tokenFile: git.token\n  cache: cache\n  timeoutSeconds: 30\n%s"
                    "author: {name: Manifestor, email: manifestor@aiworker.dev}\n"
                    "templates: %s\nserver: {tokensFile: tokens.yaml, gcInterval: 1d}\n"
                    % (server.repo_url(repo), "  caFile: %s\n" % server.ca if server.ca else "",
                       os.path.join(ROOT, "templates")))
            if signed:
                f.write("signing: {sshKeyFile: %s}\n" % bench.signing_key)
            f.write(extra)
        self.log_path = os.path.join(work, "serve.log")
        env = dict(os.environ)
        env.pop("MANIFESTOR_GIT_TOKEN", None)
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([bench.manifestor, "serve", "--config", config, "--listen", "127.0.0.1:0"],
                                     cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.port = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = open(self.log_path).read()
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", text)
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        if not self.port:
            self.stop()
            raise RuntimeError("manifestor serve did not start:\n%s" % open(self.log_path).read()[-3000:])

    def warm_up(self, prefix, n=3, build_index=True):
        sequential(self.port, self.bench.token, prefix, n)
        if not build_index:
            return
        # The first list builds the preview index (every preview of the tip read once: seconds of
        # CPU at 10,000 previews). Built here, before anything is measured, as a long-running
        # server has it, instead of on the other core during the measured deploys.
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        try:
            conn.request("GET", "/api/previews?limit=1", headers={"Authorization": "Bearer %s" % self.bench.token})
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                raise RuntimeError("GET /api/previews after the warm-up: HTTP %d %s" % (resp.status, body[:300]))
        finally:
            conn.close()

    def status(self, key):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024.0  # MiB
        return float("nan")

    def reset_peak_rss(self):
        # "5" resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
        try:
            with open("/proc/%d/clear_refs" % self.proc.pid, "w") as f:
                f.write("5")
            return True
        except OSError:
            return False

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if not self.bench.keep:
            shutil.rmtree(self.work, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The baseline: git CLI in a persistent clone, one writer at a time, behind the same route


class BaselineHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state = None  # set by the server process

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        m = re.match(r"^/api/tasks/([a-z0-9-]+)/deploy-preview$", self.path)
        if not m:
            return self.answer(404, {"error": {"code": "not_found"}})
        try:
            answer = self.state.deploy(m.group(1), body)
            self.answer(201, answer)
        except Exception as e:  # noqa: BLE001
            self.answer(503, {"error": {"code": "git_failed", "message": str(e)[-500:]}})

    def answer(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class BaselineState:
    def __init__(self, clone, template):
        self.clone = clone
        self.template = template
        self.lock = threading.Lock()  # one writer at a time, like a per-repository lock

    def deploy(self, task, body):
        image = body["images"]["backend"]
        tag = image.rsplit(":", 1)[1]
        with self.lock:
            c = self.clone
            git("-C", c, "pull", "-q", "--ff-only", "origin", "main")
            directory = os.path.join(c, "preview", "task-" + task)
            shutil.rmtree(directory, ignore_errors=True)
            os.makedirs(directory)
            for name, text in self.template.render(task, tag).items():
                with open(os.path.join(directory, name), "w", encoding="utf-8") as f:
                    f.write(text)
            git("-C", c, "add", "-A", "preview/task-" + task)
            git("-C", c, "commit", "-q", "-m", "preview(task-%s): deploy backend:%s" % (task, tag))
            git("-C", c, "push", "-q", "origin", "HEAD:main")
            commit = git("-C", c, "rev-parse", "HEAD").strip()
        return {"taskId": task, "commit": commit, "changed": True}


def baseline_server_main(clone, template_dir):
    template = PreviewTemplate.__new__(PreviewTemplate)
    template.files = {}
    for name in sorted(os.listdir(template_dir)):
        with open(os.path.join(template_dir, name), encoding="utf-8") as f:
            template.files[name] = f.read()
    BaselineHandler.state = BaselineState(clone, template)
    ThreadingHTTPServer.request_queue_size = 256  # a burst of 50 connects at once
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), BaselineHandler)
    httpd.daemon_threads = True
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


class Baseline:
    """The baseline's HTTP front (a separate process, so it does not share the load
    generator's interpreter) over a persistent clone pointed at a fresh server repository."""

    def __init__(self, bench, clone, repo, commit):
        git("-C", clone, "remote", "set-url", "origin", bench.server.repo_url(repo, credentials=True))
        git("-C", clone, "fetch", "-q", "origin")
        git("-C", clone, "reset", "-q", "--hard", commit)
        git("-C", clone, "clean", "-q", "-fd")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--baseline-server", clone,
                                      os.path.join(bench.work, "template")],
                                     stdout=subprocess.PIPE, stderr=sys.stderr, cwd=ROOT)
        self.port = int(self.proc.stdout.readline())

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --------------------------------------------------------------------------------------------
# The floor: a bare git push of a one-file commit


def floor_pushes(bench, size, commit, n, where, server=None):
    """n pushes of a one-file commit each (the file at the root, or under preview/) from a
    bare clone to a fresh repository of `server` (bench.server unless told: over https, git
    trusts the server's CA through GIT_SSL_CAINFO); only `git push` is timed."""
    server = server or bench.server
    repo = server.fresh_repo(bench.base[size], commit, "floor%s-%d" % (where, size))
    local = tempfile.mkdtemp(prefix="floor-", dir=bench.work)
    git("init", "-q", "--bare", "--initial-branch=main", local)
    with open(os.path.join(local, "objects", "info", "alternates"), "w") as f:
        f.write(os.path.join(bench.server.repo_path(bench.base[size]), "objects") + "\n")
    git("--git-dir", local, "update-ref", "refs/heads/main", commit)
    git("--git-dir", local, "config", "gc.auto", "0")
    url = server.repo_url(repo, credentials=True)
    times = []
    head = commit
    for i in range(n):
        blob = git("--git-dir", local, "hash-object", "-w", "--stdin", input=b"floor %d\n" % i).strip()
        if where == "root":
            entries = git("--git-dir", local, "ls-tree", head)
            tree = git("--git-dir", local, "mktree", input=(entries + "100644 blob %s\tfloor-%d.txt\n" % (blob, i)).encode()).strip()
        else:
            preview = git("--git-dir", local, "rev-parse", head + ":preview").strip()
            entries = git("--git-dir", local, "ls-tree", preview)
            sub = git("--git-dir", local, "mktree", input=(entries + "100644 blob %s\tfloor-%d.txt\n" % (blob, i)).encode()).strip()
            root = [l for l in git("--git-dir", local, "ls-tree", head).splitlines() if not l.endswith("\tpreview")]
            root.append("040000 tree %s\tpreview" % sub)
            tree = git("--git-dir", local, "mktree", input=("\n".join(root) + "\n").encode()).strip()
        head = git("--git-dir", local, "commit-tree", tree, "-p", head, "-m", "floor %d" % i).strip()
        start = time.monotonic()
        git("--git-dir", local, "push", "-q", url, "%s:refs/heads/main" % head, env=server.git_env)
        times.append(time.monotonic() - start)
    if not bench.keep:
        shutil.rmtree(local, ignore_errors=True)
    return times


# --------------------------------------------------------------------------------------------
# The suite


class Bench:
    def __init__(self, args):
        self.args = args
        self.manifestor = os.path.abspath(args.manifestor)
        if not os.access(self.manifestor, os.X_OK):
            raise SystemExit("no manifestor binary at %s (make release)" % self.manifestor)
        self.keep = os.environ.get("BENCH_KEEP") == "1"
        self.work = tempfile.mkdtemp(prefix="manifestor-bench-")
        self.results = {}  # key -> list of per-round values
        self.notes = []
        self.base = {}
        self.base_commit = {}
        self.clones = {}

    def record(self, key, value):
        self.results.setdefault(key, []).append(value)

    def setup(self):
        a = self.args
        # Every commit writes loose objects (files): how fast this file system creates them
        # matters, and differs a lot between a fresh folder and one where millions were deleted.
        probe = os.path.join(self.work, "probe")
        os.makedirs(probe)
        start = time.monotonic()
        for i in range(2000):
            with open(os.path.join(probe, "f%d" % i), "wb") as f:
                f.write(b"x" * 1000)
        self.file_create_us = (time.monotonic() - start) / 2000 * 1e6
        shutil.rmtree(probe)
        log("work folder %s: %.0f us to create a 1 KB file" % (self.work, self.file_create_us))
        out = sh([self.manifestor, "token", "create", "bench", "--role", "deployer"]).splitlines()
        self.token, self.token_entry = out[0].strip(), out[1].rstrip()
        # The key of the "signed" mode: every commit SSH-signed (signing.sshKeyFile).
        self.signing_key = os.path.join(self.work, "signing-key")
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", self.signing_key])
        self.template = PreviewTemplate(self.manifestor, self.work)
        log("preview template: %d files, %d bytes" % (len(self.template.files), sum(len(t) for t in self.template.files.values())))
        self.server = GitServer(self.work)
        # The https rows: a second server, with TLS and a private CA, over the same repositories.
        self.tls_server = None
        if "https" in a.modes:
            self.tls_server = GitServer(self.work, tls=True, repos=self.server.repos, password=self.server.password)
        skeleton = read_skeleton()
        for size in sorted(set(a.sizes) | set(a.read_sizes)):
            name = "base-%d" % size
            commit, seconds = self.server.generate_base(name, size, self.template, skeleton)
            self.base[size], self.base_commit[size] = name, commit
            self.generated = getattr(self, "generated", {})
            self.generated[size] = seconds
            log("generated %d previews in %.1f s (%s)" % (size, seconds, commit[:12]))
            # The baseline's persistent clone (checked out once; reset per measurement).
            clone = os.path.join(self.work, "clone-%d" % size)
            start = time.monotonic()
            git("clone", "-q", "--no-hardlinks", self.server.repo_path(name), clone)
            for key, value in (("gc.auto", "0"), ("pull.ff", "only"), ("user.name", "Backend"),
                               ("user.email", "backend@aiworker.dev")):
                git("-C", clone, "config", key, value)
            self.clones[size] = clone
            log("baseline clone of %d previews in %.1f s" % (size, time.monotonic() - start))

    def git_server(self, mode):
        """The https mode pushes to the TLS server, every other mode to the plain http one."""
        return self.tls_server if mode == "https" else self.server

    def manifestor_sequential(self, rnd, size, mode):
        server = self.git_server(mode)
        repo = server.fresh_repo(self.base[size], self.base_commit[size], "seq-%s-%d" % (mode, size))
        serve = Serve(self, repo, self.base[size], self.base_commit[size], signed=mode == "signed", server=server)
        try:
            serve.warm_up("w%s%d" % (mode[0], rnd))
            fetches = server.fetches(repo)
            prefix = "s%s%d" % (mode[0], rnd)
            requests, cpu = server.all_requests(repo), (cpu_seconds(serve.proc.pid), server.cpu())
            lat, _ = sequential(serve.port, self.token, prefix, self.args.seq)
            # What each deploy cost, on either side of the wire (the why of the https rows).
            self.record("seq-%s-%d-requests" % (mode, size), (server.all_requests(repo) - requests) / len(lat))
            self.record("seq-%s-%d-cpu" % (mode, size), (cpu_seconds(serve.proc.pid) - cpu[0]) / len(lat))
            self.record("seq-%s-%d-server-cpu" % (mode, size), (server.cpu() - cpu[1]) / len(lat))
            if server.fetches(repo) != fetches:
                self.notes.append("round %d: %s at %d fetched during the sequential run" % (rnd, mode, size))
            if mode == "fast":
                # The same deploys again: each a no-op, answered after one look at the remote's
                # advertisement (no fetch, no push).
                before = self.server.all_requests(repo)
                adverts = self.server.requests(repo, "info/refs?service=git-upload-pack", method="GET")
                noop, _ = sequential(serve.port, self.token, prefix, self.args.seq, expect=200)
                self.record("noop-%d-p50" % size, percentile(noop, 0.5))
                self.record("noop-%d-requests" % size, (self.server.all_requests(repo) - before) / len(noop))
                self.record("noop-%d-adverts" % size,
                            (self.server.requests(repo, "info/refs?service=git-upload-pack", method="GET") - adverts) / len(noop))
                self.record("ratio-noop-change-%d" % size, percentile(noop, 0.5) / percentile(lat, 0.5))
                log("  manifestor unchanged re-deploy at %d: p50 %.1f ms, %.2f git requests each" % (
                    size, percentile(noop, 0.5) * 1e3, (self.server.all_requests(repo) - before) / len(noop)))
        finally:
            serve.stop()
        return lat

    def manifestor_burst(self, rnd, mode):
        size = max(self.args.sizes)
        server = self.git_server(mode)
        repo = server.fresh_repo(self.base[size], self.base_commit[size], "burst-%s" % mode)
        serve = Serve(self, repo, self.base[size], self.base_commit[size], signed=mode == "signed", server=server)
        try:
            serve.warm_up("w%s%d" % (mode[0], rnd))
            rss_before = serve.status("VmRSS")
            reset = serve.reset_peak_rss()
            pushes_before = server.pushes(repo)
            prefix = "b%s%d" % (mode[0], rnd)
            cpu = (cpu_seconds(serve.proc.pid), server.cpu())
            wall, lat, answers, failures = burst(serve.port, self.token, prefix, self.args.burst, self.args.clients)
            cpu = ((cpu_seconds(serve.proc.pid) - cpu[0]) / max(1, len(answers)), (server.cpu() - cpu[1]) / max(1, len(answers)))
            pushes = server.pushes(repo) - pushes_before
            peak = serve.status("VmHWM")
            anon, filed = serve.status("RssAnon"), serve.status("RssFile")
            ok, missing, not_in_history = landed(server, repo, answers, prefix, self.args.burst)
        finally:
            serve.stop()
        if failures:
            self.notes.append("round %d: %s burst: %d failures, e.g. %s" % (rnd, mode, len(failures), failures[0]))
        if not reset:
            self.notes.append("peak RSS could not be reset before the burst: VmHWM covers the whole process life")
        return {"wall": wall, "throughput": len(answers) / wall, "p50": percentile(lat, 0.5),
                "p99": percentile(lat, 0.99), "pushes": pushes, "landed": ok, "answered": len(answers),
                "missing": len(missing) + len(not_in_history), "rss": peak, "rss_before": rss_before,
                "rss_anon": anon, "rss_file": filed, "cpu": cpu[0], "server-cpu": cpu[1]}

    def baseline_sequential(self, rnd, size, n):
        repo = self.server.fresh_repo(self.base[size], self.base_commit[size], "baseline-%d" % size)
        b = Baseline(self, self.clones[size], repo, self.base_commit[size])
        try:
            sequential(b.port, "none", "wb%d" % rnd, 1)
            lat, _ = sequential(b.port, "none", "sb%d" % rnd, n)
        finally:
            b.stop()
        return lat

    def baseline_burst(self, rnd):
        size = max(self.args.sizes)
        repo = self.server.fresh_repo(self.base[size], self.base_commit[size], "baseline-burst")
        b = Baseline(self, self.clones[size], repo, self.base_commit[size])
        try:
            sequential(b.port, "none", "wbb%d" % rnd, 1)
            before = self.server.pushes(repo)
            prefix = "bb%d" % rnd
            wall, lat, answers, failures = burst(b.port, "none", prefix, self.args.baseline_burst, self.args.clients)
            pushes = self.server.pushes(repo) - before
            ok, _, _ = landed(self.server, repo, answers, prefix, self.args.baseline_burst)
        finally:
            b.stop()
        if failures:
            self.notes.append("round %d: baseline burst: %d failures, e.g. %s" % (rnd, len(failures), failures[0]))
        return {"wall": wall, "throughput": len(answers) / wall, "p50": percentile(lat, 0.5),
                "p99": percentile(lat, 0.99), "pushes": pushes, "landed": ok, "answered": len(answers)}

    def run(self):
        a = self.args
        small, large = min(a.sizes), max(a.sizes)
        for rnd in range(1, a.rounds + 1):
            log("round %d/%d" % (rnd, a.rounds))
            p50 = {}
            for size in a.sizes:
                for where in ("root", "preview"):
                    t = floor_pushes(self, size, self.base_commit[size], a.floor, where)
                    self.record("floor-%s-%d-p50" % (where, size), percentile(t, 0.5))
                    p50["floor-%s-%d" % (where, size)] = percentile(t, 0.5)
                log("  floor %d: root p50 %.0f ms, preview p50 %.0f ms" % (
                    size, p50["floor-root-%d" % size] * 1e3, p50["floor-preview-%d" % size] * 1e3))
                if self.tls_server:
                    # The same floor over https: what TLS costs a bare `git push` on this server.
                    for where in ("root", "preview"):
                        t = floor_pushes(self, size, self.base_commit[size], a.floor, where, self.tls_server)
                        self.record("floor-https-%s-%d-p50" % (where, size), percentile(t, 0.5))
                        p50["floor-https-%s-%d" % (where, size)] = percentile(t, 0.5)
                    self.record("ratio-floor-https-http-%d" % size, p50["floor-https-root-%d" % size] / p50["floor-root-%d" % size])
                    log("  floor %d over https: root p50 %.0f ms, preview p50 %.0f ms" % (
                        size, p50["floor-https-root-%d" % size] * 1e3, p50["floor-https-preview-%d" % size] * 1e3))
                # Odd rounds measure the modes in order, even rounds reversed, so that neither
                # always runs second (the machine drifts within a round).
                for mode in (a.modes if rnd % 2 else list(reversed(a.modes))):
                    lat = self.manifestor_sequential(rnd, size, mode)
                    for q in (0.5, 0.9, 0.99):
                        self.record("seq-%s-%d-p%d" % (mode, size, int(q * 100)), percentile(lat, q))
                    p50["seq-%s-%d" % (mode, size)] = percentile(lat, 0.5)
                    log("  manifestor (%s push) sequential at %d: p50 %.0f ms, p99 %.0f ms" % (
                        mode, size, percentile(lat, 0.5) * 1e3, percentile(lat, 0.99) * 1e3))
                n = a.baseline_seq if size == large else a.baseline_seq_small
                lat = self.baseline_sequential(rnd, size, n)
                for q in (0.5, 0.9, 0.99):
                    self.record("baseline-%d-p%d" % (size, int(q * 100)), percentile(lat, q))
                p50["baseline-%d" % size] = percentile(lat, 0.5)
                log("  baseline sequential at %d: p50 %.0f ms" % (size, percentile(lat, 0.5) * 1e3))
            # Ratios within the round.
            for mode in a.modes:
                floor = "floor-https-" if mode == "https" else "floor-"  # each against the floor of its scheme
                for size in a.sizes:
                    self.record("ratio-%s-floor-%d" % (mode, size), p50["seq-%s-%d" % (mode, size)] / p50["%sroot-%d" % (floor, size)])
                    self.record("ratio-%s-floorp-%d" % (mode, size), p50["seq-%s-%d" % (mode, size)] / p50["%spreview-%d" % (floor, size)])
                    self.record("ratio-%s-baseline-%d" % (mode, size), p50["seq-%s-%d" % (mode, size)] / p50["baseline-%d" % size])
                self.record("ratio-%s-scale" % mode, p50["seq-%s-%d" % (mode, large)] / p50["seq-%s-%d" % (mode, small)])
            if "signed" in a.modes and "fast" in a.modes:
                for size in a.sizes:
                    self.record("ratio-signed-unsigned-%d" % size, p50["seq-signed-%d" % size] / p50["seq-fast-%d" % size])
            if "https" in a.modes and "fast" in a.modes:
                for size in a.sizes:
                    self.record("ratio-https-http-%d" % size, p50["seq-https-%d" % size] / p50["seq-fast-%d" % size])
            self.record("ratio-baseline-scale", p50["baseline-%d" % large] / p50["baseline-%d" % small])
            self.record("ratio-floor-scale", p50["floor-root-%d" % large] / p50["floor-root-%d" % small])
            self.record("ratio-floorp-scale", p50["floor-preview-%d" % large] / p50["floor-preview-%d" % small])
            for size in a.read_sizes:
                reads.measure_reads(self, rnd, size)
            if a.signing_pair:
                for size in a.sizes:
                    reads.measure_signing(self, rnd, size)
            # Bursts.
            bursts = {}
            burst_modes = [m for m in a.modes if m != "signed"]
            for mode in (burst_modes if rnd % 2 else list(reversed(burst_modes))):
                r = self.manifestor_burst(rnd, mode)
                bursts[mode] = r
                for k, v in r.items():
                    self.record("burst-%s-%s" % (mode, k), v)
                log("  manifestor (%s push) burst: %.0f/s, p99 %.0f ms, %d pushes, landed %s, peak RSS %.0f MiB" % (
                    mode, r["throughput"], r["p99"] * 1e3, r["pushes"], r["landed"], r["rss"]))
            if "https" in bursts and "fast" in bursts:
                self.record("ratio-https-burst-http", bursts["https"]["throughput"] / bursts["fast"]["throughput"])
            if a.baseline_burst > 0:
                r = self.baseline_burst(rnd)
                for k, v in r.items():
                    self.record("burst-baseline-%s" % k, v)
                log("  baseline burst (%d requests): %.2f/s, p99 %.0f ms, %d pushes, landed %s" % (
                    a.baseline_burst, r["throughput"], r["p99"] * 1e3, r["pushes"], r["landed"]))
                for mode in bursts:
                    self.record("ratio-%s-burst-baseline" % mode, bursts[mode]["throughput"] / r["throughput"])

    def render_bench(self):
        out = sh([self.manifestor, "bench-render", "--count", "1000", "--runs", str(max(3, self.args.rounds * 2 + 1))], cwd=ROOT)
        rows = [l for l in out.splitlines() if l.startswith("|") and not l.startswith("|---") and "measure" not in l]
        self.render_rows = rows
        seconds = None
        for l in rows:
            m = re.match(r"\| render (\d+) previews.*?\| ([\d.]+) s \| ([\d.]+) s \| ([\d.]+) s \|", l)
            if m:
                seconds = (float(m.group(2)), float(m.group(3)), float(m.group(4)))
        self.render_seconds = seconds

    def cleanup(self):
        for server in (getattr(self, "tls_server", None), getattr(self, "server", None)):
            try:
                if server:
                    server.stop()
            except Exception:  # noqa: BLE001
                pass
        if self.keep:
            log("work folder kept: %s" % self.work)
        else:
            subprocess.run(["rm", "-rf", self.work])


# --------------------------------------------------------------------------------------------
# The table


def fmt_ms(v):
    return "%.0f ms" % (v * 1e3) if v >= 0.0995 else "%.1f ms" % (v * 1e3)


def summary(values, f):
    if not values:
        return "n/a | | "
    return "%s | %s | %s" % (f(statistics.median(values)), f(min(values)), f(max(values)))


def table(bench):
    a = bench.args
    R = bench.results
    small, large = min(a.sizes), max(a.sizes)
    ms = fmt_ms
    x = lambda v: "%.2fx" % v  # noqa: E731
    n = lambda v: "%.0f" % v  # noqa: E731
    two = lambda v: "%.2f" % v  # noqa: E731
    per_s = lambda v: "%.0f/s" % v if v >= 10 else "%.2f/s" % v  # noqa: E731
    mib = lambda v: "%.0f MiB" % v  # noqa: E731
    lines = []
    add = lines.append
    modes = a.modes
    label = {"fast": "Manifestor", "signed": "Manifestor, commits signed", "https": "Manifestor over https"}
    add("| measure | median | min | max |")
    add("|---|---|---|---|")
    for size in a.sizes:
        add("| **%s previews in the repository** | | | |" % format(size, ","))
        add("| floor: `git push` of a one-file commit (file at the root), p50 | %s |" % summary(R.get("floor-root-%d-p50" % size), ms))
        add("| floor: `git push` of a one-file commit under `preview/`, p50 | %s |" % summary(R.get("floor-preview-%d-p50" % size), ms))
        if "https" in modes:
            add("| floor over https: `git push` of a one-file commit (file at the root), p50 | %s |" % summary(R.get("floor-https-root-%d-p50" % size), ms))
            add("| floor over https: `git push` of a one-file commit under `preview/`, p50 | %s |" % summary(R.get("floor-https-preview-%d-p50" % size), ms))
            add("| ratio floor over https / floor over http (file at the root) | %s |" % summary(R.get("ratio-floor-https-http-%d" % size), x))
        for mode in modes:
            for q in (50, 90, 99):
                add("| %s sequential deploy-preview, p%d | %s |" % (label[mode], q, summary(R.get("seq-%s-%d-p%d" % (mode, size, q)), ms)))
            add("| %s sequential: git server requests per deploy | %s |" % (label[mode], summary(R.get("seq-%s-%d-requests" % (mode, size)), two)))
            add("| %s sequential: CPU per deploy, Manifestor | %s |" % (label[mode], summary(R.get("seq-%s-%d-cpu" % (mode, size)), ms)))
            add("| %s sequential: CPU per deploy, git server (lighttpd with its TLS, and git) | %s |" % (
                label[mode], summary(R.get("seq-%s-%d-server-cpu" % (mode, size)), ms)))
        if "fast" in modes:
            add("| Manifestor unchanged re-deploy (the no-op path), p50 | %s |" % summary(R.get("noop-%d-p50" % size), ms))
            add("| ratio unchanged re-deploy p50 / changing deploy p50 | %s |" % summary(R.get("ratio-noop-change-%d" % size), x))
            add("| git server requests per unchanged re-deploy (goal: at most 1) | %s |" % summary(R.get("noop-%d-requests" % size), two))
            add("| of them `info/refs` advertisements | %s |" % summary(R.get("noop-%d-adverts" % size), two))
        for q in (50, 90, 99):
            add("| baseline (git CLI: pull, write, add, commit, push) sequential, p%d | %s |" % (q, summary(R.get("baseline-%d-p%d" % (size, q)), ms)))
        for mode in modes:
            floor = "floor over https" if mode == "https" else "floor"
            add("| ratio %s p50 / %s (root) p50 | %s |" % (label[mode], floor, summary(R.get("ratio-%s-floor-%d" % (mode, size)), x)))
            add("| ratio %s p50 / %s (`preview/`) p50 | %s |" % (label[mode], floor, summary(R.get("ratio-%s-floorp-%d" % (mode, size)), x)))
            add("| ratio %s p50 / baseline p50 | %s |" % (label[mode], summary(R.get("ratio-%s-baseline-%d" % (mode, size)), x)))
        if "https" in modes and "fast" in modes:
            add("| ratio Manifestor over https p50 / Manifestor (http) p50 | %s |" % summary(R.get("ratio-https-http-%d" % size), x))
    if "signed" in modes and "fast" in modes:
        for size in a.sizes:
            add("| ratio signed p50 / unsigned p50 at %s previews (goal: at most 1.05x) | %s |" % (
                format(size, ","), summary(R.get("ratio-signed-unsigned-%d" % size), x)))
    add("| **scaling (p50 at %s / p50 at %s)** | | | |" % (format(large, ","), format(small, ",")))
    for mode in modes:
        add("| %s | %s |" % (label[mode], summary(R.get("ratio-%s-scale" % mode), x)))
    add("| baseline | %s |" % summary(R.get("ratio-baseline-scale"), x))
    add("| floor (root) | %s |" % summary(R.get("ratio-floor-scale"), x))
    add("| floor (`preview/`) | %s |" % summary(R.get("ratio-floorp-scale"), x))
    add("| **burst: %d requests from %d concurrent clients at %s previews** | | | |" % (a.burst, a.clients, format(large, ",")))
    burst_modes = [m for m in modes if m != "signed"]
    for mode in burst_modes:
        add("| %s throughput | %s |" % (label[mode], summary(R.get("burst-%s-throughput" % mode), per_s)))
        add("| %s latency p50 | %s |" % (label[mode], summary(R.get("burst-%s-p50" % mode), ms)))
        add("| %s latency p99 | %s |" % (label[mode], summary(R.get("burst-%s-p99" % mode), ms)))
        add("| %s pushes | %s |" % (label[mode], summary(R.get("burst-%s-pushes" % mode), n)))
        add("| %s CPU per deploy, Manifestor | %s |" % (label[mode], summary(R.get("burst-%s-cpu" % mode), ms)))
        add("| %s CPU per deploy, git server (lighttpd with its TLS, and git) | %s |" % (label[mode], summary(R.get("burst-%s-server-cpu" % mode), ms)))
        landed_runs = R.get("burst-%s-landed" % mode, [])
        add("| %s all %d landed (runs) | %d of %d | | |" % (label[mode], a.burst, sum(1 for v in landed_runs if v), len(landed_runs)))
        add("| %s peak RSS (VmHWM, reset before the burst) | %s |" % (label[mode], summary(R.get("burst-%s-rss" % mode), mib)))
        add("| %s RSS after the burst: anonymous | %s |" % (label[mode], summary(R.get("burst-%s-rss_anon" % mode), mib)))
        add("| %s RSS after the burst: file-backed (binary, libraries, mapped packs) | %s |" % (label[mode], summary(R.get("burst-%s-rss_file" % mode), mib)))
    if "https" in burst_modes and "fast" in burst_modes:
        add("| ratio Manifestor over https throughput / Manifestor (http) throughput | %s |" % summary(R.get("ratio-https-burst-http"), x))
    if a.baseline_burst:
        add("| baseline throughput (%d requests from %d clients) | %s |" % (a.baseline_burst, a.clients, summary(R.get("burst-baseline-throughput"), per_s)))
        add("| baseline latency p99 | %s |" % summary(R.get("burst-baseline-p99"), ms))
        add("| baseline pushes | %s |" % summary(R.get("burst-baseline-pushes"), n))
        lr = R.get("burst-baseline-landed", [])
        add("| baseline all landed (runs) | %d of %d | | |" % (sum(1 for v in lr if v), len(lr)))
        for mode in burst_modes:
            add("| ratio %s throughput / baseline throughput | %s |" % (label[mode], summary(R.get("ratio-%s-burst-baseline" % mode), x)))
    lines.extend(reads.rows(bench, summary, ms, x))
    add("| **render (`manifestor bench-render`)** | | | |")
    for row in getattr(bench, "render_rows", []):
        if "goal" not in row:
            add(row)
    return "\n".join(lines)


def goals(bench):
    a = bench.args
    R = bench.results
    small, large = min(a.sizes), max(a.sizes)
    main = "fast" if "fast" in a.modes else a.modes[0]
    med = lambda k: statistics.median(R[k]) if R.get(k) else float("nan")  # noqa: E731
    rows = []

    def goal(text, value, ok):
        rows.append("| %s | %s | %s |" % (text, value, "met" if ok else "**missed**"))

    v = med("ratio-%s-floor-%d" % (main, large))
    goal("sequential p50 at %s previews at most 1.5x the bare-push floor (one-file commit, file at the root)" % format(large, ","), "%.2fx" % v, v <= 1.5)
    v = med("ratio-%s-floorp-%d" % (main, large))
    goal("... against the floor of a one-file commit under `preview/` (what a deploy changes)", "%.2fx" % v, v <= 1.5)
    v = med("ratio-%s-baseline-%d" % (main, large))
    goal("... so at least 5x faster than the git CLI baseline", "%.1fx faster" % (1 / v), 1 / v >= 5)
    v = med("ratio-%s-scale" % main)
    goal("p50 at %s at most 1.3x p50 at %s" % (format(large, ","), format(small, ",")), "%.2fx" % v, v <= 1.3)
    v = max(R.get("noop-%d-requests" % large) or [float("nan")])
    goal("unchanged re-deploy at %s: at most one round trip to the git server (worst round)" % format(large, ","),
         "%.2f requests" % v, v <= 1)
    v = med("burst-%s-throughput" % main)
    goal("burst: at least 200 previews per second", "%.0f/s" % v, v >= 200)
    lr = R.get("burst-%s-landed" % main, [])
    goal("burst: all %d landed" % a.burst, "%d of %d runs" % (sum(1 for x in lr if x), len(lr)), lr and all(lr))
    v = med("burst-%s-pushes" % main)
    goal("burst: pushes at most a tenth of the requests", "%.0f pushes for %d requests" % (v, a.burst), v <= a.burst / 10)
    if a.baseline_burst:
        v = med("ratio-%s-burst-baseline" % main)
        goal("burst: at least 100x the baseline's throughput", "%.0fx" % v, v >= 100)
    v = max(R.get("burst-%s-rss" % main, [float("nan")]))
    goal("peak RSS at most 100 MiB during the burst (worst run)", "%.0f MiB" % v, v <= 100)
    if "signed" in a.modes and "fast" in a.modes:
        v = max(med("ratio-signed-unsigned-%d" % size) for size in a.sizes)
        goal("signed commits: sequential p50 at most 1.05x unsigned (worst size)", "%.3fx" % v, v <= 1.05)
    if "https" in a.modes and "fast" in a.modes:
        https_goals(bench, goal, med, large)
    reads.goals(bench, goal)
    if bench.render_seconds:
        goal("1,000 preview environments rendered in under one second", "%.3f s" % bench.render_seconds[0], bench.render_seconds[0] < 1)
    return "| goal | measured (median of rounds) | |\n|---|---|---|\n" + "\n".join(rows)


def https_goals(bench, goal, med, large):
    """The goals of the https rows (issue 13), and for each one missed a note with what the run
    measured beside it: how much TLS costs a bare `git push` on the same server, and whether
    Manifestor's https deploys pushed and fetched as its http ones did."""
    R = bench.results
    size = format(large, ",")
    vs_http = med("ratio-https-http-%d" % large)
    goal("https: sequential p50 at %s previews at most 1.15x the http p50" % size, "%.2fx" % vs_http, vs_http <= 1.15)
    vs_floor = med("ratio-https-floor-%d" % large)
    goal("https: sequential p50 at %s previews at most 1.5x a bare `git push` over https (file at the root)" % size,
         "%.2fx" % vs_floor, vs_floor <= 1.5)
    vs_burst = med("ratio-https-burst-http")
    goal("https: burst throughput at least 0.9x the http burst's", "%.2fx" % vs_burst, vs_burst >= 0.9)
    https, http = med("seq-https-%d-p50" % large), med("seq-fast-%d-p50" % large)
    floor_https, floor_http = med("floor-https-root-%d-p50" % large), med("floor-root-%d-p50" % large)
    tls = "a bare `git push` pays %.0f ms more over https than over http on the same server (%s vs %s)" % (
        (floor_https - floor_http) * 1e3, fmt_ms(floor_https), fmt_ms(floor_http))
    cost = lambda mode: "%.2f git requests, CPU %s in Manifestor and %s in the git server" % (  # noqa: E731
        med("seq-%s-%d-requests" % (mode, large)), fmt_ms(med("seq-%s-%d-cpu" % (mode, large))),
        fmt_ms(med("seq-%s-%d-server-cpu" % (mode, large))))
    tls += "; per deploy over https %s, over http %s" % (cost("https"), cost("fast"))
    if not vs_http <= 1.15:
        bench.notes.append("https sequential goal missed: p50 %s over https vs %s over http at %s previews (+%.0f ms); %s, "
                           "so what does not come from TLS itself is %.0f ms per deploy" % (
                               fmt_ms(https), fmt_ms(http), size, (https - http) * 1e3, tls,
                               ((https - http) - (floor_https - floor_http)) * 1e3))
    if not vs_floor <= 1.5:
        bench.notes.append("https floor goal missed: p50 %s over https vs the https floor %s at %s previews; %s" % (
            fmt_ms(https), fmt_ms(floor_https), size, tls))
    if not vs_burst >= 0.9:
        pushes = (med("burst-https-pushes"), med("burst-fast-pushes"))
        rounds = len(R.get("ratio-https-burst-http", []))
        cpu_https = med("burst-https-cpu") + med("burst-https-server-cpu")
        cpu_http = med("burst-fast-cpu") + med("burst-fast-server-cpu")
        if cpu_https <= cpu_http * 1.1:
            why = ("about the same CPU per deploy over both schemes, so what TLS adds is not what slowed the https "
                   "burst: its deploys waited on something else (the disk, other work on the machine)")
        else:
            why = ("%.0f%% more CPU per deploy over https, both sides together: on a machine whose cores both sides "
                   "share, that extra work is the gap" % ((cpu_https / cpu_http - 1) * 100))
        measured = ("https burst goal missed: %.0f/s over https vs %.0f/s over http, in %.0f pushes vs %.0f, p99 %s vs %s; "
                    "CPU per deploy over https %s in Manifestor and %s in the git server, over http %s and %s: " % (
                        med("burst-https-throughput"), med("burst-fast-throughput"), pushes[0], pushes[1],
                        fmt_ms(med("burst-https-p99")), fmt_ms(med("burst-fast-p99")),
                        fmt_ms(med("burst-https-cpu")), fmt_ms(med("burst-https-server-cpu")),
                        fmt_ms(med("burst-fast-cpu")), fmt_ms(med("burst-fast-server-cpu"))))
        order = "; with one round the https burst always ran second, after the http one" if rounds == 1 else ""
        bench.notes.append(measured + why + order)
    for key, what in (("https", "over https"), ("fast", "over http")):
        lr = R.get("burst-%s-landed" % key, [])
        if lr and not all(lr):
            bench.notes.append("burst %s: not every deploy landed in %d of %d runs" % (what, sum(1 for v in lr if not v), len(lr)))


def main():
    global reads
    import reads  # noqa: F401 - bench/reads.py imports this module's helpers, so it loads after them
    if len(sys.argv) >= 2 and sys.argv[1] == "--baseline-server":
        baseline_server_main(sys.argv[2], sys.argv[3])
        return
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--manifestor", default=os.path.join(ROOT, ".build", "release", "manifestor"))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seq", type=int, default=100, help="sequential Manifestor deploys per measurement")
    p.add_argument("--baseline-seq", type=int, default=20, help="sequential baseline deploys at the large size")
    p.add_argument("--baseline-seq-small", type=int, default=40, help="sequential baseline deploys at the small size")
    p.add_argument("--floor", type=int, default=20, help="floor pushes per measurement")
    p.add_argument("--burst", type=int, default=1000)
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--baseline-burst", type=int, default=100, help="requests in the baseline's burst (0: skip)")
    p.add_argument("--sizes", default="100,10000")
    p.add_argument("--read-sizes", default="1000,10000",
                   help="sizes of the reads rows (bench/reads.py): deploys alone and polled, list pages, GETs ('' skips)")
    p.add_argument("--no-signing-pair", dest="signing_pair", action="store_false",
                   help="skip the signed/unsigned pair measured deploy by deploy in turn (bench/reads.py)")
    p.add_argument("--modes", default="fast,https",
                   help="comma-separated: fast (Manifestor as shipped, pushing over http), https (the same "
                        "pushing over https to a TLS git server with a private CA, the floor measured over https "
                        "too), signed (every commit SSH-signed; sequential runs only)")
    p.add_argument("--quick", action="store_true", help="a smoke run: 1 round, small counts")
    p.add_argument("--out", default=os.path.join(ROOT, "bench", "results.md"))
    args = p.parse_args()
    args.sizes = sorted(int(s) for s in args.sizes.split(","))
    args.modes = args.modes.split(",")
    args.read_sizes = sorted(int(s) for s in args.read_sizes.split(",") if s)
    for mode in args.modes:
        if mode not in ("fast", "signed", "https"):
            p.error("--modes: %s is not fast, signed or https" % mode)
    if args.quick:
        args.rounds, args.seq, args.baseline_seq, args.baseline_seq_small, args.floor = 1, 20, 5, 5, 5
        args.burst, args.baseline_burst = min(args.burst, 200), min(args.baseline_burst, 20)
    started = time.monotonic()
    bench = Bench(args)
    try:
        bench.setup()
        bench.run()
        bench.render_bench()
    finally:
        bench.cleanup()
    elapsed = time.monotonic() - started
    cpu = os.cpu_count()
    header = ["# Manifestor benchmark results", "",
              "Generated by `make bench` (bench/run.py) on %s: %d cores, %s, git %s, libgit2 (Debian 12); "
              "lighttpd + git http-backend with basic auth on 127.0.0.1%s. %d round(s); each figure is the median "
              "of the rounds with min and max; ratios are computed within a round, then summarised. "
              "Sequential: %d Manifestor deploys per measurement (after 3 warm-up deploys), %d/%d baseline deploys "
              "at %s/%s previews, %d floor pushes. Every measurement pushes into its own fresh server repository "
              "that starts at the generated commit; Manifestor's cache starts warm (the generated objects, tracking "
              "ref at the tip). Work folder (server repositories, caches, clones) on $TMPDIR, where creating a "
              "1 KB file took %.0f us. The whole run took %.0f s; generating the repositories took %s." % (
                  time.strftime("%Y-%m-%d %H:%M"), cpu, os.uname().release, git("--version").split()[-1],
                  ", and a second one with TLS (a private CA, `repository.caFile`) over the same repositories for the "
                  "https rows" if "https" in args.modes else "",
                  args.rounds, args.seq, args.baseline_seq_small, args.baseline_seq, format(min(args.sizes), ","),
                  format(max(args.sizes), ","), args.floor, bench.file_create_us, elapsed,
                  ", ".join("%.1f s for %s previews" % (s, format(k, ",")) for k, s in sorted(bench.generated.items()))), ""]
    text = "\n".join(header) + "\n" + table(bench) + "\n\n## Goals\n\n" + goals(bench) + "\n"
    if bench.notes:
        text += "\n## Notes from the run\n\n" + "\n".join("- " + n for n in bench.notes) + "\n"
    publish(text, args.out)


if __name__ == "__main__":
    main()
