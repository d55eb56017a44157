"""The Stripe test peers behave as the Stripe Connect tests rely on.

stripe-stateful-mock (the third-party mock from the npm registry) and the
recording stand-in (tests/harness/stripe_standin.py) are what levy's Stripe
Connect processor is tested against, so they are tested first: the mock's
connected accounts, declines, refunds and idempotency; the stand-in's
PaymentIntents checked field by field against Stripe's own OpenAPI schema,
its replays, scripted failures, OAuth and record; and stripemock.py's
start/stop and levy reload.  Runs under tests/harness/with-stack.
"""

import http.client
import json
import os
import socket
import subprocess
import sys
import time
import urllib.parse

import levytest as lt
import stripemock
import stripe_standin

stripemock.require()

PEERS = None
SPEC = None


def setUpModule():
    global PEERS, SPEC
    PEERS = stripemock.start()
    stripemock.configure_levy(PEERS, secret_key="sk_test_" + "P" * 8 + lt.unique("k"),
                              client_id="ca_" + "C" * 8 + lt.unique("c"))
    SPEC = stripemock.openapi()


def need_spec(case):
    if SPEC is None:
        if stripemock.required():
            case.fail("Stripe's OpenAPI file not found (LEVY_STRIPE_OPENAPI)")
        case.skipTest("Stripe's OpenAPI file not found (LEVY_STRIPE_OPENAPI)")
    return SPEC


# ------------------------------------------------------------------ helpers


def port_open(base):
    u = urllib.parse.urlsplit(base)
    try:
        socket.create_connection((u.hostname, u.port), timeout=1).close()
        return True
    except OSError:
        return False


class PeersCase(lt.LevyTestCase):
    def setUp(self):
        self.p = PEERS
        self.p.clear()

    def account(self):
        return self.p.create_account()

    def customer(self, acct, via="standin", **form):
        call = self.p.standin if via == "standin" else self.p.mock
        body = {"email": lt.unique_email("c"), "metadata[levy_id]": lt.unique("cus_")}
        body.update(form)
        st, _, c = call("POST", "/v1/customers", body, account=acct)
        self.assertEqual(st, 200, c)
        return c["id"]

    def attach(self, acct, cus, token, want=200, via="standin"):
        call = self.p.standin if via == "standin" else self.p.mock
        st, _, card = call("POST", "/v1/customers/%s/sources" % cus, {"source": token}, account=acct)
        self.assertEqual(st, want, card)
        return card

    def charges(self, acct):
        st, _, lst = self.p.mock("GET", "/v1/charges?limit=100", account=acct)
        self.assertEqual(st, 200, lst)
        return lst["data"]

    def pi_form(self, cus, card, **over):
        form = {"amount": "2000", "currency": "usd", "customer": cus, "payment_method": card,
                "application_fee_amount": "300", "confirm": "true", "off_session": "true",
                "payment_method_types[0]": "card", "metadata[levy_payment_intent]": lt.unique("pi_"),
                "metadata[levy_invoice]": lt.unique("in_")}
        form.update(over)
        return {k: v for k, v in form.items() if v is not None}

    def pi(self, acct, form, key=None, **kw):
        return self.p.standin("POST", "/v1/payment_intents", form, account=acct,
                              idempotency_key=key, **kw)

    def assertStripeError(self, resp, status, type_, code=lt.ANY, param=lt.ANY):
        st, _, body = resp
        self.assertEqual(st, status, body)
        if SPEC is not None:
            self.assertEqual(stripemock.schema_errors(SPEC, stripemock.schema_ref("error"), body), [], body)
        err = body["error"]
        self.assertEqual(err["type"], type_, err)
        if code is not lt.ANY:
            self.assertEqual(err.get("code"), code, err)
        if param is not lt.ANY:
            self.assertEqual(err.get("param"), param, err)
        return err


# ------------------------------------------------- stripe-stateful-mock itself


