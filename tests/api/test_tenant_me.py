#!/usr/bin/python3
"""GET/PATCH /api/v1/auth/tenants/me/: the profile, Levy-Mode, the read-only platform fee."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import ME, LevyTestCase, get, patch  # noqa: E402

PROFILE_KEYS = {"id", "object", "company_name", "slug", "email", "domain", "branding", "webhook_url",
                "platform_fee_percentage", "subscription_tier", "status", "livemode", "created"}


class MeGet(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = lt.new_tenant(domain="shop.example.com", webhook_url="https://shop.example.com/hooks")
        cls.admin = cls.t.add_user("admin")
        cls.dev = cls.t.add_user("developer")

    def assertProfile(self, obj, livemode):
        self.assertKeys(obj, PROFILE_KEYS, "tenant profile")
        self.assertEqual(obj["id"], self.t.id)
        self.assertEqual(obj["object"], "tenant")
        self.assertEqual(obj["company_name"], self.t.company)
        self.assertEqual(obj["slug"], self.t.slug)
        self.assertEqual(obj["email"], self.t.email)
        self.assertEqual(obj["domain"], "shop.example.com")
        self.assertEqual(obj["webhook_url"], "https://shop.example.com/hooks")
        self.assertKeys(obj["branding"], {"logo_url", "primary_color"}, "branding")
        self.assertIsNone(obj["branding"]["logo_url"])
        self.assertIsNone(obj["branding"]["primary_color"])
        self.assertEqual(obj["platform_fee_percentage"], "15.00")
        self.assertEqual(obj["subscription_tier"], "free")
        self.assertEqual(obj["status"], "active")
        self.assertIs(obj["livemode"], livemode)
        self.assertRecent(obj["created"], "created", slack=3600)

    def test_owner_jwt_default_test_mode(self):
        st, _, obj = get(ME, token=self.t.access)
        self.assertEqual(st, 200, obj)
        self.assertProfile(obj, False)

    def test_levy_mode_header(self):
        st, _, obj = get(ME, token=self.t.access, mode="live")
        self.assertEqual(st, 200, obj)
        self.assertProfile(obj, True)
        st, _, obj = get(ME, token=self.t.access, mode="test")
        self.assertEqual(st, 200, obj)
        self.assertProfile(obj, False)

    def test_bad_levy_mode(self):
        for bad in ("prod", "LIVE", "live,test", "1"):
            with self.subTest(mode=bad):
                self.assertError(get(ME, token=self.t.access, mode=bad), 400, "invalid_request_error",
                                 param="Levy-Mode")

    def test_every_role_reads(self):
        for who in (self.admin, self.dev):
            with self.subTest(role=who.role):
                st, _, obj = get(ME, token=who.access)
                self.assertEqual(st, 200, obj)
                self.assertProfile(obj, False)

    def test_secret_keys_read_in_their_mode(self):
        st, _, obj = get(ME, key=self.t.sk_live)
        self.assertEqual(st, 200, obj)
        self.assertProfile(obj, True)
        st, _, obj = get(ME, key=self.t.sk_test)
        self.assertEqual(st, 200, obj)
        self.assertProfile(obj, False)
        st, _, obj = get(ME, headers={"X-API-Key": self.t.sk_live})
        self.assertEqual(st, 200, obj)
        self.assertProfile(obj, True)

    def test_publishable_keys_refused(self):
        for k in (self.t.pk_live, self.t.pk_test):
            with self.subTest(key=k[:8]):
                self.assertError(get(ME, key=k), 403, "permission_error")

    def test_no_or_bad_credentials(self):
        self.assertError(get(ME), 401, "authentication_error")
        self.assertError(get(ME, key=lt.mistype(self.t.sk_test)), 401, "authentication_error")
        self.assertError(get(ME, token=self.t.refresh), 401, "authentication_error")

    def test_no_secrets_in_profile(self):
        st, _, obj = get(ME, token=self.t.access)
        text = repr(obj)
        for s in (self.t.sk_live, self.t.sk_test, self.t.whsec, "sk_live_", "sk_test_", "whsec_"):
            self.assertNotIn(s, text)

    def test_alias_path(self):
        for path in ("/api/v1/auth/tenants/me", "/v1/auth/tenants/me/", "/v1/auth/tenants/me"):
            with self.subTest(path=path):
                st, _, obj = get(path, token=self.t.access)
                self.assertEqual(st, 200, obj)
                self.assertEqual(obj["id"], self.t.id)


class MePatch(LevyTestCase):
    def test_owner_updates_everything(self):
        t = lt.new_tenant()
        name = "Renamed %s" % lt.unique("")
        st, _, obj = patch(ME, {"company_name": name, "domain": "new.example.org",
                                "branding": {"logo_url": "https://cdn.example.org/logo.png",
                                             "primary_color": "#1a2B3c"},
                                "webhook_url": "https://new.example.org/hook"}, token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertKeys(obj, PROFILE_KEYS, "profile")
        self.assertEqual(obj["company_name"], name)
        self.assertEqual(obj["domain"], "new.example.org")
        self.assertEqual(obj["branding"]["logo_url"], "https://cdn.example.org/logo.png")
        self.assertIn(obj["branding"]["primary_color"], ("#1a2B3c", "#1a2b3c", "#1A2B3C"))
        self.assertEqual(obj["webhook_url"], "https://new.example.org/hook")
        self.assertEqual(obj["slug"], t.slug, "the slug is stable when the name changes")
        st, _, again = get(ME, token=t.access)
        self.assertEqual(again, obj)
        # verify shows the new name too.
        st, _, v = get(lt.VERIFY, key=t.sk_test)
        self.assertEqual(v["tenant"]["company_name"], name)

    def test_partial_update_keeps_the_rest(self):
        t = lt.new_tenant(domain="keep.example.com")
        st, _, obj = patch(ME, {"branding": {"primary_color": "#000000"}}, token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["domain"], "keep.example.com")
        self.assertEqual(obj["company_name"], t.company)
        st, _, obj = patch(ME, {"branding": {"logo_url": "https://x.example.com/l.svg"}}, token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["branding"]["primary_color"], "#000000", "setting one branding field cleared the other")

    def test_form_bracket_notation(self):
        t = lt.new_tenant()
        st, _, obj = patch(ME, form=[("branding[logo_url]", "https://cdn.example.com/a.png"),
                                     ("branding[primary_color]", "#ABCDEF"), ("domain", "form.example.com")],
                           token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["branding"]["logo_url"], "https://cdn.example.com/a.png")
        self.assertIn(obj["branding"]["primary_color"], ("#ABCDEF", "#abcdef"))
        self.assertEqual(obj["domain"], "form.example.com")

    def test_empty_string_clears(self):
        t = lt.new_tenant(domain="clear.example.com", webhook_url="https://clear.example.com/h")
        st, _, obj = patch(ME, {"branding": {"logo_url": "https://cdn.example.com/a.png",
                                             "primary_color": "#123456"}}, token=t.access)
        self.assertEqual(st, 200, obj)
        st, _, obj = patch(ME, {"domain": "", "webhook_url": "",
                                "branding": {"logo_url": "", "primary_color": ""}}, token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertIsNone(obj["domain"])
        self.assertIsNone(obj["webhook_url"])
        self.assertEqual(obj["branding"], {"logo_url": None, "primary_color": None})
        self.assertEqual(get(ME, token=t.access)[2], obj)
        self.assertError(patch(ME, {"company_name": ""}, token=t.access), 400, "invalid_request_error",
                         param="company_name")

    def test_platform_fee_is_read_only(self):
        t = lt.new_tenant()
        for val in ("0.00", "1.00", 0, "15.00"):
            with self.subTest(val=val):
                self.assertError(patch(ME, {"platform_fee_percentage": val}, token=t.access), 403,
                                 "permission_error", param="platform_fee_percentage")
        self.assertError(patch(ME, form={"platform_fee_percentage": "0"}, token=t.access), 403,
                         "permission_error", param="platform_fee_percentage")
        self.assertError(patch(ME, {"platform_fee_percentage": "0.00"}, key=t.sk_live), 403,
                         "permission_error", param="platform_fee_percentage")
        # Together with an allowed change: nothing is applied.
        self.assertError(patch(ME, {"company_name": "Sneaky", "platform_fee_percentage": "0.00"},
                               token=t.access), 403, "permission_error", param="platform_fee_percentage")
        st, _, obj = get(ME, token=t.access)
        self.assertEqual(obj["platform_fee_percentage"], "15.00")
        self.assertEqual(obj["company_name"], t.company)

    def test_unknown_params(self):
        t = lt.new_tenant()
        for name, val in (("subscription_tier", "enterprise"), ("slug", "mine"), ("status", "active"),
                          ("email", "x@example.com"), ("id", 1), ("livemode", True), ("foo", "bar")):
            with self.subTest(param=name):
                self.assertError(patch(ME, {name: val}, token=t.access), 400, "invalid_request_error",
                                 code="parameter_unknown", param=name)
        self.assertError(patch(ME, {"branding": {"font": "Comic Sans"}}, token=t.access), 400,
                         "invalid_request_error", code="parameter_unknown", param="branding[font]")
        st, _, obj = get(ME, token=t.access)
        self.assertEqual(obj["subscription_tier"], "free")
        self.assertEqual(obj["slug"], t.slug)

    def test_invalid_values(self):
        t = lt.new_tenant()
        cases = [
            ({"branding": {"logo_url": "http://cdn.example.com/a.png"}}, "branding[logo_url]"),
            ({"branding": {"logo_url": "not a url"}}, "branding[logo_url]"),
            ({"branding": {"logo_url": "javascript:alert(1)"}}, "branding[logo_url]"),
            ({"branding": {"primary_color": "red"}}, "branding[primary_color]"),
            ({"branding": {"primary_color": "#12345"}}, "branding[primary_color]"),
            ({"branding": {"primary_color": "#GGGGGG"}}, "branding[primary_color]"),
            ({"branding": {"primary_color": "123456"}}, "branding[primary_color]"),
            ({"branding": {"primary_color": "#1234567"}}, "branding[primary_color]"),
            ({"branding": "blue"}, "branding"),
            ({"webhook_url": "http://example.com/hook"}, "webhook_url"),
            ({"webhook_url": "https://example.com/" + "a" * 2040}, "webhook_url"),
            ({"domain": "not a domain"}, "domain"),
            ({"company_name": "x" * 201}, "company_name"),
            ({"company_name": 42}, "company_name"),
        ]
        for body, param in cases:
            with self.subTest(body=repr(body)[:60]):
                self.assertError(patch(ME, body, token=t.access), 400, "invalid_request_error", param=param)
        st, _, obj = get(ME, token=t.access)
        self.assertEqual(obj["branding"], {"logo_url": None, "primary_color": None})
        self.assertEqual(obj["company_name"], t.company)

    def test_webhook_loopback_allowed_on_test_stack(self):
        t = lt.new_tenant()
        st, _, obj = patch(ME, {"webhook_url": "http://127.0.0.1:8999/hook"}, token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["webhook_url"], "http://127.0.0.1:8999/hook")

    def test_who_may_patch(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        dev = t.add_user("developer")
        st, _, obj = patch(ME, {"company_name": "By Admin %s" % lt.unique("")}, token=admin.access)
        self.assertEqual(st, 200, obj)
        st, _, obj = patch(ME, {"company_name": "By Key %s" % lt.unique("")}, key=t.sk_test)
        self.assertEqual(st, 200, obj)
        self.assertIs(obj["livemode"], False)
        st, _, obj = patch(ME, {"domain": "live.example.com"}, key=t.sk_live)
        self.assertEqual(st, 200, obj)
        self.assertIs(obj["livemode"], True)
        before = get(ME, token=t.access)[2]
        self.assertError(patch(ME, {"company_name": "By Dev"}, token=dev.access), 403, "permission_error")
        for k in (t.pk_test, t.pk_live):
            self.assertError(patch(ME, {"company_name": "By PK"}, key=k), 403, "permission_error")
        self.assertError(patch(ME, {"company_name": "Anon"}), 401, "authentication_error")
        self.assertEqual(get(ME, token=t.access)[2], before)

    def test_wrong_methods(self):
        t = lt.new_tenant()
        for m in ("POST", "DELETE", "PUT"):
            with self.subTest(method=m):
                st, h, obj = lt.call(m, ME, body={}, token=t.access)
                self.assertError((st, h, obj), 405, "invalid_request_error")
                allow = {a.strip().upper() for a in (h.get("Allow") or "").split(",")}
                self.assertTrue({"GET", "PATCH"} <= allow, h.get("Allow"))


if __name__ == "__main__":
    lt.main()
