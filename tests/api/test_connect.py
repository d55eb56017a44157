#!/usr/bin/python3
"""Live mode through Stripe Connect, driven by python3-stripe against levy, with levy pointed at
the harness's Stripe peers (tests/harness/stripemock.py: the recording stand-in in front of
stripe-stateful-mock).  Every request levy sends to Stripe is read back from the stand-in's
record and asserted exactly: path, Stripe-Account, Idempotency-Key, the platform's key, the form.

- The OAuth flow, owner only: the authorize URL and its state, the callback storing the acct_,
  refused states (garbage, altered, expired, another tenant's, another user's), codes Stripe
  refuses, Stripe down, other roles and API keys, disconnect (and an account Stripe already let go).
- Payments: a subscription's invoice paid through Connect with the exact PaymentIntent request
  (application_fee_amount by levy's fee rule, levy_<pi>_attempt_<n>, off_session, confirm); the
  customer and card mirrored once; declines leaving Stripe's states; 429, 500, a timeout and a
  dropped connection answered 503 with Retry-After and nothing recorded, the retry sending the
  same key and charging once on stateful-mock; refunds with refund_application_fee; cards given
  as tokens only; no connected account, no platform key, a key or an account Stripe refuses.
- Live objects that move no money (products, plans, customers, invoice items, trials) made
  before any account is connected, and nothing sent to Stripe for them.
"""

import hashlib
import hmac
import json
import os
import struct
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripemock  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import fee_of, half_even, owner_rows, sql_id  # noqa: E402

import stripe  # noqa: E402

CONNECT = "/api/v1/connect/stripe"
AUTHORIZE = CONNECT + "/authorize"
CALLBACK = CONNECT + "/callback"
DISCONNECT = CONNECT + "/disconnect"
# levy's timeout for one call to Stripe in this suite (ms), and a delay past it.
TIMEOUT_MS = 2000
PAST_TIMEOUT = "delay:3"

MSG_NO_ACCOUNT = ("Live-mode payments need a connected Stripe account. Connect your Stripe "
                  "account in the dashboard (owner only), or use a test-mode key.")
MSG_NOT_CONFIGURED = "not configured on this levy platform"
MSG_PM_NO_ACCOUNT = "Live-mode payment methods need a connected Stripe account"

PEERS = None
_configured = []


def setUpModule():
    global PEERS
    PEERS = stripemock.start()


def configured():
    """levy pointed at the peers (once): the stack starts without a stripe group."""
    if not _configured:
        stripemock.configure_levy(PEERS, timeout_ms=TIMEOUT_MS)
        _configured.append(True)
    return PEERS


def body_of(obj):
    return json.loads(obj.last_response.body)






def set_fee(tenant, percent):
    p = lt.levy_cli("tenant", "set-fee", str(tenant.id), percent)
    if p.returncode != 0:
        raise AssertionError("levy tenant set-fee: %s" % p.stderr)


def b64url(b):
    return lt.b64url(b)


def forge_state(tenant_id, user_id, expires, secret=None, version=1):
    """A state signed as levy signs them (crypto/oauth_state.h), with the stack's JWT secret."""
    secret = (secret or lt.jwt_secret()).encode()
    payload = struct.pack(">Bqqq", version, tenant_id, user_id, expires) + os.urandom(16)
    key = hmac.new(secret, b"levy/stripe-connect/oauth-state/v1", hashlib.sha256).digest()
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return b64url(payload) + "." + b64url(mac)


def mirror_key(levy_id, sent):
    """The Idempotency-Key levy gives a mirror (pay/mirror.h): its id, and a digest of the
    account and the form it sent."""
    digest = hashlib.sha256(("%s %s" % (sent["headers"]["stripe-account"], sent["body"]))
                            .encode()).hexdigest()[:24]
    return "levy_mirror_%s_%s" % (levy_id, digest)


def form_post(path, form, key=None, token=None, mode=None, headers=None):
    """A form POST as an SDK sends it, but answered raw: (status, headers, json)."""
    return lt.call("POST", path, form=form, key=key, token=token, mode=mode, headers=headers)


class ConnectCase(st.SdkCase):
    def assertInvalid(self, status=400, code=lt.ANY, param=lt.ANY, message=None):
        return self.sdk_raises(stripe.error.InvalidRequestError, "invalid_request_error", status,
                               code, param, message)

    def assertCard(self, code, decline_code, message=None):
        return self.sdk_raises(stripe.error.CardError, "card_error", 402, code, None, message,
                               decline_code)

    def assert503(self, resp, message):
        """A raw answer: 503 api_error with Retry-After, the message naming the cause."""
        status, headers, body = resp
        self.assertEqual(status, 503, body)
        self.assertEqual(body["error"]["type"], "api_error", body)
        self.assertIn(message, body["error"]["message"])
        self.assertTrue(headers.get("Retry-After", "").isdigit(), dict(headers))
        self.assertGreaterEqual(int(headers["Retry-After"]), 1)

    # ------------------------------------------------------------ fixtures

    def connect(self, t, member=None):
        """Runs the OAuth flow as t's owner (or member); returns the connected acct_."""
        token = (member or t.owner).access
        status, _, link = lt.post(AUTHORIZE, token=token)
        self.assertEqual(status, 200, link)
        q = PEERS.authorize(link["url"])
        self.assertEqual(q["state"], link["state"])
        status, _, conn = lt.post(CALLBACK, {"code": q["code"], "state": q["state"]}, token=token)
        self.assertEqual(status, 200, conn)
        return conn["stripe_account"]

    def live_card(self, cus, token="tok_visa"):
        """A live card from a token, attached to cus (mirrored on the account)."""
        pm = stripe.PaymentMethod.create(type="card", card={"token": token})
        return stripe.PaymentMethod.attach(pm.id, customer=cus.id)

    def mock_charges(self, acct):
        status, _, obj = PEERS.mock("GET", "/v1/charges?limit=100", account=acct)
        self.assertEqual(status, 200, obj)
        return obj["data"]

    def mock_charges_of(self, acct, pi):
        return [c for c in self.mock_charges(acct)
                if c.get("metadata", {}).get("levy_payment_intent") == pi]

    def requests(self, path):
        return [r for r in PEERS.requests(path) if r["method"] == "POST"]


class A0BeforeConfiguration(ConnectCase):
    """The stack starts with no Stripe key: connecting and live payments answer a clear 400."""

    def test_not_configured(self):
        self.assertFalse(_configured, "this class must run before levy is configured")
        t = lt.new_tenant()
        st_, _, b = lt.post(AUTHORIZE, token=t.access)
        self.assertError((st_, None, b), 400, "invalid_request_error", None, None)
        self.assertIn(MSG_NOT_CONFIGURED, b["error"]["message"])
        self.assertIn("secret key", b["error"]["message"])
        st_, _, b = lt.get(CONNECT, token=t.access)
        self.assertEqual((st_, b), (200, {"object": "stripe_connection", "connected": False,
                                          "stripe_account": None}))
        # A live payment without an account: the tenant's part is told first.
        st.use(t.sk_live)
        pi = stripe.PaymentIntent.create(amount=1000, currency="usd")
        owner_rows("UPDATE tenants SET stripe_account_id = 'acct_1NotReally' WHERE id = %d"
                   % t.id)
        with self.assertInvalid(400, None, None, MSG_NOT_CONFIGURED):
            stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
        # A charge row made as the owner, as a refund's target: refused, nothing refunded.
        ch = owner_rows("INSERT INTO charges (tenant_id, livemode, payment_intent, amount,"
                        " application_fee_amount, currency, status, processor_id) VALUES"
                        " (%d, true, %s, 1000, 150, 'usd', 'succeeded', 'ch_1Remote') RETURNING id"
                        % (t.id, sql_id(pi.id)))[0][0]
        with self.assertInvalid(400, None, None, MSG_NOT_CONFIGURED):
            stripe.Refund.create(charge=ch)
        owner_rows("UPDATE tenants SET stripe_account_id = NULL WHERE id = %d" % t.id)
        with self.assertInvalid(400, "account_invalid", None, MSG_NO_ACCOUNT):
            stripe.Refund.create(charge=ch)
        self.assertEqual(list(stripe.Refund.list()), [])


