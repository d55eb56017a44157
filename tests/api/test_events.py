#!/usr/bin/python3
"""Events (GET /v1/events, GET /v1/events/:id) driven by python3-stripe: the events that
customer create, update and delete record (type, data.object equal to the API's answer,
previous_attributes, request), the list's filters (type, wildcards, types[], created) and
pagination, errors, and isolation between tenants and modes.

Events of types no endpoint makes yet, and events at chosen times, are written straight into
the events table as the owner role: the filters are tested on rows whose answer is known."""

import json
import os
import re
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from levytest import LevyTestCase, get  # noqa: E402

import stripe  # noqa: E402

OWNER = os.environ.get("LEVY_OWNER_CONNINFO", "")
EVENTS = "/api/v1/events"
EVT_RE = re.compile(r"^evt_[0-9A-Za-z]{14,64}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EVENT_KEYS = {"id", "object", "api_version", "created", "data", "livemode", "pending_webhooks",
              "request", "type"}
# A fixed second in the past for the synthetic events' times.
T0 = 1600000000


def body_of(obj):
    """The exact JSON levy answered for an SDK call."""
    return json.loads(obj.last_response.body)


def q(path, **params):
    """path?params in Stripe's bracket notation (lists as name[]=v, dicts as name[k]=v)."""
    pairs = []
    for k, v in params.items():
        if isinstance(v, list):
            pairs += [("%s[]" % k, x) for x in v]
        elif isinstance(v, dict):
            pairs += [("%s[%s]" % (k, kk), vv) for kk, vv in v.items()]
        else:
            pairs.append((k, v))
    return path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")


def insert_events(tenant_id, rows, livemode=False):
    """Writes events as the owner: rows of (type, created seconds as float); their ids in order."""
    values = ",".join("(%d, %s, '%s', 'obj_synthetic', '{\"object\": {}}', to_timestamp(%r))"
                      % (tenant_id, "true" if livemode else "false", t, c) for t, c in rows)
    out = lt.psql_rows(OWNER, "INSERT INTO events (tenant_id, livemode, type, object_id, data, created)"
                              " VALUES %s RETURNING id" % values)
    return [r[0] for r in out]


def all_events(key, **params):
    """Every event the key sees (one page of up to 100, asserted complete), newest first."""
    st_, _, obj = get(q(EVENTS, limit=100, **params), key=key)
    assert st_ == 200, obj
    assert obj["has_more"] is False, "more than 100 events"
    return obj["data"]


