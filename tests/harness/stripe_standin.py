#!/usr/bin/env python3
"""The recording Stripe stand-in that levy talks to in the Stripe Connect tests.

levy's stripe.api_base and stripe.connect_base both point here.  It records
every request, answers what stripe-stateful-mock lacks (PaymentIntents, the
Connect OAuth endpoints) in Stripe's own shapes, making the money move on
stateful-mock underneath, and proxies every other path to stateful-mock
unchanged.  Tests script the next answers of a path (429, 500, a decline, a
delay, a dropped connection) and read the record through /_standin/...
(tests/harness/stripemock.py wraps all of it).  Python 3 standard library only.

What stripe-stateful-mock 0.0.16 does (read from its code and seen with curl
on 127.0.0.1; the stand-in's own answers keep to what real Stripe does):

- Start: `node dist/cli.js` listens on every interface (PORT, default 8000);
  stripemock.py instead calls its createExpressApp() and listens on
  127.0.0.1 only.  Bodies: form-encoded only (a JSON body is ignored).
- Keys: any "Bearer sk_test_..." (or HTTP Basic with it as the user) is
  accepted; no key, or anything else (sk_live_ too), is 401
  invalid_request_error.  Nothing ties a key to an account.
- Accounts: without Stripe-Account a request acts on "acct_default".
  POST /v1/accounts (type=standard, optional id=acct_...) creates a
  connected account named acct_ + 16 base62 characters.  A Stripe-Account
  naming an account it never created answers 403 invalid_request_error
  code account_invalid ("... does not have access to account ...").  Each
  account's customers, charges, refunds and idempotency keys are its own: a
  customer made on acct_A is a 404 on acct_B and on the default account.
  DELETE /v1/accounts/{id} removes one.
- Customers: create, retrieve, update, list (email filter); no DELETE
  (404 "No matching path").  name and phone are NOT stored on create (they
  come back null); email, description and metadata are.  The customer's
  `sources` list is hidden unless expand[]=sources.
- POST /v1/customers/{id}/sources source=tok_...: tok_visa (4242, Visa),
  tok_mastercard, tok_amex, tok_chargeCustomerFail (0341: attaches, 200)...
  give a card_ id (card_ + 24); the first becomes default_source.
  tok_chargeDeclined answers 402 card_error code card_declined decline_code
  generic_decline (tok_chargeDeclinedInsufficientFunds: insufficient_funds;
  ..IncorrectCvc / ..ExpiredCard: code incorrect_cvc / expired_card), BUT
  the declined card stays in the customer's sources (a quirk; real Stripe
  keeps nothing).  On customer create with source=tok_chargeDeclined the
  402 comes and the customer is not kept.  An unknown token is a 500 whose
  body is {"message", "stack"}, not Stripe's error shape.  Fingerprints are
  random per card, so one card number attached twice gets two.
- POST /v1/charges amount, currency, customer, source=card_...: 200 charge
  status succeeded; its `customer` is null (quirk, so GET
  /v1/charges?customer= finds nothing), application_fee_amount null whatever
  was sent, payment_method a fresh random card_ (source.id is the card).  A
  card from tok_chargeDeclined or tok_chargeCustomerFail: 402 card_error
  with error.charge = the failed charge (status failed, kept and listed).
  A source the customer lacks: 404 code "missing" param source; no source
  and no default: 404 card_error "Cannot charge a customer that has no
  active card".  amount under 50 (usd): 400 amount_too_small.  Without a
  customer, source=tok_visa charges the token; tok_429 / tok_500 answer 429
  rate_limit_error / 500 api_error.
- POST /v1/refunds charge, amount (optional): partial and full refunds; more
  than the rest: 400 param amount; again after a full refund: 400
  charge_already_refunded.  Other parameters (refund_application_fee,
  metadata) are accepted; metadata is kept.
- Idempotency-Key: per (account, method, path, key).  A repeat with an
  equal (deep-equal, decoded) body replays status and body with headers
  idempotent-replayed: true and original-request; a different body answers
  400 idempotency_error.  Every status but 401 and 429 is stored, 402 and
  500 included (real Stripe stores 5xx too).  The same key on another
  account or path is a new request.
- Lists all carry url "/v1/refunds" (quirk).  No payment_intents,
  payment_methods, invoices or oauth (404 "No matching path").

What the stand-in answers itself (everything else goes to stateful-mock):
- POST /v1/payment_intents: Stripe's parameters (an unknown one is 400
  parameter_unknown); with confirm=true it charges on stateful-mock
  (POST /v1/charges customer, source=payment_method, amount, currency,
  description, metadata, capture; Authorization, Stripe-Account,
  Stripe-Version and Idempotency-Key passed through) and answers the
  PaymentIntent: succeeded with latest_charge = the charge, or for a
  decline 402 card_error with error.payment_intent (status
  requires_payment_method, last_payment_error) and error.charge, as Stripe.
  A repeated Idempotency-Key on the same account replays the stored answer
  (200 and 402) with Idempotent-Replayed: true; other parameters: 400
  idempotency_error; the same key while the first is running: 409.
  GET /v1/payment_intents/{id} retrieves one (per account).
- GET /oauth/authorize (as a user who clicks "connect": 302 to redirect_uri
  with code and state, or JSON without one), POST /oauth/token
  (grant_type=authorization_code: creates a standard account on
  stateful-mock, answers Stripe's token JSON; unknown or used code: 400
  invalid_grant), POST /oauth/deauthorize (client_id, stripe_user_id).
  Both check the Bearer secret key (401 invalid_client).  After a
  deauthorize, any request with that Stripe-Account answers 403
  account_invalid, as Stripe does once access is revoked.
- Scripted answers (first match wins, consumed one by one), per
  (method, path) where path may hold * and ? wildcards:
    "ok"               handle normally
    "delay:SECONDS"    wait, then handle normally (a client timeout)
    "drop"             close the connection without an answer
    "status:NNN"       Stripe's error body for that status (429: code
                       rate_limit; 5xx: api_error); never stored for
                       idempotency, so a retry with the same key goes on
    "decline:CODE"     402 card_error decline_code CODE (on
                       POST /v1/payment_intents with a PaymentIntent in
                       requires_payment_method, stored like a real decline;
                       no charge is made on stateful-mock)
    {"status": N, "body": {...} | "raw": "text", "headers": {...}}
- Control (JSON, never recorded): GET /_standin/health, GET
  /_standin/requests[?path=P], POST /_standin/clear {"scripts": bool},
  POST /_standin/script {"method", "path", "answers"}, GET
  /_standin/scripts, POST /_standin/config {"secret_key", "client_id"},
  POST /_standin/oauth/code {"account", "scope"} -> {"code"}.

Usage: stripe_standin.py --mock http://127.0.0.1:PORT [--port 0]
[--exit-on-stdin-eof]; it prints "PORT <n>" once it listens on 127.0.0.1.
"""

