#!/usr/bin/env python3
"""A small token service for the test registry (scripts/registry.sh start DIR --token): the
Docker token flow's realm, over https on 127.0.0.1, issuing the JWTs that Debian's
docker-registry verifies with `auth: token: {realm, service, issuer, rootcertbundle}`.

    registry-token-server.py DIR

Reads DIR/tls/{server.pem,server.key} (its TLS certificate), DIR/tls/{signing.pem,signing.key}
(the token signing certificate, issued by DIR/tls/ca.pem, the registry's rootcertbundle),
DIR/password (the password of user `manifestor`; absent: no user can log in) and, on every
request, DIR/token/expires_in (the tokens' lifetime in seconds; absent: 300). Listens on a free
port and then writes it to DIR/token/port.

GET /token?service=S&scope=repository:NAME:ACTIONS (scope may repeat):
  - basic auth as manifestor with the password: a token granting the asked actions (pull, push);
  - no Authorization: an anonymous token granting nothing (as public registries answer);
  - any other credentials: 401.
Every answer appends one JSON line to DIR/token/requests.log (status, account, scopes, user
agent; never a password or a token), so tests can count the token requests.

Standard library only; the RS256 signature is made by `openssl dgst -sha256 -sign`.
"""
import base64
import binascii
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid

SERVICE = "manifestor-test-registry"
ISSUER = "manifestor-test-tokens"
USER = "manifestor"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pem_certificates(path):
    text = open(path).read()
    marker = "-----END CERTIFICATE-----"
    return [block + marker for block in text.split(marker) if "-----BEGIN CERTIFICATE-----" in block]


class TokenService:
    def __init__(self, directory):
        self.dir = directory
        self.tls = os.path.join(directory, "tls")
        self.state = os.path.join(directory, "token")
        os.makedirs(self.state, exist_ok=True)
        self.chain = [base64.b64encode(ssl.PEM_cert_to_DER_cert(c.strip() + "\n")).decode()
                      for c in pem_certificates(os.path.join(self.tls, "signing.pem"))]
        self.log_lock = threading.Lock()

    def password(self):
        try:
            return open(os.path.join(self.dir, "password")).read().strip()
        except FileNotFoundError:
            return None

    def lifetime(self):
        try:
            return int(open(os.path.join(self.state, "expires_in")).read().strip())
        except (FileNotFoundError, ValueError):
            return 300

    def sign(self, claims):
        header = {"typ": "JWT", "alg": "RS256", "x5c": self.chain}
        signing_input = (b64url(json.dumps(header, separators=(",", ":")).encode()) + "." +
                         b64url(json.dumps(claims, separators=(",", ":")).encode()))
        signature = subprocess.run(
            ["openssl", "dgst", "-sha256", "-sign", os.path.join(self.tls, "signing.key")],
            input=signing_input.encode(), capture_output=True, check=True, timeout=30).stdout
        return signing_input + "." + b64url(signature)

    def record(self, entry):
        with self.log_lock, open(os.path.join(self.state, "requests.log"), "a") as log:
            log.write(json.dumps(entry, sort_keys=True) + "\n")


def parse_scope(scope):
    parts = scope.split(":")
    if len(parts) < 3 or parts[0] != "repository":
        return None
    return {"type": "repository", "name": ":".join(parts[1:-1]), "actions": parts[-1].split(",")}


class Handler(http.server.BaseHTTPRequestHandler):
    service: TokenService = None

    def log_message(self, *args):
        pass

    def answer(self, status, body, extra=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = urllib.parse.parse_qs(url.query)
        scopes = query.get("scope", [])
        entry = {"path": url.path, "service": query.get("service", [None])[0], "scopes": scopes,
                 "userAgent": self.headers.get("User-Agent", "")}
        if url.path != "/token" or entry["service"] != SERVICE:
            entry["status"] = 400
            self.service.record(entry)
            return self.answer(400, {"errors": [{"code": "BAD_REQUEST", "message": "unknown path or service"}]})
        account = ""
        authorization = self.headers.get("Authorization")
        if authorization is not None:
            user, password = None, None
            if authorization.lower().startswith("basic "):
                try:
                    user, _, password = base64.b64decode(authorization[6:].strip()).decode().partition(":")
                except (binascii.Error, UnicodeDecodeError):
                    pass
            expected = self.service.password()
            if user != USER or expected is None or password != expected:
                entry.update(status=401, account=user or "")
                self.service.record(entry)
                return self.answer(401, {"errors": [{"code": "UNAUTHORIZED", "message": "wrong user name or password"}]},
                                   [("WWW-Authenticate", 'Basic realm="manifestor-test-tokens"')])
            account = USER
        access = []
        if account:
            for scope in scopes:
                parsed = parse_scope(scope)
                if parsed:
                    parsed["actions"] = [a for a in parsed["actions"] if a in ("pull", "push")]
                    access.append(parsed)
        now = int(time.time())
        lifetime = self.service.lifetime()
        claims = {"iss": ISSUER, "sub": account, "aud": SERVICE, "exp": now + lifetime, "nbf": now - 10,
                  "iat": now, "jti": uuid.uuid4().hex, "access": access}
        token = self.service.sign(claims)
        entry.update(status=200, account=account, granted=access)
        self.service.record(entry)
        self.answer(200, {"token": token, "access_token": token, "expires_in": lifetime,
                          "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))})


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: registry-token-server.py DIR")
    service = TokenService(os.path.abspath(sys.argv[1]))
    Handler.service = service
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(service.tls, "server.pem"), os.path.join(service.tls, "server.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port_file = os.path.join(service.state, "port")
    with open(port_file + ".tmp", "w") as out:
        out.write("%d\n" % server.server_address[1])
    os.replace(port_file + ".tmp", port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
