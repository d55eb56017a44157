#!/usr/bin/python3
"""Idempotency-Key (API.md) on customer create, driven by python3-stripe: a repeat replays
the first answer and makes nothing new; a repeat with other parameters is refused; a key held
by a running request answers 409; keys belong to one tenant and mode; refused requests are not
stored; answers that hold secrets (a rolled API key) are never stored."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from levytest import LevyTestCase, get, post  # noqa: E402

import stripe  # noqa: E402

OWNER = os.environ.get("LEVY_OWNER_CONNINFO", "")
CUSTOMERS = "/api/v1/customers"
IDEM_KEY_MAX_LEN = 255


def body_of(obj):
    return json.loads(obj.last_response.body)


def replayed(obj):
    return obj.last_response.headers.get("Idempotent-Replayed")


def customers_named(key, name):
    st_, _, lst = get(CUSTOMERS + "?limit=100", key=key)
    assert st_ == 200, lst
    return [c for c in lst["data"] if c["name"] == name]


def created_events(key, cid):
    st_, _, lst = get("/api/v1/events?limit=100&type=customer.created", key=key)
    assert st_ == 200, lst
    return [e for e in lst["data"] if e["data"]["object"]["id"] == cid]


def stored_keys(tenant_id):
    """(key, livemode, status, body) of the tenant's stored idempotent answers, as the owner sees them."""
    return lt.psql_rows(OWNER, "SELECT key, livemode, status, body FROM idempotency_keys"
                               " WHERE tenant_id = %d ORDER BY created_at" % tenant_id)


