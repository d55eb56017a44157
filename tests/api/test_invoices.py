#!/usr/bin/python3
"""Invoice items (/v1/invoiceitems) and invoices (/v1/invoices) driven by python3-stripe with
levy's built-in test processor: pending items and their changes, one-off invoices of them,
finalization with the customer's balance and gapless numbers (concurrent ones too), payment with
the platform's fee, declines that leave the invoice open, void and uncollectible and every
refused transition, the lines list, the upcoming invoice that writes nothing, the events all of
it records, and who may see or use which invoice."""

import calendar
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import events_of, fee_of, owner_rows, sql_id  # noqa: E402

import stripe  # noqa: E402

INVOICES = "/api/v1/invoices"
ITEMS = "/api/v1/invoiceitems"
II_RE = re.compile(r"^ii_[0-9A-Za-z]{14,}$")
IN_RE = re.compile(r"^in_[0-9A-Za-z]{14,}$")
IL_RE = re.compile(r"^il_[0-9A-Za-z]{14,}$")
DAY = 86400

ITEM_KEYS = {"id", "object", "amount", "currency", "customer", "date", "description",
             "discountable", "discounts", "invoice", "livemode", "metadata", "period", "plan",
             "price", "proration", "quantity", "subscription", "subscription_item", "tax_rates",
             "test_clock", "unit_amount", "unit_amount_decimal"}
NOT_DRAFT = "invoice_not_editable"


def body_of(obj):
    """The exact JSON levy answered for an SDK call."""
    return json.loads(obj.last_response.body)


def owner_one(sql):
    return owner_rows(sql)[0][0]


def owner_in(tenant, sql, livemode=False):
    """SQL as the owner inside the tenant's context (the rows' triggers record events with it)."""
    rows = owner_rows("SELECT set_config('app.tenant_id', '%d', false),"
                      " set_config('app.livemode', '%s', false);\n%s"
                      % (tenant.id, "true" if livemode else "false", sql))
    return rows[1:]


def event_types(object_id):
    return [t for t, _ in events_of(object_id)]


def charges_of(invoice_id):
    """(status, amount, application_fee_amount, payment_intent) of an invoice's charges."""
    return owner_rows("SELECT status, amount, coalesce(application_fee_amount, -1), payment_intent"
                      " FROM charges WHERE invoice = %s ORDER BY seq" % sql_id(invoice_id))




def number_prefix(slug):
    s = re.sub("[^a-z0-9]", "", slug).upper()
    return s[:10] if len(s) >= 3 else s.ljust(3, "X")


def row_counts(tenant):
    """What the upcoming invoice must never change, counted as the owner."""
    tables = ("invoices", "invoice_lines", "invoice_items", "invoice_counters", "events",
              "payment_intents", "charges", "customers", "subscriptions")
    return {t: owner_one("SELECT count(*) FROM %s WHERE tenant_id = %d" % (t, tenant.id))
            for t in tables} | {
        "snapshot": owner_one("SELECT md5(string_agg(t::text, ',' ORDER BY t.id)) FROM ("
                              "SELECT id, amount, invoice, deleted, metadata::text FROM invoice_items"
                              " WHERE tenant_id = %d UNION ALL SELECT id, balance, currency,"
                              " deleted, metadata::text FROM customers WHERE tenant_id = %d) t"
                              % (tenant.id, tenant.id))}


def insert_subscription(tenant, customer, plan, quantity=1, start=None, end=None, anchor=None,
                        interval="day", interval_count=30, status="active",
                        cancel_at_period_end=False, collection_method="charge_automatically",
                        days_until_due=None, livemode=False):
    """A subscription with one item, written as the owner (its periods exactly as given)."""
    now = int(time.time())
    start = now - 10 * DAY if start is None else start
    end = start + interval_count * DAY if end is None else end
    anchor = start if anchor is None else anchor
    rows = owner_rows(
        "WITH s AS (INSERT INTO subscriptions (tenant_id, livemode, customer, status, currency,"
        " interval, interval_count, billing_cycle_anchor, current_period_start,"
        " current_period_end, cancel_at_period_end, collection_method, days_until_due)"
        " SELECT %d, %s, %s, '%s', p.currency, '%s', %d, to_timestamp(%d), to_timestamp(%d),"
        " to_timestamp(%d), %s, '%s', %s FROM plans p"
        " WHERE p.tenant_id = %d AND p.livemode = %s AND p.id = %s RETURNING *)"
        " INSERT INTO subscription_items (tenant_id, livemode, subscription, plan, quantity)"
        " SELECT s.tenant_id, s.livemode, s.id, %s, %d FROM s RETURNING subscription, id"
        % (tenant.id, livemode, sql_id(customer), status, interval, interval_count, anchor, start,
           end, cancel_at_period_end, collection_method,
           "NULL" if days_until_due is None else days_until_due, tenant.id, livemode,
           sql_id(plan), sql_id(plan), quantity))
    return rows[0][0], rows[0][1]