class TestStatefulMock(PeersCase):
    """What the third-party mock does, as the Connect tests rely on it."""

    def test_customers_live_on_their_connected_account(self):
        a, b = self.account(), self.account()
        self.assertRegex(a, r"^acct_[0-9A-Za-z]{16}$")
        cus = self.customer(a, via="mock", description="on a")
        st, _, c = self.p.mock("GET", "/v1/customers/" + cus, account=a)
        self.assertEqual((st, c["id"], c["description"]), (200, cus, "on a"))
        for other in (b, None):
            st, _, err = self.p.mock("GET", "/v1/customers/" + cus, account=other)
            self.assertEqual((st, err["error"]["code"]), (404, "resource_missing"), other)
        st, _, err = self.p.mock("GET", "/v1/customers", account="acct_" + "0" * 16)
        self.assertEqual((st, err["error"]["code"]), (403, "account_invalid"))

    def test_keys(self):
        st, _, _ = stripemock.http_request(self.p.mock_base, "GET", "/v1/customers")
        self.assertEqual(st, 401)
        st, _, _ = self.p.mock("GET", "/v1/customers", key="sk_live_" + "x" * 24)
        self.assertEqual(st, 401)
        st, _, _ = self.p.mock("GET", "/v1/customers", key="sk_test_anything")
        self.assertEqual(st, 200)

    def test_declining_tokens_on_attach_and_charge(self):
        a = self.account()
        cus = self.customer(a, via="mock")
        st, _, err = self.p.mock("POST", "/v1/customers/%s/sources" % cus,
                                 {"source": "tok_chargeDeclined"}, account=a)
        self.assertEqual(st, 402, err)
        self.assertEqual((err["error"]["type"], err["error"]["code"], err["error"]["decline_code"]),
                         ("card_error", "card_declined", "generic_decline"))
        st, _, err = self.p.mock("POST", "/v1/customers/%s/sources" % cus,
                                 {"source": "tok_chargeDeclinedInsufficientFunds"}, account=a)
        self.assertEqual((st, err["error"]["decline_code"]), (402, "insufficient_funds"))
        fail = self.attach(a, cus, "tok_chargeCustomerFail", via="mock")
        self.assertEqual((fail["last4"], fail["brand"], fail["customer"]), ("0341", "Visa", cus))
        st, _, err = self.p.mock("POST", "/v1/charges", {"amount": 1000, "currency": "usd",
                                                        "customer": cus, "source": fail["id"]},
                                 account=a)
        self.assertEqual((st, err["error"]["code"], err["error"]["decline_code"]),
                         (402, "card_declined", "generic_decline"))
        failed = [c for c in self.charges(a) if c["id"] == err["error"]["charge"]]
        self.assertEqual([(c["status"], c["paid"]) for c in failed], [("failed", False)])

    def test_charge_and_refunds(self):
        a = self.account()
        cus = self.customer(a, via="mock")
        card = self.attach(a, cus, "tok_visa", via="mock")
        self.assertEqual((card["last4"], card["brand"]), ("4242", "Visa"))
        st, _, ch = self.p.mock("POST", "/v1/charges", {"amount": 2000, "currency": "usd",
                                                       "customer": cus, "source": card["id"]},
                                account=a)
        self.assertEqual((st, ch["status"], ch["amount"], ch["source"]["id"]),
                         (200, "succeeded", 2000, card["id"]))
        st, _, re1 = self.p.mock("POST", "/v1/refunds", {"charge": ch["id"], "amount": 500,
                                                        "refund_application_fee": "true",
                                                        "metadata[levy_refund]": "re_1"}, account=a)
        self.assertEqual((st, re1["amount"], re1["charge"], re1["metadata"]),
                         (200, 500, ch["id"], {"levy_refund": "re_1"}))
        st, _, err = self.p.mock("POST", "/v1/refunds", {"charge": ch["id"], "amount": 1501},
                                 account=a)
        self.assertEqual((st, err["error"]["param"]), (400, "amount"))
        st, _, re2 = self.p.mock("POST", "/v1/refunds", {"charge": ch["id"]}, account=a)
        self.assertEqual((st, re2["amount"]), (200, 1500))
        st, _, err = self.p.mock("POST", "/v1/refunds", {"charge": ch["id"]}, account=a)
        self.assertEqual((st, err["error"]["code"]), (400, "charge_already_refunded"))
        st, _, ch = self.p.mock("GET", "/v1/charges/" + ch["id"], account=a)
        self.assertEqual((ch["amount_refunded"], ch["refunded"]), (2000, True))
        st, _, _ = self.p.mock("POST", "/v1/refunds", {"charge": ch["id"]}, account=self.account())
        self.assertEqual(st, 404)

    def test_idempotent_retry_charges_once(self):
        a = self.account()
        cus = self.customer(a, via="mock")
        card = self.attach(a, cus, "tok_visa", via="mock")
        form = {"amount": 2000, "currency": "usd", "customer": cus, "source": card["id"]}
        st1, h1, ch1 = self.p.mock("POST", "/v1/charges", form, account=a, idempotency_key="k-1")
        st2, h2, ch2 = self.p.mock("POST", "/v1/charges", form, account=a, idempotency_key="k-1")
        self.assertEqual((st1, st2, ch2["id"]), (200, 200, ch1["id"]))
        self.assertIsNone(h1.get("Idempotent-Replayed"))
        self.assertEqual(h2.get("Idempotent-Replayed"), "true")
        self.assertEqual([c["id"] for c in self.charges(a)], [ch1["id"]])
        st, _, err = self.p.mock("POST", "/v1/charges", dict(form, amount=2001), account=a,
                                 idempotency_key="k-1")
        self.assertEqual((st, err["error"]["type"]), (400, "idempotency_error"))
        self.assertEqual(len(self.charges(a)), 1)


# ---------------------------------------------------------------- the stand-in


class TestSchemaChecker(PeersCase):
    """The schema check finds what breaks Stripe's schema (else the checks above prove nothing)."""

    def test_finds_each_kind_of_break(self):
        spec = need_spec(self)
        acct = self.account()
        cus = self.customer(acct)
        card = self.attach(acct, cus, "tok_visa")["id"]
        st, _, pi = self.pi(acct, self.pi_form(cus, card))
        self.assertEqual(st, 200, pi)
        ref = stripemock.schema_ref("payment_intent")
        self.assertEqual(stripemock.schema_errors(spec, ref, pi), [])
        breaks = {
            "required field currency is missing": {k: v for k, v in pi.items() if k != "currency"},
            "not in enum": dict(pi, status="paid"),
            "field source is not in the schema": dict(pi, source=None),
            "null, but not nullable": dict(pi, amount=None),
            "is not of type integer": dict(pi, amount="2000"),
            "$.latest_charge: 5 is not of type string": dict(pi, latest_charge=5),
            "matches no alternative": dict(pi, payment_method_options={"card": 5}),
            "$.payment_method_types[0]": dict(pi, payment_method_types=[7]),
            "$.metadata.k": dict(pi, metadata={"k": 1}),
            "$.last_payment_error: required field type": dict(pi, last_payment_error={}),
        }
        for want, bad in breaks.items():
            errs = stripemock.schema_errors(spec, ref, bad)
            self.assertTrue(any(want in e for e in errs), "%s: %s" % (want, errs))
        self.assertEqual(stripemock.schema_errors(spec, ref, dict(pi, amount=True)),
                         ["$.amount: True is not of type integer"])


