#!/usr/bin/env python3
"""A stand-in for Argo CD in Manifestor's tests (a test fixture, never part of the product): the
ApplicationSet controller's webhook, the API server's GET of an Application, and an application
controller that polls, compares and syncs, all in one process on 127.0.0.1.

    argocd-standin.py DIR

Settings, read once at start from files in DIR (written by the test before it starts this):
  repo        path of the bare git repository the generators and Applications read (git CLI)
  repo_url    the repoURL its ApplicationSets' generators and Applications name
  branch      the generators' revision and the Applications' targetRevision (default main)
  token       the one Bearer token the API server accepts (absent: every API request is 401)
  secret      webhook.github.secret (absent: signatures are not checked, as in Argo CD)
  requeue     seconds between the generators' periodic runs, and between an Application's
              periodic polls of git (default 180, Argo CD's default for both)
  sync_delay  seconds from a sync's start to its end (default 0.3)
It listens on a free port and then writes it to DIR/port (whole, through a rename). Log:
DIR/standin.log (never a token, a secret or a signature). Stops cleanly on SIGTERM or SIGINT, and
when the process that started it exits.

What it models, from Argo CD's source (github.com/argoproj/argo-cd; files named are its paths):

ApplicationSets (as Manifestor renders them, argocd/applicationset-*.yaml): git directory
generators over preview/*, staging/* and production/* at the branch, making Applications
preview-<basename>, staging-<basename>, production-<basename> in namespace argocd, project
aiworker, destination namespace preview-<basename>, <basename>-staging, <basename>-production.
preview and staging sync automatically; production is manual (it never syncs by itself). A run
lists the directories at the branch tip (hidden ones skipped: reposerver/repository/repository.go
GetGitDirectories; matched with path.Match: applicationset/generators/git.go filterApps), creates
the missing Applications and deletes those whose directory is gone. It runs at start, every
`requeue` seconds after the last run (the controller's requeueAfterSeconds), and at once on a
push event that names the generators' repository and revision. A failed listing keeps every
Application, as a failing generator does.

POST /api/webhook, the ApplicationSet controller's (applicationset/webhook/webhook.go Handler,
with github.com/go-playground/webhooks/v6 github.Parse for GitHub):
  - no X-GitHub-Event (nor X-Gitlab-Event, X-Vss-Activityid) header: 400 "Unknown webhook event";
  - a parse error: 400 "Webhook processing failed: <error>" (405 when the method is not POST):
    not POST "invalid HTTP Method"; an event other than push, pull_request, ping "event not
    defined to be parsed"; an empty body "error parsing payload"; with a secret, no
    X-Hub-Signature-256 "missing X-Hub-Signature-256 Header", fewer than 6 characters after
    "sha256=" "Invalid Github signature", a signature other than the lowercase hex HMAC-SHA256
    of the raw body (constant-time compare) "HMAC verification failed"; a body that is not JSON,
    is not an object, or gives a field read here the wrong JSON type: the JSON error (worded as
    Go's for a wrong type). All text/plain, as Go's http.Error writes them;
  - else 200 with an empty body. Real Argo CD queues the event and answers at once; here the
    generators run BEFORE the answer, so a test may look at the Applications right after it.
  A push event refreshes the ApplicationSets whose git generator matches
  (getGitGeneratorInfo, shouldRefreshGitGenerator, genRevisionHasChanged): the revision is the
  ref after its first two segments (util/webhook/webhook.go ParseRevision), it matches the
  generator's revision, or with a revision of HEAD or "" the push touched
  repository.default_branch; and the generator's repoURL matches the regular expression
  util/webhook/webhook.go GetWebURLRegex builds from repository.html_url (case-insensitive; any
  scheme of http, https, ssh or none; an optional user@; the host without its port, any port;
  the same path, with or without .git). repository.clone_url is not looked at, as in Argo CD.
  ping and pull_request events answer 200 and change nothing here.

GET /api/v1/applications/{name}[?refresh=normal|hard][&appNamespace=..][&project=..]
(server/application/application.go Get and getAppEnforceRBAC):
  - every /api/v1 request needs `Authorization: Bearer <token>`. Without one (or with one that is
    not shaped like a JWT, which server/server.go getToken ignores): 401
    {"error":"no session information","message":"no session information","code":16} (server.go
    ErrNoSession); a JWT-shaped wrong one: 401 "invalid session: token signature is invalid".
    The body is grpc-gateway v1's errorBody (runtime/errors.go DefaultHTTPError) through Argo
    CD's encoding/json marshaler (util/grpc/json.go), status from HTTPStatusFromCode;
  - an Application that does not exist: 403 {"error":"permission denied",...,"code":7}
    (common/common.go PermissionDeniedAPIError: without a project the API never tells a missing
    Application from a forbidden one); with ?project=P (or projects=P): 404 code 5
    `applications.argoproj.io "NAME" not found`, also when the Application is in another
    project; two projects: 400 code 3;
  - refresh (any value; hard is treated as normal): the Application is reconciled and the answer
    is the Application after that reconcile, as Get waits for the controller's refreshed copy;
  - the Application JSON (assets/swagger.json v1alpha1Application; field names and omitempty
    from pkg/apis/application/v1alpha1/types.go): metadata, spec.source/destination/project/
    syncPolicy, status.sync{status,comparedTo,revision}, status.health{status}, status.
    operationState{operation,phase,message,startedAt,finishedAt,syncResult{revision,source}}
    (absent before the first sync), status.reconciledAt, status.history, and the top-level
    operation while a sync runs. Times are RFC 3339 in seconds, as metav1.Time.
  Any other path or method under /api: 404 "Not Found" (text/plain, grpc-gateway's answer for a
  route it does not know).

The application controller (controller/appcontroller.go, gitops-engine's sync states):
  - a reconcile resolves the branch tip and compares the tree of the Application's path there
    with the tree it last applied: Synced when they are the same (so a commit that leaves the
    path alone moves status.sync.revision and nothing else), else OutOfSync; status.sync.revision
    is always the revision compared to (types.go SyncStatus.Revision), OutOfSync or not. A
    missing path or branch: Unknown with a ComparisonError condition;
  - an automated Application OutOfSync starts a sync at the compared revision, unless one runs,
    it is frozen (see plans), or its last sync errored at that very revision (autoSync does not
    retry a failed attempt at the same revision): status.operationState.phase Running, health
    Progressing, at once; after sync_delay the sync ends as the Application's plan says, and
    the controller reconciles it again against the latest commit (as it does after every
    operation), which starts the next sync if the tip moved on meanwhile;
  - reconciles happen when an Application is created (at once), on a refresh, when a sync
    ends, and every `requeue` seconds after the last one (the periodic poll). Nothing else
    makes an Application notice a new commit.
  - new Applications show sync Unknown and health Unknown until their first reconcile, then
    health Missing until their first sync.

Plans (what a sync ends in), per Application name, default Healthy / Succeeded / not frozen:
  Succeeded  applied; Synced; health = the plan's; message "successfully synced (all tasks run)";
  Failed     applied, but a hook failed (Manifestor's PostSync smoke Job): Synced, phase Failed,
             message "one or more synchronization tasks completed unsuccessfully";
  Error      nothing applied: stays OutOfSync, phase Error; not retried at that revision;
  Running    applied, a hook never ends: phase Running for ever, no new sync starts until the
             plan changes;
  freeze     no sync starts (the Application stays OutOfSync at a new revision, health as it was).
A plan's health and operation apply to the next sync's end, and at once to an Application that
has synced and has no sync running. Lifting a freeze, or ending a Running operation, reconciles
the Application at once (its spec or its operation changed). A plan may name an Application that
does not exist yet.

Test controls (no auth; not in the request log):
  GET  /_standin/requests           every /api request: method, path, query, status, authorized,
                                    time (epoch seconds), kind, application, refresh; never a token
  POST /_standin/reset-requests     empties that log
  GET  /_standin/webhooks           every POST /api/webhook: headers of interest, what the body
                                    said, signature (valid, invalid, missing, unchecked), status,
                                    whether it matched, the Applications it created and deleted
  GET  /_standin/apps               {name: state} for every Application (sync, revision, health,
                                    operation, ..., and the full Application JSON)
  GET  /_standin/apps/NAME          one of them (404 if it does not exist)
  POST /_standin/apps/NAME          {"health": H, "operation": O, "freeze": B} sets its plan
  POST /_standin/apps/NAME/sync     a manual sync (argocd app sync): reconcile, then sync at the
                                    compared revision, whatever the sync policy (409 if frozen,
                                    running, or the revision is unknown)

Standard library only. One background thread runs every timer (a heap under a condition
variable); the HTTP server is threaded; one lock guards the state, another orders what reads
git and then changes the state.
"""