class Recorded(LevyTestCase):
    """The events customer changes record."""

    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()

    def setUp(self):
        st.use(self.t.sk_test)

    def events_of(self, object_id, type_=None):
        return [e for e in all_events(self.t.sk_test, **({"type": type_} if type_ else {}))
                if e["data"]["object"].get("id") == object_id]

    def assertEnvelope(self, ev, type_, request_id, idempotency_key):
        self.assertKeys(ev, EVENT_KEYS, "event")
        self.assertRegex(ev["id"], EVT_RE)
        self.assertEqual(ev["object"], "event")
        self.assertEqual(ev["type"], type_)
        self.assertIs(ev["livemode"], False)
        self.assertEqual(ev["api_version"], "2023-08-16")
        self.assertEqual(ev["pending_webhooks"], 0)
        self.assertRecent(ev["created"], "event.created")
        self.assertEqual(ev["request"], {"id": request_id, "idempotency_key": idempotency_key})

    def test_created(self):
        key = lt.unique("idem")
        c = stripe.Customer.create(email=lt.unique_email("ev"), name="Ada", metadata={"tier": "gold"},
                                   idempotency_key=key)
        evs = self.events_of(c.id)
        self.assertEqual(len(evs), 1, evs)
        ev = evs[0]
        self.assertEnvelope(ev, "customer.created", c.last_response.request_id, key)
        self.assertEqual(ev["data"], {"object": body_of(c)})
        # Retrieve answers the same event.
        got = stripe.Event.retrieve(ev["id"])
        self.assertEqual(body_of(got), ev)
        self.assertEqual(got.data.object.id, c.id)

    def test_sdk_idempotency_key_is_recorded(self):
        a = stripe.Customer.create(name="one")
        b = stripe.Customer.create(name="two")
        ka = self.events_of(a.id)[0]["request"]
        kb = self.events_of(b.id)[0]["request"]
        self.assertRegex(ka["idempotency_key"], UUID_RE)
        self.assertRegex(kb["idempotency_key"], UUID_RE)
        self.assertNotEqual(ka["idempotency_key"], kb["idempotency_key"])
        self.assertEqual(ka["id"], a.last_response.request_id)
        self.assertEqual(kb["id"], b.last_response.request_id)
        self.assertNotEqual(ka["id"], kb["id"])

    def test_updated_previous_attributes(self):
        c = stripe.Customer.create(email="old@example.com", name="Old", description="desc",
                                   metadata={"a": "1", "b": "2"})
        before = body_of(c)
        key = lt.unique("idem")
        u = stripe.Customer.modify(c.id, name="New", balance=-500, metadata={"a": ""},
                                   idempotency_key=key)
        after = body_of(u)
        evs = self.events_of(c.id, "customer.updated")
        self.assertEqual(len(evs), 1, evs)
        ev = evs[0]
        self.assertEnvelope(ev, "customer.updated", u.last_response.request_id, key)
        self.assertEqual(ev["data"]["object"], after)
        self.assertEqual(ev["data"]["previous_attributes"],
                         {"name": "Old", "balance": 0, "metadata": {"a": "1", "b": "2"}})
        self.assertEqual(set(ev["data"]), {"object", "previous_attributes"})
        # Clearing fields: their old values, and nothing else.
        u2 = stripe.Customer.modify(c.id, description="", email="")
        evs = self.events_of(c.id, "customer.updated")
        self.assertEqual(len(evs), 2)
        self.assertEqual(evs[0]["data"]["object"], body_of(u2))
        self.assertEqual(evs[0]["data"]["previous_attributes"],
                         {"description": "desc", "email": "old@example.com"})
        self.assertEqual(before["description"], "desc")
        self.assertIsNone(evs[0]["data"]["object"]["email"])

    def test_no_event_for_unchanged(self):
        c = stripe.Customer.create(name="Same", metadata={"k": "v"})
        n = len(all_events(self.t.sk_test))
        stripe.Customer.modify(c.id, name="Same")
        stripe.Customer.modify(c.id, metadata={"k": "v"})
        stripe.Customer.modify(c.id, metadata={"absent": ""})
        stripe.Customer.modify(c.id)
        self.assertEqual(len(all_events(self.t.sk_test)), n)
        self.assertEqual([e["type"] for e in self.events_of(c.id)], ["customer.created"])

    def test_deleted(self):
        c = stripe.Customer.create(name="Gone", email="gone@example.com")
        last = body_of(stripe.Customer.modify(c.id, name="Gone for good"))
        d = stripe.Customer.delete(c.id)
        self.assertEqual(body_of(d), {"id": c.id, "object": "customer", "deleted": True})
        evs = self.events_of(c.id)
        self.assertEqual([e["type"] for e in evs],
                         ["customer.deleted", "customer.updated", "customer.created"])
        # As Stripe: the deleted event holds the customer as it was.
        self.assertEqual(evs[0]["data"], {"object": last})
        # Deleting again changes nothing and records nothing.
        with self.assertRaises(stripe.error.InvalidRequestError):
            stripe.Customer.delete(c.id)
        self.assertEqual(len(self.events_of(c.id)), 3)

    def test_deleted_names_its_request(self):
        """DELETE carries no Idempotency-Key: its event still names the request."""
        c = stripe.Customer.create(name="Gone")
        d = stripe.Customer.delete(c.id)
        ev = self.events_of(c.id, "customer.deleted")[0]
        self.assertEqual(ev["request"], {"id": d.last_response.request_id, "idempotency_key": None})

    def test_writes_without_a_key_name_their_request(self):
        """A POST with no Idempotency-Key, by secret key or by a dashboard user (whose context
        levy sets itself), names its request all the same."""
        for auth in ({"key": self.t.sk_test}, {"token": self.t.access}):
            with self.subTest(by=list(auth)[0]):
                status, h, c = lt.post("/api/v1/customers", {"name": "Plain"}, **auth)
                self.assertEqual(status, 200, c)
                ev = self.events_of(c["id"], "customer.created")[0]
                self.assertEqual(ev["request"], {"id": h["Request-Id"], "idempotency_key": None})

    def test_failed_change_records_nothing(self):
        c = stripe.Customer.create(name="Kept")
        n = len(all_events(self.t.sk_test))
        with self.assertRaises(stripe.error.InvalidRequestError):
            stripe.Customer.modify(c.id, name="Changed", email="not-an-email")
        with self.assertRaises(stripe.error.InvalidRequestError):
            stripe.Customer.create(name="Never", balance="x")
        self.assertEqual(len(all_events(self.t.sk_test)), n)


