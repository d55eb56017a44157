#!/usr/bin/python3
"""`levy jobs retry-payments`: Stripe's automatic retries of failed invoice payments, as a job.

A renewal that declines (pm_card_chargeCustomerFail attaches, then declines every charge; the
renewal job makes it) leaves its invoice open with one attempt and next_payment_attempt in 3
days, the subscription past_due.  Each test moves next_payment_attempt into the past with owner
SQL, runs the job and looks at the result through python3-stripe.  The schedule, as Stripe's
classic one: retried 3 days after the first attempt, 5 after the second, 7 after the third;
after the 4th failed attempt no next_payment_attempt, and the subscription is unpaid
(customer.subscription.updated, previous_attributes status past_due, or active when it was).
A card that now succeeds pays the invoice (invoice.paid) and makes the subscription active
again; an unpaid subscription whose invoice is paid through the API is active again.  Invoices
not due yet, send_invoice, paid, void, draft, auto_advance false, a subscription's first
invoice and a canceled subscription's are not touched; a second run does nothing; --limit
batches go on past a failing invoice, which stays due and makes the job exit 1; each tenant
and mode in its own context; live mode through Stripe Connect, where a Stripe outage rolls the
attempt back and the next run charges once with the same Idempotency-Key.
"""

import datetime
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from stripetest import events_of, owner_rows, sql_id  # noqa: E402

import stripe  # noqa: E402

APP = os.environ.get("LEVY_APP_CONNINFO", "")
UTC = datetime.timezone.utc
DAY = 86400
# A monthly schedule's anchor in the past: the 15th, so no month clamps it.
MID_MONTH = datetime.datetime(2024, 3, 15, 12, 0, 0, tzinfo=UTC)
# src/billing/money.h: MONEY_TOTAL_MAX, the most one payment may collect.
TOTAL_MAX = 99999999 * 1000


def summary(paid, failed):
    n = paid + failed
    return "retried %d invoice%s: %d paid, %d failed" % (n, "" if n == 1 else "s", paid, failed)


def add_month(dt, n):
    y, m = divmod(dt.month - 1 + n, 12)
    return dt.replace(year=dt.year + y, month=m + 1)


def ts(dt):
    return int(dt.timestamp())


class RetryCase(st.JobRuns, st.SdkCase):
    JOB = "retry-payments"

    def setUp(self):
        self.t = st.tenant()
        self.prod = stripe.Product.create(name="Pro")
        self.plan = stripe.Plan.create(amount=1500, currency="usd", interval="month",
                                       product=self.prod.id)

    def customer(self, card="pm_card_visa", default=False):
        cus = stripe.Customer.create(email=lt.unique_email("retry"))
        if card is None:
            return cus, None
        pm = stripe.PaymentMethod.attach(card, customer=cus.id)
        if default:
            cus = stripe.Customer.modify(cus.id,
                                         invoice_settings={"default_payment_method": pm.id})
        return cus, pm

    def make_due(self, sub):
        """Puts sub on the mid-month schedule with its current period ended (owner SQL)."""
        now = datetime.datetime.now(UTC)
        k = 0
        while add_month(MID_MONTH, k + 1) <= now:
            k += 1
        start, end = add_month(MID_MONTH, k - 1), add_month(MID_MONTH, k)
        owner_rows("UPDATE subscriptions SET billing_cycle_anchor = to_timestamp(%d),"
                   " current_period_start = to_timestamp(%d), current_period_end = to_timestamp(%d)"
                   " WHERE id = %s" % (ts(MID_MONTH), ts(start), ts(end), sql_id(sub.id)))

    def renew(self):
        p = lt.levy_cli("jobs", "renew")
        self.assertEqual(p.returncode, 0, p.stderr)
        return p

    def failed_renewal(self, no_card=False):
        """A subscription paid at creation whose renewal failed: declined by
        pm_card_chargeCustomerFail (no_card: no payment method at all).
        -> (subscription, its open renewal invoice, customer, the good card)."""
        cus, visa = self.customer(default=no_card)
        sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}],
                                         **({} if no_card else {"default_payment_method": visa.id}))
        self.assertEqual(sub.status, "active")
        if no_card:
            stripe.PaymentMethod.detach(visa.id)
        else:
            bad = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=cus.id)
            stripe.Subscription.modify(sub.id, default_payment_method=bad.id)
        self.make_due(sub)
        self.renew()
        s = stripe.Subscription.retrieve(sub.id)
        inv = stripe.Invoice.retrieve(s.latest_invoice)
        self.assertEqual((s.status, inv.status, inv.billing_reason, inv.attempt_count),
                         ("past_due", "open", "subscription_cycle", 1))
        return s, inv, cus, visa

    def due_now(self, inv, ago=60):
        owner_rows("UPDATE invoices SET next_payment_attempt = now() - make_interval(secs => %d)"
                   " WHERE id = %s" % (ago, sql_id(inv.id)))

    def run_job(self, *args, paid, failed):
        return self.run_ok(summary(paid, failed), *args)

    def assertAbout(self, t, before, seconds):
        """t is `seconds` after a moment between before and now (a second's slack each way)."""
        self.assertIsNotNone(t)
        self.assertTrue(before + seconds - 2 <= t <= int(time.time()) + seconds + 2,
                        (t, before + seconds))

    def due_ids(self):
        return [r[2] for r in owner_rows("SELECT * FROM levy_job_retry_due(1000, NULL, NULL,"
                                         " NULL)")]

    def one_off(self, cus, amount, currency="usd", finalize=True):
        """A manual invoice of one new item (charge_automatically), finalized unless not."""
        stripe.InvoiceItem.create(customer=cus.id, amount=amount, currency=currency)
        inv = stripe.Invoice.create(customer=cus.id, pending_invoice_items_behavior="include")
        return stripe.Invoice.finalize_invoice(inv.id) if finalize else inv

    def charges(self, inv):
        return owner_rows("SELECT status, payment_method FROM charges WHERE invoice = %s"
                          " ORDER BY created, id" % sql_id(inv.id))