class A1LiveWithoutMoney(ConnectCase):
    """Live objects that move no money need no connected account, and call no Stripe."""

    def test_catalog_customers_items_and_trials_before_connecting(self):
        configured()
        PEERS.clear()
        t = lt.new_tenant()
        st.use(t.sk_live)
        prod = stripe.Product.create(name="Pro")
        plan = stripe.Plan.create(amount=2500, currency="usd", interval="month", product=prod.id)
        cus = stripe.Customer.create(email="live@example.com", name="Live Co")
        other = stripe.Customer.create(email="other@example.com")
        item = stripe.InvoiceItem.create(customer=other.id, amount=300, currency="usd")
        sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": plan.id}],
                                         trial_period_days=14, expand=["latest_invoice"])
        for o in (prod, plan, cus, item, sub):
            self.assertIs(o.livemode, True)
        self.assertEqual(sub.status, "trialing")
        self.assertEqual((sub.latest_invoice.status, sub.latest_invoice.amount_paid),
                         ("paid", 0))
        self.assertIsNone(sub.latest_invoice.payment_intent)
        # A card needs the account: without one, the clear 400.
        with self.assertInvalid(400, None, None, MSG_PM_NO_ACCOUNT):
            stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
        st_, _, b = lt.get(CONNECT, token=t.access)
        self.assertIs(b["connected"], False)
        self.assertEqual(PEERS.requests(), [])


