#!/usr/bin/python3
"""Payment methods (/v1/payment_methods) driven by python3-stripe with levy's built-in test
processor: create by Stripe's test card numbers, attach (pm_ ids and Stripe's test ids such as
pm_card_visa), the declines that refuse to attach, detach, update, a customer's list with
auto-pagination, customers' payment_method and default, the events the triggers record, that no
card number is stored or logged, and who may see or use which payment method."""

import datetime
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import events_of, owner_rows, sql_id  # noqa: E402

import stripe  # noqa: E402

OWNER = os.environ.get("LEVY_OWNER_CONNINFO", "")
SUPER = os.environ.get("LEVY_SUPER_CONNINFO", "")
PMS = "/api/v1/payment_methods"
CUSTOMERS = "/api/v1/customers"
ID_RE = re.compile(r"^[0-9A-Za-z_]+$")
PM_RE = re.compile(r"^pm_[0-9A-Za-z]{14,}$")
FP_RE = re.compile(r"^[0-9A-Za-z]{16}$")

NOW = datetime.datetime.now(datetime.timezone.utc)
YEAR = NOW.year + 3

PM_KEYS = {"id", "object", "billing_details", "card", "created", "customer", "livemode",
           "metadata", "type"}
CARD_KEYS = {"brand", "checks", "country", "exp_month", "exp_year", "fingerprint", "funding",
             "generated_from", "last4", "networks", "three_d_secure_usage", "wallet"}
ADDRESS_KEYS = {"city", "country", "line1", "line2", "postal_code", "state"}

# Stripe's test cards: (pm id, number, brand, funding, country).
SUCCEEDING = [
    ("pm_card_visa", "4242424242424242", "visa", "credit", "US"),
    ("pm_card_visa_debit", "4000056655665556", "visa", "debit", "US"),
    ("pm_card_mastercard", "5555555555554444", "mastercard", "credit", "US"),
    ("pm_card_mastercard_debit", "5200828282828210", "mastercard", "debit", "US"),
    ("pm_card_mastercard_prepaid", "5105105105105100", "mastercard", "prepaid", "US"),
    ("pm_card_amex", "378282246310005", "amex", "credit", "US"),
    ("pm_card_discover", "6011111111111117", "discover", "credit", "US"),
    ("pm_card_diners", "3056930009020004", "diners", "credit", "US"),
    ("pm_card_gb", "4000008260000000", "visa", "credit", "GB"),
    ("pm_card_de", "4000002760000016", "visa", "credit", "DE"),
    ("pm_card_fr", "4000002500000003", "visa", "credit", "FR"),
    ("pm_card_ca", "4000001240000000", "visa", "credit", "CA"),
]
# Cards that refuse to attach: (pm id, number, code, decline_code, message).
DECLINING = [
    ("pm_card_chargeDeclined", "4000000000000002", "card_declined", "generic_decline",
     "Your card was declined."),
    ("pm_card_chargeDeclinedInsufficientFunds", "4000000000009995", "card_declined",
     "insufficient_funds", "Your card has insufficient funds."),
    ("pm_card_chargeDeclinedLostCard", "4000000000009987", "card_declined", "lost_card",
     "Your card was declined."),
    ("pm_card_chargeDeclinedStolenCard", "4000000000009979", "card_declined", "stolen_card",
     "Your card was declined."),
    ("pm_card_chargeDeclinedExpiredCard", "4000000000000069", "expired_card", "expired_card",
     "Your card has expired."),
    ("pm_card_chargeDeclinedIncorrectCvc", "4000000000000127", "incorrect_cvc", "incorrect_cvc",
     "Your card's security code is incorrect."),
    ("pm_card_chargeDeclinedProcessingError", "4000000000000119", "processing_error",
     "processing_error",
     "An error occurred while processing your card. Try again in a little bit."),
]
CUSTOMER_FAIL = ("pm_card_chargeCustomerFail", "4000000000000341")
# Valid by Luhn, but no Stripe test card: what Stripe's test mode calls a live card.
LIVE_NUMBERS = ["4111111111111111", "5425233430109903"]
LUHN_BAD = "4242424242424241"
ALL_NUMBERS = [c[1] for c in SUCCEEDING] + [c[1] for c in DECLINING] + [CUSTOMER_FAIL[1]] \
    + LIVE_NUMBERS + [LUHN_BAD]

MSG_DETACHED = ("This PaymentMethod was previously used without being attached to a Customer or "
                "was detached from a Customer, and may not be used again.")


def body_of(obj):
    """The exact JSON levy answered for an SDK call."""
    return json.loads(obj.last_response.body)


def card(number="4242424242424242", month=12, year=YEAR, **extra):
    c = {"number": number, "exp_month": month, "exp_year": year}
    c.update(extra)
    return c


def pm_count(tenant):
    return int(owner_rows("SELECT count(*) FROM payment_methods WHERE tenant_id = %d"
                          % tenant.id)[0][0])


def normalise(resp, *ids):
    """An error answer with the ids it names replaced, for comparing two answers."""
    status, _, obj = resp
    obj = json.loads(json.dumps(obj))
    for i in ids:
        obj["error"]["message"] = obj["error"]["message"].replace(i, "ID")
    return status, json.dumps(obj, sort_keys=True)