class InvoiceCase(st.SdkCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()

    def setUp(self):
        st.use(self.t.sk_test)

    def assertInvalid(self, status=400, code=lt.ANY, param=lt.ANY, message=None):
        """A context manager: the SDK call inside raises InvalidRequestError as described."""
        return self.sdk_raises(stripe.error.InvalidRequestError, "invalid_request_error", status,
                            code, param, message)

    def assertMissing(self, param="id", message=None):
        return self.assertInvalid(404, "resource_missing", param, message)

    def assertCard(self, code="card_declined", decline_code=lt.ANY, message=None):
        return self.sdk_raises(stripe.error.CardError, "card_error", 402, code, lt.ANY, message,
                            decline_code)

    def customer(self, pm=None, **kw):
        """A customer; with pm, that card attached and made the default."""
        if pm is not None:
            kw.update(payment_method=pm, invoice_settings={"default_payment_method": pm})
        return stripe.Customer.create(**kw)

    def item(self, customer, amount=1000, currency="usd", **kw):
        if amount is not None:
            kw["amount"] = amount
        if currency is not None:
            kw["currency"] = currency
        return stripe.InvoiceItem.create(customer=customer, **kw)

    def plan(self, amount=1000, currency="usd", **kw):
        return stripe.Plan.create(amount=amount, currency=currency, interval="month",
                                  product={"name": "Gold %s" % lt.unique()}, **kw)

    def draft(self, customer, *amounts, **kw):
        """A one-off draft of new items of these amounts."""
        for a in amounts:
            self.item(customer, a)
        return stripe.Invoice.create(customer=customer, pending_invoice_items_behavior="include",
                                     **kw)

    def open_invoice(self, customer, *amounts, **kw):
        inv = self.draft(customer, *amounts, **kw)
        return stripe.Invoice.finalize_invoice(inv.id)


class Items(InvoiceCase):
    def test_create_amount(self):
        c = self.customer()
        ii = self.item(c.id, 1250, "USD", description="Setup fee", metadata={"k": "v"})
        b = body_of(ii)
        self.assertEqual(set(b), ITEM_KEYS)
        self.assertRegex(b["id"], II_RE)
        self.assertEqual((b["object"], b["amount"], b["currency"], b["customer"]),
                         ("invoiceitem", 1250, "usd", c.id))
        self.assertEqual((b["unit_amount"], b["unit_amount_decimal"], b["quantity"]),
                         (1250, "1250", 1))
        self.assertEqual((b["invoice"], b["subscription"], b["plan"], b["price"]),
                         (None, None, None, None))
        self.assertEqual((b["description"], b["metadata"], b["discountable"], b["proration"]),
                         ("Setup fee", {"k": "v"}, True, False))
        self.assertIs(b["livemode"], False)
        self.assertRecent(b["date"], "date")
        self.assertRecent(b["period"]["start"], "period.start")
        self.assertEqual(b["period"]["start"], b["period"]["end"])
        self.assertEqual(body_of(stripe.InvoiceItem.retrieve(ii.id)), b)
        types = event_types(ii.id)
        self.assertEqual(types, ["invoiceitem.created"])
        self.assertEqual(events_of(ii.id)[0][1]["object"], b)

    def test_create_unit_amount_and_quantity(self):
        c = self.customer()
        ii = self.item(c.id, None, "eur", unit_amount=250, quantity=3)
        self.assertEqual((ii.amount, ii.unit_amount, ii.quantity, ii.currency), (750, 250, 3, "eur"))
        ii = self.item(c.id, None, "eur", unit_amount=250, quantity=0)
        self.assertEqual((ii.amount, ii.quantity), (0, 0))

    def test_create_by_plan(self):
        c = self.customer()
        p = self.plan(1999, "gbp")
        ii = self.item(c.id, None, None, price=p.id, quantity=2)
        b = body_of(ii)
        self.assertEqual((b["amount"], b["unit_amount"], b["quantity"], b["currency"]),
                         (3998, 1999, 2, "gbp"))
        self.assertEqual((b["plan"]["id"], b["price"]["id"], b["price"]["object"]),
                         (p.id, p.id, "price"))
        ii = self.item(c.id, None, "GBP", plan=p.id)
        self.assertEqual((ii.amount, ii.quantity, ii.plan.id), (1999, 1, p.id))

    def test_discountable_and_period(self):
        c = self.customer()
        credit = self.item(c.id, -500)
        self.assertEqual((credit.amount, credit.discountable), (-500, False))
        self.assertEqual(self.item(c.id, -500, discountable=True).discountable, True)
        self.assertEqual(self.item(c.id, 500, discountable=False).discountable, False)
        ii = self.item(c.id, 100, period={"start": 1700000000, "end": 1702592000})
        self.assertEqual(ii.period, {"start": 1700000000, "end": 1702592000})
        big = self.item(c.id, 99999999999)
        self.assertEqual((big.amount, big.unit_amount, big.quantity), (99999999999, None, 1))

    def test_update(self):
        c = self.customer()
        ii = self.item(c.id, None, unit_amount=300, quantity=2, metadata={"a": "1", "b": "2"},
                       description="x")
        ii = stripe.InvoiceItem.modify(ii.id, quantity=5)
        self.assertEqual((ii.amount, ii.unit_amount, ii.quantity), (1500, 300, 5))
        ii = stripe.InvoiceItem.modify(ii.id, unit_amount=100)
        self.assertEqual((ii.amount, ii.unit_amount, ii.quantity), (500, 100, 5))
        ii = stripe.InvoiceItem.modify(ii.id, amount=777)
        self.assertEqual((ii.amount, ii.unit_amount, ii.quantity), (777, 777, 1))
        ii = stripe.InvoiceItem.modify(ii.id, unit_amount=10, quantity=4, description="",
                                       discountable=False, metadata={"a": "", "c": "3"},
                                       period={"start": 1700000000, "end": 1700000100})
        b = body_of(ii)
        self.assertEqual((b["amount"], b["description"], b["discountable"], b["metadata"]),
                         (40, None, False, {"b": "2", "c": "3"}))
        self.assertEqual(b["period"], {"start": 1700000000, "end": 1700000100})
        # An update that changes nothing answers the item and records no event.
        same = stripe.InvoiceItem.modify(ii.id, metadata={"b": "2"})
        self.assertEqual(body_of(same), b)
        types = event_types(ii.id)
        self.assertEqual(types, ["invoiceitem.created"] + ["invoiceitem.updated"] * 4)
        last = events_of(ii.id)[-1][1]
        self.assertEqual(last["object"], b)
        self.assertEqual(last["previous_attributes"]["amount"], 777)
        self.assertEqual(last["previous_attributes"]["description"], "x")
        # A big amount has no unit: a new quantity needs one.
        big = self.item(c.id, 200000000)
        self.assertIsNone(big.unit_amount)
        with self.assertInvalid(400, "parameter_missing", "unit_amount"):
            stripe.InvoiceItem.modify(big.id, quantity=2)
        self.assertEqual(stripe.InvoiceItem.modify(big.id, unit_amount=7, quantity=2).amount, 14)

    def test_update_errors(self):
        c = self.customer()
        ii = self.item(c.id, None, unit_amount=99999999, quantity=1)
        with self.assertInvalid(400, "parameter_invalid", "unit_amount"):
            stripe.InvoiceItem.modify(ii.id, amount=5, unit_amount=5)
        with self.assertInvalid(400, "parameter_invalid", "quantity"):
            stripe.InvoiceItem.modify(ii.id, amount=5, quantity=2)
        with self.assertInvalid(400, "parameter_invalid", "quantity"):
            stripe.InvoiceItem.modify(ii.id, quantity=1000000)
        stripe.InvoiceItem.modify(ii.id, unit_amount=1, quantity=1000000)
        with self.assertInvalid(400, "parameter_invalid", "unit_amount"):
            stripe.InvoiceItem.modify(ii.id, unit_amount=99999999)
        with self.assertInvalid(400, "parameter_invalid_integer", "amount"):
            stripe.InvoiceItem.modify(ii.id, amount=100000000000)
        with self.assertInvalid(400, "parameter_unknown", "currency"):
            stripe.InvoiceItem.modify(ii.id, currency="eur")
        with self.assertInvalid(400, "parameter_missing", "period[end]"):
            stripe.InvoiceItem.modify(ii.id, period={"start": 1700000000})
        with self.assertInvalid(400, "parameter_invalid", "description"):
            stripe.InvoiceItem.modify(ii.id, description="d" * 501)
        with self.assertMissing("id"):
            stripe.InvoiceItem.modify("ii_0000000000000000", amount=5)
        self.assertEqual(stripe.InvoiceItem.retrieve(ii.id).amount, 1000000)

    def test_create_errors(self):
        c = self.customer()
        p = self.plan(100, "usd")
        with self.assertInvalid(400, "parameter_missing", "customer"):
            stripe.InvoiceItem.create(amount=100, currency="usd")
        with self.assertMissing("customer", "No such customer: 'cus_0000000000000000'"):
            self.item("cus_0000000000000000")
        gone = self.customer()
        stripe.Customer.delete(gone.id)
        with self.assertMissing("customer"):
            self.item(gone.id)
        with self.assertInvalid(400, "parameter_missing", "amount"):
            self.item(c.id, None)
        with self.assertInvalid(400, "parameter_invalid", "unit_amount",
                                "You may only specify one of these parameters"):
            self.item(c.id, 100, unit_amount=100)
        with self.assertInvalid(400, "parameter_invalid", "price"):
            self.item(c.id, 100, price=p.id)
        with self.assertInvalid(400, "parameter_invalid", "plan"):
            self.item(c.id, None, unit_amount=5, plan=p.id)
        with self.assertInvalid(400, "parameter_invalid", "plan"):
            self.item(c.id, None, None, plan=p.id, price=p.id)
        with self.assertInvalid(400, "parameter_missing", "currency"):
            self.item(c.id, 100, None)
        with self.assertInvalid(400, "parameter_missing", "currency"):
            self.item(c.id, None, None, unit_amount=100)
        with self.assertInvalid(400, "parameter_invalid", "currency", "Invalid currency: xyz."):
            self.item(c.id, 100, "xyz")
        with self.assertInvalid(400, "parameter_invalid", "currency", "does not match"):
            self.item(c.id, None, "eur", price=p.id)
        with self.assertMissing("price", "No such price: 'plan_nope'"):
            self.item(c.id, None, None, price="plan_nope")
        with self.assertMissing("plan", "No such plan: 'plan_nope'"):
            self.item(c.id, None, None, plan="plan_nope")
        with self.assertInvalid(400, "parameter_invalid", "quantity"):
            self.item(c.id, 100, quantity=2)
        with self.assertInvalid(400, "parameter_invalid", "quantity", "unit_amount times quantity"):
            self.item(c.id, None, unit_amount=99999999, quantity=1000000)
        with self.assertInvalid(400, "parameter_invalid_integer", "quantity"):
            self.item(c.id, None, unit_amount=1, quantity=-1)
        with self.assertInvalid(400, "parameter_invalid_integer", "unit_amount"):
            self.item(c.id, None, unit_amount=100000000)
        with self.assertInvalid(400, "parameter_invalid_integer", "amount"):
            self.item(c.id, -100000000000)
        with self.assertInvalid(400, "parameter_missing", "period[end]"):
            self.item(c.id, period={"start": 1700000000})
        with self.assertInvalid(400, "parameter_missing", "period[start]"):
            self.item(c.id, period={"end": 1700000000})
        with self.assertInvalid(400, "parameter_invalid", "period[end]"):
            self.item(c.id, period={"start": 1700000001, "end": 1700000000})
        with self.assertInvalid(400, "parameter_unknown", "period[middle]"):
            self.item(c.id, period={"start": 1, "end": 2, "middle": 3})
        with self.assertInvalid(400, "parameter_invalid", "period"):
            self.item(c.id, period="soon")
        with self.assertInvalid(400, "parameter_invalid", "description"):
            self.item(c.id, description="d" * 501)
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            self.item(c.id, metadata={"k" * 41: "v"})
        with self.assertInvalid(400, "parameter_unknown", "tax_rates"):
            self.item(c.id, tax_rates=["txr_1"])
        with self.assertMissing("subscription"):
            self.item(c.id, subscription="sub_0000000000000000")
        with self.assertMissing("invoice"):
            self.item(c.id, invoice="in_0000000000000000")
        self.assertEqual(stripe.InvoiceItem.list(customer=c.id).data, [])

    def test_subscription_items(self):
        c, other = self.customer(), self.customer()
        p = self.plan(1000)
        sub, _ = insert_subscription(self.t, c.id, p.id)
        ii = self.item(c.id, 300, subscription=sub)
        self.assertEqual(ii.subscription, sub)
        with self.assertInvalid(400, "parameter_invalid", "subscription",
                                "does not belong to customer"):
            self.item(other.id, 300, subscription=sub)
        got = stripe.InvoiceItem.retrieve(ii.id, expand=["subscription", "customer"])
        self.assertEqual((got.subscription.id, got.subscription.object), (sub, "subscription"))
        self.assertEqual(got.customer.id, c.id)

    def test_delete(self):
        c = self.customer()
        ii = self.item(c.id, 100)
        gone = stripe.InvoiceItem.delete(ii.id)
        self.assertEqual(body_of(gone), {"id": ii.id, "object": "invoiceitem", "deleted": True})
        self.assertEqual(body_of(stripe.InvoiceItem.retrieve(ii.id)),
                         {"id": ii.id, "object": "invoiceitem", "deleted": True})
        with self.assertMissing("id"):
            stripe.InvoiceItem.delete(ii.id)
        with self.assertMissing("id"):
            stripe.InvoiceItem.modify(ii.id, amount=1)
        with self.assertMissing("id"):
            stripe.InvoiceItem.retrieve("ii_0000000000000000")
        self.assertEqual(stripe.InvoiceItem.list(customer=c.id).data, [])
        self.assertEqual(event_types(ii.id), ["invoiceitem.created", "invoiceitem.deleted"])
        # Deleted items never reach an invoice.
        with self.assertInvalid(400, "invoice_no_customer_line_items"):
            stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include_and_require")

    def test_on_an_invoice_items_are_fixed(self):
        c = self.customer()
        inv = self.draft(c.id, 100)
        ii = stripe.InvoiceItem.list(invoice=inv.id).data[0]
        with self.assertInvalid(400, NOT_DRAFT, None, "You can only update a pending invoice item"):
            stripe.InvoiceItem.modify(ii.id, amount=5)
        with self.assertInvalid(400, NOT_DRAFT, None, "You can only delete a pending invoice item"):
            stripe.InvoiceItem.delete(ii.id)
        self.assertEqual(stripe.InvoiceItem.retrieve(ii.id).amount, 100)

    def test_list(self):
        c, d = self.customer(), self.customer()
        ids = [self.item(c.id, 100 + i).id for i in range(5)]
        other = self.item(d.id, 1).id
        inv = self.draft(c.id)  # takes all five
        later = self.item(c.id, 9).id
        lst = stripe.InvoiceItem.list(customer=c.id, limit=3)
        self.assertEqual([i.id for i in lst.data], [later] + ids[::-1][:2])
        self.assertTrue(lst.has_more)
        self.assertEqual(body_of(lst)["url"], "/v1/invoiceitems")
        self.assertEqual([i.id for i in stripe.InvoiceItem.list(customer=c.id).auto_paging_iter()],
                         [later] + ids[::-1])
        self.assertEqual([i.id for i in stripe.InvoiceItem.list(customer=c.id, pending=True)],
                         [later])
        self.assertEqual([i.id for i in stripe.InvoiceItem.list(customer=c.id, pending=False)],
                         ids[::-1])
        self.assertEqual([i.id for i in stripe.InvoiceItem.list(invoice=inv.id)], ids[::-1])
        self.assertEqual([i.id for i in stripe.InvoiceItem.list(customer=d.id)], [other])
        got = stripe.InvoiceItem.list(invoice=inv.id, limit=1, expand=["data.invoice",
                                                                       "data.customer"]).data[0]
        self.assertEqual((got.invoice.id, got.invoice.object, got.customer.id),
                         (inv.id, "invoice", c.id))
        page = stripe.InvoiceItem.list(customer=c.id, ending_before=ids[2])
        self.assertEqual([i.id for i in page], [later, ids[4], ids[3]])
        with self.assertInvalid(400, "parameter_invalid", "pending"):
            stripe.InvoiceItem.list(pending="maybe")
        with self.assertMissing("starting_after"):
            stripe.InvoiceItem.list(starting_after="ii_0000000000000000")
        with self.assertInvalid(400, "parameter_unknown", "subscription"):
            stripe.InvoiceItem.list(subscription="sub_x")


class Create(InvoiceCase):
    def test_exclude_by_default(self):
        c = self.customer()
        ii = self.item(c.id, 500)
        inv = stripe.Invoice.create(customer=c.id)
        b = body_of(inv)
        self.assertRegex(b["id"], IN_RE)
        self.assertEqual((b["object"], b["status"], b["customer"], b["currency"]),
                         ("invoice", "draft", c.id, "usd"))
        self.assertEqual((b["lines"]["data"], b["lines"]["total_count"], b["total"]), ([], 0, 0))
        self.assertEqual(b["lines"]["url"], "/v1/invoices/%s/lines" % inv.id)
        self.assertIsNone(stripe.InvoiceItem.retrieve(ii.id).invoice)

    def test_one_off_of_pending_items(self):
        p = self.plan(700, "usd")
        c = self.customer(email="bill@example.com", name="Bill")
        a = self.item(c.id, 1000, description="A")
        b_ = self.item(c.id, None, None, price=p.id, quantity=2)
        credit = self.item(c.id, -300)
        eur = self.item(c.id, 999, "eur")
        sub, _ = insert_subscription(self.t, c.id, p.id)
        of_sub = self.item(c.id, 50, subscription=sub)
        inv = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include",
                                    description="March", metadata={"order": "42"},
                                    auto_advance=False)
        b = body_of(inv)
        self.assertEqual((b["status"], b["billing_reason"], b["collection_method"]),
                         ("draft", "manual", "charge_automatically"))
        self.assertEqual((b["subtotal"], b["total"], b["amount_due"], b["amount_paid"],
                          b["amount_remaining"]), (2100, 2100, 2100, 0, 2100))
        self.assertEqual((b["number"], b["paid"], b["attempt_count"], b["payment_intent"]),
                         (None, False, 0, None))
        self.assertEqual((b["description"], b["metadata"], b["auto_advance"]),
                         ("March", {"order": "42"}, False))
        self.assertEqual((b["customer_email"], b["customer_name"], b["subscription"]),
                         ("bill@example.com", "Bill", None))
        self.assertEqual(b["period_start"], b["period_end"])
        self.assertRecent(b["created"])
        lines = b["lines"]["data"]
        self.assertEqual([(ln["invoice_item"], ln["amount"], ln["type"]) for ln in lines],
                         [(a.id, 1000, "invoiceitem"), (b_.id, 1400, "invoiceitem"),
                          (credit.id, -300, "invoiceitem")])
        for ln in lines:
            self.assertRegex(ln["id"], IL_RE)
            self.assertEqual(ln["object"], "line_item")
        self.assertEqual((lines[1]["plan"]["id"], lines[1]["quantity"]), (p.id, 2))
        self.assertEqual(b["lines"]["total_count"], 3)
        for i in (a, b_, credit):
            self.assertEqual(stripe.InvoiceItem.retrieve(i.id).invoice, inv.id)
        # Another currency and a subscription's items stay pending.
        self.assertIsNone(stripe.InvoiceItem.retrieve(eur.id).invoice)
        self.assertIsNone(stripe.InvoiceItem.retrieve(of_sub.id).invoice)
        evs = events_of(inv.id)
        self.assertEqual([t for t, _ in evs], ["invoice.created"])
        self.assertEqual(evs[0][1]["object"], b)
        self.assertEqual(event_types(a.id), ["invoiceitem.created", "invoiceitem.updated"])
        # The euro item gets its own invoice, by currency.
        e = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include",
                                  currency="EUR")
        self.assertEqual((e.currency, e.total, e.lines.data[0].invoice_item), ("eur", 999, eur.id))

    def test_currency_defaults(self):
        c = self.customer()
        self.item(c.id, 10, "jpy")
        self.item(c.id, 10, "eur")
        inv = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include")
        self.assertEqual((inv.currency, inv.total), ("jpy", 10))
        inv = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include_and_require")
        self.assertEqual((inv.currency, inv.total), ("eur", 10))
        owner_in(self.t, "UPDATE customers SET currency = 'gbp' WHERE id = %s" % sql_id(c.id))
        self.assertEqual(stripe.Invoice.create(customer=c.id).currency, "gbp")

    def test_include_and_require(self):
        c = self.customer()
        with self.assertInvalid(400, "invoice_no_customer_line_items", None,
                                "Nothing to invoice for customer"):
            stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include_and_require")
        inv = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include")
        self.assertEqual(inv.lines.data, [])
        self.assertEqual(stripe.Invoice.list(customer=c.id).data[0].id, inv.id)

    def test_send_invoice(self):
        c = self.customer()
        inv = self.draft(c.id, 100, collection_method="send_invoice", days_until_due=30)
        self.assertEqual(inv.collection_method, "send_invoice")
        self.assertEqual(inv.due_date, inv.created + 30 * DAY)
        inv = stripe.Invoice.modify(inv.id, days_until_due=7)
        self.assertEqual(inv.due_date, inv.created + 7 * DAY)
        fin = stripe.Invoice.finalize_invoice(inv.id)
        self.assertEqual((fin.status, fin.due_date, fin.next_payment_attempt),
                         ("open", inv.created + 7 * DAY, None))
        auto = self.open_invoice(c.id, 100)
        self.assertIsNone(auto.due_date)
        self.assertRecent(auto.next_payment_attempt)
        self.assertIs(auto.auto_advance, True)

    def test_finalize_auto_advance(self):
        c = self.customer()
        d = self.draft(c.id, 100)
        with self.assertInvalid(400, "parameter_invalid", "auto_advance"):
            stripe.Invoice.finalize_invoice(d.id, auto_advance="later")
        with self.assertInvalid(400, "parameter_unknown", "days_until_due"):
            stripe.Invoice.finalize_invoice(d.id, days_until_due=3)
        fin = stripe.Invoice.finalize_invoice(d.id, auto_advance=False)
        self.assertEqual((fin.status, fin.auto_advance), ("open", False))
        self.assertIs(events_of(d.id)[-1][1]["object"]["auto_advance"], False)
        with self.assertInvalid(400, NOT_DRAFT):
            stripe.Invoice.finalize_invoice(d.id, auto_advance=True)
        self.assertIs(stripe.Invoice.retrieve(d.id).auto_advance, False)

    def test_create_errors(self):
        c = self.customer()
        with self.assertInvalid(400, "parameter_missing", "customer"):
            stripe.Invoice.create()
        with self.assertMissing("customer", "No such customer: 'cus_0000000000000000'"):
            stripe.Invoice.create(customer="cus_0000000000000000")
        gone = self.customer()
        stripe.Customer.delete(gone.id)
        with self.assertMissing("customer"):
            stripe.Invoice.create(customer=gone.id)
        with self.assertInvalid(400, "parameter_invalid", "pending_invoice_items_behavior"):
            stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="all")
        with self.assertInvalid(400, "parameter_invalid", "collection_method"):
            stripe.Invoice.create(customer=c.id, collection_method="cash")
        with self.assertInvalid(400, "parameter_missing", "days_until_due"):
            stripe.Invoice.create(customer=c.id, collection_method="send_invoice")
        with self.assertInvalid(400, "parameter_invalid", "days_until_due"):
            stripe.Invoice.create(customer=c.id, days_until_due=3)
        with self.assertInvalid(400, "parameter_invalid_integer", "days_until_due"):
            stripe.Invoice.create(customer=c.id, collection_method="send_invoice",
                                  days_until_due=731)
        with self.assertInvalid(400, "parameter_invalid", "currency"):
            stripe.Invoice.create(customer=c.id, currency="xyz")
        with self.assertInvalid(400, "parameter_invalid", "description"):
            stripe.Invoice.create(customer=c.id, description="d" * 1501)
        with self.assertInvalid(400, "parameter_invalid", "auto_advance"):
            stripe.Invoice.create(customer=c.id, auto_advance="sometimes")
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Invoice.create(customer=c.id, metadata={"k" * 41: "v"})
        with self.assertInvalid(400, "parameter_invalid", "default_payment_method"):
            stripe.Invoice.create(customer=c.id, default_payment_method="pm 1")
        with self.assertInvalid(400, "parameter_unknown", "subscription"):
            stripe.Invoice.create(customer=c.id, subscription="sub_x")
        other = self.customer(pm="pm_card_visa")
        pm = stripe.Customer.retrieve(other.id).invoice_settings.default_payment_method
        with self.assertInvalid(400, "resource_missing", "default_payment_method",
                                "The customer does not have a payment method with the ID"):
            stripe.Invoice.create(customer=c.id, default_payment_method=pm)
        self.assertEqual(stripe.Invoice.list(customer=c.id).data, [])


