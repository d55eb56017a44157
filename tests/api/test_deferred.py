#!/usr/bin/python3
"""Writes sent without waiting (db_defer() in src/db/db.c).  A billing request sends the writes
whose results it does not need (events, totals, statuses) in one libpq pipeline and learns their
outcome with its next statement or its COMMIT.  A deferred write that fails fails its whole
request with that write's own error, wherever its failure is read (by the next statement, by
COMMIT, or not at all when the request was refused anyway), leaves nothing behind, keeps
invoice numbers gapless, and leaves the worker's connection usable.  Faults are injected with
an owner's trigger on the events table."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import OWNER, owner_rows, sql_id  # noqa: E402

import stripe  # noqa: E402


def log_text():
    with open(os.environ["LEVY_FCGI_LOG"], encoding="utf-8", errors="replace") as f:
        return f.read()


class fault:
    """An event of `type` about object `object_id` (or, with `field`, about an object whose
    `field` is object_id) fails to record while the context lasts."""

    def __init__(self, type_, object_id, field="id"):
        self.sql = """
            CREATE FUNCTION test_deferred_fault() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                IF NEW.type = '%s' AND NEW.data -> 'object' ->> '%s' = %s THEN
                    RAISE EXCEPTION 'injected fault';
                END IF;
                RETURN NEW;
            END $f$;
            CREATE TRIGGER test_deferred_fault BEFORE INSERT ON events
                FOR EACH ROW EXECUTE FUNCTION test_deferred_fault();""" % (
            type_, field, sql_id(object_id))

    def __enter__(self):
        lt.psql(OWNER, self.sql)
        return self

    def __exit__(self, *exc):
        lt.psql(OWNER, "DROP TRIGGER test_deferred_fault ON events;"
                       " DROP FUNCTION test_deferred_fault();")
        return False


class Deferred(st.SdkCase):
    def setUp(self):
        self.t = st.tenant()
        self.log_at = len(log_text())
        product = stripe.Product.create(name="Deferred")
        self.plan = stripe.Plan.create(product=product.id, amount=1500, currency="usd",
                                       interval="month")

    def tearDown(self):
        # The worker's connection survived every failure: nothing had to reconnect.
        self.assertNotIn("database connection lost", log_text()[self.log_at:])
        self.assertTrue(lt.healthy())

    def customer(self, card):
        cus = stripe.Customer.create(email=lt.unique_email("deferred"))
        pm = stripe.PaymentMethod.attach(card, customer=cus.id)
        stripe.Customer.modify(cus.id, invoice_settings={"default_payment_method": pm.id})
        return cus

    def count(self, table, customer):
        return int(owner_rows("SELECT count(*) FROM %s WHERE customer = %s"
                              % (table, sql_id(customer)))[0][0])

    def assertLogged(self, request_id, *parts):
        lines = [ln for ln in log_text()[self.log_at:].splitlines() if request_id in ln]
        self.assertTrue(any(all(p in ln for p in parts) for ln in lines), (parts, lines))

    def test_a_failure_read_by_the_next_statement(self):
        """invoice.finalized is deferred; the payment's first look-up reads its failure.  The
        subscription answers 500 and nothing of it stays; the next invoice takes the number
        the failed one would have had."""
        cus = self.customer("pm_card_visa")
        first = stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}])
        number = stripe.Invoice.retrieve(first.latest_invoice).number
        with fault("invoice.finalized", cus.id, field="customer"):
            with self.sdk_raises(stripe.error.APIError, "api_error", 500, lt.ANY, None,
                                 None) as cm:
                stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}])
        self.assertLogged(cm.exception.request_id, "inv_emit_stmt", "injected fault")
        for table in ("subscriptions", "invoices", "payment_intents", "charges"):
            self.assertEqual(self.count(table, cus.id), 1, table)
        again = stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}])
        self.assertEqual(again.status, "active")
        prefix, n = number.rsplit("-", 1)
        self.assertEqual(stripe.Invoice.retrieve(again.latest_invoice).number,
                         "%s-%04d" % (prefix, int(n) + 1))

    def test_a_failure_read_at_commit(self):
        """A decline through POST /v1/invoices/:id/pay keeps its writes (the attempt, its
        charge, its events) and commits them with invoice.payment_failed still unread: a
        failure of that event is read by COMMIT, which then rolls all of it back and answers
        500 instead of 402.  (Sent without an Idempotency-Key, so that no later statement
        reads it first.)"""
        cus = self.customer("pm_card_chargeCustomerFail")
        stripe.InvoiceItem.create(customer=cus.id, amount=700, currency="usd")
        inv = stripe.Invoice.create(customer=cus.id, pending_invoice_items_behavior="include")
        inv = stripe.Invoice.finalize_invoice(inv.id)
        path = "/api/v1/invoices/%s/pay" % inv.id
        with fault("invoice.payment_failed", inv.id):
            status, headers, body = lt.post(path, form={}, key=self.t.sk_test)
        self.assertEqual((status, body["error"]["type"]), (500, "api_error"), body)
        self.assertLogged(headers["Request-Id"], "inv_emit_stmt", "injected fault")
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.payment_intent), ("open", 0, None))
        self.assertEqual(self.count("charges", cus.id), 0)
        self.assertEqual([t for t, _ in st.events_of(inv.id)],
                         ["invoice.created", "invoice.finalized"])
        # Without the fault the same request is the decline it was, its writes kept.
        status, _, body = lt.post(path, form={}, key=self.t.sk_test)
        self.assertEqual((status, body["error"].get("code")), (402, "card_declined"), body)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count), ("open", 1))
        self.assertEqual(self.count("charges", cus.id), 1)

    def test_a_refusal_with_writes_unread(self):
        """error_if_incomplete: the first payment's decline is refused with 402 while
        invoice.payment_failed is still unread; the rollback drains the pipeline first, and
        nothing is created."""
        cus = self.customer("pm_card_chargeCustomerFail")
        with self.sdk_raises(stripe.error.CardError, "card_error", 402, "card_declined", None,
                             None, "generic_decline"):
            stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}],
                                       payment_behavior="error_if_incomplete")
        for table in ("subscriptions", "invoices", "payment_intents", "charges"):
            self.assertEqual(self.count(table, cus.id), 0, table)
        ok = stripe.Subscription.create(customer=self.customer("pm_card_visa").id,
                                        items=[{"plan": self.plan.id}])
        self.assertEqual(ok.status, "active")


if __name__ == "__main__":
    lt.main()