class B0OAuth(ConnectCase):
    """Connecting a Standard account: owner only, a signed state, the code exchanged."""

    @classmethod
    def setUpClass(cls):
        configured()

    def setUp(self):
        self.t = lt.new_tenant()

    def test_authorize_url(self):
        before = int(time.time())
        st_, _, link = lt.post(AUTHORIZE, token=self.t.access)
        self.assertEqual(st_, 200, link)
        self.assertEqual(set(link), {"object", "url", "state", "expires_at"})
        self.assertEqual(link["object"], "stripe_oauth_link")
        # A second's slack below: levy's clock is time(), glibc's coarse clock, which can
        # be a tick behind the test's at a second's boundary.
        self.assertTrue(before - 1 + 600 <= link["expires_at"] <= int(time.time()) + 600)
        u = urllib.parse.urlsplit(link["url"])
        self.assertEqual("%s://%s%s" % (u.scheme, u.netloc, u.path),
                         PEERS.connect_base + "/oauth/authorize")
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True, strict_parsing=True)
        self.assertEqual(q, {"response_type": ["code"], "client_id": [PEERS.client_id],
                             "scope": ["read_write"], "state": [link["state"]]})
        self.assertRegex(link["state"], r"^[A-Za-z0-9_-]{55}\.[A-Za-z0-9_-]{43}$")
        # Each link its own state; the mode header changes nothing.
        st_, _, again = lt.post(AUTHORIZE, token=self.t.access, mode="live")
        self.assertNotEqual(again["state"], link["state"])

    def test_authorize_url_with_redirect_uri(self):
        redirect = "https://dashboard.example.com/settings/stripe?tab=connect"
        stripemock.configure_levy(PEERS, secret_key=PEERS.secret_key, client_id=PEERS.client_id,
                                  timeout_ms=TIMEOUT_MS, oauth_redirect_uri=redirect)
        try:
            st_, _, link = lt.post(AUTHORIZE, token=self.t.access)
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(link["url"]).query))
            self.assertEqual(q["redirect_uri"], redirect)
            # Stripe sends the owner back there with the code and the same state.
            back = PEERS.authorize(link["url"])
            self.assertEqual(back["state"], link["state"])
            self.assertTrue(back["code"].startswith("ac_"))
        finally:
            stripemock.configure_levy(PEERS, secret_key=PEERS.secret_key,
                                      client_id=PEERS.client_id, timeout_ms=TIMEOUT_MS)

    def test_callback_stores_the_account(self):
        st_, _, b = lt.get(CONNECT, token=self.t.access)
        self.assertEqual(b, {"object": "stripe_connection", "connected": False,
                             "stripe_account": None})
        PEERS.clear()
        acct = self.connect(self.t)
        self.assertRegex(acct, r"^acct_[0-9A-Za-z]+$")
        st_, _, b = lt.get(CONNECT, token=self.t.access)
        self.assertEqual(b, {"object": "stripe_connection", "connected": True,
                             "stripe_account": acct})
        self.assertEqual(owner_rows("SELECT stripe_account_id FROM tenants WHERE id = %d"
                                    % self.t.id), [[acct]])
        # The account exists on Stripe; levy exchanged the code once, with the platform's key.
        status, _, obj = PEERS.mock("GET", "/v1/accounts/" + acct)
        self.assertEqual((status, obj["id"]), (200, acct))
        tokens = self.requests("/oauth/token")
        self.assertEqual(len(tokens), 1)
        self.assertEqual(set(tokens[0]["form"]), {"grant_type", "code"})
        self.assertEqual(tokens[0]["form"]["grant_type"], "authorization_code")
        self.assertEqual(tokens[0]["headers"]["authorization"], "Bearer " + PEERS.secret_key)
        self.assertNotIn("stripe-account", tokens[0]["headers"])
        # Stripe's tokens are not kept anywhere.
        self.assertNotIn("sk_test_", json.dumps(owner_rows(
            "SELECT row_to_json(t)::text FROM tenants t WHERE id = %d" % self.t.id)))

    def test_oauth_calls_do_not_keep_their_connection(self):
        """A code is good once and an OAuth call has no Idempotency-Key, so levy never sends
        one over a kept connection (which libcurl may silently resend on): each exchange comes
        on a connection of its own.  With kept connections the two workers would bring at
        most two."""
        t = lt.new_tenant()
        PEERS.clear()
        for _ in range(5):
            self.connect(t)
        peers = [r["peer"] for r in self.requests("/oauth/token")]
        self.assertEqual(len(peers), 5)
        self.assertEqual(len(set(peers)), 5, peers)

    def callback(self, code, state, token=None):
        return lt.post(CALLBACK, {"code": code, "state": state}, token=token or self.t.access)

    def assertNotConnected(self):
        st_, _, b = lt.get(CONNECT, token=self.t.access)
        self.assertIs(b["connected"], False)

    def test_bad_states(self):
        st_, _, link = lt.post(AUTHORIZE, token=self.t.access)
        code = PEERS.authorize(link["url"])["code"]
        good = link["state"]
        other = lt.new_tenant()
        st_, _, other_link = lt.post(AUTHORIZE, token=other.access)
        tid, uid = self.t.id, self.t.user_id
        now = int(time.time())
        altered = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
        cases = [
            ("garbage", "not-a-state", "Invalid OAuth state"),
            ("altered", altered, "Invalid OAuth state"),
            ("empty mac", good[:56], "Invalid OAuth state"),
            ("other secret", forge_state(tid, uid, now + 300, secret="x" * 48),
             "Invalid OAuth state"),
            ("other version", forge_state(tid, uid, now + 300, version=2), "Invalid OAuth state"),
            ("expired", forge_state(tid, uid, now - 1), "has expired"),
            ("other tenant", other_link["state"], "issued to another user"),
            ("other user", forge_state(tid, uid + 1, now + 300), "issued to another user"),
        ]
        PEERS.clear()
        for name, state, msg in cases:
            with self.subTest(name):
                resp = self.callback(code, state)
                err = self.assertError(resp, 400, "invalid_request_error", param="state")
                self.assertIn(msg, err["message"])
        # Longer than any state: refused unread.
        resp = self.callback(code, good + "A" * 200)
        self.assertError(resp, 400, "invalid_request_error", param="state")
        # None of it reached Stripe or stored anything; the good state still works.
        self.assertEqual(self.requests("/oauth/token"), [])
        self.assertNotConnected()
        # A state forged with the right key is accepted: the check is the MAC, as documented.
        st_, _, b = self.callback(code, forge_state(tid, uid, now + 300))
        self.assertEqual(st_, 200, b)

    def test_codes_stripe_refuses(self):
        st_, _, link = lt.post(AUTHORIZE, token=self.t.access)
        state = link["state"]
        resp = self.callback("ac_" + "Z" * 32, state)
        err = self.assertError(resp, 400, "invalid_request_error", param="code")
        self.assertIn("Stripe refused the authorization code: Authorization code does not exist",
                      err["message"])
        code = PEERS.authorize(link["url"])["code"]
        self.assertEqual(self.callback(code, state)[0], 200)
        resp = self.callback(code, state)
        err = self.assertError(resp, 400, "invalid_request_error", param="code")
        self.assertIn("already been used", err["message"])
        for bad in ("xyz", "ac_", "ac_1/../x", "ac_1 2"):
            with self.subTest(bad):
                self.assertError(self.callback(bad, state), 400, "invalid_request_error",
                                 param="code")
        for body, param in (({"state": state}, "code"), ({"code": code}, "state"),
                            ({"code": code, "state": state, "scope": "x"}, "scope")):
            st_, _, b = lt.post(CALLBACK, body, token=self.t.access)
            self.assertError((st_, None, b), 400, "invalid_request_error", param=param)

    def test_stripe_down_during_callback(self):
        st_, _, link = lt.post(AUTHORIZE, token=self.t.access)
        code = PEERS.authorize(link["url"])["code"]
        for answer, msg in (("status:500", "unavailable"), ("drop", "could not be reached"),
                            (PAST_TIMEOUT, "did not answer in time")):
            with self.subTest(answer):
                PEERS.script("POST", "/oauth/token", [answer])
                self.assert503(self.callback(code, link["state"]), msg)
                self.assertNotConnected()
        time.sleep(1.5)  # the delayed exchange finishes on the stand-in (and spends the code)

    def test_others_may_not(self):
        admin = self.t.add_user("admin")
        dev = self.t.add_user("developer")
        st_, _, link = lt.post(AUTHORIZE, token=self.t.access)
        code = PEERS.authorize(link["url"])["code"]
        calls = [("GET", CONNECT, None), ("POST", AUTHORIZE, {}),
                 ("POST", CALLBACK, {"code": code, "state": link["state"]}),
                 ("POST", DISCONNECT, {})]
        for method, path, body in calls:
            for who in (admin, dev):
                with self.subTest(path=path, role=who.role):
                    resp = lt.call(method, path, body=body, token=who.access)
                    err = self.assertError(resp, 403, "permission_error")
                    self.assertIn("(%s)" % who.role, err["message"])
            for key in (self.t.sk_live, self.t.sk_test):
                with self.subTest(path=path, key=key[:8]):
                    self.assertError(lt.call(method, path, body=body, key=key), 403,
                                     "permission_error")
            self.assertError(lt.call(method, path, body=body), 401, "authentication_error")
        # An admin's state is refused to the owner, too: it names the admin.
        self.assertNotConnected()

    def test_disconnect(self):
        # Nothing connected: nothing to undo, nothing sent.
        PEERS.clear()
        st_, _, b = lt.post(DISCONNECT, token=self.t.access)
        self.assertEqual((st_, b["connected"]), (200, False))
        self.assertEqual(self.requests("/oauth/deauthorize"), [])
        acct = self.connect(self.t)
        PEERS.clear()
        st_, _, b = lt.post(DISCONNECT, token=self.t.access)
        self.assertEqual((st_, b), (200, {"object": "stripe_connection", "connected": False,
                                          "stripe_account": None}))
        sent = self.requests("/oauth/deauthorize")
        self.assertEqual(len(sent), 1)
        self.assertEqual(sent[0]["form"], {"client_id": PEERS.client_id, "stripe_user_id": acct})
        self.assertEqual(sent[0]["headers"]["authorization"], "Bearer " + PEERS.secret_key)
        self.assertNotConnected()
        self.assertEqual(owner_rows("SELECT stripe_account_id IS NULL FROM tenants WHERE id = %d"
                                    % self.t.id), [["t"]])

    def test_disconnect_when_stripe_already_let_go_or_is_down(self):
        acct = self.connect(self.t)
        PEERS.script("POST", "/oauth/deauthorize", ["status:503"])
        self.assert503(lt.post(DISCONNECT, token=self.t.access), "unavailable")
        st_, _, b = lt.get(CONNECT, token=self.t.access)
        self.assertEqual(b["stripe_account"], acct)
        # The owner revoked access on Stripe's side: Stripe says invalid_client, levy forgets.
        st_, _, obj = PEERS.standin("POST", "/oauth/deauthorize",
                                    {"client_id": PEERS.client_id, "stripe_user_id": acct})
        self.assertEqual(st_, 200, obj)
        st_, _, b = lt.post(DISCONNECT, token=self.t.access)
        self.assertEqual((st_, b["connected"]), (200, False))
        self.assertNotConnected()


class B1PlatformKeyRefused(ConnectCase):
    """Stripe refusing the platform's own key is levy's fault: 500, nothing stored."""

    def test_key_refused(self):
        configured()
        t = lt.new_tenant()
        st_, _, link = lt.post(AUTHORIZE, token=t.access)
        code = PEERS.authorize(link["url"])["code"]
        PEERS._control("POST", "/_standin/config", {"secret_key": "sk_test_" + "Q" * 24,
                                                      "client_id": PEERS.client_id})
        try:
            st_, _, b = lt.post(CALLBACK, {"code": code, "state": link["state"]}, token=t.access)
            self.assertError((st_, None, b), 500, "api_error")
            self.assertNotIn(PEERS.secret_key, json.dumps(b))
        finally:
            PEERS._control("POST", "/_standin/config", {"secret_key": PEERS.secret_key,
                                                          "client_id": PEERS.client_id})
        st_, _, b = lt.get(CONNECT, token=t.access)
        self.assertIs(b["connected"], False)


