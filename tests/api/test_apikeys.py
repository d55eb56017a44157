#!/usr/bin/python3
"""API keys: the list (redaction, who sees what), rolling with expiry, publishable keys'
limits, and test and live never crossing."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import API_KEYS, ROLL, VERIFY, LevyTestCase, get, post  # noqa: E402

KEY_OBJ = {"id", "object", "type", "livemode", "key", "redacted", "created", "last_used", "expires_at"}


def redacted(key):
    return key[:8] + "..." + key[-4:]


class KeyCase(LevyTestCase):
    def assertKeyObject(self, k):
        self.assertTrue(KEY_OBJ <= set(k), "api_key object keys %s" % sorted(k))
        self.assertLessEqual(set(k) - KEY_OBJ, {"secret"}, "unexpected keys")
        self.assertEqual(k["object"], "api_key")
        self.assertIn(k["type"], ("secret", "publishable"))
        self.assertIsInstance(k["livemode"], bool)
        self.assertIsInstance(k["redacted"], bool)
        self.assertRecent(k["created"], "created", slack=3600)
        if k["last_used"] is not None:
            self.assertRecent(k["last_used"], "last_used", slack=3600)
        if k["expires_at"] is not None:
            self.assertInt(k["expires_at"], "expires_at")

    def listing(self, token, **kw):
        st, _, obj = get(API_KEYS, token=token, **kw)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["object"], "list")
        self.assertEqual(obj["url"], "/v1/auth/api_keys")
        self.assertIn("has_more", obj)
        for k in obj["data"]:
            self.assertKeyObject(k)
        return obj

    def roll(self, token, mode, type_, expire=None, expect=201):
        body = {"mode": mode, "type": type_}
        if expire is not None:
            body["expire_old_in_seconds"] = expire
        st, _, obj = post(ROLL, body, token=token)
        self.assertEqual(st, expect, obj)
        return obj


class List(KeyCase):
    def test_owner_sees_all_four(self):
        t = lt.new_tenant()
        obj = self.listing(t.access)
        self.assertEqual(len(obj["data"]), 4)
        by = {(k["type"], k["livemode"]): k for k in obj["data"]}
        self.assertEqual(set(by), {("secret", True), ("secret", False), ("publishable", True),
                                   ("publishable", False)})
        self.assertEqual(by[("publishable", True)]["key"], t.pk_live)
        self.assertEqual(by[("publishable", False)]["key"], t.pk_test)
        self.assertIs(by[("publishable", True)]["redacted"], False)
        self.assertEqual(by[("secret", True)]["key"], redacted(t.sk_live))
        self.assertEqual(by[("secret", False)]["key"], redacted(t.sk_test))
        self.assertIs(by[("secret", True)]["redacted"], True)
        for k in obj["data"]:
            self.assertIsNone(k["expires_at"])
        text = json.dumps(obj)
        self.assertNotIn(t.sk_live, text)
        self.assertNotIn(t.sk_test, text)
        self.assertNotIn(t.sk_live[8:-4], text)
        self.assertEqual(len({k["id"] for k in obj["data"]}), 4)

    def test_admin_and_developer_see_test_keys_only(self):
        t = lt.new_tenant()
        for role in ("admin", "developer"):
            m = t.add_user(role)
            with self.subTest(role=role):
                for mode in (None, "live", "test"):
                    obj = self.listing(m.access, mode=mode)
                    self.assertEqual(len(obj["data"]), 2)
                    self.assertTrue(all(k["livemode"] is False for k in obj["data"]))
                    text = json.dumps(obj)
                    self.assertNotIn(t.pk_live, text)
                    self.assertNotIn(redacted(t.sk_live), text)

    def test_last_used(self):
        t = lt.new_tenant()
        before = int(time.time()) - 2
        self.assertEqual(get(VERIFY, key=t.sk_test)[0], 200)
        obj = self.listing(t.access)
        by = {(k["type"], k["livemode"]): k for k in obj["data"]}
        used = by[("secret", False)]["last_used"]
        self.assertInt(used, "last_used after use")
        self.assertGreaterEqual(used, before)
        self.assertIsNone(by[("secret", True)]["last_used"], "an unused key has last_used null")

    def test_api_keys_cannot_list(self):
        t = lt.new_tenant()
        for k in (t.sk_test, t.sk_live, t.pk_test, t.pk_live):
            with self.subTest(key=k[:8]):
                self.assertError(get(API_KEYS, key=k), 403, "permission_error")
        self.assertError(get(API_KEYS), 401, "authentication_error")


class Roll(KeyCase):
    def test_roll_secret_test_expire_now(self):
        t = lt.new_tenant()
        new = self.roll(t.access, "test", "secret", 0)
        self.assertKeyObject(new)
        self.assertRegex(new["key"], lt.KEY_RE["sk_test"])
        self.assertNotEqual(new["key"], t.sk_test)
        self.assertIs(new["redacted"], False)
        self.assertIs(new["livemode"], False)
        self.assertEqual(new["type"], "secret")
        self.assertIsNone(new["expires_at"])
        # The old key is refused at once, everywhere; the new one works.
        self.assertError(get(VERIFY, key=t.sk_test), 401, "authentication_error")
        self.assertError(get(lt.ME, key=t.sk_test), 401, "authentication_error")
        st, _, v = get(VERIFY, key=new["key"])
        self.assertEqual(st, 200, v)
        self.assertEqual(v["mode"], "test")
        self.assertEqual(v["tenant"]["id"], t.id)
        # Shown once: the list now has it redacted; the old key is no longer live in the list.
        obj = self.listing(t.access)
        secrets_test = [k for k in obj["data"] if k["type"] == "secret" and not k["livemode"]]
        self.assertIn(redacted(new["key"]), [k["key"] for k in secrets_test])
        self.assertNotIn(new["key"], json.dumps(obj))
        for k in secrets_test:
            if k["key"] == redacted(t.sk_test):
                self.assertIsNotNone(k["expires_at"])
                self.assertLessEqual(k["expires_at"], int(time.time()) + 1)

    def test_default_expiry_is_now(self):
        t = lt.new_tenant()
        new = self.roll(t.access, "test", "secret")
        self.assertError(get(VERIFY, key=t.sk_test), 401, "authentication_error")
        self.assertEqual(get(VERIFY, key=new["key"])[0], 200)

    def test_roll_with_grace_period(self):
        t = lt.new_tenant()
        t0 = time.time()
        new = self.roll(t.access, "test", "secret", 2)
        self.assertEqual(get(VERIFY, key=t.sk_test)[0], 200, "old key must work during the grace period")
        self.assertEqual(get(VERIFY, key=new["key"])[0], 200)
        obj = self.listing(t.access)
        old = [k for k in obj["data"] if k["key"] == redacted(t.sk_test)]
        self.assertEqual(len(old), 1, "the expiring key is listed")
        self.assertInt(old[0]["expires_at"], "expires_at")
        self.assertTrue(int(t0) + 1 <= old[0]["expires_at"] <= int(t0) + 4, old[0]["expires_at"])
        time.sleep(max(0, t0 + 3.2 - time.time()))
        self.assertError(get(VERIFY, key=t.sk_test), 401, "authentication_error")
        self.assertEqual(get(VERIFY, key=new["key"])[0], 200)

    def test_roll_publishable(self):
        t = lt.new_tenant()
        new = self.roll(t.access, "test", "publishable", 0)
        self.assertRegex(new["key"], lt.KEY_RE["pk_test"])
        self.assertEqual(new["type"], "publishable")
        self.assertError(get(VERIFY, key=t.pk_test), 401, "authentication_error")
        self.assertEqual(get(VERIFY, key=new["key"])[2]["mode"], "test")
        obj = self.listing(t.access)
        self.assertIn(new["key"], [k["key"] for k in obj["data"]], "publishable keys are listed in full")
        # The other three keys still work.
        for k in (t.sk_test, t.sk_live, t.pk_live):
            self.assertEqual(get(VERIFY, key=k)[0], 200)

    def test_roll_live(self):
        t = lt.new_tenant()
        new = self.roll(t.access, "live", "secret", 0)
        self.assertRegex(new["key"], lt.KEY_RE["sk_live"])
        self.assertIs(new["livemode"], True)
        self.assertEqual(get(VERIFY, key=new["key"])[2]["mode"], "live")
        self.assertError(get(VERIFY, key=t.sk_live), 401, "authentication_error")
        self.assertEqual(get(VERIFY, key=t.sk_test)[0], 200)
        new = self.roll(t.access, "live", "publishable", 0)
        self.assertRegex(new["key"], lt.KEY_RE["pk_live"])

    def test_roll_twice(self):
        t = lt.new_tenant()
        a = self.roll(t.access, "test", "secret", 60)
        b = self.roll(t.access, "test", "secret", 0)
        self.assertEqual(get(VERIFY, key=b["key"])[0], 200)
        self.assertError(get(VERIFY, key=a["key"]), 401, "authentication_error")

    def test_who_may_roll(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        dev = t.add_user("developer")
        for k in (t.sk_test, t.sk_live, t.pk_test, t.pk_live):
            self.assertError(post(ROLL, {"mode": "test", "type": "secret"}, key=k), 403, "permission_error")
        self.roll(admin.access, "test", "secret", 0)
        self.roll(admin.access, "test", "publishable", 0)
        for mode, type_ in (("live", "secret"), ("live", "publishable")):
            self.assertError(post(ROLL, {"mode": mode, "type": type_}, token=admin.access), 403,
                             "permission_error")
        for mode in ("test", "live"):
            self.assertError(post(ROLL, {"mode": mode, "type": "secret"}, token=dev.access), 403,
                             "permission_error")
        self.assertError(post(ROLL, {"mode": "test", "type": "secret"}), 401, "authentication_error")
        # None of the refused rolls touched the live keys.
        self.assertEqual(get(VERIFY, key=t.sk_live)[0], 200)
        self.assertEqual(get(VERIFY, key=t.pk_live)[0], 200)

    def test_validation(self):
        t = lt.new_tenant()
        cases = [
            ({"type": "secret"}, "parameter_missing", "mode"),
            ({"mode": "test"}, "parameter_missing", "type"),
            ({"mode": "prod", "type": "secret"}, "parameter_invalid", "mode"),
            ({"mode": "test", "type": "restricted"}, "parameter_invalid", "type"),
            ({"mode": "test", "type": "secret", "expire_old_in_seconds": -1}, lt.ANY, "expire_old_in_seconds"),
            ({"mode": "test", "type": "secret", "expire_old_in_seconds": 604801}, lt.ANY,
             "expire_old_in_seconds"),
            ({"mode": "test", "type": "secret", "expire_old_in_seconds": "soon"}, lt.ANY,
             "expire_old_in_seconds"),
            ({"mode": "test", "type": "secret", "expire_old_in_seconds": 1.5}, lt.ANY, "expire_old_in_seconds"),
            ({"mode": "test", "type": "secret", "expire_old_in_seconds": "5"}, lt.ANY, "expire_old_in_seconds"),
            ({"mode": "test", "type": "secret", "expire_old_in_seconds": True}, lt.ANY, "expire_old_in_seconds"),
            ({"mode": "test", "type": "secret", "expire_old_in_seconds": 2 ** 70}, lt.ANY,
             "expire_old_in_seconds"),
            ({"mode": "test", "type": "secret", "livemode": True}, "parameter_unknown", "livemode"),
        ]
        for body, code, param in cases:
            with self.subTest(body=repr(body)[:70]):
                self.assertError(post(ROLL, body, token=t.access), 400, "invalid_request_error",
                                 code=code, param=param)
        for raw in ('{"mode":"test","type":"secret","expire_old_in_seconds":1e3}',
                    '{"mode":"test","type":"secret","expire_old_in_seconds":10.0}'):
            with self.subTest(raw=raw):
                self.assertError(lt.call("POST", ROLL, data=raw, content_type="application/json", token=t.access),
                                 400, "invalid_request_error", param="expire_old_in_seconds")
        # Nothing was rolled by any of them.
        for k in (t.sk_test, t.sk_live, t.pk_test, t.pk_live):
            self.assertEqual(get(VERIFY, key=k)[0], 200)
        # The bounds themselves are fine.
        self.roll(t.access, "test", "secret", 604800)
        # Form bodies carry every value as a string: "5" is an integer there.
        st, _, obj = post(ROLL, form={"mode": "test", "type": "publishable", "expire_old_in_seconds": "5"},
                          token=t.access)
        self.assertEqual(st, 201, obj)
        self.assertEqual(obj["type"], "publishable")


class Publishable(KeyCase):
    def test_publishable_only_verifies(self):
        t = lt.new_tenant()
        for k in (t.pk_test, t.pk_live):
            with self.subTest(key=k[:8]):
                self.assertEqual(get(VERIFY, key=k)[0], 200)
                for method, path, body in (("GET", lt.ME, None), ("PATCH", lt.ME, {"company_name": "X"}),
                                           ("GET", lt.USERS, None), ("GET", API_KEYS, None),
                                           ("POST", ROLL, {"mode": "test", "type": "secret"})):
                    self.assertError(lt.call(method, path, body=body, key=k), 403, "permission_error")
                    self.assertError(lt.call(method, path, body=body, headers={"X-API-Key": k}), 403,
                                     "permission_error")


class Modes(KeyCase):
    def test_key_mode(self):
        t = lt.new_tenant()
        self.assertEqual(get(VERIFY, key=t.sk_live)[2]["mode"], "live")
        self.assertEqual(get(VERIFY, key=t.sk_test)[2]["mode"], "test")
        self.assertIs(get(lt.ME, key=t.sk_live)[2]["livemode"], True)
        self.assertIs(get(lt.ME, key=t.sk_test)[2]["livemode"], False)
        # A key's mode is the key's: Levy-Mode cannot switch it.
        self.assertIs(get(lt.ME, key=t.sk_test, mode="live")[2]["livemode"], False)
        self.assertIs(get(lt.ME, key=t.sk_live, mode="test")[2]["livemode"], True)

    def test_jwt_mode(self):
        t = lt.new_tenant()
        self.assertIs(get(lt.ME, token=t.access)[2]["livemode"], False)
        self.assertIs(get(lt.ME, token=t.access, mode="test")[2]["livemode"], False)
        self.assertIs(get(lt.ME, token=t.access, mode="live")[2]["livemode"], True)

    def test_rolling_one_mode_leaves_the_other(self):
        t = lt.new_tenant()
        new = self.roll(t.access, "test", "secret", 0)
        self.assertEqual(get(VERIFY, key=t.sk_live)[2]["mode"], "live")
        self.assertEqual(get(VERIFY, key=new["key"])[2]["mode"], "test")
        # A test-mode roll does not show up as a live key.
        obj = self.listing(t.access)
        live = [k for k in obj["data"] if k["livemode"]]
        self.assertEqual(sorted(k["key"] for k in live), sorted([t.pk_live, redacted(t.sk_live)]))


if __name__ == "__main__":
    lt.main()
