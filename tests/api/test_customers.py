#!/usr/bin/python3
"""Customers (/v1/customers) driven by python3-stripe, the real client: create, retrieve,
update, delete and list, the list's email filter and cursors, auto-pagination, limits, the
metadata rules, parameter errors, deleted customers, expand[], the paths and encodings a
request may take, and who may see or change which customer (tenants, modes, roles, keys)."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
import stripetest as st  # noqa: E402
from levytest import LevyTestCase, get, post  # noqa: E402

import stripe  # noqa: E402

CUSTOMERS = "/api/v1/customers"
CUSTOMER_KEYS = {"id", "object", "address", "balance", "created", "currency", "default_source",
                 "delinquent", "description", "discount", "email", "invoice_prefix",
                 "invoice_settings", "livemode", "metadata", "name", "next_invoice_sequence", "phone",
                 "preferred_locales", "shipping", "tax_exempt", "test_clock"}
BALANCE_MAX = 99999999999


def body_of(obj):
    """The exact JSON levy answered for an SDK call."""
    return json.loads(obj.last_response.body)


def cpath(cid, prefix="/api"):
    return "%s/v1/customers/%s" % (prefix, cid)


def without_identity(c):
    """A customer without what differs between two creations of the same one."""
    return {k: v for k, v in c.items() if k not in ("id", "created")}


class CustomerCase(st.SdkCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()

    def setUp(self):
        st.use(self.t.sk_test)

    def assertInvalid(self, status=400, code=lt.ANY, param=lt.ANY, message=None):
        """A context manager: the SDK call inside raises InvalidRequestError as described."""
        return self.sdk_raises(stripe.error.InvalidRequestError, "invalid_request_error", status,
                               code, param, message)


class Crud(CustomerCase):
    def test_create_retrieve(self):
        email = lt.unique_email("cus")
        c = stripe.Customer.create(email=email, name="Ada Lovelace", description="first",
                                   phone="+44 20 7946 0000", balance=-1250, metadata={"plan": "pro"})
        b = body_of(c)
        self.assertKeys(b, CUSTOMER_KEYS, "customer")
        self.assertRegex(b["id"], r"^cus_[0-9A-Za-z]{14,64}$")
        self.assertEqual(b["object"], "customer")
        self.assertEqual((b["email"], b["name"], b["description"], b["phone"], b["balance"]),
                         (email, "Ada Lovelace", "first", "+44 20 7946 0000", -1250))
        self.assertEqual(b["metadata"], {"plan": "pro"})
        self.assertIs(b["livemode"], False)
        self.assertRecent(b["created"], "created")
        self.assertEqual(b["invoice_settings"]["default_payment_method"], None)
        self.assertIs(b["delinquent"], False)
        self.assertIsInstance(c, stripe.Customer)
        got = stripe.Customer.retrieve(c.id)
        self.assertEqual(body_of(got), b)

    def test_kept_rendering(self):
        """Reads answer with the rendering a customer keeps (sql/016): it follows every write,
        whoever makes it, and cannot be written itself."""
        c = stripe.Customer.create(name="Kept", email=lt.unique_email("kept"), payment_method="pm_card_visa",
                                   invoice_settings={"default_payment_method": "pm_card_visa"})
        stripe.Customer.modify(c.id, name="Kept Again", metadata={"k": "v"})
        gone = stripe.Customer.create(name="Gone")
        stripe.Customer.delete(gone.id)
        # A write behind the API (the owner's) shows in the next read and its event.
        st.owner_rows("BEGIN; SELECT set_config('app.tenant_id', tenant_id::text, true),"
                      " set_config('app.livemode', livemode::text, true) FROM customers WHERE id = %s;"
                      " UPDATE customers SET name = 'Behind' WHERE id = %s; COMMIT"
                      % (st.sql_id(c.id), st.sql_id(c.id)))
        got = body_of(stripe.Customer.retrieve(c.id))
        self.assertEqual((got["name"], got["metadata"]), ("Behind", {"k": "v"}))
        self.assertRegex(got["invoice_settings"]["default_payment_method"], r"^pm_")
        self.assertEqual(json.loads(str(stripe.Customer.list(limit=1, email=c.email).data[0])), got)
        last = st.events_of(c.id)[-1]
        self.assertEqual(last[0], "customer.updated")
        self.assertEqual(last[1]["object"], got)
        self.assertEqual(last[1]["previous_attributes"], {"name": "Kept Again"})
        # Setting the rendering itself changes nothing.
        st.owner_rows("UPDATE customers SET rendered = '{}' WHERE id = %s" % st.sql_id(c.id))
        self.assertEqual(body_of(stripe.Customer.retrieve(c.id)), got)
        # Every customer's kept text is its rendering now, deleted ones included.
        stale = st.owner_rows("SELECT c.id FROM customers c WHERE c.id IN (%s, %s)"
                              " AND c.rendered::jsonb IS DISTINCT FROM levy_customer_json(c)"
                              % (st.sql_id(c.id), st.sql_id(gone.id)))
        self.assertEqual(stale, [])
        self.assertEqual(body_of(stripe.Customer.retrieve(gone.id)),
                         {"id": gone.id, "object": "customer", "deleted": True})

    def test_create_empty(self):
        c = body_of(stripe.Customer.create())
        self.assertEqual((c["email"], c["name"], c["description"], c["phone"], c["balance"], c["metadata"]),
                         (None, None, None, None, 0, {}))
        # "" on create is no value, as in Stripe.
        c = body_of(stripe.Customer.create(name="", email=""))
        self.assertIsNone(c["name"])
        self.assertIsNone(c["email"])

    def test_update(self):
        c = stripe.Customer.create(email="before@example.com", name="Before", description="d", phone="1",
                                   metadata={"a": "1", "b": "2"})
        u = stripe.Customer.modify(c.id, name="After", balance=300, metadata={"b": "3", "c": "4"})
        b = body_of(u)
        self.assertEqual((b["name"], b["balance"], b["email"], b["description"], b["phone"]),
                         ("After", 300, "before@example.com", "d", "1"))
        self.assertEqual(b["metadata"], {"a": "1", "b": "3", "c": "4"})
        self.assertEqual(b["id"], c.id)
        self.assertEqual(b["created"], c.created)
        self.assertEqual(body_of(stripe.Customer.retrieve(c.id)), b)
        # "" clears a field; an absent param keeps it.
        b = body_of(stripe.Customer.modify(c.id, description="", phone="", email=""))
        self.assertEqual((b["name"], b["description"], b["phone"], b["email"]), ("After", None, None, None))
        # The instance method sends the same request.
        cus = stripe.Customer.retrieve(c.id)
        cus.name = "Saved"
        cus.save()
        self.assertEqual(stripe.Customer.retrieve(c.id).name, "Saved")

    def test_delete(self):
        c = stripe.Customer.create(name="Doomed", email=lt.unique_email("doomed"))
        d = stripe.Customer.delete(c.id)
        self.assertEqual(body_of(d), {"id": c.id, "object": "customer", "deleted": True})
        # Retrieve gives the deleted stub.
        got = stripe.Customer.retrieve(c.id)
        self.assertEqual(body_of(got), {"id": c.id, "object": "customer", "deleted": True})
        self.assertIs(got.deleted, True)
        # Update and a second delete: 404.
        with self.assertInvalid(404, "resource_missing", "id", "No such customer: '%s'" % c.id):
            stripe.Customer.modify(c.id, name="Zombie")
        with self.assertInvalid(404, "resource_missing", "id"):
            stripe.Customer.delete(c.id)
        # Absent from lists, filtered or not, and no longer a cursor.
        self.assertNotIn(c.id, [x.id for x in stripe.Customer.list(limit=100).data])
        self.assertEqual(stripe.Customer.list(email=c.email).data, [])
        with self.assertInvalid(404, "resource_missing", "starting_after"):
            stripe.Customer.list(starting_after=c.id)

    def test_missing(self):
        for cid in ("cus_nosuchcustomer12345", "cus_" + "x" * 60):
            with self.subTest(id=cid):
                with self.assertInvalid(404, "resource_missing", "id", "No such customer: '%s'" % cid):
                    stripe.Customer.retrieve(cid)
                with self.assertInvalid(404, "resource_missing", "id"):
                    stripe.Customer.modify(cid, name="x")
                with self.assertInvalid(404, "resource_missing", "id"):
                    stripe.Customer.delete(cid)

    def test_paths_and_methods(self):
        c = stripe.Customer.create(name="Paths")
        for prefix in ("", "/api"):
            for slash in ("", "/"):
                with self.subTest(prefix=prefix, slash=slash):
                    st_, _, obj = get(cpath(c.id, prefix) + slash, key=self.t.sk_test)
                    self.assertEqual(st_, 200, obj)
                    self.assertEqual(obj["id"], c.id)
                    st_, _, obj = get(prefix + "/v1/customers" + slash, key=self.t.sk_test)
                    self.assertEqual(st_, 200, obj)
                    self.assertEqual(obj["url"], "/v1/customers")
        st_, _, obj = post("/v1/customers/" + c.id, form={"name": "No prefix"}, key=self.t.sk_test)
        self.assertEqual((st_, obj["name"]), (200, "No prefix"))
        st_, _, obj = post("/v1/customers", form={"name": "Made at /v1"}, key=self.t.sk_test)
        self.assertEqual((st_, obj["name"]), (200, "Made at /v1"))
        st_, _, obj = lt.call("DELETE", "/v1/customers/" + obj["id"], key=self.t.sk_test)
        self.assertEqual((st_, obj["deleted"]), (200, True))
        st_, h, obj = lt.call("PATCH", cpath(c.id), body={"name": "x"}, key=self.t.sk_test)
        self.assertEqual(st_, 405, obj)
        self.assertIn("POST", h.get("Allow", ""))

    def test_json_equals_form(self):
        fields = {"email": "same@example.com", "name": "Same", "description": "one",
                  "phone": "555", "metadata": {"a": "1", "b": "2"}}
        st_, _, by_json = post(CUSTOMERS, dict(fields, balance=42), key=self.t.sk_test)
        self.assertEqual(st_, 200, by_json)
        form = [("email", "same@example.com"), ("name", "Same"), ("description", "one"),
                ("phone", "555"), ("balance", "42"), ("metadata[a]", "1"), ("metadata[b]", "2")]
        st_, _, by_form = post(CUSTOMERS, form=form, key=self.t.sk_test)
        self.assertEqual(st_, 200, by_form)
        by_sdk = body_of(stripe.Customer.create(balance=42, **fields))
        self.assertNotEqual(by_json["id"], by_form["id"])
        self.assertEqual(without_identity(by_json), without_identity(by_form))
        self.assertEqual(without_identity(by_json), without_identity(by_sdk))
        # Updates too: JSON, form and SDK bring the customers to the same state.
        change = {"name": "Changed", "metadata": {"a": "", "c": "3"}}
        st_, _, uj = post(cpath(by_json["id"]), change, key=self.t.sk_test)
        st_, _, uf = post(cpath(by_form["id"]), form=[("name", "Changed"), ("metadata[a]", ""),
                                                       ("metadata[c]", "3")], key=self.t.sk_test)
        us = body_of(stripe.Customer.modify(by_sdk["id"], **change))
        self.assertEqual(uj["metadata"], {"b": "2", "c": "3"})
        self.assertEqual(without_identity(uj), without_identity(uf))
        self.assertEqual(without_identity(uj), without_identity(us))
        # A JSON body carries its own types: a string is not an integer.
        self.assertError(post(CUSTOMERS, {"balance": "42"}, key=self.t.sk_test), 400,
                         "invalid_request_error", param="balance")
        self.assertError(post(CUSTOMERS, {"name": 5}, key=self.t.sk_test), 400,
                         "invalid_request_error", param="name")


class Validation(CustomerCase):
    def test_unknown_params(self):
        with self.assertInvalid(400, "parameter_unknown", "foo"):
            stripe.Customer.create(name="x", foo="bar")
        c = stripe.Customer.create(name="x")
        with self.assertInvalid(400, "parameter_unknown", "payment_method"):
            stripe.Customer.modify(c.id, payment_method="pm_card_visa")
        with self.assertInvalid(400, "parameter_unknown", "livemode"):
            stripe.Customer.modify(c.id, livemode="true")
        with self.assertInvalid(400, "parameter_unknown", "invoice_settings[footer]"):
            stripe.Customer.modify(c.id, invoice_settings={"footer": "hi"})
        with self.assertInvalid(400, "parameter_unknown", "name"):
            stripe.Customer.list(name="x")
        with self.assertInvalid(400, "parameter_unknown", "email"):
            stripe.Customer.retrieve(c.id, email="x@example.com")
        self.assertError(lt.call("DELETE", cpath(c.id) + "?foo=1", key=self.t.sk_test), 400,
                         "invalid_request_error", code="parameter_unknown", param="foo")
        # Nothing was changed by the refused calls.
        self.assertEqual(stripe.Customer.retrieve(c.id).name, "x")

    def test_email(self):
        for bad in ("plainaddress", "a@b", "@example.com", "a@@example.com", "a b@example.com",
                    "a..b@example.com", "x" * 65 + "@example.com"):
            with self.subTest(email=bad):
                with self.assertInvalid(400, "parameter_invalid", "email"):
                    stripe.Customer.create(email=bad)
        c = stripe.Customer.create(email="ok@example.com")
        with self.assertInvalid(400, "parameter_invalid", "email"):
            stripe.Customer.modify(c.id, email="not-an-email")
        self.assertEqual(stripe.Customer.retrieve(c.id).email, "ok@example.com")
        with self.assertInvalid(400, "parameter_invalid", "email"):
            stripe.Customer.create(email="a" * 500 + "@example.com" + "m" * 10)

    def test_lengths(self):
        for name, limit in (("name", 256), ("description", 350), ("phone", 20)):
            with self.subTest(param=name):
                c = stripe.Customer.create(**{name: "x" * limit})
                self.assertEqual(c[name], "x" * limit)
                with self.assertInvalid(400, "parameter_invalid", name):
                    stripe.Customer.create(**{name: "x" * (limit + 1)})
                with self.assertInvalid(400, "parameter_invalid", name):
                    stripe.Customer.modify(c.id, **{name: "x" * (limit + 1)})

    def test_balance(self):
        for ok in (BALANCE_MAX, -BALANCE_MAX, 0):
            with self.subTest(balance=ok):
                self.assertEqual(stripe.Customer.create(balance=ok).balance, ok)
        c = stripe.Customer.create(balance=5)
        for bad in (BALANCE_MAX + 1, -BALANCE_MAX - 1, "x", "1.5", "", 2 ** 63):
            with self.subTest(balance=bad):
                with self.assertInvalid(400, lt.ANY, "balance") as ctx:
                    stripe.Customer.create(balance=bad)
                self.assertIn(ctx.exception.code, ("parameter_invalid_integer", "parameter_invalid_empty"))
                with self.assertInvalid(400, lt.ANY, "balance"):
                    stripe.Customer.modify(c.id, balance=bad)
        self.assertEqual(stripe.Customer.retrieve(c.id).balance, 5)

    def test_metadata_bounds(self):
        fifty = {"k%02d" % i: "v" for i in range(50)}
        c = stripe.Customer.create(metadata=fifty)
        self.assertEqual(c.metadata.to_dict(), fifty)
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Customer.create(metadata=dict(fifty, extra="v"))
        # 50 kept keys plus one new one is 51, whatever the request held.
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Customer.modify(c.id, metadata={"extra": "v"})
        # Replacing and deleting keep it at 50 or fewer.
        u = stripe.Customer.modify(c.id, metadata={"k00": "", "extra": "v", "k01": "w"})
        self.assertEqual(len(u.metadata), 50)
        self.assertEqual(u.metadata["k01"], "w")
        self.assertNotIn("k00", u.metadata)
        key40 = "k" * 40
        c = stripe.Customer.create(metadata={key40: "v" * 500})
        self.assertEqual(c.metadata[key40], "v" * 500)
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Customer.create(metadata={"k" * 41: "v"})
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Customer.create(metadata={"k": "v" * 501})
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Customer.modify(c.id, metadata={"k": "v" * 501})
        with self.assertInvalid(400, "parameter_invalid", "metadata"):
            stripe.Customer.create(metadata="not an object")
        self.assertEqual(stripe.Customer.retrieve(c.id).metadata.to_dict(), {key40: "v" * 500})
        # JSON: values must be strings; an empty key is no key.
        for bad in ({"n": 5}, {"n": {"x": "y"}}, {"": "v"}, ["a"]):
            with self.subTest(metadata=bad):
                self.assertError(post(CUSTOMERS, {"metadata": bad}, key=self.t.sk_test), 400,
                                 "invalid_request_error", code="parameter_invalid", param="metadata")

    def test_metadata_delete(self):
        c = stripe.Customer.create(metadata={"a": "1", "b": "2", "c": "3"})
        u = stripe.Customer.modify(c.id, metadata={"a": ""})
        self.assertEqual(u.metadata.to_dict(), {"b": "2", "c": "3"})
        # Deleting a key that is not there is no error.
        u = stripe.Customer.modify(c.id, metadata={"zz": ""})
        self.assertEqual(u.metadata.to_dict(), {"b": "2", "c": "3"})
        u = stripe.Customer.modify(c.id, metadata="")
        self.assertEqual(u.metadata.to_dict(), {})
        self.assertEqual(body_of(stripe.Customer.retrieve(c.id))["metadata"], {})
        # JSON null for a key deletes it as "" does.
        st_, _, obj = post(cpath(c.id), {"metadata": {"x": "1", "y": "2"}}, key=self.t.sk_test)
        st_, _, obj = post(cpath(c.id), {"metadata": {"x": None}}, key=self.t.sk_test)
        self.assertEqual((st_, obj["metadata"]), (200, {"y": "2"}))
        c = stripe.Customer.create(metadata="")
        self.assertEqual(c.metadata.to_dict(), {})

    def test_expand(self):
        c = stripe.Customer.create(name="Expand")
        # The expandable field, null, stays null.
        got = stripe.Customer.retrieve(c.id, expand=["invoice_settings.default_payment_method"])
        self.assertIsNone(got.invoice_settings.default_payment_method)
        lst = stripe.Customer.list(limit=1, expand=["data.invoice_settings.default_payment_method"])
        self.assertEqual(len(lst.data), 1)
        for path in ("customer", "name", "invoice_settings", "invoice_settings.footer", "data.customer"):
            with self.subTest(path=path):
                with self.assertInvalid(400, "parameter_invalid", "expand",
                                        "This property cannot be expanded (%s)" % path):
                    stripe.Customer.retrieve(c.id, expand=[path])
        with self.assertInvalid(400, "parameter_invalid", "expand", "This property cannot be expanded"):
            stripe.Customer.create(name="y", expand=["balance"])
        with self.assertInvalid(400, "parameter_invalid", "expand", "This property cannot be expanded"):
            stripe.Customer.modify(c.id, name="y", expand=["email"])
        # A list's paths start with data.
        with self.assertInvalid(400, "parameter_invalid", "expand",
                                "This property cannot be expanded (invoice_settings.default_payment_method)"):
            stripe.Customer.list(expand=["invoice_settings.default_payment_method"])
        with self.assertInvalid(400, "parameter_invalid", "expand", "This property cannot be expanded"):
            stripe.Customer.list(expand=["data.email"])
        self.assertEqual(stripe.Customer.retrieve(c.id).name, "Expand")


class Lists(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = st.tenant()
        # Oldest first; the list answers newest first.
        cls.made = [stripe.Customer.create(name="c%02d" % i, email="pager%d@example.com" % (i % 3)).id
                    for i in range(27)]
        cls.newest = list(reversed(cls.made))

    def setUp(self):
        st.use(self.t.sk_test)

    def page(self, **params):
        st_, _, obj = get(CUSTOMERS + "?" + "&".join("%s=%s" % kv for kv in params.items()),
                          key=self.t.sk_test)
        self.assertEqual(st_, 200, obj)
        return [c["id"] for c in obj["data"]], obj["has_more"]

    def test_auto_paging(self):
        for limit in (1, 3, 10, 26, 27, 100):
            with self.subTest(limit=limit):
                got = [c.id for c in stripe.Customer.list(limit=limit).auto_paging_iter()]
                self.assertEqual(got, self.newest)
                self.assertEqual(len(set(got)), 27)

    def test_default_page(self):
        ids, more = self.page()
        self.assertEqual(ids, self.newest[:10])
        self.assertIs(more, True)
        lst = stripe.Customer.list()
        self.assertEqual(lst.url, "/v1/customers")
        self.assertEqual(lst.object, "list")

    def test_cursors(self):
        n = self.newest
        cases = [
            ({"starting_after": n[0], "limit": 5}, n[1:6], True),
            ({"starting_after": n[21], "limit": 5}, n[22:27], False),
            ({"starting_after": n[26]}, [], False),
            ({"ending_before": n[26], "limit": 5}, n[21:26], True),
            ({"ending_before": n[5], "limit": 5}, n[0:5], False),
            ({"ending_before": n[3], "limit": 10}, n[0:3], False),
            ({"ending_before": n[0]}, [], False),
        ]
        for params, want, more in cases:
            with self.subTest(params=params):
                self.assertEqual(self.page(**params), (want, more))
                sdk = stripe.Customer.list(**params)
                self.assertEqual(([c.id for c in sdk.data], sdk.has_more), (want, more))
        # Paging backwards from the end with ending_before reaches the start exactly.
        seen, cursor = [], n[26]
        while True:
            ids, more = self.page(ending_before=cursor, limit=4)
            seen = ids + seen
            if not more:
                break
            cursor = ids[0]
        self.assertEqual(seen, n[:26])

    def test_email_filter(self):
        got = [c.id for c in stripe.Customer.list(email="pager1@example.com", limit=100).data]
        self.assertEqual(got, [cid for i, cid in enumerate(self.made) if i % 3 == 1][::-1])
        got = [c.id for c in stripe.Customer.list(email="pager1@example.com", limit=2).auto_paging_iter()]
        self.assertEqual(len(got), 9)
        self.assertEqual(stripe.Customer.list(email="PAGER1@example.com").data, [])
        self.assertEqual(stripe.Customer.list(email="nobody@example.com").data, [])
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Customer.list(email="")
        self.assertEqual(cm.exception.param, "email")

    def test_limits(self):
        for bad in ("0", "101", "x", "-1", ""):
            with self.subTest(limit=bad):
                self.assertError(get(CUSTOMERS + "?limit=" + bad, key=self.t.sk_test), 400,
                                 "invalid_request_error", param="limit")
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Customer.list(limit=101)
        self.assertEqual((cm.exception.param, cm.exception.code), ("limit", "parameter_invalid_integer"))
        self.assertEqual(len(self.page(limit=100)[0]), 27)
        self.assertEqual(self.page(limit=1), (self.newest[:1], True))

    def test_cursor_errors(self):
        for param in ("starting_after", "ending_before"):
            with self.subTest(param=param):
                self.assertError(get("%s?%s=cus_nosuchcustomer12345" % (CUSTOMERS, param), key=self.t.sk_test),
                                 404, "invalid_request_error", code="resource_missing", param=param)
                self.assertError(get("%s?%s=not%%20an%%20id" % (CUSTOMERS, param), key=self.t.sk_test),
                                 400, "invalid_request_error", param=param)
        self.assertError(get("%s?starting_after=%s&ending_before=%s" % (CUSTOMERS, self.made[0], self.made[1]),
                             key=self.t.sk_test), 400, "invalid_request_error", param="ending_before")


class Isolation(LevyTestCase):
    """A's test customer is invisible to B's keys and users and to A's live mode."""

    @classmethod
    def setUpClass(cls):
        cls.a = st.tenant()
        cls.cus = stripe.Customer.create(name="A's", email="a@example.com")
        st.use(cls.a.sk_live)
        cls.live = stripe.Customer.create(name="A's live", email="a@example.com")
        cls.b = st.tenant()
        cls.b_cus = stripe.Customer.create(name="B's", email="a@example.com")

    def setUp(self):
        st.use(self.a.sk_test)

    def assertMissing(self, resp, param="id"):
        self.assertError(resp, 404, "invalid_request_error", code="resource_missing", param=param)

    def test_foreign_keys_get_404(self):
        # What each key does see with the shared email.
        own = {self.b.sk_test: [self.b_cus.id], self.b.sk_live: [], self.a.sk_live: [self.live.id],
               self.a.sk_test: [self.cus.id]}
        for key, cid in ((self.b.sk_test, self.cus.id), (self.b.sk_live, self.cus.id),
                         (self.a.sk_live, self.cus.id), (self.a.sk_test, self.live.id),
                         (self.a.sk_test, self.b_cus.id)):
            with self.subTest(key=key[:8], id=cid):
                r = get(cpath(cid), key=key)
                self.assertMissing(r)
                self.assertEqual(r[2]["error"]["message"], "No such customer: '%s'" % cid)
                self.assertMissing(post(cpath(cid), {"name": "Mallory"}, key=key))
                self.assertMissing(lt.call("DELETE", cpath(cid), key=key))
                for cursor in ("starting_after", "ending_before"):
                    self.assertMissing(get("%s?%s=%s" % (CUSTOMERS, cursor, cid), key=key), cursor)
                st_, _, lst = get(CUSTOMERS + "?limit=100", key=key)
                self.assertNotIn(cid, [c["id"] for c in lst["data"]])
                st_, _, lst = get(CUSTOMERS + "?email=a@example.com", key=key)
                self.assertEqual([c["id"] for c in lst["data"]], own[key])
        # With the SDK too, and nothing of A's changed.
        st.use(self.b.sk_test)
        with self.assertRaises(stripe.error.InvalidRequestError) as cm:
            stripe.Customer.modify(self.cus.id, name="Mallory")
        self.assertEqual(cm.exception.http_status, 404)
        st.use(self.a.sk_test)
        got = stripe.Customer.retrieve(self.cus.id)
        self.assertEqual((got.name, got.get("deleted")), ("A's", None))
        st.use(self.a.sk_live)
        self.assertEqual(stripe.Customer.retrieve(self.live.id).name, "A's live")

    def test_dashboard_user_mode(self):
        for mode, want, other in ((None, self.cus.id, self.live.id), ("test", self.cus.id, self.live.id),
                                  ("live", self.live.id, self.cus.id)):
            with self.subTest(mode=mode):
                st_, _, lst = get(CUSTOMERS + "?email=a@example.com", token=self.a.access, mode=mode)
                self.assertEqual(st_, 200, lst)
                self.assertEqual([c["id"] for c in lst["data"]], [want])
                st_, _, c = get(cpath(want), token=self.a.access, mode=mode)
                self.assertEqual((st_, c["livemode"]), (200, mode == "live"))
                self.assertMissing(get(cpath(other), token=self.a.access, mode=mode))
        st_, _, c = post(CUSTOMERS, {"name": "By owner, live"}, token=self.a.access, mode="live")
        self.assertEqual((st_, c["livemode"]), (200, True))
        self.assertError(get(CUSTOMERS, token=self.a.access, mode="neither"), 400,
                         "invalid_request_error", param="Levy-Mode")
        # B's owner sees none of A's customers in either mode.
        for mode in ("test", "live"):
            st_, _, lst = get(CUSTOMERS, token=self.b.access, mode=mode)
            self.assertNotIn(self.cus.id, [c["id"] for c in lst["data"]])
            self.assertMissing(get(cpath(self.cus.id), token=self.b.access, mode=mode))

    def test_developer_writes_test_data_only(self):
        dev = self.a.add_user("developer")
        st_, _, c = post(CUSTOMERS, {"name": "By dev"}, token=dev.access, mode="test")
        self.assertEqual((st_, c["livemode"]), (200, False), c)
        st_, _, u = post(cpath(c["id"]), {"name": "By dev, changed"}, token=dev.access)
        self.assertEqual((st_, u["name"]), (200, "By dev, changed"))
        # Live: may read, may not write.
        st_, _, lst = get(CUSTOMERS, token=dev.access, mode="live")
        self.assertEqual(st_, 200, lst)
        self.assertIn(self.live.id, [x["id"] for x in lst["data"]])
        self.assertError(post(CUSTOMERS, {"name": "Live by dev"}, token=dev.access, mode="live"), 403,
                         "permission_error")
        self.assertError(post(cpath(self.live.id), {"name": "x"}, token=dev.access, mode="live"), 403,
                         "permission_error")
        self.assertError(lt.call("DELETE", cpath(self.live.id), token=dev.access, mode="live"), 403,
                         "permission_error")
        st.use(self.a.sk_live)
        self.assertEqual(stripe.Customer.retrieve(self.live.id).name, "A's live")
        admin = self.a.add_user("admin")
        st_, _, c = post(CUSTOMERS, {"name": "Live by admin"}, token=admin.access, mode="live")
        self.assertEqual((st_, c["livemode"]), (200, True), c)

    def test_publishable_and_anonymous(self):
        for key in (self.a.pk_test, self.a.pk_live):
            with self.subTest(key=key[:8]):
                self.assertError(get(CUSTOMERS, key=key), 403, "permission_error")
                self.assertError(get(cpath(self.cus.id), key=key), 403, "permission_error")
                self.assertError(post(CUSTOMERS, {"name": "x"}, key=key), 403, "permission_error")
                self.assertError(lt.call("DELETE", cpath(self.cus.id), key=key), 403, "permission_error")
        st.use(self.a.pk_test)
        with self.assertRaises(stripe.error.PermissionError) as cm:
            stripe.Customer.create(name="x")
        self.assertEqual(cm.exception.http_status, 403)
        self.assertError(get(CUSTOMERS), 401, "authentication_error")
        st.use(lt.mistype(self.a.sk_test))
        with self.assertRaises(stripe.error.AuthenticationError):
            stripe.Customer.list()


if __name__ == "__main__":
    lt.main()
