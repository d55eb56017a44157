"""The Stripe test peers of levy's Stripe Connect tests, for a test to import.

    import stripemock
    peers = stripemock.start()    # stripe-stateful-mock + the recording stand-in,
                                  # both on free 127.0.0.1 ports, stopped at exit
    stripemock.configure_levy(peers, secret_key="sk_test_...", client_id="ca_...")
    ...
    peers.requests("/v1/payment_intents")    # what levy sent
    peers.script("POST", "/v1/payment_intents", ["status:429", "decline:insufficient_funds"])

- peers.api_base, peers.connect_base: the stand-in (tests/harness/stripe_standin.py),
  which levy's stripe.api_base and stripe.connect_base point at;
  peers.mock_base: stripe-stateful-mock itself, for assertions (peers.mock()).
- stripe-stateful-mock comes from tests/harness/stripe-mock/install (npm); it is
  looked for in $LEVY_STRIPE_MOCK_DIR (a directory holding node_modules/, or the
  package itself), then beside this file in stripe-mock/node_modules.  When it
  (or node) is missing, start() ends the test: exit 77 (automake's SKIP) with
  a message, or exit 1 when LEVY_REQUIRE_STRIPE_MOCK=1 (contrib/levy-dev test
  and CI set it).
- Both servers read a pipe from this process on standard input and exit when
  it closes, so they never outlive a test that was killed.  Their logs go to
  $LEVY_RUN/stripe-mock.log and $LEVY_RUN/stripe-standin.log (with-stack keeps
  the run dir of a failed test).
- openapi() and schema_errors() check any object (levy's answers too) against
  Stripe's OpenAPI description (the extract tests/harness/stripe-openapi-payment-intents.json,
  taken from shared/stripe/openapi-levy-subset.json; $LEVY_STRIPE_OPENAPI names another).

Python 3 standard library only.
"""

import atexit
import http.client
import json
import os
import secrets
import select
import shutil
import signal
import string
import subprocess
import sys
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK_PACKAGE = "stripe-stateful-mock"
B62 = string.ascii_letters + string.digits

# Runs the mock's express app on loopback only (its own cli listens on every
# interface), quiet unless STRIPEMOCK_LOG_LEVEL says otherwise, and exits when
# its standard input (a pipe from the test) closes.
_NODE_LAUNCHER = r"""
const pkg = process.env.STRIPEMOCK_PKG;
const log = require(require.resolve("loglevel", { paths: [pkg] }));
log.setLevel(process.env.STRIPEMOCK_LOG_LEVEL || "warn");
// Standard output carries only the port line: nobody reads it afterwards.
console.log = console.info = console.debug = console.error;
const app = require(pkg).createExpressApp();
const srv = app.listen(0, "127.0.0.1", () => {
  process.stdout.write("PORT " + srv.address().port + "\n");
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
"""

_started = []


def _rand(n):
    return "".join(secrets.choice(B62) for _ in range(n))


def mock_package_dir():
    """The installed stripe-stateful-mock package directory, or None."""
    cands = []
    env = os.environ.get("LEVY_STRIPE_MOCK_DIR")
    if env:
        cands += [os.path.join(env, "node_modules", MOCK_PACKAGE), env]
    cands.append(os.path.join(HERE, "stripe-mock", "node_modules", MOCK_PACKAGE))
    for c in cands:
        try:
            with open(os.path.join(c, "package.json"), encoding="utf-8") as f:
                if json.load(f).get("name") == MOCK_PACKAGE:
                    return os.path.abspath(c)
        except (OSError, ValueError):
            continue
    return None


def node_binary():
    """Node.js: $LEVY_NODE when set (and executable), else node or nodejs on PATH; or None."""
    env = os.environ.get("LEVY_NODE")
    if env:
        return env if os.path.isfile(env) and os.access(env, os.X_OK) else None
    return shutil.which("node") or shutil.which("nodejs")


def available():
    """(True, "") when the peers can start, else (False, why)."""
    if not node_binary():
        return False, "node is not installed (Debian: apt-get install nodejs npm)"
    if not mock_package_dir():
        return False, ("stripe-stateful-mock is not installed: run tests/harness/stripe-mock/install "
                       "(or set LEVY_STRIPE_MOCK_DIR)")
    return True, ""


