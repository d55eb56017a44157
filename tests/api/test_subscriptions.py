#!/usr/bin/python3
"""Subscriptions (/v1/subscriptions) driven by python3-stripe against levy's test processor:
creation (pm_card_visa paid with the platform fee, trials, a decline then paid with another card,
error_if_incomplete, default_incomplete, send_invoice), anchored period arithmetic, updates (plan
and quantity changes with prorations computed here in the test to the second and rounded half to
even, for create_prorations, always_invoice and none; trial_end now and later; cancel at period
end; payment settings; declines), cancellation now (prorate, invoice_now), lists and their
filters, a customer's entitlements, the events of each step, every error the endpoints answer,
isolation between tenants and modes, and 200 concurrent creations numbering their invoices with
no gap."""

import calendar
import concurrent.futures
import datetime
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import fee_of, half_even, owner_rows  # noqa: E402
from levytest import LevyTestCase, get, post  # noqa: E402

import stripe  # noqa: E402

SUBS = "/api/v1/subscriptions"
SUB_RE = re.compile(r"^sub_[0-9A-Za-z]{14,64}$")
SI_RE = re.compile(r"^si_[0-9A-Za-z]{14,64}$")
DAY = 86400

# Stripe's Subscription (API 2023-08-16): every property levy renders.
SUB_KEYS = {
    "id", "object", "application", "application_fee_percent", "automatic_tax",
    "billing_cycle_anchor", "billing_thresholds", "cancel_at", "cancel_at_period_end",
    "canceled_at", "cancellation_details", "collection_method", "created", "currency",
    "current_period_end", "current_period_start", "customer", "days_until_due",
    "default_payment_method", "default_source", "default_tax_rates", "description", "discount",
    "ended_at", "items", "latest_invoice", "livemode", "metadata",
    "next_pending_invoice_item_invoice", "on_behalf_of", "pause_collection", "payment_settings",
    "pending_invoice_item_interval", "pending_setup_intent", "pending_update", "plan",
    "quantity", "schedule", "start_date", "status", "test_clock", "transfer_data", "trial_end",
    "trial_settings", "trial_start"}
MSG_ENDED = "You cannot update a subscription that is `canceled` or `incomplete_expired`."


# --------------------------------------------------------------------------
# The rules, written here independently of levy's C.





def period_nth(anchor, interval, count, k):
    """The k-th boundary of the schedule anchored at `anchor`: months keep the anchor's day,
    clamped to the month's last day, and its time of day."""
    if interval == "day":
        return anchor + DAY * count * k
    if interval == "week":
        return anchor + 7 * DAY * count * k
    months = count * k * (12 if interval == "year" else 1)
    d = datetime.datetime.fromtimestamp(anchor, datetime.timezone.utc)
    m0 = d.month - 1 + months
    y, m = d.year + m0 // 12, m0 % 12 + 1
    return int(d.replace(year=y, month=m, day=min(d.day, calendar.monthrange(y, m)[1])).timestamp())


def proration(amount, t, start, end):
    """The part of amount (unit amount * quantity) for the seconds left of [start, end) at t."""
    return half_even(amount * (end - t), end - start)


def date_of(t):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc)
    return "%d %s %d" % (d.day, calendar.month_abbr[d.month], d.year)


def prefix_of(slug):
    """The invoice number prefix the engine derives from the tenant's slug."""
    s = re.sub(r"[^a-z0-9]", "", slug).upper()
    return s[:10] if len(s) >= 3 else s.ljust(3, "X")


def body_of(obj):
    """The exact JSON levy answered for an SDK call."""
    return json.loads(obj.last_response.body)


def events_of(key, object_id, type_=None):
    """The events whose data.object is object_id, oldest first (through the API, as key)."""
    path = "/api/v1/events?limit=100" + ("&type=" + type_ if type_ else "")
    st_, _, body = get(path, key=key)
    assert st_ == 200, body
    return [e for e in reversed(body["data"]) if e["data"]["object"].get("id") == object_id]


def sql_str(s):
    assert re.match(r"^[0-9A-Za-z_]+$", s), s
    return "'%s'" % s