import hashlib
import heapq
import hmac
import html
import itertools
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAMESPACE = "argocd"
PROJECT = "aiworker"
CLUSTER = "https://kubernetes.default.svc"
MAX_BODY = 25 * 1024 * 1024
HEALTHS = ("Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown")
PHASES = ("Succeeded", "Failed", "Error", "Running")
RETRY = {"limit": 5, "backoff": {"duration": "10s", "factor": 2, "maxDuration": "3m"}}
DEFAULT_PLAN = {"health": "Healthy", "operation": "Succeeded", "freeze": False}
GITHUB_EVENTS = ("push", "pull_request", "ping")
# util/webhook/webhook.go usernameRegex and GetWebURLRegex, in Python's syntax (ASCII \w, \d).
USERNAME_RE = r"[\w\.][\w\.-]{0,30}[\w\.\$-]?"
WEB_URL_RE = r"((https?|ssh)://)?(%s@)?((alt)?ssh\.)?%s(:\d+)?[:/]%s(\.git)?"


class AppSet:
    """One of Manifestor's ApplicationSets: its generator's directories and its template."""

    def __init__(self, env, automated, destination, sync_options, finalizers):
        self.env = env
        self.name = env + "-environments"
        self.uid = str(uuid.uuid4())
        self.automated = automated
        self.destination = destination
        self.sync_options = sync_options
        self.finalizers = finalizers

    def matches(self, path):
        parts = path.split("/")
        return len(parts) == 2 and parts[0] == self.env and not parts[1].startswith(".")

    def sync_policy(self):
        policy = {"syncOptions": list(self.sync_options)}
        if self.automated:
            policy["automated"] = {"prune": True, "selfHeal": True}
            policy["retry"] = RETRY
        return policy