def required():
    return os.environ.get("LEVY_REQUIRE_STRIPE_MOCK", "") == "1"


def require():
    """Ends the process unless the peers can start: 77 (skip), or 1 when they are required.

    os._exit, so that no test framework turns it into an ordinary error.
    """
    ok, why = available()
    if ok:
        return
    name = os.path.basename(sys.argv[0] or "test")
    if required():
        sys.stderr.write("%s: FAIL: %s, and LEVY_REQUIRE_STRIPE_MOCK=1\n" % (name, why))
        code = 1
    else:
        sys.stderr.write("%s: SKIP: %s\n" % (name, why))
        code = 77
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _log_file(name):
    run = os.environ.get("LEVY_RUN")
    if run and os.path.isdir(run):
        try:
            return open(os.path.join(run, name), "ab")
        except OSError:
            pass
    return None


def _read_port(proc, what, timeout=30):
    """Reads the child's "PORT n" line; raises RuntimeError when it does not come."""
    deadline = time.monotonic() + timeout
    buf = b""
    fd = proc.stdout.fileno()
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            chunk = os.read(fd, 256)
            if not chunk:
                break
            buf += chunk
            if b"\n" in buf:
                line = buf.split(b"\n", 1)[0].decode("ascii", "replace").strip()
                if line.startswith("PORT ") and line[5:].isdigit():
                    return int(line[5:])
                raise RuntimeError("%s printed %r instead of its port" % (what, line))
        elif proc.poll() is not None:
            break
    raise RuntimeError("%s did not start (exit status %s); see its log in $LEVY_RUN"
                       % (what, proc.poll()))


def _spawn(argv, env, logname, what):
    log = _log_file(logname)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=log if log is not None else None, env=env, close_fds=True)
    if log is not None:
        log.close()
    try:
        port = _read_port(proc, what)
    except RuntimeError:
        _end(proc)
        raise
    return proc, port


def _end(proc):
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.stdin.close()
    except OSError:
        pass
    try:
        proc.wait(timeout=3)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def http_request(base, method, path, body=None, headers=None, timeout=30):
    """(status, headers, decoded JSON or raw text) of one request to base."""
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            obj = data.decode("utf-8", "replace")
        return resp.status, resp.headers, obj
    finally:
        conn.close()