class TestStandinPaymentIntents(PeersCase):
    def setUp(self):
        super().setUp()
        self.acct = self.account()
        self.cus = self.customer(self.acct)
        self.card = self.attach(self.acct, self.cus, "tok_visa")["id"]

    def test_create_params_are_stripes(self):
        spec = need_spec(self)
        body = spec["paths"]["/v1/payment_intents"]["post"]["requestBody"]["content"]
        props = body["application/x-www-form-urlencoded"]["schema"]["properties"]
        self.assertEqual(set(props), set(stripe_standin.PI_CREATE_PARAMS))

    def test_success_in_stripes_schema_charges_on_the_mock(self):
        spec = need_spec(self)
        form = self.pi_form(self.cus, self.card)
        st, h, pi = self.pi(self.acct, form, key="levy_pi_x_attempt_1")
        self.assertEqual(st, 200, pi)
        self.assertEqual(stripemock.schema_errors(spec, stripemock.schema_ref("payment_intent"), pi), [])
        self.assertRegex(pi["id"], r"^pi_[0-9A-Za-z]{24}$")
        self.assertTrue(h["Request-Id"].startswith("req_"))
        self.assertEqual((pi["status"], pi["amount"], pi["amount_received"], pi["currency"],
                          pi["customer"], pi["payment_method"], pi["application_fee_amount"],
                          pi["livemode"], pi["payment_method_types"], pi["last_payment_error"]),
                         ("succeeded", 2000, 2000, "usd", self.cus, self.card, 300, False,
                          ["card"], None))
        self.assertEqual(pi["metadata"], {"levy_payment_intent": form["metadata[levy_payment_intent]"],
                                          "levy_invoice": form["metadata[levy_invoice]"]})
        self.assertTrue(pi["client_secret"].startswith(pi["id"] + "_secret_"))
        charges = self.charges(self.acct)
        self.assertEqual([c["id"] for c in charges], [pi["latest_charge"]])
        self.assertEqual((charges[0]["amount"], charges[0]["source"]["id"], charges[0]["metadata"]),
                         (2000, self.card, pi["metadata"]))
        st, _, got = self.p.standin("GET", "/v1/payment_intents/" + pi["id"], account=self.acct)
        self.assertEqual((st, got), (200, pi))
        st, _, _ = self.p.standin("GET", "/v1/payment_intents/" + pi["id"], account=self.account())
        self.assertEqual(st, 404)
        # The charge went to the mock with levy's key and headers passed through.
        st, _, replay = self.p.mock("POST", "/v1/charges", {
            "amount": "2000", "currency": "usd", "customer": self.cus, "source": self.card,
            "metadata[levy_payment_intent]": form["metadata[levy_payment_intent]"],
            "metadata[levy_invoice]": form["metadata[levy_invoice]"]},
            account=self.acct, idempotency_key="levy_pi_x_attempt_1")
        self.assertEqual((st, replay["id"]), (200, pi["latest_charge"]))

    def test_without_confirm_nothing_is_charged(self):
        spec = need_spec(self)
        st, _, pi = self.pi(self.acct, self.pi_form(self.cus, self.card, confirm=None,
                                                    off_session=None))
        self.assertEqual((st, pi["status"], pi["latest_charge"]), (200, "requires_confirmation", None))
        self.assertEqual(stripemock.schema_errors(spec, stripemock.schema_ref("payment_intent"), pi), [])
        st, _, pi = self.pi(self.acct, self.pi_form(self.cus, None, confirm="false",
                                                    off_session=None))
        self.assertEqual((st, pi["status"]), (200, "requires_payment_method"))
        self.assertEqual(self.charges(self.acct), [])

    def test_manual_capture(self):
        st, _, pi = self.pi(self.acct, self.pi_form(self.cus, self.card, capture_method="manual"))
        self.assertEqual((st, pi["status"], pi["amount_capturable"], pi["amount_received"]),
                         (200, "requires_capture", 2000, 0))
        self.assertEqual([c["captured"] for c in self.charges(self.acct)], [False])

    def test_real_decline_is_stripes_402_with_the_intent(self):
        spec = need_spec(self)
        fail = self.attach(self.acct, self.cus, "tok_chargeCustomerFail")["id"]
        resp = self.pi(self.acct, self.pi_form(self.cus, fail), key="levy_pi_d_attempt_1")
        err = self.assertStripeError(resp, 402, "card_error", code="card_declined")
        self.assertEqual((err["decline_code"], err["message"]), ("generic_decline",
                                                                 "Your card was declined."))
        pi = err["payment_intent"]
        self.assertEqual(stripemock.schema_errors(spec, stripemock.schema_ref("payment_intent"), pi), [])
        self.assertEqual((pi["status"], pi["latest_charge"], pi["amount_received"]),
                         ("requires_payment_method", err["charge"], 0))
        self.assertEqual((pi["last_payment_error"]["decline_code"],
                          pi["last_payment_error"]["type"]), ("generic_decline", "card_error"))
        self.assertEqual([(c["id"], c["status"]) for c in self.charges(self.acct)],
                         [(err["charge"], "failed")])
        st, _, got = self.p.standin("GET", "/v1/payment_intents/" + pi["id"], account=self.acct)
        self.assertEqual((st, got["status"]), (200, "requires_payment_method"))
        # The declined token's card: 402 on attach, as Stripe.
        err = self.assertStripeError(
            self.p.standin("POST", "/v1/customers/%s/sources" % self.cus,
                           {"source": "tok_chargeDeclined"}, account=self.acct),
            402, "card_error", code="card_declined")
        self.assertEqual(err["decline_code"], "generic_decline")

    def test_replay_conflict_and_accounts(self):
        form = self.pi_form(self.cus, self.card)
        st1, h1, pi1 = self.pi(self.acct, form, key="levy_pi_r_attempt_1")
        st2, h2, pi2 = self.pi(self.acct, form, key="levy_pi_r_attempt_1")
        self.assertEqual((st1, st2), (200, 200))
        self.assertEqual(pi2, pi1)
        self.assertIsNone(h1.get("Idempotent-Replayed"))
        self.assertEqual(h2.get("Idempotent-Replayed"), "true")
        self.assertEqual(h2.get("Original-Request"), h1.get("Request-Id"))
        self.assertEqual(len(self.charges(self.acct)), 1)
        self.assertStripeError(self.pi(self.acct, dict(form, amount="2100"),
                                       key="levy_pi_r_attempt_1"), 400, "idempotency_error")
        st, _, pi3 = self.pi(self.acct, form, key="levy_pi_r_attempt_2")
        self.assertEqual(st, 200)
        self.assertNotEqual(pi3["id"], pi1["id"])
        self.assertEqual(len(self.charges(self.acct)), 2)
        # The same key on another account is another request.
        b = self.account()
        cus_b = self.customer(b)
        card_b = self.attach(b, cus_b, "tok_visa")["id"]
        st, _, pib = self.pi(b, self.pi_form(cus_b, card_b), key="levy_pi_r_attempt_1")
        self.assertEqual(st, 200)
        self.assertNotEqual(pib["id"], pi1["id"])
        self.assertEqual(len(self.charges(b)), 1)

    def test_stripes_parameter_errors(self):
        self.assertStripeError(self.pi(self.acct, self.pi_form(self.cus, self.card, amout="1")),
                               400, "invalid_request_error", code="parameter_unknown", param="amout")
        self.assertStripeError(self.pi(self.acct, self.pi_form(self.cus, self.card, amount=None)),
                               400, "invalid_request_error", code="parameter_missing", param="amount")
        self.assertStripeError(self.pi(self.acct, self.pi_form(self.cus, self.card, currency=None)),
                               400, "invalid_request_error", code="parameter_missing",
                               param="currency")
        self.assertStripeError(self.pi(self.acct, self.pi_form(self.cus, self.card, amount="-5")),
                               400, "invalid_request_error", param="amount")
        # A platform fee only on a direct charge (Stripe-Account).
        self.assertStripeError(self.pi(None, self.pi_form(self.cus, self.card)), 400,
                               "invalid_request_error", param="application_fee_amount")
        self.assertStripeError(
            self.pi(self.acct, self.pi_form(self.cus, self.card, application_fee_amount="2001")),
            400, "invalid_request_error", param="application_fee_amount")
        self.assertStripeError(self.pi(self.acct, self.pi_form(self.cus, self.card, confirm=None)),
                               400, "invalid_request_error", param="off_session")
        self.assertStripeError(self.pi(self.acct, self.pi_form(self.cus, "card_" + "x" * 24)), 400,
                               "invalid_request_error", code="resource_missing",
                               param="payment_method")
        self.assertStripeError(self.pi(self.acct, self.pi_form("cus_" + "x" * 14, self.card)), 400,
                               "invalid_request_error", code="resource_missing", param="customer")
        bare = self.customer(self.acct)
        self.assertStripeError(self.pi(self.acct, self.pi_form(bare, None)), 400,
                               "invalid_request_error", param="payment_method")
        self.assertStripeError(self.pi(self.acct, self.pi_form(self.cus, self.card, amount="20",
                                                             application_fee_amount="5")),
                               400, "invalid_request_error", code="amount_too_small")
        self.assertEqual(self.charges(self.acct), [])
        # Errors caused by the parameters are not stored for the key.
        self.assertEqual(self.pi(self.acct, self.pi_form(self.cus, self.card, amount=None),
                                 key="levy_pi_e_attempt_1")[0], 400)
        self.assertEqual(self.pi(self.acct, self.pi_form(self.cus, self.card),
                                 key="levy_pi_e_attempt_1")[0], 200)

    def test_keys_are_checked(self):
        form = self.pi_form(self.cus, self.card)
        self.assertEqual(self.pi(self.acct, form, key=None, headers={"Authorization": ""})[0], 401)
        for path in ("/v1/payment_intents", "/v1/customers"):
            st, _, err = self.p.standin("POST", path, form, account=self.acct,
                                        key="sk_test_" + "w" * 24)
            self.assertEqual((st, err["error"]["type"]), (401, "invalid_request_error"), path)
            self.assertNotIn("w" * 24, err["error"]["message"])
        self.assertEqual(self.charges(self.acct), [])


