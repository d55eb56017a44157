#!/usr/bin/python3
"""POST /api/v1/auth/tenants/login/: shape, no secrets, one answer for every failure, throttling."""

import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import LOGIN, LevyTestCase, post  # noqa: E402

LOGIN_TENANT_KEYS = {"id", "company_name", "slug", "email", "api_key_public", "api_key_test_public",
                     "platform_fee_percentage", "subscription_tier"}


class LoginCase(LevyTestCase):
    def assertBadLogin(self, resp):
        self.assertError(resp, 401, "authentication_error", param=None, message="Invalid email or password.")


class LoginShape(LoginCase):
    def test_documented_body(self):
        t = lt.new_tenant(first_name="Grace", last_name="Hopper")
        st, _, obj = post(LOGIN, {"email": t.email, "password": t.password})
        self.assertEqual(st, 200, obj)
        self.assertKeys(obj, {"tenant", "user", "tokens"}, "login body")
        self.assertKeys(obj["tenant"], LOGIN_TENANT_KEYS, "tenant")
        reg = t.body["tenant"]
        for k in LOGIN_TENANT_KEYS:
            self.assertEqual(obj["tenant"][k], reg[k], k)
        self.assertKeys(obj["user"], {"id", "email", "role", "first_name", "last_name"}, "user")
        self.assertEqual(obj["user"], {"id": t.user_id, "email": t.email, "role": "owner",
                                       "first_name": "Grace", "last_name": "Hopper"})
        self.assertKeys(obj["tokens"], {"access", "refresh"}, "tokens")
        for name in ("access", "refresh"):
            self.assertRegex(obj["tokens"][name], lt.JWT_RE)
            self.assertEqual(lt.jwt_decode(obj["tokens"][name])[1]["typ"], name)
        self.assertNotEqual(obj["tokens"]["refresh"], t.refresh)
        st, _, me = lt.get(lt.USERS_ME, token=obj["tokens"]["access"])
        self.assertEqual(st, 200, me)
        self.assertEqual(me["id"], t.user_id)

    def test_no_secret_in_login(self):
        t = lt.new_tenant()
        st, _, obj = post(LOGIN, {"email": t.email, "password": t.password})
        self.assertEqual(st, 200, obj)
        text = json.dumps(obj)
        for secret in (t.sk_live, t.sk_test, t.whsec):
            self.assertNotIn(secret, text)
        self.assertNotIn("sk_live_", text)
        self.assertNotIn("sk_test_", text)
        self.assertNotIn("whsec_", text)
        self.assertNotIn("pbkdf2", text)

    def test_email_case_insensitive(self):
        t = lt.new_tenant()
        st, _, obj = post(LOGIN, {"email": t.email.upper(), "password": t.password})
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["user"]["email"], t.email)

    def test_form_body(self):
        t = lt.new_tenant()
        st, _, obj = post(LOGIN, form={"email": t.email, "password": t.password})
        self.assertEqual(st, 200, obj)

    def test_new_user_logs_in_with_role(self):
        t = lt.new_tenant()
        dev = t.add_user("developer", first_name="Dev", last_name="Eloper")
        obj = lt.login(dev.email, dev.password)
        self.assertEqual(obj["user"]["role"], "developer")
        self.assertEqual(obj["user"]["first_name"], "Dev")
        self.assertEqual(obj["tenant"]["id"], t.id)

    def test_last_login_recorded(self):
        t = lt.new_tenant()
        before = int(time.time()) - 2
        lt.login(t.email, t.password)
        st, _, me = lt.get(lt.USERS_ME, token=t.access)
        self.assertEqual(st, 200, me)
        self.assertInt(me["last_login"], "last_login")
        self.assertGreaterEqual(me["last_login"], before)