class A0Schedule(RetryCase):
    def test_declines_follow_the_schedule_then_unpaid(self):
        """3, 5, then 7 days; the 4th failed attempt leaves no retry and the subscription
        unpaid.  Paid later through the API, it is active again."""
        self.drain()
        before = int(time.time())
        sub, inv, cus, visa = self.failed_renewal()
        self.assertAbout(inv.next_payment_attempt, before, 3 * DAY)
        pi = inv.payment_intent
        n_sub = len(events_of(sub.id))
        for attempt, gap in ((2, 5 * DAY), (3, 7 * DAY)):
            self.due_now(inv)
            before = int(time.time())
            self.run_job(paid=0, failed=1)
            now = stripe.Invoice.retrieve(inv.id)
            self.assertEqual((now.status, now.attempt_count, now.amount_paid, now.payment_intent),
                             ("open", attempt, 0, pi))
            self.assertAbout(now.next_payment_attempt, before, gap)
            self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "past_due")
            # Nothing due until then: a second run does nothing.
            self.run_job(paid=0, failed=0)
        self.assertEqual(events_of(sub.id)[n_sub:], [])  # past_due already: no update
        self.due_now(inv)
        self.run_job(paid=0, failed=1)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.next_payment_attempt),
                         ("open", 4, None))
        s = stripe.Subscription.retrieve(sub.id)
        self.assertEqual((s.status, s.latest_invoice), ("unpaid", inv.id))
        ev = events_of(sub.id)[n_sub:]
        self.assertEqual([t for t, _ in ev], ["customer.subscription.updated"])
        self.assertEqual(ev[0][1]["previous_attributes"], {"status": "past_due"})
        self.assertEqual(ev[0][1]["object"]["status"], "unpaid")
        # Every attempt declined and was recorded, off-session, with the subscription's card.
        bad = s.default_payment_method
        self.assertEqual(self.charges(inv), [["failed", bad]] * 4)
        self.assertEqual(owner_rows("SELECT off_session FROM payment_intents WHERE id = %s"
                                    % sql_id(pi)), [["t"]])
        types = [t for t, _ in events_of(inv.id)]
        self.assertEqual(types, ["invoice.created", "invoice.finalized"]
                         + ["invoice.payment_failed"] * 4)
        last = events_of(inv.id)[-1][1]["object"]
        self.assertEqual((last["attempt_count"], last["next_payment_attempt"]), (4, None))
        self.assertEqual([t for t, _ in events_of(pi)],
                         ["payment_intent.created"] + ["payment_intent.payment_failed"] * 4)
        # No retry left: later runs do nothing.
        self.run_job(paid=0, failed=0)
        self.assertNotIn(inv.id, self.due_ids())
        # Paid through the API with a good card: active again.  A manual attempt after the
        # first is not counted (Stripe's attempt_count: "only automatic retries increment").
        n_sub = len(events_of(sub.id))
        paid = stripe.Invoice.pay(inv.id, payment_method=visa.id)
        self.assertEqual((paid.status, paid.attempt_count, paid.amount_paid), ("paid", 4, 1500))
        s = stripe.Subscription.retrieve(sub.id)
        self.assertEqual(s.status, "active")
        ev = events_of(sub.id)[n_sub:]
        self.assertEqual([(t, d["previous_attributes"]) for t, d in ev],
                         [("customer.subscription.updated", {"status": "unpaid"})])

    def test_a_card_that_succeeds_pays_and_recovers(self):
        """The subscription's card is changed: the retry pays with it; the invoice paid, the
        same payment intent succeeded, the subscription active again."""
        self.drain()
        sub, inv, cus, visa = self.failed_renewal()
        stripe.Subscription.modify(sub.id, default_payment_method=visa.id)
        n_sub, n_inv = len(events_of(sub.id)), len(events_of(inv.id))
        self.due_now(inv)
        self.run_job(paid=1, failed=0)
        now = stripe.Invoice.retrieve(inv.id, expand=["payment_intent"])
        self.assertEqual((now.status, now.attempt_count, now.amount_paid, now.amount_remaining,
                          now.next_payment_attempt), ("paid", 2, 1500, 0, None))
        self.assertEqual(now.payment_intent.id, inv.payment_intent)
        self.assertEqual((now.payment_intent.status, now.payment_intent.payment_method),
                         ("succeeded", visa.id))
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "active")
        self.assertEqual([t for t, _ in events_of(inv.id)[n_inv:]],
                         ["invoice.paid", "invoice.payment_succeeded"])
        ev = events_of(sub.id)[n_sub:]
        self.assertEqual([(t, d["previous_attributes"]) for t, d in ev],
                         [("customer.subscription.updated", {"status": "past_due"})])
        listed = [e for e in stripe.Event.list(type="invoice.paid", limit=100).data
                  if e.data.object.id == inv.id]
        self.assertEqual(len(listed), 1)
        self.run_job(paid=0, failed=0)

    def test_the_customers_default_card_once_the_bad_one_is_gone(self):
        """The declining card detached, a good one made the customer's default: inv_pay's
        choice (a card detached since gives way) pays the retry."""
        self.drain()
        sub, inv, cus, visa = self.failed_renewal()
        stripe.PaymentMethod.detach(stripe.Subscription.retrieve(sub.id).default_payment_method)
        stripe.Customer.modify(cus.id, invoice_settings={"default_payment_method": visa.id})
        self.due_now(inv)
        self.run_job(paid=1, failed=0)
        now = stripe.Invoice.retrieve(inv.id, expand=["payment_intent"])
        self.assertEqual((now.status, now.payment_intent.payment_method), ("paid", visa.id))
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "active")

    def test_no_payment_method_is_a_failed_attempt(self):
        self.drain()
        sub, inv, cus, _ = self.failed_renewal(no_card=True)
        self.assertIsNone(inv.payment_intent)
        self.due_now(inv)
        before = int(time.time())
        self.run_job(paid=0, failed=1)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.payment_intent), ("open", 2, None))
        self.assertAbout(now.next_payment_attempt, before, 5 * DAY)
        self.assertEqual([t for t, _ in events_of(inv.id)][-2:],
                         ["invoice.payment_failed"] * 2)
        # To the end of the schedule: unpaid, with no card ever.
        for _ in range(2):
            self.due_now(inv)
            self.run_job(paid=0, failed=1)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.attempt_count, now.next_payment_attempt), (4, None))
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "unpaid")

    def test_an_active_subscription_becomes_unpaid_at_the_last_attempt(self):
        """Whatever made it active meanwhile, the last failed attempt of its latest invoice
        makes it unpaid (previous_attributes status active)."""
        self.drain()
        sub, inv, _, _ = self.failed_renewal()
        owner_rows("UPDATE invoices SET attempt_count = 3 WHERE id = %s" % sql_id(inv.id))
        owner_rows("UPDATE subscriptions SET status = 'active' WHERE id = %s" % sql_id(sub.id))
        n_sub = len(events_of(sub.id))
        self.due_now(inv)
        self.run_job(paid=0, failed=1)
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "unpaid")
        ev = events_of(sub.id)[n_sub:]
        self.assertEqual([(t, d["previous_attributes"]) for t, d in ev],
                         [("customer.subscription.updated", {"status": "active"})])

    def test_manual_attempts_leave_the_schedule(self):
        """As Stripe's attempt_count: manual attempts after the first (POST
        /v1/invoices/:id/pay) do not affect the retry schedule.  Declines there are recorded
        (charge, invoice.payment_failed) but leave attempt_count, next_payment_attempt and
        the subscription's status as they were; the job's next automatic attempt counts."""
        self.drain()
        sub, inv, _, _ = self.failed_renewal()
        owner_rows("UPDATE invoices SET attempt_count = 3 WHERE id = %s" % sql_id(inv.id))
        before = stripe.Invoice.retrieve(inv.id)
        self.assertIsNotNone(before.next_payment_attempt)
        n_inv, n_sub = len(events_of(inv.id)), len(events_of(sub.id))
        for _ in range(2):
            with self.sdk_raises(stripe.error.CardError, "card_error", 402, "card_declined",
                                 lt.ANY, None):
                stripe.Invoice.pay(inv.id)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.next_payment_attempt),
                         ("open", 3, before.next_payment_attempt))
        self.assertEqual([t for t, _ in events_of(inv.id)[n_inv:]],
                         ["invoice.payment_failed"] * 2)
        self.assertEqual([c[0] for c in self.charges(inv)], ["failed"] * 3)
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "past_due")
        self.assertEqual(events_of(sub.id)[n_sub:], [])
        # The job's attempt is automatic: the 4th, the last, makes the subscription unpaid.
        self.due_now(inv)
        self.run_job(paid=0, failed=1)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.attempt_count, now.next_payment_attempt), (4, None))
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "unpaid")

    def test_a_manual_first_attempt_counts(self):
        """Any attempt counts as the first: an invoice finalized through the API and never
        attempted, declined through POST /v1/invoices/:id/pay, has attempt_count 1 and its
        next retry on the schedule (3 days)."""
        cus, _ = self.customer()
        bad = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=cus.id)
        inv = self.one_off(cus, 900)
        self.assertEqual((inv.status, inv.attempt_count), ("open", 0))
        before = int(time.time())
        with self.sdk_raises(stripe.error.CardError, "card_error", 402, "card_declined", lt.ANY,
                             None):
            stripe.Invoice.pay(inv.id, payment_method=bad.id)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count), ("open", 1))
        self.assertAbout(now.next_payment_attempt, before, 3 * 86400)

    def test_one_off_invoice_finalized_and_never_attempted_is_collected(self):
        """Stripe's automatic collection: a charge_automatically invoice finalized through
        the API (next_payment_attempt its finalization) is charged by the job; a decline
        there is retried on the schedule and, with no subscription, changes no status."""
        self.drain()
        cus, visa = self.customer(default=True)
        inv = self.one_off(cus, 700)
        self.assertEqual((inv.status, inv.attempt_count, inv.billing_reason),
                         ("open", 0, "manual"))
        self.assertIsNotNone(inv.next_payment_attempt)
        self.run_job(paid=1, failed=0)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.amount_paid), ("paid", 1, 700))
        cus2, _ = self.customer("pm_card_chargeCustomerFail", default=True)
        inv2 = self.one_off(cus2, 800)
        before = int(time.time())
        self.run_job(paid=0, failed=1)
        now = stripe.Invoice.retrieve(inv2.id)
        self.assertEqual((now.status, now.attempt_count), ("open", 1))
        self.assertAbout(now.next_payment_attempt, before, 3 * DAY)