class C0LivePayments(ConnectCase):
    """Money through the connected account, with levy's fee and its own idempotency keys."""

    BP = 750  # 7.5 %

    @classmethod
    def setUpClass(cls):
        configured()
        cls.t = lt.new_tenant()
        set_fee(cls.t, "7.5")
        cls.acct = cls().connect(cls.t)
        st.use(cls.t.sk_live)
        cls.prod = stripe.Product.create(name="Pro live")

    def setUp(self):
        st.use(self.t.sk_live)

    def plan(self, amount):
        return stripe.Plan.create(amount=amount, currency="usd", interval="month",
                                  product=self.prod.id)

    def customer(self, **kw):
        kw.setdefault("email", lt.unique_email("payer"))
        kw.setdefault("name", "Payer Ltd")
        return stripe.Customer.create(**kw)

    def remote_ids(self, cus_id, pm_id):
        rows = owner_rows("SELECT c.processor_id, c.processor_account, m.processor_id,"
                          " m.processor_account, m.processor_token FROM customers c, payment_methods m"
                          " WHERE c.id = %s AND m.id = %s" % (sql_id(cus_id), sql_id(pm_id)))
        self.assertEqual(len(rows), 1)
        rcus, cacct, rcard, macct, token = rows[0]
        self.assertEqual((cacct, macct, token), (self.acct, self.acct, ""))
        return rcus, rcard

    def test_card_tokens_mirrored_once(self):
        cus = self.customer(description="mirror me", phone="+15555550100",
                            metadata={"plan": "gold"})
        pm = stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"},
                                         billing_details={"name": "A. Payer"})
        # Until attached it is a token: no card details yet, nothing on Stripe.
        b = body_of(pm)
        self.assertIsNone(b["customer"])
        self.assertEqual((b["card"]["brand"], b["card"]["last4"], b["card"]["exp_month"]),
                         (None, None, None))
        self.assertEqual(b["billing_details"]["name"], "A. Payer")
        PEERS.clear()
        att = body_of(stripe.PaymentMethod.attach(pm.id, customer=cus.id))
        self.assertEqual(att["customer"], cus.id)
        card = att["card"]
        self.assertEqual((card["brand"], card["last4"], card["funding"], card["country"]),
                         ("visa", "4242", "credit", "US"))
        self.assertTrue(1 <= card["exp_month"] <= 12 and card["exp_year"] >= 2024)
        self.assertTrue(card["fingerprint"])
        rcus, rcard = self.remote_ids(cus.id, pm.id)
        sent = self.requests("/v1/*")
        self.assertEqual([r["path"] for r in sent],
                         ["/v1/customers", "/v1/customers/%s/sources" % rcus])
        c, s = sent
        # Both calls of the request went over one kept connection (no second handshake).
        self.assertEqual(c["peer"], s["peer"])
        for r in sent:
            self.assertEqual(r["headers"]["stripe-account"], self.acct)
            self.assertEqual(r["headers"]["authorization"], "Bearer " + PEERS.secret_key)
            self.assertEqual(r["headers"]["stripe-version"], "2023-08-16")
        self.assertEqual(c["headers"]["idempotency-key"], mirror_key(cus.id, c))
        self.assertEqual(c["form"], {"email": cus.email, "name": "Payer Ltd",
                                     "description": "mirror me", "phone": "+15555550100",
                                     "metadata[levy_id]": cus.id})
        self.assertEqual(s["headers"]["idempotency-key"], mirror_key(pm.id, s))
        self.assertEqual(s["form"], {"source": "tok_visa", "metadata[levy_id]": pm.id})
        # On the connected account, and only there.
        st_, _, remote = PEERS.mock("GET", "/v1/customers/%s?expand[]=sources" % rcus,
                                    account=self.acct)
        self.assertEqual((st_, remote["metadata"]), (200, {"levy_id": cus.id}))
        self.assertEqual([x["id"] for x in remote["sources"]["data"]], [rcard])
        self.assertEqual(PEERS.mock("GET", "/v1/customers/" + rcus)[0], 404)
        # A second card and two payments: the customer is not mirrored again.
        PEERS.clear()
        mc = self.live_card(cus, "tok_mastercard")
        self.assertEqual(mc.card.brand, "mastercard")
        for p in (pm.id, mc.id, pm.id):
            pi = stripe.PaymentIntent.create(amount=1234, currency="usd", customer=cus.id,
                                             payment_method=p, confirm=True)
            self.assertEqual(pi.status, "succeeded")
        paths = [r["path"] for r in self.requests("/v1/*")]
        self.assertEqual(paths, ["/v1/customers/%s/sources" % rcus] + ["/v1/payment_intents"] * 3)
        forms = [r["form"] for r in self.requests("/v1/payment_intents")]
        self.assertEqual([(f["customer"], f["payment_method"]) for f in forms],
                         [(rcus, rcard), (rcus, self.remote_ids(cus.id, mc.id)[1]), (rcus, rcard)])
        # Attaching again changes nothing and asks Stripe nothing.
        PEERS.clear()
        again = stripe.PaymentMethod.attach(pm.id, customer=cus.id)
        self.assertEqual(again.id, pm.id)
        self.assertEqual(PEERS.requests(), [])

    def test_mirror_keys_follow_what_is_sent(self):
        """A failed mirror retried as it was sends the same key (Stripe then answers what it
        did the first time); a customer changed in between is sent with a new key, which
        Stripe would otherwise refuse as reused with other parameters."""
        cus = self.customer(description="before")
        pm = stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
        PEERS.clear()
        for _ in range(2):
            PEERS.script("POST", "/v1/customers", ["status:500"])
            self.assert503(form_post("/api/v1/payment_methods/%s/attach" % pm.id,
                                     {"customer": cus.id}, key=self.t.sk_live), "unavailable")
        stripe.Customer.modify(cus.id, description="after")
        att = stripe.PaymentMethod.attach(pm.id, customer=cus.id)
        self.assertEqual(att.customer, cus.id)
        sent = self.requests("/v1/customers")
        self.assertEqual(len(sent), 3)
        keys = [r["headers"]["idempotency-key"] for r in sent]
        self.assertEqual(keys, [mirror_key(cus.id, r) for r in sent])
        self.assertEqual(keys[0], keys[1])
        self.assertNotEqual(keys[1], keys[2])
        self.assertEqual([r["form"]["description"] for r in sent], ["before", "before", "after"])

    def test_subscription_paid_through_connect(self):
        amount = 1990  # 7.5 % of it is 149.25: the fee rule rounds to 149
        plan = self.plan(amount)
        cus = self.customer()
        pm = self.live_card(cus)
        rcus, rcard = self.remote_ids(cus.id, pm.id)
        PEERS.clear()
        client_key = lt.unique("sub-key")
        sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": plan.id}],
                                         default_payment_method=pm.id,
                                         expand=["latest_invoice.payment_intent"],
                                         idempotency_key=client_key)
        self.assertEqual(sub.status, "active")
        inv = sub.latest_invoice
        pi = inv.payment_intent
        self.assertEqual((inv.status, inv.amount_paid, pi.status), ("paid", amount, "succeeded"))
        fee = fee_of(amount, self.BP)
        self.assertEqual(fee, 149)
        self.assertEqual(pi.application_fee_amount, fee)
        sent = self.requests("/v1/*")
        self.assertEqual([r["path"] for r in sent], ["/v1/payment_intents"])
        r = sent[0]
        self.assertEqual(r["headers"]["stripe-account"], self.acct)
        # The intent is this request's own: the key comes from the client's (see
        # test_first_attempt_of_a_new_intent_retried_by_the_client_charges_once).
        ref = hashlib.sha256(("%d/live/1/%s" % (self.t.id, client_key)).encode()).hexdigest()[:40]
        self.assertEqual(r["headers"]["idempotency-key"], "levy_req_" + ref)
        self.assertEqual(r["headers"]["authorization"], "Bearer " + PEERS.secret_key)
        self.assertEqual(r["headers"]["stripe-version"], "2023-08-16")
        self.assertEqual(r["form"], {
            "amount": str(amount), "currency": "usd", "customer": rcus, "payment_method": rcard,
            "application_fee_amount": str(fee), "confirm": "true", "off_session": "true",
            "payment_method_types[0]": "card", "metadata[levy_request]": ref})
        self.assertEqual(r["status"], 200)
        # The money moved once, on the connected account; levy keeps Stripe's ids.
        charges = [c for c in self.mock_charges(self.acct)
                   if c.get("metadata", {}).get("levy_request") == ref]
        self.assertEqual(len(charges), 1)
        self.assertEqual((charges[0]["amount"], charges[0]["status"]), (amount, "succeeded"))
        rows = owner_rows("SELECT c.processor_id, c.application_fee_amount, p.processor_id"
                          " FROM charges c JOIN payment_intents p ON p.id = c.payment_intent"
                          " WHERE c.payment_intent = %s" % sql_id(pi.id))
        self.assertEqual(rows[0][:2], [charges[0]["id"], str(fee)])
        self.assertRegex(rows[0][2], r"^pi_[0-9A-Za-z]+$")
        self.assertEqual(owner_rows("SELECT off_session FROM payment_intents WHERE id = %s"
                                    % sql_id(pi.id)), [["t"]])
        self.assertEqual(stripe.Charge.retrieve(pi.latest_charge).application_fee_amount, fee)

    def test_decline_states_as_in_test_mode(self):
        plan = self.plan(2500)
        cus = self.customer()
        bad = self.live_card(cus, "tok_chargeCustomerFail")
        sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": plan.id}],
                                         default_payment_method=bad.id,
                                         expand=["latest_invoice.payment_intent"])
        inv = sub.latest_invoice
        self.assertEqual(sub.status, "incomplete")
        self.assertEqual((inv.status, inv.attempt_count, inv.amount_paid), ("open", 1, 0))
        pi = inv.payment_intent
        self.assertEqual(pi.status, "requires_payment_method")
        self.assertEqual(pi.last_payment_error.code, "card_declined")
        self.assertEqual(pi.last_payment_error.message, "Your card was declined.")
        failed = owner_rows("SELECT status, processor_id FROM charges WHERE payment_intent = %s"
                            % sql_id(pi.id))
        self.assertEqual(failed[0][0], "failed")
        self.assertTrue(failed[0][1].startswith("ch_"), failed)
        # Paid with another card: the second attempt is a new one on Stripe.
        good = self.live_card(cus)
        PEERS.clear()
        paid = stripe.Invoice.pay(inv.id, payment_method=good.id)
        # a manual attempt after the first does not count (Stripe's attempt_count)
        self.assertEqual((paid.status, paid.attempt_count, paid.amount_paid), ("paid", 1, 2500))
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "active")
        keys = [r["headers"]["idempotency-key"] for r in self.requests("/v1/payment_intents")]
        self.assertEqual(keys, ["levy_%s_attempt_2" % pi.id])
        # A direct payment declined by the issuer: the SDK's CardError, Stripe's words.
        PEERS.script("POST", "/v1/payment_intents", ["decline:insufficient_funds"])
        with self.assertCard("card_declined", "insufficient_funds",
                             "Your card has insufficient funds.") as cm:
            stripe.PaymentIntent.create(amount=800, currency="usd", customer=cus.id,
                                        payment_method=good.id, confirm=True)
        err = cm.exception.json_body["error"]
        self.assertEqual(err["payment_intent"]["status"], "requires_payment_method")
        self.assertEqual(err["payment_intent"]["last_payment_error"]["decline_code"],
                         "insufficient_funds")
        self.assertIsNone(err["payment_intent"]["application_fee_amount"])

    def pending_intent(self, amount=1500):
        """A live customer with a card and an intent not yet confirmed (created, committed)."""
        cus = self.customer()
        pm = self.live_card(cus)
        pi = stripe.PaymentIntent.create(amount=amount, currency="usd", customer=cus.id)
        return cus, pm, pi

    def confirm_raw(self, pi, pm):
        return form_post("/api/v1/payment_intents/%s/confirm" % pi.id,
                         {"payment_method": pm.id}, key=self.t.sk_live)

    def assertNothingRecorded(self, pi):
        got = stripe.PaymentIntent.retrieve(pi.id)
        self.assertEqual((got.status, got.latest_charge), ("requires_payment_method", None))
        self.assertEqual(owner_rows("SELECT count(*) FROM charges WHERE payment_intent = %s"
                                    % sql_id(pi.id)), [["0"]])
        self.assertEqual(owner_rows("SELECT count(*) FROM events WHERE type ="
                                    " 'payment_intent.succeeded' AND object_id = %s"
                                    % sql_id(pi.id)), [["0"]])

    def test_429_500_timeout_and_drop_then_one_charge(self):
        cus, pm, pi = self.pending_intent()
        PEERS.clear()
        for answer, msg in (("status:429", "limiting requests"), ("status:500", "unavailable"),
                            ("status:503", "unavailable"), ("drop", "could not be reached")):
            with self.subTest(answer):
                # levy keeps its connection to Stripe; when a kept one drops without an
                # answer, libcurl sends the request once more on a new connection, with
                # the same Idempotency-Key.  So the drop is scripted twice (a worker with
                # no kept connection meets only the first; the next script replaces the
                # second).
                PEERS.script("POST", "/v1/payment_intents",
                             [answer, answer] if answer == "drop" else [answer])
                self.assert503(self.confirm_raw(pi, pm), msg)
                self.assertNothingRecorded(pi)
        drops = [r for r in self.requests("/v1/payment_intents") if r["status"] == 0]
        self.assertIn(len(drops), (1, 2))
        if len(drops) == 2:
            self.assertNotEqual(drops[0]["peer"], drops[1]["peer"])
        # Stripe did the work but levy stopped waiting: the retry gets Stripe's first answer.
        PEERS.script("POST", "/v1/payment_intents", [PAST_TIMEOUT])
        self.assert503(self.confirm_raw(pi, pm), "did not answer in time")
        self.assertNothingRecorded(pi)
        time.sleep(1.5)
        self.assertEqual(len(self.mock_charges_of(self.acct, pi.id)), 1)
        st_, _, b = self.confirm_raw(pi, pm)
        self.assertEqual((st_, b["status"]), (200, "succeeded"), b)
        sent = self.requests("/v1/payment_intents")
        self.assertEqual(len(sent), 5 + len(drops))
        self.assertEqual({r["headers"]["idempotency-key"] for r in sent},
                         {"levy_%s_attempt_1" % pi.id})
        self.assertEqual(len({json.dumps(r["form"], sort_keys=True) for r in sent}), 1)
        self.assertTrue(sent[-1]["replayed"])
        charges = self.mock_charges_of(self.acct, pi.id)
        self.assertEqual(len(charges), 1)
        self.assertEqual(stripe.Charge.retrieve(b["latest_charge"]).amount, 1500)
        self.assertEqual(owner_rows("SELECT processor_id FROM charges WHERE payment_intent = %s"
                                    % sql_id(pi.id)), [[charges[0]["id"]]])

    def test_first_attempt_of_a_new_intent_retried_by_the_client_charges_once(self):
        """A 503 rolls back the intent this request made; the client's retry (same
        Idempotency-Key, as the SDKs resend it) sends Stripe the same key and parameters."""
        plan = self.plan(4100)
        cus = self.customer()
        pm = self.live_card(cus)
        form = {"customer": cus.id, "items[0][plan]": plan.id, "default_payment_method": pm.id}
        key = {"Idempotency-Key": "retry-" + lt.unique("k")}
        before = len(self.mock_charges(self.acct))
        PEERS.clear()
        # Stripe charges, but levy stops waiting: the whole request rolls back.
        PEERS.script("POST", "/v1/payment_intents", [PAST_TIMEOUT])
        self.assert503(form_post("/api/v1/subscriptions", form, key=self.t.sk_live,
                                 headers=key), "did not answer in time")
        self.assertEqual(list(stripe.Subscription.list(customer=cus.id)), [])
        time.sleep(1.5)
        self.assertEqual(len(self.mock_charges(self.acct)), before + 1)
        st_, _, sub = form_post("/api/v1/subscriptions", form, key=self.t.sk_live, headers=key)
        self.assertEqual((st_, sub["status"]), (200, "active"), sub)
        inv = stripe.Invoice.retrieve(sub["latest_invoice"])
        self.assertEqual((inv.status, inv.amount_paid), ("paid", 4100))
        sent = self.requests("/v1/payment_intents")
        self.assertEqual(len(sent), 2)
        keys = {r["headers"]["idempotency-key"] for r in sent}
        self.assertEqual(len(keys), 1, keys)
        self.assertRegex(keys.pop(), r"^levy_req_[0-9a-f]{40}$")
        self.assertEqual(sent[0]["form"], sent[1]["form"])
        self.assertTrue(sent[1]["replayed"])
        self.assertNotIn("metadata[levy_payment_intent]", sent[0]["form"])
        self.assertRegex(sent[0]["form"]["metadata[levy_request]"], r"^[0-9a-f]{40}$")
        # One charge on Stripe, and it is the one levy recorded.
        charges = self.mock_charges(self.acct)
        self.assertEqual(len(charges), before + 1)
        self.assertEqual(charges[0]["amount"], 4100)
        self.assertEqual(owner_rows("SELECT processor_id FROM charges WHERE invoice = %s"
                                    % sql_id(inv.id)), [[charges[0]["id"]]])
        # Another request (another key) is another payment, as on Stripe.
        other = {"Idempotency-Key": "retry-" + lt.unique("k")}
        st_, _, sub2 = form_post("/api/v1/subscriptions", form, key=self.t.sk_live, headers=other)
        self.assertEqual((st_, sub2["status"]), (200, "active"), sub2)
        self.assertNotEqual(self.requests("/v1/payment_intents")[-1]["headers"]["idempotency-key"],
                            sent[0]["headers"]["idempotency-key"])
        self.assertEqual(len(self.mock_charges(self.acct)), before + 2)

    def test_without_a_client_key_the_new_intent_names_its_attempt(self):
        plan = self.plan(1300)
        cus = self.customer()
        pm = self.live_card(cus)
        PEERS.clear()
        st_, _, sub = lt.call("POST", "/api/v1/subscriptions", key=self.t.sk_live,
                              form={"customer": cus.id, "items[0][plan]": plan.id,
                                    "default_payment_method": pm.id})
        self.assertEqual((st_, sub["status"]), (200, "active"), sub)
        pi = stripe.Invoice.retrieve(sub["latest_invoice"]).payment_intent
        sent = self.requests("/v1/payment_intents")
        self.assertEqual([r["headers"]["idempotency-key"] for r in sent],
                         ["levy_%s_attempt_1" % pi])
        self.assertEqual(sent[0]["form"]["metadata[levy_payment_intent]"], pi)

    def test_invoice_retry_after_503_uses_the_same_attempt(self):
        plan = self.plan(3000)
        cus = self.customer()
        bad = self.live_card(cus, "tok_chargeCustomerFail")
        sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": plan.id}],
                                         default_payment_method=bad.id)
        inv = stripe.Invoice.retrieve(sub.latest_invoice)
        good = self.live_card(cus)
        PEERS.clear()
        PEERS.script("POST", "/v1/payment_intents", ["status:429", "status:500"])
        for _ in range(2):
            with self.sdk_raises(stripe.error.APIError, "api_error", 503, None, None, None):
                stripe.Invoice.pay(inv.id, payment_method=good.id)
            got = stripe.Invoice.retrieve(inv.id)
            self.assertEqual((got.status, got.attempt_count, got.amount_paid), ("open", 1, 0))
            self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "incomplete")
        paid = stripe.Invoice.pay(inv.id, payment_method=good.id)
        # a manual attempt after the first does not count (Stripe's attempt_count)
        self.assertEqual((paid.status, paid.attempt_count), ("paid", 1))
        keys = [r["headers"]["idempotency-key"] for r in self.requests("/v1/payment_intents")]
        self.assertEqual(keys, ["levy_%s_attempt_2" % inv.payment_intent] * 3)
        ok = [c for c in self.mock_charges_of(self.acct, inv.payment_intent)
              if c["status"] == "succeeded"]
        self.assertEqual(len(ok), 1)

    def test_refunds_return_the_fee_on_stripe(self):
        cus = self.customer()
        pm = self.live_card(cus)
        amount = 2010  # fee 150.75 -> 151
        pi = stripe.PaymentIntent.create(amount=amount, currency="usd", customer=cus.id,
                                         payment_method=pm.id, confirm=True)
        fee = fee_of(amount, self.BP)
        self.assertEqual(pi.application_fee_amount, fee)
        remote_ch = owner_rows("SELECT processor_id FROM charges WHERE id = %s"
                               % sql_id(pi.latest_charge))[0][0]
        PEERS.clear()
        PEERS.script("POST", "/v1/refunds", ["status:500"])
        st_, h, b = form_post("/api/v1/refunds", {"payment_intent": pi.id, "amount": "1000"},
                              key=self.t.sk_live)
        self.assert503((st_, h, b), "unavailable")
        self.assertEqual(list(stripe.Refund.list()), [])
        r1 = stripe.Refund.create(payment_intent=pi.id, amount=1000)
        r2 = stripe.Refund.create(charge=pi.latest_charge)
        self.assertEqual((r1.status, r1.amount, r2.amount), ("succeeded", 1000, 1010))
        # levy's fee rule on refunds: shares in proportion, adding up to the fee exactly.
        self.assertEqual(r1.application_fee_refunded, half_even(fee * 1000, amount))
        self.assertEqual(r1.application_fee_refunded + r2.application_fee_refunded, fee)
        sent = self.requests("/v1/refunds")
        self.assertEqual([r["headers"]["idempotency-key"] for r in sent],
                         ["levy_%s_refund_1" % pi.latest_charge] * 2 +
                         ["levy_%s_refund_2" % pi.latest_charge])
        for r, amt in zip(sent, ("1000", "1000", "1010")):
            self.assertEqual(r["headers"]["stripe-account"], self.acct)
            self.assertEqual(r["form"], {"charge": remote_ch, "amount": amt,
                                         "refund_application_fee": "true",
                                         "metadata[levy_charge]": pi.latest_charge})
        st_, _, remote = PEERS.mock("GET", "/v1/charges/" + remote_ch, account=self.acct)
        self.assertEqual((remote["amount_refunded"], remote["refunded"]), (amount, True))
        got = owner_rows("SELECT processor_id FROM refunds WHERE charge = %s ORDER BY seq"
                         % sql_id(pi.latest_charge))
        self.assertEqual(len(got), 2)
        self.assertTrue(all(g[0].startswith("re_") for g in got))
        # Stripe refusing (nothing left there, say): its words, and nothing recorded in levy.
        pi2 = stripe.PaymentIntent.create(amount=900, currency="usd", customer=cus.id,
                                          payment_method=pm.id, confirm=True)
        rch = owner_rows("SELECT processor_id FROM charges WHERE id = %s"
                         % sql_id(pi2.latest_charge))[0][0]
        self.assertEqual(PEERS.mock("POST", "/v1/refunds", {"charge": rch},
                                    account=self.acct)[0], 200)
        with self.assertInvalid(400, "charge_already_refunded", None, "Stripe: Charge "):
            stripe.Refund.create(payment_intent=pi2.id)
        self.assertEqual(stripe.Charge.retrieve(pi2.latest_charge).amount_refunded, 0)
        # A live charge that never went through Stripe cannot be refunded there.
        ch = owner_rows("INSERT INTO charges (tenant_id, livemode, payment_intent, amount,"
                        " application_fee_amount, currency, status) VALUES (%d, true, %s, 500,"
                        " 38, 'usd', 'succeeded') RETURNING id" % (self.t.id, sql_id(pi2.id)))[0][0]
        with self.assertInvalid(400, "charge_not_refundable", "charge", "not made through Stripe"):
            stripe.Refund.create(charge=ch)

    def test_cards_only_as_tokens(self):
        cus = self.customer()
        with self.assertInvalid(400, "parameter_unknown", "card[number]", "never takes card numbers"):
            stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242",
                                                           "exp_month": 12, "exp_year": 2040})
        with self.assertInvalid(400, "parameter_unknown", "card[cvc]"):
            stripe.PaymentMethod.create(type="card", card={"token": "tok_visa", "cvc": "123"})
        st_, _, b = lt.post("/api/v1/payment_methods", {"type": "card", "card": {}},
                            key=self.t.sk_live)
        err = self.assertError((st_, None, b), 400, "invalid_request_error", "parameter_missing",
                               "card[token]")
        self.assertIn("requires the parameter: card[token]", err["message"])
        with self.assertInvalid(400, "parameter_missing", "card"):
            stripe.PaymentMethod.create(type="card")
        for bad in ("pm_card_visa", "tok_", "tok_a b"):
            with self.assertInvalid(400, "parameter_invalid", "card[token]"):
                stripe.PaymentMethod.create(type="card", card={"token": bad})
        # Stripe declines the card when it is attached: 402, and the card stays unattached.
        pm = stripe.PaymentMethod.create(type="card", card={"token": "tok_chargeDeclined"})
        with self.assertCard("card_declined", "generic_decline", "Your card was declined."):
            stripe.PaymentMethod.attach(pm.id, customer=cus.id)
        self.assertIsNone(stripe.PaymentMethod.retrieve(pm.id).customer)
        # A token never attached cannot pay: it is no card on Stripe yet.
        loose = stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
        with self.assertInvalid(400, "parameter_invalid", "payment_method", "attach it"):
            stripe.PaymentIntent.create(amount=700, currency="usd", payment_method=loose.id,
                                        confirm=True)
        # A customer given a card at creation is mirrored with it.
        tok = stripe.PaymentMethod.create(type="card", card={"token": "tok_amex"})
        c2 = stripe.Customer.create(email=lt.unique_email("c2"), payment_method=tok.id,
                                    invoice_settings={"default_payment_method": tok.id})
        self.assertEqual(c2.invoice_settings.default_payment_method, tok.id)
        self.assertEqual(stripe.PaymentMethod.retrieve(tok.id).card.brand, "amex")
        self.assertTrue(self.remote_ids(c2.id, tok.id)[0].startswith("cus_"))