APPSETS = [
    AppSet("preview", True, lambda b: "preview-" + b, ["PruneLast=true"],
           ["resources-finalizer.argocd.argoproj.io"]),
    AppSet("staging", True, lambda b: b + "-staging", ["CreateNamespace=true", "PruneLast=true"],
           ["resources-finalizer.argocd.argoproj.io"]),
    AppSet("production", False, lambda b: b + "-production", ["CreateNamespace=true", "PruneLast=true"], []),
]


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t is not None else None


def read_setting(directory, name, default=None):
    try:
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except FileNotFoundError:
        return default


class Log:
    def __init__(self, path):
        self.lock = threading.Lock()
        self.file = open(path, "a", encoding="utf-8", buffering=1)

    def __call__(self, message):
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%03dZ" % (time.time() % 1 * 1000)
        with self.lock:
            self.file.write(stamp + " " + message + "\n")


class Timers:
    """Runs functions at given delays on one thread: a heap of (due, seq, fn, args) and a
    condition variable the thread waits on until the earliest is due or a new one comes."""

    def __init__(self, log):
        self.log = log
        self.cond = threading.Condition()
        self.heap = []
        self.seq = itertools.count()
        self.stopped = False
        self.thread = threading.Thread(target=self.loop, name="timers", daemon=True)

    def start(self):
        self.thread.start()

    def after(self, delay, fn, *args):
        with self.cond:
            heapq.heappush(self.heap, (time.monotonic() + max(0.0, delay), next(self.seq), fn, args))
            self.cond.notify()

    def loop(self):
        while True:
            with self.cond:
                while not self.stopped:
                    if self.heap and self.heap[0][0] <= time.monotonic():
                        break
                    self.cond.wait(self.heap[0][0] - time.monotonic() if self.heap else None)
                if self.stopped:
                    return
                _, _, fn, args = heapq.heappop(self.heap)
            try:
                fn(*args)
            except Exception:
                self.log("timer %s failed:\n%s" % (getattr(fn, "__name__", fn), traceback.format_exc()))

    def stop(self):
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        self.thread.join(5)


class Git:
    """Reads the bare repository with the git CLI."""

    def __init__(self, repo, log):
        self.repo = repo
        self.log = log
        self.env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
        self.trees = {}  # commit -> {directory path: tree id}, the last few commits

    def run(self, *args):
        result = subprocess.run(["git", "-c", "safe.directory=*", "--git-dir=" + self.repo] + list(args),
                                capture_output=True, env=self.env, timeout=60, stdin=subprocess.DEVNULL)
        return result.returncode, result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace")

    def tip(self, branch):
        code, out, _ = self.run("rev-parse", "--verify", "--quiet", "refs/heads/%s^{commit}" % branch)
        return out.strip() if code == 0 and out.strip() else None

    def directories(self, commit):
        """{path: tree id} of every directory at `commit` (cached per commit)."""
        if commit in self.trees:
            return self.trees[commit]
        code, out, err = self.run("ls-tree", "-r", "-d", "-z", "--full-tree", commit)
        if code != 0:
            raise RuntimeError("git ls-tree %s failed: %s" % (commit, err.strip()))
        found = {}
        for entry in out.split("\0"):
            if not entry:
                continue
            meta, _, path = entry.partition("\t")
            fields = meta.split()
            if len(fields) == 3 and fields[1] == "tree":
                found[path] = fields[2]
        if len(self.trees) >= 32:
            self.trees.pop(next(iter(self.trees)))
        self.trees[commit] = found
        return found


class App:
    def __init__(self, appset, path, now):
        basename = path.rsplit("/", 1)[-1]
        self.appset = appset
        self.path = path
        self.name = "%s-%s" % (appset.env, basename)
        self.destination = appset.destination(basename)
        self.uid = str(uuid.uuid4())
        self.created = now
        self.resource_version = 0
        self.sync_status = "Unknown"
        self.compared_revision = None
        self.desired_tree = None
        self.conditions = []
        self.health = "Unknown"
        self.health_since = None
        self.live_tree = None        # the tree of the last sync that applied anything
        self.live_revision = None
        self.op = None               # the last (or running) sync: dict
        self.syncing = False         # a sync started and its end is scheduled
        self.op_token = 0
        self.poll_token = 0
        self.reconciled_at = None
        self.reconciles = 0
        self.syncs = 0
        self.history = []

    def set_health(self, health, now):
        if health != self.health:
            self.health = health
            self.health_since = now

    def source(self, repo_url, branch):
        return {"repoURL": repo_url, "path": self.path, "targetRevision": branch}

    def dest(self):
        return {"server": CLUSTER, "namespace": self.destination}