class A1NotTouched(RetryCase):
    def test_invoices_that_are_not_due_are_left_alone(self):
        """Not due yet, send_invoice, paid, void, draft, auto_advance false, a first
        invoice (subscription_create) and a canceled subscription's: each with a
        next_payment_attempt in the past where it could have one, none is collected."""
        self.drain()
        later, _, _, _ = self.failed_renewal()
        later_inv = stripe.Invoice.retrieve(later.latest_invoice)
        # send_invoice, renewed: open, with a due date.
        cus, _ = self.customer()
        si = stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}],
                                        collection_method="send_invoice", days_until_due=7)
        self.make_due(si)
        self.renew()
        send = stripe.Invoice.retrieve(stripe.Subscription.retrieve(si.id).latest_invoice)
        self.assertEqual((send.status, send.collection_method), ("open", "send_invoice"))
        # Paid: a subscription's first invoice.
        cus, visa = self.customer()
        ok = stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}],
                                        default_payment_method=visa.id)
        paid = stripe.Invoice.retrieve(ok.latest_invoice)
        self.assertEqual(paid.status, "paid")
        # Void.
        _, void, _, _ = self.failed_renewal()
        stripe.Invoice.void_invoice(void.id)
        # Draft (charge_automatically).
        cus, _ = self.customer(default=True)
        draft = self.one_off(cus, 500, finalize=False)
        # auto_advance false: automatic collection stopped.
        _, manual, _, _ = self.failed_renewal()
        owner_rows("UPDATE invoices SET auto_advance = false WHERE id = %s" % sql_id(manual.id))
        # A first invoice that declined: incomplete, never retried (expire-incomplete's).
        cus, bad = self.customer("pm_card_chargeCustomerFail")
        inc = stripe.Subscription.create(customer=cus.id, items=[{"plan": self.plan.id}],
                                         default_payment_method=bad.id)
        self.assertEqual(inc.status, "incomplete")
        first = stripe.Invoice.retrieve(inc.latest_invoice)
        self.assertEqual((first.status, first.attempt_count, first.next_payment_attempt),
                         ("open", 1, None))
        # A canceled subscription's open invoice.
        gone, gone_inv, _, _ = self.failed_renewal()
        stripe.Subscription.delete(gone.id)
        self.assertEqual(stripe.Invoice.retrieve(gone_inv.id).status, "open")
        others = (send, paid, void, draft, manual, first, gone_inv)
        for inv in others:
            self.due_now(inv)
        others = tuple(stripe.Invoice.retrieve(inv.id) for inv in others)
        self.assertEqual([inv.status for inv in others],
                         ["open", "paid", "void", "draft", "open", "open", "open"])
        before = {inv.id: (len(events_of(inv.id)), len(self.charges(inv))) for inv in
                  others + (later_inv,)}
        self.run_job(paid=0, failed=0)
        due = self.due_ids()
        for inv in others + (later_inv,):
            with self.subTest(invoice=inv.id):
                now = stripe.Invoice.retrieve(inv.id)
                self.assertEqual((now.status, now.attempt_count), (inv.status, inv.attempt_count))
                self.assertEqual((len(events_of(inv.id)), len(self.charges(inv))),
                                 before[inv.id])
                self.assertNotIn(inv.id, due)
        self.assertEqual(stripe.Subscription.retrieve(gone.id).status, "canceled")
        self.assertEqual(stripe.Subscription.retrieve(inc.id).status, "incomplete")
        # The one not due yet is, once its time has come.
        self.due_now(later_inv)
        self.run_job(paid=0, failed=1)
        self.assertEqual(stripe.Invoice.retrieve(later_inv.id).attempt_count, 2)


