#!/usr/bin/python3
"""`levy jobs renew`: what Stripe does when a subscription's period ends, as a background job.

Each test moves a subscription's period into the past with owner SQL (the job compares with
now()), runs the job and looks at the result through python3-stripe.  Renewals: a monthly
subscription moves to its next anchored period (the expectation computed here, in Python: a
Jan 31 anchor ends the period at the end of February, a Feb 29 yearly anchor comes back on leap
years) with a subscription_cycle invoice of one line per item (plan x quantity, the new period)
plus the customer's pending items, finalized and paid off-session; a trial that ran out becomes
active and is charged; cancel_at_period_end ends the subscription (customer.subscription.deleted,
no invoice); a decline, or no payment method at all, leaves the invoice open with one attempt and
the subscription past_due, and a past_due subscription whose next renewal is paid is active
again; send_invoice leaves the invoice open with a due date and charges nothing; unpaid renews
with a draft.  A subscription far behind is invoiced once, for the period that contains now.
A second run renews nothing; --limit batches go on to the end; each tenant and mode in its own
context; a subscription another runner holds is skipped; one whose renewal fails is reported,
exits 1 and stays due while the others renew; live mode through Stripe Connect, where a Stripe
outage rolls the renewal back and the next run charges once with the same Idempotency-Key.
"""

import calendar
import datetime
import os
import re
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
TIMES = "\u00d7"


def summary(renewed, canceled=0):
    return "renewed %d subscription%s, canceled %d" % (renewed, "" if renewed == 1 else "s",
                                                       canceled)


# ------------------------------------------------------------------ anchored periods, in Python


def add_months(dt, n):
    """dt + n months, the day clamped to the target month's last (Jan 31 + 1 -> Feb 28/29)."""
    y, m = divmod(dt.month - 1 + n, 12)
    y += dt.year
    return dt.replace(year=y, month=m + 1, day=min(dt.day, calendar.monthrange(y, m + 1)[1]))


def boundary(anchor, months, k):
    """The k-th boundary of the schedule: always from the anchor, never from the last one."""
    return add_months(anchor, months * k)


def containing(anchor, months, t):
    """(k, start, end): the period of the schedule that contains t (t >= anchor)."""
    k = 1
    while boundary(anchor, months, k).timestamp() <= t:
        k += 1
    return k, boundary(anchor, months, k - 1), boundary(anchor, months, k)


def ts(dt):
    return int(dt.timestamp())


class RenewCase(st.JobRuns, st.SdkCase):
    JOB = "renew"

    def setUp(self):
        self.t = st.tenant()
        self.prod = stripe.Product.create(name="Pro")
        self.plan = self.new_plan(1500)

    def new_plan(self, amount, interval="month", currency="usd"):
        return stripe.Plan.create(amount=amount, currency=currency, interval=interval,
                                  product=self.prod.id)

    def customer(self, card="pm_card_visa", default=False):
        """A customer with a card attached (card None: none); default: the customer's
        invoice_settings.default_payment_method.  -> (customer, payment method or None)."""
        cus = stripe.Customer.create(email=lt.unique_email("renew"))
        if card is None:
            return cus, None
        pm = stripe.PaymentMethod.attach(card, customer=cus.id)
        if default:
            cus = stripe.Customer.modify(cus.id,
                                         invoice_settings={"default_payment_method": pm.id})
        return cus, pm

    def subscribe(self, plan=None, quantity=1, pm=None, cus=None, **kw):
        if cus is None:
            cus, pm = self.customer()
        items = kw.pop("items", [{"plan": (plan or self.plan).id, "quantity": quantity}])
        if pm is not None:
            kw["default_payment_method"] = pm.id
        return stripe.Subscription.create(customer=cus.id, items=items, **kw)

    def move(self, sub, anchor, start, end, **cols):
        """Sets the subscription's schedule (owner SQL): anchor, current period, other columns."""
        sets = ["billing_cycle_anchor = to_timestamp(%d)" % anchor,
                "current_period_start = to_timestamp(%d)" % start,
                "current_period_end = to_timestamp(%d)" % end]
        for name, value in cols.items():
            assert re.match(r"^[a-z_]+$", name), name
            if isinstance(value, bool):
                sets.append("%s = %s" % (name, "true" if value else "false"))
            elif isinstance(value, int):
                sets.append("%s = %d" % (name, value))
            else:
                assert re.match(r"^[a-z_]+$", value), value
                sets.append("%s = '%s'" % (name, value))
        owner_rows("UPDATE subscriptions SET %s WHERE id = %s" % (", ".join(sets),
                                                                   sql_id(sub.id)))

    def make_due(self, sub, behind=1, **cols):
        """Puts sub on the mid-month schedule with its period ended `behind` periods ago;
        returns (old start, old end, new start, new end) as Unix seconds."""
        k, start, end = containing(MID_MONTH, 1, time.time())
        old_s, old_e = boundary(MID_MONTH, 1, k - 1 - behind), boundary(MID_MONTH, 1, k - behind)
        self.move(sub, ts(MID_MONTH), ts(old_s), ts(old_e), **cols)
        return ts(old_s), ts(old_e), ts(start), ts(end)

    def run_job(self, *args, renewed, canceled=0):
        return self.run_ok(summary(renewed, canceled), *args)

    def new_events(self, object_id, before):
        return events_of(object_id)[before:]

    def invoices_of(self, sub):
        return list(stripe.Invoice.list(subscription=sub.id, limit=100))

    def renewal(self, sub):
        """The subscription now and its latest invoice, with lines and payment intent."""
        s = stripe.Subscription.retrieve(sub.id)
        inv = stripe.Invoice.retrieve(s.latest_invoice, expand=["payment_intent"])
        return s, inv