class PmCase(st.SdkCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()

    def setUp(self):
        st.use(self.t.sk_test)

    def customer(self, **kw):
        return stripe.Customer.create(**kw)

    def assertInvalid(self, status=400, code=lt.ANY, param=lt.ANY, message=None):
        """A context manager: the SDK call inside raises InvalidRequestError as described."""
        return self.sdk_raises(stripe.error.InvalidRequestError, "invalid_request_error", status,
                            code, param, message)

    def assertCard(self, code, param=None, decline_code=None, message=None):
        """A context manager: the SDK call inside raises CardError (402) as described."""
        return self.sdk_raises(stripe.error.CardError, "card_error", 402, code, param, message,
                            decline_code)

    def assertPm(self, pm, brand, last4, funding="credit", country="US", customer=None):
        b = body_of(pm) if hasattr(pm, "last_response") and pm.last_response else pm
        self.assertEqual(set(b), PM_KEYS)
        self.assertRegex(b["id"], PM_RE)
        self.assertEqual(b["object"], "payment_method")
        self.assertEqual(b["type"], "card")
        self.assertIs(b["livemode"], False)
        self.assertRecent(b["created"], "created")
        self.assertEqual(b["customer"], customer)
        self.assertEqual(set(b["card"]), CARD_KEYS)
        c = b["card"]
        self.assertEqual((c["brand"], c["last4"], c["funding"], c["country"]),
                         (brand, last4, funding, country))
        self.assertRegex(c["fingerprint"], FP_RE)
        self.assertEqual(c["networks"], {"available": [brand], "preferred": None})
        self.assertEqual(set(b["billing_details"]), {"address", "email", "name", "phone"})
        self.assertEqual(set(b["billing_details"]["address"]), ADDRESS_KEYS)
        return b


class Create(PmCase):
    def test_create_by_test_number(self):
        pm = stripe.PaymentMethod.create(type="card", card=card(cvc="123"))
        b = self.assertPm(pm, "visa", "4242")
        self.assertEqual((b["card"]["exp_month"], b["card"]["exp_year"]), (12, YEAR))
        self.assertEqual(b["metadata"], {})
        self.assertEqual(b["billing_details"]["name"], None)
        self.assertEqual(b["billing_details"]["address"], dict.fromkeys(ADDRESS_KEYS))
        got = stripe.PaymentMethod.retrieve(pm.id)
        self.assertEqual(body_of(got), b)
        # Creating attaches nothing, so it records no event (Stripe has no payment_method.created).
        self.assertEqual(events_of(pm.id), [])

    def test_every_test_number(self):
        for pm_id, number, brand, funding, country in SUCCEEDING:
            with self.subTest(number=number):
                pm = stripe.PaymentMethod.create(type="card", card=card(number))
                self.assertPm(pm, brand, number[-4:], funding, country)
        # Stripe creates the declining cards too: they refuse later, when attached.
        for pm_id, number, *_ in DECLINING + [CUSTOMER_FAIL]:
            with self.subTest(number=number):
                pm = stripe.PaymentMethod.create(type="card", card=card(number))
                self.assertPm(pm, "visa", number[-4:])

    def test_number_with_spaces_and_dashes(self):
        pm = stripe.PaymentMethod.create(type="card", card=card("4242 4242-4242 4242"))
        self.assertEqual(pm.card.last4, "4242")

    def test_two_digit_year(self):
        pm = stripe.PaymentMethod.create(type="card", card=card(year=YEAR % 100))
        self.assertEqual(pm.card.exp_year, YEAR)

    def test_this_month_is_valid(self):
        pm = stripe.PaymentMethod.create(type="card", card=card(month=NOW.month, year=NOW.year))
        self.assertEqual((pm.card.exp_month, pm.card.exp_year), (NOW.month, NOW.year))

    def test_billing_details_and_metadata(self):
        addr = {"city": "London", "country": "GB", "line1": "1 Main St", "postal_code": "N1"}
        pm = stripe.PaymentMethod.create(
            type="card", card=card(),
            billing_details={"name": "Ada", "email": "ada@example.com", "phone": "+441234",
                             "address": addr},
            metadata={"k": "v"})
        b = body_of(pm)
        want = dict.fromkeys(ADDRESS_KEYS)
        want.update(addr)
        self.assertEqual(b["billing_details"], {"name": "Ada", "email": "ada@example.com",
                                                "phone": "+441234", "address": want})
        self.assertEqual(b["metadata"], {"k": "v"})

    def test_fingerprint(self):
        a1 = stripe.PaymentMethod.create(type="card", card=card())
        a2 = stripe.PaymentMethod.create(type="card", card=card(month=1))
        m = stripe.PaymentMethod.create(type="card", card=card("5555555555554444"))
        self.assertEqual(a1.card.fingerprint, a2.card.fingerprint)
        self.assertNotEqual(a1.card.fingerprint, m.card.fingerprint)
        # The same card made from Stripe's test id has the same fingerprint.
        c = self.customer()
        v = stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
        self.assertEqual(v.card.fingerprint, a1.card.fingerprint)
        # Another tenant sees another fingerprint for the same card.
        other = st.tenant()
        b1 = stripe.PaymentMethod.create(type="card", card=card())
        self.assertNotEqual(b1.card.fingerprint, a1.card.fingerprint)
        st.use(self.t.sk_test)
        del other

    def test_form_body_and_json_body(self):
        form = [("type", "card"), ("card[number]", "4242424242424242"),
                ("card[exp_month]", "7"), ("card[exp_year]", str(YEAR))]
        st_, _, b = lt.post(PMS, form=form, key=self.t.sk_test)
        self.assertEqual(st_, 200, b)
        self.assertEqual((b["card"]["last4"], b["card"]["exp_month"]), ("4242", 7))
        st_, _, b = lt.post(PMS, {"type": "card", "card": card("5555555555554444")},
                            key=self.t.sk_test)
        self.assertEqual(st_, 200, b)
        self.assertEqual(b["card"]["brand"], "mastercard")
        # A JSON number is not a card number string.
        st_, _, b = lt.post(PMS, {"type": "card", "card": card(4242424242424242)},
                            key=self.t.sk_test)
        self.assertEqual(st_, 400, b)
        self.assertEqual(b["error"]["param"], "card[number]")


class CreateErrors(PmCase):
    def test_params(self):
        before = pm_count(self.t)
        with self.assertInvalid(400, "parameter_missing", "type"):
            stripe.PaymentMethod.create(card=card())
        with self.assertInvalid(400, "parameter_invalid", "type", "only payment methods of type card"):
            stripe.PaymentMethod.create(type="sepa_debit")
        with self.assertInvalid(400, "parameter_missing", "card", "Missing required param: card."):
            stripe.PaymentMethod.create(type="card")
        with self.assertInvalid(400, "parameter_unknown", "customer"):
            stripe.PaymentMethod.create(type="card", card=card(), customer="cus_x")
        with self.assertInvalid(400, "parameter_unknown", "card[token]"):
            stripe.PaymentMethod.create(type="card", card=dict(card(), token="tok_visa"))
        with self.assertInvalid(400, "parameter_invalid", "card"):
            stripe.PaymentMethod.create(type="card", card="4242424242424242")
        for field in ("number", "exp_month", "exp_year"):
            c = card()
            del c[field]
            with self.subTest(missing=field):
                with self.assertInvalid(400, "parameter_missing", "card[%s]" % field,
                                        "The payment method `card` requires the parameter: "
                                        "card[%s]." % field):
                    stripe.PaymentMethod.create(type="card", card=c)
        with self.assertInvalid(400, "parameter_invalid_empty", "card[number]"):
            stripe.PaymentMethod.create(type="card", card=card(""))
        with self.assertInvalid(400, "parameter_invalid", "card[number]"):
            stripe.PaymentMethod.create(type="card", card=card("4" * 33))
        with self.assertInvalid(400, "parameter_invalid_integer", "card[exp_month]"):
            stripe.PaymentMethod.create(type="card", card=card(month="ab"))
        with self.assertInvalid(400, "parameter_invalid_integer", "card[exp_year]"):
            stripe.PaymentMethod.create(type="card", card=card(year="20x"))
        with self.assertInvalid(400, "parameter_invalid", "card[cvc]"):
            stripe.PaymentMethod.create(type="card", card=card(cvc="123456789"))
        with self.assertInvalid(400, "parameter_unknown", "billing_details[fax]"):
            stripe.PaymentMethod.create(type="card", card=card(), billing_details={"fax": "1"})
        with self.assertInvalid(400, "parameter_unknown", "billing_details[address][zip]"):
            stripe.PaymentMethod.create(type="card", card=card(),
                                        billing_details={"address": {"zip": "1"}})
        self.assertError(lt.post(PMS, {"type": "card", "card": card(),
                                       "billing_details": {"address": 5}}, key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_invalid",
                         "billing_details[address]")
        with self.assertInvalid(400, "parameter_invalid", "billing_details[name]"):
            stripe.PaymentMethod.create(type="card", card=card(),
                                        billing_details={"name": "x" * 257})
        with self.assertInvalid(400, "parameter_invalid", "billing_details[address][line1]"):
            stripe.PaymentMethod.create(type="card", card=card(),
                                        billing_details={"address": {"line1": "x" * 201}})
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.PaymentMethod.create(type="card", card=card(), metadata={"k" * 41: "v"})
        self.assertEqual(pm_count(self.t), before, "a refused create wrote a row")

    def test_card_errors(self):
        before = pm_count(self.t)
        cases = [
            (card("4242"), "invalid_number", "number",
             "The card number is not a valid credit card number."),
            (card("4242424242424242x"), "invalid_number", "number",
             "The card number is not a valid credit card number."),
            (card("42424242424242424242"), "invalid_number", "number",
             "The card number is not a valid credit card number."),
            (card(LUHN_BAD), "incorrect_number", "number", "Your card number is incorrect."),
            (card(month=13), "invalid_expiry_month", "exp_month",
             "Your card's expiration month is invalid."),
            (card(month=0), "invalid_expiry_month", "exp_month",
             "Your card's expiration month is invalid."),
            (card(year=NOW.year - 1), "invalid_expiry_year", "exp_year",
             "Your card's expiration year is invalid."),
            (card(year=1999), "invalid_expiry_year", "exp_year",
             "Your card's expiration year is invalid."),
            (card(year=NOW.year + 51), "invalid_expiry_year", "exp_year",
             "Your card's expiration year is invalid."),
            (card(cvc="12"), "invalid_cvc", "cvc", "Your card's security code is invalid."),
            (card(cvc="12a"), "invalid_cvc", "cvc", "Your card's security code is invalid."),
        ]
        if NOW.month > 1:
            cases.append((card(month=NOW.month - 1, year=NOW.year), "invalid_expiry_month",
                          "exp_month", "Your card's expiration month is invalid."))
        for c, code, param, message in cases:
            with self.subTest(card=c, code=code):
                with self.assertCard(code, param, None, message):
                    stripe.PaymentMethod.create(type="card", card=c)
        for number in LIVE_NUMBERS:
            with self.subTest(number=number):
                with self.assertCard("card_declined", None, "test_mode_live_card",
                                     "Your request was in test mode, but used a non test (live) "
                                     "card."):
                    stripe.PaymentMethod.create(type="card", card=card(number))
        for cvc in ("123", "1234"):
            stripe.PaymentMethod.create(type="card", card=card(cvc=cvc))
        self.assertEqual(pm_count(self.t), before + 2, "a declined create wrote a row")

    def test_live_mode(self):
        for creds in ({"key": self.t.sk_live}, {"token": self.t.access, "mode": "live"}):
            with self.subTest(creds=list(creds)):
                st_, _, b = lt.post(PMS, {"type": "card", "card": card()}, **creds)
                self.assertError((st_, None, b), 400, "invalid_request_error",
                                 message=lt.ANY)
                self.assertIn("Live-mode payment methods need a connected Stripe account",
                              b["error"]["message"])
        st.use(self.t.sk_live)
        with self.assertInvalid(400, None, None, "connected Stripe account"):
            stripe.PaymentMethod.create(type="card", card=card())
        # Nothing in live mode: Stripe's test ids are not there either.
        c = stripe.Customer.create()
        with self.assertInvalid(404, "resource_missing", "id",
                                "No such PaymentMethod: 'pm_card_visa'"):
            stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
        self.assertEqual(list(stripe.PaymentMethod.list()), [])

    def test_revoked_key(self):
        # A well-formed key that no longer exists: the card is judged before any statement,
        # and the fingerprint's tenant comes from the key's look-up, which refuses.
        t = lt.new_tenant()
        st_, _, new = lt.post(lt.ROLL, {"mode": "test", "type": "secret",
                                        "expire_old_in_seconds": 0}, token=t.access)
        self.assertEqual(st_, 201, new)
        self.assertError(lt.post(PMS, {"type": "card", "card": card()}, key=t.sk_test), 401,
                         "authentication_error")
        st_, _, b = lt.post(PMS, {"type": "card", "card": card()}, key=new["key"])
        self.assertEqual(st_, 200, b)

    def test_publishable_key(self):
        st_, _, b = lt.post(PMS, {"type": "card", "card": card()}, key=self.t.pk_test)
        self.assertEqual(st_, 403, b)


class Attach(PmCase):
    def test_attach_created(self):
        c = self.customer()
        pm = stripe.PaymentMethod.create(type="card", card=card())
        got = stripe.PaymentMethod.attach(pm.id, customer=c.id)
        self.assertPm(got, "visa", "4242", customer=c.id)
        self.assertEqual(got.id, pm.id)
        self.assertEqual(stripe.PaymentMethod.retrieve(pm.id).customer, c.id)
        evs = events_of(pm.id)
        self.assertEqual([t for t, _ in evs], ["payment_method.attached"])
        self.assertEqual(evs[0][1]["object"], body_of(got))
        # The same event through the API (GET /v1/events).
        api = [e for e in stripe.Event.list(type="payment_method.attached").auto_paging_iter()
               if e.data.object.id == pm.id]
        self.assertEqual(len(api), 1)
        self.assertEqual(json.loads(json.dumps(api[0].data.object)), body_of(got))
        # Attaching again to the same customer answers the same and changes nothing.
        again = stripe.PaymentMethod.attach(pm.id, customer=c.id)
        self.assertEqual(body_of(again), body_of(got))
        self.assertEqual(len(events_of(pm.id)), 1)
        # expand[]=customer on attach and retrieve.
        x = stripe.PaymentMethod.retrieve(pm.id, expand=["customer"])
        self.assertEqual(x.customer.id, c.id)
        self.assertEqual(x.customer.object, "customer")

    def test_attach_test_ids(self):
        c = self.customer()
        made = []
        for pm_id, number, brand, funding, country in SUCCEEDING + [CUSTOMER_FAIL + ("visa", "credit", "US")]:
            with self.subTest(pm=pm_id):
                got = stripe.PaymentMethod.attach(pm_id, customer=c.id, expand=["customer"])
                self.assertNotEqual(got.id, pm_id, "Stripe's test ids make a new object")
                self.assertRegex(got.id, PM_RE)
                b = body_of(got)
                self.assertEqual(b["customer"]["id"], c.id)
                b["customer"] = c.id
                self.assertPm(b, brand, number[-4:], funding, country, customer=c.id)
                self.assertEqual(b["card"]["exp_month"], NOW.month)
                self.assertEqual(b["card"]["exp_year"], NOW.year + 1)
                self.assertEqual([t for t, _ in events_of(got.id)], ["payment_method.attached"])
                made.append(got.id)
        self.assertEqual(len(set(made)), len(made))
        listed = [p.id for p in stripe.Customer.list_payment_methods(c.id, limit=100)]
        self.assertEqual(listed, made[::-1])

    def test_declines_attach_nothing(self):
        c = self.customer()
        for pm_id, number, code, decline, message in DECLINING:
            before = pm_count(self.t)
            with self.subTest(pm=pm_id):
                with self.assertCard(code, None, decline, message) as cm:
                    stripe.PaymentMethod.attach(pm_id, customer=c.id)
                self.assertEqual(cm.exception.code, code)
                self.assertEqual(pm_count(self.t), before, "a declined test id made an object")
            # The same card by number: created, then refused on attach, left unattached.
            with self.subTest(number=number):
                pm = stripe.PaymentMethod.create(type="card", card=card(number))
                with self.assertCard(code, None, decline, message):
                    stripe.PaymentMethod.attach(pm.id, customer=c.id)
                self.assertIsNone(stripe.PaymentMethod.retrieve(pm.id).customer)
                self.assertEqual(events_of(pm.id), [])
        self.assertEqual(list(stripe.Customer.list_payment_methods(c.id)), [])
        self.assertEqual(events_of(c.id)[1:], [], "a decline changed the customer")

    def test_charge_customer_fail_attaches(self):
        c = self.customer()
        a = stripe.PaymentMethod.attach(CUSTOMER_FAIL[0], customer=c.id)
        self.assertEqual(a.customer, c.id)
        pm = stripe.PaymentMethod.create(type="card", card=card(CUSTOMER_FAIL[1]))
        b = stripe.PaymentMethod.attach(pm.id, customer=c.id)
        self.assertEqual(b.customer, c.id)
        visa = stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
        rows = dict(owner_rows("SELECT id, coalesce(test_decline_code, '-') FROM payment_methods"
                               " WHERE id IN (%s, %s, %s)" % (sql_id(a.id), sql_id(b.id),
                                                             sql_id(visa.id))))
        self.assertEqual(rows, {a.id: "generic_decline", b.id: "generic_decline", visa.id: "-"})
        declined = stripe.PaymentMethod.create(type="card", card=card("4000000000009995"))
        self.assertEqual(owner_rows("SELECT test_decline_code, test_card FROM payment_methods"
                                    " WHERE id = %s" % sql_id(declined.id)),
                         [["insufficient_funds", "pm_card_chargeDeclinedInsufficientFunds"]])

    def test_errors(self):
        c = self.customer()
        other = self.customer()
        pm = stripe.PaymentMethod.create(type="card", card=card())
        with self.assertInvalid(400, "parameter_missing", "customer"):
            stripe.PaymentMethod.attach(pm.id)
        with self.assertInvalid(400, "parameter_invalid", "customer"):
            stripe.PaymentMethod.attach(pm.id, customer="cus bad")
        with self.assertInvalid(400, "parameter_unknown", "default"):
            stripe.PaymentMethod.attach(pm.id, customer=c.id, default="true")
        with self.assertInvalid(404, "resource_missing", "customer", "No such customer: 'cus_nope1234567890'"):
            stripe.PaymentMethod.attach(pm.id, customer="cus_nope1234567890")
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.attach("pm_card_visa", customer="cus_nope1234567890")
        with self.assertInvalid(404, "resource_missing", "id",
                                "No such PaymentMethod: 'pm_nope1234567890'"):
            stripe.PaymentMethod.attach("pm_nope1234567890", customer=c.id)
        with self.assertInvalid(404, "resource_missing", "id",
                                "No such PaymentMethod: 'pm_card_nonesuch'"):
            stripe.PaymentMethod.attach("pm_card_nonesuch", customer=c.id)
        # A deleted customer is no customer.
        gone = self.customer()
        stripe.Customer.delete(gone.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.attach(pm.id, customer=gone.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.attach("pm_card_visa", customer=gone.id)
        # Another customer's card.
        stripe.PaymentMethod.attach(pm.id, customer=c.id)
        with self.assertInvalid(400, "parameter_invalid", "id",
                                "The payment method you provided has already been attached to a "
                                "customer."):
            stripe.PaymentMethod.attach(pm.id, customer=other.id)
        self.assertEqual(stripe.PaymentMethod.retrieve(pm.id).customer, c.id)
        # Detached once, never again (Stripe's rule).
        stripe.PaymentMethod.detach(pm.id)
        with self.assertInvalid(400, "parameter_invalid", "id", MSG_DETACHED):
            stripe.PaymentMethod.attach(pm.id, customer=c.id)
        self.assertIsNone(stripe.PaymentMethod.retrieve(pm.id).customer)

    def test_deleting_the_customer_detaches_for_good(self):
        c = self.customer()
        pm = stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
        stripe.Customer.delete(c.id)
        self.assertIsNone(stripe.PaymentMethod.retrieve(pm.id).customer)
        c2 = self.customer()
        with self.assertInvalid(400, "parameter_invalid", "id", MSG_DETACHED):
            stripe.PaymentMethod.attach(pm.id, customer=c2.id)


class Detach(PmCase):
    def test_detach(self):
        c = self.customer()
        pm = stripe.PaymentMethod.attach("pm_card_mastercard", customer=c.id)
        got = stripe.PaymentMethod.detach(pm.id)
        self.assertPm(got, "mastercard", "4444")
        self.assertIsNone(got.customer)
        evs = events_of(pm.id)
        self.assertEqual([t for t, _ in evs], ["payment_method.attached", "payment_method.detached"])
        self.assertEqual(evs[1][1]["previous_attributes"], {"customer": c.id})
        self.assertEqual(evs[1][1]["object"], body_of(got))
        api = [e for e in stripe.Event.list(type="payment_method.detached").auto_paging_iter()
               if e.data.object.id == pm.id]
        self.assertEqual(len(api), 1)
        self.assertEqual(api[0].data.previous_attributes.customer, c.id)
        self.assertEqual(list(stripe.Customer.list_payment_methods(c.id)), [])
        with self.assertInvalid(400, "parameter_invalid", None,
                                "The payment method you provided is not attached to a customer "
                                "so detachment is impossible."):
            stripe.PaymentMethod.detach(pm.id)

    def test_never_attached(self):
        pm = stripe.PaymentMethod.create(type="card", card=card())
        with self.assertInvalid(400, "parameter_invalid", None, "so detachment is impossible"):
            stripe.PaymentMethod.detach(pm.id)
        with self.assertInvalid(404, "resource_missing", "id"):
            stripe.PaymentMethod.detach("pm_nope1234567890")
        with self.assertInvalid(400, "parameter_unknown", "customer"):
            stripe.PaymentMethod.detach(pm.id, customer="cus_x")

    def test_detaching_the_default_clears_it(self):
        c = self.customer()
        a = stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
        b = stripe.PaymentMethod.attach("pm_card_amex", customer=c.id)
        stripe.Customer.modify(c.id, invoice_settings={"default_payment_method": a.id})
        # Detaching another card keeps the default.
        stripe.PaymentMethod.detach(b.id)
        self.assertEqual(stripe.Customer.retrieve(c.id).invoice_settings.default_payment_method, a.id)
        n = len(events_of(c.id))
        stripe.PaymentMethod.detach(a.id)
        got = stripe.Customer.retrieve(c.id)
        self.assertIsNone(got.invoice_settings.default_payment_method)
        evs = events_of(c.id)[n:]
        self.assertEqual([t for t, _ in evs], ["customer.updated"])
        self.assertEqual(evs[0][1]["previous_attributes"]["invoice_settings"]["default_payment_method"],
                         a.id)


class Update(PmCase):
    def attached(self):
        c = self.customer()
        pm = stripe.PaymentMethod.create(type="card", card=card(),
                                         billing_details={"name": "Ada", "email": "a@example.com",
                                                          "address": {"city": "Paris",
                                                                      "line1": "1 rue"}})
        stripe.PaymentMethod.attach(pm.id, customer=c.id)
        return pm

    def test_update(self):
        pm = self.attached()
        got = stripe.PaymentMethod.modify(pm.id, billing_details={"name": "Grace",
                                                                  "address": {"city": "Lyon"}},
                                          card={"exp_month": 3, "exp_year": YEAR + 1},
                                          metadata={"a": "1", "b": "2"})
        b = body_of(got)
        self.assertEqual(b["billing_details"]["name"], "Grace")
        self.assertEqual(b["billing_details"]["email"], "a@example.com")
        self.assertEqual(b["billing_details"]["address"]["city"], "Lyon")
        self.assertEqual(b["billing_details"]["address"]["line1"], "1 rue")
        self.assertEqual((b["card"]["exp_month"], b["card"]["exp_year"]), (3, YEAR + 1))
        self.assertEqual(b["metadata"], {"a": "1", "b": "2"})
        self.assertEqual(body_of(stripe.PaymentMethod.retrieve(pm.id)), b)
        evs = events_of(pm.id)
        self.assertEqual([t for t, _ in evs], ["payment_method.attached", "payment_method.updated"])
        prev = evs[1][1]["previous_attributes"]
        self.assertEqual(set(prev), {"billing_details", "card", "metadata"})
        self.assertEqual(prev["billing_details"]["name"], "Ada")
        self.assertEqual(prev["card"]["exp_month"], 12)
        # "" clears a field, the address, a metadata key; a two-digit year is this century's.
        got = stripe.PaymentMethod.modify(pm.id, billing_details={"email": "", "address": ""},
                                          card={"exp_year": (YEAR + 2) % 100},
                                          metadata={"a": ""})
        b = body_of(got)
        self.assertEqual(b["billing_details"], {"name": "Grace", "email": None, "phone": None,
                                                "address": dict.fromkeys(ADDRESS_KEYS)})
        self.assertEqual(b["card"]["exp_year"], YEAR + 2)
        self.assertEqual(b["metadata"], {"b": "2"})
        # Nothing to change: no event.
        n = len(events_of(pm.id))
        stripe.PaymentMethod.modify(pm.id)
        self.assertEqual(len(events_of(pm.id)), n)

    def test_errors(self):
        pm = self.attached()
        before = body_of(stripe.PaymentMethod.retrieve(pm.id))
        with self.assertInvalid(400, "parameter_unknown", "card[number]"):
            stripe.PaymentMethod.modify(pm.id, card={"number": "4242424242424242"})
        with self.assertInvalid(400, "parameter_unknown", "type"):
            stripe.PaymentMethod.modify(pm.id, type="card")
        with self.assertCard("invalid_expiry_month", "exp_month"):
            stripe.PaymentMethod.modify(pm.id, card={"exp_month": 13})
        with self.assertCard("invalid_expiry_year", "exp_year"):
            stripe.PaymentMethod.modify(pm.id, card={"exp_year": NOW.year - 1})
        if NOW.month > 1:
            # The stored month (12) stays; the new year alone is fine, a past month is not.
            with self.assertCard("invalid_expiry_month", "exp_month"):
                stripe.PaymentMethod.modify(pm.id, card={"exp_month": NOW.month - 1,
                                                         "exp_year": NOW.year})
        with self.assertInvalid(400, "parameter_invalid", "billing_details[phone]"):
            stripe.PaymentMethod.modify(pm.id, billing_details={"phone": "1" * 41})
        with self.assertInvalid(404, "resource_missing", "id",
                                "No such PaymentMethod: 'pm_nope1234567890'"):
            stripe.PaymentMethod.modify("pm_nope1234567890", metadata={"a": "b"})
        self.assertEqual(body_of(stripe.PaymentMethod.retrieve(pm.id)), before)
        # Stripe updates only a saved card.
        loose = stripe.PaymentMethod.create(type="card", card=card())
        with self.assertInvalid(400, "parameter_invalid", None,
                                "You must save this PaymentMethod to a customer before you can "
                                "update it."):
            stripe.PaymentMethod.modify(loose.id, metadata={"a": "b"})
        self.assertEqual(stripe.PaymentMethod.retrieve(loose.id).metadata, {})
        self.assertEqual(events_of(loose.id), [])


class Retrieve(PmCase):
    def test_missing(self):
        with self.assertInvalid(404, "resource_missing", "id",
                                "No such PaymentMethod: 'pm_nope1234567890'"):
            stripe.PaymentMethod.retrieve("pm_nope1234567890")
        with self.assertInvalid(400, "parameter_unknown", "customer"):
            stripe.PaymentMethod.retrieve("pm_nope1234567890", customer="x")
        # Stripe's test ids name no object of their own.
        with self.assertInvalid(404, "resource_missing", "id"):
            stripe.PaymentMethod.retrieve("pm_card_visa")


class List(PmCase):
    def test_customer_list_and_auto_pagination(self):
        c = self.customer()
        other = self.customer()
        stripe.PaymentMethod.attach("pm_card_visa", customer=other.id)
        loose = stripe.PaymentMethod.create(type="card", card=card())
        ids = [stripe.PaymentMethod.attach("pm_card_visa", customer=c.id).id for _ in range(25)]
        newest_first = ids[::-1]
        page = stripe.Customer.list_payment_methods(c.id, type="card", limit=10)
        self.assertEqual([p.id for p in page.data], newest_first[:10])
        self.assertTrue(page.has_more)
        self.assertEqual(body_of(page)["url"], "/v1/customers/%s/payment_methods" % c.id)
        all_ = [p.id for p in stripe.Customer.list_payment_methods(c.id, limit=7).auto_paging_iter()]
        self.assertEqual(all_, newest_first)
        lst = stripe.PaymentMethod.list(customer=c.id, type="card", limit=10)
        self.assertEqual(body_of(lst)["url"], "/v1/payment_methods")
        all_ = [p.id for p in lst.auto_paging_iter()]
        self.assertEqual(all_, newest_first)
        # Cursors.
        after = stripe.PaymentMethod.list(customer=c.id, starting_after=ids[20], limit=3)
        self.assertEqual([p.id for p in after.data], ids[19:16:-1])
        before = stripe.PaymentMethod.list(customer=c.id, ending_before=ids[20], limit=2)
        self.assertEqual([p.id for p in before.data], ids[22:20:-1])
        # Without a customer: the tenant's cards, attached or not.
        every = [p.id for p in stripe.PaymentMethod.list(limit=100).auto_paging_iter()]
        self.assertIn(loose.id, every)
        self.assertTrue(set(ids) <= set(every))
        # expand[] in a list.
        x = stripe.PaymentMethod.list(customer=c.id, limit=1, expand=["data.customer"])
        self.assertEqual(x.data[0].customer.id, c.id)

    def test_type_filter(self):
        c = self.customer()
        stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
        self.assertEqual(len(stripe.PaymentMethod.list(customer=c.id, type="card").data), 1)
        self.assertEqual(stripe.PaymentMethod.list(customer=c.id, type="sepa_debit").data, [])
        self.assertEqual(stripe.Customer.list_payment_methods(c.id, type="sepa_debit").data, [])
        with self.assertInvalid(400, "parameter_invalid", "type"):
            stripe.PaymentMethod.list(customer=c.id, type="bogus")
        with self.assertInvalid(400, "parameter_invalid", "type"):
            stripe.Customer.list_payment_methods(c.id, type="bogus")

    def test_errors(self):
        with self.assertInvalid(404, "resource_missing", "customer",
                                "No such customer: 'cus_nope1234567890'"):
            stripe.PaymentMethod.list(customer="cus_nope1234567890")
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.Customer.list_payment_methods("cus_nope1234567890")
        gone = self.customer()
        stripe.Customer.delete(gone.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.Customer.list_payment_methods(gone.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.list(customer=gone.id)
        self.assertError(lt.get(CUSTOMERS + "/%s/payment_methods?customer=x" % gone.id,
                                key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_unknown", "customer")
        with self.assertInvalid(400, "parameter_unknown", "email"):
            stripe.PaymentMethod.list(email="x")
        with self.assertInvalid(400, "parameter_invalid", "customer"):
            stripe.PaymentMethod.list(customer="cus bad")
        with self.assertInvalid(400, "parameter_invalid_integer", "limit"):
            stripe.PaymentMethod.list(limit=101)
        with self.assertInvalid(404, "resource_missing", "starting_after"):
            stripe.PaymentMethod.list(starting_after="pm_nope1234567890")


class Customers(PmCase):
    def test_create_with_payment_method_and_default(self):
        pm = stripe.PaymentMethod.create(type="card", card=card())
        c = stripe.Customer.create(payment_method=pm.id,
                                   invoice_settings={"default_payment_method": pm.id})
        self.assertEqual(c.invoice_settings.default_payment_method, pm.id)
        self.assertEqual(stripe.PaymentMethod.retrieve(pm.id).customer, c.id)
        x = stripe.Customer.retrieve(c.id, expand=["invoice_settings.default_payment_method"])
        self.assertEqual(x.invoice_settings.default_payment_method.card.last4, "4242")

    def test_create_with_test_id(self):
        c = stripe.Customer.create(payment_method="pm_card_visa")
        listed = list(stripe.Customer.list_payment_methods(c.id))
        self.assertEqual(len(listed), 1)
        self.assertEqual((listed[0].card.last4, listed[0].customer), ("4242", c.id))

    def test_create_with_test_id_as_default(self):
        """Naming the test id as the default means the pm_ its attachment made, as in Stripe."""
        c = stripe.Customer.create(payment_method="pm_card_visa",
                                   invoice_settings={"default_payment_method": "pm_card_visa"})
        listed = list(stripe.Customer.list_payment_methods(c.id))
        self.assertEqual(len(listed), 1)
        self.assertTrue(listed[0].id.startswith("pm_") and listed[0].id != "pm_card_visa")
        self.assertEqual(c.invoice_settings.default_payment_method, listed[0].id)

    def test_create_with_declining_card(self):
        before = int(owner_rows("SELECT count(*) FROM customers WHERE tenant_id = %d" % self.t.id)[0][0])
        with self.assertCard("card_declined", None, "generic_decline", "Your card was declined."):
            stripe.Customer.create(payment_method="pm_card_chargeDeclined", email="d@example.com")
        pm = stripe.PaymentMethod.create(type="card", card=card("4000000000009995"))
        with self.assertCard("card_declined", None, "insufficient_funds"):
            stripe.Customer.create(payment_method=pm.id)
        after = int(owner_rows("SELECT count(*) FROM customers WHERE tenant_id = %d" % self.t.id)[0][0])
        self.assertEqual(after, before, "a declined card left a customer behind")
        self.assertIsNone(stripe.PaymentMethod.retrieve(pm.id).customer)
        with self.assertInvalid(404, "resource_missing", "payment_method"):
            stripe.Customer.create(payment_method="pm_nope1234567890")

    def test_default_must_be_attached(self):
        c = self.customer()
        other = self.customer()
        loose = stripe.PaymentMethod.create(type="card", card=card())
        theirs = stripe.PaymentMethod.attach("pm_card_visa", customer=other.id)
        for pm in (loose.id, theirs.id):
            with self.subTest(pm=pm):
                with self.assertInvalid(400, lt.ANY, "invoice_settings[default_payment_method]",
                                        "must be attached to the customer"):
                    stripe.Customer.modify(c.id, invoice_settings={"default_payment_method": pm})
        self.assertIsNone(stripe.Customer.retrieve(c.id).invoice_settings.default_payment_method)


class Isolation(PmCase):
    @classmethod
    def setUpClass(cls):
        cls.a = st.tenant()
        cls.a_cus = stripe.Customer.create()
        cls.a_pm = stripe.PaymentMethod.attach("pm_card_visa", customer=cls.a_cus.id)
        cls.a_loose = stripe.PaymentMethod.create(type="card", card=card())
        cls.a_live_cus = st.use(cls.a.sk_live).Customer.create()
        cls.b = st.tenant()
        cls.b_cus = stripe.Customer.create()
        cls.b_pm = stripe.PaymentMethod.create(type="card", card=card())
        cls.t = cls.b

    def answers(self, pm_id, key, cus):
        """What each endpoint answers for pm_id, raw, with the id masked."""
        out = []
        for method, path, body in (("GET", "", None), ("POST", "", {"metadata": {"x": "y"}}),
                                   ("POST", "/attach", {"customer": cus}),
                                   ("POST", "/detach", {})):
            resp = lt.call(method, "%s/%s%s" % (PMS, pm_id, path), body=body, key=key)
            out.append(normalise(resp, pm_id))
        return out

    def test_other_tenant(self):
        missing = self.answers("pm_nope1234567890abcd", self.b.sk_test, self.b_cus.id)
        for pm in (self.a_pm.id, self.a_loose.id):
            got = self.answers(pm, self.b.sk_test, self.b_cus.id)
            self.assertEqual(got, missing)
            self.assertEqual(got[0][0], 404)
        # B's card to A's customer: the customer is missing to B.
        st.use(self.b.sk_test)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.attach(self.b_pm.id, customer=self.a_cus.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.attach("pm_card_visa", customer=self.a_cus.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.list(customer=self.a_cus.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.Customer.list_payment_methods(self.a_cus.id)
        with self.assertInvalid(404, "resource_missing", "payment_method"):
            stripe.Customer.create(payment_method=self.a_loose.id)
        with self.assertInvalid(404, "resource_missing", "starting_after"):
            stripe.PaymentMethod.list(starting_after=self.a_pm.id)
        listed = [p.id for p in stripe.PaymentMethod.list(limit=100).auto_paging_iter()]
        self.assertEqual(listed, [self.b_pm.id])
        # Nothing of A's changed.
        st.use(self.a.sk_test)
        self.assertEqual(body_of(stripe.PaymentMethod.retrieve(self.a_pm.id)), body_of(self.a_pm))
        self.assertIsNone(stripe.PaymentMethod.retrieve(self.a_loose.id).customer)

    def test_other_mode(self):
        # A's test cards seen with A's live key (and a live dashboard session) are missing.
        missing = self.answers("pm_nope1234567890abcd", self.a.sk_live, self.a_live_cus.id)
        for pm in (self.a_pm.id, self.a_loose.id):
            got = self.answers(pm, self.a.sk_live, self.a_live_cus.id)
            self.assertEqual(got, missing)
            self.assertEqual(got[0][0], 404)
            st_, _, b = lt.get("%s/%s" % (PMS, pm), token=self.a.access, mode="live")
            self.assertEqual(st_, 404, b)
        # A test card to a live customer, with the test key: the customer is missing.
        st.use(self.a.sk_test)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.attach(self.a_loose.id, customer=self.a_live_cus.id)
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.Customer.list_payment_methods(self.a_live_cus.id)
        st.use(self.a.sk_live)
        self.assertEqual(list(stripe.PaymentMethod.list(limit=100)), [])
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.PaymentMethod.list(customer=self.a_cus.id)
        st.use(self.a.sk_test)
        self.assertIsNone(stripe.PaymentMethod.retrieve(self.a_loose.id).customer)

    def test_dashboard_user(self):
        dev = self.a.add_user("developer")
        st_, _, b = lt.get("%s/%s" % (PMS, self.a_pm.id), token=dev.access)
        self.assertEqual((st_, b["id"]), (200, self.a_pm.id))
        st_, _, b = lt.post(PMS, {"type": "card", "card": card()}, token=dev.access)
        self.assertEqual(st_, 200, b)
        self.assertEqual(b["card"]["fingerprint"], self.a_loose.card.fingerprint)
        st_, _, b = lt.get("%s/%s" % (PMS, self.a_pm.id), token=self.b.access)
        self.assertEqual(st_, 404, b)


class Secrecy(PmCase):
    """No card number reaches the database or the log, whatever was sent (run last: Z)."""

    def test_zz_no_card_number_stored_or_logged(self):
        c = self.customer()
        for number in ALL_NUMBERS + ["4242 4242 4242 4242"]:
            try:
                pm = stripe.PaymentMethod.create(type="card", card=card(number),
                                                 billing_details={"name": "N"})
                stripe.PaymentMethod.attach(pm.id, customer=c.id)
            except stripe.error.StripeError:
                pass
        rows = lt.psql(OWNER, "SELECT t::text FROM payment_methods t").stdout
        self.assertIn("4242", rows)
        for number in ALL_NUMBERS:
            self.assertNotIn(number, rows)
        dump = subprocess.run(["pg_dump", "--data-only", "-d", SUPER], capture_output=True,
                              text=True, timeout=300)
        self.assertEqual(dump.returncode, 0, dump.stderr)
        self.assertIn("payment_methods", dump.stdout)
        with open(os.environ["LEVY_FCGI_LOG"], encoding="utf-8", errors="replace") as f:
            log = f.read()
        self.assertIn("payment_methods.create", log)
        for number in ALL_NUMBERS:
            with self.subTest(number=number):
                self.assertNotIn(number, dump.stdout)
                self.assertNotIn(number, log)
        nginx = os.environ.get("LEVY_NGINX_LOG")
        if nginx and os.path.exists(nginx):
            with open(nginx, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for number in ALL_NUMBERS:
                self.assertNotIn(number, text)


if __name__ == "__main__":
    lt.main()