class StandIn:
    def __init__(self, directory):
        self.dir = directory
        self.log = Log(os.path.join(directory, "standin.log"))
        repo = read_setting(directory, "repo")
        if not repo:
            raise SystemExit("argocd-standin: %s/repo is missing" % directory)
        self.repo_url = read_setting(directory, "repo_url") or ""
        self.branch = read_setting(directory, "branch") or "main"
        self.token = read_setting(directory, "token")
        self.secret = read_setting(directory, "secret")
        self.requeue = float(read_setting(directory, "requeue") or 180)
        self.sync_delay = float(read_setting(directory, "sync_delay") or 0.3)
        self.git = Git(repo, self.log)
        self.timers = Timers(self.log)
        self.lock = threading.Lock()    # the state below
        self.work = threading.RLock()   # read git, then change the state: one at a time
        self.apps = {}
        self.plans = {}
        self.requests = []
        self.webhooks = []
        self.generation_token = 0
        self.resource_versions = itertools.count(1000)
        self.tokens = itertools.count(1)   # timer tokens, unique across Applications old and new
        self.log("settings: repo %s, repo_url %s, branch %s, token %s, secret %s, requeue %gs, sync_delay %gs"
                 % (repo, self.repo_url, self.branch, "set" if self.token else "absent",
                    "set" if self.secret else "absent", self.requeue, self.sync_delay))

    # MARK: state helpers (call with self.lock held)

    def plan(self, name):
        return dict(DEFAULT_PLAN, **self.plans.get(name, {}))

    def touch(self, app):
        app.resource_version = next(self.resource_versions)

    def observe(self):
        """(tip, {path: tree}, error): the branch tip and its directories. Call with self.work."""
        tip = self.git.tip(self.branch)
        if tip is None:
            return None, {}, "unable to resolve '%s' to a commit SHA" % self.branch
        try:
            return tip, self.git.directories(tip), None
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            return tip, {}, str(error)

    # MARK: the ApplicationSet controller

    def generate(self, reason, token=None):
        """Runs the three generators at the branch tip; returns (created, deleted) names."""
        with self.work:
            if token is not None and token != self.generation_token:
                return [], []   # a periodic run that a later run replaced
            tip, dirs, error = self.observe()
            created, deleted = [], []
            now = time.time()
            with self.lock:
                self.generation_token += 1
                self.timers.after(self.requeue, self.generate, "requeue", self.generation_token)
                if error:
                    self.log("generate (%s): %s; Applications kept" % (reason, error))
                    return [], []
                wanted = {}
                for appset in APPSETS:
                    for path in dirs:
                        if appset.matches(path):
                            app = App(appset, path, now)
                            wanted[app.name] = app
                for name in sorted(set(self.apps) - set(wanted)):
                    del self.apps[name]
                    deleted.append(name)
                for name in sorted(set(wanted) - set(self.apps)):
                    self.apps[name] = wanted[name]
                    self.touch(wanted[name])
                    created.append(name)
            self.log("generate (%s) at %s: %d Applications, created %s, deleted %s"
                     % (reason, tip[:12], len(wanted), created or "none", deleted or "none"))
            for name in created:
                self.reconcile(name, "created")
            return created, deleted

    # MARK: the application controller

    def reconcile(self, name, reason):
        with self.work:
            tip, dirs, error = self.observe()
            with self.lock:
                app = self.apps.get(name)
                if app is not None:
                    self.compare(app, tip, dirs, error, reason)

    def compare(self, app, tip, dirs, error, reason):
        now = time.time()
        app.reconciles += 1
        app.reconciled_at = now
        self.touch(app)
        app.poll_token = next(self.tokens)
        self.timers.after(self.requeue, self.poll, app.name, app.poll_token)
        tree = dirs.get(app.path) if not error else None
        if error or tree is None:
            app.sync_status = "Unknown"
            message = error or "app path does not exist"
            app.conditions = [{"type": "ComparisonError", "message": "Failed to load target state: %s" % message,
                               "lastTransitionTime": rfc3339(now)}]
            self.log("reconcile %s (%s): Unknown: %s" % (app.name, reason, message))
            return
        app.conditions = []
        app.compared_revision = tip
        app.desired_tree = tree
        app.sync_status = "Synced" if app.live_tree == tree else "OutOfSync"
        if app.live_tree is None and app.health == "Unknown":
            app.set_health("Missing", now)
        note = ""
        if app.sync_status == "OutOfSync" and app.appset.automated:
            if self.plan(app.name)["freeze"]:
                note = ", frozen"
            elif app.op is not None and app.op["phase"] == "Running":
                note = ", a sync is running"
            elif app.op is not None and app.op["revision"] == tip and app.op["phase"] in ("Failed", "Error"):
                note = ", not retried: failed previous sync attempt to " + tip[:12]
            else:
                self.start_sync(app, {"automated": True})
                note = ", auto-sync started"
        self.log("reconcile %s (%s): %s at %s%s" % (app.name, reason, app.sync_status, tip[:12], note))

    def start_sync(self, app, initiated_by):
        now = time.time()
        app.op = {"phase": "Running", "message": "one or more tasks are running", "startedAt": now,
                  "finishedAt": None, "revision": app.compared_revision, "tree": app.desired_tree,
                  "initiatedBy": initiated_by}
        app.syncing = True
        app.syncs += 1
        app.set_health("Progressing", now)
        app.op_token = next(self.tokens)
        self.touch(app)
        self.timers.after(self.sync_delay, self.finish_sync, app.name, app.op_token)

    def finish_sync(self, name, token):
        with self.work:
            with self.lock:
                app = self.apps.get(name)
                if app is None or app.op_token != token or not app.syncing:
                    return
                plan = self.plan(name)
                phase = plan["operation"]
                now = time.time()
                app.syncing = False
                op = app.op
                if phase != "Error":
                    app.live_tree = op["tree"]
                    app.live_revision = op["revision"]
                self.set_phase(app, phase, now)
                app.set_health(plan["health"], now)
                if phase == "Succeeded":
                    app.history.append({"id": len(app.history), "revision": op["revision"],
                                        "deployStartedAt": op["startedAt"], "deployedAt": now,
                                        "initiatedBy": op["initiatedBy"]})
                app.sync_status = "Synced" if app.live_tree == app.desired_tree else "OutOfSync"
                self.touch(app)
                self.log("sync of %s to %s ended: %s, health %s"
                         % (name, op["revision"][:12], phase, plan["health"]))
            if phase != "Running":
                self.reconcile(name, "operation completed")

    @staticmethod
    def set_phase(app, phase, now):
        messages = {"Succeeded": "successfully synced (all tasks run)",
                    "Failed": "one or more synchronization tasks completed unsuccessfully",
                    "Error": "one or more objects failed to apply (an Error planned by the stand-in)",
                    "Running": "waiting for completion of hook batch/Job/smoke-test"}
        app.op["phase"] = phase
        app.op["message"] = messages[phase]
        app.op["finishedAt"] = None if phase == "Running" else now

    def poll(self, name, token):
        with self.work:
            with self.lock:
                app = self.apps.get(name)
                if app is None or app.poll_token != token:
                    return
            self.reconcile(name, "periodic poll")

    # MARK: plans and manual syncs

    def set_plan(self, name, body):
        """Returns (status, answer)."""
        if not isinstance(body, dict):
            return 400, {"error": "the body must be a JSON object"}
        unknown = set(body) - {"health", "operation", "freeze"}
        if unknown:
            return 400, {"error": "unknown fields: %s" % ", ".join(sorted(unknown))}
        if "health" in body and body["health"] not in HEALTHS:
            return 400, {"error": "health must be one of %s" % ", ".join(HEALTHS)}
        if "operation" in body and body["operation"] not in PHASES:
            return 400, {"error": "operation must be one of %s" % ", ".join(PHASES)}
        if "freeze" in body and not isinstance(body["freeze"], bool):
            return 400, {"error": "freeze must be true or false"}
        with self.work:
            reconcile = False
            with self.lock:
                before = self.plan(name)
                self.plans.setdefault(name, {}).update(body)
                after = self.plan(name)
                app = self.apps.get(name)
                if app is not None:
                    now = time.time()
                    if app.live_tree is not None and not app.syncing:
                        if "health" in body:
                            app.set_health(after["health"], now)
                        if "operation" in body and app.op is not None:
                            was = app.op["phase"]
                            self.set_phase(app, after["operation"], now)
                            reconcile = was == "Running" and after["operation"] != "Running"
                        self.touch(app)
                    if before["freeze"] and not after["freeze"]:
                        reconcile = True
                self.log("plan %s: %s" % (name, json.dumps(after, sort_keys=True)))
            if reconcile:
                self.reconcile(name, "plan changed")
            with self.lock:
                app = self.apps.get(name)
                return 200, (self.view(app) if app is not None else {"name": name, "plan": after})

    def manual_sync(self, name):
        with self.work:
            self.reconcile(name, "manual sync")
            with self.lock:
                app = self.apps.get(name)
                if app is None:
                    return 404, {"error": "no Application %s" % name}
                if self.plan(name)["freeze"]:
                    return 409, {"error": "%s is frozen" % name}
                if app.op is not None and app.op["phase"] == "Running":
                    return 409, {"error": "another operation is already in progress"}
                if app.compared_revision is None or app.sync_status == "Unknown":
                    return 409, {"error": "no revision to sync to"}
                self.start_sync(app, {"username": "admin"})
                self.log("manual sync of %s to %s" % (name, app.compared_revision[:12]))
                return 200, self.view(app)

    # MARK: views (call with self.lock held)

    def application(self, app):
        """The Application as the API server answers it (v1alpha1.Application)."""
        source = app.source(self.repo_url, self.branch)
        dest = app.dest()
        labels = {"aiworker.dev/environment": app.appset.env, "app.kubernetes.io/managed-by": "manifestor",
                  "app.kubernetes.io/part-of": "aiworker"}
        metadata = {"name": app.name, "namespace": NAMESPACE, "uid": app.uid,
                    "resourceVersion": str(app.resource_version), "creationTimestamp": rfc3339(app.created),
                    "labels": labels,
                    "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
                                         "name": app.appset.name, "uid": app.appset.uid,
                                         "controller": True, "blockOwnerDeletion": True}]}
        if app.appset.finalizers:
            metadata["finalizers"] = list(app.appset.finalizers)
        policy = app.appset.sync_policy()
        spec = {"source": source, "destination": dest, "project": PROJECT, "syncPolicy": policy}
        sync = {"status": app.sync_status, "comparedTo": {"source": source, "destination": dest}}
        if app.compared_revision:
            sync["revision"] = app.compared_revision
        health = {"status": app.health}
        if app.health_since is not None:
            health["lastTransitionTime"] = rfc3339(app.health_since)
        status = {"sync": sync, "health": health, "sourceType": "Directory", "controllerNamespace": NAMESPACE,
                  "summary": {}}
        if app.reconciled_at is not None:
            status["reconciledAt"] = rfc3339(app.reconciled_at)
        if app.conditions:
            status["conditions"] = app.conditions
        if app.history:
            status["history"] = [dict(h, source=source, deployStartedAt=rfc3339(h["deployStartedAt"]),
                                      deployedAt=rfc3339(h["deployedAt"])) for h in app.history]
        document = {"metadata": metadata, "spec": spec, "status": status}
        if app.op is not None:
            operation = {"sync": {"revision": app.op["revision"], "prune": True,
                                  "syncOptions": list(app.appset.sync_options)},
                         "initiatedBy": app.op["initiatedBy"]}
            if "retry" in policy:
                operation["retry"] = policy["retry"]
            state = {"operation": operation, "phase": app.op["phase"], "message": app.op["message"],
                     "syncResult": {"revision": app.op["revision"], "source": source},
                     "startedAt": rfc3339(app.op["startedAt"])}
            if app.op["finishedAt"] is not None:
                state["finishedAt"] = rfc3339(app.op["finishedAt"])
            status["operationState"] = state
            if app.syncing:
                document["operation"] = operation
        return document

    def view(self, app):
        op = app.op or {}
        return {"name": app.name, "path": app.path, "namespace": app.destination,
                "sync": app.sync_status, "revision": app.compared_revision, "health": app.health,
                "operation": op.get("phase"), "operationMessage": op.get("message"),
                "operationRevision": op.get("revision"), "syncedRevision": app.live_revision,
                "syncing": app.syncing, "reconciledAt": rfc3339(app.reconciled_at),
                "reconciles": app.reconciles, "syncs": app.syncs, "frozen": self.plan(app.name)["freeze"],
                "plan": self.plan(app.name), "created": app.created, "application": self.application(app)}


