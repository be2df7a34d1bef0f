#!/usr/bin/env bash
# Idempotent setup of what Manifestor needs on Debian 12 (which already has Swift and
# python3). Safe to run as root with no stdin (CI).
#   scripts/setup.sh run    what building and running need (make run): libgit2 and pkg-config
#   scripts/setup.sh test   that, and what the tests need (make test): the git server, the
#                           registry, TLS tools, node (examples/), and a Python venv at
#                           $REPO/.venv with the validation tools (the default)
# Re-running is cheap: nothing is reinstalled when present.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive

log() { echo "setup: $*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
        log "not root and no sudo: apt packages cannot be installed"; fi
fi

MODE="${1:-test}"
case "$MODE" in run|test) ;; *) echo "usage: scripts/setup.sh [run|test]" >&2; exit 2 ;; esac

# --- apt packages -----------------------------------------------------------
RUN_PACKAGES=(libgit2-dev libcurl4-openssl-dev pkg-config git ca-certificates)
# lighttpd-mod-openssl holds mod_openssl (TLS) and is only a Recommends of lighttpd.
# nodejs (18+, built-in fetch) runs the client in examples/ in ExampleClientTests; prometheus's
# promtool checks deploy/prometheusrule-manifestor.yaml; openssh-client's ssh-keygen makes and checks
# the keys of the signing tests and benchmark.
TEST_PACKAGES=(lighttpd lighttpd-mod-openssl docker-registry apache2-utils openssl curl python3-venv nodejs prometheus
               openssh-client)
APT_PACKAGES=("${RUN_PACKAGES[@]}")
if [ "$MODE" = test ]; then APT_PACKAGES+=("${TEST_PACKAGES[@]}"); fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

lighttpd_was_installed=1
if printf '%s\n' "${missing[@]:-}" | grep -qx lighttpd; then lighttpd_was_installed=0; fi

if [ "${#missing[@]}" -gt 0 ]; then
    log "installing apt packages: ${missing[*]}"
    $SUDO apt-get update -qq </dev/null >/dev/null || log "apt-get update failed; trying the install anyway"
    # policy-rc.d forbids services from starting during the install (lighttpd would
    # otherwise take port 80; docker-registry would start its own daemon on :5000).
    policy=/usr/sbin/policy-rc.d
    created_policy=0
    if [ -z "$SUDO" ] && [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"; created_policy=1
    fi
    aptlog=$(mktemp)
    set +e
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >"$aptlog" 2>&1
    rc=$?
    set -e
    if [ "$created_policy" = 1 ]; then rm -f "$policy"; fi
    if [ "$rc" -ne 0 ]; then cat "$aptlog" >&2; rm -f "$aptlog"; log "apt-get install failed ($rc)"; exit "$rc"; fi
    rm -f "$aptlog"
else
    log "apt packages present"
fi

# Our fixtures run their own lighttpd/registry on free loopback ports; the system
# services are not used. Stop them if an install started them (harmless otherwise).
if [ "$lighttpd_was_installed" = 0 ] || printf '%s\n' "${missing[@]:-}" | grep -qxE 'docker-registry|prometheus'; then
    for svc in lighttpd docker-registry prometheus; do
        $SUDO service "$svc" stop >/dev/null 2>&1 || true
        $SUDO update-rc.d "$svc" disable >/dev/null 2>&1 || true
        $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
fi

if [ "$MODE" = run ]; then log "done (run)"; exit 0; fi

# --- Python venv ------------------------------------------------------------
# Installs pip into a venv that has none, from pip's wheel on PyPI (a wheel can run
# itself: python pip-X.whl/pip install pip-X.whl).
bootstrap_pip() {
    local py=$1 tmp wheel
    tmp=$(mktemp -d)
    wheel=$("$py" - "$tmp" <<'PY'
import json, os, sys, urllib.parse, urllib.request
api = "https://pypi.org/pypi/pip/json"
meta = json.load(urllib.request.urlopen(api, timeout=60))
whl = next(u for u in meta["urls"] if u["filename"].endswith(".whl"))
path = os.path.join(sys.argv[1], whl["filename"])
urllib.request.urlretrieve(urllib.parse.urljoin(api, whl["url"]), path)
print(path)
PY
) || { rm -rf "$tmp"; log "cannot fetch pip from PyPI"; exit 1; }
    "$py" "$wheel/pip" install -q --disable-pip-version-check "$wheel" </dev/null
    rm -rf "$tmp"
}

VENV="$REPO/.venv"
PIP_PACKAGES=(kubernetes-validate openapi-spec-validator schemathesis jsonschema pyyaml)
STAMP="$VENV/.manifestor-packages"
WANT="$(printf '%s\n' "${PIP_PACKAGES[@]}" | sort)"

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    log "creating venv $VENV"
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # No ensurepip (python3-venv missing and not installable): a venv without
        # pip, then bootstrap pip from its wheel on PyPI.
        log "python3 -m venv failed (no ensurepip?); bootstrapping pip from PyPI"
        rm -rf "$VENV"
        python3 -m venv --without-pip "$VENV"
        bootstrap_pip "$VENV/bin/python"
    fi
    rm -f "$STAMP"
fi

if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] \
   && "$VENV/bin/python" -c 'import yaml, jsonschema, openapi_spec_validator, schemathesis, kubernetes_validate' >/dev/null 2>&1; then
    log "venv packages present"
else
    log "installing pip packages: ${PIP_PACKAGES[*]}"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check --upgrade pip </dev/null
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_PACKAGES[@]}" </dev/null
    printf '%s\n' "$WANT" > "$STAMP"
fi

log "done"
