"""Debian's python3-stripe pointed at levy: the real client the billing tests drive.

use(key) points the SDK at the test stack's levy (api_base = LEVY_URL + "/api",
as the README tells users) with that key; the SDK then sends exactly what it
sends to Stripe: form bodies in bracket notation, an Idempotency-Key on every
POST, percent-encoded brackets in query strings.
"""

import hashlib
import json
import os
import re
import subprocess
import tempfile

import stripe

import levytest as lt

stripe.api_base = lt.URL + "/api"
# Retries would hide a first answer that was wrong; tests retry on purpose when they mean to.
stripe.max_network_retries = 0
stripe.enable_telemetry = True


OWNER = os.environ.get("LEVY_OWNER_CONNINFO", "")
ID_RE = re.compile(r"^[0-9A-Za-z_]+$")


def sql_id(i):
    """An object id as a SQL literal (ids are [0-9A-Za-z_]: checked, never escaped)."""
    assert ID_RE.match(i), i
    return "'%s'" % i


def owner_rows(sql):
    """Rows of a statement run as the schema's owner, whose policies see every tenant."""
    return lt.psql_rows(OWNER, sql)


def events_of(object_id):
    """(type, data) of the events recorded for an object, oldest first (read as the owner)."""
    rows = owner_rows("SELECT type, data::text FROM events WHERE object_id = %s ORDER BY seq"
                      % sql_id(object_id))
    return [(r[0], json.loads("|".join(r[1:]))) for r in rows]


def use(key):
    """Makes `key` the SDK's key for the calls that follow; returns the stripe module."""
    stripe.api_key = key
    stripe.api_base = lt.URL + "/api"
    return stripe


def tenant():
    """A fresh tenant with the SDK set to its test secret key."""
    t = lt.new_tenant()
    use(t.sk_test)
    return t


def cli_without_database(*args):
    """`levy ARGS` with a levy.conf whose database cannot be reached (a socket directory that
    does not exist): the CompletedProcess, for the jobs' exit status and messages."""
    bad, n = re.subn(r'(?m)^(\s*)conninfo\s*=\s*"[^"]*"\s*;',
                     r'\1conninfo = "host=/nonexistent-levy-test dbname=none";', lt.conf_text())
    assert n == 1, "levy.conf has no database.conninfo line"
    fd, path = tempfile.mkstemp(dir=os.path.dirname(lt.LEVY_CONF), suffix=".conf")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(bad)
        return subprocess.run([lt.LEVY_BIN, "-c", path] + list(args), capture_output=True,
                              text=True, timeout=60)
    finally:
        os.unlink(path)


