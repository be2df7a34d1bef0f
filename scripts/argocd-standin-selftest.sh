#!/usr/bin/env bash
# Checks scripts/argocd-standin.py by hand, with git, curl and openssl only (no Swift):
#
#   scripts/argocd-standin-selftest.sh        prints one line per check; exit 0 when all pass
#
# A bare repository with preview/task-a, staging/aiworker and production/aiworker; the stand-in
# on it (token, webhook secret, sync_delay 0.3 s, requeue 180 s); then: 401 without a token, 403
# for a missing Application, the Applications generated at start and synced, a signed push
# webhook generating preview-task-b at once, a badly signed one refused with 400, a refresh
# syncing a change (Progressing/Running at once, Synced at the new tip after sync_delay), a plan
# that makes the sync end Degraded, production staying OutOfSync until a manual sync, a commit
# unnoticed without a refresh, SIGTERM; and a second stand-in with requeue 1 s whose periodic poll notices a commit.
# Every wait is bounded; everything is removed at exit (KEEP=1 keeps the folder).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/argocd-standin-selftest.XXXXXX")
TOKEN=selftest-token
SECRET=selftest-secret
PIDS=()
FAILED=0

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true; done
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; FAILED=1; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }

export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_TERMINAL_PROMPT=0 \
    GIT_AUTHOR_NAME=Selftest GIT_AUTHOR_EMAIL=selftest@example.invalid \
    GIT_COMMITTER_NAME=Selftest GIT_COMMITTER_EMAIL=selftest@example.invalid

REPO=$WORK/gitops.git
git init --quiet --bare --initial-branch=main "$REPO"
git clone --quiet "$REPO" "$WORK/clone" 2>/dev/null
git -C "$WORK/clone" checkout --quiet -B main

# commit PATH=CONTENT...: writes the files, commits and pushes; prints the new commit.
commit() {
    local spec
    for spec in "$@"; do
        mkdir -p "$WORK/clone/$(dirname "${spec%%=*}")"
        printf '%s\n' "${spec#*=}" > "$WORK/clone/${spec%%=*}"
    done
    git -C "$WORK/clone" add -A
    git -C "$WORK/clone" commit --quiet -m "selftest commit"
    git -C "$WORK/clone" push --quiet origin HEAD:refs/heads/main
    git -C "$WORK/clone" rev-parse HEAD
}

FIRST=$(commit preview/task-a/x.yaml=a staging/aiworker/y.yaml=b production/aiworker/z.yaml=c)

# start DIR REQUEUE: starts a stand-in on DIR and waits (bounded) for DIR/port.
start() {
    local dir=$1
    mkdir -p "$dir"
    echo "$REPO" > "$dir/repo"
    echo "http://127.0.0.1:9/admin/gitops.git" > "$dir/repo_url"
    echo main > "$dir/branch"
    printf '%s' "$TOKEN" > "$dir/token"
    printf '%s' "$SECRET" > "$dir/secret"
    echo "$2" > "$dir/requeue"
    echo 0.3 > "$dir/sync_delay"
    python3 "$HERE/argocd-standin.py" "$dir" 2>>"$dir/stderr" &
    PIDS+=($!)
    echo $! > "$dir/pid"
    local _
    for _ in $(seq 1 200); do [ -s "$dir/port" ] && break; sleep 0.05; done
    [ -s "$dir/port" ] || { cat "$dir/stderr" "$dir/standin.log" >&2 || true; echo "the stand-in did not start" >&2; exit 1; }
}