class LockHolder:
    """A psql session (the owner role) holding the advisory lock levy_idem_begin() takes for
    (tenant, test mode, key): to levy, a request with that key is still running."""

    def __init__(self, tenant_id, key):
        self.lock = "hashtextextended(concat_ws('/', '%d', 'false', '%s'), 7)" % (tenant_id, key)
        self.p = subprocess.Popen(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", OWNER],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __enter__(self):
        self.send("SELECT pg_advisory_lock(%s); SELECT 'locked';" % self.lock)
        line = ""
        while line.strip() != "locked":
            line = self.p.stdout.readline()
            if line == "":
                raise AssertionError("psql ended before taking the lock")
        return self

    def send(self, sql):
        self.p.stdin.write(sql + "\n")
        self.p.stdin.flush()

    def release(self):
        if self.p.poll() is None:
            self.send("SELECT pg_advisory_unlock(%s);" % self.lock)
            self.p.stdin.close()
            self.p.wait(timeout=30)

    def __exit__(self, *exc):
        self.release()
        if self.p.poll() is None:
            self.p.kill()
        return False


class Idempotency(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()

    def setUp(self):
        st.use(self.t.sk_test)

    def test_replay(self):
        key, name = lt.unique("idem"), lt.unique("replay")
        first = stripe.Customer.create(name=name, email="replay@example.com", metadata={"a": "1"},
                                       idempotency_key=key)
        self.assertIsNone(replayed(first))
        second = stripe.Customer.create(name=name, email="replay@example.com", metadata={"a": "1"},
                                        idempotency_key=key)
        self.assertEqual(replayed(second), "true")
        self.assertEqual(second.id, first.id)
        self.assertEqual(body_of(second), body_of(first))
        self.assertEqual(second.last_response.code, 200)
        # Each answer is its own request, though.
        self.assertNotEqual(second.last_response.request_id, first.last_response.request_id)
        # One customer, one event.
        self.assertEqual([c["id"] for c in customers_named(self.t.sk_test, name)], [first.id])
        evs = created_events(self.t.sk_test, first.id)
        self.assertEqual(len(evs), 1)
        self.assertEqual(evs[0]["request"], {"id": first.last_response.request_id, "idempotency_key": key})
        # A third time, by raw HTTP with the same form body: the same answer again.
        form = [("name", name), ("email", "replay@example.com"), ("metadata[a]", "1")]
        st_, h, obj = post(CUSTOMERS, form=form, key=self.t.sk_test, headers={"Idempotency-Key": key})
        self.assertEqual((st_, h.get("Idempotent-Replayed")), (200, "true"))
        self.assertEqual(obj, body_of(first))
        # A JSON body decodes to the same parameters: the same request.
        st_, h, obj = post(CUSTOMERS, {"name": name, "email": "replay@example.com", "metadata": {"a": "1"}},
                           key=self.t.sk_test, headers={"Idempotency-Key": key})
        self.assertEqual((st_, h.get("Idempotent-Replayed"), obj["id"]), (200, "true", first.id))
        self.assertEqual(len(customers_named(self.t.sk_test, name)), 1)

    def test_other_params_conflict(self):
        key, name = lt.unique("idem"), lt.unique("conflict")
        first = stripe.Customer.create(name=name, idempotency_key=key)
        for other in ({"name": name + "x"}, {"name": name, "email": "x@example.com"}, {}):
            with self.subTest(params=other):
                with self.assertRaises(stripe.error.IdempotencyError) as cm:
                    stripe.Customer.create(idempotency_key=key, **other)
                e = cm.exception
                self.assertEqual(e.http_status, 400)
                self.assertEqual(e.json_body["error"]["type"], "idempotency_error")
                self.assertIn(key, e.user_message)
        # The same key on another endpoint is other parameters too.
        with self.assertRaises(stripe.error.IdempotencyError):
            stripe.Customer.modify(first.id, name=name, idempotency_key=key)
        self.assertEqual(len(customers_named(self.t.sk_test, name)), 1)
        self.assertEqual(stripe.Customer.retrieve(first.id).name, name)
        # The first answer is still what the key replays.
        again = stripe.Customer.create(name=name, idempotency_key=key)
        self.assertEqual((again.id, replayed(again)), (first.id, "true"))

    def test_in_use(self):
        key, name = lt.unique("idem"), lt.unique("busy")
        with LockHolder(self.t.id, key) as held:
            # python3-stripe raises its APIError for any 409, as it does with Stripe's.
            with self.assertRaises(stripe.error.APIError) as cm:
                stripe.Customer.create(name=name, idempotency_key=key)
            e = cm.exception
            self.assertEqual(e.http_status, 409)
            self.assertEqual((e.error.type, e.error.code), ("idempotency_error", "idempotency_key_in_use"))
            self.assertIn(key, e.user_message)
            # By raw HTTP too, and only that key is busy.
            self.assertError(post(CUSTOMERS, {"name": name}, key=self.t.sk_test, headers={"Idempotency-Key": key}),
                             409, "idempotency_error", code="idempotency_key_in_use")
            other = stripe.Customer.create(name=name + "-other", idempotency_key=key + "-other")
            self.assertIsNone(replayed(other))
            # The same key in live mode is another key.
            st.use(self.t.sk_live)
            live = stripe.Customer.create(name=name, idempotency_key=key)
            self.assertIs(live.livemode, True)
            st.use(self.t.sk_test)
            self.assertEqual(customers_named(self.t.sk_test, name), [])
            held.release()
        c = stripe.Customer.create(name=name, idempotency_key=key)
        self.assertIsNone(replayed(c))
        self.assertEqual([x["id"] for x in customers_named(self.t.sk_test, name)], [c.id])
        again = stripe.Customer.create(name=name, idempotency_key=key)
        self.assertEqual((again.id, replayed(again)), (c.id, "true"))

    def test_scoped_per_tenant_and_mode(self):
        key, name = lt.unique("idem"), lt.unique("scoped")
        other = lt.new_tenant()
        made = []
        for sk in (self.t.sk_test, self.t.sk_live, other.sk_test, other.sk_live):
            st.use(sk)
            c = stripe.Customer.create(name=name, idempotency_key=key)
            self.assertIsNone(replayed(c), sk[:8])
            made.append(c.id)
        self.assertEqual(len(set(made)), 4)
        # Each now replays its own.
        for sk, cid in zip((self.t.sk_test, self.t.sk_live, other.sk_test, other.sk_live), made):
            st.use(sk)
            c = stripe.Customer.create(name=name, idempotency_key=key)
            self.assertEqual((c.id, replayed(c)), (cid, "true"))
            self.assertEqual([x["id"] for x in customers_named(sk, name)], [cid])
        # A dashboard user shares the tenant and mode's keys with the secret key.
        st_, h, obj = post(CUSTOMERS, form={"name": name}, token=self.t.access, mode="live",
                           headers={"Idempotency-Key": key})
        self.assertEqual((st_, h.get("Idempotent-Replayed"), obj["id"]), (200, "true", made[1]))

    def test_key_length(self):
        name = lt.unique("len")
        st_, h, obj = post(CUSTOMERS, {"name": name}, key=self.t.sk_test,
                           headers={"Idempotency-Key": "k" * IDEM_KEY_MAX_LEN})
        self.assertEqual(st_, 200, obj)
        st_, h, again = post(CUSTOMERS, {"name": name}, key=self.t.sk_test,
                             headers={"Idempotency-Key": "k" * IDEM_KEY_MAX_LEN})
        self.assertEqual((again["id"], h.get("Idempotent-Replayed")), (obj["id"], "true"))
        self.assertError(post(CUSTOMERS, {"name": name}, key=self.t.sk_test,
                              headers={"Idempotency-Key": "k" * (IDEM_KEY_MAX_LEN + 1)}),
                         400, "invalid_request_error", param="Idempotency-Key")
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Customer.create(name=name, idempotency_key="x" * 1000)
        self.assertEqual((cm.exception.http_status, cm.exception.param), (400, "Idempotency-Key"))
        self.assertEqual(len(customers_named(self.t.sk_test, name)), 1)

    def test_refusal_not_stored(self):
        key, name = lt.unique("idem"), lt.unique("refused")
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Customer.create(name=name, email="not-an-email", idempotency_key=key)
        self.assertEqual(cm.exception.param, "email")
        # Not stored: the same refusal is computed again (not replayed) ...
        st_, h, obj = post(CUSTOMERS, form={"name": name, "email": "not-an-email"}, key=self.t.sk_test,
                           headers={"Idempotency-Key": key})
        self.assertEqual(st_, 400)
        self.assertIsNone(h.get("Idempotent-Replayed"))
        self.assertNotIn(key, [r[0] for r in stored_keys(self.t.id)])
        # ... and the corrected request, with the same key, succeeds once.
        c = stripe.Customer.create(name=name, email="fixed@example.com", idempotency_key=key)
        self.assertIsNone(replayed(c))
        self.assertEqual(c.email, "fixed@example.com")
        again = stripe.Customer.create(name=name, email="fixed@example.com", idempotency_key=key)
        self.assertEqual((again.id, replayed(again)), (c.id, "true"))
        # A 404 is not stored either.
        key2 = lt.unique("idem")
        with self.assertRaises(stripe.error.InvalidRequestError):
            stripe.Customer.modify("cus_nosuchcustomer12345", name="x", idempotency_key=key2)
        self.assertNotIn(key2, [r[0] for r in stored_keys(self.t.id)])

    def test_roll_is_never_replayed(self):
        key = lt.unique("idem")
        hdr = {"Idempotency-Key": key}
        st1, h1, k1 = post(lt.ROLL, {"mode": "test", "type": "secret"}, token=self.t.access, headers=hdr)
        st2, h2, k2 = post(lt.ROLL, {"mode": "test", "type": "secret"}, token=self.t.access, headers=hdr)
        self.assertEqual((st1, st2), (201, 201), (k1, k2))
        self.assertIsNone(h2.get("Idempotent-Replayed"))
        self.assertRegex(k1["key"], lt.KEY_RE["sk_test"])
        self.assertRegex(k2["key"], lt.KEY_RE["sk_test"])
        self.assertNotEqual(k1["key"], k2["key"])
        self.assertNotEqual(k1["id"], k2["id"])
        # Rolled twice: the second key works, the first was rolled away at once.
        self.assertEqual(get(lt.VERIFY, key=k2["key"])[0], 200)
        self.assertError(get(lt.VERIFY, key=k1["key"]), 401, "authentication_error")
        self.assertNotIn(key, [r[0] for r in stored_keys(self.t.id)])
        self.t.sk_test = k2["key"]
        st.use(self.t.sk_test)

    def test_stored_rows_hold_no_secret(self):
        # Answers of every kind this tenant produced (this test runs last: see its name).
        key = lt.unique("idem")
        c = stripe.Customer.create(name="stored", idempotency_key=key)
        rows = stored_keys(self.t.id)
        self.assertIn(key, [r[0] for r in rows])
        mine = [r for r in rows if r[0] == key][0]
        self.assertEqual((mine[1], mine[2]), ("f", "200"))
        self.assertEqual(json.loads(mine[3]), body_of(c))
        for r in rows:
            self.assertNotRegex(r[3], r"[sr]k_(live|test)_[0-9A-Za-z]{10}", r[0])
        self.assertNotIn(self.t.sk_test, "".join(r[3] for r in rows))
        self.assertNotIn(self.t.sk_live, "".join(r[3] for r in rows))
        # Over all tenants as well.
        allrows = lt.psql_rows(OWNER, "SELECT count(*) FROM idempotency_keys"
                                      " WHERE body ~ '[sr]k_(live|test)_[0-9A-Za-z]{10}'")
        self.assertEqual(allrows, [["0"]])


if __name__ == "__main__":
    lt.main()