class C1AccountGoneOrMissing(ConnectCase):
    """A disconnected tenant, and an account Stripe stopped serving."""

    def test_live_payment_without_a_connected_account(self):
        configured()
        t = lt.new_tenant()
        self.connect(t)
        st.use(t.sk_live)
        cus = stripe.Customer.create(email=lt.unique_email("gone"))
        pm = self.live_card(cus)
        paid = stripe.PaymentIntent.create(amount=1000, currency="usd", customer=cus.id,
                                           payment_method=pm.id, confirm=True)
        self.assertEqual(lt.post(DISCONNECT, token=t.access)[0], 200)
        PEERS.clear()
        with self.assertInvalid(400, "account_invalid", None, MSG_NO_ACCOUNT):
            stripe.PaymentIntent.create(amount=1000, currency="usd", customer=cus.id,
                                        payment_method=pm.id, confirm=True)
        with self.assertInvalid(400, "account_invalid", None, MSG_NO_ACCOUNT):
            stripe.Refund.create(payment_intent=paid.id)
        with self.assertInvalid(400, None, None, MSG_PM_NO_ACCOUNT):
            stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
        self.assertEqual(PEERS.requests(), [])
        # Another account connected: the old card lives on the old one, the customer is redone.
        acct2 = self.connect(t)
        with self.assertInvalid(400, "parameter_invalid", "payment_method", "another Stripe account"):
            stripe.PaymentIntent.create(amount=1000, currency="usd", customer=cus.id,
                                        payment_method=pm.id, confirm=True)
        PEERS.clear()
        pm2 = self.live_card(cus, "tok_mastercard")
        sent = self.requests("/v1/*")
        self.assertEqual([r["path"] for r in sent][0], "/v1/customers")
        self.assertTrue(all(r["headers"]["stripe-account"] == acct2 for r in sent))
        pi = stripe.PaymentIntent.create(amount=1000, currency="usd", customer=cus.id,
                                         payment_method=pm2.id, confirm=True)
        self.assertEqual(pi.status, "succeeded")

    def test_account_revoked_on_stripes_side(self):
        configured()
        t = lt.new_tenant()
        acct = self.connect(t)
        st.use(t.sk_live)
        cus = stripe.Customer.create(email=lt.unique_email("revoked"))
        pm = self.live_card(cus)
        st_, _, obj = PEERS.standin("POST", "/oauth/deauthorize",
                                    {"client_id": PEERS.client_id, "stripe_user_id": acct})
        self.assertEqual(st_, 200, obj)
        with self.assertInvalid(400, "account_invalid", None, "reconnect the Stripe account"):
            stripe.PaymentIntent.create(amount=1000, currency="usd", customer=cus.id,
                                        payment_method=pm.id, confirm=True)
        self.assertEqual(list(stripe.Charge.list()), [])


