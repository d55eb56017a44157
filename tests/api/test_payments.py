#!/usr/bin/python3
"""Payments driven by python3-stripe against levy's built-in test processor: payment intents
(/v1/payment_intents: create with confirm, confirm, cancel, update, list), the charges each attempt
leaves (/v1/charges, read-only) and refunds (/v1/refunds).  The platform fee on a table of amounts
and fee percentages (half to even), every declining test card with Stripe's card_error and the
state it leaves, partial refunds whose fee shares add up exactly, refusals of over-refunds,
idempotent replays that charge once, concurrent confirms and refunds, events, and isolation
between tenants and modes."""

import json
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import events_of, fee_of, half_even, owner_rows, sql_id  # noqa: E402

import stripe  # noqa: E402

PIS = "/api/v1/payment_intents"
CHARGES = "/api/v1/charges"
REFUNDS = "/api/v1/refunds"

# Stripe's schemas (API 2023-08-16): every required property, and every property there is.
PI_REQUIRED = {"amount", "capture_method", "confirmation_method", "created", "currency", "id",
               "livemode", "object", "payment_method_types", "status"}
PI_KEYS = PI_REQUIRED | {
    "amount_capturable", "amount_details", "amount_received", "application",
    "application_fee_amount", "automatic_payment_methods", "canceled_at", "cancellation_reason",
    "client_secret", "customer", "description", "invoice", "last_payment_error", "latest_charge",
    "metadata", "next_action", "on_behalf_of", "payment_method", "payment_method_options",
    "processing", "receipt_email", "review", "setup_future_usage", "shipping",
    "statement_descriptor", "statement_descriptor_suffix", "transfer_data", "transfer_group"}
CHARGE_REQUIRED = {"amount", "amount_captured", "amount_refunded", "billing_details", "captured",
                   "created", "currency", "disputed", "id", "livemode", "metadata", "object",
                   "paid", "refunded", "status"}
CHARGE_KEYS = CHARGE_REQUIRED | {
    "application", "application_fee", "application_fee_amount", "balance_transaction",
    "calculated_statement_descriptor", "customer", "description", "failure_balance_transaction",
    "failure_code", "failure_message", "fraud_details", "invoice", "on_behalf_of", "outcome",
    "payment_intent", "payment_method", "payment_method_details", "radar_options",
    "receipt_email", "receipt_number", "receipt_url", "refunds", "review", "shipping",
    "source_transfer", "statement_descriptor", "statement_descriptor_suffix", "transfer",
    "transfer_data", "transfer_group",
    # levy's addition: what refunds returned of the platform's fee.
    "application_fee_refunded"}
REFUND_REQUIRED = {"amount", "created", "currency", "id", "object"}
REFUND_KEYS = REFUND_REQUIRED | {
    "balance_transaction", "charge", "description", "failure_balance_transaction",
    "failure_reason", "instructions_email", "metadata", "next_action", "payment_intent",
    "reason", "receipt_number", "source_transfer_reversal", "status", "transfer_reversal",
    # levy's addition: the part of the platform's fee this refund returned.
    "application_fee_refunded"}

# Cards whose every charge declines: (test id, code, decline_code, message), as Stripe answers.
DECLINING = [
    ("pm_card_chargeDeclined", "card_declined", "generic_decline", "Your card was declined."),
    ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds",
     "Your card has insufficient funds."),
    ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card", "Your card was declined."),
    ("pm_card_chargeDeclinedStolenCard", "card_declined", "stolen_card",
     "Your card was declined."),
    ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card",
     "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "incorrect_cvc", "incorrect_cvc",
     "Your card's security code is incorrect."),
    ("pm_card_chargeDeclinedProcessingError", "processing_error", "processing_error",
     "An error occurred while processing your card. Try again in a little bit."),
]

MSG_DETACHED = ("This PaymentMethod was previously used without being attached to a Customer or "
                "was detached from a Customer, and may not be used again.")
MSG_NO_ACCOUNT = ("Live-mode payments need a connected Stripe account. Connect your Stripe "
                  "account in the dashboard (owner only), or use a test-mode key.")
# The test stack's levy.conf names no platform Stripe key (test_connect.py configures one).
MSG_CONNECT_LATER = ("Live-mode payments through Stripe Connect are not configured on this levy "
                     "platform (it has no Stripe secret key). Contact the platform operator, or "
                     "use a test-mode key.")






def body_of(obj):
    """The exact JSON levy answered for an SDK call."""
    return json.loads(obj.last_response.body)


def event_types(object_id):
    return [t for t, _ in events_of(object_id)]


def set_fee(tenant, percent):
    p = lt.levy_cli("tenant", "set-fee", str(tenant.id), percent)
    if p.returncode != 0:
        raise AssertionError("levy tenant set-fee %s %s: %s" % (tenant.id, percent, p.stderr))


def raw_error(resp):
    """A raw error answer that may carry Stripe's card_error extras (charge, payment_intent)."""
    status, headers, data = resp
    body = json.loads(data.decode("utf-8"))
    assert headers.get("Request-Id", "").startswith("req_"), headers
    assert set(body) == {"error"}, body
    return status, body["error"]


class PayCase(st.SdkCase):
    fee = None  # the tenant's platform fee percentage, when the class sets one

    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()
        if cls.fee is not None:
            set_fee(cls.t, cls.fee)

    def setUp(self):
        st.use(self.t.sk_test)

    def assertInvalid(self, status=400, code=lt.ANY, param=lt.ANY, message=None):
        """A context manager: the SDK call inside raises InvalidRequestError as described."""
        return self.sdk_raises(stripe.error.InvalidRequestError, "invalid_request_error", status,
                            code, param, message)

    def assertCard(self, code, decline_code, message=None):
        """A context manager: the SDK call inside raises CardError (402) as described."""
        return self.sdk_raises(stripe.error.CardError, "card_error", 402, code, None, message,
                            decline_code)

    def paid(self, amount=1000, currency="usd", **kw):
        """A payment intent paid with pm_card_visa."""
        pi = stripe.PaymentIntent.create(amount=amount, currency=currency,
                                         payment_method="pm_card_visa", confirm=True, **kw)
        self.assertEqual(pi.status, "succeeded")
        return pi

    def charges_of(self, pi_id):
        return [body_of(c) if hasattr(c, "last_response") and c.last_response else c
                for c in stripe.Charge.list(payment_intent=pi_id, limit=100).data]

    def assertPi(self, b, status, amount=None):
        self.assertTrue(PI_REQUIRED <= set(b) <= PI_KEYS, sorted(set(b) ^ PI_KEYS))
        self.assertEqual(b["object"], "payment_intent")
        self.assertRegex(b["id"], r"^pi_[0-9A-Za-z]{14,}$")
        self.assertEqual(b["status"], status)
        self.assertIs(b["livemode"], False)
        self.assertEqual(b["payment_method_types"], ["card"])
        self.assertRecent(b["created"], "created")
        if amount is not None:
            self.assertEqual(b["amount"], amount)
        return b

    def assertCharge(self, b):
        self.assertTrue(CHARGE_REQUIRED <= set(b) <= CHARGE_KEYS, sorted(set(b) ^ CHARGE_KEYS))
        self.assertEqual(b["object"], "charge")
        self.assertRegex(b["id"], r"^ch_[0-9A-Za-z]{14,}$")
        return b

    def assertRefund(self, b):
        self.assertTrue(REFUND_REQUIRED <= set(b) <= REFUND_KEYS, sorted(set(b) ^ REFUND_KEYS))
        self.assertEqual(b["object"], "refund")
        self.assertRegex(b["id"], r"^re_[0-9A-Za-z]{14,}$")
        return b