# MARK: HTTP


def grpc_error(code, message):
    """grpc-gateway v1's errorBody, as Argo CD's encoding/json marshaler writes it."""
    return json.dumps({"error": message, "message": message, "code": code}, separators=(",", ":")).encode()


def jwt_shaped(token):
    return len(token.split(".", 2)) == 3


def web_url_regex(web_url):
    parts = urllib.parse.urlsplit(web_url)
    host = re.escape(parts.hostname or "")
    path = re.escape(parts.path[1:] if parts.path.startswith("/") else parts.path)
    return re.compile(WEB_URL_RE % (USERNAME_RE, host, path), re.IGNORECASE | re.ASCII)


def json_kind(value):
    if isinstance(value, bool):
        return "bool"
    return {dict: "object", list: "array", str: "string", int: "number", float: "number"}.get(type(value), "null")


def go_type_error(payload, event):
    """What Go's json.Unmarshal into go-playground's payload struct says of a mistyped field that
    the stand-in reads (the others are not checked), or None."""
    go_type = {"push": "PushPayload", "pull_request": "PullRequestPayload", "ping": "PingPayload"}[event]
    if not isinstance(payload, dict):
        return "json: cannot unmarshal %s into Go value of type github.%s" % (json_kind(payload), go_type)
    if event != "push":
        return None
    fields = [("ref", payload.get("ref"), "string"), ("before", payload.get("before"), "string"),
              ("after", payload.get("after"), "string"), ("repository", payload.get("repository"), "object"),
              ("commits", payload.get("commits"), "array")]
    repository = payload.get("repository")
    if isinstance(repository, dict):
        fields += [("repository.%s" % key, repository.get(key), "string")
                   for key in ("html_url", "clone_url", "default_branch")]
    for name, value, kind in fields:
        if value is not None and json_kind(value) != kind:
            return "json: cannot unmarshal %s into Go struct field %s.%s of type %s" % (
                json_kind(value), go_type, name, "string" if kind == "string" else kind)
    return None