class row_locked:
    """`with row_locked("subscriptions", id):` holds the row FOR UPDATE in a transaction of
    the owner's own (another runner, as the jobs see it) until the block ends."""

    def __init__(self, table, object_id):
        assert re.match(r"^[a-z_]+$", table), table
        self.sql = "BEGIN;\nSELECT 1 FROM %s WHERE id = %s FOR UPDATE;\n\\echo locked\n" % (
            table, sql_id(object_id))

    def __enter__(self):
        self.p = subprocess.Popen(["psql", "-X", "-q", "-At", OWNER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.p.stdin.write(self.sql)
        self.p.stdin.flush()
        got = [self.p.stdout.readline().strip() for _ in range(2)]
        if got != ["1", "locked"]:
            self.__exit__(None, None, None)
            raise AssertionError("could not lock the row: %r" % got)
        return self

    def __exit__(self, *exc):
        self.p.stdin.write("ROLLBACK;\n")
        self.p.stdin.close()
        self.p.wait(timeout=30)
        self.p.stdout.close()
        self.p.stderr.close()
        return False


class JobRuns:
    """Runs of `levy jobs JOB` in a test case, for a class that sets JOB: job(*args) runs it;
    run_ok(expected, *args) checks a clean run (exit 0, the summary `expected` on stdout,
    nothing on stderr); drain() runs it so that what other tests of the suite left due (they
    share the database) is handled before a test counts."""

    JOB = None

    def job(self, *args):
        return lt.levy_cli("jobs", self.JOB, *args)

    def run_ok(self, expected, *args):
        p = self.job(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.strip(), expected)
        self.assertEqual(p.stderr, "")
        return p

    def drain(self):
        p = self.job()
        self.assertEqual(p.returncode, 0, p.stderr)


class JobCommandCases:
    """What every `levy jobs JOB [--limit N]` does with its command line: bad arguments exit 2
    with the usage and nothing on stdout, `levy help` lists it, and a database it cannot
    reach exits 1 with a message (stdout: EMPTY_SUMMARY).  Mixed into a test case class that
    sets JOB and EMPTY_SUMMARY."""

    JOB = None
    EMPTY_SUMMARY = None

    def test_usage_errors(self):
        for args in (("--limit", "0"), ("--limit", "1001"), ("--limit", "x"), ("--limit", ""),
                     ("--limit",), ("--now",), ("extra",)):
            with self.subTest(args=args):
                p = lt.levy_cli("jobs", self.JOB, *args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn("usage: levy jobs %s [--limit N]" % self.JOB, p.stderr)
                self.assertEqual(p.stdout, "")
        p = lt.levy_cli("help")
        self.assertIn("jobs %s [--limit N]" % self.JOB, p.stdout + p.stderr)

    def test_database_unreachable(self):
        p = cli_without_database("jobs", self.JOB)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("levy: jobs %s: " % self.JOB, p.stderr)
        self.assertEqual(p.stdout.strip(), self.EMPTY_SUMMARY)


def stripe_peers(timeout_ms=2000):
    """The Stripe test peers (stripemock), started and configured into levy for a test class;
    the class is skipped when they cannot run here, unless the run requires them."""
    import unittest

    import stripemock

    ok, why = stripemock.available()
    if not ok:
        if stripemock.required():
            raise AssertionError(why)
        raise unittest.SkipTest(why)
    peers = stripemock.start()
    stripemock.configure_levy(peers, timeout_ms=timeout_ms)
    return peers


def connect_stripe(t, peers):
    """t's owner connects a Stripe account through the OAuth flow: the acct_ id."""
    status, _, link = lt.post("/api/v1/connect/stripe/authorize", token=t.owner.access)
    assert status == 200, link
    q = peers.authorize(link["url"])
    status, _, conn = lt.post("/api/v1/connect/stripe/callback",
                              {"code": q["code"], "state": q["state"]}, token=t.owner.access)
    assert status == 200, conn
    return conn["stripe_account"]


# The money rules, written here independently of levy's C (src/billing/money.c).

def half_even(num, den):
    """num / den rounded to an integer, halves to even."""
    q, r = divmod(num, den)
    if 2 * r > den or (2 * r == den and q % 2 == 1):
        q += 1
    return q


def fee_of(amount, bp=1500):
    """The platform fee levy records: amount * bp / 10000, halves to even (1500 bp: a new
    tenant's fee)."""
    return half_even(amount * bp, 10000)


class LiveJobCase:
    """Mixed into a job's test case: live mode through the Stripe peers.  live_subscription()
    connects the tenant and subscribes a customer with a live card; assertChargedOnce() checks
    what a job that was retried after Stripe failures sent and what Stripe kept."""

    AMOUNT = 2990

    @classmethod
    def setUpClass(cls):
        cls.peers = stripe_peers()

    def live_subscription(self):
        """(acct, subscription, payment method): an active live subscription, first paid."""
        acct = connect_stripe(self.t, self.peers)
        use(self.t.sk_live)
        plan = stripe.Plan.create(amount=self.AMOUNT, currency="usd", interval="month",
                                  product={"name": "Live Pro"})
        cus = stripe.Customer.create(email=lt.unique_email("live"))
        pm = stripe.PaymentMethod.attach(
            stripe.PaymentMethod.create(type="card", card={"token": "tok_visa"}).id,
            customer=cus.id)
        sub = stripe.Subscription.create(customer=cus.id, items=[{"plan": plan.id}],
                                         default_payment_method=pm.id)
        self.assertEqual(sub.status, "active")
        return acct, sub, pm

    def request_ref(self, key):
        """levy's reference of a payment a request (or job) keyed `key` made (pay/README)."""
        return hashlib.sha256(("%d/live/1/%s" % (self.t.id, key)).encode()).hexdigest()[:40]

    def remote_charges(self, acct, ref):
        st_, _, obj = self.peers.mock("GET", "/v1/charges?limit=100", account=acct)
        self.assertEqual(st_, 200, obj)
        return [c for c in obj["data"] if c.get("metadata", {}).get("levy_request") == ref]

    def assertChargedOnce(self, acct, ref, invoice, sends=3):
        """The PaymentIntent was sent `sends` times with one key and one form, off-session,
        on the account, the last answered by replay; Stripe holds one charge, and levy
        recorded it for the invoice."""
        sent = [r for r in self.peers.requests("/v1/payment_intents") if r["method"] == "POST"]
        self.assertEqual(len(sent), sends)
        self.assertEqual({r["headers"]["idempotency-key"] for r in sent}, {"levy_req_" + ref})
        self.assertEqual(len({json.dumps(r["form"], sort_keys=True) for r in sent}), 1)
        self.assertEqual((sent[0]["form"]["off_session"], sent[0]["form"]["amount"]),
                         ("true", str(self.AMOUNT)))
        self.assertEqual(sent[0]["headers"]["stripe-account"], acct)
        self.assertTrue(sent[-1]["replayed"])
        charges = self.remote_charges(acct, ref)
        self.assertEqual(len(charges), 1)
        self.assertEqual(owner_rows("SELECT processor_id FROM charges WHERE invoice = %s"
                                    % sql_id(invoice)), [[charges[0]["id"]]])


class SdkCase(lt.LevyTestCase):
    """A test case with one way to assert an error the SDK raised."""

    def sdk_raises(self, cls, type_, status, code, param, message, decline_code=lt.ANY):
        """A context manager: the SDK call inside raises `cls` with this HTTP status and
        error type, code, param and decline_code (lt.ANY: not checked), and a message that
        contains `message` (None: not checked).  The exception is kept as .exception."""
        case = self

        class Ctx:
            def __enter__(self):
                self.cm = case.assertRaises(cls)
                self.cm.__enter__()
                return self

            def __exit__(self, *exc):
                if not self.cm.__exit__(*exc):
                    return False
                e = self.cm.exception
                err = e.json_body["error"]
                case.assertEqual(e.http_status, status, e.json_body)
                case.assertEqual(err["type"], type_, e.json_body)
                if code is not lt.ANY:
                    case.assertEqual(err.get("code"), code, e.json_body)
                if param is not lt.ANY:
                    case.assertEqual(err.get("param"), param, e.json_body)
                if decline_code is not lt.ANY:
                    case.assertEqual(err.get("decline_code"), decline_code, e.json_body)
                if message is not None:
                    case.assertIn(message, err["message"], e.json_body)
                self.exception = e
                return True

        return Ctx()