class Peers:
    """The two running servers.  Methods raise AssertionError when a control call fails."""

    def __init__(self, mock_proc, mock_port, standin_proc, standin_port):
        self._mock_proc = mock_proc
        self._standin_proc = standin_proc
        self.mock_base = "http://127.0.0.1:%d" % mock_port
        self.api_base = "http://127.0.0.1:%d" % standin_port
        self.connect_base = self.api_base
        # Set by configure_levy(); the stand-in then insists on them.
        self.secret_key = None
        self.client_id = None

    # ---------------------------------------------------------- the record

    def _control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        hdrs = {"Content-Type": "application/json"} if data is not None else {}
        st, _, obj = http_request(self.api_base, method, path, data, hdrs)
        if st != 200:
            raise AssertionError("stand-in %s %s: %s %r" % (method, path, st, obj))
        return obj

    def requests(self, path=None):
        """Recorded requests, oldest first: dicts with method, path, query, headers (lowercase
        names), form (the decoded form body, flat: {"metadata[levy_id]": "cus_..."}), pairs
        (the form as [name, value] in order), body, status (what was answered; 0: dropped),
        scripted (the scripted answer used, when one was), replayed (True when the answer
        was an idempotent replay), seq, time.  path filters (exact,
        or a pattern with * and ?)."""
        q = "/_standin/requests"
        if path is not None:
            q += "?" + urllib.parse.urlencode({"path": path})
        return self._control("GET", q)["requests"]

    def clear(self, scripts=True):
        """Forgets the record (and, unless scripts=False, the unused scripted answers)."""
        self._control("POST", "/_standin/clear", {"scripts": bool(scripts)})

    def script(self, method, path, answers):
        """The next answers to METHOD PATH (path may hold * and ?), used one per request:
        "ok", "delay:SECONDS", "drop", "status:NNN", "decline:CODE", or
        {"status": N, "body": {...} | "raw": "...", "headers": {...}}.  Replaces what
        was left for the same method and path."""
        self._control("POST", "/_standin/script",
                      {"method": method, "path": path, "answers": list(answers)})

    def scripts(self):
        """Scripted answers not used yet: [{"method", "path", "answers"}]."""
        return self._control("GET", "/_standin/scripts")["scripts"]

    # --------------------------------------------------------------- oauth

    def oauth_code(self, account=None, scope="read_write"):
        """A fresh authorization code, as Stripe would hand one to levy's callback.  Exchanging
        it creates a new standard account on stateful-mock, or connects `account`."""
        return self._control("POST", "/_standin/oauth/code",
                             {"account": account, "scope": scope})["code"]

    def authorize(self, url, deny=False):
        """Opens levy's authorize URL on the stand-in as a user who clicks "connect" (or
        "deny"): returns the answer's query as a dict (code, state, scope; or error,
        error_description), whether or not it redirected."""
        u = urllib.parse.urlsplit(url)
        base = "%s://%s" % (u.scheme, u.netloc)
        if base != self.connect_base:
            raise AssertionError("authorize URL %r is not on the stand-in %s" % (url, self.connect_base))
        path = u.path + ("?" + u.query if u.query else "")
        if deny:
            path += ("&" if u.query else "?") + "levy_test_deny=1"
        st, hdrs, obj = http_request(self.api_base, "GET", path)
        if st == 302:
            loc = hdrs.get("Location", "")
            return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(loc).query))
        if st != 200 or not isinstance(obj, dict):
            raise AssertionError("GET %s: %s %r" % (url, st, obj))
        return obj

    # ------------------------------------------------- direct calls (tests)

    def _call(self, base, method, path, form=None, account=None, key=None,
              idempotency_key=None, headers=None):
        hdrs = {"Authorization": "Bearer " + (key or self.secret_key or "sk_test_stripemock")}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        elif method == "POST":
            body = b""
        if account:
            hdrs["Stripe-Account"] = account
        if idempotency_key:
            hdrs["Idempotency-Key"] = idempotency_key
        hdrs.update(headers or {})
        return http_request(base, method, path, body, hdrs)

    def mock(self, method, path, form=None, account=None, key=None, idempotency_key=None,
             headers=None):
        """One request to stripe-stateful-mock itself: (status, headers, json)."""
        return self._call(self.mock_base, method, path, form, account, key, idempotency_key,
                          headers)

    def standin(self, method, path, form=None, account=None, key=None, idempotency_key=None,
                headers=None):
        """One request to the stand-in (recorded like levy's): (status, headers, json)."""
        return self._call(self.api_base, method, path, form, account, key, idempotency_key,
                          headers)

    def create_account(self):
        """A new connected (standard) account on stateful-mock: its acct_ id."""
        st, _, obj = self.mock("POST", "/v1/accounts", {"type": "standard"})
        if st != 200:
            raise AssertionError("creating an account on stateful-mock: %s %r" % (st, obj))
        return obj["id"]

    # ---------------------------------------------------------------- end

    def alive(self):
        return all(p is not None and p.poll() is None for p in (self._mock_proc, self._standin_proc))

    def stop(self):
        _end(self._standin_proc)
        _end(self._mock_proc)


def start():
    """Starts stripe-stateful-mock and the stand-in on free 127.0.0.1 ports; returns Peers.

    Ends the process (77 or 1, see require()) when the mock is not installed."""
    require()
    pkg = mock_package_dir()
    env = dict(os.environ, STRIPEMOCK_PKG=pkg)
    mock_proc, mock_port = _spawn([node_binary(), "-e", _NODE_LAUNCHER], env, "stripe-mock.log",
                                  "stripe-stateful-mock")
    try:
        standin_proc, standin_port = _spawn(
            [sys.executable, os.path.join(HERE, "stripe_standin.py"),
             "--mock", "http://127.0.0.1:%d" % mock_port, "--exit-on-stdin-eof"],
            dict(os.environ), "stripe-standin.log", "the Stripe stand-in")
    except RuntimeError:
        _end(mock_proc)
        raise
    peers = Peers(mock_proc, mock_port, standin_proc, standin_port)
    _started.append(peers)
    return peers


