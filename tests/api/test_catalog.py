#!/usr/bin/python3
"""The catalog: products (prod_) and plans (plan_) driven through Debian's python3-stripe, as a
tenant's server would, plus raw HTTP where the SDK cannot speak (publishable keys, JSON bodies,
dashboard users with Levy-Mode, malformed values).

Covered: CRUD of both with Stripe's shapes; custom ids (per tenant and mode); inline products
(created in the plan's transaction, gone with it when the plan fails); the price fields' immutability;
features (levy's addition) and each of their refusals; interval limits (3 years); currencies
(lowercased as Stripe does; zero-decimal jpy); publishable keys (active catalog only); lists
(filters, ids[], auto-pagination over 25+ plans, cursors); expand of plan.product; isolation from
other tenants and the other mode; the events the triggers record; the role matrix for dashboard
users.
"""

import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import LevyTestCase  # noqa: E402
import stripetest as st  # noqa: E402

import stripe  # noqa: E402

OWNER = os.environ.get("LEVY_OWNER_CONNINFO", "")
PRODUCTS = "/api/v1/products"
PLANS = "/api/v1/plans"
AMOUNT_MAX = 99999999

PRODUCT_KEYS = {"id", "object", "active", "created", "default_price", "description", "features",
                "images", "livemode", "metadata", "name", "package_dimensions", "shippable",
                "statement_descriptor", "tax_code", "type", "unit_label", "updated", "url"}
PLAN_KEYS = {"id", "object", "active", "aggregate_usage", "amount", "amount_decimal",
             "billing_scheme", "created", "currency", "features", "interval", "interval_count",
             "livemode", "metadata", "nickname", "product", "tiers_mode", "transform_usage",
             "trial_period_days", "usage_type"}

Invalid = stripe.error.InvalidRequestError


def q(path, **params):
    """path?query, with Stripe's bracket notation for lists."""
    pairs = []
    for k, v in params.items():
        if isinstance(v, (list, tuple)):
            pairs += [("%s[%d]" % (k, i), x) for i, x in enumerate(v)]
        else:
            pairs.append((k, v))
    return path + ("?" + urllib.parse.urlencode(pairs) if pairs else "")


def events_of(t, object_id, livemode=False):
    """(type, data) of the events recorded for an object, oldest first (read as levy_owner)."""
    out = lt.psql(OWNER, "SELECT json_build_object('type', type, 'data', data)::text FROM events"
                         " WHERE tenant_id = %d AND livemode = %s AND object_id = '%s' ORDER BY seq"
                  % (int(t.id), "true" if livemode else "false",
                     object_id.replace("'", "''"))).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [(r["type"], r["data"]) for r in rows]


class CatalogCase(LevyTestCase):
    """One tenant shared by the tests that need no empty catalog."""

    @classmethod
    def setUpClass(cls):
        cls.t = lt.new_tenant()
        cls.sk = cls.t.sk_test

    def product(self, key=None, **kw):
        kw.setdefault("name", "Product %s" % lt.unique())
        return stripe.Product.create(api_key=key or self.sk, **kw)

    def plan(self, key=None, **kw):
        key = key or self.sk
        kw.setdefault("amount", 2000)
        kw.setdefault("currency", "usd")
        kw.setdefault("interval", "month")
        if "product" not in kw:
            kw["product"] = self.product(key=key).id
        return stripe.Plan.create(api_key=key, **kw)

    def assertSdkError(self, fn, status, code, param, exc=Invalid, message=None):
        with self.assertRaises(exc) as cm:
            fn()
        err = cm.exception
        self.assertEqual(err.http_status, status, err)
        self.assertEqual(err.code, code, err)
        self.assertEqual(getattr(err, "param", None), param, err)
        if message is not None:
            self.assertEqual(err.user_message, message, err)
        return err


