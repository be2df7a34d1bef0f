#!/usr/bin/env bash
# A real OCI/Docker distribution registry for tests (Debian's docker-registry)
# on 127.0.0.1, filesystem storage, optional htpasswd auth, or https with token auth.
#
#   scripts/registry.sh start DIR [--auth]   start; writes DIR/{port,url,pid}, and
#                                            DIR/password with --auth (again after
#                                            stop: same port if free, same images)
#   scripts/registry.sh start DIR --token    https (a private CA made here: DIR/tls/ca.pem)
#                                            and the Docker token flow: the registry
#                                            trusts the JWTs of scripts/registry-token-server.py,
#                                            started beside it (DIR/token/{port,pid,requests.log});
#                                            writes DIR/{port,url,pid,password,realm}
#   scripts/registry.sh stop DIR [--kill]    stop the registry started in DIR (SIGTERM;
#                                            --kill: SIGKILL)
#   scripts/registry.sh push DIR NAME TAG    push a tiny valid OCI image (config blob
#                                            + manifest, no layers) as NAME:TAG; prints
#                                            only its manifest digest (sha256:...)
#
# URL (DIR/url): http://127.0.0.1:PORT (https:// with --token). Storage: DIR/data.
# Log: DIR/registry.log (and DIR/token/server.log).
# Auth user: manifestor; password: $REGISTRY_PASSWORD, else DIR/password (generated once).
# Each push makes a new digest (the config carries NAME:TAG and a random nonce).
set -euo pipefail

USER_NAME=manifestor
START_TIMEOUT=${START_TIMEOUT:-10}
REGISTRY_BIN=${REGISTRY_BIN:-/usr/bin/docker-registry}

die() { echo "registry: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR [--auth|--token] | stop DIR [--kill] | push DIR NAME TAG"; }

