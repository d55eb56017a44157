"""Shared helpers for levy's HTTP integration tests (tests/api/test_*.py).

The tests run under tests/harness/with-stack, which starts a private
PostgreSQL, migrates it, runs levy-fcgi behind a real nginx and exports
LEVY_URL, LEVY_CONF, LEVY_BIN, LEVY_*_CONNINFO and friends.  Everything here
is the Python standard library only, so `make check` needs nothing from pip.

call() is the one way tests talk to levy: it checks on every response what
API.md promises for all of them (a JSON body, Content-Type
application/json; charset=utf-8, a Request-Id header starting with req_), so
no individual test can forget to.
"""

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import unittest
import urllib.parse

ENV_NEEDED = ("LEVY_URL",)

URL = os.environ.get("LEVY_URL", "")
_u = urllib.parse.urlsplit(URL) if URL else None
HOST = _u.hostname if _u else "127.0.0.1"
PORT = _u.port if _u and _u.port else 80

LEVY_CONF = os.environ.get("LEVY_CONF", "")
LEVY_BIN = os.environ.get("LEVY_BIN", "")

# What the test stack's levy.conf sets (tests/harness/with-stack).
ACCESS_TTL = 900
LOGIN_MAX_FAILURES = 5

# A password that passes every check: long, not numeric, not common, unlike any email we make.
PASSWORD = "Quartz-Lantern-Okapi-7319"

JSON_CT = "application/json; charset=utf-8"
FORM_CT = "application/x-www-form-urlencoded"

KEY_RE = {
    "sk_live": re.compile(r"^sk_live_[0-9A-Za-z]{30,}$"),
    "sk_test": re.compile(r"^sk_test_[0-9A-Za-z]{30,}$"),
    "pk_live": re.compile(r"^pk_live_[0-9A-Za-z]{30,}$"),
    "pk_test": re.compile(r"^pk_test_[0-9A-Za-z]{30,}$"),
}
JWT_RE = re.compile(r"^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$")
SLUG_RE = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# Sentinel: "do not check this field" (None means "must be absent").
ANY = object()

_counter = itertools.count(1)


class ProtocolError(AssertionError):
    """A response that breaks API.md's envelope (not JSON, no Request-Id...)."""


def unique(tag="t"):
    """A short string unique to this run and process."""
    return "%s%d%d%s" % (tag, os.getpid() % 10000, next(_counter), secrets.token_hex(3))


def unique_email(tag="user"):
    return "%s@example.com" % unique(tag)


# --------------------------------------------------------------------------
# HTTP