class C2OddAnswers(ConnectCase):
    """Answers Stripe should not give: never stored, always a retryable 503 or Stripe's state."""

    @classmethod
    def setUpClass(cls):
        configured()
        cls.t = lt.new_tenant()
        cls.acct = cls().connect(cls.t)

    def setUp(self):
        st.use(self.t.sk_live)
        PEERS.clear()

    def test_unreadable_mirrors(self):
        cus = stripe.Customer.create(email=lt.unique_email("odd"))
        pm = stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
        path = "/api/v1/payment_methods/%s/attach" % pm.id
        PEERS.script("POST", "/v1/customers", [{"status": 200, "body": {"id": "cus 1"}}])
        self.assert503(form_post(path, {"customer": cus.id}, key=self.t.sk_live),
                       "could not be read")
        for card in ({"id": "card_1", "last4": "12", "exp_month": 1, "exp_year": 2030,
                      "fingerprint": "f"},
                     {"id": "src_1", "last4": "4242", "exp_month": 1, "exp_year": 2030,
                      "fingerprint": "f"},
                     {"id": "card_1", "last4": "4242", "exp_month": 13, "exp_year": 2030,
                      "fingerprint": "f"},
                     {"id": "card_1", "last4": "4242", "exp_month": 1, "exp_year": 2030}):
            with self.subTest(card=card):
                PEERS.script("POST", "/v1/customers/*/sources", [{"status": 200, "body": card}])
                self.assert503(form_post(path, {"customer": cus.id}, key=self.t.sk_live),
                               "could not be read")
        self.assertIsNone(stripe.PaymentMethod.retrieve(pm.id).customer)
        self.assertEqual(owner_rows("SELECT processor_id IS NULL FROM customers WHERE id = %s"
                                    % sql_id(cus.id)), [["t"]])
        # Stripe's brand and funding words it does not know: unknown, not an error.
        PEERS.script("POST", "/v1/customers/*/sources", [{"status": 200, "body": {
            "id": "card_1Odd", "brand": "Space Card", "funding": "barter", "country": "usa",
            "last4": "0005", "exp_month": 2, "exp_year": 2031, "fingerprint": "Fp1"}}])
        card = body_of(stripe.PaymentMethod.attach(pm.id, customer=cus.id))["card"]
        self.assertEqual((card["brand"], card["funding"], card["country"], card["last4"]),
                         ("unknown", "unknown", None, "0005"))

    def test_payment_intent_answers(self):
        cus = stripe.Customer.create(email=lt.unique_email("odd"))
        pm = self.live_card(cus)
        pi = stripe.PaymentIntent.create(amount=600, currency="usd", customer=cus.id)
        path = "/api/v1/payment_intents/%s/confirm" % pi.id
        for body in ({"id": "nope", "status": "succeeded"},
                     {"id": "pi_1", "status": "succeeded"},
                     {"id": "pi_1", "status": "succeeded", "latest_charge": "re_1"}):
            with self.subTest(body=body):
                PEERS.script("POST", "/v1/payment_intents", [{"status": 200, "body": body}])
                self.assert503(form_post(path, {"payment_method": pm.id}, key=self.t.sk_live),
                               "could not be read")
        self.assertEqual(stripe.PaymentIntent.retrieve(pi.id).status, "requires_payment_method")
        # A PaymentIntent Stripe left unfinished is a failed attempt, as a decline is.
        PEERS.script("POST", "/v1/payment_intents", [
            {"status": 200, "body": {"id": "pi_1Auth", "status": "requires_action"}},
            {"status": 200, "body": {"id": "pi_1Proc", "status": "processing"}}])
        with self.assertCard("authentication_required", "authentication_required",
                             "requires the customer's authentication"):
            stripe.PaymentIntent.confirm(pi.id, payment_method=pm.id)
        with self.assertCard("payment_intent_unexpected_state", None,
                             "Stripe's status: processing"):
            stripe.PaymentIntent.confirm(pi.id, payment_method=pm.id)
        keys = [r["headers"]["idempotency-key"] for r in self.requests("/v1/payment_intents")]
        self.assertEqual(keys[-2:], ["levy_%s_attempt_1" % pi.id, "levy_%s_attempt_2" % pi.id])
        # Other refusals from Stripe: its code and words.
        PEERS.script("POST", "/v1/payment_intents", [{"status": 400, "body": {"error": {
            "type": "invalid_request_error", "code": "amount_too_small",
            "message": "Amount must be at least $0.50 usd"}}}])
        with self.assertInvalid(400, "amount_too_small", None, "Stripe: Amount must be at least"):
            stripe.PaymentIntent.confirm(pi.id, payment_method=pm.id)

    def test_refund_answers(self):
        cus = stripe.Customer.create(email=lt.unique_email("odd"))
        pm = self.live_card(cus)
        pi = stripe.PaymentIntent.create(amount=900, currency="usd", customer=cus.id,
                                         payment_method=pm.id, confirm=True)
        PEERS.script("POST", "/v1/refunds", [{"status": 200, "body": {"id": "ch_1"}}])
        self.assert503(form_post("/api/v1/refunds", {"payment_intent": pi.id},
                                 key=self.t.sk_live), "could not be read")
        self.assertEqual(list(stripe.Refund.list()), [])
        PEERS.script("POST", "/v1/refunds", [
            {"status": 200, "body": {"id": "re_1Wait", "status": "requires_action"}}])
        r = stripe.Refund.create(payment_intent=pi.id, amount=100)
        self.assertEqual(r.status, "pending")

    def test_token_answer_without_account(self):
        st_, _, link = lt.post(AUTHORIZE, token=self.t.access)
        code = PEERS.authorize(link["url"])["code"]
        PEERS.script("POST", "/oauth/token", [{"status": 200, "body": {"access_token": "x"}}])
        self.assert503(lt.post(CALLBACK, {"code": code, "state": link["state"]},
                               token=self.t.access), "could not be read")
        st_, _, b = lt.get(CONNECT, token=self.t.access)
        self.assertEqual(b["stripe_account"], self.acct)

    def test_attach_refusals(self):
        cus = stripe.Customer.create(email=lt.unique_email("odd"))
        pm = stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"})
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.attach(pm.id, customer="cus_" + "N" * 20)
        # A live card with neither token nor customer (no such row levy makes): not reusable.
        odd = owner_rows("INSERT INTO payment_methods (tenant_id, livemode, brand, last4,"
                         " exp_month, exp_year, fingerprint) VALUES (%d, true, 'visa', '4242', 1,"
                         " 2030, 'x') RETURNING id" % self.t.id)[0][0]
        with self.assertInvalid(400, "parameter_invalid", "id", "may not be used again"):
            stripe.PaymentMethod.attach(odd, customer=cus.id)
        self.assertEqual(PEERS.requests(), [])