class Filters(LevyTestCase):
    """The list's filters, on events of known types and times."""

    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()
        # (type, created): fractional seconds check that `created` counts whole seconds.
        cls.rows = [("customer.created", T0), ("customer.updated", T0 + 0.5),
                    ("plan.created", T0 + 1), ("payment_method.attached", T0 + 1.9),
                    ("paymentxmethod.attached", T0 + 2), ("customer.subscription.updated", T0 + 3),
                    ("invoice.paid", T0 + 4), ("customer.deleted", T0 + 5)]
        cls.ids = insert_events(cls.t.id, cls.rows)
        cls.by_id = dict(zip(cls.ids, cls.rows))
        # Newest first: the reverse of insertion.
        cls.order = list(reversed(cls.ids))

    def setUp(self):
        st.use(self.t.sk_test)

    def listed(self, **params):
        return [e["id"] for e in all_events(self.t.sk_test, **params)]

    def want(self, pred):
        return [i for i in self.order if pred(*self.by_id[i])]

    def test_unfiltered(self):
        self.assertEqual(self.listed(), self.order)
        ev = all_events(self.t.sk_test)[0]
        self.assertEqual(ev["type"], "customer.deleted")
        self.assertEqual(ev["created"], T0 + 5)
        self.assertEqual(ev["request"], {"id": None, "idempotency_key": None})

    def test_type_exact(self):
        self.assertEqual(self.listed(type="customer.created"), self.want(lambda t, c: t == "customer.created"))
        self.assertEqual(self.listed(type="customer"), [])
        self.assertEqual(self.listed(type="no.such_type"), [])
        sdk = stripe.Event.list(type="plan.created")
        self.assertEqual([e.id for e in sdk.data], self.want(lambda t, c: t == "plan.created"))

    def test_type_wildcard(self):
        cases = {
            "customer.*": lambda t, c: t.startswith("customer."),
            "*.created": lambda t, c: t.endswith(".created"),
            "customer.sub*": lambda t, c: t.startswith("customer.sub"),
            # '_' is a plain character, not LIKE's any-character.
            "payment_method.*": lambda t, c: t.startswith("payment_method."),
            "*": lambda t, c: True,
        }
        for pattern, pred in cases.items():
            with self.subTest(pattern=pattern):
                got = self.listed(type=pattern)
                self.assertEqual(got, self.want(pred))
                self.assertTrue(got)
        self.assertEqual(len(self.listed(type="customer.*")), 4)
        self.assertEqual(self.listed(type="customer.*.created"), [])
        sdk = stripe.Event.list(type="invoice.*")
        self.assertEqual([e.id for e in sdk.data], self.want(lambda t, c: t == "invoice.paid"))

    def test_types(self):
        want_types = ["invoice.paid", "plan.created", "customer.deleted"]
        sdk = stripe.Event.list(types=want_types)
        self.assertEqual([e.id for e in sdk.data], self.want(lambda t, c: t in want_types))
        self.assertEqual(self.listed(types=want_types), self.want(lambda t, c: t in want_types))
        self.assertEqual(self.listed(types=["plan.created"]), self.want(lambda t, c: t == "plan.created"))
        # Up to 20 types.
        twenty = ["x.t%d" % i for i in range(19)] + ["invoice.paid"]
        self.assertEqual(self.listed(types=twenty), self.want(lambda t, c: t == "invoice.paid"))

    def test_created(self):
        cases = [
            ({"created": T0 + 1}, lambda c: T0 + 1 <= c < T0 + 2),
            ({"created": T0}, lambda c: T0 <= c < T0 + 1),
            ({"created": {"gt": T0 + 1}}, lambda c: c >= T0 + 2),
            ({"created": {"gte": T0 + 1}}, lambda c: c >= T0 + 1),
            ({"created": {"lt": T0 + 2}}, lambda c: c < T0 + 2),
            ({"created": {"lte": T0 + 1}}, lambda c: c < T0 + 2),
            ({"created": {"gte": T0 + 1, "lt": T0 + 4}}, lambda c: T0 + 1 <= c < T0 + 4),
            ({"created": {"gt": T0, "lte": T0 + 3}}, lambda c: T0 + 1 <= c < T0 + 4),
            # The tighter of two bounds on one side wins.
            ({"created": {"gt": T0 + 2, "gte": T0 + 1}}, lambda c: c >= T0 + 3),
            ({"created": {"lt": T0 + 1, "lte": T0 + 3}}, lambda c: c < T0 + 1),
            ({"created": {"gte": T0 + 4, "lte": T0 + 1}}, lambda c: False),
            ({"created": {"gte": 0}}, lambda c: True),
        ]
        for params, pred in cases:
            with self.subTest(params=params):
                self.assertEqual(self.listed(**params), self.want(lambda t, c: pred(c)))
        # The SDK's own encoding, and created combined with a type filter.
        sdk = stripe.Event.list(created={"gte": T0 + 1, "lte": T0 + 3}, type="customer.*")
        self.assertEqual([e.id for e in sdk.data],
                         self.want(lambda t, c: t.startswith("customer.") and T0 + 1 <= c < T0 + 4))
        self.assertEqual(len(sdk.data), 1)
        sdk = stripe.Event.list(created=T0 + 5)
        self.assertEqual([e.id for e in sdk.data], [self.order[0]])

    def test_filtered_pagination(self):
        pred = lambda t, c: t.startswith("customer.")  # noqa: E731
        want = self.want(pred)
        got = [e.id for e in stripe.Event.list(type="customer.*", limit=1).auto_paging_iter()]
        self.assertEqual(got, want)
        st_, _, page = get(q(EVENTS, type="customer.*", limit=2, starting_after=want[0]), key=self.t.sk_test)
        self.assertEqual([e["id"] for e in page["data"]], want[1:3])
        self.assertIs(page["has_more"], True)
        st_, _, page = get(q(EVENTS, type="customer.*", limit=2, ending_before=want[3]), key=self.t.sk_test)
        self.assertEqual([e["id"] for e in page["data"]], want[1:3])
        self.assertIs(page["has_more"], True)
        st_, _, page = get(q(EVENTS, type="customer.*", limit=5, ending_before=want[2]), key=self.t.sk_test)
        self.assertEqual([e["id"] for e in page["data"]], want[0:2])
        self.assertIs(page["has_more"], False)