class ProductTest(CatalogCase):
    def test_create_retrieve_shape(self):
        p = self.product(name="Pro", description="The pro tier", active=True,
                         statement_descriptor="LEVY PRO", unit_label="seat",
                         url="https://example.com/pro", metadata={"tier": "pro"})
        self.assertRegex(p.id, r"^prod_[0-9A-Za-z]{24}$")
        got = lt.get("%s/%s" % (PRODUCTS, p.id), key=self.sk)[2]
        self.assertEqual(set(got), PRODUCT_KEYS)
        self.assertEqual(got["object"], "product")
        self.assertEqual(got["name"], "Pro")
        self.assertEqual(got["description"], "The pro tier")
        self.assertIs(got["active"], True)
        self.assertIs(got["livemode"], False)
        self.assertEqual(got["statement_descriptor"], "LEVY PRO")
        self.assertEqual(got["unit_label"], "seat")
        self.assertEqual(got["url"], "https://example.com/pro")
        self.assertEqual(got["metadata"], {"tier": "pro"})
        self.assertRecent(got["created"], "created")
        self.assertEqual(got["updated"], got["created"])
        again = stripe.Product.retrieve(p.id, api_key=self.sk)
        self.assertEqual(again.to_dict_recursive(), got)
        # Defaults: active, no description.
        d = self.product(name="Bare")
        self.assertIs(d.active, True)
        self.assertIsNone(d.description)
        self.assertEqual(d.metadata.to_dict(), {})

    def test_custom_id(self):
        cid = "prod_custom_" + lt.unique()
        p = self.product(id=cid, name="Custom")
        self.assertEqual(p.id, cid)
        self.assertEqual(stripe.Product.retrieve(cid, api_key=self.sk).name, "Custom")
        self.assertSdkError(lambda: self.product(id=cid), 400, "resource_already_exists", "id",
                            message="Product already exists.")
        # The same id in another tenant, and in the other mode of this one.
        other = lt.new_tenant()
        self.assertEqual(self.product(key=other.sk_test, id=cid).id, cid)
        self.assertEqual(self.product(key=self.t.sk_live, id=cid).id, cid)
        self.assertEqual(stripe.Product.retrieve(cid, api_key=self.sk).name, "Custom")
        self.assertSdkError(lambda: self.product(id="has space"), 400, "parameter_invalid", "id")

    def test_create_refusals(self):
        s = self.sk
        self.assertSdkError(lambda: stripe.Product.create(api_key=s), 400, "parameter_missing",
                            "name", message="Missing required param: name.")
        self.assertSdkError(lambda: self.product(name=""), 400, "parameter_invalid_empty", "name")
        self.assertSdkError(lambda: self.product(name="x" * 251), 400, "parameter_invalid", "name")
        self.assertEqual(self.product(name="x" * 250).name, "x" * 250)
        self.assertSdkError(lambda: self.product(shippable=True), 400, "parameter_unknown",
                            "shippable", message="Received unknown parameter: shippable")
        self.assertSdkError(lambda: self.product(active="maybe"), 400, "parameter_invalid", "active")
        self.assertSdkError(lambda: self.product(description="d" * 5001), 400, "parameter_invalid",
                            "description")
        self.assertSdkError(lambda: self.product(unit_label="u" * 13), 400, "parameter_invalid",
                            "unit_label")
        self.assertSdkError(lambda: self.product(url="https://e.com/" + "u" * 2048), 400,
                            "parameter_invalid", "url")
        self.assertSdkError(lambda: self.product(statement_descriptor="S" * 23), 400,
                            "parameter_invalid", "statement_descriptor")
        for bad in ("12345", "BAD <TAG>", "QUOTE'S", "CAF\u00c9 LEVY"):
            self.assertSdkError(lambda: self.product(statement_descriptor=bad), 400,
                                "parameter_invalid", "statement_descriptor")
        self.assertSdkError(lambda: self.product(metadata={"k" * 41: "v"}), 400,
                            "parameter_invalid", "metadata")

    def test_update(self):
        p = self.product(name="Before", description="desc", unit_label="seat",
                         metadata={"a": "1", "b": "2"})
        u = stripe.Product.modify(p.id, api_key=self.sk, name="After", description="",
                                  active=False, url="https://example.com/after",
                                  metadata={"a": "", "c": "3"})
        self.assertEqual(u.name, "After")
        self.assertIsNone(u.description)
        self.assertIs(u.active, False)
        self.assertEqual(u.unit_label, "seat")
        self.assertEqual(u.url, "https://example.com/after")
        self.assertEqual(u.metadata.to_dict(), {"b": "2", "c": "3"})
        self.assertEqual(stripe.Product.retrieve(p.id, api_key=self.sk).to_dict_recursive(),
                         u.to_dict_recursive())
        self.assertSdkError(lambda: stripe.Product.modify(p.id, api_key=self.sk, name=""), 400,
                            "parameter_invalid_empty", "name")
        self.assertSdkError(lambda: stripe.Product.modify(p.id, api_key=self.sk, id="prod_x"), 400,
                            "parameter_unknown", "id")
        self.assertSdkError(lambda: stripe.Product.modify(p.id, api_key=self.sk,
                                                          statement_descriptor="<>"),
                            400, "parameter_invalid", "statement_descriptor")
        self.assertSdkError(lambda: stripe.Product.modify(p.id, api_key=self.sk,
                                                          metadata={"k": "v" * 501}),
                            400, "parameter_invalid", "metadata")
        self.assertSdkError(lambda: stripe.Product.modify("prod_nothere1234567", api_key=self.sk,
                                                          name="x"),
                            404, "resource_missing", "id",
                            message="No such product: 'prod_nothere1234567'")

    def test_updated_moves_only_on_change(self):
        p = self.product(name="Stamp")
        # An hour back in time (the event this records needs the request context's settings).
        lt.psql(OWNER, "SELECT set_config('app.tenant_id', '%d', false),"
                       " set_config('app.livemode', 'false', false);"
                       " UPDATE products SET created = created - interval '1 hour',"
                       " updated = updated - interval '1 hour' WHERE tenant_id = %d AND id = '%s'"
                % (int(self.t.id), int(self.t.id), p.id))
        old = stripe.Product.retrieve(p.id, api_key=self.sk)
        same = stripe.Product.modify(p.id, api_key=self.sk, name="Stamp")
        self.assertEqual(same.updated, old.updated)
        changed = stripe.Product.modify(p.id, api_key=self.sk, name="Stamped")
        self.assertRecent(changed.updated, "updated")
        self.assertEqual(changed.created, old.created)

    def test_delete(self):
        p = self.product()
        d = stripe.Product.delete(p.id, api_key=self.sk)
        self.assertEqual(d.to_dict(), {"id": p.id, "object": "product", "deleted": True})
        got = lt.get("%s/%s" % (PRODUCTS, p.id), key=self.sk)
        self.assertEqual(self.assertStatus(got, 200), {"id": p.id, "object": "product",
                                                        "deleted": True})
        self.assertSdkError(lambda: stripe.Product.modify(p.id, api_key=self.sk, name="x"), 404,
                            "resource_missing", "id")
        self.assertSdkError(lambda: stripe.Product.delete(p.id, api_key=self.sk), 404,
                            "resource_missing", "id")
        self.assertNotIn(p.id, [x.id for x in stripe.Product.list(api_key=self.sk, limit=100)])
        live = self.product()
        self.assertError(lt.get(q("%s/%s" % (PRODUCTS, live.id), active="true"), key=self.sk),
                         400, "invalid_request_error", "parameter_unknown", "active")
        self.assertError(lt.call("DELETE", q("%s/%s" % (PRODUCTS, live.id), force="true"),
                                 key=self.sk),
                         400, "invalid_request_error", "parameter_unknown", "force")
        self.assertFalse(stripe.Product.retrieve(live.id, api_key=self.sk).get("deleted", False))
        # A deleted product cannot be a plan's.
        self.assertSdkError(lambda: self.plan(product=p.id), 404, "resource_missing", "product",
                            message="No such product: '%s'" % p.id)

    def test_delete_refused_while_a_plan_names_it(self):
        p = self.product()
        plan = self.plan(product=p.id)
        self.assertSdkError(lambda: stripe.Product.delete(p.id, api_key=self.sk), 400, None, None,
                            message="This product cannot be deleted because it has one or more "
                                    "user-created prices.")
        got = stripe.Product.retrieve(p.id, api_key=self.sk)
        self.assertFalse(got.get("deleted", False))
        self.assertEqual([ty for ty, _ in events_of(self.t, p.id)], ["product.created"])
        stripe.Plan.delete(plan.id, api_key=self.sk)
        self.assertTrue(stripe.Product.delete(p.id, api_key=self.sk).deleted)

    def test_list_filters(self):
        t = st.tenant()
        a = self.product(key=t.sk_test, name="A")
        b = self.product(key=t.sk_test, name="B", active=False)
        c = self.product(key=t.sk_test, name="C")
        gone = self.product(key=t.sk_test, name="Gone")
        stripe.Product.delete(gone.id, api_key=t.sk_test)
        ids = lambda lst: [x.id for x in lst.data]  # noqa: E731
        everything = stripe.Product.list(api_key=t.sk_test)
        self.assertEqual(ids(everything), [c.id, b.id, a.id])
        self.assertEqual(everything.url, "/v1/products")
        self.assertEqual(ids(stripe.Product.list(api_key=t.sk_test, active=True)), [c.id, a.id])
        self.assertEqual(ids(stripe.Product.list(api_key=t.sk_test, active=False)), [b.id])
        self.assertEqual(ids(stripe.Product.list(api_key=t.sk_test, ids=[a.id, b.id, gone.id,
                                                                          "prod_none"])),
                         [b.id, a.id])
        self.assertEqual(ids(stripe.Product.list(api_key=t.sk_test, ids=[c.id], active=False)), [])
        page = stripe.Product.list(api_key=t.sk_test, limit=2)
        self.assertEqual(ids(page), [c.id, b.id])
        self.assertTrue(page.has_more)
        self.assertEqual(ids(stripe.Product.list(api_key=t.sk_test, starting_after=b.id)), [a.id])
        self.assertEqual(ids(stripe.Product.list(api_key=t.sk_test, ending_before=a.id)),
                         [c.id, b.id])
        self.assertError(lt.get(q(PRODUCTS, ids="prod_a"), key=t.sk_test), 400,
                         "invalid_request_error", "parameter_invalid", "ids")
        self.assertError(lt.get(q(PRODUCTS, ids=["prod_a", "bad id"]), key=t.sk_test), 400,
                         "invalid_request_error", "parameter_invalid", "ids[1]")
        self.assertError(lt.get(q(PRODUCTS, ids=["prod_%d" % i for i in range(101)]),
                                key=t.sk_test), 400, "invalid_request_error",
                         "parameter_invalid", "ids")
        self.assertEqual(len(lt.get(q(PRODUCTS, ids=["prod_%d" % i for i in range(100)]),
                                    key=t.sk_test)[2]["data"]), 0)
        self.assertError(lt.get(q(PRODUCTS, active="yes"), key=t.sk_test), 400,
                         "invalid_request_error", "parameter_invalid", "active")
        self.assertError(lt.get(q(PRODUCTS, shippable="true"), key=t.sk_test), 400,
                         "invalid_request_error", "parameter_unknown", "shippable")