class SubCase(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()

    def setUp(self):
        st.use(self.t.sk_test)

    # fixtures

    def plan(self, amount=2000, interval="month", currency="usd", name=None, **kw):
        return stripe.Plan.create(amount=amount, currency=currency, interval=interval,
                                  product={"name": name or lt.unique("Prod")}, **kw)

    def customer(self, pm="pm_card_visa", **kw):
        if pm is None:
            return stripe.Customer.create(name="No card", **kw)
        return stripe.Customer.create(payment_method=pm,
                                      invoice_settings={"default_payment_method": pm}, **kw)

    def subscribe(self, plan=None, customer=None, **kw):
        plan = plan or self.plan()
        customer = customer or self.customer()
        kw.setdefault("items", [{"price": plan.id}])
        return stripe.Subscription.create(customer=customer.id, **kw)

    def invoice(self, inv_id):
        return body_of(stripe.Invoice.retrieve(inv_id))

    def pending(self, customer_id):
        """The customer's pending invoice items, oldest first."""
        items = stripe.InvoiceItem.list(customer=customer_id, pending=True, limit=100)
        return list(reversed([body_of_item for body_of_item in body_of(items)["data"]]))

    # assertions

    def assertInvalid(self, status=400, code=lt.ANY, param=lt.ANY, message=None,
                      exc=stripe.error.InvalidRequestError):
        case = self

        class Ctx:
            def __enter__(self):
                self.cm = case.assertRaises(exc)
                self.cm.__enter__()
                return self

            def __exit__(self, *a):
                if not self.cm.__exit__(*a):
                    return False
                e = self.cm.exception
                case.assertEqual(e.http_status, status, e.json_body)
                if code is not lt.ANY:
                    case.assertEqual(e.code, code, e.json_body)
                if param is not lt.ANY:
                    case.assertEqual(e.param, param, e.json_body)
                if message is not None:
                    case.assertIn(message, e.json_body["error"]["message"], e.json_body)
                self.exception = e
                return True

        return Ctx()

    def assertProration(self, line, amount, quantity, product, t, end, plan, si, sub):
        """An invoice item (or invoice line) of a proration, as the rule says."""
        credit = amount < 0
        self.assertEqual(line["amount"], amount, line)
        self.assertEqual(line["description"], "%s time on %d × %s after %s"
                         % ("Unused" if credit else "Remaining", quantity, product, date_of(t)))
        self.assertEqual(line["period"], {"start": t, "end": end})
        self.assertIs(line["proration"], True)
        self.assertEqual(line["quantity"], quantity)
        self.assertEqual(line["plan"]["id"], plan)
        self.assertEqual(line["subscription"], sub)
        self.assertEqual(line["subscription_item"], si)


# --------------------------------------------------------------------------
# Creation


class Create(SubCase):
    def test_visa_active_paid_numbered_with_fee(self):
        t = st.tenant()  # a fresh tenant: its first invoice is number 0001
        plan = self.plan(amount=1030, name="Gold")  # 15% = 154.5: half to even 154
        cus = self.customer()
        sub = stripe.Subscription.create(customer=cus.id, items=[{"price": plan.id}],
                                         expand=["latest_invoice.payment_intent"])
        b = body_of(sub)
        self.assertEqual(set(b), SUB_KEYS)
        self.assertRegex(b["id"], SUB_RE)
        self.assertEqual(b["object"], "subscription")
        self.assertEqual(b["status"], "active")
        self.assertEqual(b["customer"], cus.id)
        self.assertEqual(b["currency"], "usd")
        self.assertIs(b["livemode"], False)
        self.assertEqual(b["plan"]["id"], plan.id)
        self.assertEqual(b["quantity"], 1)
        self.assertEqual(len(b["items"]["data"]), 1)
        item = b["items"]["data"][0]
        self.assertRegex(item["id"], SI_RE)
        self.assertEqual((item["price"]["id"], item["plan"]["id"], item["quantity"]),
                         (plan.id, plan.id, 1))
        start = b["current_period_start"]
        self.assertRecent(start)
        self.assertEqual(b["current_period_end"], period_nth(start, "month", 1, 1))
        self.assertEqual(b["billing_cycle_anchor"], start)
        self.assertEqual(b["start_date"], start)
        self.assertIsNone(b["trial_end"])
        inv = b["latest_invoice"]
        self.assertEqual(inv["status"], "paid")
        self.assertEqual(inv["number"], prefix_of(t.slug) + "-0001")
        self.assertEqual(inv["billing_reason"], "subscription_create")
        self.assertEqual(inv["subscription"], b["id"])
        self.assertEqual((inv["total"], inv["amount_due"], inv["amount_paid"],
                          inv["amount_remaining"]), (1030, 1030, 1030, 0))
        self.assertEqual((inv["period_start"], inv["period_end"]),
                         (start, b["current_period_end"]))
        self.assertEqual(inv["attempt_count"], 1)
        [line] = inv["lines"]["data"]
        self.assertEqual((line["amount"], line["description"], line["proration"]),
                         (1030, "1 × Gold", False))
        pi = inv["payment_intent"]
        self.assertEqual(pi["status"], "succeeded")
        self.assertEqual(pi["amount"], 1030)
        self.assertEqual(pi["application_fee_amount"], fee_of(1030))
        self.assertEqual(pi["application_fee_amount"], 154)
        self.assertEqual(inv["application_fee_amount"], 154)
        # Its events, in order.
        types = [e["type"] for e in events_of(t.sk_test, b["id"])]
        self.assertEqual(types, ["customer.subscription.created", "customer.subscription.updated"])
        upd = events_of(t.sk_test, b["id"], "customer.subscription.updated")[0]
        self.assertEqual(upd["data"]["previous_attributes"], {"status": "incomplete"})
        self.assertEqual(upd["data"]["object"]["status"], "active")
        inv_types = [e["type"] for e in events_of(t.sk_test, inv["id"])]
        self.assertEqual(inv_types, ["invoice.created", "invoice.finalized", "invoice.paid",
                                     "invoice.payment_succeeded"])
        # Retrieve answers the same subscription (with ids unexpanded).
        got = body_of(stripe.Subscription.retrieve(b["id"]))
        self.assertEqual(got["latest_invoice"], inv["id"])
        self.assertEqual({k: v for k, v in got.items() if k != "latest_invoice"},
                         {k: v for k, v in b.items() if k != "latest_invoice"})

    def test_trial(self):
        plan = self.plan(amount=5000, name="Trial plan", trial_period_days=7)
        sub = self.subscribe(plan, trial_period_days=14, expand=["latest_invoice"])
        b = body_of(sub)
        self.assertEqual(b["status"], "trialing")
        start = b["current_period_start"]
        self.assertEqual(b["trial_start"], start)
        self.assertEqual(b["trial_end"], start + 14 * DAY)
        self.assertEqual(b["current_period_end"], b["trial_end"])
        self.assertEqual(b["billing_cycle_anchor"], b["trial_end"])
        inv = b["latest_invoice"]
        self.assertEqual((inv["status"], inv["total"], inv["amount_due"], inv["amount_paid"]),
                         ("paid", 0, 0, 0))
        self.assertIsNone(inv["payment_intent"])
        self.assertEqual(inv["lines"]["data"][0]["description"], "Trial period for Trial plan")
        # The plan's own trial, on request.
        b2 = body_of(self.subscribe(plan, trial_from_plan=True))
        self.assertEqual(b2["trial_end"], b2["current_period_start"] + 7 * DAY)
        # An explicit trial_end.
        end = int(time.time()) + 3 * DAY
        b3 = body_of(self.subscribe(plan, trial_end=end))
        self.assertEqual((b3["status"], b3["trial_end"], b3["current_period_end"]),
                         ("trialing", end, end))

    def test_decline_then_paid_with_another_card(self):
        plan = self.plan(amount=2500)
        cus = self.customer("pm_card_chargeCustomerFail")
        sub = self.subscribe(plan, cus, expand=["latest_invoice.payment_intent"])
        b = body_of(sub)
        self.assertEqual(b["status"], "incomplete")
        inv = b["latest_invoice"]
        self.assertEqual((inv["status"], inv["attempt_count"], inv["amount_paid"]),
                         ("open", 1, 0))
        pi = inv["payment_intent"]
        self.assertEqual(pi["status"], "requires_payment_method")
        self.assertEqual(pi["last_payment_error"]["decline_code"], "generic_decline")
        self.assertEqual([e["type"] for e in events_of(self.t.sk_test, inv["id"])],
                         ["invoice.created", "invoice.finalized", "invoice.payment_failed"])
        # Another card, then the invoice paid: the subscription becomes active.
        visa = stripe.PaymentMethod.attach("pm_card_visa", customer=cus.id)
        paid = body_of(stripe.Invoice.pay(inv["id"], payment_method=visa.id))
        # A manual attempt after the first does not count (Stripe's attempt_count).
        self.assertEqual((paid["status"], paid["amount_paid"], paid["attempt_count"]),
                         ("paid", 2500, 1))
        got = body_of(stripe.Subscription.retrieve(sub.id))
        self.assertEqual(got["status"], "active")
        upd = events_of(self.t.sk_test, sub.id, "customer.subscription.updated")
        self.assertEqual(upd[-1]["data"]["previous_attributes"], {"status": "incomplete"})

    def test_error_if_incomplete_creates_nothing(self):
        plan = self.plan()
        cus = self.customer("pm_card_chargeCustomerFail")
        with self.assertInvalid(402, "card_declined", exc=stripe.error.CardError) as cm:
            self.subscribe(plan, cus, payment_behavior="error_if_incomplete")
        self.assertEqual(cm.exception.json_body["error"]["decline_code"], "generic_decline")
        self.assertEqual(stripe.Subscription.list(customer=cus.id, status="all").data, [])
        for table in ("subscriptions", "invoices", "payment_intents", "charges"):
            self.assertEqual(owner_rows("SELECT count(*) FROM %s WHERE customer = %s"
                                        % (table, sql_str(cus.id))), [["0"]], table)

    def test_default_incomplete(self):
        plan = self.plan(amount=1200)
        cus = self.customer()
        sub = self.subscribe(plan, cus, payment_behavior="default_incomplete",
                             expand=["latest_invoice"])
        b = body_of(sub)
        self.assertEqual(b["status"], "incomplete")
        inv = b["latest_invoice"]
        self.assertEqual((inv["status"], inv["attempt_count"], inv["amount_due"]),
                         ("open", 0, 1200))
        self.assertIsNone(inv["payment_intent"])
        stripe.Invoice.pay(inv["id"])
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "active")

    def test_send_invoice(self):
        plan = self.plan(amount=4000)
        cus = self.customer(pm=None)
        sub = self.subscribe(plan, cus, collection_method="send_invoice", days_until_due=30,
                             expand=["latest_invoice"])
        b = body_of(sub)
        self.assertEqual((b["status"], b["collection_method"], b["days_until_due"]),
                         ("active", "send_invoice", 30))
        inv = b["latest_invoice"]
        self.assertEqual((inv["status"], inv["collection_method"], inv["attempt_count"]),
                         ("open", "send_invoice", 0))
        self.assertRecent(inv["due_date"] - 30 * DAY, "due_date - 30 days")
        self.assertIsNone(inv["payment_intent"])

    def test_amount_beyond_one_payment(self):
        """99999999 x 2000 is more than one payment may collect: a 400, and nothing created."""
        big = self.plan(amount=99999999)
        cus = self.customer()
        with self.assertInvalid(400, "amount_too_large"):
            self.subscribe(big, cus, items=[{"price": big.id, "quantity": 2000}])
        self.assertEqual(stripe.Subscription.list(customer=cus.id, status="all").data, [])

    def test_errors(self):
        usd = self.plan()
        eur = self.plan(currency="eur")
        week = self.plan(interval="week")
        off = self.plan()
        stripe.Plan.modify(off.id, active=False)
        cus = self.customer()
        bare = self.customer(pm=None)
        other_pm = stripe.PaymentMethod.attach("pm_card_visa", customer=bare.id)
        cases = [
            (dict(items=[{"price": usd.id}]), 400, "parameter_missing", "customer"),
            (dict(customer=cus.id), 400, "parameter_missing", "items"),
            (dict(customer=cus.id, items=[{"quantity": 2}]), 400, "parameter_missing",
             "items[0][price]"),
            (dict(customer="cus_nope12345678901", items=[{"price": usd.id}]), 404,
             "resource_missing", "customer"),
            (dict(customer=cus.id, items=[{"price": "plan_nope1234567890"}]), 404,
             "resource_missing", "items[0][price]"),
            (dict(customer=cus.id, items=[{"price": off.id}]), 400, "parameter_invalid",
             "items[0][price]"),
            (dict(customer=cus.id, items=[{"price": usd.id}, {"price": eur.id}]), 400,
             "parameter_invalid", "items[1][price]"),
            (dict(customer=cus.id, items=[{"price": usd.id}, {"price": week.id}]), 400,
             "parameter_invalid", "items[1][price]"),
            (dict(customer=cus.id, items=[{"price": usd.id}, {"plan": usd.id}]), 400,
             "parameter_invalid", "items"),
            (dict(customer=cus.id, items=[{"price": usd.id, "plan": eur.id}]), 400,
             "parameter_invalid", "items[0][plan]"),
            (dict(customer=cus.id, items=[{"price": usd.id, "quantity": 0}]), 400,
             "parameter_invalid_integer", "items[0][quantity]"),
            (dict(customer=cus.id, items=[{"price": usd.id}], payment_behavior="pending_if_incomplete"),
             400, "parameter_invalid", "payment_behavior"),
            (dict(customer=cus.id, items=[{"price": usd.id}], collection_method="send_invoice"),
             400, "parameter_missing", "days_until_due"),
            (dict(customer=cus.id, items=[{"price": usd.id}], days_until_due=3), 400,
             "parameter_invalid", "days_until_due"),
            (dict(customer=cus.id, items=[{"price": usd.id}], default_payment_method=other_pm.id),
             400, "resource_missing", "default_payment_method"),
            (dict(customer=cus.id, items=[{"price": usd.id}], trial_end=int(time.time()) + DAY,
                  trial_period_days=3), 400, "parameter_invalid", "trial_end"),
            (dict(customer=cus.id, items=[{"price": usd.id}], trial_period_days=3,
                  billing_cycle_anchor=int(time.time()) + 10 * DAY), 400, "parameter_invalid",
             "billing_cycle_anchor"),
            (dict(customer=cus.id, items=[{"price": usd.id}],
                  billing_cycle_anchor=int(time.time()) + 40 * DAY), 400, "parameter_invalid",
             "billing_cycle_anchor"),
            (dict(customer=cus.id, items=[{"price": usd.id}], coupon="x"), 400,
             "parameter_unknown", "coupon"),
        ]
        for params, status, code, param in cases:
            with self.subTest(params=params):
                with self.assertInvalid(status, code, param):
                    stripe.Subscription.create(**params)
        self.assertEqual(stripe.Subscription.list(customer=cus.id, status="all").data, [])