class Fees(PayCase):
    """The platform fee: the tenant's percentage of the amount, half to even in the minor unit."""

    # (fee percentage as the operator sets it, basis points, amount, currency, expected fee)
    TABLE = [
        ("15", 1500, 1000, "usd", 150),
        ("15", 1500, 1010, "usd", 152),    # 151.5 -> 152 (even)
        ("15", 1500, 1030, "usd", 154),    # 154.5 -> 154 (even)
        ("15", 1500, 1050, "usd", 158),    # 157.5 -> 158
        ("15", 1500, 1070, "usd", 160),    # 160.5 -> 160
        ("15", 1500, 1, "usd", 0),         # 0.15 -> 0
        ("15", 1500, 10, "jpy", 2),        # 1.5 -> 2, a zero-decimal currency alike
        ("15", 1500, 1010, "jpy", 152),
        ("2.5", 250, 1010, "usd", 25),     # 25.25 -> 25
        ("2.5", 250, 1030, "usd", 26),     # 25.75 -> 26
        ("2.5", 250, 20, "usd", 0),        # 0.5 -> 0 (even)
        ("2.5", 250, 60, "usd", 2),        # 1.5 -> 2 (even)
        ("12.50", 1250, 4, "usd", 0),      # 0.5 -> 0
        ("12.50", 1250, 12, "usd", 2),     # 1.5 -> 2
        ("12.50", 1250, 99999999, "usd", 12500000),  # 12499999.875 -> 12500000
        ("0.01", 1, 5000, "usd", 0),       # 0.5 -> 0
        ("0.01", 1, 15000, "usd", 2),      # 1.5 -> 2
        ("0.01", 1, 25000, "usd", 2),      # 2.5 -> 2
        ("0", 0, 5000, "usd", 0),
        ("100", 10000, 777, "eur", 777),
        ("33.33", 3333, 150, "usd", 50),   # 49.995 -> 50
        ("33.33", 3333, 3, "usd", 1),      # 0.9999 -> 1
    ]

    def test_the_table_follows_the_rule(self):
        for _, bp, amount, _, want in self.TABLE:
            self.assertEqual(fee_of(amount, bp), want, (bp, amount))

    def test_fee_recorded_on_the_intent_and_its_charge(self):
        for percent, bp, amount, currency, want in self.TABLE:
            with self.subTest(percent=percent, amount=amount, currency=currency):
                set_fee(self.t, percent)
                pi = self.paid(amount, currency)
                b = body_of(pi)
                self.assertEqual((b["amount"], b["amount_received"], b["currency"]),
                                 (amount, amount, currency))
                self.assertEqual(b["application_fee_amount"], want)
                ch = stripe.Charge.retrieve(b["latest_charge"])
                self.assertEqual(ch.application_fee_amount, want)
                self.assertEqual(ch.application_fee_refunded, 0)
                self.assertEqual(ch.amount, amount)
        set_fee(self.t, "15")

    def test_fee_is_read_at_payment_time(self):
        set_fee(self.t, "10")
        pi = stripe.PaymentIntent.create(amount=1000, currency="usd",
                                         payment_method="pm_card_visa")
        self.assertIsNone(pi.application_fee_amount)
        set_fee(self.t, "20")
        pi = stripe.PaymentIntent.confirm(pi.id)
        self.assertEqual(pi.application_fee_amount, 200)
        set_fee(self.t, "15")

    def test_a_declined_charge_takes_no_fee(self):
        set_fee(self.t, "15")
        with self.assertCard("card_declined", "generic_decline") as cm:
            stripe.PaymentIntent.create(amount=1000, currency="usd",
                                        payment_method="pm_card_chargeDeclined", confirm=True)
        pi = cm.exception.json_body["error"]["payment_intent"]
        self.assertIsNone(pi["application_fee_amount"])
        ch = stripe.Charge.retrieve(pi["latest_charge"])
        self.assertIsNone(ch.application_fee_amount)