class PlanTest(CatalogCase):
    def test_create_retrieve_shape(self):
        prod = self.product()
        p = self.plan(product=prod.id, amount=1999, currency="eur", interval="week",
                      interval_count=2, nickname="Biweekly", trial_period_days=14,
                      metadata={"k": "v"},
                      features=[{"key": "seats", "name": "Seats", "value": "10"},
                                {"key": "sso", "name": "Single sign-on"}])
        self.assertRegex(p.id, r"^plan_[0-9A-Za-z]{24}$")
        got = lt.get("%s/%s" % (PLANS, p.id), key=self.sk)[2]
        self.assertEqual(set(got), PLAN_KEYS)
        want = {"id": p.id, "object": "plan", "active": True, "aggregate_usage": None,
                "amount": 1999, "amount_decimal": "1999", "billing_scheme": "per_unit",
                "created": got["created"], "currency": "eur",
                "features": [{"key": "seats", "name": "Seats", "value": "10"},
                             {"key": "sso", "name": "Single sign-on", "value": ""}],
                "interval": "week", "interval_count": 2, "livemode": False,
                "metadata": {"k": "v"}, "nickname": "Biweekly", "product": prod.id,
                "tiers_mode": None, "transform_usage": None, "trial_period_days": 14,
                "usage_type": "licensed"}
        self.assertEqual(got, want)
        self.assertRecent(got["created"])
        self.assertEqual(p.to_dict_recursive(), want)
        # Defaults.
        d = self.plan()
        self.assertEqual((d.interval_count, d.active, d.nickname, d.trial_period_days),
                         (1, True, None, None))
        self.assertEqual(d.features, [])
        self.assertEqual(self.plan(amount=0).amount, 0)
        self.assertEqual(self.plan(amount=AMOUNT_MAX).amount, AMOUNT_MAX)

    def test_json_body(self):
        prod = self.product()
        got = self.assertStatus(lt.post(PLANS, {"amount": 500, "currency": "usd", "interval": "year",
                                                "product": prod.id, "active": False,
                                                "features": [{"key": "a.b-c_d", "name": "ABC",
                                                              "value": "x"}],
                                                "metadata": {"m": "1"}}, key=self.sk), 200)
        self.assertEqual((got["amount"], got["interval"], got["active"]), (500, "year", False))
        self.assertEqual(got["features"], [{"key": "a.b-c_d", "name": "ABC", "value": "x"}])
        self.assertError(lt.post(PLANS, {"amount": "500", "currency": "usd", "interval": "year",
                                         "product": prod.id}, key=self.sk),
                         400, "invalid_request_error", "parameter_invalid_integer", "amount")
        self.assertError(lt.post(PLANS, {"amount": 500, "currency": "usd", "interval": "year",
                                         "product": 5}, key=self.sk),
                         400, "invalid_request_error", "parameter_invalid", "product")

    def test_inline_product(self):
        p = self.plan(product={"name": "Inline", "active": False, "unit_label": "seat",
                               "statement_descriptor": "INLINE CO", "metadata": {"x": "y"}})
        prod = stripe.Product.retrieve(p.product, api_key=self.sk)
        self.assertRegex(prod.id, r"^prod_[0-9A-Za-z]{24}$")
        self.assertEqual((prod.name, prod.active, prod.unit_label, prod.statement_descriptor),
                         ("Inline", False, "seat", "INLINE CO"))
        self.assertEqual(prod.metadata.to_dict(), {"x": "y"})
        # With a custom id, and the clash of that id.
        cid = "prod_inline_" + lt.unique()
        self.assertEqual(self.plan(product={"name": "Custom inline", "id": cid}).product, cid)
        self.assertSdkError(lambda: self.plan(product={"name": "Again", "id": cid}), 400,
                            "resource_already_exists", "product[id]",
                            message="Product already exists.")
        # The inline product's own refusals name product[...].
        self.assertSdkError(lambda: self.plan(product={"active": True}), 400, "parameter_missing",
                            "product[name]", message="Missing required param: product[name].")
        self.assertSdkError(lambda: self.plan(product={"name": "x", "description": "d"}), 400,
                            "parameter_unknown", "product[description]")
        self.assertSdkError(lambda: self.plan(product={"name": "x", "metadata": {"k" * 41: "v"}}),
                            400, "parameter_invalid", "product[metadata]")
        self.assertSdkError(lambda: self.plan(product={"name": "x", "statement_descriptor": "123"}),
                            400, "parameter_invalid", "product[statement_descriptor]")
        self.assertSdkError(lambda: self.plan(product={"name": "x", "id": "bad id"}), 400,
                            "parameter_invalid", "product[id]")
        self.assertSdkError(lambda: self.plan(product={"name": ""}), 400,
                            "parameter_invalid_empty", "product[name]")

    def test_inline_product_rolls_back_with_its_plan(self):
        t = st.tenant()
        pid = "plan_taken_" + lt.unique()
        self.plan(key=t.sk_test, id=pid)
        before = [x.id for x in stripe.Product.list(api_key=t.sk_test, limit=100)]
        cid = "prod_orphan_" + lt.unique()
        self.assertSdkError(lambda: self.plan(key=t.sk_test, id=pid,
                                              product={"name": "Orphan", "id": cid}),
                            400, "resource_already_exists", "id", message="Plan already exists.")
        self.assertEqual([x.id for x in stripe.Product.list(api_key=t.sk_test, limit=100)], before)
        self.assertSdkError(lambda: stripe.Product.retrieve(cid, api_key=t.sk_test), 404,
                            "resource_missing", "id")
        self.assertEqual(events_of(t, cid), [])

    def test_product_param(self):
        self.assertSdkError(lambda: stripe.Plan.create(api_key=self.sk, amount=100, currency="usd",
                                                       interval="month"),
                            400, "parameter_missing", "product",
                            message="Missing required param: product.")
        self.assertSdkError(lambda: self.plan(product=""), 400, "parameter_invalid_empty", "product")
        self.assertSdkError(lambda: self.plan(product="not an id"), 400, "parameter_invalid",
                            "product")
        self.assertSdkError(lambda: self.plan(product="prod_missing12345678"), 404,
                            "resource_missing", "product",
                            message="No such product: 'prod_missing12345678'")

    def test_custom_id(self):
        cid = "plan_custom_" + lt.unique()
        self.assertEqual(self.plan(id=cid).id, cid)
        self.assertSdkError(lambda: self.plan(id=cid), 400, "resource_already_exists", "id",
                            message="Plan already exists.")
        # Stripe: the same plan id in the other mode; levy: and in another tenant.
        other = lt.new_tenant()
        self.assertEqual(self.plan(key=other.sk_test, id=cid).id, cid)
        self.assertEqual(self.plan(key=self.t.sk_live, id=cid).livemode, True)
        self.assertEqual(stripe.Plan.retrieve(cid, api_key=self.sk).livemode, False)
        self.assertSdkError(lambda: self.plan(id="bad/id"), 400, "parameter_invalid", "id")
        self.assertSdkError(lambda: self.plan(id="p" * 65), 400, "parameter_invalid", "id")

    def test_price_fields_are_immutable(self):
        p = self.plan(amount=1000, currency="usd", interval="month", interval_count=1)
        other = self.product()
        for name, value in (("amount", 2000), ("currency", "eur"), ("interval", "year"),
                            ("interval_count", 2), ("product", other.id)):
            self.assertSdkError(lambda: stripe.Plan.modify(p.id, api_key=self.sk, **{name: value}),
                                400, "parameter_unknown", name,
                                message="Received unknown parameter: %s" % name)
        got = stripe.Plan.retrieve(p.id, api_key=self.sk)
        self.assertEqual((got.amount, got.currency, got.interval, got.interval_count, got.product),
                         (1000, "usd", "month", 1, p.product))
        self.assertEqual([ty for ty, _ in events_of(self.t, p.id)], ["plan.created"])

    def test_update(self):
        p = self.plan(nickname="Old", trial_period_days=7, metadata={"a": "1"},
                      features=[{"key": "seats", "name": "Seats", "value": "5"}])
        u = stripe.Plan.modify(p.id, api_key=self.sk, nickname="New", active=False,
                               trial_period_days=30, metadata={"b": "2"},
                               features=[{"key": "seats", "name": "Seats", "value": "50"},
                                         {"key": "api", "name": "API access", "value": "true"}])
        self.assertEqual((u.nickname, u.active, u.trial_period_days), ("New", False, 30))
        self.assertEqual(u.metadata.to_dict(), {"a": "1", "b": "2"})
        self.assertEqual(u.to_dict_recursive()["features"],
                         [{"key": "seats", "name": "Seats", "value": "50"},
                          {"key": "api", "name": "API access", "value": "true"}])
        self.assertEqual(stripe.Plan.retrieve(p.id, api_key=self.sk).to_dict_recursive(),
                         u.to_dict_recursive())
        # Untouched fields stay; "" clears the nickname and the features.
        u = stripe.Plan.modify(p.id, api_key=self.sk, nickname="", features="")
        self.assertIsNone(u.nickname)
        self.assertEqual(u.features, [])
        self.assertEqual((u.active, u.trial_period_days), (False, 30))
        self.assertSdkError(lambda: stripe.Plan.modify(p.id, api_key=self.sk, trial_period_days=731),
                            400, "parameter_invalid_integer", "trial_period_days")
        self.assertSdkError(lambda: stripe.Plan.modify(p.id, api_key=self.sk, nickname="n" * 251),
                            400, "parameter_invalid", "nickname")
        self.assertSdkError(lambda: stripe.Plan.modify(p.id, api_key=self.sk, active="sometimes"),
                            400, "parameter_invalid", "active")
        self.assertSdkError(lambda: stripe.Plan.modify(p.id, api_key=self.sk,
                                                       metadata={"k": "v" * 501}),
                            400, "parameter_invalid", "metadata")
        self.assertSdkError(lambda: stripe.Plan.modify(p.id, api_key=self.sk,
                                                       features=[{"key": "BAD", "name": "x"}]),
                            400, "parameter_invalid", "features[0][key]")
        self.assertSdkError(lambda: stripe.Plan.modify("plan_nothere123456789", api_key=self.sk,
                                                       nickname="x"),
                            404, "resource_missing", "id",
                            message="No such plan: 'plan_nothere123456789'")

    def test_create_refusals(self):
        prod = self.product().id
        base = {"amount": 100, "currency": "usd", "interval": "month", "product": prod}

        def create(**over):
            kw = dict(base)
            kw.update(over)
            for k in [k for k, v in kw.items() if v is None]:
                del kw[k]
            return lambda: stripe.Plan.create(api_key=self.sk, **kw)

        self.assertSdkError(create(amount=None), 400, "parameter_missing", "amount",
                            message="Missing required param: amount.")
        self.assertSdkError(create(amount=-1), 400, "parameter_invalid_integer", "amount")
        self.assertSdkError(create(amount=AMOUNT_MAX + 1), 400, "parameter_invalid_integer",
                            "amount")
        self.assertSdkError(create(amount="12.5"), 400, "parameter_invalid_integer", "amount")
        self.assertSdkError(create(currency=None), 400, "parameter_missing", "currency")
        self.assertSdkError(create(currency="xyz"), 400, "parameter_invalid", "currency",
                            message="Invalid currency: xyz.")
        self.assertSdkError(create(currency="u" * 17), 400, "parameter_invalid", "currency")
        self.assertSdkError(create(interval=None), 400, "parameter_missing", "interval",
                            message="Missing required param: interval.")
        self.assertSdkError(create(interval="fortnight"), 400, "parameter_invalid", "interval",
                            message="Invalid interval: must be one of day, week, month, year.")
        self.assertSdkError(create(interval_count=0), 400, "parameter_invalid_integer",
                            "interval_count")
        self.assertSdkError(create(trial_period_days=-1), 400, "parameter_invalid_integer",
                            "trial_period_days")
        self.assertSdkError(create(trial_period_days=731), 400, "parameter_invalid_integer",
                            "trial_period_days")
        self.assertEqual(create(trial_period_days=730)().trial_period_days, 730)
        self.assertSdkError(create(nickname="n" * 251), 400, "parameter_invalid", "nickname")
        self.assertSdkError(create(active="perhaps"), 400, "parameter_invalid", "active")
        self.assertSdkError(create(metadata={"k" * 41: "v"}), 400, "parameter_invalid", "metadata")
        self.assertSdkError(create(amount_decimal="100"), 400, "parameter_unknown",
                            "amount_decimal")
        self.assertSdkError(create(usage_type="metered"), 400, "parameter_unknown", "usage_type")

    def test_currency(self):
        # Stripe takes any case and shows the code lowercase; levy does the same.
        p = self.plan(currency="USD")
        self.assertEqual(p.currency, "usd")
        self.assertEqual(stripe.Plan.retrieve(p.id, api_key=self.sk).currency, "usd")
        self.assertEqual(self.plan(currency="Eur").currency, "eur")
        # A zero-decimal currency: 500 is 500 yen.
        jpy = self.plan(currency="jpy", amount=500)
        self.assertEqual((jpy.amount, jpy.amount_decimal, jpy.currency), (500, "500", "jpy"))
        self.assertEqual(self.plan(currency="bhd", amount=1000).currency, "bhd")

    def test_interval_limits(self):
        for interval, most in (("day", 1095), ("week", 156), ("month", 36), ("year", 3)):
            ok = self.plan(interval=interval, interval_count=most)
            self.assertEqual((ok.interval, ok.interval_count), (interval, most))
            self.assertSdkError(lambda: self.plan(interval=interval, interval_count=most + 1), 400,
                                "parameter_invalid", "interval_count",
                                message="Invalid interval_count: the maximum billing period is 3 "
                                        "years (3 years, 36 months, 156 weeks or 1095 days).")
        self.assertSdkError(lambda: self.plan(interval="month", interval_count=10 ** 7), 400,
                            "parameter_invalid_integer", "interval_count")

    def test_features_form(self):
        """Bodies as the SDK sends them: features[0][key]=...; value optional."""
        feats = [{"key": "k%d" % i, "name": "Feature %d" % i, "value": str(i)} for i in range(100)]
        p = self.plan(features=feats)
        self.assertEqual(p.to_dict_recursive()["features"], feats)
        multi = self.plan(features=[{"key": "0", "name": "\u00e9" * 250, "value": "\u00e9" * 500},
                                    {"key": "x" * 64, "name": "Empty value", "value": ""}])
        self.assertEqual(multi.features[0]["name"], "\u00e9" * 250)
        self.assertEqual(multi.features[1]["value"], "")

    def test_features_refusals(self):
        prod = self.product().id
        base = {"amount": 100, "currency": "usd", "interval": "month", "product": prod}

        def sdk(features):
            return lambda: stripe.Plan.create(api_key=self.sk, features=features, **base)

        def raw(features):
            body = dict(base)
            body["features"] = features
            return lt.post(PLANS, body, key=self.sk)

        def form(pairs):
            return lt.post(PLANS, form=[(k, str(v)) for k, v in base.items()] + pairs, key=self.sk)

        bad = "invalid_request_error"
        self.assertError(raw("seats"), 400, bad, "parameter_invalid", "features")
        self.assertError(form([("features[key]", "x")]), 400, bad, "parameter_invalid", "features")
        self.assertError(raw([{"key": "k%d" % i, "name": "n"} for i in range(101)]), 400, bad,
                         "parameter_invalid", "features",
                         message="Invalid features: a plan has at most 100 features.")
        self.assertError(raw(["seats"]), 400, bad, "parameter_invalid", "features[0]")
        self.assertError(raw([{"key": "a", "name": "A"}, None]), 400, bad, "parameter_invalid",
                         "features[1]")
        self.assertError(form([("features[0]", "seats")]), 400, bad, "parameter_invalid",
                         "features[0]")
        self.assertSdkError(sdk([{"key": "a", "name": "A", "color": "red"}]), 400,
                            "parameter_unknown", "features[0][color]")
        self.assertSdkError(sdk([{"name": "A"}]), 400, "parameter_missing", "features[0][key]",
                            message="Missing required param: features[0][key].")
        self.assertSdkError(sdk([{"key": "", "name": "A"}]), 400, "parameter_invalid_empty",
                            "features[0][key]")
        self.assertSdkError(sdk([{"key": "x" * 65, "name": "A"}]), 400, "parameter_invalid",
                            "features[0][key]")
        for key in ("Seats", "_seats", ".x", "-x", "a b", "s\u00e9at", "a/b"):
            self.assertSdkError(sdk([{"key": key, "name": "A"}]), 400, "parameter_invalid",
                                "features[0][key]")
        self.assertSdkError(sdk([{"key": "a", "name": "A"}, {"key": "b", "name": "B"},
                                 {"key": "a", "name": "Again"}]),
                            400, "parameter_invalid", "features[2][key]")
        self.assertSdkError(sdk([{"key": "a"}]), 400, "parameter_missing", "features[0][name]")
        self.assertSdkError(sdk([{"key": "a", "name": ""}]), 400, "parameter_invalid_empty",
                            "features[0][name]")
        self.assertSdkError(sdk([{"key": "a", "name": "\u00e9" * 251}]), 400, "parameter_invalid",
                            "features[0][name]",
                            message="Invalid features[0][name]: at most 250 characters.")
        self.assertSdkError(sdk([{"key": "a", "name": "n" * 1001}]), 400, "parameter_invalid",
                            "features[0][name]")
        self.assertSdkError(sdk([{"key": "a", "name": "A", "value": "\u00e9" * 501}]), 400,
                            "parameter_invalid", "features[0][value]",
                            message="Invalid features[0][value]: at most 500 characters.")
        self.assertSdkError(sdk([{"key": "a", "name": "A", "value": "v" * 2001}]), 400,
                            "parameter_invalid", "features[0][value]")
        self.assertError(raw([{"key": "a", "name": "A", "value": 5}]), 400, bad,
                         "parameter_invalid", "features[0][value]")
        self.assertError(raw([{"key": 7, "name": "A"}]), 400, bad, "parameter_invalid",
                         "features[0][key]")
        # Nothing was created by any of them.
        self.assertEqual(stripe.Plan.list(api_key=self.sk, product=prod).data, [])

    def test_delete(self):
        p = self.plan()
        d = stripe.Plan.delete(p.id, api_key=self.sk)
        self.assertEqual(d.to_dict(), {"id": p.id, "object": "plan", "deleted": True})
        got = self.assertStatus(lt.get("%s/%s" % (PLANS, p.id), key=self.sk), 200)
        self.assertEqual(got, {"id": p.id, "object": "plan", "deleted": True})
        self.assertSdkError(lambda: stripe.Plan.modify(p.id, api_key=self.sk, nickname="x"), 404,
                            "resource_missing", "id")
        self.assertSdkError(lambda: stripe.Plan.delete(p.id, api_key=self.sk), 404,
                            "resource_missing", "id", message="No such plan: '%s'" % p.id)
        self.assertEqual(stripe.Plan.list(api_key=self.sk, product=p.product).data, [])
        self.assertError(lt.get(q(PLANS, starting_after=p.id), key=self.sk), 404,
                         "invalid_request_error", "resource_missing", "starting_after")
        live = self.plan()
        self.assertError(lt.call("DELETE", q("%s/%s" % (PLANS, live.id), force="true"),
                                 key=self.sk),
                         400, "invalid_request_error", "parameter_unknown", "force")
        self.assertError(lt.get(q("%s/%s" % (PLANS, live.id), product=live.product), key=self.sk),
                         400, "invalid_request_error", "parameter_unknown", "product")
        self.assertIs(stripe.Plan.retrieve(live.id, api_key=self.sk).active, True)

    def test_list_filters_and_autopaging(self):
        t = st.tenant()
        k = t.sk_test
        p1, p2 = self.product(key=k), self.product(key=k)
        made = [self.plan(key=k, product=(p1 if i % 2 else p2).id, amount=i,
                          active=(i % 5 != 0)) for i in range(27)]
        newest_first = [p.id for p in reversed(made)]
        seen = [p.id for p in stripe.Plan.list(api_key=k, limit=4).auto_paging_iter()]
        self.assertEqual(seen, newest_first)
        lst = stripe.Plan.list(api_key=k)
        self.assertEqual((len(lst.data), lst.has_more, lst.url), (10, True, "/v1/plans"))
        self.assertEqual([p.id for p in stripe.Plan.list(api_key=k, product=p1.id,
                                                         limit=100).data],
                         [p.id for p in reversed(made) if p.product == p1.id])
        self.assertEqual([p.id for p in stripe.Plan.list(api_key=k, active=False,
                                                         limit=100).data],
                         [p.id for p in reversed(made) if not p.active])
        self.assertEqual([p.id for p in stripe.Plan.list(api_key=k, active=True, product=p2.id,
                                                         limit=100).data],
                         [p.id for p in reversed(made) if p.active and p.product == p2.id])
        back = stripe.Plan.list(api_key=k, ending_before=made[3].id, limit=2)
        self.assertEqual([p.id for p in back.data], [made[5].id, made[4].id])
        self.assertError(lt.get(q(PLANS, product="bad id"), key=k), 400, "invalid_request_error",
                         "parameter_invalid", "product")
        self.assertError(lt.get(q(PLANS, active="1"), key=k), 400, "invalid_request_error",
                         "parameter_invalid", "active")
        self.assertError(lt.get(q(PLANS, currency="usd"), key=k), 400, "invalid_request_error",
                         "parameter_unknown", "currency")

    def test_expand_product(self):
        prod = self.product(name="Expandable")
        p = self.plan(product=prod.id)
        got = stripe.Plan.retrieve(p.id, api_key=self.sk, expand=["product"])
        self.assertIsInstance(got.product, stripe.Product)
        self.assertEqual(got.product.to_dict_recursive(),
                         stripe.Product.retrieve(prod.id, api_key=self.sk).to_dict_recursive())
        made = self.plan(product=prod.id, expand=["product"])
        self.assertEqual(made.product.name, "Expandable")
        changed = stripe.Plan.modify(p.id, api_key=self.sk, nickname="x", expand=["product"])
        self.assertEqual(changed.product.id, prod.id)
        lst = stripe.Plan.list(api_key=self.sk, product=prod.id, expand=["data.product"])
        self.assertEqual([x.product.id for x in lst.data], [prod.id, prod.id])
        self.assertError(lt.get(q("%s/%s" % (PLANS, p.id), expand=["nickname"]), key=self.sk),
                         400, "invalid_request_error", "parameter_invalid", "expand")
        self.assertError(lt.get(q(PLANS, expand=["product"]), key=self.sk),
                         400, "invalid_request_error", "parameter_invalid", "expand")