class Periods(SubCase):
    """Period arithmetic, seen through the API (the unit tests cover the rules themselves)."""

    def test_intervals(self):
        for interval, count in (("day", 3), ("week", 2), ("month", 1), ("month", 3),
                                ("year", 1)):
            with self.subTest(interval=interval, count=count):
                p = self.plan(interval=interval, interval_count=count)
                b = body_of(self.subscribe(p, items=[{"plan": p.id}]))  # plan: price's alias
                self.assertEqual(b["plan"]["id"], p.id)
                s = b["current_period_start"]
                self.assertEqual(b["current_period_end"], period_nth(s, interval, count, 1))

    def test_future_anchor_at_a_month_end(self):
        """A billing_cycle_anchor on a month's last day: the first period ends at it and is
        billed as a share of the next, full period, whose end keeps the day, clamped."""
        now = int(time.time())
        d = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
        y, m = d.year, d.month
        anchor = int(datetime.datetime(y, m, calendar.monthrange(y, m)[1], 12,
                                       tzinfo=datetime.timezone.utc).timestamp())
        if anchor <= now + 3600:
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
            anchor = int(datetime.datetime(y, m, calendar.monthrange(y, m)[1], 12,
                                           tzinfo=datetime.timezone.utc).timestamp())
        plan = self.plan(amount=3000, name="Anchored")
        b = body_of(self.subscribe(plan, billing_cycle_anchor=anchor, expand=["latest_invoice"]))
        start = b["current_period_start"]
        self.assertEqual((b["status"], b["billing_cycle_anchor"], b["current_period_end"]),
                         ("active", anchor, anchor))
        full = period_nth(anchor, "month", 1, 1) - anchor
        want = half_even(3000 * (anchor - start), full)
        [line] = b["latest_invoice"]["lines"]["data"]
        self.assertEqual((line["amount"], line["proration"], line["description"]),
                         (want, True, "Remaining time on 1 × Anchored"))
        self.assertEqual(line["period"], {"start": start, "end": anchor})
        self.assertEqual(b["latest_invoice"]["amount_paid"], want)
        # A change in that short period is prorated against the same full period.
        up = self.plan(amount=9000, name="Anchored up")
        t = start + 1000
        si = b["items"]["data"][0]["id"]
        stripe.Subscription.modify(b["id"], items=[{"id": si, "price": up.id}], proration_date=t)
        credit, debit = self.pending(b["customer"])
        self.assertEqual(credit["amount"], -half_even(3000 * (anchor - t), full))
        self.assertEqual(debit["amount"], half_even(9000 * (anchor - t), full))
        self.assertEqual(credit["period"], {"start": t, "end": anchor})


# --------------------------------------------------------------------------
# Updates