class Lifecycle(InvoiceCase):
    def test_finalize_and_pay(self):
        c = self.customer(pm="pm_card_visa")
        pm = stripe.Customer.retrieve(c.id).invoice_settings.default_payment_method
        inv = self.draft(c.id, 1000, 230)
        fin = stripe.Invoice.finalize_invoice(inv.id)
        self.assertEqual((fin.status, fin.amount_due, fin.amount_remaining), ("open", 1230, 1230))
        self.assertRegex(fin.number, r"^%s-\d{4}$" % number_prefix(self.t.slug))
        self.assertRecent(fin.status_transitions.finalized_at)
        with self.assertInvalid(400, NOT_DRAFT, None, "You can only finalize"):
            stripe.Invoice.finalize_invoice(inv.id)
        paid = stripe.Invoice.pay(inv.id)
        b = body_of(paid)
        self.assertEqual((b["status"], b["paid"], b["amount_paid"], b["amount_remaining"]),
                         ("paid", True, 1230, 0))
        self.assertEqual((b["attempt_count"], b["attempted"], b["next_payment_attempt"]),
                         (1, True, None))
        self.assertRecent(b["status_transitions"]["paid_at"])
        fee = fee_of(1230)
        self.assertEqual(fee, 184)  # 184.5 rounds to the even 184
        self.assertEqual(b["application_fee_amount"], fee)
        rows = charges_of(inv.id)
        self.assertEqual([r[:3] for r in rows], [["succeeded", "1230", str(fee)]])
        pi = b["payment_intent"]
        self.assertEqual(rows[0][3], pi)
        self.assertEqual(b["charge"], owner_one("SELECT id FROM charges WHERE invoice = %s"
                                                % sql_id(inv.id)))
        self.assertEqual(owner_rows("SELECT status, amount, amount_received, application_fee_amount,"
                                    " payment_method, invoice FROM payment_intents WHERE id = %s"
                                    % sql_id(pi)),
                         [["succeeded", "1230", "1230", str(fee), pm, inv.id]])
        st_, _, raw = lt.get("/api/v1/payment_intents/%s" % pi, key=self.t.sk_test)
        if st_ == 200:
            self.assertEqual((raw["status"], raw["application_fee_amount"], raw["invoice"]),
                             ("succeeded", fee, inv.id))
        got = stripe.Invoice.retrieve(inv.id, expand=["payment_intent", "customer", "charge"])
        self.assertEqual((got.payment_intent.id, got.payment_intent.amount), (pi, 1230))
        self.assertEqual((got.customer.id, got.charge.amount), (c.id, 1230))
        self.assertEqual(event_types(inv.id), ["invoice.created", "invoice.finalized",
                                               "invoice.paid", "invoice.payment_succeeded"])
        with self.assertInvalid(400, "invoice_already_paid", None, "Invoice is already paid."):
            stripe.Invoice.pay(inv.id)
        with self.assertInvalid(400, "invoice_already_paid"):
            stripe.Invoice.pay(inv.id, payment_method="pm_card_visa")
        self.assertEqual(len(charges_of(inv.id)), 1)

    def test_pay_draft_with_test_payment_method(self):
        c = self.customer()
        inv = self.draft(c.id, 1250)
        paid = stripe.Invoice.pay(inv.id, payment_method="pm_card_visa", off_session=False)
        self.assertEqual((paid.status, paid.amount_paid, paid.application_fee_amount),
                         ("paid", 1250, fee_of(1250)))
        self.assertEqual(fee_of(1250), 188)  # 187.5 rounds to the even 188
        self.assertRegex(paid.number, r"-\d{4}$")
        attached = stripe.PaymentMethod.list(customer=c.id, type="card").data
        self.assertEqual(len(attached), 1)
        self.assertEqual(owner_one("SELECT payment_method FROM payment_intents WHERE id = %s"
                                   % sql_id(paid.payment_intent)), attached[0].id)
        self.assertEqual(event_types(inv.id), ["invoice.created", "invoice.finalized",
                                               "invoice.paid", "invoice.payment_succeeded"])

    def test_decline_then_another_card(self):
        with self.assertCard("card_declined", "generic_decline"):
            self.customer(pm="pm_card_chargeDeclined")
        c = self.customer(pm="pm_card_chargeCustomerFail")
        inv = self.draft(c.id, 2000)
        with self.assertCard("card_declined", "generic_decline", "Your card was declined.") as cm:
            stripe.Invoice.pay(inv.id)
        self.assertEqual(cm.exception.code, "card_declined")
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.attempted, now.amount_paid),
                         ("open", 1, True, 0))
        self.assertIsNotNone(now.next_payment_attempt)
        self.assertEqual([r[0] for r in charges_of(inv.id)], ["failed"])
        self.assertEqual(event_types(inv.id), ["invoice.created", "invoice.finalized",
                                               "invoice.payment_failed"])
        failed = events_of(inv.id)[-1][1]
        self.assertEqual((failed["object"]["attempt_count"], failed["object"]["status"]), (1, "open"))
        self.assertNotIn("previous_attributes", failed)  # as Stripe: only in *.updated events
        self.assertEqual(owner_one("SELECT status FROM payment_intents WHERE id = %s"
                                   % sql_id(now.payment_intent)), "requires_payment_method")
        # A declining test card named here refuses to attach: nothing is attempted.
        with self.assertCard("card_declined", "insufficient_funds"):
            stripe.Invoice.pay(inv.id, payment_method="pm_card_chargeDeclinedInsufficientFunds")
        self.assertEqual(stripe.Invoice.retrieve(inv.id).attempt_count, 1)
        visa = stripe.PaymentMethod.attach("pm_card_visa", customer=c.id)
        paid = stripe.Invoice.pay(inv.id, payment_method=visa.id)
        # The second attempt is manual: Stripe's attempt_count counts only the first of those.
        self.assertEqual((paid.status, paid.attempt_count, paid.amount_paid, paid.payment_intent),
                         ("paid", 1, 2000, now.payment_intent))
        self.assertEqual([r[0] for r in charges_of(inv.id)], ["failed", "succeeded"])
        self.assertEqual(event_types(inv.id)[-2:], ["invoice.paid", "invoice.payment_succeeded"])

    def test_pay_errors(self):
        c = self.customer()
        inv = self.open_invoice(c.id, 500)
        with self.assertInvalid(400, "invoice_no_customer_payment_method"):
            stripe.Invoice.pay(inv.id)
        with self.assertMissing("payment_method"):
            stripe.Invoice.pay(inv.id, payment_method="pm_0000000000000000")
        other = self.customer(pm="pm_card_visa")
        theirs = stripe.Customer.retrieve(other.id).invoice_settings.default_payment_method
        with self.assertInvalid(400, "parameter_invalid", "payment_method", "already been attached"):
            stripe.Invoice.pay(inv.id, payment_method=theirs)
        with self.assertInvalid(400, "parameter_invalid", "off_session"):
            stripe.Invoice.pay(inv.id, off_session="perhaps")
        with self.assertInvalid(400, "parameter_unknown", "paid_out_of_band"):
            stripe.Invoice.pay(inv.id, paid_out_of_band=True)
        with self.assertMissing("id"):
            stripe.Invoice.pay("in_0000000000000000")
        self.assertEqual(stripe.Invoice.retrieve(inv.id).attempt_count, 0)
        stripe.Invoice.void_invoice(inv.id)
        with self.assertInvalid(400, NOT_DRAFT, None, "void"):
            stripe.Invoice.pay(inv.id, payment_method="pm_card_visa")
        self.assertEqual(stripe.PaymentMethod.list(customer=c.id, type="card").data, [])

    def test_nothing_due_is_paid_at_finalization(self):
        c = self.customer()
        inv = stripe.Invoice.create(customer=c.id)
        fin = stripe.Invoice.finalize_invoice(inv.id)
        self.assertEqual((fin.status, fin.amount_due, fin.attempt_count), ("paid", 0, 0))
        self.assertIsNotNone(fin.number)
        self.assertEqual(charges_of(inv.id), [])
        self.assertEqual(event_types(inv.id), ["invoice.created", "invoice.finalized",
                                               "invoice.paid"])

    def test_void(self):
        c = self.customer()
        inv = self.open_invoice(c.id, 100)
        v = stripe.Invoice.void_invoice(inv.id)
        b = body_of(v)
        self.assertEqual((b["status"], b["amount_remaining"], b["next_payment_attempt"]),
                         ("void", 0, None))
        self.assertRecent(b["status_transitions"]["voided_at"])
        self.assertEqual(event_types(inv.id)[-1], "invoice.voided")
        self.assertEqual(events_of(inv.id)[-1][1], {"object": b})
        for fn in (stripe.Invoice.void_invoice, stripe.Invoice.mark_uncollectible,
                   stripe.Invoice.finalize_invoice):
            with self.subTest(fn=fn.__name__), self.assertInvalid(400, NOT_DRAFT):
                fn(inv.id)
        draft = self.draft(c.id, 100)
        with self.assertInvalid(400, NOT_DRAFT, None, "You can only void an invoice that is open"):
            stripe.Invoice.void_invoice(draft.id)
        paid = self.open_invoice(self.customer(pm="pm_card_visa").id, 100)
        stripe.Invoice.pay(paid.id)
        with self.assertInvalid(400, NOT_DRAFT, None, "is paid"):
            stripe.Invoice.void_invoice(paid.id)
        with self.assertInvalid(400, "parameter_unknown", "reason"):
            stripe.Invoice.void_invoice(draft.id, reason="x")
        with self.assertMissing("id"):
            stripe.Invoice.void_invoice("in_0000000000000000")

    def test_void_cancels_the_unfinished_payment_intent(self):
        """As Stripe: voiding an invoice whose payment failed cancels its PaymentIntent."""
        c = self.customer(pm="pm_card_chargeCustomerFail")
        inv = self.open_invoice(c.id, 700)
        with self.assertCard():
            stripe.Invoice.pay(inv.id)
        pi_id = stripe.Invoice.retrieve(inv.id).payment_intent
        self.assertEqual(stripe.PaymentIntent.retrieve(pi_id).status, "requires_payment_method")
        stripe.Invoice.void_invoice(inv.id)
        pi = stripe.PaymentIntent.retrieve(pi_id)
        self.assertEqual((pi.status, pi.cancellation_reason), ("canceled", "void_invoice"))
        self.assertRecent(pi.canceled_at)
        types = [t for t, _ in events_of(pi_id)]
        self.assertEqual(types[-1], "payment_intent.canceled")
        self.assertEqual(events_of(pi_id)[-1][1]["object"]["status"], "canceled")
        # Marking uncollectible leaves the intent alone: it may still be paid.
        other = self.open_invoice(c.id, 800)
        with self.assertCard():
            stripe.Invoice.pay(other.id)
        stripe.Invoice.mark_uncollectible(other.id)
        other_pi = stripe.Invoice.retrieve(other.id).payment_intent
        self.assertEqual(stripe.PaymentIntent.retrieve(other_pi).status, "requires_payment_method")
        # A paid invoice cannot be voided, so a succeeded intent is never canceled this way.

    def test_mark_uncollectible(self):
        c = self.customer()
        inv = self.open_invoice(c.id, 300)
        u = stripe.Invoice.mark_uncollectible(inv.id)
        self.assertEqual((u.status, u.amount_remaining), ("uncollectible", 300))
        self.assertRecent(u.status_transitions.marked_uncollectible_at)
        self.assertEqual(event_types(inv.id)[-1], "invoice.marked_uncollectible")
        with self.assertInvalid(400, NOT_DRAFT, None, "mark uncollectible"):
            stripe.Invoice.mark_uncollectible(inv.id)
        # An uncollectible invoice can still be paid, or voided.
        paid = stripe.Invoice.pay(inv.id, payment_method="pm_card_visa")
        self.assertEqual((paid.status, paid.amount_paid), ("paid", 300))
        with self.assertInvalid(400, NOT_DRAFT):
            stripe.Invoice.mark_uncollectible(inv.id)
        other = stripe.Invoice.mark_uncollectible(self.open_invoice(c.id, 5).id)
        self.assertEqual(stripe.Invoice.void_invoice(other.id).status, "void")
        draft = self.draft(c.id, 7)
        with self.assertInvalid(400, NOT_DRAFT, None, "is draft"):
            stripe.Invoice.mark_uncollectible(draft.id)
        with self.assertMissing("id"):
            stripe.Invoice.mark_uncollectible("in_0000000000000000")

    def test_customer_balance(self):
        # A credit smaller than the invoice: used whole.
        c = self.customer(pm="pm_card_visa", balance=-500)
        fin = self.open_invoice(c.id, 1200)
        self.assertEqual((fin.starting_balance, fin.amount_due, fin.ending_balance, fin.total),
                         (-500, 700, 0, 1200))
        self.assertEqual(stripe.Customer.retrieve(c.id).balance, 0)
        self.assertEqual(stripe.Invoice.pay(fin.id).amount_paid, 700)
        self.assertEqual(charges_of(fin.id)[0][:3], ["succeeded", "700", str(fee_of(700))])
        # A larger credit: nothing due, paid at once, the rest left on the balance.
        c = self.customer(balance=-2000)
        fin = self.open_invoice(c.id, 1200)
        self.assertEqual((fin.status, fin.starting_balance, fin.amount_due, fin.ending_balance),
                         ("paid", -2000, 0, -800))
        self.assertEqual(stripe.Customer.retrieve(c.id).balance, -800)
        # A debt is added to what is due.
        c = self.customer(balance=300)
        fin = self.open_invoice(c.id, 1000)
        self.assertEqual((fin.starting_balance, fin.amount_due, fin.ending_balance), (300, 1300, 0))
        self.assertEqual(stripe.Customer.retrieve(c.id).balance, 0)
        # A draft does not touch the balance.
        c = self.customer(balance=-100)
        d = self.draft(c.id, 1000)
        self.assertEqual((d.starting_balance, d.amount_due, d.ending_balance), (0, 1000, None))
        self.assertEqual(stripe.Customer.retrieve(c.id).balance, -100)