class A0Renewals(RenewCase):
    def test_monthly_renewal_invoiced_and_paid(self):
        self.drain()
        cus, pm = self.customer()
        sub = self.subscribe(pm=pm, cus=cus)
        first = sub.latest_invoice
        old_s, old_e, new_s, new_e = self.make_due(sub)
        up = stripe.Invoice.upcoming(subscription=sub.id)
        n_sub = len(events_of(sub.id))
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((s.status, s.current_period_start, s.current_period_end),
                         ("active", new_s, new_e))
        self.assertEqual(s.billing_cycle_anchor, ts(MID_MONTH))
        self.assertNotEqual(inv.id, first)
        self.assertEqual((inv.billing_reason, inv.status, inv.collection_method),
                         ("subscription_cycle", "paid", "charge_automatically"))
        self.assertEqual((inv.subtotal, inv.total, inv.amount_due, inv.amount_paid,
                          inv.amount_remaining), (1500, 1500, 1500, 1500, 0))
        self.assertEqual((inv.customer, inv.subscription, inv.attempt_count),
                         (cus.id, sub.id, 1))
        self.assertIsNone(inv.next_payment_attempt)
        self.assertRegex(inv.number, r"^[A-Z0-9]+-0002$")
        # The invoice spans the period its pending items accrued in; its line, the new period.
        self.assertEqual((inv.period_start, inv.period_end), (old_s, old_e))
        lines = inv.lines.data
        self.assertEqual(len(lines), 1)
        line = lines[0]
        self.assertEqual((line.type, line.amount, line.quantity, line.plan.id, line.proration),
                         ("subscription", 1500, 1, self.plan.id, False))
        self.assertEqual((line.period.start, line.period.end), (new_s, new_e))
        self.assertEqual(line.description, "1 %s Pro" % TIMES)
        self.assertEqual(line.subscription_item, sub["items"].data[0].id)
        # What the upcoming invoice previewed is what the renewal made.
        self.assertEqual((up.total, up.period_start, up.period_end), (1500, old_s, old_e))
        self.assertEqual([(x.amount, x.period.start, x.period.end, x.description)
                          for x in up.lines.data],
                         [(x.amount, x.period.start, x.period.end, x.description) for x in lines])
        pi = inv.payment_intent
        self.assertEqual((pi.status, pi.amount, pi.payment_method, pi.invoice),
                         ("succeeded", 1500, pm.id, inv.id))
        self.assertEqual(owner_rows("SELECT off_session FROM payment_intents WHERE id = %s"
                                    % sql_id(pi.id)), [["t"]])
        self.assertEqual(stripe.Charge.retrieve(pi.latest_charge).amount, 1500)
        # The platform's fee, as on any payment: the tenant's share, half to even.
        bp = int(owner_rows("SELECT platform_fee_bp FROM tenants WHERE id = %d" % self.t.id)[0][0])
        self.assertEqual(pi.application_fee_amount, st.fee_of(1500, bp))
        # Events: the subscription's update, the invoice's life, the payment's.
        ev = self.new_events(sub.id, n_sub)
        self.assertEqual([t for t, _ in ev], ["customer.subscription.updated"])
        data = ev[0][1]
        self.assertEqual(data["previous_attributes"],
                         {"current_period_start": old_s, "current_period_end": old_e,
                          "latest_invoice": first})
        self.assertEqual(data["object"]["current_period_end"], new_e)
        self.assertEqual([t for t, _ in events_of(inv.id)],
                         ["invoice.created", "invoice.finalized", "invoice.paid",
                          "invoice.payment_succeeded"])
        self.assertEqual(events_of(inv.id)[0][1]["object"]["billing_reason"],
                         "subscription_cycle")
        self.assertEqual([t for t, _ in events_of(pi.id)],
                         ["payment_intent.created", "payment_intent.succeeded"])
        listed = [e for e in stripe.Event.list(type="invoice.paid", limit=100).data
                  if e.data.object.id == inv.id]
        self.assertEqual(len(listed), 1)
        self.assertFalse(listed[0].livemode)
        self.assertIsNone(listed[0]["request"]["id"])  # .request is the SDK's own method
        # Renewed: nothing is due any more.
        self.run_job(renewed=0)
        self.assertEqual(len(self.invoices_of(sub)), 2)

    def test_month_ends_stay_anchored(self):
        """A Jan 31 anchor ends its period on the last day of February (29th in leap years),
        a 31st anchor on a 30-day month's 30th, and a Feb 29 yearly anchor comes back to the
        29th in leap years only: the expectation is computed here, from the anchor."""
        self.drain()
        now = time.time()
        # The first end of February after now, 13 months after a Jan 31.
        y = datetime.datetime.fromtimestamp(now, UTC).year
        feb_end = None
        for year in (y, y + 1):
            feb_end = datetime.datetime(year, 2, calendar.monthrange(year, 2)[1], 12,
                                        tzinfo=UTC)
            if feb_end.timestamp() > now + 600:
                break
        jan31 = datetime.datetime(feb_end.year - 1, 1, 31, 12, tzinfo=UTC)
        self.assertEqual(boundary(jan31, 13, 1), feb_end)
        self.assertEqual(feb_end.day, 29 if calendar.isleap(feb_end.year) else 28)
        by13 = self.subscribe()
        self.move(by13, ts(jan31), ts(jan31) - 40 * DAY, ts(jan31), interval_count=13)
        # A monthly 31st anchor, and a yearly Feb 29 one.
        day31 = datetime.datetime(2023, 10, 31, 12, tzinfo=UTC)
        monthly = self.subscribe()
        k, m_start, m_end = containing(day31, 1, now)
        self.move(monthly, ts(day31), ts(boundary(day31, 1, k - 2)),
                  ts(boundary(day31, 1, k - 1)))
        feb29 = datetime.datetime(2020, 2, 29, 12, tzinfo=UTC)
        yearly = self.subscribe(plan=self.new_plan(9900, "year"))
        ky, y_start, y_end = containing(feb29, 12, now)
        self.move(yearly, ts(feb29), ts(boundary(feb29, 12, ky - 2)),
                  ts(boundary(feb29, 12, ky - 1)))
        self.run_job(renewed=3)
        s, inv = self.renewal(by13)
        self.assertEqual((s.current_period_start, s.current_period_end),
                         (ts(jan31), ts(feb_end)))
        self.assertEqual((inv.lines.data[0].period.start, inv.lines.data[0].period.end),
                         (ts(jan31), ts(feb_end)))
        self.assertEqual(inv.amount_paid, 1500)
        s, _ = self.renewal(monthly)
        self.assertEqual((s.current_period_start, s.current_period_end), (ts(m_start), ts(m_end)))
        for dt in (m_start, m_end):
            self.assertEqual(dt.day, min(31, calendar.monthrange(dt.year, dt.month)[1]))
        s, inv = self.renewal(yearly)
        self.assertEqual((s.current_period_start, s.current_period_end), (ts(y_start), ts(y_end)))
        for dt in (y_start, y_end):
            self.assertEqual((dt.month, dt.day), (2, 29 if calendar.isleap(dt.year) else 28))
        self.assertEqual((inv.amount_paid, inv.lines.data[0].period.end), (9900, ts(y_end)))

    def test_quantities_items_and_pending_items(self):
        """Plan x quantity per item, the customer's pending items (its own and those of no
        subscription), paid with the customer's default payment method."""
        self.drain()
        cus, pm = self.customer(default=True)
        addon = self.new_plan(700)
        sub = self.subscribe(cus=cus, items=[{"plan": self.plan.id, "quantity": 3},
                                             {"plan": addon.id}])
        self.assertEqual(stripe.Invoice.retrieve(sub.latest_invoice).amount_paid, 5200)
        ii = stripe.InvoiceItem.create(customer=cus.id, amount=250, currency="usd",
                                       description="Setup help")
        other_currency = stripe.InvoiceItem.create(customer=cus.id, amount=300, currency="eur")
        _, _, new_s, new_e = self.make_due(sub)
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((inv.status, inv.total, inv.amount_paid), ("paid", 5450, 5450))
        got = [(x.type, x.amount, x.quantity, x.description) for x in inv.lines.data]
        self.assertEqual(got, [("subscription", 4500, 3, "3 %s Pro" % TIMES),
                               ("subscription", 700, 1, "1 %s Pro" % TIMES),
                               ("invoiceitem", 250, 1, "Setup help")])
        self.assertEqual([(x.period.start, x.period.end) for x in inv.lines.data[:2]],
                         [(new_s, new_e)] * 2)
        self.assertEqual(inv.lines.data[2].invoice_item, ii.id)
        self.assertEqual(stripe.InvoiceItem.retrieve(ii.id).invoice, inv.id)
        self.assertIsNone(stripe.InvoiceItem.retrieve(other_currency.id).invoice)
        self.assertEqual((inv.payment_intent.amount, inv.payment_intent.payment_method),
                         (5450, pm.id))

    def test_trial_ends_active_and_charged(self):
        self.drain()
        cus, pm = self.customer()
        sub = self.subscribe(pm=pm, cus=cus, trial_period_days=14)
        self.assertEqual(sub.status, "trialing")
        trial_inv = sub.latest_invoice
        end = int(time.time()) - 120
        self.move(sub, end, end - 14 * DAY, end)
        owner_rows("UPDATE subscriptions SET trial_start = to_timestamp(%d),"
                   " trial_end = to_timestamp(%d) WHERE id = %s"
                   % (end - 14 * DAY, end, sql_id(sub.id)))
        n_sub = len(events_of(sub.id))
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        new_end = ts(add_months(datetime.datetime.fromtimestamp(end, UTC), 1))
        self.assertEqual((s.status, s.current_period_start, s.current_period_end, s.trial_end),
                         ("active", end, new_end, end))
        self.assertEqual((inv.billing_reason, inv.status, inv.amount_paid),
                         ("subscription_cycle", "paid", 1500))
        self.assertEqual(inv.payment_intent.payment_method, pm.id)
        ev = self.new_events(sub.id, n_sub)
        self.assertEqual([t for t, _ in ev], ["customer.subscription.updated"])
        self.assertEqual(ev[0][1]["previous_attributes"],
                         {"status": "trialing", "current_period_start": end - 14 * DAY,
                          "current_period_end": end, "latest_invoice": trial_inv})

    def test_cancel_at_period_end_ends_it_without_an_invoice(self):
        self.drain()
        sub = self.subscribe(cancel_at_period_end=True)
        old_s, old_e, _, _ = self.make_due(sub)
        n_sub = len(events_of(sub.id))
        self.run_job(renewed=0, canceled=1)
        s = stripe.Subscription.retrieve(sub.id)
        self.assertEqual((s.status, s.ended_at, s.canceled_at), ("canceled", old_e, old_e))
        self.assertEqual((s.current_period_start, s.current_period_end), (old_s, old_e))
        self.assertEqual(s.latest_invoice, sub.latest_invoice)
        self.assertEqual([i.id for i in self.invoices_of(sub)], [sub.latest_invoice])
        ev = self.new_events(sub.id, n_sub)
        self.assertEqual([t for t, _ in ev], ["customer.subscription.deleted"])
        self.assertEqual(ev[0][1]["object"]["status"], "canceled")
        self.assertNotIn("previous_attributes", ev[0][1])
        listed = [e for e in stripe.Event.list(type="customer.subscription.deleted").data
                  if e.data.object.id == sub.id]
        self.assertEqual(len(listed), 1)
        self.run_job(renewed=0, canceled=0)

    def test_decline_then_recovery(self):
        """A decline at renewal: past_due, the invoice open with one attempt and its retry
        in 3 days.  The next renewal, paid, makes it active again."""
        self.drain()
        cus, pm = self.customer()
        sub = self.subscribe(pm=pm, cus=cus)
        bad = stripe.PaymentMethod.attach("pm_card_chargeCustomerFail", customer=cus.id)
        stripe.Subscription.modify(sub.id, default_payment_method=bad.id)
        self.make_due(sub)
        n_sub = len(events_of(sub.id))
        before = int(time.time())
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual(s.status, "past_due")
        self.assertEqual((inv.status, inv.attempt_count, inv.amount_paid, inv.amount_remaining),
                         ("open", 1, 0, 1500))
        self.assertTrue(before + 3 * DAY - 5 <= inv.next_payment_attempt
                        <= int(time.time()) + 3 * DAY + 5, inv.next_payment_attempt)
        pi = inv.payment_intent
        self.assertEqual(pi.status, "requires_payment_method")
        self.assertEqual((pi.last_payment_error.code, pi.last_payment_error.decline_code),
                         ("card_declined", "generic_decline"))
        self.assertEqual([t for t, _ in events_of(inv.id)],
                         ["invoice.created", "invoice.finalized", "invoice.payment_failed"])
        self.assertEqual([t for t, _ in events_of(pi.id)],
                         ["payment_intent.created", "payment_intent.payment_failed"])
        ev = self.new_events(sub.id, n_sub)
        self.assertEqual([t for t, _ in ev], ["customer.subscription.updated"] * 2)
        self.assertEqual(ev[1][1]["previous_attributes"], {"status": "active"})
        self.assertEqual(ev[1][1]["object"]["status"], "past_due")
        # A good card, and the next period: paid, active again; the declined invoice stays open.
        stripe.Subscription.modify(sub.id, default_payment_method=pm.id)
        self.make_due(sub)
        n_sub = len(events_of(sub.id))
        self.run_job(renewed=1)
        s, inv2 = self.renewal(sub)
        self.assertEqual((s.status, inv2.status, inv2.amount_paid), ("active", "paid", 1500))
        self.assertEqual(stripe.Invoice.retrieve(inv.id).status, "open")
        ev = self.new_events(sub.id, n_sub)
        self.assertEqual([d["previous_attributes"].get("status") for _, d in ev],
                         [None, "past_due"])

    def test_no_payment_method_is_a_failed_attempt(self):
        """The customer's default (the subscription has none) was detached: as Stripe, the
        invoice's payment failed (attempt 1, invoice.payment_failed), the subscription
        past_due; the job itself succeeded."""
        self.drain()
        cus, pm = self.customer(default=True)
        sub = self.subscribe(cus=cus)
        self.assertEqual(stripe.Invoice.retrieve(sub.latest_invoice).status, "paid")
        stripe.PaymentMethod.detach(pm.id)
        self.make_due(sub)
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual(s.status, "past_due")
        self.assertEqual((inv.status, inv.attempt_count, inv.amount_paid), ("open", 1, 0))
        self.assertIsNotNone(inv.next_payment_attempt)
        self.assertIsNone(inv.payment_intent)
        self.assertEqual([t for t, _ in events_of(inv.id)],
                         ["invoice.created", "invoice.finalized", "invoice.payment_failed"])

    def test_detached_subscription_card_gives_way_to_the_customers_default(self):
        """The subscription's own card was detached: the renewal is charged to the customer's
        default card, not stuck on the card that is gone; with no default either, it is a
        failed attempt (past_due), and the job still succeeds."""
        self.drain()
        cus, visa = self.customer(default=True)
        own = stripe.PaymentMethod.attach("pm_card_mastercard", customer=cus.id)
        sub = self.subscribe(cus=cus, pm=own)
        self.assertEqual(sub.default_payment_method, own.id)
        stripe.PaymentMethod.detach(own.id)
        self.make_due(sub)
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((s.status, inv.status), ("active", "paid"))
        self.assertEqual(inv.payment_intent.payment_method, visa.id)
        # And with the customer's default gone too: a failed attempt, not a failed job.
        stripe.PaymentMethod.detach(visa.id)
        self.make_due(sub)
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((s.status, inv.status, inv.attempt_count), ("past_due", "open", 1))

    def test_send_invoice_open_with_a_due_date(self):
        self.drain()
        sub = self.subscribe(collection_method="send_invoice", days_until_due=14)
        self.assertEqual(sub.status, "active")
        _, _, new_s, new_e = self.make_due(sub)
        before = int(time.time())
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((s.status, s.current_period_end), ("active", new_e))
        self.assertEqual((inv.billing_reason, inv.status, inv.collection_method, inv.amount_due,
                          inv.attempt_count), ("subscription_cycle", "open", "send_invoice",
                                               1500, 0))
        self.assertTrue(before + 14 * DAY - 5 <= inv.due_date <= int(time.time()) + 14 * DAY + 5,
                        inv.due_date)
        self.assertIsNone(inv.payment_intent)
        self.assertIsNone(inv.next_payment_attempt)
        self.assertEqual(owner_rows("SELECT count(*) FROM charges WHERE invoice = %s"
                                    % sql_id(inv.id)), [["0"]])
        self.assertEqual([t for t, _ in events_of(inv.id)],
                         ["invoice.created", "invoice.finalized"])

    def test_unpaid_renews_with_a_draft(self):
        self.drain()
        sub = self.subscribe()
        _, _, new_s, new_e = self.make_due(sub, status="unpaid")
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((s.status, s.current_period_start, s.current_period_end),
                         ("unpaid", new_s, new_e))
        self.assertEqual((inv.status, inv.auto_advance, inv.total, inv.attempt_count),
                         ("draft", False, 1500, 0))
        self.assertIsNone(inv.number)
        self.assertEqual([t for t, _ in events_of(inv.id)], ["invoice.created"])

    def test_far_behind_gets_one_invoice(self):
        """The runner was down for three periods: the subscription moves to the period that
        contains now, invoiced once (the periods it missed are not billed, as in Stripe)."""
        self.drain()
        sub = self.subscribe()
        old_s, old_e, new_s, new_e = self.make_due(sub, behind=4)
        self.assertLess(old_e, new_s - 60 * DAY)
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((s.status, s.current_period_start, s.current_period_end),
                         ("active", new_s, new_e))
        self.assertEqual(len(self.invoices_of(sub)), 2)
        self.assertEqual((inv.amount_paid, inv.lines.data[0].period.start,
                          inv.lines.data[0].period.end), (1500, new_s, new_e))
        self.assertEqual((inv.period_start, inv.period_end), (old_s, new_s))
        self.run_job(renewed=0)