@atexit.register
def _stop_all():
    while _started:
        _started.pop().stop()


# ---------------------------------------------------------------- levy

_BEGIN = "# stripemock: begin (written by tests/harness/stripemock.py)"
_END = "# stripemock: end"


def _conf_str(s):
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def configure_levy(peers, secret_key=None, client_id=None, timeout_ms=5000,
                   oauth_redirect_uri=None, reload=True):
    """Points levy at the peers: writes a `stripe = {...}` group at the end of LEVY_CONF
    (replacing one this function wrote before) and reloads levy-fcgi (SIGHUP), waiting
    until the workers of the new configuration answer.  secret_key / client_id default
    to fresh random sk_test_ / ca_ values.  The stand-in then accepts only that key (and
    that client id on OAuth).  Returns peers, with .secret_key and .client_id set."""
    secret_key = secret_key or "sk_test_" + _rand(24)
    client_id = client_id or "ca_" + _rand(32)
    peers._control("POST", "/_standin/config", {"secret_key": secret_key, "client_id": client_id})
    peers.secret_key = secret_key
    peers.client_id = client_id

    conf = os.environ.get("LEVY_CONF")
    if not conf:
        raise AssertionError("LEVY_CONF is not set: run the test under tests/harness/with-stack")
    with open(conf, encoding="utf-8") as f:
        text = f.read()
    b = text.find(_BEGIN)
    if b >= 0:
        e = text.find(_END, b)
        text = text[:b] + (text[e + len(_END):].lstrip("\n") if e >= 0 else "")
    lines = [
        _BEGIN,
        "stripe = {",
        "  api_base = %s;" % _conf_str(peers.api_base),
        "  connect_base = %s;" % _conf_str(peers.connect_base),
        "  secret_key = %s;" % _conf_str(secret_key),
        "  client_id = %s;" % _conf_str(client_id),
        "  timeout_ms = %d;" % int(timeout_ms),
    ]
    if oauth_redirect_uri is not None:
        lines.append("  oauth_redirect_uri = %s;" % _conf_str(oauth_redirect_uri))
    lines += ["};", _END, ""]
    if text and not text.endswith("\n"):
        text += "\n"
    tmp = conf + ".stripemock"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n".join(lines))
    os.replace(tmp, conf)
    if reload:
        reload_levy()
    return peers


def _children(pid):
    out = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        rest = stat.rsplit(")", 1)[-1].split()
        if len(rest) > 1 and rest[1] == str(pid):
            out.add(int(name))
    return out


def levy_master_pid():
    pidfile = os.environ.get("LEVY_FCGI_PIDFILE")
    if not pidfile:
        raise AssertionError("LEVY_FCGI_PIDFILE is not set: run the test under tests/harness/with-stack")
    with open(pidfile, encoding="ascii") as f:
        return int(f.read().split()[0])


def reload_levy(timeout=60):
    """SIGHUP to levy-fcgi's master; returns once every worker is of the new configuration
    and a request through nginx is answered.  Raises AssertionError when levy keeps its
    old configuration (the new one did not load) or the reload does not finish."""
    pid = levy_master_pid()
    old = _children(pid)
    logpath = os.environ.get("LEVY_FCGI_LOG")
    offset = os.path.getsize(logpath) if logpath and os.path.exists(logpath) else None
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while True:
        if offset is not None:
            with open(logpath, "rb") as f:
                f.seek(offset)
                new = f.read().decode("utf-8", "replace")
            for line in new.splitlines():
                if "keeping the running configuration" in line:
                    raise AssertionError("levy-fcgi refused the new configuration: %s" % line.strip())
        now = _children(pid)
        if now and not (now & old):
            break
        if time.monotonic() > deadline:
            raise AssertionError("levy-fcgi's reload did not finish in %d s (old workers %s, now %s)"
                                 % (timeout, sorted(old), sorted(now)))
        time.sleep(0.05)
    _wait_levy_answers(deadline)