class PublishableKeyTest(CatalogCase):
    """A pricing page with pk_: the active catalog, read-only; everything else is a 404 or 403."""

    def test_read_active_catalog_only(self):
        t = st.tenant()
        k, pk = t.sk_test, t.pk_test
        live_prod = self.product(key=k, name="Live")
        hidden_prod = self.product(key=k, name="Hidden", active=False)
        gone_prod = self.product(key=k, name="Gone")
        stripe.Product.delete(gone_prod.id, api_key=k)
        sold = self.plan(key=k, product=live_prod.id, nickname="sold")
        off = self.plan(key=k, product=live_prod.id, active=False)
        of_hidden = self.plan(key=k, product=hidden_prod.id)
        gone = self.plan(key=k, product=live_prod.id)
        stripe.Plan.delete(gone.id, api_key=k)
        sold2 = self.plan(key=k, product=live_prod.id, nickname="sold2")

        ids = lambda resp: [x["id"] for x in self.assertStatus(resp, 200)["data"]]  # noqa: E731
        self.assertEqual(ids(lt.get(PLANS, key=pk)), [sold2.id, sold.id])
        self.assertEqual(ids(lt.get(q(PLANS, active="false"), key=pk)), [])
        self.assertEqual(ids(lt.get(q(PLANS, product=hidden_prod.id), key=pk)), [])
        self.assertEqual(ids(lt.get(PRODUCTS, key=pk)), [live_prod.id])
        self.assertEqual(ids(lt.get(q(PRODUCTS, active="false"), key=pk)), [])
        self.assertEqual(ids(lt.get(q(PRODUCTS, ids=[hidden_prod.id, live_prod.id]), key=pk)),
                         [live_prod.id])
        # The secret key sees it all.
        self.assertEqual(ids(lt.get(q(PLANS, limit=100), key=k)),
                         [sold2.id, of_hidden.id, off.id, sold.id])

        got = self.assertStatus(lt.get("%s/%s" % (PLANS, sold.id), key=pk), 200)
        self.assertEqual(got, stripe.Plan.retrieve(sold.id, api_key=k).to_dict_recursive())
        exp = self.assertStatus(lt.get(q("%s/%s" % (PLANS, sold.id), expand=["product"]), key=pk),
                                200)
        self.assertEqual(exp["product"]["name"], "Live")
        lst = self.assertStatus(lt.get(q(PLANS, expand=["data.product"]), key=pk), 200)
        self.assertEqual([x["product"]["id"] for x in lst["data"]], [live_prod.id] * 2)
        self.assertEqual(self.assertStatus(lt.get("%s/%s" % (PRODUCTS, live_prod.id), key=pk),
                                           200)["name"], "Live")
        for plan in (off, of_hidden, gone):
            self.assertError(lt.get("%s/%s" % (PLANS, plan.id), key=pk), 404,
                             "invalid_request_error", "resource_missing", "id",
                             "No such plan: '%s'" % plan.id)
        for prod in (hidden_prod, gone_prod):
            self.assertError(lt.get("%s/%s" % (PRODUCTS, prod.id), key=pk), 404,
                             "invalid_request_error", "resource_missing", "id",
                             "No such product: '%s'" % prod.id)
        # A cursor it may not see is a 404 too: its existence is not told.
        self.assertError(lt.get(q(PLANS, starting_after=off.id), key=pk), 404,
                         "invalid_request_error", "resource_missing", "starting_after")
        self.assertError(lt.get(q(PLANS, ending_before=of_hidden.id), key=pk), 404,
                         "invalid_request_error", "resource_missing", "ending_before")
        self.assertEqual(ids(lt.get(q(PLANS, starting_after=sold2.id), key=pk)), [sold.id])
        self.assertEqual(ids(lt.get(q(PLANS, ending_before=sold.id), key=pk)), [sold2.id])
        self.assertError(lt.get(q(PRODUCTS, starting_after=hidden_prod.id), key=pk), 404,
                         "invalid_request_error", "resource_missing", "starting_after")
        self.assertError(lt.get(q(PRODUCTS, ending_before=hidden_prod.id), key=pk), 404,
                         "invalid_request_error", "resource_missing", "ending_before")
        self.assertEqual(ids(lt.get(q(PRODUCTS, ending_before=live_prod.id), key=pk)), [])
        # The live publishable key sees the live catalog (empty), not the test one.
        self.assertEqual(ids(lt.get(PLANS, key=t.pk_live)), [])
        self.assertError(lt.get("%s/%s" % (PLANS, sold.id), key=t.pk_live), 404,
                         "invalid_request_error", "resource_missing", "id")

    def test_writes_refused(self):
        t = st.tenant()
        prod = self.product(key=t.sk_test)
        plan = self.plan(key=t.sk_test, product=prod.id)
        body = {"amount": 100, "currency": "usd", "interval": "month", "product": prod.id}
        for resp in (lt.post(PLANS, body, key=t.pk_test),
                     lt.post("%s/%s" % (PLANS, plan.id), {"nickname": "x"}, key=t.pk_test),
                     lt.delete("%s/%s" % (PLANS, plan.id), key=t.pk_test),
                     lt.post(PRODUCTS, {"name": "x"}, key=t.pk_test),
                     lt.post("%s/%s" % (PRODUCTS, prod.id), {"name": "x"}, key=t.pk_test),
                     lt.delete("%s/%s" % (PRODUCTS, prod.id), key=t.pk_test)):
            self.assertError(resp, 403, "permission_error")
        self.assertEqual(stripe.Plan.retrieve(plan.id, api_key=t.sk_test).nickname, None)
        self.assertEqual(len(stripe.Plan.list(api_key=t.sk_test).data), 1)
        self.assertEqual(stripe.Product.retrieve(prod.id, api_key=t.sk_test).name, prod.name)