class A1Runs(RenewCase):
    def test_limit_batches_go_on_past_a_failure(self):
        """--limit 1 goes on batch after batch; a subscription whose renewal fails is reported
        once, the others renewed; the exit status says something failed."""
        self.drain()
        subs = [self.subscribe() for _ in range(3)]
        for s in subs:
            self.make_due(s)
        big = self.subscribe(plan=self.new_plan(99999999))
        old_s, old_e, _, _ = self.make_due(big)
        # Beyond what one invoice can bill: the renewal fails whole, deterministically.
        owner_rows("UPDATE subscription_items SET quantity = 1000000 WHERE subscription = %s"
                   % sql_id(big.id))
        try:
            p = self.job("--limit", "1")
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(p.stdout.strip(), summary(3))
            self.assertEqual(p.stderr.count(big.id), 1, p.stderr)
            self.assertIn("levy: jobs renew: %s: The invoice's total is beyond what levy can "
                          "bill." % big.id, p.stderr)
            for s in subs:
                self.assertEqual(stripe.Subscription.retrieve(s.id).status, "active")
                self.assertEqual(len(self.invoices_of(s)), 2)
            # Rolled back whole: still due, no invoice, no event, the period unchanged.
            b = stripe.Subscription.retrieve(big.id)
            self.assertEqual((b.status, b.current_period_start, b.current_period_end,
                              b.latest_invoice), ("active", old_s, old_e, big.latest_invoice))
            self.assertEqual(len(self.invoices_of(big)), 1)
            self.assertEqual(owner_rows("SELECT count(*) FROM invoices WHERE subscription = %s"
                                        % sql_id(big.id)), [["1"]])
            self.assertEqual(owner_rows("SELECT count(*) FROM levy_job_renew_due(1000, NULL,"
                                        " NULL, NULL) WHERE id = %s" % sql_id(big.id)), [["1"]])
            p = self.job()
            self.assertEqual((p.returncode, p.stdout.strip()), (1, summary(0)), p.stderr)
        finally:
            owner_rows("UPDATE subscription_items SET quantity = 1 WHERE subscription = %s"
                       % sql_id(big.id))
        self.run_job(renewed=1)
        self.assertEqual(stripe.Subscription.retrieve(big.id).current_period_end,
                         self.renewal(big)[1].lines.data[0].period.end)

    def test_a_subscription_without_items_fails_and_stays_due(self):
        self.drain()
        sub = self.subscribe()
        old_s, old_e, _, _ = self.make_due(sub)
        owner_rows("UPDATE subscription_items SET deleted = true WHERE subscription = %s"
                   % sql_id(sub.id))
        try:
            p = self.job()
            self.assertEqual((p.returncode, p.stdout.strip()), (1, summary(0)), p.stderr)
            self.assertIn("levy: jobs renew: %s: An internal error occurred. Please try again "
                          "later. (subscription %s has no items to renew)" % (sub.id, sub.id),
                          p.stderr)
            s = stripe.Subscription.retrieve(sub.id)
            self.assertEqual((s.current_period_start, s.current_period_end, s.latest_invoice),
                             (old_s, old_e, sub.latest_invoice))
        finally:
            owner_rows("UPDATE subscription_items SET deleted = false WHERE subscription = %s"
                       % sql_id(sub.id))
        self.run_job(renewed=1)

    def test_each_tenant_and_mode_in_its_own_context(self):
        self.drain()
        a_sub = self.subscribe()
        self.make_due(a_sub)
        # The same tenant's live mode: send_invoice moves no money, no Stripe account needed.
        st.use(self.t.sk_live)
        live_plan = stripe.Plan.create(amount=2500, currency="usd", interval="month",
                                       product={"name": "Live"})
        live_cus = stripe.Customer.create(email=lt.unique_email("live"))
        live_sub = stripe.Subscription.create(customer=live_cus.id,
                                              items=[{"plan": live_plan.id}],
                                              collection_method="send_invoice",
                                              days_until_due=7)
        self.make_due(live_sub)
        b = st.tenant()
        b_plan = stripe.Plan.create(amount=900, currency="eur", interval="week",
                                    product={"name": "B"})
        b_cus, b_pm = self.customer()
        b_sub = stripe.Subscription.create(customer=b_cus.id, items=[{"plan": b_plan.id}],
                                           default_payment_method=b_pm.id)
        now = int(time.time())
        self.move(b_sub, now - 7 * DAY - 30, now - 7 * DAY - 30, now - 30)
        self.run_job(renewed=3)
        # B's own context: its invoice numbered after its own first, in euros, paid.
        s, inv = self.renewal(b_sub)
        self.assertEqual((s.status, s.current_period_start, s.current_period_end),
                         ("active", now - 30, now + 7 * DAY - 30))
        self.assertEqual((inv.currency, inv.amount_paid, inv.livemode), ("eur", 900, False))
        self.assertTrue(inv.number.endswith("-0002"), inv.number)
        with self.sdk_raises(stripe.error.InvalidRequestError, "invalid_request_error", 404,
                             "resource_missing", "id", None):
            stripe.Subscription.retrieve(a_sub.id)
        st.use(self.t.sk_live)
        s, inv = self.renewal(live_sub)
        self.assertEqual((inv.livemode, inv.status, inv.billing_reason, inv.amount_due),
                         (True, "open", "subscription_cycle", 2500))
        self.assertTrue(inv.number.endswith("-0002"), inv.number)
        st.use(self.t.sk_test)
        s, inv = self.renewal(a_sub)
        self.assertEqual((inv.livemode, inv.status), (False, "paid"))
        self.assertTrue(inv.number.endswith("-0002"), inv.number)
        rows = owner_rows("SELECT object_id, tenant_id, livemode FROM events WHERE object_id IN"
                          " (%s, %s, %s) AND type = 'customer.subscription.updated'"
                          " AND data -> 'previous_attributes' ? 'current_period_end'"
                          % (sql_id(a_sub.id), sql_id(live_sub.id), sql_id(b_sub.id)))
        self.assertEqual(sorted(rows), sorted([[a_sub.id, str(self.t.id), "f"],
                                               [live_sub.id, str(self.t.id), "t"],
                                               [b_sub.id, str(b.id), "f"]]))
        for sub, mode in ((a_sub, "f"), (live_sub, "t"), (b_sub, "f")):
            rows = owner_rows("SELECT DISTINCT e.livemode FROM events e JOIN invoices i"
                              " ON i.id = e.object_id WHERE i.subscription = %s"
                              " AND i.billing_reason = 'subscription_cycle'" % sql_id(sub.id))
            self.assertEqual(rows, [[mode]])

    def test_a_subscription_another_runner_holds_is_skipped(self):
        self.drain()
        held = self.subscribe()
        free = self.subscribe()
        self.make_due(held)
        self.make_due(free)
        with st.row_locked("subscriptions", held.id):
            self.run_job(renewed=1)
            self.assertEqual(len(self.invoices_of(free)), 2)
            self.assertEqual(len(self.invoices_of(held)), 1)
        self.run_job(renewed=1)
        self.assertEqual(len(self.invoices_of(held)), 2)

    def test_the_application_role_sees_ids_only(self):
        self.drain()
        sub = self.subscribe()
        self.make_due(sub)
        rows = lt.psql_rows(APP, "SELECT * FROM levy_job_renew_due(1000, NULL, NULL, NULL);")
        self.assertIn([str(self.t.id), "f", sub.id], rows)
        self.assertTrue(all(len(r) == 3 for r in rows), rows)
        # Keyset: after this subscription's own key, it is not listed again.
        rows = lt.psql_rows(APP, "SELECT id FROM levy_job_renew_due(1000, %d, false, %s);"
                            % (self.t.id, sql_id(sub.id)))
        self.assertNotIn([sub.id], rows)
        # Without a context the application role sees no subscription at all.
        rows = lt.psql_rows(APP, "SELECT count(*) FROM subscriptions;")
        self.assertEqual(rows, [["0"]])
        self.run_job(renewed=1)