class A2Runs(RetryCase):
    def test_limit_batches_go_on_past_a_failure(self):
        """--limit 1 goes on batch after batch; an invoice whose collection fails is
        reported once, rolled back and stays due; the others are retried; exit 1."""
        self.drain()
        invs = [self.failed_renewal()[1] for _ in range(3)]
        big_sub, big, _, _ = self.failed_renewal()
        for inv in invs + [big]:
            self.due_now(inv)
        n_big = len(events_of(big.id))
        # Beyond what one payment can collect: a deterministic refusal before any charge.
        owner_rows("UPDATE invoices SET amount_due = %d WHERE id = %s"
                   % (TOTAL_MAX + 1, sql_id(big.id)))
        try:
            p = self.job("--limit", "1")
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(p.stdout.strip(), summary(0, 3))
            self.assertEqual(p.stderr.count(big.id), 1, p.stderr)
            self.assertIn("levy: jobs retry-payments: %s: The amount due is more than one "
                          "payment can collect" % big.id, p.stderr)
            for inv in invs:
                self.assertEqual(stripe.Invoice.retrieve(inv.id).attempt_count, 2)
            b = stripe.Invoice.retrieve(big.id)
            self.assertEqual((b.status, b.attempt_count), ("open", 1))
            self.assertLess(b.next_payment_attempt, time.time())
            self.assertEqual(len(events_of(big.id)), n_big)
            self.assertEqual(len(self.charges(big)), 1)
            self.assertIn(big.id, self.due_ids())
            p = self.job()
            self.assertEqual((p.returncode, p.stdout.strip()), (1, summary(0, 0)), p.stderr)
        finally:
            owner_rows("UPDATE invoices SET amount_due = 1500 WHERE id = %s" % sql_id(big.id))
        self.run_job(paid=0, failed=1)
        self.assertEqual(stripe.Invoice.retrieve(big.id).attempt_count, 2)
        self.assertEqual(stripe.Subscription.retrieve(big_sub.id).status, "past_due")

    def test_each_tenant_and_mode_in_its_own_context(self):
        self.drain()
        _, a_inv, _, _ = self.failed_renewal()
        # The same tenant's live mode: a one-off invoice, no payment method (no Stripe call).
        st.use(self.t.sk_live)
        live_cus = stripe.Customer.create(email=lt.unique_email("live"))
        live_inv = self.one_off(live_cus, 2500)
        self.assertEqual((live_inv.livemode, live_inv.status), (True, "open"))
        b = st.tenant()
        b_cus, b_pm = self.customer(default=True)
        b_inv = self.one_off(b_cus, 900, "eur")
        self.due_now(a_inv)
        self.run_job(paid=1, failed=2)
        now = stripe.Invoice.retrieve(b_inv.id)
        self.assertEqual((now.status, now.currency, now.amount_paid, now.livemode),
                         ("paid", "eur", 900, False))
        with self.sdk_raises(stripe.error.InvalidRequestError, "invalid_request_error", 404,
                             "resource_missing", "id", None):
            stripe.Invoice.retrieve(a_inv.id)
        st.use(self.t.sk_live)
        now = stripe.Invoice.retrieve(live_inv.id)
        self.assertEqual((now.status, now.attempt_count, now.livemode), ("open", 1, True))
        st.use(self.t.sk_test)
        self.assertEqual(stripe.Invoice.retrieve(a_inv.id).attempt_count, 2)
        rows = owner_rows("SELECT object_id, tenant_id, livemode FROM events"
                          " WHERE object_id IN (%s, %s, %s) AND type LIKE 'invoice.pa%%'"
                          " AND created >= now() - interval '1 minute'"
                          % (sql_id(a_inv.id), sql_id(live_inv.id), sql_id(b_inv.id)))
        self.assertEqual(sorted(set(map(tuple, rows))),
                         sorted([(a_inv.id, str(self.t.id), "f"),
                                 (live_inv.id, str(self.t.id), "t"),
                                 (b_inv.id, str(b.id), "f")]))

    def test_the_application_role_sees_ids_only(self):
        self.drain()
        _, inv, _, _ = self.failed_renewal()
        self.due_now(inv)
        rows = lt.psql_rows(APP, "SELECT * FROM levy_job_retry_due(1000, NULL, NULL, NULL);")
        self.assertIn([str(self.t.id), "f", inv.id], rows)
        self.assertTrue(all(len(r) == 3 for r in rows), rows)
        rows = lt.psql_rows(APP, "SELECT id FROM levy_job_retry_due(1000, %d, false, %s);"
                            % (self.t.id, sql_id(inv.id)))
        self.assertNotIn([inv.id], rows)
        # Without a context the application role sees no invoice at all.
        self.assertEqual(lt.psql_rows(APP, "SELECT count(*) FROM invoices;"), [["0"]])
        self.run_job(paid=0, failed=1)

    def test_an_invoice_another_runner_holds_is_skipped(self):
        self.drain()
        _, held, _, _ = self.failed_renewal()
        _, free, _, _ = self.failed_renewal()
        self.due_now(held)
        self.due_now(free)
        with st.row_locked("invoices", held.id):
            self.run_job(paid=0, failed=1)
            self.assertEqual(stripe.Invoice.retrieve(free.id).attempt_count, 2)
            self.assertEqual(stripe.Invoice.retrieve(held.id).attempt_count, 1)
        self.run_job(paid=0, failed=1)
        self.assertEqual(stripe.Invoice.retrieve(held.id).attempt_count, 2)