def parse_revision(ref):
    return ref.split("/", 2)[-1]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "argocd-standin"

    def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
        pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET

    @property
    def standin(self):
        return self.server.standin

    def dispatch(self):
        self.received = time.time()
        url = urllib.parse.urlsplit(self.path)
        self.route = urllib.parse.unquote(url.path)
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self.close_connection = True
            return self.answer(413, b"request body too large\n", "text/plain; charset=utf-8")
        self.body = self.rfile.read(length) if length > 0 else b""
        try:
            if url.path.startswith("/_standin/"):
                return self.control()
            if url.path == "/api/webhook":
                return self.webhook()
            match = re.fullmatch(r"/api/v1/applications/([^/]+)", url.path)
            if match and self.command == "GET":
                return self.get_application(urllib.parse.unquote(match.group(1)))
            self.record(404, "other")
            return self.answer(404, b"Not Found\n", "text/plain; charset=utf-8")
        except Exception:
            self.standin.log("request %s %s failed:\n%s" % (self.command, url.path, traceback.format_exc()))
            try:
                self.answer(500, b"internal error of the stand-in\n", "text/plain; charset=utf-8")
            except OSError:
                pass

    def answer(self, status, body, content_type):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        if content_type and content_type.startswith("text/plain"):
            self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        return status

    def answer_json(self, status, value):
        return self.answer(status, json.dumps(value, indent=1).encode() + b"\n", "application/json")

    def record(self, status, kind, application=None, authorized=False):
        """Logs the request before it is answered, so the log is complete once a client has its answer."""
        entry = {"method": self.command, "path": self.route,
                 "query": {k: v[0] for k, v in self.query.items()}, "status": status,
                 "authorized": authorized, "time": self.received, "kind": kind, "application": application,
                 "refresh": self.query["refresh"][0] if "refresh" in self.query else None,
                 "userAgent": self.headers.get("User-Agent")}
        standin = self.standin
        with standin.lock:
            standin.requests.append(entry)
        query = ("?" + "&".join(sorted(entry["query"]))) if entry["query"] else ""
        standin.log("%s %s%s -> %d%s" % (self.command, self.route, query, status,
                                         " (authorized)" if authorized else ""))

    # MARK: the API server

    def authenticate(self):
        """(authorized, grpc error message or None)."""
        standin = self.standin
        for value in self.headers.get_all("Authorization") or []:
            if not value.startswith("Bearer "):
                continue
            presented = value[len("Bearer "):]
            if standin.token and hmac.compare_digest(presented.encode(), standin.token.encode()):
                return True, None
            if jwt_shaped(presented):
                return False, "invalid session: token signature is invalid"
        return False, "no session information"

    def get_application(self, name):
        standin = self.standin
        authorized, error = self.authenticate()
        if not authorized:
            return self.reply(401, grpc_error(16, error), name, False)
        projects = self.query.get("projects", []) + self.query.get("project", [])
        if len(projects) > 1:
            return self.reply(400, grpc_error(3, "multiple projects specified - the get endpoint accepts "
                                                 "either zero or one project"), name)
        project = projects[0] if projects else ""
        not_found = grpc_error(5, 'applications.argoproj.io "%s" not found' % name)
        if "refresh" in self.query:
            with standin.lock:
                exists = name in standin.apps
            if exists:
                standin.reconcile(name, "refresh=" + (self.query["refresh"][0] or "normal"))
        with standin.lock:
            app = standin.apps.get(name)
            document = standin.application(app) if app is not None else None
        if document is None:
            return self.reply(404, not_found, name) if project else self.reply(403, grpc_error(7, "permission denied"), name)
        if project and project != PROJECT:
            return self.reply(404, not_found, name)
        return self.reply(200, json.dumps(document, separators=(",", ":")).encode(), name)

    def reply(self, status, body, name, authorized=True):
        self.record(status, "application", name, authorized)
        self.answer(status, body, "application/json")

    # MARK: the ApplicationSet controller's webhook

    def webhook(self):
        standin = self.standin
        headers = self.headers
        event = headers.get("X-GitHub-Event") or ""
        entry = {"time": self.received, "method": self.command, "event": event or None,
                 "delivery": headers.get("X-GitHub-Delivery"), "userAgent": headers.get("User-Agent"),
                 "contentType": headers.get("Content-Type"), "signature": "unchecked", "signatureValid": None,
                 "status": 0, "answer": "", "ref": None, "before": None, "after": None, "htmlURL": None,
                 "cloneURL": None, "defaultBranch": None, "commits": [], "revision": None, "touchedHead": None,
                 "matched": False, "applicationSets": [], "created": [], "deleted": [], "body": None}
        status, text = self.webhook_outcome(entry, event)
        entry["status"], entry["answer"] = status, text
        with standin.lock:
            standin.webhooks.append(entry)
        standin.log("webhook %s: %d %s; signature %s, matched %s, created %s, deleted %s"
                    % (event or "-", status, text or "OK", entry["signature"], entry["matched"],
                       entry["created"] or "none", entry["deleted"] or "none"))
        self.record(status, "webhook")
        if status == 200:
            self.answer(200, b"", None)   # Go's handler writes nothing
        else:
            self.answer(status, (text + "\n").encode(), "text/plain; charset=utf-8")

    def webhook_outcome(self, entry, event):
        standin = self.standin
        headers = self.headers
        if not event:
            if headers.get("X-Gitlab-Event") or headers.get("X-Vss-Activityid"):
                return 400, "Webhook processing failed: the stand-in only parses GitHub events"
            return 400, "Unknown webhook event"
        failed = "Webhook processing failed: "
        if self.command != "POST":
            return 405, failed + "invalid HTTP Method"
        if event not in GITHUB_EVENTS:
            return 400, failed + "event not defined to be parsed"
        if not self.body:
            return 400, failed + "error parsing payload"
        if standin.secret:
            signature = headers.get("X-Hub-Signature-256") or ""
            if not signature:
                entry["signature"], entry["signatureValid"] = "missing", False
                return 400, failed + "missing X-Hub-Signature-256 Header"
            signature = signature[len("sha256="):] if signature.startswith("sha256=") else signature
            if len(signature) < 6:
                entry["signature"], entry["signatureValid"] = "invalid", False
                return 400, failed + "Invalid Github signature"
            expected = hmac.new(standin.secret.encode(), self.body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signature.encode(), expected.encode()):
                entry["signature"], entry["signatureValid"] = "invalid", False
                return 400, failed + "HMAC verification failed"
            entry["signature"], entry["signatureValid"] = "valid", True
        try:
            payload = json.loads(self.body)
        except ValueError as error:
            return 400, failed + html.escape(str(error))
        entry["body"] = payload
        mistyped = go_type_error(payload, event)
        if mistyped:
            return 400, failed + html.escape(mistyped)
        if event != "push":
            return 200, ""
        repository = payload.get("repository") or {}
        strings = lambda v: v if isinstance(v, str) else None  # noqa: E731
        entry.update(ref=strings(payload.get("ref")), before=strings(payload.get("before")),
                     after=strings(payload.get("after")), htmlURL=strings(repository.get("html_url")),
                     cloneURL=strings(repository.get("clone_url")),
                     defaultBranch=strings(repository.get("default_branch")))
        paths = lambda v: [p for p in v if isinstance(p, str)] if isinstance(v, list) else []  # noqa: E731
        commits = payload.get("commits") if isinstance(payload.get("commits"), list) else []
        for commit in commits:
            if isinstance(commit, dict):
                entry["commits"].append({"id": strings(commit.get("id")), "message": strings(commit.get("message")),
                                         "added": paths(commit.get("added")), "modified": paths(commit.get("modified")),
                                         "removed": paths(commit.get("removed"))})
        revision = parse_revision(entry["ref"] or "")
        touched_head = (entry["defaultBranch"] or "") == revision
        entry["revision"], entry["touchedHead"] = revision, touched_head
        pattern = web_url_regex(entry["htmlURL"] or "")
        target = parse_revision(standin.branch)
        if target in ("HEAD", ""):
            revision_matches = touched_head
        else:
            revision_matches = target == revision or standin.branch == revision
        if pattern.fullmatch(standin.repo_url) and revision_matches:
            entry["matched"] = True
            entry["applicationSets"] = [appset.name for appset in APPSETS]
            entry["created"], entry["deleted"] = standin.generate("webhook")
        return 200, ""

    # MARK: test controls

    def control(self):
        standin = self.standin
        route, method = self.route, self.command
        if route == "/_standin/requests" and method == "GET":
            with standin.lock:
                return self.answer_json(200, list(standin.requests))
        if route == "/_standin/reset-requests" and method == "POST":
            with standin.lock:
                standin.requests.clear()
            return self.answer_json(200, {"ok": True})
        if route == "/_standin/webhooks" and method == "GET":
            with standin.lock:
                return self.answer_json(200, list(standin.webhooks))
        if route == "/_standin/apps" and method == "GET":
            with standin.lock:
                return self.answer_json(200, {name: standin.view(app) for name, app in sorted(standin.apps.items())})
        match = re.fullmatch(r"/_standin/apps/([^/]+)(/sync)?", route)
        if match and match.group(2) and method == "POST":
            return self.answer_json(*standin.manual_sync(match.group(1)))
        if match and method == "GET":
            with standin.lock:
                app = standin.apps.get(match.group(1))
                if app is None:
                    return self.answer_json(404, {"error": "no Application %s" % match.group(1)})
                return self.answer_json(200, standin.view(app))
        if match and method == "POST":
            try:
                body = json.loads(self.body or b"{}")
            except ValueError as error:
                return self.answer_json(400, {"error": "invalid JSON: %s" % error})
            return self.answer_json(*standin.set_plan(match.group(1), body))
        return self.answer_json(404, {"error": "no control %s %s" % (method, route)})