class Pagination(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()
        # 27 events: the same second each, so the order is the order of creation.
        cls.ids = list(reversed(insert_events(cls.t.id, [("customer.created", T0 + 100)] * 27)))

    def setUp(self):
        st.use(self.t.sk_test)

    def test_auto_paging(self):
        for limit in (1, 7, 10, 27, 100):
            with self.subTest(limit=limit):
                got = [e.id for e in stripe.Event.list(limit=limit).auto_paging_iter()]
                self.assertEqual(got, self.ids)

    def test_default_limit_and_has_more(self):
        st_, _, page = get(EVENTS, key=self.t.sk_test)
        self.assertEqual(st_, 200)
        self.assertEqual(page["object"], "list")
        self.assertEqual(page["url"], "/v1/events")
        self.assertEqual([e["id"] for e in page["data"]], self.ids[:10])
        self.assertIs(page["has_more"], True)

    def test_cursors(self):
        ids = self.ids
        cases = [
            ({"starting_after": ids[0], "limit": 3}, ids[1:4], True),
            ({"starting_after": ids[23], "limit": 3}, ids[24:27], False),
            ({"starting_after": ids[26]}, [], False),
            ({"ending_before": ids[10], "limit": 3}, ids[7:10], True),
            ({"ending_before": ids[3], "limit": 3}, ids[0:3], False),
            ({"ending_before": ids[2], "limit": 5}, ids[0:2], False),
            ({"ending_before": ids[0]}, [], False),
        ]
        for params, want, more in cases:
            with self.subTest(params=params):
                st_, _, page = get(q(EVENTS, **params), key=self.t.sk_test)
                self.assertEqual(st_, 200, page)
                self.assertEqual([e["id"] for e in page["data"]], want)
                self.assertIs(page["has_more"], more)
        # Forms that reach /v1 without the /api prefix and with a trailing slash.
        st_, _, page = get("/v1/events/?limit=2&starting_after=" + ids[4], key=self.t.sk_test)
        self.assertEqual([e["id"] for e in page["data"]], ids[5:7])


class Errors(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()
        cls.evt = insert_events(cls.t.id, [("customer.created", T0)])[0]

    def err(self, path, status=400, code="parameter_invalid", param=lt.ANY):
        return self.assertError(get(path, key=self.t.sk_test), status, "invalid_request_error",
                                code=code, param=param)

    def test_limit(self):
        self.err(q(EVENTS, limit=0), code="parameter_invalid_integer", param="limit")
        self.err(q(EVENTS, limit=101), code="parameter_invalid_integer", param="limit")
        self.err(q(EVENTS, limit="x"), code="parameter_invalid_integer", param="limit")
        st.use(self.t.sk_test)
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Event.list(limit=101)
        self.assertEqual(cm.exception.param, "limit")

    def test_type(self):
        for bad in ("Customer.created", "customer created", "customer.%", "customer;--", "x" * 101,
                    "customer\u00e9.created"):
            with self.subTest(type=bad):
                self.err(q(EVENTS, type=bad), param="type")
        self.err(q(EVENTS, type=""), code="parameter_invalid_empty", param="type")
        self.err(EVENTS + "?type[x]=customer.created", param="type")

    def test_types(self):
        self.err(q(EVENTS, types=["x.t%d" % i for i in range(21)]), param="types")
        self.err(q(EVENTS, types="customer.created"), param="types")
        self.err(q(EVENTS, types=["customer.created", "customer.*"]), param="types[1]")
        self.err(q(EVENTS, types=["Customer.created"]), param="types[0]")
        self.err(EVENTS + "?types[0][a]=b", param="types[0]")
        self.err(EVENTS + "?types[]=", param="types[0]")
        self.err(q(EVENTS, type="customer.created", types=["customer.created"]), param="types")

    def test_created(self):
        self.err(q(EVENTS, created="x"), code="parameter_invalid_integer", param="created")
        self.err(q(EVENTS, created=-1), code="parameter_invalid_integer", param="created")
        self.err(q(EVENTS, created=253402300800), code="parameter_invalid_integer", param="created")
        self.err(q(EVENTS, created={"gte": "x"}), code="parameter_invalid_integer", param="created[gte]")
        self.err(q(EVENTS, created={"lt": "-5"}), code="parameter_invalid_integer", param="created[lt]")
        self.err(q(EVENTS, created={"eq": "5"}), code="parameter_unknown", param="created[eq]")
        self.err(EVENTS + "?created[]=5", code="parameter_invalid_integer", param="created")

    def test_other_params(self):
        self.err(q(EVENTS, customer="cus_x"), code="parameter_unknown", param="customer")
        self.err(q(EVENTS, starting_after="evt_nosuchevent1234567"), 404, "resource_missing", "starting_after")
        self.err(q(EVENTS, ending_before="evt_nosuchevent1234567"), 404, "resource_missing", "ending_before")
        self.err(q(EVENTS, starting_after="evt bad"), param="starting_after")
        self.err(q(EVENTS, starting_after=self.evt, ending_before=self.evt), param="ending_before")
        err = self.err(q(EVENTS, expand=["data.customer"]), param="expand")
        self.assertIn("This property cannot be expanded", err["message"])
        err = self.err(q(EVENTS, expand=["customer"]), param="expand")
        self.assertIn("This property cannot be expanded", err["message"])

    def test_retrieve(self):
        st_, _, ev = get("%s/%s" % (EVENTS, self.evt), key=self.t.sk_test)
        self.assertEqual(st_, 200, ev)
        self.assertEqual(ev["id"], self.evt)
        self.assertKeys(ev, EVENT_KEYS)
        err = self.err("%s/evt_nosuchevent1234567" % EVENTS, 404, "resource_missing", "id")
        self.assertEqual(err["message"], "No such event: 'evt_nosuchevent1234567'")
        for missing in ("evt_" + "a" * 70, "evt_%2C"):
            with self.subTest(id=missing):
                self.err("%s/%s" % (EVENTS, missing), 404, code=lt.ANY)
        self.err("%s/%s?foo=1" % (EVENTS, self.evt), code="parameter_unknown", param="foo")
        err = self.err("%s/%s?expand[]=data.object" % (EVENTS, self.evt), param="expand")
        self.assertIn("This property cannot be expanded", err["message"])
        st.use(self.t.sk_test)
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Event.retrieve("evt_nosuchevent1234567")
        self.assertEqual(cm.exception.http_status, 404)
        self.assertEqual(cm.exception.code, "resource_missing")

    def test_methods(self):
        st_, h, obj = lt.call("POST", EVENTS, body={}, key=self.t.sk_test)
        self.assertEqual(st_, 405, obj)
        st_, h, obj = lt.call("DELETE", "%s/%s" % (EVENTS, self.evt), key=self.t.sk_test)
        self.assertEqual(st_, 405, obj)


class Isolation(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = st.tenant()
        cls.a_test = stripe.Customer.create(name="A test")
        st.use(cls.a.sk_live)
        cls.a_live = stripe.Customer.create(name="A live")
        cls.b = st.tenant()
        cls.b_cus = stripe.Customer.create(name="B test")
        cls.a_test_evt = [e["id"] for e in all_events(cls.a.sk_test)]
        cls.a_live_evt = [e["id"] for e in all_events(cls.a.sk_live)]
        cls.b_evt = [e["id"] for e in all_events(cls.b.sk_test)]

    def test_each_sees_its_own(self):
        self.assertEqual(len(self.a_test_evt), 1)
        self.assertEqual(len(self.a_live_evt), 1)
        self.assertEqual(len(self.b_evt), 1)
        live = all_events(self.a.sk_live)[0]
        self.assertIs(live["livemode"], True)
        self.assertEqual(live["data"]["object"]["id"], self.a_live.id)
        self.assertEqual(all_events(self.a.sk_test)[0]["data"]["object"]["id"], self.a_test.id)
        self.assertEqual(all_events(lt.new_tenant().sk_test), [])

    def test_others_are_missing(self):
        foreign = [(self.b.sk_test, self.a_test_evt[0]), (self.a.sk_live, self.a_test_evt[0]),
                   (self.a.sk_test, self.a_live_evt[0]), (self.b.sk_live, self.a_live_evt[0]),
                   (self.a.sk_test, self.b_evt[0])]
        for key, evt in foreign:
            with self.subTest(key=key[:8], evt=evt):
                r = get("%s/%s" % (EVENTS, evt), key=key)
                self.assertError(r, 404, "invalid_request_error", code="resource_missing", param="id",
                                 message="No such event: '%s'" % evt)
                for cursor in ("starting_after", "ending_before"):
                    self.assertError(get(q(EVENTS, **{cursor: evt}), key=key), 404, "invalid_request_error",
                                     code="resource_missing", param=cursor)
                self.assertNotIn(evt, [e["id"] for e in all_events(key)])
        st.use(self.b.sk_test)
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Event.retrieve(self.a_test_evt[0])
        self.assertEqual(cm.exception.http_status, 404)

    def test_dashboard_users(self):
        dev = self.a.add_user("developer")
        for who in (self.a.access, dev.access):
            for mode, want in ((None, self.a_test_evt), ("test", self.a_test_evt), ("live", self.a_live_evt)):
                with self.subTest(mode=mode):
                    st_, _, page = get(EVENTS, token=who, mode=mode)
                    self.assertEqual(st_, 200, page)
                    self.assertEqual([e["id"] for e in page["data"]], want)
                    st_, _, ev = get("%s/%s" % (EVENTS, want[0]), token=who, mode=mode)
                    self.assertEqual(st_, 200, ev)
        self.assertError(get("%s/%s" % (EVENTS, self.a_live_evt[0]), token=self.a.access, mode="test"),
                         404, "invalid_request_error", code="resource_missing")
        st_, _, page = get(EVENTS, token=self.b.access, mode="live")
        self.assertEqual(page["data"], [])

    def test_publishable_and_anonymous(self):
        for key in (self.a.pk_test, self.a.pk_live):
            self.assertError(get(EVENTS, key=key), 403, "permission_error")
            self.assertError(get("%s/%s" % (EVENTS, self.a_test_evt[0]), key=key), 403, "permission_error")
        self.assertError(get(EVENTS), 401, "authentication_error")


if __name__ == "__main__":
    lt.main()