class Commands(st.JobCommandCases, st.SdkCase):
    JOB = "renew"
    EMPTY_SUMMARY = summary(0)


class B0LiveRenewal(st.LiveJobCase, RenewCase):
    """Live mode through Stripe Connect: the same pay path; Stripe down rolls back."""

    def test_stripe_down_rolls_back_and_the_retry_charges_once(self):
        self.drain()
        acct, sub, pm = self.live_subscription()
        old_s, old_e, new_s, new_e = self.make_due(sub)
        self.peers.clear()
        # 500, then Stripe charges but levy stops waiting (2 s): both roll the renewal back.
        self.peers.script("POST", "/v1/payment_intents", ["status:500", "delay:3"])
        for _ in range(2):
            p = self.job()
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertEqual(p.stdout.strip(), summary(0))
            self.assertIn("levy: jobs renew: %s: " % sub.id, p.stderr)
            s = stripe.Subscription.retrieve(sub.id)
            self.assertEqual((s.status, s.current_period_end, s.latest_invoice),
                             ("active", old_e, sub.latest_invoice))
            self.assertEqual(len(self.invoices_of(sub)), 1)
        time.sleep(1.5)
        ref = self.request_ref("renew_%s_%d" % (sub.id, new_s))
        self.assertEqual(len(self.remote_charges(acct, ref)), 1)
        self.run_job(renewed=1)
        s, inv = self.renewal(sub)
        self.assertEqual((s.status, s.current_period_end, inv.status, inv.amount_paid,
                          inv.livemode), ("active", new_e, "paid", 2990, True))
        self.assertChargedOnce(acct, ref, inv.id)


if __name__ == "__main__":
    lt.main()
