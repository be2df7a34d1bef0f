#!/usr/bin/env bash
# A real smart-HTTP git server for tests: lighttpd + git http-backend (CGI) on
# 127.0.0.1, HTTP basic auth on every request, optional TLS.
#
#   scripts/git-server.sh start DIR [--tls]    start; writes DIR/{port,url,pid,password}
#                                              (again after stop: same port if still free)
#   scripts/git-server.sh stop DIR [--kill]    stop the server started in DIR (SIGTERM,
#                                              ~1-2 s; --kill: SIGKILL, at once)
#   scripts/git-server.sh create-repo DIR NAME create bare DIR/repos/NAME.git (HEAD main,
#                                              receive.denyNonFastForwards); prints its path
#
# Repositories: DIR/repos/NAME.git, served at URL/NAME.git where URL (in DIR/url) is
# http://127.0.0.1:PORT/git, or https://localhost:PORT/git with --tls (CA in DIR/ca.pem).
# User: manifestor; password: $GIT_SERVER_PASSWORD, else DIR/password (generated once).
# Logs: DIR/requests.log: one line "METHOD URI USER" per request that passed auth
#         and reached git http-backend, written by the CGI wrapper BEFORE git runs,
#         so it is complete as soon as the client has its answer (a push is a line
#         "POST /git/NAME.git/git-receive-pack manifestor"). Use it to count.
#       DIR/access.log: lighttpd's log, every request incl. 401s ('%h %u %t "%r" %>s %b');
#         written through a piped logger, so it may trail the client by a moment.
#       DIR/error.log, DIR/lighttpd.out (the server's own stdout/stderr).
set -euo pipefail

USER_NAME=manifestor
HTTP_BACKEND=/usr/lib/git-core/git-http-backend
START_TIMEOUT=${START_TIMEOUT:-10}

die() { echo "git-server: $*" >&2; exit 1; }
usage() { die "usage: $0 start DIR [--tls] | stop DIR [--kill] | create-repo DIR NAME"; }

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

make_certs() {
    local dir=$1
    [ -s "$dir/ca.pem" ] && [ -s "$dir/server.pem" ] && [ -s "$dir/server.key" ] && return 0
    local tmp; tmp=$(mktemp -d)
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -sha256 \
        -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=Manifestor Test CA" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
    openssl req -newkey rsa:2048 -nodes -sha256 -keyout "$tmp/server.key" \
        -out "$tmp/server.csr" -subj "/CN=localhost" >/dev/null 2>&1
    cat > "$tmp/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1
EXT
    openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" \
        -CAcreateserial -days 30 -sha256 -extfile "$tmp/ext.cnf" \
        -out "$tmp/server.pem" >/dev/null 2>&1
    cp "$tmp/ca.pem" "$tmp/server.pem" "$tmp/server.key" "$dir/"
    chmod 600 "$dir/server.key"
    rm -rf "$tmp"
}

write_config() {
    local dir=$1 port=$2 tls=$3
    local root; root=$(cd "$dir" && pwd)
    cat > "$root/lighttpd.conf" <<CONF
# generated by scripts/git-server.sh
server.modules = ( "mod_access", "mod_alias", "mod_setenv", "mod_auth",
                   "mod_authn_file", "mod_cgi", "mod_accesslog" )
server.bind          = "127.0.0.1"
server.port          = $port
server.document-root = "$root/www"
server.errorlog      = "$root/error.log"
server.max-request-size = 0
server.stream-request-body = 0
# A plain file access log is buffered by lighttpd (flushed each new second or
# every 4 s); a piped logger is written on every request.
accesslog.filename   = "|exec /bin/cat >> '$root/access.log'"
accesslog.format     = "%h %u %t \"%r\" %>s %b"

auth.backend = "htpasswd"
auth.backend.htpasswd.userfile = "$root/htpasswd"
auth.require = ( "/" => ( "method" => "basic", "realm" => "manifestor-git",
                          "require" => "valid-user" ) )

alias.url = ( "/git" => "$root/git-cgi.sh" )
\$HTTP["url"] =~ "^/git/" {
    cgi.assign = ( "" => "" )
    setenv.set-environment = (
        "GIT_PROJECT_ROOT"    => "$root/repos",
        "GIT_HTTP_EXPORT_ALL" => "1",
        "HOME"                => "$root",
        "PATH"                => "/usr/local/bin:/usr/bin:/bin",
        "GIT_CONFIG_NOSYSTEM" => "1",
        "GIT_CONFIG_COUNT"    => "2",
        "GIT_CONFIG_KEY_0"    => "safe.directory",
        "GIT_CONFIG_VALUE_0"  => "*",
        "GIT_CONFIG_KEY_1"    => "http.receivepack",
        "GIT_CONFIG_VALUE_1"  => "true"
    )
}
CONF
    cat > "$root/git-cgi.sh" <<CGI
#!/bin/sh
# CGI wrapper: record the request synchronously, then hand over to git.
printf '%s %s %s\\n' "\$REQUEST_METHOD" "\$REQUEST_URI" "\${REMOTE_USER:--}" >> '$root/requests.log'
exec $HTTP_BACKEND
CGI
    chmod 755 "$root/git-cgi.sh"
    if [ "$tls" = 1 ]; then
        cat >> "$root/lighttpd.conf" <<CONF

server.modules += ( "mod_openssl" )
ssl.engine  = "enable"
ssl.pemfile = "$root/server.pem"
ssl.privkey = "$root/server.key"
CONF
    fi
}

