#!/usr/bin/python3
"""GET /api/v1/auth/tenants/verify/: the three ways to present a key, and every bad key."""

import binascii
import os
import secrets
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import VERIFY, LevyTestCase, get  # noqa: E402

ALPHABETS = ("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
             "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def base62(n, alphabet, width=6):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = alphabet[r] + out
    return out.rjust(width, "0")


def checksum(body, alphabet):
    return base62(binascii.crc32(body.encode("ascii")) & 0xFFFFFFFF, alphabet)


def flip(c):
    """Another base62 character."""
    return "b" if c == "a" else "a"


class Verify(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.t = lt.new_tenant()

    def assertVerified(self, resp, mode, tenant=None):
        tenant = tenant or self.t
        st, _, obj = resp
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj, {"valid": True, "mode": mode,
                               "tenant": {"id": tenant.id, "company_name": tenant.company,
                                          "slug": tenant.slug}})

    def assertUnauth(self, resp):
        return self.assertError(resp, 401, "authentication_error")

    def test_bearer_each_key(self):
        for k, mode in ((self.t.sk_live, "live"), (self.t.pk_live, "live"),
                        (self.t.sk_test, "test"), (self.t.pk_test, "test")):
            with self.subTest(key=k[:8]):
                self.assertVerified(get(VERIFY, key=k), mode)

    def test_x_api_key(self):
        for k, mode in ((self.t.sk_live, "live"), (self.t.pk_test, "test")):
            with self.subTest(key=k[:8]):
                self.assertVerified(get(VERIFY, headers={"X-API-Key": k}), mode)

    def test_basic_auth(self):
        for k, mode in ((self.t.sk_test, "test"), (self.t.pk_live, "live")):
            with self.subTest(key=k[:8]):
                self.assertVerified(get(VERIFY, headers={"Authorization": lt.basic(k)}), mode)
        self.assertUnauth(get(VERIFY, headers={"Authorization": lt.basic(lt.mistype(self.t.sk_test))}))
        self.assertUnauth(get(VERIFY, headers={"Authorization": "Basic !!!not-base64!!!"}))
        self.assertUnauth(get(VERIFY, headers={"Authorization": lt.basic("")}))

    def test_other_tenant_sees_itself(self):
        other = lt.new_tenant()
        self.assertVerified(get(VERIFY, key=other.sk_test), "test", tenant=other)

    def test_alias_paths(self):
        for path in ("/api/v1/auth/tenants/verify", "/v1/auth/tenants/verify/", "/v1/auth/tenants/verify"):
            with self.subTest(path=path):
                self.assertVerified(get(path, key=self.t.sk_live), "live")

    def test_no_credentials(self):
        self.assertUnauth(get(VERIFY))
        self.assertUnauth(get(VERIFY, headers={"Authorization": ""}))
        self.assertUnauth(get(VERIFY, headers={"Authorization": "Bearer"}))
        self.assertUnauth(get(VERIFY, headers={"Authorization": "Bearer "}))
        self.assertUnauth(get(VERIFY, headers={"X-API-Key": ""}))

    def test_malformed_keys(self):
        k = self.t.sk_test
        cases = {
            "garbage": "garbage",
            "prefix only": "sk_test_",
            "short": "sk_test_abc",
            "unknown prefix": "sk_prod_" + k[8:],
            "rk prefix": "rk_test_" + k[8:],
            "truncated": k[:-1],
            "extra char": k + "a",
            "doubled": k + k,
            "upper case": k.upper(),
            "lower case": k.lower(),
            "space inside": k[:20] + " " + k[20:],
            "non-ascii": k[:-1] + "\u00e9",
            "very long": "sk_test_" + "A" * 4000,
        }
        for what, bad in cases.items():
            if bad == k:
                continue
            with self.subTest(what=what):
                self.assertUnauth(get(VERIFY, key=bad))
                self.assertUnauth(get(VERIFY, headers={"X-API-Key": bad}))

    def test_typo_in_checksum(self):
        for k in (self.t.sk_test, self.t.pk_live):
            bad = k[:-1] + flip(k[-1])
            with self.subTest(key=k[:8]):
                self.assertUnauth(get(VERIFY, key=bad))
            bad = k[:-6] + flip(k[-6]) + k[-5:]
            with self.subTest(key=k[:8], pos="first checksum char"):
                self.assertUnauth(get(VERIFY, key=bad))

    def test_typo_in_random_part(self):
        k = self.t.sk_live
        for pos in (8, 20, len(k) - 7):
            with self.subTest(pos=pos):
                self.assertUnauth(get(VERIFY, key=k[:pos] + flip(k[pos]) + k[pos + 1:]))

    def test_checksum_is_crc32_base62(self):
        """The spec's key format: prefix + >= 24 random base62 + 6-char CRC32 in base62."""
        keys = [self.t.sk_live, self.t.sk_test, self.t.pk_live, self.t.pk_test]
        matching = [a for a in ALPHABETS if all(checksum(k[:-6], a) == k[-6:] for k in keys)]
        self.assertTrue(matching, "no key's last 6 characters are the base62 CRC32 of the rest")
        for k in keys:
            self.assertGreaterEqual(len(k) - 8 - 6, 24)

    def test_well_formed_unknown_key(self):
        keys = [self.t.sk_live, self.t.sk_test, self.t.pk_live, self.t.pk_test]
        matching = [a for a in ALPHABETS if all(checksum(k[:-6], a) == k[-6:] for k in keys)]
        if not matching:
            self.skipTest("checksum alphabet unknown (test_checksum_is_crc32_base62 fails)")
        alpha = matching[0]
        nrand = len(self.t.sk_test) - 14
        for prefix in ("sk_test_", "sk_live_", "pk_test_", "pk_live_"):
            body = prefix + "".join(secrets.choice(ALPHABETS[0]) for _ in range(nrand))
            with self.subTest(prefix=prefix):
                self.assertUnauth(get(VERIFY, key=body + checksum(body, alpha)))
        # The same random part under the other mode's prefix is another key.
        body = "sk_live_" + self.t.sk_test[8:-6]
        self.assertUnauth(get(VERIFY, key=body + checksum(body, alpha)))
        body = "pk_test_" + self.t.sk_test[8:-6]
        self.assertUnauth(get(VERIFY, key=body + checksum(body, alpha)))

    def test_jwt_is_refused_here(self):
        self.assertUnauth(get(VERIFY, token=self.t.access))
        self.assertUnauth(get(VERIFY, token=self.t.refresh))

    def test_unknown_scheme(self):
        self.assertUnauth(get(VERIFY, headers={"Authorization": "Token " + self.t.sk_test}))
        self.assertUnauth(get(VERIFY, headers={"Authorization": self.t.sk_test}))

    def test_revoked_key(self):
        t = lt.new_tenant()
        st, _, obj = lt.post(lt.ROLL, {"mode": "test", "type": "secret", "expire_old_in_seconds": 0},
                             token=t.access)
        self.assertEqual(st, 201, obj)
        self.assertUnauth(get(VERIFY, key=t.sk_test))
        self.assertUnauth(get(VERIFY, headers={"X-API-Key": t.sk_test}))
        self.assertUnauth(get(VERIFY, headers={"Authorization": lt.basic(t.sk_test)}))
        self.assertVerified(get(VERIFY, key=obj["key"]), "test", tenant=t)
        # The other keys are untouched.
        self.assertVerified(get(VERIFY, key=t.sk_live), "live", tenant=t)
        self.assertVerified(get(VERIFY, key=t.pk_test), "test", tenant=t)

    def test_mode_header_does_not_change_key_mode(self):
        self.assertVerified(get(VERIFY, key=self.t.sk_test, mode="live"), "test")
        self.assertVerified(get(VERIFY, key=self.t.sk_live, mode="test"), "live")


if __name__ == "__main__":
    lt.main()