import argparse
import base64
import fnmatch
import http.client
import http.server
import json
import secrets
import socket
import string
import sys
import threading
import time
import urllib.parse

B62 = string.ascii_letters + string.digits
MAX_BODY = 1 << 20
MAX_RECORD = 20000

# The top-level parameters of POST /v1/payment_intents in Stripe's API
# (2023-08-16; test_stripe_peers.py checks them against the OpenAPI file).
PI_CREATE_PARAMS = frozenset((
    "amount", "application_fee_amount", "automatic_payment_methods", "capture_method", "confirm",
    "confirmation_method", "currency", "customer", "description", "error_on_requires_action",
    "expand", "mandate", "mandate_data", "metadata", "off_session", "on_behalf_of",
    "payment_method", "payment_method_data", "payment_method_options", "payment_method_types",
    "radar_options", "receipt_email", "return_url", "setup_future_usage", "shipping",
    "statement_descriptor", "statement_descriptor_suffix", "transfer_data", "transfer_group",
    "use_stripe_sdk"))

HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                        "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host",
                        "content-length", "expect"))

DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "lost_card": "Your card was declined.",
    "stolen_card": "Your card was declined.",
    "fraudulent": "Your card was declined.",
    "card_velocity_exceeded": "Your card has exceeded its velocity limit.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
}
# Decline codes that Stripe also gives as the error's code.
OWN_CODE_DECLINES = frozenset(("expired_card", "incorrect_cvc", "processing_error"))


def rand_id(prefix, n=24):
    return prefix + "".join(secrets.choice(B62) for _ in range(n))


def doc_url(code):
    return "https://stripe.com/docs/error-codes/" + code.replace("_", "-")


def stripe_error(type_, message, code=None, param=None, **extra):
    err = {"type": type_, "message": message}
    if code:
        err["code"] = code
        err["doc_url"] = doc_url(code)
    if param is not None:
        err["param"] = param
    err.update(extra)
    return {"error": err}


def scripted_error(status):
    """Stripe's error body for a scripted status."""
    if status == 429:
        return stripe_error("invalid_request_error",
                            "Request rate limit exceeded. Learn more about rate limits here "
                            "https://stripe.com/docs/rate-limits.", code="rate_limit")
    if status >= 500:
        return stripe_error("api_error", "Sorry, something went wrong. We've already been notified "
                            "of the problem, but if you need any help, you can reach us at "
                            "support.stripe.com/contact.")
    if status == 402:
        return decline_error("generic_decline")
    if status == 401:
        return stripe_error("invalid_request_error", "Invalid API Key provided: sk_test_****")
    if status == 404:
        return stripe_error("invalid_request_error", "No such object.", code="resource_missing")
    if status == 409:
        return stripe_error("idempotency_error", "There is currently another in-progress request "
                            "using this Idempotent Key.", code="idempotency_key_in_use")
    return stripe_error("invalid_request_error", "Scripted error (status %d)." % status)