cmd_start() {
    local dir=${1:-}; shift || true
    [ -n "$dir" ] || usage
    local tls=0
    for a in "$@"; do
        case $a in --tls) tls=1 ;; *) usage ;; esac
    done
    command -v lighttpd >/dev/null || die "lighttpd missing: run scripts/setup.sh"
    [ -x "$HTTP_BACKEND" ] || die "$HTTP_BACKEND missing: install git"
    mkdir -p "$dir/repos" "$dir/www"
    dir=$(cd "$dir" && pwd)
    stop_pidfile "$dir"

    local password=${GIT_SERVER_PASSWORD:-}
    if [ -z "$password" ]; then
        if [ -s "$dir/password" ]; then password=$(cat "$dir/password")
        else password=$(openssl rand -hex 16); fi
    fi
    printf '%s\n' "$password" > "$dir/password"
    chmod 600 "$dir/password"
    # apr1 (MD5) hashes: lighttpd verifies them itself, cheaply on every request.
    htpasswd -bcm "$dir/htpasswd" "$USER_NAME" "$password" >/dev/null 2>&1 \
        || die "htpasswd failed"

    [ "$tls" = 1 ] && make_certs "$dir"
    # Logs are appended across restarts (pushCount keeps counting).
    touch "$dir/access.log" "$dir/error.log" "$dir/requests.log"

    local port pid scheme host
    if [ "$tls" = 1 ]; then scheme=https; host=localhost; else scheme=http; host=127.0.0.1; fi
    # A restart in the same DIR tries the previous port first, so the URL stays
    # valid across stop/start (tests of "git is down, then back").
    local prev_port=""
    [ -s "$dir/port" ] && prev_port=$(cat "$dir/port")
    for _attempt in 1 2 3; do
        if [ -n "$prev_port" ]; then port=$prev_port; prev_port=""; else port=$(free_port); fi
        write_config "$dir" "$port" "$tls"
        lighttpd -tt -f "$dir/lighttpd.conf" > "$dir/lighttpd.out" 2>&1 \
            || { cat "$dir/lighttpd.out" >&2; die "bad lighttpd config"; }
        : > "$dir/lighttpd.out"
        LAUNCH_LOG="$dir/lighttpd.out" launch_detached lighttpd -D -f "$dir/lighttpd.conf"
        pid=$LAUNCH_PID
        echo "$pid" > "$dir/pid"
        local deadline=$((SECONDS + START_TIMEOUT)) up=0
        while [ $SECONDS -le $deadline ]; do
            alive "$pid" || break
            # Our process listens on the port, and any HTTP answer (401 here) comes.
            if owns_port "$pid" "$port" \
               && curl -sk -o /dev/null --max-time 1 "$scheme://127.0.0.1:$port/" 2>/dev/null; then
                up=1; break
            fi
            sleep 0.05
        done
        if [ "$up" = 1 ]; then
            echo "$port" > "$dir/port"
            echo "$scheme://$host:$port/git" > "$dir/url"
            echo "git-server: $scheme://$host:$port/git (pid $pid, dir $dir)" >&2
            return 0
        fi
        stop_pidfile "$dir" KILL
        # Port taken between picking and binding: try another one.
        grep -qi 'address already in use' "$dir/error.log" "$dir/lighttpd.out" 2>/dev/null || break
    done
    echo "--- lighttpd.out" >&2; cat "$dir/lighttpd.out" >&2 || true
    echo "--- error.log" >&2; cat "$dir/error.log" >&2 || true
    die "lighttpd did not start within ${START_TIMEOUT}s"
}

cmd_stop() {
    local dir=${1:-}; [ -n "$dir" ] || usage
    local sig=TERM
    case ${2:-} in '') ;; --kill) sig=KILL ;; *) usage ;; esac
    [ -d "$dir" ] || return 0
    stop_pidfile "$dir" "$sig"
}

cmd_create_repo() {
    local dir=${1:-} name=${2:-}
    [ -n "$dir" ] && [ -n "$name" ] || usage
    case $name in */*|.*|*..*|'') die "bad repository name: $name" ;; esac
    local repo="$dir/repos/$name.git"
    mkdir -p "$dir/repos"
    if [ ! -f "$repo/HEAD" ]; then
        git init -q --bare --initial-branch=main "$repo"
    fi
    git --git-dir="$repo" config http.receivepack true
    # Like a protected branch on a real forge: history is never rewritten.
    git --git-dir="$repo" config receive.denyNonFastForwards true
    git --git-dir="$repo" symbolic-ref HEAD refs/heads/main
    echo "$repo"
}

case ${1:-} in
    start) shift; cmd_start "$@" ;;
    stop) shift; cmd_stop "$@" ;;
    create-repo) shift; cmd_create_repo "$@" ;;
    *) usage ;;
esac