class Update(InvoiceCase):
    def test_update_draft(self):
        c = self.customer(pm="pm_card_visa")
        pm = stripe.Customer.retrieve(c.id).invoice_settings.default_payment_method
        inv = self.draft(c.id, 100, metadata={"a": "1"})
        u = stripe.Invoice.modify(inv.id, description="Work", metadata={"b": "2"},
                                  default_payment_method=pm, auto_advance=False)
        b = body_of(u)
        self.assertEqual((b["description"], b["metadata"], b["default_payment_method"],
                          b["auto_advance"]), ("Work", {"a": "1", "b": "2"}, pm, False))
        got = stripe.Invoice.retrieve(inv.id, expand=["default_payment_method"])
        self.assertEqual(got.default_payment_method.id, pm)
        evs = events_of(inv.id)
        self.assertEqual([t for t, _ in evs], ["invoice.created", "invoice.updated"])
        self.assertEqual(evs[1][1]["object"], b)
        self.assertEqual(evs[1][1]["previous_attributes"],
                         {"description": None, "metadata": {"a": "1"},
                          "default_payment_method": None, "auto_advance": True})
        u = stripe.Invoice.modify(inv.id, description="", default_payment_method="")
        self.assertEqual((u.description, u.default_payment_method), (None, None))
        # Nothing changed: no event.
        stripe.Invoice.modify(inv.id, metadata={"a": "1"})
        self.assertEqual(len(events_of(inv.id)), 3)

    def test_update_errors(self):
        c = self.customer()
        inv = self.draft(c.id, 100)
        with self.assertInvalid(400, "parameter_invalid", "days_until_due"):
            stripe.Invoice.modify(inv.id, days_until_due=3)
        other = self.customer(pm="pm_card_visa")
        theirs = stripe.Customer.retrieve(other.id).invoice_settings.default_payment_method
        with self.assertInvalid(400, "resource_missing", "default_payment_method"):
            stripe.Invoice.modify(inv.id, default_payment_method=theirs)
        with self.assertInvalid(400, "parameter_invalid", "description"):
            stripe.Invoice.modify(inv.id, description="d" * 1501)
        with self.assertInvalid(400, "parameter_unknown", "collection_method"):
            stripe.Invoice.modify(inv.id, collection_method="send_invoice")
        with self.assertMissing("id"):
            stripe.Invoice.modify("in_0000000000000000", description="x")
        fin = stripe.Invoice.finalize_invoice(inv.id)
        for name, value in (("description", "late"), ("auto_advance", False),
                            ("default_payment_method", ""), ("days_until_due", 3)):
            with self.subTest(name=name), self.assertInvalid(400, NOT_DRAFT, name,
                                                             "You can only update metadata"):
                stripe.Invoice.modify(inv.id, **{name: value})
        u = stripe.Invoice.modify(inv.id, metadata={"paid_by": "cheque"})
        self.assertEqual((u.metadata, u.number, u.status), ({"paid_by": "cheque"}, fin.number, "open"))
        self.assertEqual(event_types(inv.id)[-1], "invoice.updated")

    def test_delete_draft(self):
        c = self.customer()
        a = self.item(c.id, 100)
        inv = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include")
        self.assertEqual(stripe.InvoiceItem.retrieve(a.id).invoice, inv.id)
        gone = stripe.Invoice.delete(inv.id)
        self.assertEqual(body_of(gone), {"id": inv.id, "object": "invoice", "deleted": True})
        for fn in (stripe.Invoice.retrieve, stripe.Invoice.finalize_invoice, stripe.Invoice.pay,
                   stripe.Invoice.void_invoice, stripe.Invoice.mark_uncollectible,
                   stripe.Invoice.delete):
            with self.subTest(fn=fn.__name__), self.assertMissing("id"):
                fn(inv.id)
        with self.assertMissing("id"):
            stripe.Invoice.modify(inv.id, metadata={"x": "y"})
        st_, _, obj = lt.get("%s/%s/lines" % (INVOICES, inv.id), key=self.t.sk_test)
        self.assertEqual((st_, obj["error"]["code"]), (404, "resource_missing"))
        self.assertEqual(stripe.Invoice.list(customer=c.id).data, [])
        with self.assertMissing("starting_after"):
            stripe.Invoice.list(starting_after=inv.id)
        # Its items are pending again, and the next invoice takes them.
        self.assertIsNone(stripe.InvoiceItem.retrieve(a.id).invoice)
        again = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include")
        self.assertEqual([ln.invoice_item for ln in again.lines.data], [a.id])
        self.assertEqual(event_types(inv.id), ["invoice.created", "invoice.deleted"])
        # Only drafts, and only one-off ones.
        fin = stripe.Invoice.finalize_invoice(again.id)
        with self.assertInvalid(400, NOT_DRAFT, None, "You can only delete a draft invoice"):
            stripe.Invoice.delete(fin.id)
        p = self.plan(100)
        sub, _ = insert_subscription(self.t, c.id, p.id)
        d = stripe.Invoice.create(customer=c.id)
        owner_rows("UPDATE invoices SET subscription = %s WHERE id = %s" % (sql_id(sub), sql_id(d.id)))
        with self.assertInvalid(400, NOT_DRAFT, None, "You can only delete a one-off invoice"):
            stripe.Invoice.delete(d.id)