class Create(PayCase):
    fee = "15"

    def test_confirm_with_pm_card_visa(self):
        cus = stripe.Customer.create(email="payer@example.com")
        pi = stripe.PaymentIntent.create(
            amount=2000, currency="usd", customer=cus.id, payment_method="pm_card_visa",
            confirm=True, description="Order 42", receipt_email="payer@example.com",
            metadata={"order": "42"}, payment_method_types=["card"])
        b = self.assertPi(body_of(pi), "succeeded", 2000)
        self.assertEqual((b["amount_received"], b["application_fee_amount"]), (2000, 300))
        self.assertEqual((b["customer"], b["description"], b["receipt_email"]),
                         (cus.id, "Order 42", "payer@example.com"))
        self.assertEqual(b["metadata"], {"order": "42"})
        self.assertIsNone(b["last_payment_error"])
        self.assertIsNone(b["invoice"])
        self.assertEqual((b["capture_method"], b["confirmation_method"]), ("automatic", "automatic"))
        # Stripe makes a new pm_ of the test id, and does not attach it on confirm.
        self.assertRegex(b["payment_method"], r"^pm_[0-9A-Za-z]{14,}$")
        pm = stripe.PaymentMethod.retrieve(b["payment_method"])
        self.assertIsNone(pm.customer)
        self.assertEqual((pm.card.brand, pm.card.last4), ("visa", "4242"))
        self.assertEqual(list(stripe.Customer.list_payment_methods(cus.id)), [])
        # The charge.
        ch = self.assertCharge(body_of(stripe.Charge.retrieve(b["latest_charge"])))
        self.assertEqual((ch["amount"], ch["amount_captured"], ch["amount_refunded"]), (2000, 2000, 0))
        self.assertEqual((ch["status"], ch["paid"], ch["captured"], ch["refunded"]),
                         ("succeeded", True, True, False))
        self.assertEqual((ch["payment_intent"], ch["customer"], ch["payment_method"]),
                         (pi.id, cus.id, b["payment_method"]))
        self.assertEqual((ch["application_fee_amount"], ch["application_fee_refunded"]), (300, 0))
        self.assertIsNone(ch["failure_code"])
        self.assertEqual(ch["outcome"]["type"], "authorized")
        self.assertEqual(ch["payment_method_details"]["card"]["last4"], "4242")
        self.assertEqual(ch["refunds"]["data"], [])
        # Retrieve answers the same intent.
        self.assertEqual(body_of(stripe.PaymentIntent.retrieve(pi.id)), b)

    def test_json_body_and_uppercase_currency(self):
        st_, _, b = lt.post(PIS, {"amount": 500, "currency": "EUR", "confirm": True,
                                  "payment_method": "pm_card_mastercard", "off_session": True},
                            key=self.t.sk_test)
        self.assertEqual(st_, 200, b)
        self.assertPi(b, "succeeded", 500)
        self.assertEqual((b["currency"], b["application_fee_amount"]), ("eur", 75))
        for off in ("one_off", "recurring", "false"):
            pi = stripe.PaymentIntent.create(amount=100, currency="usd", confirm=True,
                                             payment_method="pm_card_visa", off_session=off)
            self.assertEqual(pi.status, "succeeded")

    def test_without_confirm(self):
        pi = stripe.PaymentIntent.create(amount=700, currency="usd")
        b = self.assertPi(body_of(pi), "requires_payment_method", 700)
        self.assertIsNone(b["payment_method"])
        self.assertIsNone(b["latest_charge"])
        self.assertEqual((b["amount_received"], b["application_fee_amount"]), (0, None))
        self.assertEqual(self.charges_of(pi.id), [])
        self.assertEqual(event_types(pi.id), ["payment_intent.created"])
        pi2 = stripe.PaymentIntent.create(amount=700, currency="usd", payment_method="pm_card_visa",
                                          confirm=False)
        self.assertPi(body_of(pi2), "requires_confirmation")
        self.assertRegex(pi2.payment_method, r"^pm_")
        self.assertEqual(self.charges_of(pi2.id), [])
        # Confirm with the method it has, then with one given on confirm.
        done = stripe.PaymentIntent.confirm(pi2.id)
        self.assertEqual((done.status, done.amount_received, done.payment_method),
                         ("succeeded", 700, pi2.payment_method))
        done = stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_amex",
                                            receipt_email="r@example.com")
        self.assertEqual((done.status, done.receipt_email), ("succeeded", "r@example.com"))
        self.assertEqual(stripe.PaymentMethod.retrieve(done.payment_method).card.brand, "amex")

    def test_with_an_attached_payment_method(self):
        cus = stripe.Customer.create()
        pm = stripe.PaymentMethod.attach("pm_card_visa", customer=cus.id)
        pi = stripe.PaymentIntent.create(amount=900, currency="usd", customer=cus.id,
                                         payment_method=pm.id, confirm=True)
        self.assertEqual((pi.status, pi.payment_method), ("succeeded", pm.id))
        # A created (unattached) card works without a customer.
        loose = stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242",
                                                               "exp_month": 12, "exp_year": 2040})
        pi = stripe.PaymentIntent.create(amount=900, currency="usd", payment_method=loose.id,
                                         confirm=True)
        self.assertEqual((pi.status, pi.payment_method), ("succeeded", loose.id))

    def test_events_of_a_payment(self):
        pi = self.paid(1234)
        self.assertEqual(event_types(pi.id), ["payment_intent.created", "payment_intent.succeeded"])
        ev = events_of(pi.id)
        self.assertEqual(ev[0][1]["object"]["status"], "requires_confirmation")
        self.assertEqual(ev[1][1]["object"]["status"], "succeeded")
        self.assertEqual(ev[1][1]["object"]["application_fee_amount"], 185)
        self.assertEqual(event_types(pi.latest_charge), ["charge.succeeded"])
        # The API lists them too, newest first.
        types = [e.type for e in stripe.Event.list(limit=100).auto_paging_iter()
                 if e.data.object.id in (pi.id, pi.latest_charge)]
        self.assertEqual(types, ["payment_intent.succeeded", "charge.succeeded",
                                 "payment_intent.created"])

    def test_errors(self):
        cases = [
            ({"currency": "usd"}, "parameter_missing", "amount"),
            ({"amount": 0, "currency": "usd"}, "parameter_invalid_integer", "amount"),
            ({"amount": 100000000, "currency": "usd"}, "parameter_invalid_integer", "amount"),
            ({"amount": "ten", "currency": "usd"}, "parameter_invalid_integer", "amount"),
            ({"amount": 100}, "parameter_missing", "currency"),
            ({"amount": 100, "currency": "xyz"}, "parameter_invalid", "currency"),
            ({"amount": 100, "currency": "usd", "capture_method": "manual"}, "parameter_unknown",
             "capture_method"),
            ({"amount": 100, "currency": "usd", "off_session": True}, "parameter_invalid",
             "off_session"),
            ({"amount": 100, "currency": "usd", "off_session": "maybe", "confirm": True},
             "parameter_invalid", "off_session"),
            ({"amount": 100, "currency": "usd", "confirm": "yes"}, "parameter_invalid", "confirm"),
            ({"amount": 100, "currency": "usd", "payment_method_types": ["ideal"]},
             "parameter_invalid", "payment_method_types"),
            ({"amount": 100, "currency": "usd", "payment_method_types": ["card", "sepa_debit"]},
             "parameter_invalid", "payment_method_types"),
            ({"amount": 100, "currency": "usd", "payment_method_types": "card"},
             "parameter_invalid", "payment_method_types"),
            ({"amount": 100, "currency": "usd", "payment_method_types": []},
             "parameter_invalid", "payment_method_types"),
            ({"amount": 100, "currency": "usd", "payment_method_types": [7]},
             "parameter_invalid", "payment_method_types"),
            ({"amount": 100, "currency": "usd", "receipt_email": "not-an-email"},
             "parameter_invalid", "receipt_email"),
            ({"amount": 100, "currency": "usd", "description": "x" * 1001},
             "parameter_invalid", "description"),
            ({"amount": 100, "currency": "usd", "customer": "cus nope"}, "parameter_invalid",
             "customer"),
            ({"amount": 100, "currency": "usd", "metadata": {"k": 1}}, "parameter_invalid",
             "metadata"),
            ({"amount": 100, "currency": "usd", "confirm": True},
             "payment_intent_unexpected_state", "payment_method"),
        ]
        before = owner_rows("SELECT count(*) FROM payment_intents WHERE tenant_id = %d"
                            % self.t.id)
        for body, code, param in cases:
            with self.subTest(body=body):
                resp = lt.post(PIS, body, key=self.t.sk_test)
                self.assertError(resp, 400, "invalid_request_error", code, param)
        after = owner_rows("SELECT count(*) FROM payment_intents WHERE tenant_id = %d" % self.t.id)
        self.assertEqual(before, after)

    def test_references(self):
        cus = stripe.Customer.create()
        other = stripe.Customer.create()
        gone = stripe.Customer.create()
        stripe.Customer.delete(gone.id)
        for c in ("cus_nope1234567890abcd", gone.id):
            with self.subTest(customer=c):
                with self.assertInvalid(404, "resource_missing", "customer", "No such customer"):
                    stripe.PaymentIntent.create(amount=100, currency="usd", customer=c)
        with self.assertInvalid(404, "resource_missing", "payment_method",
                                "No such PaymentMethod: 'pm_nope1234567890abcd'"):
            stripe.PaymentIntent.create(amount=100, currency="usd",
                                        payment_method="pm_nope1234567890abcd")
        pm = stripe.PaymentMethod.attach("pm_card_visa", customer=cus.id)
        # Attached to a customer: the intent must name that customer.
        with self.assertInvalid(400, "parameter_invalid", "payment_method", "must name that Customer"):
            stripe.PaymentIntent.create(amount=100, currency="usd", payment_method=pm.id)
        with self.assertInvalid(400, "parameter_invalid", "payment_method", "another Customer"):
            stripe.PaymentIntent.create(amount=100, currency="usd", customer=other.id,
                                        payment_method=pm.id, confirm=True)
        stripe.PaymentMethod.detach(pm.id)
        with self.assertInvalid(400, "parameter_invalid", "payment_method", MSG_DETACHED):
            stripe.PaymentIntent.create(amount=100, currency="usd", customer=cus.id,
                                        payment_method=pm.id)
        self.assertEqual(list(stripe.Charge.list(customer=other.id)), [])

    def test_publishable_key_refused(self):
        resp = lt.post(PIS, {"amount": 100, "currency": "usd"}, key=self.t.pk_test)
        self.assertError(resp, 403, "permission_error")
        for path in (PIS, CHARGES, REFUNDS):
            self.assertError(lt.get(path, key=self.t.pk_test), 403, "permission_error")