def decline_error(decline_code, **extra):
    code = decline_code if decline_code in OWN_CODE_DECLINES else "card_declined"
    message = DECLINE_MESSAGES.get(decline_code, "Your card was declined.")
    body = stripe_error("card_error", message, code=code, decline_code=decline_code, **extra)
    return body


def censor(key):
    if len(key) <= 12:
        return "*" * len(key)
    return key[:8] + "*" * (len(key) - 12) + key[-4:]


def parse_script_item(item):
    """Validates one scripted answer; returns it normalized, or raises ValueError."""
    if isinstance(item, dict):
        st = item.get("status")
        if not isinstance(st, int) or not 100 <= st <= 599:
            raise ValueError("a scripted answer object needs an integer status: %r" % (item,))
        if "raw" in item and not isinstance(item["raw"], str):
            raise ValueError("raw must be a string: %r" % (item,))
        hdrs = item.get("headers", {})
        if not isinstance(hdrs, dict) or not all(isinstance(v, str) for v in hdrs.values()):
            raise ValueError("headers must map names to strings: %r" % (item,))
        return item
    if not isinstance(item, str):
        raise ValueError("a scripted answer is a string or an object: %r" % (item,))
    if item in ("ok", "drop"):
        return item
    kind, _, arg = item.partition(":")
    if kind == "status" and arg.isdigit() and 100 <= int(arg) <= 599:
        return item
    if kind == "delay":
        try:
            if 0 <= float(arg) <= 600:
                return item
        except ValueError:
            pass
    if kind == "decline" and arg and all(c in string.ascii_lowercase + "_" for c in arg):
        return item
    raise ValueError("unknown scripted answer %r (ok, drop, delay:S, status:NNN, decline:CODE)"
                     % (item,))


class State:
    """Everything the stand-in remembers; one lock guards it all."""

    def __init__(self, mock_host, mock_port):
        self.mock_host = mock_host
        self.mock_port = mock_port
        self.lock = threading.Lock()
        self.record = []
        self.seq = 0
        self.scripts = []          # [method, pattern, [answers]] in order of creation
        self.intents = {}          # (account, pi id) -> PaymentIntent
        self.idem = {}             # (account, key) -> {"params", "status", "body", "request_id"}
        self.inflight = set()      # (account, key)
        self.codes = {}            # code -> {"account", "scope", "used", "client_id"}
        self.connected = {}        # acct -> client_id
        self.revoked = set()
        self.secret_key = None     # None: any sk_test_/sk_live_ key
        self.client_id = None      # None: any ca_ id

    def next_script(self, method, path):
        with self.lock:
            for entry in self.scripts:
                if entry[0] == method and entry[1] == path and entry[2]:
                    return entry[2].pop(0)
            for entry in self.scripts:
                if entry[0] == method and entry[2] and any(c in entry[1] for c in "*?[") \
                        and fnmatch.fnmatchcase(path, entry[1]):
                    return entry[2].pop(0)
        return None


def form_pairs(body, ctype):
    if not body or not ctype.lower().startswith("application/x-www-form-urlencoded"):
        return []
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return urllib.parse.parse_qsl(text, keep_blank_values=True)


def bracket_dict(pairs, name):
    """metadata[k]=v pairs -> {k: v}, or None when absent."""
    out = None
    prefix = name + "["
    for k, v in pairs:
        if k.startswith(prefix) and k.endswith("]") and "[" not in k[len(prefix):-1]:
            out = out if out is not None else {}
            out[k[len(prefix):-1]] = v
        elif k == name and v == "":
            out = out if out is not None else {}
    return out


def bracket_list(pairs, name):
    """x[0]=a&x[1]=b or x[]=a&x[]=b -> [a, b] (by index order), or None."""
    items = []
    prefix = name + "["
    for pos, (k, v) in enumerate(pairs):
        if k.startswith(prefix) and k.endswith("]"):
            idx = k[len(prefix):-1]
            if idx == "":
                items.append((1 << 30, pos, v))
            elif idx.isdigit():
                items.append((int(idx), pos, v))
    if not items:
        return None
    return [v for _, _, v in sorted(items)]