class TestStandinScripts(PeersCase):
    def setUp(self):
        super().setUp()
        self.acct = self.account()
        self.cus = self.customer(self.acct)
        self.card = self.attach(self.acct, self.cus, "tok_visa")["id"]

    def tearDown(self):
        self.p.clear()

    def test_429_and_500_then_the_same_key_charges_once(self):
        self.p.script("POST", "/v1/payment_intents", ["status:429", "status:500", "status:503"])
        form = self.pi_form(self.cus, self.card)
        err = self.assertStripeError(self.pi(self.acct, form, key="levy_pi_s_attempt_1"), 429,
                                     "invalid_request_error", code="rate_limit")
        self.assertIn("rate limit", err["message"])
        self.assertStripeError(self.pi(self.acct, form, key="levy_pi_s_attempt_1"), 500, "api_error")
        self.assertStripeError(self.pi(self.acct, form, key="levy_pi_s_attempt_1"), 503, "api_error")
        self.assertEqual(self.charges(self.acct), [])
        self.assertEqual(self.p.scripts(), [])
        st, _, pi = self.pi(self.acct, form, key="levy_pi_s_attempt_1")
        self.assertEqual((st, pi["status"]), (200, "succeeded"))
        st, h, again = self.pi(self.acct, form, key="levy_pi_s_attempt_1")
        self.assertEqual((st, again["id"], h.get("Idempotent-Replayed")), (200, pi["id"], "true"))
        self.assertEqual(len(self.charges(self.acct)), 1)
        recs = self.p.requests("/v1/payment_intents")
        self.assertEqual([(r["status"], r.get("scripted")) for r in recs],
                         [(429, "status:429"), (500, "status:500"), (503, "status:503"),
                          (200, None), (200, None)])
        self.assertEqual([r.get("replayed", False) for r in recs], [False] * 4 + [True])

    def test_scripted_decline_is_stored_like_a_real_one(self):
        spec = need_spec(self)
        self.p.script("POST", "/v1/payment_intents", ["decline:insufficient_funds"])
        form = self.pi_form(self.cus, self.card)
        err = self.assertStripeError(self.pi(self.acct, form, key="levy_pi_sd_attempt_1"), 402,
                                     "card_error", code="card_declined")
        self.assertEqual((err["decline_code"], err["message"]),
                         ("insufficient_funds", "Your card has insufficient funds."))
        pi = err["payment_intent"]
        self.assertEqual(stripemock.schema_errors(spec, stripemock.schema_ref("payment_intent"), pi), [])
        self.assertEqual((pi["status"], pi["last_payment_error"]["decline_code"]),
                         ("requires_payment_method", "insufficient_funds"))
        st, h, again = self.pi(self.acct, form, key="levy_pi_sd_attempt_1")
        self.assertEqual((st, again["error"]["payment_intent"]["id"], h.get("Idempotent-Replayed")),
                         (402, pi["id"], "true"))
        # Scripted answers go one per request, replays included.
        self.p.script("POST", "/v1/payment_intents", ["decline:expired_card"])
        err = self.assertStripeError(self.pi(self.acct, form, key="levy_pi_sd_attempt_2"), 402,
                                     "card_error", code="expired_card")
        self.assertEqual(err["decline_code"], "expired_card")
        self.assertEqual(self.charges(self.acct), [])
        # Elsewhere a scripted decline is a plain card error.
        self.p.script("POST", "/v1/customers/*/sources", ["decline:generic_decline"])
        err = self.assertStripeError(
            self.p.standin("POST", "/v1/customers/%s/sources" % self.cus, {"source": "tok_visa"},
                           account=self.acct), 402, "card_error", code="card_declined")
        self.assertNotIn("payment_intent", err)

    def test_delay_times_out_a_client_and_the_retry_charges_once(self):
        self.p.script("POST", "/v1/payment_intents", ["delay:3"])
        form = self.pi_form(self.cus, self.card)
        body = urllib.parse.urlencode(form).encode()
        hdrs = {"Authorization": "Bearer " + self.p.secret_key, "Stripe-Account": self.acct,
                "Idempotency-Key": "levy_pi_t_attempt_1",
                "Content-Type": "application/x-www-form-urlencoded"}
        t0 = time.monotonic()
        with self.assertRaises(socket.timeout):
            stripemock.http_request(self.p.api_base, "POST", "/v1/payment_intents", body, hdrs,
                                    timeout=0.5)
        self.assertLess(time.monotonic() - t0, 2.5)
        st, _, pi = self.pi(self.acct, form, key="levy_pi_t_attempt_1")
        self.assertEqual((st, pi["status"]), (200, "succeeded"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            recs = self.p.requests("/v1/payment_intents")
            if all(r["status"] is not None for r in recs):
                break
            time.sleep(0.05)
        self.assertEqual([(r["status"], r.get("replayed", False)) for r in recs],
                         [(200, True), (200, False)])
        self.assertEqual(len(self.charges(self.acct)), 1)

    def test_drop_closes_the_connection(self):
        self.p.clear()
        self.p.script("POST", "/v1/customers", ["drop", "ok"])
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            self.p.standin("POST", "/v1/customers", {"email": "d@example.com"}, account=self.acct)
        st, _, c = self.p.standin("POST", "/v1/customers", {"email": "d@example.com"},
                                  account=self.acct)
        self.assertEqual((st, c["email"]), (200, "d@example.com"))
        self.assertEqual([(r["status"], r.get("scripted")) for r in self.p.requests("/v1/customers")],
                         [(0, "drop"), (200, "ok")])

    def test_patterns_raw_answers_and_replacing(self):
        self.p.script("POST", "/v1/customers/*/sources", [
            {"status": 502, "raw": "<html>bad gateway</html>",
             "headers": {"Content-Type": "text/html"}},
            {"status": 200, "body": {"id": "card_scripted"}, "headers": {"X-Extra": "1"}}])
        path = "/v1/customers/%s/sources" % self.cus
        u = urllib.parse.urlsplit(self.p.api_base)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
        conn.request("POST", path, body=b"source=tok_visa",
                     headers={"Authorization": "Bearer " + self.p.secret_key,
                              "Content-Type": "application/x-www-form-urlencoded",
                              "Stripe-Account": self.acct})
        resp = conn.getresponse()
        self.assertEqual((resp.status, resp.getheader("Content-Type"), resp.read()),
                         (502, "text/html", b"<html>bad gateway</html>"))
        conn.close()
        st, h, obj = self.p.standin("POST", path, {"source": "tok_visa"}, account=self.acct)
        self.assertEqual((st, obj, h.get("X-Extra")), (200, {"id": "card_scripted"}, "1"))
        self.assertEqual(self.attach(self.acct, self.cus, "tok_visa")["last4"], "4242")
        # A new script for the same method and path replaces what was left.
        self.p.script("GET", "/v1/customers", ["status:500", "status:500"])
        self.p.script("GET", "/v1/customers", ["status:429"])
        self.assertEqual(self.p.scripts(), [{"method": "GET", "path": "/v1/customers",
                                             "answers": ["status:429"]}])
        self.assertEqual(self.p.standin("GET", "/v1/customers", account=self.acct)[0], 429)
        self.assertEqual(self.p.standin("GET", "/v1/customers", account=self.acct)[0], 200)
        # Another method is another script.
        self.p.script("POST", "/v1/refunds", ["status:500"])
        self.assertEqual(self.p.standin("GET", "/v1/refunds", account=self.acct)[0], 200)
        self.assertEqual(len(self.p.scripts()), 1)
        self.p.clear(scripts=False)
        self.assertEqual(len(self.p.scripts()), 1)
        self.p.clear()
        self.assertEqual(self.p.scripts(), [])

    def test_bad_scripts_are_refused(self):
        for bad in ("status:99", "status:abc", "delay:x", "decline:", "explode",
                    {"body": {}}, {"status": 200, "raw": 5}, 42):
            with self.assertRaises(AssertionError, msg=repr(bad)):
                self.p.script("POST", "/v1/payment_intents", [bad])
        with self.assertRaises(AssertionError):
            self.p.script("POST", "v1/no-slash", ["ok"])
        self.assertEqual(self.p.scripts(), [])


class TestStandinOAuth(PeersCase):
    def token(self, code, key=None, **form):
        body = {"grant_type": "authorization_code", "code": code}
        body.update(form)
        return self.p.standin("POST", "/oauth/token", {k: v for k, v in body.items() if v is not None},
                              key=key)

    def deauthorize(self, acct, client_id=None, key=None):
        return self.p.standin("POST", "/oauth/deauthorize",
                              {"client_id": client_id or self.p.client_id, "stripe_user_id": acct},
                              key=key)

    def test_token_connects_a_new_account_once(self):
        st, _, tok = self.token(self.p.oauth_code())
        self.assertEqual(st, 200, tok)
        self.assertEqual(set(tok), {"access_token", "livemode", "refresh_token", "scope",
                                    "stripe_publishable_key", "stripe_user_id", "token_type"})
        self.assertEqual((tok["token_type"], tok["scope"], tok["livemode"]),
                         ("bearer", "read_write", False))
        self.assertRegex(tok["stripe_user_id"], r"^acct_[0-9A-Za-z]{16}$")
        self.assertTrue(tok["access_token"].startswith("sk_test_"))
        self.assertTrue(tok["stripe_publishable_key"].startswith("pk_test_"))
        acct = tok["stripe_user_id"]
        st, _, a = self.p.mock("GET", "/v1/accounts/" + acct)
        self.assertEqual((st, a["id"], a["type"]), (200, acct, "standard"))
        self.customer(acct)
        rec = self.p.requests("/oauth/token")[0]
        self.assertEqual(rec["headers"]["authorization"], "Bearer " + self.p.secret_key)

    def test_token_errors(self):
        code = self.p.oauth_code()
        self.assertEqual(self.token(code)[0], 200)
        st, _, err = self.token(code)
        self.assertEqual((st, err["error"]), (400, "invalid_grant"))
        self.assertIn("already been used", err["error_description"])
        st, _, err = self.token("ac_" + "n" * 32)
        self.assertEqual((st, err), (400, {"error": "invalid_grant", "error_description":
                                           "Authorization code does not exist: ac_" + "n" * 32}))
        code = self.p.oauth_code()
        st, _, err = self.token(code, key="sk_test_" + "z" * 24)
        self.assertEqual((st, err["error"]), (401, "invalid_client"))
        st, _, err = self.token(code, grant_type="refresh_token")
        self.assertEqual((st, err["error"]), (400, "unsupported_grant_type"))
        st, _, err = self.token(None, grant_type=None)
        self.assertEqual((st, err["error"]), (400, "invalid_request"))
        # None of those used the code up.
        self.assertEqual(self.token(code)[0], 200)

    def test_code_for_an_existing_account(self):
        acct = self.account()
        st, _, tok = self.token(self.p.oauth_code(account=acct, scope="read_only"))
        self.assertEqual((st, tok["stripe_user_id"], tok["scope"]), (200, acct, "read_only"))

    def test_deauthorize_revokes_access(self):
        acct = self.token(self.p.oauth_code())[2]["stripe_user_id"]
        cus = self.customer(acct)
        st, _, err = self.deauthorize(acct, client_id="ca_" + "o" * 20)
        self.assertEqual((st, err["error"]), (401, "invalid_client"))
        st, _, err = self.deauthorize(acct, key="sk_test_" + "z" * 24)
        self.assertEqual((st, err["error"]), (401, "invalid_client"))
        st, _, _ = self.p.standin("GET", "/v1/customers/" + cus, account=acct)
        self.assertEqual(st, 200)
        st, _, out = self.deauthorize(acct)
        self.assertEqual((st, out), (200, {"stripe_user_id": acct}))
        for method, path in (("GET", "/v1/customers/" + cus), ("POST", "/v1/payment_intents")):
            st, _, err = self.p.standin(method, path, {} if method == "POST" else None, account=acct)
            self.assertEqual((st, err["error"]["code"]), (403, "account_invalid"), path)
        st, _, err = self.deauthorize(acct)
        self.assertEqual((st, err["error"]), (401, "invalid_client"))
        st, _, err = self.p.standin("POST", "/oauth/deauthorize", {"client_id": self.p.client_id})
        self.assertEqual((st, err["error"]), (400, "invalid_request"))
        # Connecting it again gives access back.
        st, _, tok = self.token(self.p.oauth_code(account=acct))
        self.assertEqual(st, 200)
        self.assertEqual(self.p.standin("GET", "/v1/customers/" + cus, account=acct)[0], 200)

    def test_authorize_as_a_user(self):
        q = {"response_type": "code", "client_id": self.p.client_id, "scope": "read_write",
             "state": "st4te"}
        url = self.p.connect_base + "/oauth/authorize?" + urllib.parse.urlencode(q)
        out = self.p.authorize(url)
        self.assertEqual((out["state"], out["scope"]), ("st4te", "read_write"))
        self.assertEqual(self.token(out["code"])[0], 200)
        redir = url + "&" + urllib.parse.urlencode({"redirect_uri": "https://app.example/cb?x=1"})
        out = self.p.authorize(redir)
        self.assertEqual(out["state"], "st4te")
        rec = self.p.requests("/oauth/authorize")[-1]
        self.assertEqual(rec["status"], 302)
        self.assertEqual(self.token(out["code"])[0], 200)
        out = self.p.authorize(url, deny=True)
        self.assertEqual((out["error"], out["state"]), ("access_denied", "st4te"))
        self.assertNotIn("code", out)
        bad = url.replace(urllib.parse.quote(self.p.client_id), "ca_other")
        with self.assertRaises(AssertionError):
            self.p.authorize(bad)
        with self.assertRaises(AssertionError):
            self.p.authorize(url.replace("response_type=code", "response_type=token"))
        with self.assertRaises(AssertionError):
            self.p.authorize("https://connect.stripe.com/oauth/authorize?x=1")


class TestRecordAndProxy(PeersCase):
    def test_record(self):
        acct = self.account()
        body = ("email=r%40example.com&metadata%5Blevy_id%5D=cus_R1&expand[]=sources"
                "&expand[]=subscriptions").encode()
        st, _, c = stripemock.http_request(self.p.api_base, "POST", "/v1/customers", body, {
            "Authorization": "Bearer " + self.p.secret_key, "Stripe-Account": acct,
            "Stripe-Version": "2023-08-16", "Idempotency-Key": "levy_mirror_cus_R1",
            "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((st, c["metadata"], c["email"]), (200, {"levy_id": "cus_R1"}, "r@example.com"))
        self.assertIn("sources", c)  # the proxy passed the expand[] through unchanged
        st, _, lst = self.p.standin("GET", "/v1/customers?email=r%40example.com&limit=3",
                                    account=acct)
        self.assertEqual([x["id"] for x in lst["data"]], [c["id"]])
        recs = self.p.requests()
        self.assertEqual([(r["method"], r["path"], r["status"]) for r in recs],
                         [("POST", "/v1/customers", 200), ("GET", "/v1/customers", 200)])
        r = recs[0]
        self.assertEqual(r["form"], {"email": "r@example.com", "metadata[levy_id]": "cus_R1",
                                     "expand[]": "subscriptions"})
        self.assertEqual(r["pairs"], [["email", "r@example.com"], ["metadata[levy_id]", "cus_R1"],
                                      ["expand[]", "sources"], ["expand[]", "subscriptions"]])
        self.assertEqual(r["body"], body.decode())
        self.assertEqual((r["headers"]["stripe-account"], r["headers"]["idempotency-key"],
                          r["headers"]["stripe-version"], r["headers"]["authorization"]),
                         (acct, "levy_mirror_cus_R1", "2023-08-16", "Bearer " + self.p.secret_key))
        self.assertTrue(all(k == k.lower() for k in r["headers"]))
        self.assertEqual(recs[1]["query"], {"email": "r@example.com", "limit": "3"})
        self.assertEqual(recs[1]["form"], {})
        self.assertLess(recs[0]["seq"], recs[1]["seq"])
        self.assertEqual(len(self.p.requests("/v1/customers")), 2)
        self.assertEqual(self.p.requests("/v1/charges"), [])
        self.assertEqual(len(self.p.requests("/v1/cust*")), 2)
        # Control calls are never recorded.
        self.assertFalse([x for x in self.p.requests() if x["path"].startswith("/_standin")])
        self.p.clear()
        self.assertEqual(self.p.requests(), [])

    def test_proxy_passes_the_mocks_answers_through(self):
        st, h, err = self.p.standin("GET", "/v1/invoices", account=self.account())
        self.assertEqual(st, 404)
        self.assertEqual(err["error"]["message"], "No matching path: /v1/invoices")
        self.assertTrue(h["Request-Id"].startswith("req_"))
        st, _, err = self.p.standin("GET", "/v1/customers", account="acct_" + "9" * 16)
        self.assertEqual((st, err["error"]["code"]), (403, "account_invalid"))


# ------------------------------------------------------------- stripemock.py


class TestLifecycle(PeersCase):
    def test_start_and_stop(self):
        p2 = stripemock.start()
        self.assertNotEqual(p2.api_base, self.p.api_base)
        self.assertTrue(p2.alive())
        self.assertTrue(port_open(p2.api_base) and port_open(p2.mock_base))
        for base in (p2.api_base, p2.mock_base):
            self.assertTrue(base.startswith("http://127.0.0.1:"), base)
        # Before configure_levy the stand-in takes any test key.
        self.assertEqual(p2.standin("GET", "/v1/customers", key="sk_test_any")[0], 200)
        p2.stop()
        self.assertFalse(p2.alive())
        self.assertFalse(port_open(p2.api_base) or port_open(p2.mock_base))

    def test_servers_end_with_the_test_process(self):
        code = ("import json, os, stripemock\n"
                "p = stripemock.start()\n"
                "print(json.dumps([p.api_base, p.mock_base]), flush=True)\n"
                "os._exit(0)\n")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        bases = json.loads(out.stdout)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(port_open(b) for b in bases):
            time.sleep(0.1)
        self.assertFalse([b for b in bases if port_open(b)])

    def test_missing_mock_skips_or_fails(self):
        code = "import stripemock\nstripemock.start()\nprint('started')\n"
        env = dict(os.environ, LEVY_NODE="/nonexistent/node")
        env.pop("LEVY_REQUIRE_STRIPE_MOCK", None)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=60)
        self.assertEqual(out.returncode, 77, out.stderr)
        self.assertIn("SKIP", out.stderr)
        self.assertNotIn("started", out.stdout)
        env["LEVY_REQUIRE_STRIPE_MOCK"] = "1"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env=env, timeout=60)
        self.assertEqual(out.returncode, 1, out.stderr)
        self.assertIn("LEVY_REQUIRE_STRIPE_MOCK=1", out.stderr)
        self.assertEqual(stripemock.available(), (True, ""))


class TestConfigureLevy(PeersCase):
    def conf(self):
        with open(os.environ["LEVY_CONF"], encoding="utf-8") as f:
            return f.read()

    def tearDown(self):
        stripemock.configure_levy(self.p, secret_key=self.saved[0], client_id=self.saved[1])

    def setUp(self):
        super().setUp()
        self.saved = (self.p.secret_key, self.p.client_id)

    def test_writes_one_group_and_reloads(self):
        pid = stripemock.levy_master_pid()
        before = stripemock._children(pid)
        self.assertTrue(before)
        stripemock.configure_levy(self.p, timeout_ms=1500)
        after = stripemock._children(pid)
        self.assertTrue(after)
        self.assertFalse(before & after, "every worker is of the new configuration")
        text = self.conf()
        lt._conf_cache.clear()
        self.assertEqual(text.count("stripe = {"), 1)
        self.assertEqual(lt.conf_setting("stripe", "api_base"), self.p.api_base)
        self.assertEqual(lt.conf_setting("stripe", "connect_base"), self.p.connect_base)
        self.assertEqual(lt.conf_setting("stripe", "secret_key"), self.p.secret_key)
        self.assertEqual(lt.conf_setting("stripe", "client_id"), self.p.client_id)
        self.assertIn("timeout_ms = 1500;", text)
        self.assertRegex(self.p.secret_key, r"^sk_test_[0-9A-Za-z]{24}$")
        self.assertRegex(self.p.client_id, r"^ca_[0-9A-Za-z]{32}$")
        self.assertEqual(oct(os.stat(os.environ["LEVY_CONF"]).st_mode & 0o777), "0o600")
        self.assertTrue(lt.healthy())
        # The stand-in now takes only the configured key.
        st, _, _ = self.p.standin("GET", "/v1/customers", key="sk_test_" + "q" * 24)
        self.assertEqual(st, 401)
        self.assertEqual(self.p.standin("GET", "/v1/customers")[0], 200)

    def test_a_refused_configuration_is_reported(self):
        with self.assertRaises(AssertionError) as cm:
            stripemock.configure_levy(self.p, timeout_ms=1)
        self.assertIn("stripe.timeout_ms", str(cm.exception))
        self.assertTrue(lt.healthy())


if __name__ == "__main__":
    lt.main()