class Upgrade(SubCase):
    def setUp(self):
        super().setUp()
        self.basic = self.plan(amount=1000, name="Basic")
        self.pro = self.plan(amount=3000, name="Pro")
        self.cus = self.customer()
        self.sub = body_of(self.subscribe(self.basic, self.cus))
        self.si = self.sub["items"]["data"][0]["id"]
        self.start = self.sub["current_period_start"]
        self.end = self.sub["current_period_end"]

    def test_create_prorations_then_the_next_invoice(self):
        t = self.start + 12345
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": self.pro.id}], proration_date=t))
        self.assertEqual(got["plan"]["id"], self.pro.id)
        self.assertEqual([i["id"] for i in got["items"]["data"]], [self.si])
        self.assertEqual(got["latest_invoice"], self.sub["latest_invoice"])  # no invoice now
        self.assertEqual((got["current_period_start"], got["current_period_end"]),
                         (self.start, self.end))
        credit, debit = self.pending(self.cus.id)
        c_amount = -proration(1000, t, self.start, self.end)
        d_amount = proration(3000, t, self.start, self.end)
        self.assertProration(credit, c_amount, 1, "Basic", t, self.end, self.basic.id, self.si,
                             self.sub["id"])
        self.assertProration(debit, d_amount, 1, "Pro", t, self.end, self.pro.id, self.si,
                             self.sub["id"])
        self.assertIsNone(credit["invoice"])
        # Events: the update with what changed, and an invoiceitem.created per line.
        [ev] = events_of(self.t.sk_test, self.sub["id"], "customer.subscription.updated")[1:]
        prev = ev["data"]["previous_attributes"]
        self.assertEqual(prev["plan"]["id"], self.basic.id)
        self.assertEqual(prev["items"]["data"][0]["plan"]["id"], self.basic.id)
        self.assertEqual(ev["data"]["object"], got)
        for ii in (credit, debit):
            self.assertEqual(len(events_of(self.t.sk_test, ii["id"], "invoiceitem.created")), 1)
        # The next invoice of the subscription takes them (with the new change's own lines).
        t2 = t + 100
        after = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "quantity": 2}], proration_date=t2,
            proration_behavior="always_invoice", expand=["latest_invoice"]))
        inv = after["latest_invoice"]
        lines = inv["lines"]["data"]
        self.assertEqual([(x["amount"], x["invoice_item"]) for x in lines[:2]],
                         [(c_amount, credit["id"]), (d_amount, debit["id"])])
        self.assertProration(lines[2], -proration(3000, t2, self.start, self.end), 1, "Pro", t2,
                             self.end, self.pro.id, self.si, self.sub["id"])
        self.assertProration(lines[3], proration(6000, t2, self.start, self.end), 2, "Pro", t2,
                             self.end, self.pro.id, self.si, self.sub["id"])
        self.assertEqual(inv["total"], sum(x["amount"] for x in lines))
        self.assertEqual(inv["status"], "paid")
        self.assertEqual(self.pending(self.cus.id), [])

    def test_half_way_rounds_half_to_even(self):
        """Half the period left: 1001 / 2 = 500.5 -> 500 and 3003 / 2 = 1501.5 -> 1502 (half up
        would credit 501, half down would charge 1501)."""
        odd = self.plan(amount=1001, name="Odd")
        odder = self.plan(amount=3003, name="Odder")
        sub = body_of(self.subscribe(odd, self.cus))
        s, e = sub["current_period_start"], sub["current_period_end"]
        self.assertEqual((e - s) % 2, 0)
        t = s + (e - s) // 2
        si = sub["items"]["data"][0]["id"]
        stripe.Subscription.modify(sub["id"], items=[{"id": si, "price": odder.id}],
                                   proration_date=t)
        credit, debit = self.pending(self.cus.id)
        self.assertEqual((credit["amount"], debit["amount"]), (-500, 1502))
        self.assertEqual((credit["amount"], debit["amount"]),
                         (-proration(1001, t, s, e), proration(3003, t, s, e)))

    def test_always_invoice_pays_at_once(self):
        t = self.start + 86400 + 77
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": self.pro.id}], proration_date=t,
            proration_behavior="always_invoice", expand=["latest_invoice.payment_intent"]))
        inv = got["latest_invoice"]
        self.assertNotEqual(inv["id"], self.sub["latest_invoice"])
        self.assertEqual((inv["billing_reason"], inv["status"], inv["subscription"]),
                         ("subscription_update", "paid", self.sub["id"]))
        credit, debit = inv["lines"]["data"]
        c_amount = -proration(1000, t, self.start, self.end)
        d_amount = proration(3000, t, self.start, self.end)
        self.assertProration(credit, c_amount, 1, "Basic", t, self.end, self.basic.id, self.si,
                             self.sub["id"])
        self.assertProration(debit, d_amount, 1, "Pro", t, self.end, self.pro.id, self.si,
                             self.sub["id"])
        total = c_amount + d_amount
        self.assertEqual((inv["total"], inv["amount_paid"]), (total, total))
        self.assertEqual(inv["payment_intent"]["status"], "succeeded")
        self.assertEqual(inv["payment_intent"]["application_fee_amount"], fee_of(total))
        self.assertEqual(inv["number"].split("-")[1], "%04d" % (int(self.sub_number()) + 1))
        self.assertEqual(got["status"], "active")
        self.assertEqual(self.pending(self.cus.id), [])

    def sub_number(self):
        return self.invoice(self.sub["latest_invoice"])["number"].split("-")[1]

    def test_downgrade_credit_goes_to_the_balance(self):
        t = self.start + 500
        pro_sub = body_of(self.subscribe(self.pro, self.cus))
        si = pro_sub["items"]["data"][0]["id"]
        s, e = pro_sub["current_period_start"], pro_sub["current_period_end"]
        t = s + 500
        got = body_of(stripe.Subscription.modify(
            pro_sub["id"], items=[{"id": si, "price": self.basic.id}], proration_date=t,
            proration_behavior="always_invoice", expand=["latest_invoice"]))
        inv = got["latest_invoice"]
        total = -proration(3000, t, s, e) + proration(1000, t, s, e)
        self.assertLess(total, 0)
        self.assertEqual((inv["total"], inv["amount_due"], inv["status"], inv["ending_balance"]),
                         (total, 0, "paid", total))
        self.assertIsNone(inv["payment_intent"])
        self.assertEqual(stripe.Customer.retrieve(self.cus.id).balance, total)

    def test_quantity_change(self):
        t = self.start + 3600
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "quantity": 3}], proration_date=t))
        self.assertEqual((got["quantity"], got["items"]["data"][0]["quantity"]), (3, 3))
        credit, debit = self.pending(self.cus.id)
        self.assertProration(credit, -proration(1000, t, self.start, self.end), 1, "Basic", t,
                             self.end, self.basic.id, self.si, self.sub["id"])
        self.assertProration(debit, proration(3000, t, self.start, self.end), 3, "Basic", t,
                             self.end, self.basic.id, self.si, self.sub["id"])
        # The same quantity again changes nothing: no lines, no event.
        n = len(events_of(self.t.sk_test, self.sub["id"]))
        stripe.Subscription.modify(self.sub["id"], items=[{"id": self.si, "quantity": 3}])
        self.assertEqual(len(self.pending(self.cus.id)), 2)
        self.assertEqual(len(events_of(self.t.sk_test, self.sub["id"])), n)

    def test_default_proration_date_is_now(self):
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": self.pro.id}]))
        credit, debit = self.pending(self.cus.id)
        t = credit["period"]["start"]
        self.assertRecent(t)
        self.assertEqual(credit["amount"], -proration(1000, t, self.start, self.end))
        self.assertEqual(debit["amount"], proration(3000, t, self.start, self.end))
        self.assertEqual(got["plan"]["id"], self.pro.id)

    def test_none_makes_no_prorations(self):
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": self.pro.id}],
            proration_behavior="none"))
        self.assertEqual(got["plan"]["id"], self.pro.id)
        self.assertEqual(self.pending(self.cus.id), [])
        self.assertEqual(got["latest_invoice"], self.sub["latest_invoice"])

    def test_add_and_remove_items(self):
        extra = self.plan(amount=500, name="Extra")
        t = self.start + 7200
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"price": extra.id, "quantity": 2, "metadata": {"k": "v"}}],
            proration_date=t))
        self.assertEqual(len(got["items"]["data"]), 2)
        self.assertIsNone(got["plan"])  # several items: no single plan
        new_si = got["items"]["data"][1]["id"]
        self.assertEqual(got["items"]["data"][1]["metadata"], {"k": "v"})
        [add] = self.pending(self.cus.id)
        self.assertProration(add, proration(1000, t, self.start, self.end), 2, "Extra", t,
                             self.end, extra.id, new_si, self.sub["id"])
        t2 = t + 60
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "deleted": True}], proration_date=t2))
        self.assertEqual([i["id"] for i in got["items"]["data"]], [new_si])
        self.assertEqual(got["plan"]["id"], extra.id)
        removed = self.pending(self.cus.id)[1]
        self.assertProration(removed, -proration(1000, t2, self.start, self.end), 1, "Basic",
                             t2, self.end, self.basic.id, self.si, self.sub["id"])
        # Metadata alone is no change of price, and merges.
        stripe.Subscription.modify(self.sub["id"], items=[{"id": new_si, "metadata": {"k": "",
                                                                                       "x": "y"}}])
        self.assertEqual(len(self.pending(self.cus.id)), 2)
        self.assertEqual(stripe.Subscription.retrieve(self.sub["id"])["items"]["data"][0]
                         ["metadata"], {"x": "y"})

    def test_swap_plans_between_items(self):
        extra = self.plan(amount=500, name="Extra")
        both = body_of(stripe.Subscription.modify(self.sub["id"], items=[{"price": extra.id}],
                                                  proration_behavior="none"))
        a, b = [i["id"] for i in both["items"]["data"]]
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": a, "price": extra.id}, {"id": b, "price": self.basic.id}],
            proration_behavior="none"))
        self.assertEqual([(i["id"], i["plan"]["id"]) for i in got["items"]["data"]],
                         [(a, extra.id), (b, self.basic.id)])

    def test_decline_allow_incomplete_goes_past_due(self):
        fail = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=self.cus.id)
        got = body_of(stripe.Subscription.modify(self.sub["id"], default_payment_method=fail.id))
        self.assertEqual(got["default_payment_method"], fail.id)
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": self.pro.id}],
            proration_behavior="always_invoice", expand=["latest_invoice"]))
        self.assertEqual(got["status"], "past_due")
        inv = got["latest_invoice"]
        self.assertEqual((inv["status"], inv["attempt_count"]), ("open", 1))
        upd = events_of(self.t.sk_test, self.sub["id"], "customer.subscription.updated")
        self.assertEqual(upd[-1]["data"]["previous_attributes"], {"status": "active"})

    def test_decline_error_if_incomplete_changes_nothing(self):
        fail = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=self.cus.id)
        stripe.Subscription.modify(self.sub["id"], default_payment_method=fail.id)
        before = body_of(stripe.Subscription.retrieve(self.sub["id"]))
        n_events = len(events_of(self.t.sk_test, self.sub["id"]))
        with self.assertInvalid(402, "card_declined", exc=stripe.error.CardError) as cm:
            stripe.Subscription.modify(self.sub["id"], items=[{"id": self.si,
                                                               "price": self.pro.id}],
                                       proration_behavior="always_invoice",
                                       payment_behavior="error_if_incomplete")
        self.assertEqual(cm.exception.json_body["error"]["decline_code"], "generic_decline")
        self.assertEqual(body_of(stripe.Subscription.retrieve(self.sub["id"])), before)
        self.assertEqual(self.pending(self.cus.id), [])
        self.assertEqual(len(events_of(self.t.sk_test, self.sub["id"])), n_events)
        self.assertEqual(owner_rows("SELECT count(*) FROM invoices WHERE subscription = %s"
                                    % sql_str(self.sub["id"])), [["1"]])

    def test_default_incomplete_waits_past_due(self):
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": self.pro.id}],
            proration_behavior="always_invoice", payment_behavior="default_incomplete",
            expand=["latest_invoice"]))
        self.assertEqual(got["status"], "past_due")
        inv = got["latest_invoice"]
        self.assertEqual((inv["status"], inv["attempt_count"]), ("open", 0))
        self.assertIsNone(inv["payment_intent"])
        stripe.Invoice.pay(inv["id"])
        self.assertEqual(stripe.Subscription.retrieve(self.sub["id"]).status, "active")

    def test_always_invoice_without_a_payment_method(self):
        pm = stripe.Customer.retrieve(self.cus.id).invoice_settings.default_payment_method
        stripe.PaymentMethod.detach(pm)
        before = body_of(stripe.Subscription.retrieve(self.sub["id"]))
        with self.assertInvalid(400, "invoice_no_customer_payment_method"):
            stripe.Subscription.modify(self.sub["id"], items=[{"id": self.si,
                                                               "price": self.pro.id}],
                                       proration_behavior="always_invoice")
        self.assertEqual(body_of(stripe.Subscription.retrieve(self.sub["id"])), before)

    def test_send_invoice_always_invoice_leaves_it_open(self):
        got = body_of(stripe.Subscription.modify(self.sub["id"], collection_method="send_invoice",
                                                 days_until_due=5))
        self.assertEqual((got["collection_method"], got["days_until_due"]), ("send_invoice", 5))
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": self.pro.id}],
            proration_behavior="always_invoice", expand=["latest_invoice"]))
        inv = got["latest_invoice"]
        self.assertEqual((inv["status"], inv["collection_method"], inv["attempt_count"]),
                         ("open", "send_invoice", 0))
        self.assertRecent(inv["due_date"] - 5 * DAY)
        self.assertEqual(got["status"], "active")

    def test_too_large_a_proration(self):
        big = self.plan(amount=99999999, name="Big")
        sub = body_of(self.subscribe(big, self.cus))
        with self.assertInvalid(400, "parameter_invalid", "items"):
            stripe.Subscription.modify(sub["id"], items=[{"id": sub["items"]["data"][0]["id"],
                                                          "quantity": 1000000}])
        self.assertEqual(stripe.Subscription.retrieve(sub["id"]).quantity, 1)