def truthy(v):
    return v is not None and v.lower() == "true"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "stripe-standin/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet: the record is the log
        pass

    # ------------------------------------------------------------ plumbing

    @property
    def state(self):
        return self.server.state

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ValueError("truncated chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise OverflowError()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise OverflowError()
        return self.rfile.read(n) if n > 0 else b""

    def send(self, status, obj=None, headers=None, raw=None, ctype=None):
        if raw is not None:
            data = raw if isinstance(raw, bytes) else raw.encode("utf-8")
            ctype = ctype or "text/plain; charset=utf-8"
        else:
            data = json.dumps(obj, indent=2).encode("utf-8")
            ctype = ctype or "application/json"
        if self.entry is not None:
            self.entry["status"] = status
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        hdrs = {"Request-Id": rand_id("req_", 14)}
        sv = self.headers.get("Stripe-Version")
        if sv:
            hdrs["Stripe-Version"] = sv
        hdrs.update(headers or {})
        if self.entry is not None and any(k.lower() == "idempotent-replayed" and v == "true"
                                          for k, v in hdrs.items()):
            self.entry["replayed"] = True
        for k, v in hdrs.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def drop(self):
        if self.entry is not None:
            self.entry["status"] = 0
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def do_GET(self):
        self.dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_GET

    def dispatch(self):
        self.entry = None
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        try:
            body = self.read_body()
        except OverflowError:
            self.close_connection = True
            return self.send(413, stripe_error("invalid_request_error", "Request body too large."))
        except ValueError:
            self.close_connection = True
            return self.send(400, stripe_error("invalid_request_error", "Malformed request body."))
        if path.startswith("/_standin/"):
            return self.control(path, url.query, body)

        ctype = self.headers.get("Content-Type") or ""
        pairs = form_pairs(body, ctype)
        hdrs = {}
        for k, v in self.headers.items():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        entry = {
            "method": self.command, "path": path,
            "query": dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True)),
            "headers": hdrs, "form": dict(pairs), "pairs": [list(p) for p in pairs],
            "body": body.decode("utf-8", "replace"), "time": time.time(), "status": None,
            # Which TCP connection it came on: levy keeps one per process.
            "peer": "%s:%d" % self.client_address[:2],
        }
        st = self.state
        with st.lock:
            st.seq += 1
            entry["seq"] = st.seq
            st.record.append(entry)
            del st.record[:-MAX_RECORD]
        self.entry = entry

        forced_decline = None
        answer = st.next_script(self.command, path)
        if answer is not None:
            entry["scripted"] = answer
            if isinstance(answer, dict):
                hd = dict(answer.get("headers") or {})
                if "raw" in answer:
                    return self.send(answer["status"], raw=answer["raw"], headers=hd,
                                     ctype=hd.pop("Content-Type", None))
                return self.send(answer["status"], answer.get("body", {}), headers=hd)
            kind, _, arg = answer.partition(":")
            if kind == "drop":
                return self.drop()
            if kind == "status":
                return self.send(int(arg), scripted_error(int(arg)))
            if kind == "delay":
                time.sleep(float(arg))
            if kind == "decline":
                if not (self.command == "POST" and path.rstrip("/") == "/v1/payment_intents"):
                    return self.send(402, decline_error(arg))
                forced_decline = arg

        try:
            if path.startswith("/oauth/"):
                return self.oauth(path, url.query, pairs)
            account = self.headers.get("Stripe-Account")
            if not self.check_key(oauth=False):
                return
            if account:
                with st.lock:
                    revoked = account in st.revoked
                if revoked:
                    return self.send(403, stripe_error(
                        "invalid_request_error",
                        "The provided key '%s' does not have access to account '%s' (or that "
                        "account does not exist). Application access may have been revoked."
                        % (censor(self.bearer() or ""), account), code="account_invalid"))
            p = path.rstrip("/")
            if p == "/v1/payment_intents" and self.command == "POST":
                return self.create_intent(account, pairs, forced_decline)
            if p.startswith("/v1/payment_intents/") and p.count("/") == 3 and self.command == "GET":
                return self.retrieve_intent(account, p.rsplit("/", 1)[1])
            return self.proxy(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:  # a bug here must show as an answer, not as a hang
            import traceback
            traceback.print_exc()
            self.close_connection = True
            try:
                self.send(500, stripe_error("api_error", "stand-in bug: %r" % (e,)))
            except OSError:
                pass

    # --------------------------------------------------------------- keys

    def bearer(self):
        auth = self.headers.get("Authorization") or ""
        if auth.startswith("Bearer "):
            return auth[7:].strip()
        if auth.startswith("Basic "):
            try:
                return base64.b64decode(auth[6:]).decode("utf-8").split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                return None
        return None

    def key_ok(self, key):
        if not key:
            return False
        want = self.state.secret_key
        if want is not None:
            return secrets.compare_digest(key.encode(), want.encode())
        return key.startswith(("sk_test_", "sk_live_"))

    def check_key(self, oauth):
        """Answers 401 (Stripe's shape for the API or for OAuth) unless the key is right."""
        key = self.bearer()
        if self.key_ok(key):
            return True
        if oauth:
            desc = "No API key provided." if not key else "No such API key: %s" % censor(key)
            self.send(401, {"error": "invalid_client", "error_description": desc})
        elif not key:
            self.send(401, stripe_error(
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY')."))
        else:
            self.send(401, stripe_error("invalid_request_error",
                                        "Invalid API Key provided: %s" % censor(key)))
        return False

    # ---------------------------------------------------- stateful-mock calls

    def mock_call(self, method, path, body=b"", headers=None):
        """(status, headers list, body bytes) from stateful-mock; raises OSError."""
        st = self.state
        conn = http.client.HTTPConnection(st.mock_host, st.mock_port, timeout=60)
        try:
            hdrs = dict(headers or {})
            if body or method in ("POST", "PUT", "PATCH"):
                hdrs["Content-Length"] = str(len(body))
            conn.request(method, path, body=body or None, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def proxy(self, body):
        hdrs = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            status, rh, data = self.mock_call(self.command, self.path, body, hdrs)
        except OSError as e:
            return self.send(502, stripe_error("api_error",
                                               "stand-in: stripe-stateful-mock unreachable: %s" % e))
        out = {}
        ctype = None
        for k, v in rh:
            kl = k.lower()
            if kl in HOP_BY_HOP or kl in ("date", "x-powered-by", "etag"):
                continue
            if kl == "content-type":
                ctype = v
                continue
            out[k] = v
        if "request-id" not in {k.lower() for k in out}:
            out["Request-Id"] = rand_id("req_", 14)
        return self.send(status, raw=data, headers=out, ctype=ctype or "application/json")

    # ------------------------------------------------------ payment intents

    def create_intent(self, account, pairs, forced_decline):
        st = self.state
        key = self.headers.get("Idempotency-Key")
        params = sorted(pairs)
        slot = (account or "", key)
        if key is not None:
            with st.lock:
                stored = st.idem.get(slot)
                busy = slot in st.inflight
                if stored is None and not busy:
                    st.inflight.add(slot)
            if stored is not None:
                if stored["params"] != params:
                    return self.send(400, stripe_error(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same parameters "
                        "they were first used with. Try using a key other than '%s' if you meant "
                        "to execute a different request." % key))
                return self.send(stored["status"], stored["body"],
                                 headers={"Idempotent-Replayed": "true",
                                          "Original-Request": stored["request_id"]})
            if busy:
                return self.send(409, scripted_error(409))
        try:
            status, body = self.make_intent(account, pairs, forced_decline)
            rid = rand_id("req_", 14)
            if key is not None and status in (200, 402):
                with st.lock:
                    st.idem[slot] = {"params": params, "status": status, "body": body,
                                     "request_id": rid}
        finally:
            # Free the key before answering: a client's next request may come at once.
            if key is not None:
                with st.lock:
                    st.inflight.discard(slot)
        return self.send(status, body, headers={"Request-Id": rid})

    def make_intent(self, account, pairs, forced_decline):
        """(status, body) of creating a PaymentIntent; declines and errors as Stripe's."""
        flat = dict(pairs)
        for k, _ in pairs:
            top = k.split("[", 1)[0]
            if top not in PI_CREATE_PARAMS:
                return 400, stripe_error("invalid_request_error",
                                         "Received unknown parameter: %s" % k,
                                         code="parameter_unknown", param=k)
        for name in ("amount", "currency"):
            if not flat.get(name):
                return 400, stripe_error("invalid_request_error",
                                         "Missing required param: %s." % name,
                                         code="parameter_missing", param=name)
        amount = flat["amount"]
        if not amount.isdigit() or int(amount) < 1:
            return 400, stripe_error("invalid_request_error", "Invalid positive integer",
                                     code="parameter_invalid_integer", param="amount")
        amount = int(amount)
        currency = flat["currency"].lower()
        if len(currency) != 3 or not currency.isalpha():
            return 400, stripe_error("invalid_request_error", "Invalid currency: %s." % currency,
                                     code="parameter_invalid", param="currency")
        fee = flat.get("application_fee_amount")
        if fee is not None:
            if not fee.isdigit():
                return 400, stripe_error("invalid_request_error", "Invalid integer: %s" % fee,
                                         code="parameter_invalid_integer",
                                         param="application_fee_amount")
            fee = int(fee)
            if not account and "transfer_data[destination]" not in flat:
                return 400, stripe_error(
                    "invalid_request_error",
                    "Can only apply an application_fee_amount when the PaymentIntent is attempting "
                    "a direct payment (using an OAuth key or Stripe-Account header) or destination "
                    "payment (using `transfer_data[destination]`).",
                    param="application_fee_amount")
            if fee > amount:
                return 400, stripe_error(
                    "invalid_request_error",
                    "The application fee amount must be less than or equal to the amount.",
                    code="parameter_invalid_integer", param="application_fee_amount")
        confirm = truthy(flat.get("confirm"))
        if "off_session" in flat and flat["off_session"] not in ("true", "false", "one_off",
                                                                  "recurring"):
            return 400, stripe_error("invalid_request_error", "Invalid boolean: %s"
                                     % flat["off_session"], code="parameter_invalid",
                                     param="off_session")
        if flat.get("off_session") not in (None, "false") and not confirm:
            return 400, stripe_error("invalid_request_error",
                                     "`off_session` can only be used with `confirm=true`.",
                                     param="off_session")
        capture_method = flat.get("capture_method", "automatic")
        if capture_method not in ("automatic", "automatic_async", "manual"):
            return 400, stripe_error("invalid_request_error", "Invalid capture_method",
                                     code="parameter_invalid", param="capture_method")
        pm_types = bracket_list(pairs, "payment_method_types") or ["card"]
        metadata = bracket_dict(pairs, "metadata") or {}
        customer = flat.get("customer") or None
        pm = flat.get("payment_method") or None
        bearer = self.bearer() or ""
        pi = {
            "id": rand_id("pi_"), "object": "payment_intent", "amount": amount,
            "amount_capturable": 0, "amount_details": {"tip": {}}, "amount_received": 0,
            "application": (self.state.client_id or "ca_standin") if account else None,
            "application_fee_amount": fee, "automatic_payment_methods": None,
            "canceled_at": None, "cancellation_reason": None, "capture_method": capture_method,
            "client_secret": None, "confirmation_method": flat.get("confirmation_method", "automatic"),
            "created": int(time.time()), "currency": currency, "customer": customer,
            "description": flat.get("description") or None, "invoice": None,
            "last_payment_error": None, "latest_charge": None,
            "livemode": bearer.startswith("sk_live_"), "metadata": metadata, "next_action": None,
            "on_behalf_of": None, "payment_method": pm,
            "payment_method_options": {"card": {"installments": None, "mandate_options": None,
                                                "network": None,
                                                "request_three_d_secure": "automatic"}},
            "payment_method_types": pm_types, "processing": None,
            "receipt_email": flat.get("receipt_email") or None, "review": None,
            "setup_future_usage": flat.get("setup_future_usage") or None, "shipping": None,
            "statement_descriptor": flat.get("statement_descriptor") or None,
            "statement_descriptor_suffix": flat.get("statement_descriptor_suffix") or None,
            "status": "requires_payment_method", "transfer_data": None,
            "transfer_group": flat.get("transfer_group") or None,
        }
        pi["client_secret"] = pi["id"] + "_secret_" + rand_id("", 25)
        if pi["confirmation_method"] not in ("automatic", "manual"):
            return 400, stripe_error("invalid_request_error", "Invalid confirmation_method",
                                     code="parameter_invalid", param="confirmation_method")

        if not confirm:
            pi["status"] = "requires_confirmation" if pm else "requires_payment_method"
            return 200, self.keep_intent(account, pi)

        if forced_decline is not None:
            err = decline_error(forced_decline)["error"]
            return 402, self.declined(account, pi, err, None)

        charge = [("amount", str(amount)), ("currency", currency)]
        if customer:
            charge.append(("customer", customer))
        if pm:
            charge.append(("source", pm))
        if pi["description"]:
            charge.append(("description", pi["description"]))
        for k, v in metadata.items():
            charge.append(("metadata[%s]" % k, v))
        if capture_method == "manual":
            charge.append(("capture", "false"))
        hdrs = {"Content-Type": "application/x-www-form-urlencoded"}
        for name in ("Authorization", "Stripe-Account", "Stripe-Version", "Idempotency-Key"):
            if self.headers.get(name):
                hdrs[name] = self.headers[name]
        try:
            status, _, data = self.mock_call("POST", "/v1/charges",
                                             urllib.parse.urlencode(charge).encode(), hdrs)
            answer = json.loads(data.decode("utf-8"))
        except (OSError, ValueError) as e:
            return 500, stripe_error("api_error",
                                     "stand-in: no usable answer from stripe-stateful-mock: %s" % e)
        if status == 200:
            pi["latest_charge"] = answer["id"]
            if capture_method == "manual":
                pi["status"] = "requires_capture"
                pi["amount_capturable"] = amount
            else:
                pi["status"] = "succeeded"
                pi["amount_received"] = amount
            return 200, self.keep_intent(account, pi)
        err = answer.get("error") if isinstance(answer, dict) else None
        if not isinstance(err, dict):
            return 500, stripe_error("api_error", "stand-in: stripe-stateful-mock answered %d: %s"
                                     % (status, data[:200].decode("utf-8", "replace")))
        if status == 402 and err.get("type") == "card_error":
            out = {k: v for k, v in err.items() if k in ("code", "decline_code", "message", "param",
                                                         "doc_url", "type")}
            if not out.get("param"):
                out.pop("param", None)
            if err.get("charge"):
                out["charge"] = err["charge"]
            return 402, self.declined(account, pi, out, err.get("charge"))
        if status == 404 and err.get("param") == "customer":
            return 400, stripe_error("invalid_request_error", "No such customer: '%s'" % customer,
                                     code="resource_missing", param="customer")
        if status == 404 and err.get("param") == "source":
            return 400, stripe_error("invalid_request_error", "No such PaymentMethod: '%s'" % pm,
                                     code="resource_missing", param="payment_method")
        if status == 404 and err.get("param") == "card":
            return 400, stripe_error(
                "invalid_request_error",
                "You cannot confirm this PaymentIntent because it's missing a payment method. "
                "To confirm the PaymentIntent with %s, specify a payment method attached to this "
                "customer along with the customer ID." % (customer or "a customer"),
                code="payment_intent_unexpected_state", param="payment_method")
        # 400 (amount_too_small...), 401, 403, 429, 5xx: Stripe's own errors, passed on.
        return status, {"error": err}

    def declined(self, account, pi, err, charge_id):
        """The 402 body of a declined confirmation; the intent is kept as Stripe keeps it."""
        pi["status"] = "requires_payment_method"
        pi["latest_charge"] = charge_id
        pi["last_payment_error"] = dict(err)
        self.keep_intent(account, pi)
        body = {"error": dict(err)}
        body["error"]["payment_intent"] = pi
        body["error"]["request_log_url"] = "https://dashboard.stripe.com/test/logs/" + rand_id("req_", 14)
        return body

    def keep_intent(self, account, pi):
        with self.state.lock:
            self.state.intents[(account or "", pi["id"])] = pi
        return pi

    def retrieve_intent(self, account, pi_id):
        with self.state.lock:
            pi = self.state.intents.get((account or "", pi_id))
        if pi is None:
            return self.send(404, stripe_error("invalid_request_error",
                                               "No such payment_intent: '%s'" % pi_id,
                                               code="resource_missing", param="intent"))
        return self.send(200, pi)

    # ----------------------------------------------------------------- oauth

    def oauth(self, path, query, pairs):
        st = self.state
        p = path.rstrip("/")
        if p == "/oauth/authorize" and self.command == "GET":
            return self.authorize(dict(urllib.parse.parse_qsl(query, keep_blank_values=True)))
        if p not in ("/oauth/token", "/oauth/deauthorize") or self.command != "POST":
            return self.send(404, {"error": "invalid_request",
                                   "error_description": "No such OAuth endpoint: %s %s"
                                   % (self.command, path)})
        if not self.check_key(oauth=True):
            return
        form = dict(pairs)
        if p == "/oauth/token":
            gt = form.get("grant_type")
            if not gt:
                return self.send(400, {"error": "invalid_request",
                                       "error_description": "No grant type specified"})
            if gt != "authorization_code":
                return self.send(400, {"error": "unsupported_grant_type",
                                       "error_description": "Unsupported grant type: %s" % gt})
            code = form.get("code")
            if not code:
                return self.send(400, {"error": "invalid_request",
                                       "error_description": "No authorization code provided"})
            with st.lock:
                c = st.codes.get(code)
                used = c is not None and c["used"]
                if c is not None:
                    c["used"] = True
            if c is None:
                return self.send(400, {"error": "invalid_grant",
                                       "error_description": "Authorization code does not exist: %s"
                                       % code})
            if used:
                return self.send(400, {"error": "invalid_grant",
                                       "error_description": "This authorization code has already "
                                       "been used. All tokens issued with this code have been "
                                       "revoked."})
            acct = c["account"]
            if acct is None:
                try:
                    status, _, data = self.mock_call(
                        "POST", "/v1/accounts", b"type=standard",
                        {"Authorization": "Bearer " + (self.bearer() or ""),
                         "Content-Type": "application/x-www-form-urlencoded"})
                    acct = json.loads(data.decode("utf-8"))["id"] if status == 200 else None
                except (OSError, ValueError, KeyError):
                    acct = None
                if acct is None:
                    with st.lock:
                        c["used"] = False
                    return self.send(500, {"error": "server_error",
                                           "error_description": "stand-in: could not create an "
                                           "account on stripe-stateful-mock"})
            with st.lock:
                st.connected[acct] = c["client_id"]
                st.revoked.discard(acct)
            key = self.bearer() or ""
            live = key.startswith("sk_live_")
            mode = "live" if live else "test"
            return self.send(200, {
                "access_token": rand_id("sk_%s_" % mode, 99),
                "livemode": live,
                "refresh_token": rand_id("rt_", 48),
                "scope": c["scope"],
                "stripe_publishable_key": rand_id("pk_%s_" % mode, 99),
                "stripe_user_id": acct,
                "token_type": "bearer",
            })
        # deauthorize
        client_id = form.get("client_id")
        acct = form.get("stripe_user_id")
        if not client_id:
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "No client_id provided"})
        if not acct:
            return self.send(400, {"error": "invalid_request",
                                   "error_description": "No stripe_user_id provided"})
        if st.client_id is not None and client_id != st.client_id:
            return self.send(401, {"error": "invalid_client",
                                   "error_description": "No such application: '%s'" % client_id})
        with st.lock:
            ok = acct in st.connected
            if ok:
                del st.connected[acct]
                st.revoked.add(acct)
        if not ok:
            return self.send(401, {"error": "invalid_client",
                                   "error_description": "Stripe account %s is not connected to "
                                   "your application." % acct})
        return self.send(200, {"stripe_user_id": acct})

    def authorize(self, q):
        """As the user who clicks "connect" on Stripe's page (or, with levy_test_deny=1, "deny")."""
        st = self.state
        redirect = q.get("redirect_uri")
        if q.get("response_type") != "code":
            return self.send(400, {"error": "unsupported_response_type",
                                   "error_description": "response_type must be code"})
        client_id = q.get("client_id")
        if not client_id or (st.client_id is not None and client_id != st.client_id):
            return self.send(400, {"error": "invalid_client",
                                   "error_description": "No such application: '%s'" % client_id})
        scope = q.get("scope", "read_only")
        if scope not in ("read_write", "read_only"):
            return self.send(400, {"error": "invalid_scope",
                                   "error_description": "Invalid scope: %s" % scope})
        out = {"state": q.get("state"), "scope": scope}
        if q.get("levy_test_deny") == "1":
            out.update(error="access_denied", error_description="The user denied your request")
        else:
            code = rand_id("ac_", 32)
            with st.lock:
                st.codes[code] = {"account": None, "scope": scope, "used": False,
                                  "client_id": client_id}
            out["code"] = code
        out = {k: v for k, v in out.items() if v is not None}
        if redirect:
            sep = "&" if "?" in redirect else "?"
            location = redirect + sep + urllib.parse.urlencode(out)
            return self.send(302, dict(out, redirect=location), headers={"Location": location})
        return self.send(200, out)

    # --------------------------------------------------------------- control

    def control(self, path, query, body):
        st = self.state
        try:
            req = json.loads(body.decode("utf-8")) if body else {}
        except ValueError:
            return self.send(400, {"error": "body is not JSON"})
        if not isinstance(req, dict):
            return self.send(400, {"error": "body must be a JSON object"})
        if path == "/_standin/health":
            return self.send(200, {"ok": True})
        if path == "/_standin/requests" and self.command == "GET":
            want = dict(urllib.parse.parse_qsl(query)).get("path")
            with st.lock:
                rec = [dict(e) for e in st.record]
            if want is not None:
                wild = any(c in want for c in "*?[")
                rec = [e for e in rec if (fnmatch.fnmatchcase(e["path"], want) if wild
                                          else e["path"] == want)]
            return self.send(200, {"requests": rec})
        if path == "/_standin/clear" and self.command == "POST":
            with st.lock:
                st.record.clear()
                if req.get("scripts", True):
                    st.scripts.clear()
            return self.send(200, {"ok": True})
        if path == "/_standin/script" and self.command == "POST":
            method = req.get("method")
            pattern = req.get("path")
            answers = req.get("answers")
            if not isinstance(method, str) or not isinstance(pattern, str) \
                    or not pattern.startswith("/") or not isinstance(answers, list):
                return self.send(400, {"error": "need method, path (from /) and answers (a list)"})
            try:
                answers = [parse_script_item(a) for a in answers]
            except ValueError as e:
                return self.send(400, {"error": str(e)})
            with st.lock:
                st.scripts = [e for e in st.scripts if (e[0], e[1]) != (method.upper(), pattern)]
                st.scripts.append([method.upper(), pattern, answers])
            return self.send(200, {"ok": True})
        if path == "/_standin/scripts" and self.command == "GET":
            with st.lock:
                out = [{"method": m, "path": p, "answers": list(a)} for m, p, a in st.scripts if a]
            return self.send(200, {"scripts": out})
        if path == "/_standin/config" and self.command == "POST":
            with st.lock:
                if "secret_key" in req:
                    st.secret_key = req["secret_key"] or None
                if "client_id" in req:
                    st.client_id = req["client_id"] or None
            return self.send(200, {"ok": True})
        if path == "/_standin/oauth/code" and self.command == "POST":
            code = rand_id("ac_", 32)
            with st.lock:
                st.codes[code] = {"account": req.get("account") or None,
                                  "scope": req.get("scope") or "read_write", "used": False,
                                  "client_id": st.client_id}
            return self.send(200, {"code": code})
        return self.send(404, {"error": "no such control endpoint: %s %s" % (self.command, path)})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(mock_url, port=0, host="127.0.0.1"):
    """Starts the stand-in in a thread of this process; returns the server (.server_address)."""
    u = urllib.parse.urlsplit(mock_url)
    srv = Server((host, port), Handler)
    srv.state = State(u.hostname, u.port or 80)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--mock", required=True, help="stripe-stateful-mock's base URL")
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    ap.add_argument("--exit-on-stdin-eof", action="store_true",
                    help="exit when standard input closes (the parent died)")
    args = ap.parse_args()
    srv = serve(args.mock, args.port)
    print("PORT %d" % srv.server_address[1], flush=True)
    if args.exit_on_stdin_eof:
        while sys.stdin.buffer.read(4096):
            pass
        return 0
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