TOKEN_SERVICE=manifestor-test-registry
TOKEN_ISSUER=manifestor-test-tokens

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# True while process $1 runs. A zombie counts as gone: our daemons are orphans, and
# the machine's init may take seconds to reap them, while kill -0 still succeeds.
alive() {
    local pid=${1:-} state
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    state=$(sed -n 's/^.*) \([A-Za-z]\).*/\1/p' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# True if process $1 holds a socket listening on TCP port $2 (so an answer on the
# port comes from our server, not from another one that took the port first).
owns_port() {
    local pid=$1 hexport fd link
    hexport=$(printf '%04X' "$2")
    local -A ours=()
    for fd in /proc/"$pid"/fd/*; do
        link=$(readlink "$fd" 2>/dev/null) || continue
        case $link in socket:\[*\]) link=${link#socket:[}; ours[${link%]}]=1 ;; esac
    done
    local _ laddr st inode
    while read -r _ laddr _ st _ _ _ _ _ inode _; do
        [ "$st" = 0A ] && [ "${laddr##*:}" = "$hexport" ] && [ -n "${ours[$inode]:-}" ] && return 0
    done < <(tail -q -n +2 /proc/"$pid"/net/tcp /proc/"$pid"/net/tcp6 2>/dev/null)
    return 1
}

# Runs "$@" in the background as a clean daemon and sets LAUNCH_PID (its pid):
# stdin /dev/null, stdout+stderr appended to $LAUNCH_LOG, every other inherited fd
# closed, no blocked signals, default SIGPIPE. Both matter when the caller is a Swift
# test: Foundation's Process keeps a socket open in each child and treats the child
# as running until every holder of it exits (an inheriting daemon would make the
# caller hang after this script exits), and a process spawned from a Swift
# concurrency/dispatch thread starts with SIGTERM, SIGCHLD, ... blocked (so a daemon
# would ignore `kill` and not notice its CGI children exit).
launch_detached() {
    python3 -c '
import os, signal, sys
log, argv = sys.argv[1], sys.argv[2:]
signal.pthread_sigmask(signal.SIG_SETMASK, [])
for s in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT):
    signal.signal(s, signal.SIG_DFL)
null = os.open("/dev/null", os.O_RDONLY)
out = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
os.dup2(null, 0); os.dup2(out, 1); os.dup2(out, 2)
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
os.execvp(argv[0], argv)
' "$LAUNCH_LOG" "$@" &
    LAUNCH_PID=$!
}

# Stop the process whose pid is in $1/pid with signal $2 (TERM by default); bounded
# wait, then SIGKILL. (lighttpd takes about 1-2 s to act on SIGTERM.)
stop_pidfile() {
    local dir=$1 sig=${2:-TERM} pid
    [ -f "$dir/pid" ] || return 0
    pid=$(cat "$dir/pid")
    if alive "$pid"; then
        kill -s "$sig" "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.05; done
        if alive "$pid"; then
            kill -9 "$pid" 2>/dev/null || true
            for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.05; done
        fi
    fi
    rm -f "$dir/pid"
}

write_config() {
    local dir=$1 port=$2 auth=$3
    cat > "$dir/config.yml" <<CONF
# generated by scripts/registry.sh
version: 0.1
log:
  level: info
  formatter: text
  fields:
    service: registry
storage:
  filesystem:
    rootdirectory: $dir/data
  cache:
    blobdescriptor: inmemory
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(openssl rand -hex 16)
  headers:
    X-Content-Type-Options: [nosniff]
$(if [ "$auth" = token ]; then printf '  tls:\n    certificate: %s\n    key: %s\n' "$dir/tls/server.pem" "$dir/tls/server.key"; fi)
health:
  storagedriver:
    enabled: false
CONF
    if [ "$auth" = 1 ]; then
        cat >> "$dir/config.yml" <<CONF
auth:
  htpasswd:
    realm: manifestor-registry
    path: $dir/htpasswd
CONF
    elif [ "$auth" = token ]; then
        cat >> "$dir/config.yml" <<CONF
auth:
  token:
    realm: $(cat "$dir/realm")
    service: $TOKEN_SERVICE
    issuer: $TOKEN_ISSUER
    rootcertbundle: $dir/tls/ca.pem
CONF
    fi
}

# A private CA (DIR/tls/ca.pem), the registry's and the token service's certificate for
# 127.0.0.1 (server.pem) and the token signing certificate (signing.pem), both issued by it.
make_certs() {
    local tls=$1/tls
    [ -s "$tls/ca.pem" ] && [ -s "$tls/server.pem" ] && [ -s "$tls/signing.pem" ] && return 0
    mkdir -p "$tls"
    local tmp; tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
        -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=Manifestor Test Registry CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
        "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" > "$tmp/server.cnf"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" > "$tmp/signing.cnf"
    local cert
    for cert in server signing; do
        openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$tmp/$cert.key" \
            -out "$tmp/$cert.csr" -subj "/CN=manifestor-test-$cert" >/dev/null 2>&1
        openssl x509 -req -in "$tmp/$cert.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
            -CAcreateserial -days 30 -sha256 -extfile "$tmp/$cert.cnf" \
            -out "$tmp/$cert.pem" >/dev/null 2>&1 || { rm -rf "$tmp"; die "openssl could not issue $cert.pem"; }
    done
    cp "$tmp/ca.pem" "$tmp/server.pem" "$tmp/server.key" "$tmp/signing.pem" "$tmp/signing.key" "$tls/"
    chmod 600 "$tls/server.key" "$tls/signing.key"
    rm -rf "$tmp"
}

# Starts the token service of DIR and writes DIR/realm once it listens.
start_token_server() {
    local dir=$1 pid
    mkdir -p "$dir/token"
    stop_pidfile "$dir/token"
    rm -f "$dir/token/port"
    LAUNCH_LOG="$dir/token/server.log" launch_detached python3 "$(dirname "$0")/registry-token-server.py" "$dir"
    pid=$LAUNCH_PID
    echo "$pid" > "$dir/token/pid"
    local deadline=$((SECONDS + START_TIMEOUT))
    while [ $SECONDS -le $deadline ] && alive "$pid" && [ ! -s "$dir/token/port" ]; do sleep 0.05; done
    if [ ! -s "$dir/token/port" ]; then
        echo "--- token/server.log" >&2; cat "$dir/token/server.log" >&2 || true
        stop_pidfile "$dir/token" KILL
        die "token server did not start within ${START_TIMEOUT}s"
    fi
    echo "https://127.0.0.1:$(cat "$dir/token/port")/token" > "$dir/realm"
}

cmd_start() {
    local dir=${1:-}; shift || true
    [ -n "$dir" ] || usage
    local auth=0
    for a in "$@"; do
        case $a in --auth) auth=1 ;; --token) auth=token ;; *) usage ;; esac
    done
    [ -x "$REGISTRY_BIN" ] || die "$REGISTRY_BIN missing: run scripts/setup.sh"
    mkdir -p "$dir/data"
    dir=$(cd "$dir" && pwd)
    stop_pidfile "$dir"

    if [ "$auth" != 0 ]; then
        local password=${REGISTRY_PASSWORD:-}
        if [ -z "$password" ]; then
            if [ -s "$dir/password" ]; then password=$(cat "$dir/password")
            else password=$(openssl rand -hex 16); fi
        fi
        printf '%s\n' "$password" > "$dir/password"
        chmod 600 "$dir/password"
    else
        rm -f "$dir/password"
    fi
    if [ "$auth" = 1 ]; then
        # The registry only accepts bcrypt entries.
        htpasswd -Bbn "$USER_NAME" "$password" 2>/dev/null | sed '/^$/d' > "$dir/htpasswd"
        [ -s "$dir/htpasswd" ] || die "htpasswd failed"
    else
        rm -f "$dir/htpasswd"
    fi
    local scheme=http
    local -a check=()
    if [ "$auth" = token ]; then
        make_certs "$dir"
        start_token_server "$dir"
        scheme=https
        check=(--cacert "$dir/tls/ca.pem")
    else
        stop_pidfile "$dir/token"
        rm -f "$dir/realm"
    fi

    # The registry reads REGISTRY_* environment variables as config overrides
    # (REGISTRY_PASSWORD, REGISTRY_HTTP_ADDR, ...): start it without any of them.
    local -a clean_env=()
    local v
    for v in $(compgen -e); do
        case $v in REGISTRY_*) clean_env+=(-u "$v") ;; esac
    done

    local port pid
    # A restart in the same DIR tries the previous port first, so the URL stays
    # valid across stop/start (tests of "registry is down, then back").
    local prev_port=""
    [ -s "$dir/port" ] && prev_port=$(cat "$dir/port")
    for _attempt in 1 2 3; do
        if [ -n "$prev_port" ]; then port=$prev_port; prev_port=""; else port=$(free_port); fi
        write_config "$dir" "$port" "$auth"
        : > "$dir/registry.log"
        LAUNCH_LOG="$dir/registry.log" launch_detached \
            env "${clean_env[@]}" "$REGISTRY_BIN" serve "$dir/config.yml"
        pid=$LAUNCH_PID
        echo "$pid" > "$dir/pid"
        local deadline=$((SECONDS + START_TIMEOUT)) up=0 code
        while [ $SECONDS -le $deadline ]; do
            alive "$pid" || break
            code=000
            if owns_port "$pid" "$port"; then
                code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "${check[@]}" \
                       "$scheme://127.0.0.1:$port/v2/" 2>/dev/null || true)
            fi
            if [ "$code" = 200 ] || [ "$code" = 401 ]; then up=1; break; fi
            sleep 0.05
        done
        if [ "$up" = 1 ]; then
            echo "$port" > "$dir/port"
            echo "$scheme://127.0.0.1:$port" > "$dir/url"
            echo "registry: $scheme://127.0.0.1:$port (pid $pid, dir $dir)" >&2
            return 0
        fi
        stop_pidfile "$dir" KILL
        grep -qi 'address already in use' "$dir/registry.log" || break
    done
    stop_pidfile "$dir/token" KILL
    echo "--- registry.log" >&2; cat "$dir/registry.log" >&2 || true
    die "registry did not start within ${START_TIMEOUT}s"
}

cmd_stop() {
    local dir=${1:-}; [ -n "$dir" ] || usage
    local sig=TERM
    case ${2:-} in '') ;; --kill) sig=KILL ;; *) usage ;; esac
    [ -d "$dir" ] || return 0
    stop_pidfile "$dir" "$sig"
    stop_pidfile "$dir/token" "$sig"
}

# curl with the registry's credentials (if any): basic auth, or with --token a bearer token
# for $SCOPE from the token service (RCURL_AUTH, set by token_for); fails loudly on HTTP errors.
rcurl() {
    local -a cred=()
    if [ -s "$DIR/realm" ]; then cred=(--cacert "$DIR/tls/ca.pem" -H "$RCURL_AUTH")
    elif [ -s "$DIR/password" ]; then cred=(-u "$USER_NAME:$(cat "$DIR/password")"); fi
    curl -sS --fail-with-body --max-time 30 "${cred[@]}" "$@"
}

# With --token: asks the token service for a pull,push token of repository $1.
token_for() {
    [ -s "$DIR/realm" ] || return 0
    local answer token
    answer=$(curl -sS --fail-with-body --max-time 30 --cacert "$DIR/tls/ca.pem" \
             -u "$USER_NAME:$(cat "$DIR/password")" -G "$(cat "$DIR/realm")" \
             --data-urlencode "service=$TOKEN_SERVICE" --data-urlencode "scope=repository:$1:pull,push") \
        || die "token request for $1 failed: $answer"
    token=$(printf '%s' "$answer" | python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') \
        || die "token service gave no token"
    RCURL_AUTH="Authorization: Bearer $token"
}

cmd_push() {
    DIR=${1:-}; local name=${2:-} tag=${3:-}
    [ -n "$DIR" ] && [ -n "$name" ] && [ -n "$tag" ] || usage
    [ -s "$DIR/url" ] || die "no registry in $DIR (start it first)"
    [[ $name =~ ^[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*$ ]] \
        || die "bad repository name: $name"
    [[ $tag =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || die "bad tag: $tag"
    local url; url=$(cat "$DIR/url")
    token_for "$name"
    local tmp; tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN

    # 1. config blob, unique per push
    local nonce; nonce=$(openssl rand -hex 16)
    printf '{"architecture":"amd64","config":{"Labels":{"manifestor.test/image":"%s:%s","manifestor.test/nonce":"%s"}},"os":"linux","rootfs":{"type":"layers","diff_ids":[]}}' \
        "$name" "$tag" "$nonce" > "$tmp/config.json"
    local cdigest csize
    cdigest="sha256:$(sha256sum "$tmp/config.json" | cut -d' ' -f1)"
    csize=$(stat -c %s "$tmp/config.json")

    # POST opens an upload session; PUT to its Location (+digest) completes it.
    local location
    location=$(rcurl -X POST -D - -o /dev/null "$url/v2/$name/blobs/uploads/" \
               | tr -d '\r' | sed -n 's/^[Ll]ocation: *//p' | tail -1)
    [ -n "$location" ] || die "blob upload: no Location header"
    case $location in http://*|https://*) ;; *) location="$url$location" ;; esac
    case $location in *\?*) location="$location&digest=$cdigest" ;;
                      *) location="$location?digest=$cdigest" ;; esac
    rcurl -X PUT -o /dev/null -H 'Content-Type: application/octet-stream' \
        --data-binary "@$tmp/config.json" "$location" >/dev/null \
        || die "blob upload of $cdigest failed"

    # 2. OCI image manifest, no layers
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"%s","size":%s},"layers":[]}' \
        "$cdigest" "$csize" > "$tmp/manifest.json"
    local mdigest want
    want="sha256:$(sha256sum "$tmp/manifest.json" | cut -d' ' -f1)"
    mdigest=$(rcurl -X PUT -D - -o "$tmp/put.out" \
              -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
              --data-binary "@$tmp/manifest.json" "$url/v2/$name/manifests/$tag" \
              | tr -d '\r' | sed -n 's/^[Dd]ocker-[Cc]ontent-[Dd]igest: *//p' | tail -1) \
        || { cat "$tmp/put.out" >&2 2>/dev/null; die "manifest PUT failed"; }
    [ -n "$mdigest" ] || die "manifest PUT: no Docker-Content-Digest header"
    [ "$mdigest" = "$want" ] || die "registry digest $mdigest != computed $want"
    echo "$mdigest"
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    push) shift; cmd_push "$@" ;;
    *) usage ;;
esac