def raw(method, path, body=None, headers=None, timeout=60):
    """One request on a fresh connection: (status, headers, bytes).  No checks."""
    conn = http.client.HTTPConnection(HOST, PORT, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if body is not None and not any(k.lower() == "content-length" for k in hdrs):
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (413) before reading the whole body.
                pass
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, resp.headers, data
    finally:
        conn.close()


def raw_socket(request_bytes, timeout=60):
    """Sends bytes as they are (for requests http.client refuses to build)."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        try:
            s.sendall(request_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass
        resp = http.client.HTTPResponse(s, method="GET")
        resp.begin()
        data = resp.read()
        return resp.status, resp.headers, data
    finally:
        s.close()


def check_envelope(status, headers, data, what=""):
    """What API.md promises for every response; returns the decoded JSON."""
    ctx = "%s -> %s %r" % (what, status, data[:300])
    rid = headers.get("Request-Id")
    if not rid or not rid.startswith("req_") or len(rid) <= 4:
        raise ProtocolError("no Request-Id: req_... header (%r): %s" % (rid, ctx))
    ct = (headers.get("Content-Type") or "").replace(" ", "").lower()
    if ct != JSON_CT.replace(" ", ""):
        raise ProtocolError("Content-Type %r, want %r: %s" % (headers.get("Content-Type"), JSON_CT, ctx))
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError("body is not JSON (%s): %s" % (e, ctx))
    if status >= 400:
        if not isinstance(obj, dict) or set(obj) != {"error"} or not isinstance(obj["error"], dict):
            raise ProtocolError("error body is not {\"error\": {...}}: %s" % ctx)
        err = obj["error"]
        extra = set(err) - {"type", "code", "param", "message", "decline_code"}
        if extra or not isinstance(err.get("type"), str) or not isinstance(err.get("message"), str) \
                or not err["message"]:
            raise ProtocolError("error object malformed (extra keys %s): %s" % (sorted(extra), ctx))
    return obj


def call(method, path, body=None, form=None, headers=None, key=None, token=None,
         mode=None, data=None, content_type=None, check=True, timeout=60):
    """One API request.  Returns (status, headers, json).

    body: encoded as JSON; form: dict or list of pairs, urlencoded; data: raw
    bytes sent as they are (content_type names them, or none is sent).
    key/token: Authorization: Bearer; mode: the Levy-Mode header.
    """
    hdrs = {}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode("utf-8")
        hdrs["Content-Type"] = "application/json"
    elif form is not None:
        payload = urllib.parse.urlencode(form).encode("ascii")
        hdrs["Content-Type"] = FORM_CT
    elif data is not None:
        payload = data if isinstance(data, bytes) else data.encode("utf-8")
    if content_type is not None:
        hdrs["Content-Type"] = content_type
    if key is not None:
        hdrs["Authorization"] = "Bearer " + key
    if token is not None:
        hdrs["Authorization"] = "Bearer " + token
    if mode is not None:
        hdrs["Levy-Mode"] = mode
    hdrs.update(headers or {})
    status, rh, raw_body = raw(method, path, payload, hdrs, timeout=timeout)
    obj = check_envelope(status, rh, raw_body, "%s %s" % (method, path[:200])) if check else raw_body
    return status, rh, obj


def get(path, **kw):
    return call("GET", path, **kw)


def post(path, body=None, **kw):
    return call("POST", path, body=body, **kw)


def patch(path, body=None, **kw):
    return call("PATCH", path, body=body, **kw)


def delete(path, **kw):
    return call("DELETE", path, **kw)


def mistype(key):
    """The key with its last character changed (never to itself), as a typo makes it."""
    return key[:-1] + ("y" if key[-1] == "x" else "x")


def basic(user, password=""):
    return "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


# --------------------------------------------------------------------------
# Fixtures: tenants and their users

REGISTER = "/api/v1/auth/tenants/register/"
LOGIN = "/api/v1/auth/tenants/login/"
VERIFY = "/api/v1/auth/tenants/verify/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/auth/tenants/me/"
USERS = "/api/v1/auth/users/"
USERS_ME = "/api/v1/auth/users/me/"
API_KEYS = "/api/v1/auth/api_keys/"
ROLL = "/api/v1/auth/api_keys/roll/"


def user_path(uid):
    return "%s%s/" % (USERS, uid)


class Member:
    """A tenant user we created, with the credentials to act as them."""

    def __init__(self, user, email, password, access, refresh):
        self.user = user
        self.id = user["id"]
        self.email = email
        self.password = password
        self.access = access
        self.refresh = refresh
        self.role = user["role"]


class Tenant:
    """A registered tenant: its keys, its owner's credentials, the raw 201 body."""

    def __init__(self, body, email, password, company):
        self.body = body
        t = body["tenant"]
        self.id = t["id"]
        self.company = company
        self.slug = t["slug"]
        self.email = email
        self.password = password
        self.sk_live = t["api_key_secret"]
        self.sk_test = t["api_key_test_secret"]
        self.pk_live = t["api_key_public"]
        self.pk_test = t["api_key_test_public"]
        self.whsec = t["webhook_secret"]
        self.owner = Member(body["user"], email, password, body["tokens"]["access"],
                            body["tokens"]["refresh"])
        self.access = self.owner.access
        self.refresh = self.owner.refresh
        self.user_id = self.owner.id

    def add_user(self, role, password=PASSWORD, token=None, **extra):
        """Creates a user with `role` (as the owner unless token says) and logs them in."""
        email = unique_email(role)
        body = {"email": email, "password": password, "role": role,
                "first_name": extra.pop("first_name", role.title()),
                "last_name": extra.pop("last_name", "Tester")}
        body.update(extra)
        st, _, user = post(USERS, body, token=token or self.access)
        if st != 201:
            raise AssertionError("creating a %s user: %s %r" % (role, st, user))
        lg = login(email, password)
        return Member(user, email, password, lg["tokens"]["access"], lg["tokens"]["refresh"])


def register_body(**over):
    company = over.pop("company_name", None) or "Test Co %s" % unique("")
    body = {"company_name": company, "email": unique_email("owner"), "password": PASSWORD,
            "first_name": "Ada", "last_name": "Lovelace"}
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


def register(**over):
    """Registers a fresh tenant; returns the 201 body (asserting 201)."""
    body = register_body(**over)
    st, _, obj = post(REGISTER, body)
    if st != 201:
        raise AssertionError("register %r: %s %r" % (body, st, obj))
    return obj


def new_tenant(**over):
    """Registers a fresh tenant and wraps it in a Tenant."""
    body = register_body(**over)
    st, _, obj = post(REGISTER, body)
    if st != 201:
        raise AssertionError("register %r: %s %r" % (body, st, obj))
    return Tenant(obj, body["email"], body["password"], body["company_name"])


def login(email, password, expect=200):
    """Logs in; returns the body (asserting `expect`)."""
    st, _, obj = post(LOGIN, {"email": email, "password": password})
    if st != expect:
        raise AssertionError("login %s: %s %r" % (email, st, obj))
    return obj


def healthy():
    """True when levy still serves an ordinary request."""
    t = _health_tenant()
    st, _, obj = get(VERIFY, key=t.sk_test)
    return st == 200 and obj.get("valid") is True


_health = []


def _health_tenant():
    if not _health:
        _health.append(new_tenant())
    return _health[0]


# --------------------------------------------------------------------------
# JWT by hand (to forge tokens the server must refuse)


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwt_decode(token):
    """(header, payload) of a JWT, unverified."""
    h, p, _ = token.split(".")
    return json.loads(b64url_decode(h)), json.loads(b64url_decode(p))


def jwt_sign(header, payload, secret, alg=None):
    """Builds a JWT; alg HS256/HS384/HS512 signs with secret, "none" leaves the signature empty."""
    alg = alg or header.get("alg", "HS256")
    head = b64url(json.dumps(header, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    signing = ("%s.%s" % (head, body)).encode()
    digests = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
    if alg in digests:
        key = secret.encode() if isinstance(secret, str) else secret
        sig = b64url(hmac.new(key, signing, digests[alg]).digest())
    else:
        sig = ""
    return "%s.%s.%s" % (head, body, sig)


_conf_cache = {}


def conf_text():
    if "text" not in _conf_cache:
        with open(LEVY_CONF, encoding="utf-8") as f:
            _conf_cache["text"] = f.read()
    return _conf_cache["text"]


def _strip_conf_comments(text):
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif c == "#" or text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _conf_string(s):
    """A libconfig string literal's value (adjacent literals concatenate)."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', s)
    val = "".join(parts)
    return re.sub(r'\\(x[0-9A-Fa-f]{2}|.)',
                  lambda m: chr(int(m.group(1)[1:], 16)) if m.group(1)[0] == "x"
                  else {"n": "\n", "t": "\t", "r": "\r", "f": "\f"}.get(m.group(1), m.group(1)), val)


def conf_setting(group, name):
    """A string setting group.name from LEVY_CONF (libconfig syntax), or None."""
    text = _strip_conf_comments(conf_text())
    m = re.search(r'(?<![A-Za-z0-9_])%s\s*[:=]\s*\{' % re.escape(group), text)
    if m:
        depth, i = 1, m.end()
        while i < len(text) and depth:
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
            i += 1
        inner = text[m.end():i - 1]
        v = re.search(r'(?<![A-Za-z0-9_])%s\s*[:=]\s*((?:"(?:[^"\\]|\\.)*"\s*)+)' % re.escape(name), inner)
        if v:
            return _conf_string(v.group(1))
    return None


def jwt_secret():
    s = conf_setting("jwt", "secret")
    if not s:
        raise AssertionError("cannot find jwt.secret in %s" % LEVY_CONF)
    return s


# --------------------------------------------------------------------------
# Processes: psql and the levy CLI


def psql(conninfo, sql, check=True):
    """Runs SQL through psql (unaligned, tuples only, '|' separated).

    Returns the CompletedProcess; with check, raises on a non-zero exit.
    """
    p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-F", "|", "-v", "ON_ERROR_STOP=1",
                        "-d", conninfo, "-f", "-"],
                       input=sql, capture_output=True, text=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("psql failed (%d): %s\nSQL: %s" % (p.returncode, p.stderr, sql))
    return p


def psql_rows(conninfo, sql):
    out = psql(conninfo, sql).stdout
    return [line.split("|") for line in out.splitlines() if line != ""]


def levy_cli(*args, timeout=120):
    """`$LEVY_BIN -c $LEVY_CONF ARGS...` -> CompletedProcess (text)."""
    return subprocess.run([LEVY_BIN, "-c", LEVY_CONF] + list(args), capture_output=True,
                          text=True, timeout=timeout)


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return time.monotonic() - t0, r


# --------------------------------------------------------------------------
# Assertions shared by the test cases


class LevyTestCase(unittest.TestCase):
    maxDiff = 4000

    def assertError(self, resp, status, type_, code=ANY, param=ANY, message=ANY):
        """resp is call()'s tuple.  code/param None: must be absent."""
        st, _, obj = resp
        self.assertEqual(st, status, "status: %r" % (obj,))
        err = obj["error"]
        self.assertEqual(err["type"], type_, err)
        for name, want in (("code", code), ("param", param), ("message", message)):
            if want is ANY:
                continue
            if want is None:
                self.assertNotIn(name, err, err)
            elif isinstance(want, (set, frozenset, tuple, list)):
                self.assertIn(err.get(name), want, err)
            else:
                self.assertEqual(err.get(name), want, err)
        return err

    def assertStatus(self, resp, status):
        self.assertEqual(resp[0], status, "body: %r" % (resp[2],))
        return resp[2]

    def assertKeys(self, obj, keys, what=""):
        self.assertIsInstance(obj, dict, what)
        self.assertEqual(set(obj), set(keys), "%s keys" % what)

    def assertInt(self, v, what=""):
        self.assertTrue(isinstance(v, int) and not isinstance(v, bool), "%s: %r is not an integer" % (what, v))

    def assertRecent(self, ts, what="", slack=120):
        self.assertInt(ts, what)
        now = time.time()
        self.assertTrue(now - slack <= ts <= now + slack, "%s: %r is not near now (%d)" % (what, ts, now))


def main():
    """Runs the calling module's tests; exits 0 when all pass, else 1."""
    missing = [v for v in ENV_NEEDED if not os.environ.get(v)]
    if missing:
        sys.stderr.write("%s: %s not set; run me through tests/harness/with-stack\n"
                         % (os.path.basename(sys.argv[0]), ", ".join(missing)))
        sys.exit(1)
    prog = unittest.main(module="__main__", exit=False, verbosity=2)
    sys.exit(0 if prog.result.wasSuccessful() else 1)