def watch_parent(log):
    """SIGTERMs this process when the process that started it exits (a pidfd: no polling)."""
    parent = os.getppid()
    if parent <= 1 or not hasattr(os, "pidfd_open"):
        return
    try:
        fd = os.pidfd_open(parent)
    except OSError:
        return

    def wait():
        if os.getppid() == parent:
            select.select([fd], [], [])
        log("the parent process %d exited" % parent)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=wait, name="parent", daemon=True).start()


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: argocd-standin.py DIR")
    # A process started from a Swift test inherits blocked termination signals: unblock them.
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    directory = os.path.abspath(sys.argv[1])
    standin = StandIn(directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.standin = standin
    # SIGTERM and SIGINT stay blocked in every thread; the main thread takes them with sigwait
    # (no handler that could run while a lock is held).
    stops = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    watch_parent(standin.log)
    standin.timers.start()
    standin.generate("start")
    serving = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    serving.start()
    port = server.server_address[1]
    port_file = os.path.join(directory, "port")
    with open(port_file + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.replace(port_file + ".tmp", port_file)
    standin.log("listening on 127.0.0.1:%d (pid %d)" % (port, os.getpid()))
    received = signal.sigwait(stops)
    standin.log("stopping (%s)" % signal.Signals(received).name)
    server.shutdown()
    server.server_close()
    standin.timers.stop()
    try:
        os.remove(port_file)
    except FileNotFoundError:
        pass
    standin.log("stopped")


if __name__ == "__main__":
    main()