class Settings(SubCase):
    def setUp(self):
        super().setUp()
        self.cus = self.customer()
        self.sub = body_of(self.subscribe(customer=self.cus))

    def test_cancel_at_period_end_set_and_clear(self):
        got = body_of(stripe.Subscription.modify(self.sub["id"], cancel_at_period_end=True))
        self.assertIs(got["cancel_at_period_end"], True)
        self.assertEqual(got["cancel_at"], got["current_period_end"])
        self.assertEqual(got["status"], "active")
        ev = events_of(self.t.sk_test, self.sub["id"], "customer.subscription.updated")[-1]
        self.assertEqual(ev["data"]["previous_attributes"],
                         {"cancel_at": None, "cancel_at_period_end": False})
        got = body_of(stripe.Subscription.modify(self.sub["id"], cancel_at_period_end=False))
        self.assertIs(got["cancel_at_period_end"], False)
        self.assertIsNone(got["cancel_at"])
        ev = events_of(self.t.sk_test, self.sub["id"], "customer.subscription.updated")[-1]
        self.assertEqual(ev["data"]["previous_attributes"],
                         {"cancel_at": got["current_period_end"], "cancel_at_period_end": True})
        # Nothing changed: no event.
        n = len(events_of(self.t.sk_test, self.sub["id"]))
        stripe.Subscription.modify(self.sub["id"], cancel_at_period_end=False)
        self.assertEqual(len(events_of(self.t.sk_test, self.sub["id"])), n)

    def test_default_payment_method(self):
        pm = stripe.PaymentMethod.attach("pm_card_mastercard", customer=self.cus.id)
        got = body_of(stripe.Subscription.modify(self.sub["id"], default_payment_method=pm.id))
        self.assertEqual(got["default_payment_method"], pm.id)
        got = body_of(stripe.Subscription.modify(self.sub["id"], default_payment_method=""))
        self.assertIsNone(got["default_payment_method"])
        other = stripe.PaymentMethod.attach("pm_card_visa", customer=self.customer(pm=None).id)
        with self.assertInvalid(400, "resource_missing", "default_payment_method"):
            stripe.Subscription.modify(self.sub["id"], default_payment_method=other.id)
        with self.assertInvalid(400, "parameter_invalid", "default_payment_method"):
            stripe.Subscription.modify(self.sub["id"], default_payment_method="not an id!")

    def test_collection_method(self):
        with self.assertInvalid(400, "parameter_missing", "days_until_due"):
            stripe.Subscription.modify(self.sub["id"], collection_method="send_invoice")
        with self.assertInvalid(400, "parameter_invalid", "days_until_due"):
            stripe.Subscription.modify(self.sub["id"], days_until_due=3)
        got = body_of(stripe.Subscription.modify(self.sub["id"], collection_method="send_invoice",
                                                 days_until_due=7))
        self.assertEqual((got["collection_method"], got["days_until_due"]), ("send_invoice", 7))
        # Already send_invoice: days alone, or the method again without days.
        got = body_of(stripe.Subscription.modify(self.sub["id"], days_until_due=9))
        self.assertEqual(got["days_until_due"], 9)
        got = body_of(stripe.Subscription.modify(self.sub["id"], collection_method="send_invoice"))
        self.assertEqual(got["days_until_due"], 9)
        got = body_of(stripe.Subscription.modify(self.sub["id"],
                                                 collection_method="charge_automatically"))
        self.assertEqual((got["collection_method"], got["days_until_due"]),
                         ("charge_automatically", None))
        with self.assertInvalid(400, "parameter_invalid", "collection_method"):
            stripe.Subscription.modify(self.sub["id"], collection_method="cash")
        with self.assertInvalid(400, "parameter_invalid_integer", "days_until_due"):
            stripe.Subscription.modify(self.sub["id"], collection_method="send_invoice",
                                       days_until_due=-1)

    def test_description_and_metadata(self):
        got = body_of(stripe.Subscription.modify(self.sub["id"], description="Team plan",
                                                 metadata={"a": "1", "b": "2"}))
        self.assertEqual((got["description"], got["metadata"]), ("Team plan", {"a": "1", "b": "2"}))
        ev = events_of(self.t.sk_test, self.sub["id"], "customer.subscription.updated")[-1]
        self.assertEqual(ev["data"]["previous_attributes"], {"description": None, "metadata": {}})
        got = body_of(stripe.Subscription.modify(self.sub["id"], description="",
                                                 metadata={"a": ""}))
        self.assertEqual((got["description"], got["metadata"]), (None, {"b": "2"}))
        with self.assertInvalid(400, "parameter_invalid", "description"):
            stripe.Subscription.modify(self.sub["id"], description="x" * 501)
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Subscription.modify(self.sub["id"], metadata={"k" * 41: "v"})

    def test_pending_if_incomplete_not_supported(self):
        with self.assertInvalid(400, "parameter_invalid", "payment_behavior",
                                "not supported by levy yet"):
            stripe.Subscription.modify(self.sub["id"], payment_behavior="pending_if_incomplete",
                                       metadata={"a": "b"})

    def test_json_body(self):
        """A JSON body reaches the same handler (and items must then be an array)."""
        st_, _, b = post("%s/%s" % (SUBS, self.sub["id"]), {"metadata": {"via": "json"}},
                         key=self.t.sk_test)
        self.assertEqual((st_, b["metadata"]), (200, {"via": "json"}))
        self.assertError(post("%s/%s" % (SUBS, self.sub["id"]), {"items": "x"},
                              key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_invalid", "items")
        self.assertError(post("%s/%s" % (SUBS, self.sub["id"]), {"items": ["x"]},
                              key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_invalid", "items[0]")
        st_, _, b = post("%s/%s" % (SUBS, self.sub["id"]), {"items": []}, key=self.t.sk_test)
        self.assertEqual((st_, len(b["items"]["data"])), (200, 1))
        si = self.sub["items"]["data"][0]["id"]
        self.assertError(post("%s/%s" % (SUBS, self.sub["id"]),
                              {"items": [{"id": si, "metadata": {"k": 5}}]}, key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_invalid", "items[0][metadata]")


class Trials(SubCase):
    def setUp(self):
        super().setUp()
        self.plan_ = self.plan(amount=2200, name="Trialed")
        self.cus = self.customer()
        self.sub = body_of(self.subscribe(self.plan_, self.cus, trial_period_days=10))
        self.si = self.sub["items"]["data"][0]["id"]

    def test_trial_end_now(self):
        got = body_of(stripe.Subscription.modify(self.sub["id"], trial_end="now",
                                                 expand=["latest_invoice.payment_intent"]))
        now = got["trial_end"]
        self.assertRecent(now)
        self.assertEqual(got["status"], "active")
        self.assertEqual((got["current_period_start"], got["billing_cycle_anchor"]), (now, now))
        self.assertEqual(got["current_period_end"], period_nth(now, "month", 1, 1))
        inv = got["latest_invoice"]
        self.assertNotEqual(inv["id"], self.sub["latest_invoice"])
        self.assertEqual((inv["billing_reason"], inv["status"], inv["total"], inv["amount_paid"]),
                         ("subscription_update", "paid", 2200, 2200))
        [line] = inv["lines"]["data"]
        self.assertEqual((line["amount"], line["description"], line["proration"], line["period"]),
                         (2200, "1 × Trialed", False,
                          {"start": now, "end": got["current_period_end"]}))
        self.assertEqual(inv["payment_intent"]["application_fee_amount"], fee_of(2200))
        ev = events_of(self.t.sk_test, self.sub["id"], "customer.subscription.updated")[-1]
        prev = ev["data"]["previous_attributes"]
        self.assertEqual(prev["status"], "trialing")
        self.assertEqual(prev["trial_end"], self.sub["trial_end"])
        # Not trialing any more: trial_end is refused.
        with self.assertInvalid(400, "parameter_invalid", "trial_end"):
            stripe.Subscription.modify(self.sub["id"], trial_end="now")

    def test_trial_end_now_declined_goes_past_due(self):
        fail = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=self.cus.id)
        got = body_of(stripe.Subscription.modify(self.sub["id"], trial_end="now",
                                                 default_payment_method=fail.id,
                                                 expand=["latest_invoice"]))
        self.assertEqual(got["status"], "past_due")
        self.assertEqual((got["latest_invoice"]["status"], got["latest_invoice"]["attempt_count"]),
                         ("open", 1))

    def test_trial_extended(self):
        stripe.Subscription.modify(self.sub["id"], cancel_at_period_end=True)
        later = self.sub["trial_end"] + 5 * DAY
        got = body_of(stripe.Subscription.modify(self.sub["id"], trial_end=later))
        self.assertEqual((got["status"], got["trial_end"], got["current_period_end"],
                          got["billing_cycle_anchor"]), ("trialing", later, later, later))
        self.assertEqual(got["cancel_at"], later)  # cancel_at follows the period's end
        self.assertEqual(got["latest_invoice"], self.sub["latest_invoice"])
        with self.assertInvalid(400, "parameter_invalid_integer", "trial_end"):
            stripe.Subscription.modify(self.sub["id"], trial_end=int(time.time()) - 10)
        with self.assertInvalid(400, "parameter_invalid_integer", "trial_end"):
            stripe.Subscription.modify(self.sub["id"], trial_end="tomorrow")

    def test_changes_in_a_trial_make_no_prorations(self):
        pro = self.plan(amount=9900, name="Trialed pro")
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "price": pro.id}],
            proration_behavior="always_invoice"))
        self.assertEqual((got["plan"]["id"], got["status"]), (pro.id, "trialing"))
        self.assertEqual(self.pending(self.cus.id), [])
        self.assertEqual(got["latest_invoice"], self.sub["latest_invoice"])
        # Ending the trial then bills the new plan.
        got = body_of(stripe.Subscription.modify(self.sub["id"], trial_end="now",
                                                 expand=["latest_invoice"]))
        self.assertEqual(got["latest_invoice"]["total"], 9900)

    def test_trial_end_on_an_active_subscription(self):
        active = body_of(self.subscribe(self.plan_, self.cus))
        with self.assertInvalid(400, "parameter_invalid", "trial_end"):
            stripe.Subscription.modify(active["id"], trial_end=int(time.time()) + DAY)


class UpdateErrors(SubCase):
    def setUp(self):
        super().setUp()
        self.p = self.plan(amount=1000)
        self.cus = self.customer()
        self.sub = body_of(self.subscribe(self.p, self.cus))
        self.si = self.sub["items"]["data"][0]["id"]

    def test_items_errors(self):
        other = self.plan()
        off = self.plan()
        stripe.Plan.modify(off.id, active=False)
        eur = self.plan(currency="eur")
        yearly = self.plan(interval="year")
        foreign_si = body_of(self.subscribe(other, self.cus))["items"]["data"][0]["id"]
        cases = [
            ([{"id": "si_nope123456789012", "quantity": 2}], 404, "resource_missing",
             "items[0][id]"),
            ([{"id": foreign_si, "quantity": 2}], 404, "resource_missing", "items[0][id]"),
            ([{"id": self.si, "quantity": 2}, {"id": self.si, "quantity": 3}], 400,
             "parameter_invalid", "items[1][id]"),
            ([{"deleted": True}], 400, "parameter_missing", "items[0][id]"),
            ([{"id": self.si, "deleted": True, "quantity": 2}], 400, "parameter_invalid",
             "items[0][deleted]"),
            ([{"quantity": 2}], 400, "parameter_missing", "items[0][price]"),
            ([{"price": other.id, "plan": self.p.id}], 400, "parameter_invalid",
             "items[0][plan]"),
            ([{"price": "plan_nope1234567890"}], 404, "resource_missing", "items[0][price]"),
            ([{"price": off.id}], 400, "parameter_invalid", "items[0][price]"),
            ([{"price": eur.id}], 400, "parameter_invalid", "items[0][price]"),
            ([{"price": yearly.id}], 400, "parameter_invalid", "items[0][price]"),
            ([{"price": self.p.id}], 400, "parameter_invalid", "items"),
            ([{"price": other.id}, {"price": other.id}], 400, "parameter_invalid", "items"),
            ([{"id": self.si, "deleted": True}], 400, "parameter_invalid", "items"),
            ([{"id": self.si, "quantity": 0}], 400, "parameter_invalid_integer",
             "items[0][quantity]"),
            ([{"id": self.si, "deleted": "maybe"}], 400, "parameter_invalid", "items[0][deleted]"),
            ([{"id": self.si, "tax_rates": ["x"]}], 400, "parameter_unknown",
             "items[0][tax_rates]"),
            ([{"id": self.si, "metadata": {"k" * 41: "v"}}], 400, "parameter_invalid",
             "items[0][metadata]"),
            ([{"id": self.si, "metadata": "x"}], 400, "parameter_invalid",
             "items[0][metadata]"),
            ([{"id": "not an id"}], 400, "parameter_invalid", "items[0][id]"),
            ([{"price": "not an id"}], 400, "parameter_invalid", "items[0][price]"),
            ([{"price": other.id}] * 21, 400, "parameter_invalid", "items"),
        ]
        before = body_of(stripe.Subscription.retrieve(self.sub["id"]))
        for items, status, code, param in cases:
            with self.subTest(items=items[:2]):
                with self.assertInvalid(status, code, param):
                    stripe.Subscription.modify(self.sub["id"], items=items)
        self.assertEqual(body_of(stripe.Subscription.retrieve(self.sub["id"])), before)
        self.assertEqual(self.pending(self.cus.id), [])

    def test_at_most_20_items(self):
        plans = [self.plan(amount=100) for _ in range(20)]
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"price": p.id} for p in plans[:19]],
            proration_behavior="none"))
        self.assertEqual(len(got["items"]["data"]), 20)
        with self.assertInvalid(400, "parameter_invalid", "items", "at most 20 items"):
            stripe.Subscription.modify(self.sub["id"], items=[{"price": plans[19].id}])
        # One out, one in: still 20.
        got = body_of(stripe.Subscription.modify(
            self.sub["id"], items=[{"id": self.si, "deleted": True}, {"price": plans[19].id}],
            proration_behavior="none"))
        self.assertEqual(len(got["items"]["data"]), 20)
        self.assertNotIn(self.si, [i["id"] for i in got["items"]["data"]])

    def test_scalar_errors(self):
        s, e = self.sub["current_period_start"], self.sub["current_period_end"]
        cases = [
            (dict(proration_date=s - 1), 400, "parameter_invalid_integer", "proration_date"),
            (dict(proration_date=e), 400, "parameter_invalid_integer", "proration_date"),
            (dict(proration_behavior="sometimes"), 400, "parameter_invalid",
             "proration_behavior"),
            (dict(payment_behavior="never"), 400, "parameter_invalid", "payment_behavior"),
            (dict(cancel_at_period_end="perhaps"), 400, "parameter_invalid",
             "cancel_at_period_end"),
            (dict(billing_cycle_anchor="now"), 400, "parameter_unknown", "billing_cycle_anchor"),
        ]
        for params, status, code, param in cases:
            with self.subTest(params=params):
                with self.assertInvalid(status, code, param):
                    stripe.Subscription.modify(self.sub["id"], **params)

    def test_unknown_subscription(self):
        with self.assertInvalid(404, "resource_missing", "id"):
            stripe.Subscription.modify("sub_nope12345678901234", metadata={"a": "b"})
        with self.assertInvalid(404, "resource_missing", "id"):
            stripe.Subscription.delete("sub_nope12345678901234")

    def test_ended_subscriptions_cannot_change(self):
        stripe.Subscription.delete(self.sub["id"])
        with self.assertInvalid(400, None, None, MSG_ENDED):
            stripe.Subscription.modify(self.sub["id"], metadata={"a": "b"})
        other = body_of(self.subscribe(self.p, self.cus))
        owner_rows("UPDATE subscriptions SET status = 'incomplete_expired' WHERE id = %s"
                   % sql_str(other["id"]))
        with self.assertInvalid(400, None, None, MSG_ENDED):
            stripe.Subscription.modify(other["id"], cancel_at_period_end=True)
        with self.assertInvalid(404, "resource_missing", "id"):
            stripe.Subscription.delete(other["id"])