class IsolationTest(CatalogCase):
    """Another tenant's objects, and the other mode's, are 404s and cannot be referenced."""

    def test_other_tenant_and_mode(self):
        a = st.tenant()
        b = lt.new_tenant()
        a_prod = self.product(key=a.sk_test)
        a_plan = self.plan(key=a.sk_test, product=a_prod.id)
        for key in (b.sk_test, a.sk_live, b.pk_test, a.pk_live):
            self.assertError(lt.get("%s/%s" % (PRODUCTS, a_prod.id), key=key), 404,
                             "invalid_request_error", "resource_missing", "id")
            self.assertError(lt.get("%s/%s" % (PLANS, a_plan.id), key=key), 404,
                             "invalid_request_error", "resource_missing", "id")
            self.assertNotIn(a_plan.id, [x["id"] for x in lt.get(PLANS, key=key)[2]["data"]])
            self.assertNotIn(a_prod.id, [x["id"] for x in lt.get(PRODUCTS, key=key)[2]["data"]])
            self.assertError(lt.get(q(PLANS, starting_after=a_plan.id), key=key), 404,
                             "invalid_request_error", "resource_missing", "starting_after")
        for key in (b.sk_test, a.sk_live):
            self.assertError(lt.post("%s/%s" % (PRODUCTS, a_prod.id), {"name": "stolen"}, key=key),
                             404, "invalid_request_error", "resource_missing", "id")
            self.assertError(lt.delete("%s/%s" % (PRODUCTS, a_prod.id), key=key), 404,
                             "invalid_request_error", "resource_missing", "id")
            self.assertError(lt.post("%s/%s" % (PLANS, a_plan.id), {"nickname": "stolen"}, key=key),
                             404, "invalid_request_error", "resource_missing", "id")
            self.assertError(lt.delete("%s/%s" % (PLANS, a_plan.id), key=key), 404,
                             "invalid_request_error", "resource_missing", "id")
            self.assertError(lt.post(PLANS, {"amount": 1, "currency": "usd", "interval": "month",
                                             "product": a_prod.id}, key=key),
                             404, "invalid_request_error", "resource_missing", "product",
                             "No such product: '%s'" % a_prod.id)
            self.assertEqual(lt.get(q(PLANS, product=a_prod.id), key=key)[2]["data"], [])
        got = stripe.Plan.retrieve(a_plan.id, api_key=a.sk_test)
        self.assertEqual((got.nickname, got.get("deleted")), (None, None))
        self.assertEqual(stripe.Product.retrieve(a_prod.id, api_key=a.sk_test).name, a_prod.name)
        # A plan in the other mode of the same custom id names its own mode's product.
        cid = "prod_shared_" + lt.unique()
        self.product(key=a.sk_test, id=cid, name="test one")
        self.product(key=a.sk_live, id=cid, name="live one")
        live_plan = self.plan(key=a.sk_live, product=cid, expand=["product"])
        self.assertEqual((live_plan.product.name, live_plan.livemode), ("live one", True))
        self.assertEqual(self.plan(key=a.sk_test, product=cid,
                                   expand=["product"]).product.name, "test one")


