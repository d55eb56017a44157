#!/usr/bin/python3
"""`levy jobs expire-incomplete`: Stripe's incomplete_expired, as a background job.

A subscription whose first payment failed is incomplete; 23 hours after it was created with its
first invoice still unpaid, the job makes it incomplete_expired (ended then) and voids that
invoice, recording customer.subscription.updated (previous_attributes: the old status) and
invoice.voided in the subscription's own tenant and mode.  Younger, paid or other subscriptions
are left alone; a second run finds nothing; batches (--limit) go on until nothing is due; a
subscription another runner holds is skipped; bad arguments exit 2.  The job works as the
application role: the look-up that names due subscriptions gives ids only, and expiring one
outside its tenant's context changes nothing.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import OWNER, events_of, owner_rows, sql_id  # noqa: E402

import stripe  # noqa: E402

APP = os.environ.get("LEVY_APP_CONNINFO", "")


class ExpireIncomplete(st.JobRuns, st.SdkCase):
    JOB = "expire-incomplete"

    def setUp(self):
        self.t = st.tenant()
        self.plan = stripe.Plan.create(amount=1500, currency="usd", interval="month",
                                       product={"name": "Pro"})

    def incomplete(self, hours_old):
        """A subscription whose first payment failed, created hours_old hours ago."""
        cus = stripe.Customer.create(email=lt.unique_email("late"))
        pm = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=cus.id)
        sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}],
                                         default_payment_method=pm.id)
        self.assertEqual(sub.status, "incomplete")
        owner_rows("UPDATE subscriptions SET created = now() - interval '%d hours' WHERE id = %s"
                   % (hours_old, sql_id(sub.id)))
        return sub

    def run_job(self, *args, expired):
        return self.run_ok("expired %d subscription%s" % (expired, "" if expired == 1 else "s"),
                           *args)

    def test_expires_after_23_hours_and_voids_the_first_invoice(self):
        self.drain()
        old = self.incomplete(24)
        young = self.incomplete(22)
        paid = self.incomplete(30)
        stripe.Invoice.pay(paid.latest_invoice,
                           payment_method=stripe.PaymentMethod.attach(
                               "pm_card_visa", customer=paid.customer).id)
        self.assertEqual(stripe.Subscription.retrieve(paid.id).status, "active")
        before = int(time.time())
        self.run_job(expired=1)
        sub = stripe.Subscription.retrieve(old.id)
        self.assertEqual(sub.status, "incomplete_expired")
        self.assertGreaterEqual(sub.ended_at, before - 1)
        inv = stripe.Invoice.retrieve(old.latest_invoice)
        self.assertEqual((inv.status, inv.amount_paid), ("void", 0))
        pi = stripe.PaymentIntent.retrieve(inv.payment_intent)
        self.assertEqual((pi.status, pi.cancellation_reason), ("canceled", "void_invoice"))
        self.assertGreaterEqual(inv.status_transitions.voided_at, before - 1)
        self.assertEqual(stripe.Subscription.retrieve(young.id).status, "incomplete")
        self.assertEqual(stripe.Invoice.retrieve(young.latest_invoice).status, "open")
        self.assertEqual(stripe.Subscription.retrieve(paid.id).status, "active")
        # The events, in the tenant's own mode, as its key lists them.
        ev = stripe.Event.list(type="customer.subscription.updated", limit=100)
        mine = [e for e in ev.data if e.data.object.id == old.id]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0].data.object.status, "incomplete_expired")
        self.assertEqual(mine[0].data.previous_attributes["status"], "incomplete")
        self.assertIsNone(mine[0]["request"]["id"])  # .request is the SDK's own method
        voided = [e for e in stripe.Event.list(type="invoice.voided").data
                  if e.data.object.id == old.latest_invoice]
        self.assertEqual(len(voided), 1)
        self.assertEqual(voided[0].data.object.status, "void")
        self.assertFalse(voided[0].livemode)
        # Nothing is due any more.
        self.run_job(expired=0)
        self.assertEqual([t for t, _ in events_of(old.id)].count("customer.subscription.updated"),
                         1)

    def test_batches_go_on_until_nothing_is_due(self):
        self.drain()
        subs = [self.incomplete(25) for _ in range(3)]
        self.run_job("--limit", "1", expired=3)
        for s in subs:
            self.assertEqual(stripe.Subscription.retrieve(s.id).status, "incomplete_expired")

    def test_each_tenant_under_its_own_context(self):
        self.drain()
        a_sub = self.incomplete(24)
        b = st.tenant()
        b_plan = stripe.Plan.create(amount=900, currency="eur", interval="week",
                                    product={"name": "B"})
        self.plan = b_plan
        b_sub = self.incomplete(40)
        self.run_job(expired=2)
        self.assertEqual(stripe.Subscription.retrieve(b_sub.id).status, "incomplete_expired")
        self.assertEqual([e.data.object.id for e in stripe.Event.list(
            type="customer.subscription.updated").data if e.data.object.id == a_sub.id], [])
        st.use(self.t.sk_test)
        self.assertEqual(stripe.Subscription.retrieve(a_sub.id).status, "incomplete_expired")
        rows = owner_rows("SELECT tenant_id, livemode FROM events WHERE object_id IN (%s, %s)"
                          " AND type = 'customer.subscription.updated' ORDER BY tenant_id"
                          % (sql_id(a_sub.id), sql_id(b_sub.id)))
        self.assertEqual(rows, [[str(self.t.id), "f"], [str(b.id), "f"]])

    def test_a_subscription_another_runner_holds_is_skipped(self):
        self.drain()
        held = self.incomplete(24)
        free = self.incomplete(24)
        with st.row_locked("subscriptions", held.id):
            self.run_job(expired=1)
            self.assertEqual(stripe.Subscription.retrieve(free.id).status, "incomplete_expired")
            self.assertEqual(stripe.Subscription.retrieve(held.id).status, "incomplete")
        self.run_job(expired=1)
        self.assertEqual(stripe.Subscription.retrieve(held.id).status, "incomplete_expired")

    def test_the_application_role_sees_ids_only_and_expires_nothing_without_context(self):
        self.drain()
        sub = self.incomplete(24)
        rows = lt.psql_rows(APP, "SELECT * FROM levy_job_incomplete_due(1000, NULL, NULL, NULL);")
        self.assertIn([str(self.t.id), "f", sub.id], rows)
        self.assertTrue(all(len(r) == 3 for r in rows), rows)
        rows = lt.psql_rows(APP, "SELECT levy_subscription_expire(%s);" % sql_id(sub.id))
        self.assertEqual(rows, [["f"]])
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "incomplete")
        # Another tenant's context cannot expire it either.
        other = lt.new_tenant()
        rows = lt.psql_rows(APP, "BEGIN;\nSELECT set_config('app.tenant_id', '%d', true),"
                                 " set_config('app.livemode', 'false', true);\n"
                                 "SELECT levy_subscription_expire(%s);\nCOMMIT;\n"
                            % (other.id, sql_id(sub.id)))
        self.assertEqual(rows[-1], ["f"])
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "incomplete")
        self.run_job(expired=1)


    def test_a_failing_subscription_is_reported_and_the_others_expire(self):
        """A subscription whose expiry fails (a fault injected with an owner's trigger) is named
        on stderr and left as it was, the job goes on with the others and exits 1."""
        self.drain()
        bad = self.incomplete(24)
        good = self.incomplete(24)
        lt.psql(OWNER, """
            CREATE FUNCTION test_jobs_fault() RETURNS trigger LANGUAGE plpgsql AS $f$
            BEGIN
                IF NEW.id = %s AND NEW.status = 'incomplete_expired' THEN
                    RAISE EXCEPTION 'injected fault';
                END IF;
                RETURN NEW;
            END $f$;
            CREATE TRIGGER test_jobs_fault BEFORE UPDATE ON subscriptions
                FOR EACH ROW EXECUTE FUNCTION test_jobs_fault();""" % sql_id(bad.id))
        try:
            p = self.job()
        finally:
            lt.psql(OWNER, "DROP TRIGGER test_jobs_fault ON subscriptions;"
                           " DROP FUNCTION test_jobs_fault();")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stdout.strip(), "expired 1 subscription")
        self.assertIn("levy: jobs expire-incomplete: %s: " % bad.id, p.stderr)
        self.assertEqual(stripe.Subscription.retrieve(good.id).status, "incomplete_expired")
        self.assertEqual(stripe.Subscription.retrieve(bad.id).status, "incomplete")
        self.assertEqual(stripe.Invoice.retrieve(bad.latest_invoice).status, "open")
        # Still due: the next run expires it.
        self.run_job(expired=1)
        self.assertEqual(stripe.Subscription.retrieve(bad.id).status, "incomplete_expired")


class Commands(st.JobCommandCases, st.SdkCase):
    JOB = "expire-incomplete"
    EMPTY_SUMMARY = "expired 0 subscriptions"


if __name__ == "__main__":
    lt.main()