# --------------------------------------------------------------------------
# Cancellation


class Cancel(SubCase):
    def setUp(self):
        super().setUp()
        self.p = self.plan(amount=3000, name="Monthly")
        self.cus = self.customer()
        self.sub = body_of(self.subscribe(self.p, self.cus))
        self.si = self.sub["items"]["data"][0]["id"]

    def test_cancel_now(self):
        got = body_of(stripe.Subscription.delete(self.sub["id"]))
        self.assertEqual(got["status"], "canceled")
        self.assertRecent(got["canceled_at"])
        self.assertEqual(got["ended_at"], got["canceled_at"])
        self.assertEqual(got["cancellation_details"]["reason"], "cancellation_requested")
        self.assertEqual(got["latest_invoice"], self.sub["latest_invoice"])
        self.assertEqual(self.pending(self.cus.id), [])  # prorate is false by default
        [ev] = events_of(self.t.sk_test, self.sub["id"], "customer.subscription.deleted")
        self.assertEqual(ev["data"]["object"], got)
        self.assertNotIn("previous_attributes", ev["data"])
        # A canceled subscription is gone for a second cancellation, as in Stripe.
        with self.assertInvalid(404, "resource_missing", "id"):
            stripe.Subscription.delete(self.sub["id"])
        self.assertEqual(stripe.Subscription.retrieve(self.sub["id"]).status, "canceled")

    def test_prorate_and_invoice_now(self):
        got = body_of(stripe.Subscription.delete(self.sub["id"], prorate=True, invoice_now=True,
                                                 expand=["latest_invoice"]))
        self.assertEqual(got["status"], "canceled")
        inv = got["latest_invoice"]
        self.assertNotEqual(inv["id"], self.sub["latest_invoice"])
        [line] = inv["lines"]["data"]
        t = line["period"]["start"]
        self.assertRecent(t)
        s, e = self.sub["current_period_start"], self.sub["current_period_end"]
        credit = -proration(3000, t, s, e)
        self.assertProration(line, credit, 1, "Monthly", t, e, self.p.id, self.si,
                             self.sub["id"])
        self.assertEqual((inv["status"], inv["total"], inv["amount_due"], inv["ending_balance"]),
                         ("paid", credit, 0, credit))
        self.assertEqual(stripe.Customer.retrieve(self.cus.id).balance, credit)
        self.assertEqual(self.pending(self.cus.id), [])

    def test_prorate_leaves_the_credit_pending(self):
        got = body_of(stripe.Subscription.delete(self.sub["id"], prorate=True))
        [credit] = self.pending(self.cus.id)
        t = credit["period"]["start"]
        s, e = self.sub["current_period_start"], self.sub["current_period_end"]
        self.assertEqual(credit["amount"], -proration(3000, t, s, e))
        self.assertEqual(got["latest_invoice"], self.sub["latest_invoice"])

    def test_invoice_now_takes_pending_prorations(self):
        up = self.plan(amount=6000, name="Bigger")
        t = self.sub["current_period_start"] + 999
        stripe.Subscription.modify(self.sub["id"], items=[{"id": self.si, "price": up.id}],
                                   proration_date=t)
        got = body_of(stripe.Subscription.delete(self.sub["id"], invoice_now=True,
                                                 expand=["latest_invoice"]))
        inv = got["latest_invoice"]
        s, e = self.sub["current_period_start"], self.sub["current_period_end"]
        total = -proration(3000, t, s, e) + proration(6000, t, s, e)
        self.assertEqual((len(inv["lines"]["data"]), inv["total"], inv["status"]),
                         (2, total, "open"))
        self.assertEqual(self.pending(self.cus.id), [])

    def test_invoice_now_with_nothing_pending_makes_no_invoice(self):
        got = body_of(stripe.Subscription.delete(self.sub["id"], invoice_now=True))
        self.assertEqual(got["latest_invoice"], self.sub["latest_invoice"])

    def test_trialing_prorates_nothing(self):
        trial = body_of(self.subscribe(self.p, self.cus, trial_period_days=5))
        got = body_of(stripe.Subscription.delete(trial["id"], prorate=True, invoice_now=True))
        self.assertEqual(got["status"], "canceled")
        self.assertEqual(self.pending(self.cus.id), [])
        self.assertEqual(got["latest_invoice"], trial["latest_invoice"])

    def test_errors(self):
        path = "%s/%s" % (SUBS, self.sub["id"])
        self.assertError(lt.call("DELETE", path + "?prorate=maybe", key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_invalid", "prorate")
        self.assertError(lt.call("DELETE", path + "?invoice_now=2", key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_invalid", "invoice_now")
        self.assertError(lt.call("DELETE", path + "?at_period_end=true", key=self.t.sk_test),
                         400, "invalid_request_error", "parameter_unknown", "at_period_end")
        self.assertEqual(stripe.Subscription.retrieve(self.sub["id"]).status, "active")


# --------------------------------------------------------------------------
# Lists and entitlements


class Lists(SubCase):
    def test_filters(self):
        t = st.tenant()
        a, b = self.plan(), self.plan()
        c1, c2 = self.customer(), self.customer()
        s1 = self.subscribe(a, c1)
        s2 = self.subscribe(b, c1, trial_period_days=3)
        s3 = self.subscribe(a, c2)
        s4 = self.subscribe(b, c2)
        stripe.Subscription.delete(s4.id)

        def ids(**kw):
            return [s.id for s in stripe.Subscription.list(limit=100, **kw).data]

        self.assertEqual(ids(), [s3.id, s2.id, s1.id])  # canceled ones left out
        self.assertEqual(ids(status="all"), [s4.id, s3.id, s2.id, s1.id])
        self.assertEqual(ids(status="canceled"), [s4.id])
        self.assertEqual(ids(status="ended"), [s4.id])
        self.assertEqual(ids(status="trialing"), [s2.id])
        self.assertEqual(ids(status="active"), [s3.id, s1.id])
        self.assertEqual(ids(customer=c1.id), [s2.id, s1.id])
        self.assertEqual(ids(plan=a.id), [s3.id, s1.id])
        self.assertEqual(ids(price=b.id, status="all"), [s4.id, s2.id])
        self.assertEqual(ids(customer=c2.id, price=a.id), [s3.id])
        self.assertEqual(ids(customer="cus_nope12345678901"), [])
        page = stripe.Subscription.list(limit=2)
        self.assertEqual(([s.id for s in page.data], page.has_more), ([s3.id, s2.id], True))
        self.assertEqual(body_of(page)["url"], "/v1/subscriptions")
        with self.assertInvalid(400, "parameter_invalid", "status"):
            stripe.Subscription.list(status="sleeping")
        # After a plan change the plan filter follows the items.
        stripe.Subscription.modify(s1.id, items=[{"id": s1["items"].data[0].id, "price": b.id}],
                                   proration_behavior="none")
        self.assertEqual(ids(plan=a.id), [s3.id])
        del t


class Entitlements(SubCase):
    def features_plan(self, features, **kw):
        return self.plan(features=features, **kw)

    def ents(self, cus_id, key=None):
        st_, _, b = get("/api/v1/customers/%s/entitlements" % cus_id, key=key or self.t.sk_test)
        self.assertEqual(st_, 200, b)
        self.assertEqual(set(b), {"object", "data", "has_more", "url"})
        self.assertEqual((b["object"], b["has_more"], b["url"]),
                         ("list", False, "/v1/customers/%s/entitlements" % cus_id))
        return b["data"]

    def test_entitlements(self):
        basic = self.features_plan([{"key": "seats", "name": "Seats", "value": "5"},
                                    {"key": "support", "name": "Support", "value": "email"}])
        pro = self.features_plan([{"key": "seats", "name": "Seats", "value": "50"},
                                  {"key": "sso", "name": "Single sign-on", "value": ""}])
        cus = self.customer()
        self.assertEqual(self.ents(cus.id), [])
        s1 = self.subscribe(basic, cus)
        self.assertEqual(self.ents(cus.id), [
            {"object": "entitlement", "key": "seats", "name": "Seats", "value": "5",
             "plan": basic.id, "subscription": s1.id},
            {"object": "entitlement", "key": "support", "name": "Support", "value": "email",
             "plan": basic.id, "subscription": s1.id}])
        # A trialing subscription counts too; the newest subscription's value wins.
        s2 = self.subscribe(pro, cus, trial_period_days=7)
        got = {e["key"]: (e["value"], e["plan"], e["subscription"]) for e in self.ents(cus.id)}
        self.assertEqual(got, {"seats": ("50", pro.id, s2.id), "sso": ("", pro.id, s2.id),
                               "support": ("email", basic.id, s1.id)})
        self.assertEqual([e["key"] for e in self.ents(cus.id)], ["seats", "sso", "support"])
        # Canceled: no longer.
        stripe.Subscription.delete(s2.id)
        self.assertEqual([(e["key"], e["value"]) for e in self.ents(cus.id)],
                         [("seats", "5"), ("support", "email")])
        # A plan change moves them.
        stripe.Subscription.modify(s1.id, items=[{"id": s1["items"].data[0].id, "price": pro.id}],
                                   proration_behavior="none")
        self.assertEqual([(e["key"], e["value"]) for e in self.ents(cus.id)],
                         [("seats", "50"), ("sso", "")])
        # Incomplete (unpaid) and past subscriptions count for nothing.
        failing = self.customer("pm_card_chargeCustomerFail")
        inc = self.subscribe(basic, failing)
        self.assertEqual(inc.status, "incomplete")
        self.assertEqual(self.ents(failing.id), [])

    def test_errors(self):
        cus = self.customer()
        self.assertError(get("/api/v1/customers/cus_nope12345678901/entitlements",
                             key=self.t.sk_test), 404, "invalid_request_error",
                         "resource_missing", "id")
        self.assertError(get("/api/v1/customers/%s/entitlements?expand[]=data" % cus.id,
                             key=self.t.sk_test), 400, "invalid_request_error",
                         "parameter_unknown", "expand")
        self.assertError(get("/api/v1/customers/%s/entitlements" % cus.id, key=self.t.pk_test),
                         403, "permission_error")
        stripe.Customer.delete(cus.id)
        self.assertError(get("/api/v1/customers/%s/entitlements" % cus.id, key=self.t.sk_test),
                         404, "invalid_request_error", "resource_missing", "id")
        # A dashboard user may read them.
        live = self.customer()
        st_, _, b = get("/api/v1/customers/%s/entitlements" % live.id, token=self.t.access)
        self.assertEqual((st_, b["data"]), (200, []))


# --------------------------------------------------------------------------
# Isolation


class Isolation(SubCase):
    def test_other_tenant_and_mode(self):
        a = self.t
        p = self.plan()
        cus = self.customer()
        sub = body_of(self.subscribe(p, cus))
        b = st.tenant()
        st.use(b.sk_test)
        b_cus = self.customer()
        b_plan = self.plan()
        b_sub = body_of(self.subscribe(b_plan, b_cus))
        path = "%s/%s" % (SUBS, sub["id"])
        for key in (b.sk_test, a.sk_live):
            with self.subTest(key=key[:8]):
                self.assertError(get(path, key=key), 404, "invalid_request_error",
                                 "resource_missing", "id")
                self.assertError(lt.call("POST", path, form={"metadata[x]": "y"}, key=key), 404,
                                 "invalid_request_error", "resource_missing", "id")
                self.assertError(lt.call("DELETE", path, key=key), 404, "invalid_request_error",
                                 "resource_missing", "id")
                self.assertError(get("/api/v1/customers/%s/entitlements" % cus.id, key=key), 404,
                                 "invalid_request_error", "resource_missing", "id")
        # B's customer on A's plan, A's customer with B's key: 404.
        with self.assertInvalid(404, "resource_missing", "items[0][price]"):
            stripe.Subscription.create(customer=b_cus.id, items=[{"price": p.id}])
        with self.assertInvalid(404, "resource_missing", "customer"):
            stripe.Subscription.create(customer=cus.id, items=[{"price": b_plan.id}])
        # A's subscription cannot take B's plan or B's item.
        st.use(a.sk_test)
        with self.assertInvalid(404, "resource_missing", "items[0][price]"):
            stripe.Subscription.modify(sub["id"], items=[{"id": sub["items"]["data"][0]["id"],
                                                          "price": b_plan.id}])
        with self.assertInvalid(404, "resource_missing", "items[0][id]"):
            stripe.Subscription.modify(sub["id"], items=[{"id": b_sub["items"]["data"][0]["id"],
                                                          "quantity": 2}])
        self.assertEqual([s.id for s in stripe.Subscription.list(status="all").data
                          if s.id == b_sub["id"]], [])
        self.assertEqual(stripe.Subscription.retrieve(sub["id"]).status, "active")
        st.use(b.sk_test)
        self.assertEqual(stripe.Subscription.retrieve(b_sub["id"]).status, "active")


# --------------------------------------------------------------------------
# Concurrency


class Concurrency(SubCase):
    N = 200

    def test_concurrent_creations_number_without_gaps(self):
        t = st.tenant()
        plan = stripe.Plan.create(amount=1500, currency="usd", interval="month",
                                  product={"name": "Concurrent"}, api_key=t.sk_test)

        def one(i):
            cus = stripe.Customer.create(payment_method="pm_card_visa",
                                         invoice_settings={"default_payment_method":
                                                           "pm_card_visa"},
                                         api_key=t.sk_test)
            sub = stripe.Subscription.create(customer=cus.id, items=[{"price": plan.id}],
                                             expand=["latest_invoice"], api_key=t.sk_test)
            return sub.status, sub.latest_invoice.number, sub.latest_invoice.status

        with concurrent.futures.ThreadPoolExecutor(max_workers=self.N) as pool:
            results = list(pool.map(one, range(self.N)))
        self.assertEqual({(s, st_) for s, _, st_ in results}, {("active", "paid")})
        prefix = prefix_of(t.slug)
        self.assertEqual(sorted(n for _, n, _ in results),
                         ["%s-%04d" % (prefix, i) for i in range(1, self.N + 1)])


if __name__ == "__main__":
    lt.main()