class Lists(InvoiceCase):
    def test_list_and_filters(self):
        c, d = self.customer(), self.customer()
        drafts = [self.draft(c.id, 10 + i) for i in range(3)]
        opened = self.open_invoice(c.id, 50)
        sent = self.draft(d.id, 5, collection_method="send_invoice", days_until_due=3)
        p = self.plan(100)
        sub, _ = insert_subscription(self.t, d.id, p.id)
        owner_rows("UPDATE invoices SET subscription = %s WHERE id = %s"
                   % (sql_id(sub), sql_id(sent.id)))
        ids = [i.id for i in stripe.Invoice.list(customer=c.id).auto_paging_iter()]
        self.assertEqual(ids, [opened.id] + [x.id for x in drafts[::-1]])
        lst = stripe.Invoice.list(customer=c.id, limit=2)
        self.assertEqual(([i.id for i in lst], lst.has_more, body_of(lst)["url"]),
                         ([opened.id, drafts[2].id], True, "/v1/invoices"))
        self.assertEqual([i.id for i in stripe.Invoice.list(customer=c.id, status="open")],
                         [opened.id])
        self.assertEqual([i.id for i in stripe.Invoice.list(customer=c.id, status="paid")], [])
        self.assertEqual([i.id for i in stripe.Invoice.list(collection_method="send_invoice")],
                         [sent.id])
        self.assertEqual([i.id for i in stripe.Invoice.list(subscription=sub)], [sent.id])
        self.assertEqual([i.id for i in stripe.Invoice.list(
            customer=c.id, collection_method="charge_automatically", status="draft",
            starting_after=drafts[2].id)], [drafts[1].id, drafts[0].id])
        got = stripe.Invoice.list(subscription=sub, expand=["data.customer", "data.subscription"])
        self.assertEqual((got.data[0].customer.id, got.data[0].subscription.id), (d.id, sub))
        with self.assertInvalid(400, "parameter_invalid", "status"):
            stripe.Invoice.list(status="lost")
        with self.assertInvalid(400, "parameter_invalid", "collection_method"):
            stripe.Invoice.list(collection_method="cash")
        with self.assertInvalid(400, "parameter_unknown", "due_date"):
            stripe.Invoice.list(due_date=5)

    def test_lines(self):
        c = self.customer()
        items = [self.item(c.id, 100 + i) for i in range(7)]
        inv = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include")
        want = [i.id for i in items]
        self.assertEqual([ln.invoice_item for ln in inv.lines.auto_paging_iter()], want)
        page = stripe.Invoice.retrieve(inv.id).lines.list(limit=3)
        got = [ln.invoice_item for ln in page]
        self.assertEqual((got, page.has_more, body_of(page)["url"]),
                         (want[:3], True, "/v1/invoices/%s/lines" % inv.id))
        lines = inv.lines.data
        nxt = inv.lines.list(limit=3, starting_after=lines[2].id)
        self.assertEqual([ln.invoice_item for ln in nxt], want[3:6])
        back = inv.lines.list(ending_before=lines[5].id, limit=2)
        self.assertEqual([ln.invoice_item for ln in back], want[3:5])
        other = self.draft(c.id, 1)
        path = "%s/%s/lines" % (INVOICES, inv.id)
        for q, code, param in (("?starting_after=%s" % other.lines.data[0].id, "resource_missing",
                                "starting_after"),
                               ("?ending_before=il_0000000000000000", "resource_missing",
                                "ending_before"),
                               ("?starting_after=%s&ending_before=%s" % (lines[0].id, lines[1].id),
                                "parameter_invalid", "ending_before"),
                               ("?limit=0", "parameter_invalid_integer", "limit"),
                               ("?expand[]=data.invoice", "parameter_invalid", "expand"),
                               ("?status=open", "parameter_unknown", "status")):
            with self.subTest(q=q):
                st_, _, obj = lt.get(path + q, key=self.t.sk_test)
                self.assertError((st_, None, obj), 404 if code == "resource_missing" else 400,
                                 "invalid_request_error", code, param)
        st_, _, obj = lt.get("%s/in_0000000000000000/lines" % INVOICES, key=self.t.sk_test)
        self.assertError((st_, None, obj), 404, "invalid_request_error", "resource_missing", "id")

    def test_item_on_a_draft(self):
        c = self.customer()
        inv = stripe.Invoice.create(customer=c.id)
        ii = self.item(c.id, 400, invoice=inv.id)
        self.assertEqual(ii.invoice, inv.id)
        ii2 = self.item(c.id, None, unit_amount=50, quantity=3, invoice=inv.id)
        got = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((got.subtotal, got.total, got.amount_due), (550, 550, 550))
        self.assertEqual([ln.invoice_item for ln in got.lines.data], [ii.id, ii2.id])
        evs = events_of(inv.id)
        self.assertEqual([t for t, _ in evs], ["invoice.created", "invoice.updated",
                                               "invoice.updated"])
        self.assertEqual(evs[-1][1]["previous_attributes"]["total"], 400)
        other = self.customer()
        with self.assertInvalid(400, "parameter_invalid", "invoice", "belongs to another customer"):
            self.item(other.id, 1, invoice=inv.id)
        with self.assertInvalid(400, "parameter_invalid", "currency", "does not match"):
            self.item(c.id, 1, "eur", invoice=inv.id)
        stripe.Invoice.finalize_invoice(inv.id)
        with self.assertInvalid(400, NOT_DRAFT, "invoice", "only add invoice items to a draft"):
            self.item(c.id, 1, invoice=inv.id)
        self.assertEqual(stripe.Invoice.retrieve(inv.id).total, 550)

    def test_draft_limits(self):
        c = self.customer()
        # 250 pending items, written as the owner for speed: one full invoice.
        owner_in(self.t, "INSERT INTO invoice_items (tenant_id, livemode, customer, currency, amount)"
                   " SELECT %d, false, %s, 'usd', 1 FROM generate_series(1, 250)"
                   % (self.t.id, sql_id(c.id)))
        inv = stripe.Invoice.create(customer=c.id, pending_invoice_items_behavior="include")
        self.assertEqual((inv.lines.total_count, inv.total), (250, 250))
        with self.assertInvalid(400, "parameter_invalid", "invoice", "at most 250 lines"):
            self.item(c.id, 1, invoice=inv.id)
        # A total beyond twelve digits cannot be billed.
        d = stripe.Invoice.create(customer=c.id)
        for _ in range(10):
            self.item(c.id, 99999999999, invoice=d.id)
        with self.assertInvalid(400, "parameter_invalid", None, "beyond what levy can bill"):
            self.item(c.id, 99999999999, invoice=d.id)
        self.assertEqual(stripe.Invoice.retrieve(d.id).total, 999999999990)