class LoginErrors(LoginCase):
    def test_missing(self):
        t = lt.new_tenant()
        self.assertError(post(LOGIN, {"password": "x" * 10}), 400, "invalid_request_error",
                         code="parameter_missing", param="email")
        self.assertError(post(LOGIN, {"email": t.email}), 400, "invalid_request_error",
                         code="parameter_missing", param="password")
        self.assertError(post(LOGIN, {}), 400, "invalid_request_error", code="parameter_missing")

    def failure_body(self, email, password):
        resp = post(LOGIN, {"email": email, "password": password})
        self.assertBadLogin(resp)
        return resp[1].get("Request-Id"), resp[2]

    def test_wrong_password_equals_unknown_email(self):
        t = lt.new_tenant()
        rid1, wrong = self.failure_body(t.email, t.password + "x")
        rid2, unknown = self.failure_body(lt.unique_email("nobody"), t.password)
        self.assertEqual(wrong, unknown)
        self.assertNotEqual(rid1, rid2, "Request-Id must differ per request")
        # A password that is right for another tenant's owner is still wrong here.
        other = lt.new_tenant(password="Another-Strong-Passphrase-42")
        self.failure_body(t.email, other.password)

    def test_inactive_user_same_answer(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        st, _, obj = lt.patch(lt.user_path(dev.id), {"is_active": False}, token=t.access)
        self.assertEqual(st, 200, obj)
        self.failure_body(dev.email, dev.password)

    def test_deleted_user_same_answer(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        self.assertEqual(lt.delete(lt.user_path(dev.id), token=t.access)[0], 200)
        self.failure_body(dev.email, dev.password)

    def test_timing_wrong_password_vs_unknown_email(self):
        # Four wrong passwords for one email stay under login_max_failures (5);
        # unknown emails are all different.  Interleaved, medians compared.
        t = lt.new_tenant()
        wrong, unknown = [], []
        for i in range(4):
            d, r = lt.timed(post, LOGIN, {"email": t.email, "password": "Wrong-Password-%d" % i})
            self.assertEqual(r[0], 401)
            wrong.append(d)
            d, r = lt.timed(post, LOGIN, {"email": lt.unique_email("ghost"), "password": "Wrong-Password-%d" % i})
            self.assertEqual(r[0], 401)
            unknown.append(d)
        mw, mu = statistics.median(wrong), statistics.median(unknown)
        slow, fast = max(mw, mu), min(mw, mu)
        self.assertLess(slow, 3 * fast + 0.05,
                        "wrong password %.4fs vs unknown email %.4fs: the timing tells them apart" % (mw, mu))

    def test_throttling(self):
        t = lt.new_tenant()
        times = []
        for i in range(7):
            d, r = lt.timed(post, LOGIN, {"email": t.email, "password": "Wrong-Password-%d" % i})
            self.assertBadLogin(r)
            times.append(d)
        first, seventh = times[0], times[6]
        self.assertGreater(seventh, max(2 * first, first + 0.2),
                           "7th failed login %.3fs is not noticeably slower than the 1st %.3fs" % (seventh, first))
        # The right password still works (perhaps slowly): throttled, not locked out.
        st, _, obj = post(LOGIN, {"email": t.email, "password": t.password}, timeout=120)
        self.assertEqual(st, 200, obj)
        # Another email is not slowed down by this one's failures.
        other = lt.new_tenant()
        d, r = lt.timed(post, LOGIN, {"email": other.email, "password": "Wrong-Password-x"})
        self.assertEqual(r[0], 401)
        self.assertLess(d, seventh, "throttling of one email slowed another down")
        d, r = lt.timed(post, LOGIN, {"email": other.email, "password": other.password})
        self.assertEqual(r[0], 200)
        self.assertLess(d, seventh)

    def test_throttling_counts_by_email_case_insensitively(self):
        t = lt.new_tenant()
        times = []
        for i in range(7):
            email = t.email.upper() if i % 2 else t.email
            d, r = lt.timed(post, LOGIN, {"email": email, "password": "Wrong-Password-%d" % i})
            self.assertEqual(r[0], 401)
            times.append(d)
        self.assertGreater(times[6], max(2 * times[0], times[0] + 0.2))


if __name__ == "__main__":
    lt.main()