class EventsTest(CatalogCase):
    def test_product_events(self):
        p = self.product(name="Evented", metadata={"a": "1"})
        stripe.Product.modify(p.id, api_key=self.sk, name="Renamed", active=False)
        stripe.Product.modify(p.id, api_key=self.sk, name="Renamed")  # no change: no event
        stripe.Product.delete(p.id, api_key=self.sk)
        ev = events_of(self.t, p.id)
        self.assertEqual([ty for ty, _ in ev], ["product.created", "product.updated",
                                                "product.deleted"])
        self.assertEqual(ev[0][1]["object"]["name"], "Evented")
        self.assertNotIn("previous_attributes", ev[0][1])
        self.assertEqual(ev[1][1]["object"]["name"], "Renamed")
        prev = ev[1][1]["previous_attributes"]
        self.assertEqual({k: prev[k] for k in ("name", "active")}, {"name": "Evented",
                                                                    "active": True})
        self.assertLessEqual(set(prev), {"name", "active", "updated"})
        self.assertEqual(ev[2][1]["object"]["name"], "Renamed")
        self.assertIs(ev[2][1]["object"]["active"], False)

    def test_plan_events(self):
        p = self.plan(product={"name": "Inline evented"}, nickname="one")
        stripe.Plan.modify(p.id, api_key=self.sk, nickname="two",
                           features=[{"key": "k", "name": "K"}])
        stripe.Plan.modify(p.id, api_key=self.sk, nickname="two")
        stripe.Plan.delete(p.id, api_key=self.sk)
        ev = events_of(self.t, p.id)
        self.assertEqual([ty for ty, _ in ev], ["plan.created", "plan.updated", "plan.deleted"])
        self.assertEqual(ev[0][1]["object"]["nickname"], "one")
        self.assertEqual(ev[1][1]["previous_attributes"], {"nickname": "one", "features": []})
        self.assertEqual(ev[1][1]["object"]["features"], [{"key": "k", "name": "K", "value": ""}])
        self.assertEqual(ev[2][1]["object"]["id"], p.id)
        # The inline product's own event, in the same transaction.
        self.assertEqual([ty for ty, _ in events_of(self.t, p.product)], ["product.created"])

    def test_live_events_are_live(self):
        p = self.plan(key=self.t.sk_live)
        self.assertEqual([ty for ty, _ in events_of(self.t, p.id, livemode=True)],
                         ["plan.created"])
        self.assertEqual(events_of(self.t, p.id, livemode=False), [])