# field JSON PYTHON-EXPRESSION: evaluates the expression on the parsed JSON `d`.
field() { python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"; }

api() { curl -sS --max-time 10 -H "Authorization: Bearer $TOKEN" "$URL/api/v1/applications/$1"; }
state() { curl -sS --max-time 10 "$URL/_standin/apps/$1"; }
status_code() { curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@"; }

# wait_for SECONDS COMMAND...: true as soon as COMMAND succeeds, false past SECONDS.
wait_for() {
    local deadline=$(( $(date +%s%N) + ${1%.*} * 1000000000 )); shift
    while true; do
        if "$@"; then return 0; fi
        [ "$(date +%s%N)" -lt "$deadline" ] || return 1
        sleep 0.05
    done
}

# synced_at NAME COMMIT: the stand-in shows NAME Synced at COMMIT with its last sync Succeeded.
synced_at() { [ "$(field "$(state "$1")" 'd["sync"], d["revision"], d["operation"]' 2>/dev/null)" = "('Synced', '$2', 'Succeeded')" ]; }

# push_event AFTER: a GitHub push event for main, as Manifestor sends it.
push_event() {
    printf '{"ref":"refs/heads/main","before":"%s","after":"%s","repository":{"html_url":"http://127.0.0.1:9/admin/gitops","clone_url":"http://127.0.0.1:9/admin/gitops.git","default_branch":"main"},"commits":[{"id":"%s","added":["preview/task-b/x.yaml"],"modified":[],"removed":[]}]}' \
        "$FIRST" "$1" "$1"
}
sign() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$SECRET" | sed 's/^.*= //'; }

D=$WORK/standin
start "$D" 180
URL=http://127.0.0.1:$(cat "$D/port")

# 1. The API server wants the token.
answer=$(curl -sS --max-time 10 -w ' %{http_code}' "$URL/api/v1/applications/preview-task-a")
check "401 without a token, with Argo CD's error body" \
    [ "$answer" = '{"error":"no session information","message":"no session information","code":16} 401' ]
check "401 with a wrong JWT-shaped token" \
    [ "$(status_code -H 'Authorization: Bearer a.b.c' "$URL/api/v1/applications/preview-task-a")" = 401 ]
check "403 permission denied for a missing Application" \
    [ "$(curl -sS --max-time 10 -w ' %{http_code}' -H "Authorization: Bearer $TOKEN" "$URL/api/v1/applications/nope")" \
      = '{"error":"permission denied","message":"permission denied","code":7} 403' ]

# 2. The generators ran at start; the automated Applications sync, production does not.
apps=$(curl -sS --max-time 10 "$URL/_standin/apps")
check "the Applications generated at start" \
    [ "$(field "$apps" 'sorted(d)')" = "['preview-task-a', 'production-aiworker', 'staging-aiworker']" ]
check "preview-task-a and staging-aiworker sync to the first commit" \
    wait_for 5 eval 'synced_at preview-task-a "$FIRST" && synced_at staging-aiworker "$FIRST"'
app=$(api preview-task-a)
check "GET answers the Application: name, namespace, source, destination, Synced, Healthy, Succeeded" \
    [ "$(field "$app" '(d["metadata"]["name"], d["metadata"]["namespace"], d["spec"]["source"]["path"], d["spec"]["destination"]["namespace"], d["status"]["sync"]["status"], d["status"]["sync"]["revision"], d["status"]["health"]["status"], d["status"]["operationState"]["phase"], d["status"]["operationState"]["syncResult"]["revision"], "reconciledAt" in d["status"])')" \
      = "('preview-task-a', 'argocd', 'preview/task-a', 'preview-task-a', 'Synced', '$FIRST', 'Healthy', 'Succeeded', '$FIRST', True)" ]
check "production-aiworker: OutOfSync, Missing, never synced" \
    [ "$(field "$(api production-aiworker)" '(d["status"]["sync"]["status"], d["status"]["health"]["status"], "operationState" in d["status"])')" = "('OutOfSync', 'Missing', False)" ]

# 3. Webhooks: a new directory, a signed push event, a badly signed one.
SECOND=$(commit preview/task-b/x.yaml=b)
check "no preview-task-b before the webhook" [ "$(status_code "$URL/_standin/apps/preview-task-b")" = 404 ]
body=$(push_event "$SECOND")
check "a badly signed push event is refused with 400" \
    [ "$(curl -sS --max-time 10 -w ' %{http_code}' -X POST -H 'X-GitHub-Event: push' \
          -H "X-Hub-Signature-256: sha256=$(sign "$body-tampered")" --data-binary "$body" "$URL/api/webhook")" \
      = "Webhook processing failed: HMAC verification failed
 400" ]
check "an unsigned push event is refused with 400" \
    [ "$(status_code -X POST -H 'X-GitHub-Event: push' --data-binary "$body" "$URL/api/webhook")" = 400 ]
check "still no preview-task-b" [ "$(status_code "$URL/_standin/apps/preview-task-b")" = 404 ]
check "a signed push event answers 200" \
    [ "$(status_code -X POST -H 'X-GitHub-Event: push' -H 'Content-Type: application/json' \
          -H "X-Hub-Signature-256: sha256=$(sign "$body")" --data-binary "$body" "$URL/api/webhook")" = 200 ]
check "preview-task-b exists as soon as the webhook has answered" \
    [ "$(field "$(api preview-task-b)" 'd["spec"]["destination"]["namespace"]')" = preview-task-b ]
check "preview-task-b syncs to the second commit" wait_for 5 synced_at preview-task-b "$SECOND"
hooks=$(curl -sS --max-time 10 "$URL/_standin/webhooks")
check "the webhooks are recorded: signature invalid, missing, valid; only the last matched" \
    [ "$(field "$hooks" '[(w["status"], w["signature"], w["matched"], w["created"]) for w in d]')" \
      = "[(400, 'invalid', False, []), (400, 'missing', False, []), (200, 'valid', True, ['preview-task-b'])]" ]

# 4. A refresh: a change to preview/task-a syncs at once; its plan makes it end Degraded.
check "a plan for preview-task-a: Degraded" \
    [ "$(field "$(curl -sS --max-time 10 -X POST -d '{"health":"Degraded"}' "$URL/_standin/apps/preview-task-a")" 'd["health"]')" = Degraded ]
THIRD=$(commit preview/task-a/x.yaml=changed production/aiworker/z.yaml=changed)
check "without a refresh preview-task-a still shows the first commit" \
    [ "$(field "$(api preview-task-a)" 'd["status"]["sync"]["revision"]')" = "$FIRST" ]
refreshed=$(api "preview-task-a?refresh=normal")
check "refresh=normal: OutOfSync at the new tip, Progressing, Running, at once" \
    [ "$(field "$refreshed" '(d["status"]["sync"]["status"], d["status"]["sync"]["revision"], d["status"]["health"]["status"], d["status"]["operationState"]["phase"])')" \
      = "('OutOfSync', '$THIRD', 'Progressing', 'Running')" ]
summary() { field "$(api "$1")" '(d["status"]["sync"]["status"], d["status"]["sync"]["revision"], d["status"]["operationState"]["phase"], d["status"]["operationState"]["syncResult"]["revision"], d["status"]["health"]["status"])'; }
degraded_at_third() { [ "$(summary preview-task-a)" = "('Synced', '$THIRD', 'Succeeded', '$THIRD', 'Degraded')" ]; }
check "after sync_delay: Synced at the new tip, Succeeded, Degraded as planned" wait_for 5 degraded_at_third
check "refresh=hard on production: OutOfSync at the new tip, no sync" \
    [ "$(field "$(api "production-aiworker?refresh=hard")" '(d["status"]["sync"]["status"], d["status"]["sync"]["revision"], "operationState" in d["status"])')" = "('OutOfSync', '$THIRD', False)" ]
check "production stays OutOfSync (no sync a moment later)" \
    [ "$(field "$(state production-aiworker)" '(d["sync"], d["syncs"])')" = "('OutOfSync', 0)" ]
check "a manual sync of production-aiworker starts at once" \
    [ "$(field "$(curl -sS --max-time 10 -X POST "$URL/_standin/apps/production-aiworker/sync")" '(d["operation"], d["health"])')" = "('Running', 'Progressing')" ]
check "and ends Synced at the tip" wait_for 5 synced_at production-aiworker "$THIRD"
check "staging-aiworker, not refreshed, still shows the first commit" \
    [ "$(field "$(api staging-aiworker)" 'd["status"]["sync"]["revision"]')" = "$FIRST" ]
check "refreshed, staging-aiworker (its directory unchanged) is Synced at the new tip without a sync" \
    [ "$(field "$(api "staging-aiworker?refresh=normal")" '(d["status"]["sync"]["status"], d["status"]["sync"]["revision"], d["status"]["operationState"]["syncResult"]["revision"])'),$(field "$(state staging-aiworker)" 'd["syncs"]')" \
      = "('Synced', '$THIRD', '$FIRST'),1" ]
requests=$(curl -sS --max-time 10 "$URL/_standin/requests")
check "the request log holds the refresh, answered 200 and authorized" \
    [ "$(field "$requests" 'sum(1 for r in d if r["application"] == "preview-task-a" and r["refresh"] == "normal" and r["status"] == 200 and r["authorized"])')" = 1 ]
check "the request log never holds the token" eval '! grep -q "$TOKEN" <<<"$requests"'
check "the log names neither the token nor the secret" eval '! grep -q -e "$TOKEN" -e "$SECRET" "$D/standin.log"'
curl -sS --max-time 10 -X POST "$URL/_standin/reset-requests" >/dev/null
check "reset-requests empties the request log" [ "$(field "$(curl -sS --max-time 10 "$URL/_standin/requests")" 'len(d)')" = 0 ]

check "the stand-in logged no failure and wrote nothing on stderr" \
    eval '! grep -q Traceback "$D/standin.log" && [ ! -s "$D/stderr" ]'

# 5. SIGTERM: a clean exit that removes the port file.
kill -TERM "$(cat "$D/pid")"
check "SIGTERM: the stand-in exits" wait_for 5 eval '! kill -0 "$(cat "$D/pid")" 2>/dev/null'
check "and removes its port file" [ ! -e "$D/port" ]

# 6. The periodic poll: with requeue 1 s a commit is noticed without a refresh.
D=$WORK/standin-poll
start "$D" 1
URL=http://127.0.0.1:$(cat "$D/port")
check "(requeue 1 s) staging-aiworker synced at the tip" wait_for 5 synced_at staging-aiworker "$THIRD"
FOURTH=$(commit staging/aiworker/y.yaml=changed)
check "(requeue 1 s) the periodic poll syncs staging-aiworker to the new commit" wait_for 5 synced_at staging-aiworker "$FOURTH"
FIFTH=$(commit preview/task-c/x.yaml=c)
check "(requeue 1 s) the periodic generator run creates preview-task-c" wait_for 5 synced_at preview-task-c "$FIFTH"

[ "$FAILED" = 0 ] && echo "all checks passed" || { echo "some checks FAILED (KEEP=1 keeps $WORK)"; exit 1; }