class Declines(PayCase):
    fee = "15"

    def test_every_declining_card(self):
        cus = stripe.Customer.create()
        for card, code, decline_code, message in DECLINING:
            with self.subTest(card=card):
                with self.assertCard(code, decline_code, message) as cm:
                    stripe.PaymentIntent.create(amount=1500, currency="usd", customer=cus.id,
                                                payment_method=card, confirm=True)
                e = cm.exception
                self.assertEqual(e.json_body["error"]["message"], message)
                self.assertEqual(e.code, code)
                # Stripe's body carries the intent as the decline left it, and the charge.
                pi = self.assertPi(e.json_body["error"]["payment_intent"], "requires_payment_method")
                self.assertEqual(e.error.payment_intent.id, pi["id"])
                self.assertEqual(e.json_body["error"]["charge"], pi["latest_charge"])
                self.assertIsNone(pi["payment_method"])
                self.assertEqual(pi["amount_received"], 0)
                lpe = pi["last_payment_error"]
                self.assertEqual((lpe["type"], lpe["code"], lpe["decline_code"], lpe["message"]),
                                 ("card_error", code, decline_code, message))
                self.assertEqual(lpe["charge"], pi["latest_charge"])
                self.assertRegex(lpe["payment_method"]["id"], r"^pm_")
                # The attempt is kept: the intent, its failed charge and their events.
                self.assertEqual(body_of(stripe.PaymentIntent.retrieve(pi["id"])), pi)
                charges = self.charges_of(pi["id"])
                self.assertEqual(len(charges), 1)
                ch = self.assertCharge(charges[0])
                self.assertEqual((ch["id"], ch["status"], ch["paid"], ch["captured"]),
                                 (pi["latest_charge"], "failed", False, False))
                self.assertEqual((ch["failure_code"], ch["failure_message"]), (code, message))
                self.assertEqual(ch["outcome"]["reason"], decline_code)
                self.assertEqual(ch["amount_captured"], 0)
                self.assertEqual(event_types(pi["id"]),
                                 ["payment_intent.created", "payment_intent.payment_failed"])
                self.assertEqual(event_types(ch["id"]), ["charge.failed"])
                # Confirming again with a good card succeeds: a second charge.
                done = stripe.PaymentIntent.confirm(pi["id"], payment_method="pm_card_visa")
                self.assertEqual((done.status, done.amount_received, done.application_fee_amount),
                                 ("succeeded", 1500, 225))
                self.assertIsNone(done.last_payment_error)
                charges = self.charges_of(pi["id"])
                self.assertEqual([c["status"] for c in charges], ["succeeded", "failed"])
                self.assertEqual(charges[0]["id"], done.latest_charge)
                self.assertEqual(event_types(pi["id"])[-1], "payment_intent.succeeded")

    def test_customer_fail_card_attaches_then_declines(self):
        cus = stripe.Customer.create()
        pm = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=cus.id)
        with self.assertCard("card_declined", "generic_decline", "Your card was declined."):
            stripe.PaymentIntent.create(amount=300, currency="usd", customer=cus.id,
                                        payment_method=pm.id, confirm=True)
        pi = stripe.PaymentIntent.list(customer=cus.id).data[0]
        self.assertEqual(pi.status, "requires_payment_method")
        self.assertEqual(pi.last_payment_error.payment_method.id, pm.id)
        # The stored method is gone from the intent: confirming needs a new one.
        with self.assertInvalid(400, "payment_intent_unexpected_state", "payment_method"):
            stripe.PaymentIntent.confirm(pi.id)
        with self.assertCard("card_declined", "generic_decline"):
            stripe.PaymentIntent.confirm(pi.id, payment_method=pm.id)
        self.assertEqual(len(self.charges_of(pi.id)), 2)

    def test_confirm_declines_the_same_way(self):
        pi = stripe.PaymentIntent.create(amount=800, currency="usd",
                                         payment_method="pm_card_chargeDeclinedInsufficientFunds")
        self.assertEqual(pi.status, "requires_confirmation")
        with self.assertCard("card_declined", "insufficient_funds") as cm:
            stripe.PaymentIntent.confirm(pi.id)
        self.assertEqual(cm.exception.json_body["error"]["payment_intent"]["id"], pi.id)
        # Raw, as any client sees it.
        resp = lt.call("POST", "%s/%s/confirm" % (PIS, pi.id),
                       form={"payment_method": "pm_card_chargeDeclined"}, key=self.t.sk_test,
                       check=False)
        status, err = raw_error(resp)
        self.assertEqual(status, 402)
        self.assertEqual((err["type"], err["code"], err["decline_code"]),
                         ("card_error", "card_declined", "generic_decline"))
        self.assertEqual(set(err), {"type", "code", "decline_code", "message", "charge",
                                    "payment_intent"})
        self.assertEqual(err["payment_intent"]["last_payment_error"]["charge"], err["charge"])
        self.assertEqual(len(self.charges_of(pi.id)), 2)