class DashboardTest(CatalogCase):
    """Dashboard users: reads for every role, writes per the role matrix and Levy-Mode."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.t.add_user("admin")
        cls.dev = cls.t.add_user("developer")

    def body(self, key):
        return {"amount": 4200, "currency": "usd", "interval": "month",
                "product": self.product(key=key).id}

    def test_developer_may_not_write_live(self):
        body = self.body(self.t.sk_live)
        before = lt.get(q(PLANS, limit=100), key=self.t.sk_live)[2]["data"]
        self.assertError(lt.post(PLANS, body, token=self.dev.access, mode="live"), 403,
                         "permission_error")
        self.assertError(lt.post(PRODUCTS, {"name": "x"}, token=self.dev.access, mode="live"), 403,
                         "permission_error")
        self.assertEqual(lt.get(q(PLANS, limit=100), key=self.t.sk_live)[2]["data"], before)
        # Reading live is allowed; writing test data is too.
        self.assertEqual(self.assertStatus(lt.get(q(PLANS, limit=100), token=self.dev.access,
                                                  mode="live"), 200)["data"], before)
        made = self.assertStatus(lt.post(PLANS, self.body(self.sk), token=self.dev.access,
                                         mode="test"), 200)
        self.assertIs(made["livemode"], False)

    def test_admin_writes_live(self):
        made = self.assertStatus(lt.post(PLANS, self.body(self.t.sk_live), token=self.admin.access,
                                         mode="live"), 200)
        self.assertIs(made["livemode"], True)
        self.assertEqual(stripe.Plan.retrieve(made["id"], api_key=self.t.sk_live).amount, 4200)
        self.assertSdkError(lambda: stripe.Plan.retrieve(made["id"], api_key=self.sk), 404,
                            "resource_missing", "id")
        got = self.assertStatus(lt.get("%s/%s" % (PLANS, made["id"]), token=self.dev.access,
                                       mode="live"), 200)
        self.assertEqual(got["id"], made["id"])
        # The dashboard's reads are not a publishable key's: inactive plans are visible.
        stripe.Plan.modify(made["id"], api_key=self.t.sk_live, active=False)
        self.assertStatus(lt.get("%s/%s" % (PLANS, made["id"]), token=self.admin.access,
                                 mode="live"), 200)


if __name__ == "__main__":
    lt.main()