class D0DefinerFunction(ConnectCase):
    """levy_tenant_stripe_account_set(): the current tenant's owner only, acct_ ids only."""

    def call_as_app(self, tenant_id, user_id, arg):
        sql = ("BEGIN; SELECT set_config('app.tenant_id', '%d', true),"
               " set_config('app.user_id', '%d', true) \\g /dev/null\n"
               "SELECT coalesce(stripe_account_id, 'NULL') FROM levy_tenant_stripe_account_set(%s);"
               " COMMIT;" % (tenant_id, user_id, arg))
        return lt.psql(os.environ["LEVY_APP_CONNINFO"], sql, check=False)

    def test_owner_only(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        other = lt.new_tenant()
        p = self.call_as_app(t.id, admin.id, "'acct_1Admin'")
        self.assertEqual((p.returncode, p.stdout.strip()), (0, ""), p.stderr)
        p = self.call_as_app(t.id, other.user_id, "'acct_1Other'")
        self.assertEqual((p.returncode, p.stdout.strip()), (0, ""), p.stderr)
        p = self.call_as_app(t.id, t.user_id, "'acct_1 bad'")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not a Stripe account id", p.stderr)
        self.assertEqual(owner_rows("SELECT stripe_account_id IS NULL FROM tenants WHERE id = %d"
                                    % t.id), [["t"]])
        p = self.call_as_app(t.id, t.user_id, "'acct_1Owner'")
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "acct_1Owner"), p.stderr)
        p = self.call_as_app(t.id, t.user_id, "NULL")
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "NULL"), p.stderr)
        # The column itself stays out of the application's reach.
        p = lt.psql(os.environ["LEVY_APP_CONNINFO"],
                    "BEGIN; SELECT set_config('app.tenant_id', '%d', true) \\g /dev/null\n"
                    "UPDATE tenants SET stripe_account_id = 'acct_1X'; COMMIT;" % t.id,
                    check=False)
        self.assertIn("permission denied", p.stderr)


if __name__ == "__main__":
    lt.main()