class Commands(st.JobCommandCases, st.SdkCase):
    JOB = "retry-payments"
    EMPTY_SUMMARY = summary(0, 0)


class B0LiveRetry(st.LiveJobCase, RetryCase):
    """Live mode through Stripe Connect: the same pay path; Stripe down rolls back."""

    def test_stripe_down_rolls_back_and_the_retry_charges_once(self):
        """The renewal found no payment method (no payment intent yet); the retry's first
        charge gets Stripe's 500, then Stripe charges but levy stops waiting: both roll
        back and exit 1; the next run charges once, with the same Idempotency-Key (levy's
        key of this invoice's attempt)."""
        self.drain()
        acct, sub, pm = self.live_subscription()
        owner_rows("UPDATE subscriptions SET default_payment_method = NULL WHERE id = %s"
                   % sql_id(sub.id))
        self.make_due(sub)
        self.renew()
        s = stripe.Subscription.retrieve(sub.id)
        inv = stripe.Invoice.retrieve(s.latest_invoice)
        self.assertEqual((s.status, inv.status, inv.attempt_count, inv.payment_intent),
                         ("past_due", "open", 1, None))
        stripe.Subscription.modify(sub.id, default_payment_method=pm.id)
        self.due_now(inv)
        n_inv = len(events_of(inv.id))
        self.peers.clear()
        self.peers.script("POST", "/v1/payment_intents", ["status:500", "delay:3"])
        for _ in range(2):
            p = self.job()
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(p.stdout.strip(), summary(0, 0))
            self.assertIn("levy: jobs retry-payments: %s: " % inv.id, p.stderr)
            now = stripe.Invoice.retrieve(inv.id)
            self.assertEqual((now.status, now.attempt_count, now.payment_intent),
                             ("open", 1, None))
            self.assertEqual(len(events_of(inv.id)), n_inv)
            self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "past_due")
        time.sleep(1.5)
        ref = self.request_ref("retry_%s_2" % inv.id)
        self.assertEqual(len(self.remote_charges(acct, ref)), 1)
        self.run_job(paid=1, failed=0)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.amount_paid, now.livemode),
                         ("paid", 2, 2990, True))
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "active")
        self.assertChargedOnce(acct, ref, inv.id)
        self.run_job(paid=0, failed=0)

    def test_a_live_decline_is_retried_with_the_attempts_key(self):
        """A live renewal declined by Stripe: the retry charges the existing payment intent
        with its attempt's key (levy_<pi>_attempt_2); a 500 first rolls back, and the next
        run sends that same key again."""
        self.drain()
        acct, sub, pm = self.live_subscription()
        self.make_due(sub)
        self.peers.clear()
        self.peers.script("POST", "/v1/payment_intents", ["decline:generic_decline"])
        self.renew()
        s = stripe.Subscription.retrieve(sub.id)
        inv = stripe.Invoice.retrieve(s.latest_invoice)
        self.assertEqual((s.status, inv.status, inv.attempt_count), ("past_due", "open", 1))
        self.due_now(inv)
        self.peers.clear()
        self.peers.script("POST", "/v1/payment_intents", ["status:500"])
        p = self.job()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(stripe.Invoice.retrieve(inv.id).attempt_count, 1)
        self.run_job(paid=1, failed=0)
        now = stripe.Invoice.retrieve(inv.id)
        self.assertEqual((now.status, now.attempt_count, now.amount_paid), ("paid", 2, 2990))
        self.assertEqual(stripe.Subscription.retrieve(sub.id).status, "active")
        sent = [r for r in self.peers.requests("/v1/payment_intents") if r["method"] == "POST"]
        self.assertEqual(len(sent), 2)
        self.assertEqual({r["headers"]["idempotency-key"] for r in sent},
                         {"levy_%s_attempt_2" % inv.payment_intent})
        self.assertEqual(owner_rows("SELECT status FROM charges WHERE invoice = %s"
                                    " ORDER BY created, id" % sql_id(inv.id)),
                         [["failed"], ["succeeded"]])


if __name__ == "__main__":
    lt.main()