class Confirm(PayCase):
    fee = "15"

    def test_idempotent_replay_charges_once(self):
        pi = stripe.PaymentIntent.create(amount=4321, currency="usd")
        first = stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa",
                                             idempotency_key="confirm-" + pi.id)
        again = stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa",
                                             idempotency_key="confirm-" + pi.id)
        self.assertEqual(body_of(again), body_of(first))
        self.assertEqual(again.last_response.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(len(self.charges_of(pi.id)), 1)
        self.assertEqual(event_types(pi.id).count("payment_intent.succeeded"), 1)
        # Another key is another confirmation: refused, the intent has succeeded.
        with self.assertInvalid(400, "payment_intent_unexpected_state", None,
                                "already succeeded"):
            stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa")
        self.assertEqual(len(self.charges_of(pi.id)), 1)

    def test_idempotent_replay_of_a_create_and_of_a_decline(self):
        key = lt.unique("create")
        a = stripe.PaymentIntent.create(amount=55, currency="usd", payment_method="pm_card_visa",
                                        confirm=True, idempotency_key=key)
        b = stripe.PaymentIntent.create(amount=55, currency="usd", payment_method="pm_card_visa",
                                        confirm=True, idempotency_key=key)
        self.assertEqual(a.id, b.id)
        self.assertEqual(len(self.charges_of(a.id)), 1)
        key = lt.unique("decline")
        answers = []
        for _ in range(2):
            with self.assertCard("card_declined", "generic_decline") as cm:
                stripe.PaymentIntent.create(amount=56, currency="usd", confirm=True,
                                            payment_method="pm_card_chargeDeclined",
                                            idempotency_key=key)
            answers.append(cm.exception.json_body)
        self.assertEqual(answers[0], answers[1])
        pi = answers[0]["error"]["payment_intent"]["id"]
        self.assertEqual(len(self.charges_of(pi)), 1)

    def test_concurrent_confirms_charge_once(self):
        for _ in range(3):
            pi = stripe.PaymentIntent.create(amount=999, currency="usd",
                                             payment_method="pm_card_visa")
            results = []

            def go():
                results.append(lt.post("%s/%s/confirm" % (PIS, pi.id), {}, key=self.t.sk_test))

            threads = [threading.Thread(target=go) for _ in range(4)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            statuses = sorted(r[0] for r in results)
            self.assertEqual(statuses, [200, 400, 400, 400], [r[2] for r in results])
            for r in results:
                if r[0] == 400:
                    self.assertEqual(r[2]["error"]["code"], "payment_intent_unexpected_state")
            self.assertEqual(len(self.charges_of(pi.id)), 1)

    def test_errors(self):
        self.assertError(lt.post("%s/pi_nope1234567890abcd/confirm" % PIS, {}, key=self.t.sk_test),
                         404, "invalid_request_error", "resource_missing", "id",
                         "No such payment_intent: 'pi_nope1234567890abcd'")
        pi = stripe.PaymentIntent.create(amount=100, currency="usd")
        with self.assertInvalid(400, "payment_intent_unexpected_state", "payment_method",
                                "missing a payment method"):
            stripe.PaymentIntent.confirm(pi.id)
        with self.assertInvalid(400, "parameter_unknown", "amount"):
            stripe.PaymentIntent.confirm(pi.id, amount=5)
        with self.assertInvalid(400, "parameter_invalid", "receipt_email"):
            stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa", receipt_email="x")
        with self.assertInvalid(400, "parameter_invalid", "off_session"):
            stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa", off_session="later")
        with self.assertInvalid(404, "resource_missing", "payment_method"):
            stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_nope")
        # The method stored on the intent is checked again when confirming.
        cus = stripe.Customer.create()
        pm = stripe.PaymentMethod.attach("pm_card_visa", customer=cus.id)
        pi = stripe.PaymentIntent.create(amount=100, currency="usd", customer=cus.id,
                                         payment_method=pm.id)
        stripe.PaymentMethod.detach(pm.id)
        with self.assertInvalid(400, "parameter_invalid", "payment_method", MSG_DETACHED):
            stripe.PaymentIntent.confirm(pi.id)
        self.assertEqual(self.charges_of(pi.id), [])
        # Canceled: no more confirmations.
        stripe.PaymentIntent.cancel(pi.id)
        with self.assertInvalid(400, "payment_intent_unexpected_state", None,
                                "it has a status of canceled"):
            stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa")
        self.assertEqual(self.charges_of(pi.id), [])


class Cancel(PayCase):
    def test_cancel(self):
        for reason in (None, "abandoned", "duplicate", "fraudulent", "requested_by_customer"):
            with self.subTest(reason=reason):
                pi = stripe.PaymentIntent.create(amount=100, currency="usd",
                                                 payment_method="pm_card_visa")
                kw = {"cancellation_reason": reason} if reason else {}
                c = stripe.PaymentIntent.cancel(pi.id, **kw)
                b = self.assertPi(body_of(c), "canceled")
                self.assertEqual(b["cancellation_reason"], reason)
                self.assertRecent(b["canceled_at"], "canceled_at")
                self.assertEqual(event_types(pi.id),
                                 ["payment_intent.created", "payment_intent.canceled"])
                self.assertEqual(events_of(pi.id)[1][1]["object"]["status"], "canceled")

    def test_errors(self):
        pi = stripe.PaymentIntent.create(amount=100, currency="usd")
        with self.assertInvalid(400, "parameter_invalid", "cancellation_reason"):
            stripe.PaymentIntent.cancel(pi.id, cancellation_reason="bored")
        stripe.PaymentIntent.cancel(pi.id)
        with self.assertInvalid(400, "payment_intent_unexpected_state", None,
                                "because it has a status of canceled"):
            stripe.PaymentIntent.cancel(pi.id)
        done = self.paid()
        with self.assertInvalid(400, "payment_intent_unexpected_state", None,
                                "because it has a status of succeeded"):
            stripe.PaymentIntent.cancel(done.id)
        self.assertEqual(stripe.PaymentIntent.retrieve(done.id).status, "succeeded")
        self.assertError(lt.post("%s/pi_nope1234567890abcd/cancel" % PIS, {}, key=self.t.sk_test),
                         404, "invalid_request_error", "resource_missing", "id")


class Update(PayCase):
    fee = "15"

    def test_update_before_confirming(self):
        cus = stripe.Customer.create()
        pi = stripe.PaymentIntent.create(amount=100, currency="usd", metadata={"a": "1"},
                                         description="first")
        u = stripe.PaymentIntent.modify(pi.id, amount=2500, currency="GBP", customer=cus.id,
                                        description="", receipt_email="x@example.com",
                                        metadata={"a": "", "b": "2"})
        b = self.assertPi(body_of(u), "requires_payment_method", 2500)
        self.assertEqual((b["currency"], b["customer"], b["description"], b["receipt_email"]),
                         ("gbp", cus.id, None, "x@example.com"))
        self.assertEqual(b["metadata"], {"b": "2"})
        u = stripe.PaymentIntent.modify(pi.id, payment_method="pm_card_visa", receipt_email="")
        self.assertEqual((u.status, u.receipt_email), ("requires_confirmation", None))
        done = stripe.PaymentIntent.confirm(pi.id)
        self.assertEqual((done.status, done.amount_received, done.currency,
                          done.application_fee_amount), ("succeeded", 2500, "gbp", 375))
        # After success: metadata, description and receipt_email still change; money does not.
        u = stripe.PaymentIntent.modify(pi.id, metadata={"c": "3"}, description="paid")
        self.assertEqual((u.metadata.to_dict(), u.description), ({"b": "2", "c": "3"}, "paid"))
        for field, value in (("amount", 1), ("currency", "usd"), ("customer", cus.id),
                             ("payment_method", "pm_card_visa")):
            with self.subTest(field=field):
                with self.assertInvalid(400, "payment_intent_unexpected_state", field,
                                        "status of succeeded"):
                    stripe.PaymentIntent.modify(pi.id, **{field: value})
        self.assertEqual(stripe.PaymentIntent.retrieve(pi.id).amount, 2500)

    def test_errors(self):
        cus = stripe.Customer.create()
        other = stripe.Customer.create()
        pm = stripe.PaymentMethod.attach("pm_card_visa", customer=cus.id)
        pi = stripe.PaymentIntent.create(amount=100, currency="usd", customer=cus.id,
                                         payment_method=pm.id)
        for kw, code, param in (({"amount": 0}, "parameter_invalid_integer", "amount"),
                                ({"currency": "zzz"}, "parameter_invalid", "currency"),
                                ({"receipt_email": "bad"}, "parameter_invalid", "receipt_email"),
                                ({"confirm": True}, "parameter_unknown", "confirm"),
                                ({"customer": "cus_nope1234567890abcd"}, "resource_missing",
                                 "customer"),
                                ({"payment_method": "pm_nope1234567890abcd"}, "resource_missing",
                                 "payment_method"),
                                # The new customer cannot use the method the intent names.
                                ({"customer": other.id}, "parameter_invalid", "customer")):
            with self.subTest(kw=kw):
                with self.assertInvalid(404 if code == "resource_missing" else 400, code, param):
                    stripe.PaymentIntent.modify(pi.id, **kw)
        # Both at once: the new customer with a method it may use.
        u = stripe.PaymentIntent.modify(pi.id, customer=other.id, payment_method="pm_card_visa")
        self.assertEqual((u.customer, u.status), (other.id, "requires_confirmation"))
        stripe.PaymentIntent.cancel(pi.id)
        with self.assertInvalid(400, "payment_intent_unexpected_state", None,
                                "status of canceled"):
            stripe.PaymentIntent.modify(pi.id, metadata={"x": "y"})
        self.assertError(lt.post("%s/pi_nope1234567890abcd" % PIS, {"description": "x"},
                                 key=self.t.sk_test),
                         404, "invalid_request_error", "resource_missing", "id")


class InvoiceIntents(PayCase):
    """An invoice's intent is paid, voided and changed through its invoice."""

    def test_refused_here(self):
        cus = stripe.Customer.create()
        inv = owner_rows(
            "INSERT INTO invoices (tenant_id, livemode, customer, billing_reason, currency,"
            " period_start, period_end, status) VALUES (%d, false, %s, 'manual', 'usd', now(),"
            " now(), 'open') RETURNING id" % (self.t.id, sql_id(cus.id)))[0][0]
        pi = owner_rows(
            "INSERT INTO payment_intents (tenant_id, livemode, amount, currency, customer,"
            " invoice, status) VALUES (%d, false, 5000, 'usd', %s, %s,"
            " 'requires_payment_method') RETURNING id" % (self.t.id, sql_id(cus.id),
                                                          sql_id(inv)))[0][0]
        p = stripe.PaymentIntent.retrieve(pi, expand=["invoice", "customer"])
        self.assertEqual((p.invoice.id, p.customer.id), (inv, cus.id))
        with self.assertInvalid(400, "payment_intent_unexpected_state", None, inv):
            stripe.PaymentIntent.confirm(pi, payment_method="pm_card_visa")
        with self.assertInvalid(400, "payment_intent_unexpected_state", None, inv):
            stripe.PaymentIntent.cancel(pi)
        with self.assertInvalid(400, "payment_intent_unexpected_state", None, inv):
            stripe.PaymentIntent.modify(pi, amount=10)
        u = stripe.PaymentIntent.modify(pi, metadata={"note": "ok"})
        self.assertEqual((u.metadata.note, u.amount, u.status),
                         ("ok", 5000, "requires_payment_method"))
        self.assertEqual(self.charges_of(pi), [])


class ListRetrieve(PayCase):
    def test_list_filter_and_pagination(self):
        cus = stripe.Customer.create()
        mine = [stripe.PaymentIntent.create(amount=100 + i, currency="usd", customer=cus.id).id
                for i in range(12)]
        stripe.PaymentIntent.create(amount=5, currency="usd")
        got = [p.id for p in stripe.PaymentIntent.list(customer=cus.id, limit=5).auto_paging_iter()]
        self.assertEqual(got, mine[::-1])
        page = stripe.PaymentIntent.list(limit=3)
        self.assertEqual((page.url, len(page.data), page.has_more), ("/v1/payment_intents", 3, True))
        self.assertEqual(list(stripe.PaymentIntent.list(customer="cus_nope1234567890abcd")), [])
        self.assertError(lt.get(PIS + "?customer=bad%20id", key=self.t.sk_test), 400,
                         "invalid_request_error", "parameter_invalid", "customer")
        self.assertError(lt.get(PIS + "?starting_after=pi_nope1234567890abcd", key=self.t.sk_test),
                         404, "invalid_request_error", "resource_missing", "starting_after")
        self.assertError(lt.get(PIS + "?colour=red", key=self.t.sk_test), 400,
                         "invalid_request_error", "parameter_unknown", "colour")

    def test_retrieve_missing(self):
        for path, what in ((PIS, "payment_intent"), (CHARGES, "charge"), (REFUNDS, "refund")):
            with self.subTest(path=path):
                self.assertError(lt.get("%s/x_nope1234567890abcd" % path, key=self.t.sk_test),
                                 404, "invalid_request_error", "resource_missing", "id",
                                 "No such %s: 'x_nope1234567890abcd'" % what)
                self.assertError(lt.get("%s/x_nope1234567890abcd?limit=1" % path,
                                        key=self.t.sk_test),
                                 400, "invalid_request_error", "parameter_unknown", "limit")

    def test_charges_list(self):
        cus = stripe.Customer.create()
        a = self.paid(100, customer=cus.id)
        with self.assertCard("card_declined", "generic_decline"):
            stripe.PaymentIntent.create(amount=200, currency="usd", customer=cus.id,
                                        payment_method="pm_card_chargeDeclined", confirm=True)
        got = list(stripe.Charge.list(customer=cus.id))
        self.assertEqual([c.status for c in got], ["failed", "succeeded"])
        self.assertEqual(got[1].id, a.latest_charge)
        self.assertEqual([c.id for c in stripe.Charge.list(payment_intent=a.id)], [a.latest_charge])
        self.assertEqual(stripe.Charge.list(limit=1).url, "/v1/charges")
        self.assertError(lt.get(CHARGES + "?payment_intent=a%20b", key=self.t.sk_test), 400,
                         "invalid_request_error", "parameter_invalid", "payment_intent")
        self.assertError(lt.get(CHARGES + "?amount=1", key=self.t.sk_test), 400,
                         "invalid_request_error", "parameter_unknown", "amount")
        # Read-only: no route creates or changes a charge.
        resp = lt.post(CHARGES, {"amount": 100, "currency": "usd"}, key=self.t.sk_test)
        self.assertEqual(resp[0], 405, resp[2])

    def test_expand(self):
        cus = stripe.Customer.create()
        pi = self.paid(100, customer=cus.id)
        p = stripe.PaymentIntent.retrieve(pi.id, expand=["customer", "payment_method",
                                                         "latest_charge.payment_intent"])
        self.assertEqual((p.customer.object, p.customer.id), ("customer", cus.id))
        self.assertEqual(p.payment_method.object, "payment_method")
        self.assertEqual(p.latest_charge.object, "charge")
        self.assertEqual(p.latest_charge.payment_intent.id, pi.id)
        ch = stripe.Charge.retrieve(pi.latest_charge, expand=["customer", "payment_intent"])
        self.assertEqual((ch.customer.id, ch.payment_intent.status), (cus.id, "succeeded"))
        lst = stripe.PaymentIntent.list(customer=cus.id, expand=["data.latest_charge"])
        self.assertEqual(lst.data[0].latest_charge.id, pi.latest_charge)
        r = stripe.Refund.create(payment_intent=pi.id, expand=["charge", "payment_intent"])
        self.assertEqual((r.charge.object, r.charge.refunded, r.payment_intent.id),
                         ("charge", True, pi.id))
        with self.assertInvalid(400, "parameter_invalid", "expand"):
            stripe.PaymentIntent.retrieve(pi.id, expand=["amount"])


class Refunds(PayCase):
    fee = "15"

    def test_partial_refunds_then_the_rest(self):
        # (amount, fee %, bp, refunds; None: the rest)
        table = [
            (1010, "15", 1500, [1, 1, 333, 500, None]),
            (1000, "15", 1500, [333, 333, 333, None]),
            (999, "2.9", 290, [100] * 9 + [None]),
            (5, "15", 1500, [1, 1, 1, 1, 1]),
            (99999999, "33.33", 3333, [12345678, 1, 33333333, None]),
        ]
        for amount, percent, bp, parts in table:
            with self.subTest(amount=amount, percent=percent):
                set_fee(self.t, percent)
                pi = self.paid(amount)
                fee = fee_of(amount, bp)
                self.assertEqual(pi.application_fee_amount, fee)
                refunded = 0
                shares = []
                for i, part in enumerate(parts):
                    kw = {"amount": part} if part is not None else {}
                    r = stripe.Refund.create(payment_intent=pi.id, reason="requested_by_customer",
                                             **kw)
                    b = self.assertRefund(body_of(r))
                    want = part if part is not None else amount - refunded
                    self.assertEqual((b["amount"], b["status"], b["currency"], b["reason"]),
                                     (want, "succeeded", "usd", "requested_by_customer"))
                    self.assertEqual((b["charge"], b["payment_intent"]), (pi.latest_charge, pi.id))
                    # The share written in the test: the fee's proportion of all refunded so far.
                    share = (half_even(fee * (refunded + want), amount)
                             - half_even(fee * refunded, amount))
                    self.assertEqual(b["application_fee_refunded"], share, (i, refunded, want))
                    refunded += want
                    shares.append(share)
                    ch = stripe.Charge.retrieve(pi.latest_charge)
                    self.assertEqual(ch.amount_refunded, refunded)
                    self.assertEqual(ch.application_fee_refunded, sum(shares))
                    self.assertEqual(ch.refunded, refunded == amount)
                    self.assertEqual(len(ch.refunds.data), i + 1)
                    self.assertEqual(ch.refunds.data[0].id, r.id)
                self.assertEqual(refunded, amount)
                self.assertEqual(sum(shares), fee)
                # Nothing is left: any further refund is refused.
                with self.assertInvalid(400, "charge_already_refunded", None,
                                        "has already been refunded"):
                    stripe.Refund.create(charge=pi.latest_charge)
                # The intent still shows what it received.
                self.assertEqual(stripe.PaymentIntent.retrieve(pi.id).amount_received, amount)
        set_fee(self.t, "15")

    def test_over_refund_refused(self):
        pi = self.paid(1010)
        with self.assertInvalid(400, "amount_too_large", "amount",
                                "Refund amount ($10.11) is greater than charge amount ($10.10)"):
            stripe.Refund.create(payment_intent=pi.id, amount=1011)
        stripe.Refund.create(charge=pi.latest_charge, amount=1000)
        with self.assertInvalid(400, "amount_too_large", "amount",
                                "Refund amount ($0.11) is greater than unrefunded amount on "
                                "charge ($0.10)"):
            stripe.Refund.create(charge=pi.latest_charge, amount=11)
        ch = stripe.Charge.retrieve(pi.latest_charge)
        self.assertEqual((ch.amount_refunded, ch.refunded), (1000, False))
        # Zero-decimal currencies and other codes are written as such.
        pi = self.paid(1000, "jpy")
        with self.assertInvalid(400, "amount_too_large", "amount",
                                "Refund amount (\u00a51001) is greater than charge amount "
                                "(\u00a51000)"):
            stripe.Refund.create(payment_intent=pi.id, amount=1001)
        pi = self.paid(1250, "chf")
        with self.assertInvalid(400, "amount_too_large", "amount",
                                "Refund amount (CHF 12.51) is greater than charge amount "
                                "(CHF 12.50)"):
            stripe.Refund.create(payment_intent=pi.id, amount=1251)

    def test_concurrent_refunds_never_exceed(self):
        pi = self.paid(1000)
        results = []

        def go():
            results.append(lt.post(REFUNDS, {"charge": pi.latest_charge, "amount": 600},
                                   key=self.t.sk_test))

        threads = [threading.Thread(target=go) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(sorted(r[0] for r in results), [200, 400, 400, 400],
                         [r[2] for r in results])
        ch = stripe.Charge.retrieve(pi.latest_charge)
        self.assertEqual((ch.amount_refunded, ch.application_fee_refunded), (600, 90))

    def test_unpaid_and_failed_refused(self):
        unpaid = stripe.PaymentIntent.create(amount=100, currency="usd")
        with self.assertInvalid(400, "charge_not_refundable", "payment_intent",
                                "does not have a successful charge"):
            stripe.Refund.create(payment_intent=unpaid.id)
        with self.assertCard("card_declined", "generic_decline") as cm:
            stripe.PaymentIntent.create(amount=100, currency="usd", confirm=True,
                                        payment_method="pm_card_chargeDeclined")
        failed = cm.exception.json_body["error"]["payment_intent"]
        with self.assertInvalid(400, "charge_not_refundable", "payment_intent"):
            stripe.Refund.create(payment_intent=failed["id"])
        with self.assertInvalid(400, "charge_not_refundable", "charge", "status of failed"):
            stripe.Refund.create(charge=failed["latest_charge"])
        self.assertEqual(list(stripe.Refund.list(payment_intent=failed["id"])), [])

    def test_errors(self):
        pi = self.paid(100)
        cases = [
            ({}, 400, "parameter_missing", "charge"),
            ({"charge": pi.latest_charge, "payment_intent": pi.id}, 400, "parameter_invalid",
             "payment_intent"),
            ({"charge": pi.latest_charge, "amount": 0}, 400, "parameter_invalid_integer",
             "amount"),
            ({"charge": pi.latest_charge, "amount": -5}, 400, "parameter_invalid_integer",
             "amount"),
            ({"charge": pi.latest_charge, "reason": "changed_mind"}, 400, "parameter_invalid",
             "reason"),
            ({"charge": pi.latest_charge, "refund_application_fee": True}, 400,
             "parameter_unknown", "refund_application_fee"),
            ({"charge": pi.latest_charge, "metadata": "x"}, 400, "parameter_invalid", "metadata"),
            ({"charge": "ch_nope1234567890abcd"}, 404, "resource_missing", "charge"),
            ({"payment_intent": "pi_nope1234567890abcd"}, 404, "resource_missing",
             "payment_intent"),
            ({"charge": "ch bad"}, 400, "parameter_invalid", "charge"),
        ]
        for body, status, code, param in cases:
            with self.subTest(body=body):
                self.assertError(lt.post(REFUNDS, body, key=self.t.sk_test), status,
                                 "invalid_request_error", code, param)
        self.assertEqual(stripe.Charge.retrieve(pi.latest_charge).amount_refunded, 0)

    def test_events(self):
        pi = self.paid(2000)
        before = body_of(stripe.Charge.retrieve(pi.latest_charge))
        r = stripe.Refund.create(charge=pi.latest_charge, amount=500, metadata={"why": "late"})
        self.assertEqual(r.metadata.why, "late")
        self.assertEqual(event_types(r.id), ["refund.created"])
        self.assertEqual(events_of(r.id)[0][1]["object"], body_of(r))
        self.assertEqual(event_types(pi.latest_charge), ["charge.succeeded", "charge.refunded"])
        obj = events_of(pi.latest_charge)[1][1]["object"]
        now = body_of(stripe.Charge.retrieve(pi.latest_charge))
        self.assertEqual(obj, now)
        self.assertNotEqual(obj, before)
        self.assertEqual((obj["amount_refunded"], obj["refunded"], obj["application_fee_refunded"]),
                         (500, False, 75))
        self.assertEqual([x["id"] for x in obj["refunds"]["data"]], [r.id])
        # A second one, recorded the same way.
        r2 = stripe.Refund.create(charge=pi.latest_charge)
        self.assertEqual(event_types(pi.latest_charge)[-1], "charge.refunded")
        last = events_of(pi.latest_charge)[-1][1]["object"]
        self.assertEqual((last["refunded"], last["refunds"]["data"][0]["id"]), (True, r2.id))

    def test_update_retrieve_list(self):
        pi = self.paid(300)
        other = self.paid(300)
        r1 = stripe.Refund.create(payment_intent=pi.id, amount=100)
        r2 = stripe.Refund.create(payment_intent=pi.id, amount=100)
        r3 = stripe.Refund.create(payment_intent=other.id)
        self.assertEqual(body_of(stripe.Refund.retrieve(r1.id)), body_of(r1))
        u = stripe.Refund.modify(r1.id, metadata={"a": "1"})
        self.assertEqual(u.metadata.to_dict(), {"a": "1"})
        self.assertEqual(event_types(r1.id), ["refund.created", "refund.updated"])
        self.assertEqual(events_of(r1.id)[1][1]["previous_attributes"], {"metadata": {}})
        # A change that changes nothing records nothing.
        stripe.Refund.modify(r1.id, metadata={"a": "1"})
        self.assertEqual(event_types(r1.id), ["refund.created", "refund.updated"])
        u = stripe.Refund.modify(r1.id, metadata="")
        self.assertEqual(u.metadata.to_dict(), {})
        with self.assertInvalid(400, "parameter_unknown", "amount"):
            stripe.Refund.modify(r1.id, amount=5)
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Refund.modify(r1.id, metadata={"k": "v" * 501})
        self.assertError(lt.post("%s/re_nope1234567890abcd" % REFUNDS, {"metadata": {"a": "b"}},
                                 key=self.t.sk_test),
                         404, "invalid_request_error", "resource_missing", "id")
        self.assertEqual([x.id for x in stripe.Refund.list(payment_intent=pi.id)], [r2.id, r1.id])
        self.assertEqual([x.id for x in stripe.Refund.list(charge=other.latest_charge)], [r3.id])
        got = [x.id for x in stripe.Refund.list(limit=1).auto_paging_iter()]
        self.assertEqual(got[:3], [r3.id, r2.id, r1.id])
        self.assertEqual(stripe.Refund.list(limit=1).url, "/v1/refunds")
        self.assertError(lt.get(REFUNDS + "?charge=a%20b", key=self.t.sk_test), 400,
                         "invalid_request_error", "parameter_invalid", "charge")
        self.assertError(lt.get(REFUNDS + "?customer=cus_x", key=self.t.sk_test), 400,
                         "invalid_request_error", "parameter_unknown", "customer")

    def test_idempotent_refund(self):
        pi = self.paid(1000)
        key = lt.unique("refund")
        a = stripe.Refund.create(charge=pi.latest_charge, amount=400, idempotency_key=key)
        b = stripe.Refund.create(charge=pi.latest_charge, amount=400, idempotency_key=key)
        self.assertEqual(body_of(a), body_of(b))
        self.assertEqual(stripe.Charge.retrieve(pi.latest_charge).amount_refunded, 400)


class LiveMode(PayCase):
    """Live mode without a connected account, or on a platform with no Stripe key: clear 400s."""

    def test_live_intents_without_money(self):
        st.use(self.t.sk_live)
        pi = stripe.PaymentIntent.create(amount=100, currency="usd")
        self.assertEqual((pi.status, pi.livemode), ("requires_payment_method", True))
        # Stripe's test ids do not exist in live mode.
        for call in (lambda: stripe.PaymentIntent.create(amount=100, currency="usd", confirm=True,
                                                         payment_method="pm_card_visa"),
                     lambda: stripe.PaymentIntent.confirm(pi.id, payment_method="pm_card_visa")):
            with self.assertInvalid(404, "resource_missing", "payment_method",
                                    "No such PaymentMethod: 'pm_card_visa'"):
                call()
        self.assertEqual(list(stripe.Charge.list()), [])

    def live_charge(self):
        """A succeeded live charge, written as the owner (levy cannot make one yet)."""
        pi = owner_rows("INSERT INTO payment_intents (tenant_id, livemode, amount, currency,"
                        " status, amount_received) VALUES (%d, true, 1000, 'usd', 'succeeded',"
                        " 1000) RETURNING id" % self.t.id)[0][0]
        ch = owner_rows("INSERT INTO charges (tenant_id, livemode, payment_intent, amount,"
                        " application_fee_amount, currency, status) VALUES (%d, true, %s, 1000,"
                        " 150, 'usd', 'succeeded') RETURNING id" % (self.t.id, sql_id(pi)))[0][0]
        owner_rows("UPDATE payment_intents SET latest_charge = %s WHERE id = %s RETURNING id"
                   % (sql_id(ch), sql_id(pi)))
        return pi, ch

    def test_live_refund_refused_by_the_processor(self):
        pi, ch = self.live_charge()
        st.use(self.t.sk_live)
        with self.assertInvalid(400, "account_invalid", None, MSG_NO_ACCOUNT):
            stripe.Refund.create(charge=ch)
        owner_rows("UPDATE tenants SET stripe_account_id = 'acct_1TestConnected' WHERE id = %d"
                   % self.t.id)
        try:
            with self.assertInvalid(400, None, None, MSG_CONNECT_LATER):
                stripe.Refund.create(payment_intent=pi, amount=10)
        finally:
            owner_rows("UPDATE tenants SET stripe_account_id = NULL WHERE id = %d" % self.t.id)
        self.assertEqual(stripe.Charge.retrieve(ch).amount_refunded, 0)
        self.assertEqual(list(stripe.Refund.list()), [])
        # The test key sees none of it.
        st.use(self.t.sk_test)
        with self.assertInvalid(404, "resource_missing", "charge"):
            stripe.Refund.create(charge=ch)


class Isolation(PayCase):
    """Another tenant's or the other mode's payments are missing, and cannot be referenced."""

    @classmethod
    def setUpClass(cls):
        cls.a = st.tenant()
        cls.a_cus = stripe.Customer.create()
        cls.a_pm = stripe.PaymentMethod.attach("pm_card_visa", customer=cls.a_cus.id)
        cls.a_pi = stripe.PaymentIntent.create(amount=1000, currency="usd", customer=cls.a_cus.id,
                                               payment_method=cls.a_pm.id, confirm=True)
        cls.a_open = stripe.PaymentIntent.create(amount=1000, currency="usd")
        cls.a_refund = stripe.Refund.create(payment_intent=cls.a_pi.id, amount=100)
        cls.b = st.tenant()
        cls.b_cus = stripe.Customer.create()
        cls.t = cls.b

    def answers(self, creds, pi, ch, re):
        """What every endpoint answers for these ids, with the ids masked."""
        out = []
        for method, path, body in (
                ("GET", "%s/%s" % (PIS, pi), None),
                ("POST", "%s/%s" % (PIS, pi), {"metadata": {"x": "y"}}),
                ("POST", "%s/%s/confirm" % (PIS, pi), {"payment_method": "pm_card_visa"}),
                ("POST", "%s/%s/cancel" % (PIS, pi), {}),
                ("GET", "%s/%s" % (CHARGES, ch), None),
                ("GET", "%s/%s" % (REFUNDS, re), None),
                ("POST", "%s/%s" % (REFUNDS, re), {"metadata": {"x": "y"}}),
                ("POST", REFUNDS, {"charge": ch}),
                ("POST", REFUNDS, {"payment_intent": pi}),
                ("GET", "%s?starting_after=%s" % (PIS, pi), None),
                ("GET", "%s?starting_after=%s" % (CHARGES, ch), None),
                ("GET", "%s?starting_after=%s" % (REFUNDS, re), None)):
            st_, _, b = lt.call(method, path, body=body, **creds)
            text = json.dumps(b, sort_keys=True)
            for i in (pi, ch, re):
                text = text.replace(i, "ID")
            out.append((st_, text))
        return out

    def assertMissing(self, creds):
        ids = (self.a_pi.id, self.a_pi.latest_charge, self.a_refund.id)
        got = self.answers(creds, *ids)
        missing = self.answers(creds, "pi_nope1234567890abcd", "ch_nope1234567890abcd",
                               "re_nope1234567890abcd")
        self.assertEqual(got, missing)
        self.assertEqual({s for s, _ in got}, {404})

    def test_other_tenant(self):
        self.assertMissing({"key": self.b.sk_test})
        self.assertMissing({"token": self.b.access})
        st.use(self.b.sk_test)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentIntent.create(amount=100, currency="usd", customer=self.a_cus.id)
        with self.assertInvalid(404, "resource_missing", "payment_method"):
            stripe.PaymentIntent.create(amount=100, currency="usd", customer=self.b_cus.id,
                                        payment_method=self.a_pm.id, confirm=True)
        b_pi = stripe.PaymentIntent.create(amount=100, currency="usd")
        with self.assertInvalid(404, "resource_missing", "payment_method"):
            stripe.PaymentIntent.confirm(b_pi.id, payment_method=self.a_pm.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentIntent.modify(b_pi.id, customer=self.a_cus.id)
        self.assertEqual(list(stripe.PaymentIntent.list(customer=self.a_cus.id)), [])
        self.assertEqual(list(stripe.Charge.list(customer=self.a_cus.id)), [])
        self.assertEqual(list(stripe.Charge.list(payment_intent=self.a_pi.id)), [])
        self.assertEqual(list(stripe.Refund.list(charge=self.a_pi.latest_charge)), [])
        self.assertEqual([p.id for p in stripe.PaymentIntent.list()], [b_pi.id])
        self.assertEqual(list(stripe.Charge.list()), [])
        self.assertEqual(list(stripe.Refund.list()), [])
        # Nothing of A's changed.
        st.use(self.a.sk_test)
        ch = stripe.Charge.retrieve(self.a_pi.latest_charge)
        self.assertEqual((ch.amount_refunded, len(ch.refunds.data)), (100, 1))
        self.assertEqual(stripe.PaymentIntent.retrieve(self.a_open.id).status,
                         "requires_payment_method")
        self.assertEqual(stripe.Refund.retrieve(self.a_refund.id).metadata.to_dict(), {})

    def test_other_mode(self):
        self.assertMissing({"key": self.a.sk_live})
        self.assertMissing({"token": self.a.access, "mode": "live"})
        st.use(self.a.sk_live)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentIntent.create(amount=100, currency="usd", customer=self.a_cus.id)
        self.assertEqual(list(stripe.PaymentIntent.list()), [])
        # The same requests in test mode see them.
        st_, _, b = lt.get("%s/%s" % (PIS, self.a_pi.id), token=self.a.access, mode="test")
        self.assertEqual((st_, b["id"]), (200, self.a_pi.id))

    def test_dashboard_user_writes(self):
        dev = self.a.add_user("developer")
        st_, _, b = lt.post(PIS, {"amount": 300, "currency": "usd", "confirm": True,
                                  "payment_method": "pm_card_visa"}, token=dev.access)
        self.assertEqual((st_, b.get("status")), (200, "succeeded"), b)
        st_, _, r = lt.post(REFUNDS, {"payment_intent": b["id"]}, token=dev.access)
        self.assertEqual((st_, r.get("amount")), (200, 300), r)
        st_, _, c = lt.get("%s/%s" % (CHARGES, b["latest_charge"]), token=dev.access)
        self.assertEqual((st_, c.get("refunded")), (200, True), c)


if __name__ == "__main__":
    lt.main()