class Numbers(InvoiceCase):
    def test_gapless_per_tenant_and_mode(self):
        t = st.tenant()
        prefix = number_prefix(t.slug)
        c = self.customer()
        drafts = [self.draft(c.id, 100) for _ in range(4)]
        # Finalized out of creation order; a deleted and a void one leave no gap.
        stripe.Invoice.delete(self.draft(c.id, 5).id)
        got = [stripe.Invoice.finalize_invoice(d.id).number for d in (drafts[2], drafts[0])]
        stripe.Invoice.void_invoice(drafts[2].id)
        got += [stripe.Invoice.pay(drafts[1].id, payment_method="pm_card_visa").number]
        got += [stripe.Invoice.finalize_invoice(drafts[3].id).number]
        self.assertEqual(got, ["%s-%04d" % (prefix, n) for n in range(1, 5)])
        # A refused finalization takes no number.
        with self.assertInvalid(400, NOT_DRAFT):
            stripe.Invoice.finalize_invoice(drafts[3].id)
        # Live mode counts on its own.
        st.use(t.sk_live)
        lc = stripe.Customer.create()
        live = stripe.Invoice.finalize_invoice(stripe.Invoice.create(customer=lc.id).id)
        self.assertEqual((live.number, live.livemode), ("%s-0001" % prefix, True))
        st.use(t.sk_test)
        self.assertEqual(stripe.Invoice.finalize_invoice(self.draft(c.id, 1).id).number,
                         "%s-0005" % prefix)
        # Another tenant starts at 0001.
        u = st.tenant()
        c2 = self.customer()
        self.assertEqual(stripe.Invoice.finalize_invoice(self.draft(c2.id, 1).id).number,
                         "%s-0001" % number_prefix(u.slug))

    def test_concurrent_finalizations(self):
        t = st.tenant()
        c = self.customer()
        drafts = [stripe.Invoice.create(customer=c.id) for _ in range(20)]
        for d in drafts:
            self.item(c.id, 100, invoice=d.id)
        results = [None] * len(drafts)
        barrier = threading.Barrier(len(drafts))

        def finalize(i):
            barrier.wait()
            results[i] = lt.post("%s/%s/finalize" % (INVOICES, drafts[i].id), {}, key=t.sk_test)

        threads = [threading.Thread(target=finalize, args=(i,)) for i in range(len(drafts))]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual([r[0] for r in results], [200] * 20, [r[2] for r in results if r[0] != 200])
        numbers = sorted(r[2]["number"] for r in results)
        prefix = number_prefix(t.slug)
        self.assertEqual(numbers, ["%s-%04d" % (prefix, n) for n in range(1, 21)])
        self.assertEqual(owner_one("SELECT next_number FROM invoice_counters WHERE tenant_id = %d"
                                   " AND NOT livemode" % t.id), "20")

    def test_concurrent_pays_charge_once(self):
        c = self.customer(pm="pm_card_visa")
        for _ in range(3):
            inv = self.open_invoice(c.id, 900)
            results = [None, None]
            barrier = threading.Barrier(2)

            def pay(i, inv_id=inv.id):
                barrier.wait()
                results[i] = lt.post("%s/%s/pay" % (INVOICES, inv_id), {}, key=self.t.sk_test)

            threads = [threading.Thread(target=pay, args=(i,)) for i in range(2)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            self.assertEqual(sorted(r[0] for r in results), [200, 400], results)
            refused = [r for r in results if r[0] == 400][0]
            self.assertEqual(refused[2]["error"]["code"], "invoice_already_paid")
            self.assertEqual([r[:2] for r in charges_of(inv.id)], [["succeeded", "900"]])
            self.assertEqual(stripe.Invoice.retrieve(inv.id).attempt_count, 1)


class Upcoming(InvoiceCase):
    def test_preview_writes_nothing(self):
        c = self.customer(balance=-300)
        p = self.plan(1000, "usd", nickname="Gold")
        start = int(time.time()) - 10 * DAY
        sub, si = insert_subscription(self.t, c.id, p.id, quantity=2, start=start)
        end = start + 30 * DAY
        ii = self.item(c.id, 500, description="Extra")
        of_sub = self.item(c.id, 70, subscription=sub)
        eur = self.item(c.id, 1, "eur")
        before = row_counts(self.t)
        up = stripe.Invoice.upcoming(customer=c.id, subscription=sub)
        b = body_of(up)
        self.assertEqual(row_counts(self.t), before)
        self.assertNotIn("id", b)
        self.assertEqual((b["object"], b["status"], b["billing_reason"], b["customer"],
                          b["subscription"], b["currency"]),
                         ("invoice", "draft", "upcoming", c.id, sub, "usd"))
        self.assertEqual((b["subtotal"], b["total"], b["starting_balance"], b["amount_due"],
                          b["amount_remaining"], b["amount_paid"]), (2570, 2570, -300, 2270, 2270, 0))
        self.assertEqual((b["created"], b["period_start"], b["period_end"], b["next_payment_attempt"]),
                         (end, start, end, end))
        self.assertEqual((b["number"], b["due_date"], b["payment_intent"], b["livemode"]),
                         (None, None, None, False))
        lines = b["lines"]["data"]
        self.assertEqual(b["lines"]["total_count"], 3)
        self.assertEqual([(ln["type"], ln["amount"]) for ln in lines],
                         [("subscription", 2000), ("invoiceitem", 500), ("invoiceitem", 70)])
        s = lines[0]
        self.assertEqual((s["period"], s["quantity"], s["plan"]["id"], s["subscription_item"],
                          s["subscription"], s["proration"]),
                         ({"start": end, "end": end + 30 * DAY}, 2, p.id, si, sub, False))
        self.assertIn(" \u00d7 ", s["description"])
        self.assertEqual((lines[1]["invoice_item"], lines[1]["description"]), (ii.id, "Extra"))
        self.assertEqual(lines[2]["invoice_item"], of_sub.id)
        self.assertNotIn(eur.id, [ln.get("invoice_item") for ln in lines])
        # By customer alone: the subscription that renews next.
        self.assertEqual(body_of(stripe.Invoice.upcoming(customer=c.id))["total"], 2570)
        # By subscription alone.
        by_sub = stripe.Invoice.upcoming(subscription=sub, expand=["customer", "subscription"])
        self.assertEqual((by_sub.customer.id, by_sub.subscription.id), (c.id, sub))
        self.assertEqual(row_counts(self.t), before)

    def test_month_ends_and_send_invoice(self):
        c = self.customer()
        p = self.plan(1234, "eur")
        jan31 = calendar.timegm((2031, 1, 31, 12, 0, 0))
        feb28 = calendar.timegm((2031, 2, 28, 12, 0, 0))
        mar31 = calendar.timegm((2031, 3, 31, 12, 0, 0))
        sub, _ = insert_subscription(self.t, c.id, p.id, start=jan31, end=feb28, anchor=jan31,
                                     interval="month", interval_count=1,
                                     collection_method="send_invoice", days_until_due=14)
        up = stripe.Invoice.upcoming(subscription=sub)
        self.assertEqual(up.lines.data[0].period, {"start": feb28, "end": mar31})
        self.assertEqual((up.collection_method, up.due_date, up.next_payment_attempt, up.currency),
                         ("send_invoice", feb28 + 14 * DAY, None, "eur"))

    def test_pending_items_only(self):
        c = self.customer()
        with self.assertInvalid(404, "invoice_upcoming_none", None,
                                "No upcoming invoices for customer: %s" % c.id):
            stripe.Invoice.upcoming(customer=c.id)
        p = self.plan(100)
        sub, _ = insert_subscription(self.t, c.id, p.id, cancel_at_period_end=True)
        with self.assertInvalid(404, "invoice_upcoming_none"):
            stripe.Invoice.upcoming(subscription=sub)
        self.item(c.id, 42, "jpy")
        up = stripe.Invoice.upcoming(customer=c.id)
        self.assertEqual((up.total, up.currency, up.subscription, len(up.lines.data)),
                         (42, "jpy", None, 1))
        self.assertRecent(up.created)
        canceled, _ = insert_subscription(self.t, c.id, p.id, status="canceled")
        with self.assertInvalid(404, "invoice_upcoming_none"):
            stripe.Invoice.upcoming(subscription=canceled)

    def test_errors(self):
        c, other = self.customer(), self.customer()
        p = self.plan(99999999)
        sub, _ = insert_subscription(self.t, c.id, p.id, quantity=1000000)
        with self.assertInvalid(400, "parameter_missing", "customer"):
            stripe.Invoice.upcoming()
        with self.assertMissing("subscription"):
            stripe.Invoice.upcoming(subscription="sub_0000000000000000")
        with self.assertMissing("customer"):
            stripe.Invoice.upcoming(customer="cus_0000000000000000")
        with self.assertInvalid(400, "parameter_invalid", "subscription", "does not belong"):
            stripe.Invoice.upcoming(customer=other.id, subscription=sub)
        with self.assertInvalid(400, "parameter_invalid", None, "beyond what levy can bill"):
            stripe.Invoice.upcoming(subscription=sub)
        with self.assertInvalid(400, "parameter_unknown", "coupon"):
            stripe.Invoice.upcoming(customer=c.id, coupon="x")
        # A preview has no id: there is nothing to change or pay.
        self.assertError(lt.post("%s/upcoming/pay" % INVOICES, {}, key=self.t.sk_test), 404,
                         "invalid_request_error", "resource_missing", "id")


    def test_upcoming_lines_when_the_rendering_has_none(self):
        """The preview is PostgreSQL's rendering; one that is not an invoice with lines (a
        fault injected by wrapping levy_invoice_json as the owner, so that it renders an
        array) is levy's own error: 500 api_error."""
        c = self.customer()
        insert_subscription(self.t, c.id, self.plan(1000).id)
        OWNER = st.OWNER
        lt.psql(OWNER, """
            ALTER FUNCTION levy_invoice_json(invoices) RENAME TO test_invoice_json_real;
            CREATE FUNCTION levy_invoice_json(i invoices) RETURNS jsonb LANGUAGE sql STABLE
                AS $f$ SELECT jsonb_build_array(test_invoice_json_real(i)) $f$;
            GRANT EXECUTE ON FUNCTION levy_invoice_json(invoices) TO levy_app;""")
        try:
            status, _, body = lt.get("%s/upcoming/lines?customer=%s" % (INVOICES, c.id),
                                     key=self.t.sk_test)
        finally:
            lt.psql(OWNER, """
                DROP FUNCTION levy_invoice_json(invoices);
                ALTER FUNCTION test_invoice_json_real(invoices) RENAME TO levy_invoice_json;""")
        self.assertEqual(status, 500, body)
        self.assertEqual(body["error"]["type"], "api_error", body)
        self.assertEqual(len(stripe.Invoice.upcoming_lines(customer=c.id).data), 1)

    def test_upcoming_lines_paged(self):
        """GET /v1/invoices/upcoming/lines: the preview's lines, paged by id, as Stripe."""
        c = self.customer()
        p = self.plan(1000)
        sub, si = insert_subscription(self.t, c.id, p.id, quantity=3)
        items = [self.item(c.id, 10 + i, description="Extra %d" % i) for i in range(4)]
        before = row_counts(self.t)
        whole = body_of(stripe.Invoice.upcoming(customer=c.id))["lines"]["data"]
        self.assertEqual(len(whole), 5)
        ids = [ln["id"] for ln in whole]
        page = stripe.Invoice.upcoming_lines(customer=c.id, limit=2)
        b = body_of(page)
        self.assertEqual((b["object"], b["has_more"]), ("list", True))
        # The SDKs page it by sending their params again: the url holds none.
        self.assertEqual(b["url"], "/v1/invoices/upcoming/lines")
        self.assertEqual([ln["id"] for ln in b["data"]], ids[:2])
        self.assertEqual(b["data"], whole[:2])
        self.assertEqual((b["data"][0]["subscription_item"], b["data"][0]["amount"]), (si, 3000))
        nxt = body_of(stripe.Invoice.upcoming_lines(customer=c.id, limit=2, starting_after=ids[1]))
        self.assertEqual(([ln["id"] for ln in nxt["data"]], nxt["has_more"]), (ids[2:4], True))
        last = body_of(stripe.Invoice.upcoming_lines(customer=c.id, starting_after=ids[3]))
        self.assertEqual(([ln["id"] for ln in last["data"]], last["has_more"]), (ids[4:], False))
        back = body_of(stripe.Invoice.upcoming_lines(customer=c.id, limit=2, ending_before=ids[3]))
        self.assertEqual(([ln["id"] for ln in back["data"]], back["has_more"]), (ids[1:3], True))
        first = body_of(stripe.Invoice.upcoming_lines(customer=c.id, ending_before=ids[1]))
        self.assertEqual(([ln["id"] for ln in first["data"]], first["has_more"]), (ids[:1], False))
        # The SDK's auto-pagination walks every line once, by the list's url.
        walked = [ln.id for ln in stripe.Invoice.upcoming_lines(
            customer=c.id, subscription=sub, limit=2).auto_paging_iter()]
        self.assertEqual(walked, ids)
        self.assertEqual([ln["invoice_item"] for ln in whole[1:]], [i.id for i in items])
        self.assertEqual(row_counts(self.t), before)
        # Errors: the preview's own, and cursors that name no line of it.
        with self.assertInvalid(400, "parameter_missing", "customer"):
            stripe.Invoice.upcoming_lines()
        with self.assertMissing("starting_after"):
            stripe.Invoice.upcoming_lines(customer=c.id, starting_after="il_tmp_nothere00000")
        with self.assertMissing("ending_before"):
            stripe.Invoice.upcoming_lines(customer=c.id, ending_before="il_tmp_nothere00000")
        with self.assertInvalid(400, "parameter_invalid", "ending_before"):
            stripe.Invoice.upcoming_lines(customer=c.id, starting_after=ids[0],
                                          ending_before=ids[2])
        with self.assertInvalid(400, "parameter_invalid_integer", "limit"):
            stripe.Invoice.upcoming_lines(customer=c.id, limit=101)
        with self.assertInvalid(400, "parameter_unknown", "coupon"):
            stripe.Invoice.upcoming_lines(customer=c.id, coupon="x")
        # A line embeds its plan already: nothing in it expands, as on any list of lines.
        with self.assertInvalid(400, "parameter_invalid", "expand",
                                "This property cannot be expanded (data.plan)."):
            stripe.Invoice.upcoming_lines(customer=c.id, expand=["data.plan"])
        other = self.customer()
        with self.assertInvalid(404, "invoice_upcoming_none"):
            stripe.Invoice.upcoming_lines(customer=other.id)

class Isolation(InvoiceCase):
    @classmethod
    def setUpClass(cls):
        cls.a = st.tenant()
        cls.a_cus = stripe.Customer.create()
        cls.a_plan = stripe.Plan.create(amount=100, currency="usd", interval="month",
                                        product={"name": "A"})
        cls.a_sub, _ = insert_subscription(cls.a, cls.a_cus.id, cls.a_plan.id)
        cls.a_item = stripe.InvoiceItem.create(customer=cls.a_cus.id, amount=10, currency="usd")
        cls.a_draft = stripe.Invoice.create(customer=cls.a_cus.id,
                                            pending_invoice_items_behavior="include")
        cls.a_pending = stripe.InvoiceItem.create(customer=cls.a_cus.id, amount=5, currency="usd")
        st.use(cls.a.sk_live)
        cls.a_live_cus = stripe.Customer.create()
        cls.a_live_item = stripe.InvoiceItem.create(customer=cls.a_live_cus.id, amount=10,
                                                    currency="usd")
        cls.a_live_inv = stripe.Invoice.create(customer=cls.a_live_cus.id)
        cls.b = st.tenant()
        cls.b_cus = stripe.Customer.create()
        cls.b_draft = stripe.Invoice.create(customer=cls.b_cus.id)
        cls.t = cls.b

    def invoice_calls(self, inv_id, key):
        """Every invoice endpoint for inv_id: (what, raw answer)."""
        p = "%s/%s" % (INVOICES, inv_id)
        return [("retrieve", lt.get(p, key=key)), ("update", lt.post(p, {"metadata": {"x": "y"}}, key=key)),
                ("lines", lt.get(p + "/lines", key=key)),
                ("finalize", lt.post(p + "/finalize", {}, key=key)),
                ("pay", lt.post(p + "/pay", {}, key=key)),
                ("void", lt.post(p + "/void", {}, key=key)),
                ("uncollectible", lt.post(p + "/mark_uncollectible", {}, key=key)),
                ("delete", lt.delete(p, key=key))]

    def item_calls(self, ii_id, key):
        p = "%s/%s" % (ITEMS, ii_id)
        return [("retrieve", lt.get(p, key=key)), ("update", lt.post(p, {"amount": 1}, key=key)),
                ("delete", lt.delete(p, key=key))]

    def test_other_tenant_and_mode_404(self):
        cases = [(self.b.sk_test, self.a_draft.id, self.a_pending.id),
                 (self.b.sk_live, self.a_draft.id, self.a_pending.id),
                 (self.a.sk_live, self.a_draft.id, self.a_pending.id),
                 (self.a.sk_test, self.a_live_inv.id, self.a_live_item.id)]
        for key, inv_id, ii_id in cases:
            for what, resp in self.invoice_calls(inv_id, key):
                with self.subTest(key=key[:8], what=what):
                    self.assertError(resp, 404, "invalid_request_error", "resource_missing", "id",
                                     "No such invoice: '%s'" % inv_id)
            for what, resp in self.item_calls(ii_id, key):
                with self.subTest(key=key[:8], what="item " + what):
                    self.assertError(resp, 404, "invalid_request_error", "resource_missing", "id",
                                     "No such invoiceitem: '%s'" % ii_id)
        # Nothing changed in tenant A.
        st.use(self.a.sk_test)
        got = stripe.Invoice.retrieve(self.a_draft.id)
        self.assertEqual((got.status, got.metadata), ("draft", {}))
        self.assertEqual(stripe.InvoiceItem.retrieve(self.a_pending.id).amount, 5)

    def test_cannot_reference(self):
        key = self.b.sk_test
        self.assertError(lt.post(INVOICES, {"customer": self.a_cus.id}, key=key), 404,
                         "invalid_request_error", "resource_missing", "customer")
        self.assertError(lt.post(ITEMS, {"customer": self.a_cus.id, "amount": 1, "currency": "usd"},
                                 key=key), 404, "invalid_request_error", "resource_missing",
                         "customer")
        base = {"customer": self.b_cus.id, "amount": 1, "currency": "usd"}
        for extra, param in (({"subscription": self.a_sub}, "subscription"),
                             ({"invoice": self.a_draft.id}, "invoice"),
                             ({"invoice": self.a_live_inv.id}, "invoice")):
            with self.subTest(param=param):
                self.assertError(lt.post(ITEMS, dict(base, **extra), key=key), 404,
                                 "invalid_request_error", "resource_missing", param)
        del base["amount"]
        self.assertError(lt.post(ITEMS, dict(base, price=self.a_plan.id), key=key), 404,
                         "invalid_request_error", "resource_missing", "price")
        for q, param in (("customer=%s" % self.a_cus.id, "customer"),
                         ("subscription=%s" % self.a_sub, "subscription")):
            for path in ("upcoming", "upcoming/lines"):
                self.assertError(lt.get("%s/%s?%s" % (INVOICES, path, q), key=key), 404,
                                 "invalid_request_error", "resource_missing", param)
        # A's payment method cannot pay B's invoice.
        st.use(self.a.sk_test)
        a_pm = stripe.PaymentMethod.attach("pm_card_visa", customer=self.a_cus.id)
        st.use(key)
        inv = stripe.Invoice.finalize_invoice(stripe.Invoice.create(
            customer=self.b_cus.id, pending_invoice_items_behavior="exclude").id)
        self.assertEqual(inv.status, "paid")
        d = self.draft(self.b_cus.id, 100)
        self.assertError(lt.post("%s/%s/pay" % (INVOICES, d.id), {"payment_method": a_pm.id},
                                 key=key), 404, "invalid_request_error", "resource_missing",
                         "payment_method")
        # Lists show only the caller's tenant and mode.
        self.assertEqual([i.id for i in stripe.Invoice.list(customer=self.a_cus.id)], [])
        self.assertEqual([i.id for i in stripe.InvoiceItem.list(customer=self.a_cus.id)], [])
        self.assertNotIn(self.a_draft.id, [i.id for i in stripe.Invoice.list(limit=100)])

    def test_keys_and_roles(self):
        pk = self.b.pk_test
        for resp in (lt.get(INVOICES, key=pk), lt.get("%s/%s" % (INVOICES, self.b_draft.id), key=pk),
                     lt.post(INVOICES, {"customer": self.b_cus.id}, key=pk),
                     lt.get(ITEMS, key=pk),
                     lt.get("%s/upcoming?customer=%s" % (INVOICES, self.b_cus.id), key=pk)):
            self.assertError(resp, 403, "permission_error")
        self.assertError(lt.get(INVOICES), 401, "authentication_error")
        # A dashboard user reads the mode it names; a developer writes test data only.
        st_, _, obj = lt.get("%s/%s" % (INVOICES, self.b_draft.id), token=self.b.access, mode="test")
        self.assertEqual((st_, obj["id"]), (200, self.b_draft.id))
        st_, _, obj = lt.get("%s/%s" % (INVOICES, self.b_draft.id), token=self.b.access, mode="live")
        self.assertEqual(st_, 404)
        dev = self.b.add_user("developer")
        st_, _, obj = lt.post(INVOICES, {"customer": self.b_cus.id}, token=dev.access, mode="test")
        self.assertEqual((st_, obj.get("status")), (200, "draft"), obj)
        st.use(self.b.sk_live)
        live_cus = stripe.Customer.create()
        st.use(self.b.sk_test)
        self.assertError(lt.post(INVOICES, {"customer": live_cus.id}, token=dev.access, mode="live"),
                         403, "permission_error")
        self.assertError(lt.post(ITEMS, {"customer": live_cus.id, "amount": 1, "currency": "usd"},
                                 token=dev.access, mode="live"), 403, "permission_error")


if __name__ == "__main__":
    lt.main()