def _wait_levy_answers(deadline):
    url = os.environ.get("LEVY_URL")
    if not url:
        return
    while True:
        try:
            st, _, _ = http_request(url, "GET", "/api/v1/auth/tenants/verify/", timeout=5)
            if st not in (502, 504):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("levy does not answer after the reload")
        time.sleep(0.05)


# ------------------------------------------------------ Stripe's OpenAPI schema

def find_openapi():
    """The path of Stripe's OpenAPI description: $LEVY_STRIPE_OPENAPI when set (None when
    that file is missing), else the extract kept beside this file
    (stripe-openapi-payment-intents.json: what the peers' answers are checked against)."""
    env = os.environ.get("LEVY_STRIPE_OPENAPI")
    if env:
        return env if os.path.isfile(env) else None
    return os.path.join(HERE, "stripe-openapi-payment-intents.json")


_openapi = []


def openapi():
    """Stripe's OpenAPI description (a dict, loaded once), or None when not found."""
    if not _openapi:
        path = find_openapi()
        spec = None
        if path:
            with open(path, encoding="utf-8") as f:
                spec = json.load(f)
        _openapi.append(spec)
    return _openapi[0]


_TYPES = {"string": str, "integer": int, "boolean": bool, "number": (int, float), "array": list,
          "object": dict}


def _resolve(spec, s):
    while "$ref" in s:
        s = spec["components"]["schemas"][s["$ref"].rsplit("/", 1)[1]]
    return s


def schema_errors(spec, schema, value, where="$"):
    """Where `value` breaks the OpenAPI schema: required fields, types, enums, nullability,
    maxLength, and no field the schema does not name."""
    errs = []
    _walk(spec, schema, value, where, errs)
    return errs


def _walk(spec, s, v, where, errs):
    s = _resolve(spec, s)
    if v is None:
        if not s.get("nullable"):
            errs.append("%s: null, but not nullable" % where)
        return
    if "anyOf" in s:
        subs = []
        for alt in s["anyOf"]:
            sub = []
            _walk(spec, alt, v, where, sub)
            if not sub:
                return
            subs.append(sub)
        if len(subs) == 1:
            errs.extend(subs[0])  # a nullable reference: its own reasons say more
        else:
            errs.append("%s: %r matches no alternative of anyOf (%s)"
                        % (where, v, "; ".join(e for sub in subs for e in sub)))
        return
    t = s.get("type")
    if t:
        if not isinstance(v, _TYPES[t]) or (t in ("integer", "number") and isinstance(v, bool)):
            errs.append("%s: %r is not of type %s" % (where, v, t))
            return
    if "enum" in s and v not in s["enum"]:
        errs.append("%s: %r not in enum %s" % (where, v, s["enum"]))
    if isinstance(v, str) and "maxLength" in s and len(v) > s["maxLength"]:
        errs.append("%s: longer than %d" % (where, s["maxLength"]))
    if isinstance(v, list) and "items" in s:
        for i, x in enumerate(v):
            _walk(spec, s["items"], x, "%s[%d]" % (where, i), errs)
    if isinstance(v, dict) and ("properties" in s or "additionalProperties" in s):
        props = s.get("properties", {})
        for r in s.get("required", []):
            if r not in v:
                errs.append("%s: required field %s is missing" % (where, r))
        extra = s.get("additionalProperties")
        for k, x in v.items():
            if k in props:
                _walk(spec, props[k], x, "%s.%s" % (where, k), errs)
            elif isinstance(extra, dict):
                _walk(spec, extra, x, "%s.%s" % (where, k), errs)
            elif extra is not True:
                errs.append("%s: field %s is not in the schema" % (where, k))


def schema_ref(name):
    """{"$ref": ...} to components.schemas.NAME, for schema_errors()."""
    return {"$ref": "#/components/schemas/" + name}

