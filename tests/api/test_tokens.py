#!/usr/bin/python3
"""JWTs: refresh rotation and reuse detection, logout, and forged tokens (alg none, HS512,
bad signature, expired, tampered) built by hand with the stack's own jwt.secret."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import LOGOUT, REFRESH, USERS_ME, LevyTestCase, get, post  # noqa: E402


class Refresh(LevyTestCase):
    def test_rotation(self):
        t = lt.new_tenant()
        st, _, obj = post(REFRESH, {"refresh": t.refresh})
        self.assertEqual(st, 200, obj)
        self.assertKeys(obj, {"access", "refresh"}, "refresh body")
        self.assertRegex(obj["access"], lt.JWT_RE)
        self.assertRegex(obj["refresh"], lt.JWT_RE)
        self.assertNotEqual(obj["refresh"], t.refresh)
        _, acc = lt.jwt_decode(obj["access"])
        _, ref = lt.jwt_decode(obj["refresh"])
        self.assertEqual(acc["typ"], "access")
        self.assertEqual(ref["typ"], "refresh")
        self.assertEqual(str(acc["sub"]), str(t.user_id))
        self.assertEqual(str(acc["tid"]), str(t.id))
        self.assertEqual(acc["exp"] - acc["iat"], lt.ACCESS_TTL)
        st, _, me = get(USERS_ME, token=obj["access"])
        self.assertEqual(st, 200, me)
        self.assertEqual(me["id"], t.user_id)
        # The new refresh token rotates again.
        st, _, obj2 = post(REFRESH, {"refresh": obj["refresh"]})
        self.assertEqual(st, 200, obj2)
        self.assertNotIn(obj2["refresh"], (obj["refresh"], t.refresh))

    def test_form_body(self):
        t = lt.new_tenant()
        st, _, obj = post(REFRESH, form={"refresh": t.refresh})
        self.assertEqual(st, 200, obj)

    def test_reuse_revokes_family(self):
        t = lt.new_tenant()
        r0 = t.refresh
        st, _, a = post(REFRESH, {"refresh": r0})
        self.assertEqual(st, 200, a)
        st, _, b = post(REFRESH, {"refresh": a["refresh"]})
        self.assertEqual(st, 200, b)
        newest = b["refresh"]
        # r0 was used: presenting it again is reuse.
        self.assertError(post(REFRESH, {"refresh": r0}), 401, "authentication_error")
        # ...and the whole family, down to the newest token, is revoked.
        self.assertError(post(REFRESH, {"refresh": newest}), 401, "authentication_error")
        self.assertError(post(REFRESH, {"refresh": a["refresh"]}), 401, "authentication_error")
        # Another session (another family) of the same user is untouched.
        lg = lt.login(t.email, t.password)
        st, _, obj = post(REFRESH, {"refresh": lg["tokens"]["refresh"]})
        self.assertEqual(st, 200, obj)

    def test_reuse_of_middle_token(self):
        t = lt.new_tenant()
        st, _, a = post(REFRESH, {"refresh": t.refresh})
        self.assertEqual(st, 200)
        st, _, b = post(REFRESH, {"refresh": a["refresh"]})
        self.assertEqual(st, 200)
        self.assertError(post(REFRESH, {"refresh": a["refresh"]}), 401, "authentication_error")
        self.assertError(post(REFRESH, {"refresh": b["refresh"]}), 401, "authentication_error")

    def test_access_token_as_refresh(self):
        t = lt.new_tenant()
        self.assertError(post(REFRESH, {"refresh": t.access}), 401, "authentication_error")
        # ...and the real refresh token still works (nothing was revoked by that).
        self.assertEqual(post(REFRESH, {"refresh": t.refresh})[0], 200)

    def test_refresh_token_as_access(self):
        t = lt.new_tenant()
        self.assertError(get(USERS_ME, token=t.refresh), 401, "authentication_error")

    def test_missing_and_garbage(self):
        self.assertError(post(REFRESH, {}), 400, "invalid_request_error", code="parameter_missing",
                         param="refresh")
        for bad in ("garbage", "eyJ.eyJ.sig", "a.b.c.d", "eyJ" + "x" * 3000):
            with self.subTest(bad=bad[:20]):
                self.assertError(post(REFRESH, {"refresh": bad}), 401, "authentication_error")
        # Beyond any token's length: refused as a bad token or as a too-long param.
        st, _, obj = post(REFRESH, {"refresh": "x" * 5000})
        if st == 400:
            self.assertError((st, _, obj), 400, "invalid_request_error", param="refresh")
        else:
            self.assertError((st, _, obj), 401, "authentication_error")
        self.assertError(post(REFRESH, {"refresh": 12345}), 400, "invalid_request_error", param="refresh")

    def test_unknown_param(self):
        t = lt.new_tenant()
        self.assertError(post(REFRESH, {"refresh": t.refresh, "extra": "x"}), 400, "invalid_request_error",
                         code="parameter_unknown", param="extra")

    def test_forged_refresh(self):
        t = lt.new_tenant()
        secret = lt.jwt_secret()
        head, claims = lt.jwt_decode(t.refresh)
        now = int(time.time())
        exp = dict(claims, iat=now - 3000, exp=now - 60)
        self.assertError(post(REFRESH, {"refresh": lt.jwt_sign(head, exp, secret)}), 401,
                         "authentication_error")
        self.assertError(post(REFRESH, {"refresh": lt.jwt_sign(dict(head, alg="HS512"), claims, secret)}),
                         401, "authentication_error")
        self.assertError(post(REFRESH, {"refresh": lt.jwt_sign({"alg": "none", "typ": "JWT"}, claims, "")}),
                         401, "authentication_error")
        # None of those forgeries used the token up.
        self.assertEqual(post(REFRESH, {"refresh": t.refresh})[0], 200)


class Logout(LevyTestCase):
    def test_logout_revokes_family(self):
        t = lt.new_tenant()
        st, _, a = post(REFRESH, {"refresh": t.refresh})
        self.assertEqual(st, 200, a)
        st, _, obj = post(LOGOUT, {"refresh": a["refresh"]}, token=a["access"])
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj, {"logged_out": True})
        self.assertError(post(REFRESH, {"refresh": a["refresh"]}), 401, "authentication_error")
        self.assertError(post(REFRESH, {"refresh": t.refresh}), 401, "authentication_error")

    def test_logout_with_first_token_kills_rotated_ones(self):
        t = lt.new_tenant()
        lg = lt.login(t.email, t.password)
        r1 = lg["tokens"]["refresh"]
        st, _, a = post(REFRESH, {"refresh": r1})
        self.assertEqual(st, 200, a)
        st, _, obj = post(LOGOUT, {"refresh": r1}, token=a["access"])
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj, {"logged_out": True})
        self.assertError(post(REFRESH, {"refresh": a["refresh"]}), 401, "authentication_error")
        self.assertError(post(REFRESH, {"refresh": r1}), 401, "authentication_error")
        # The registration's own session is another family: still fine.
        self.assertEqual(post(REFRESH, {"refresh": t.refresh})[0], 200)

    def test_logout_needs_access_token(self):
        t = lt.new_tenant()
        self.assertError(post(LOGOUT, {"refresh": t.refresh}), 401, "authentication_error")
        self.assertError(post(LOGOUT, {"refresh": t.refresh}, token=t.refresh), 401, "authentication_error")
        self.assertEqual(post(REFRESH, {"refresh": t.refresh})[0], 200, "a refused logout revoked the token")

    def test_logout_missing_refresh(self):
        t = lt.new_tenant()
        self.assertError(post(LOGOUT, {}, token=t.access), 400, "invalid_request_error",
                         code="parameter_missing", param="refresh")

    def test_logout_other_users_refresh(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        self.assertError(post(LOGOUT, {"refresh": dev.refresh}, token=t.access), 400,
                         "invalid_request_error", code="parameter_invalid", param="refresh")
        # Another tenant's user too.
        other = lt.new_tenant()
        self.assertError(post(LOGOUT, {"refresh": other.refresh}, token=t.access), 400,
                         "invalid_request_error", code="parameter_invalid", param="refresh")
        # Neither was revoked.
        self.assertEqual(post(REFRESH, {"refresh": dev.refresh})[0], 200)
        self.assertEqual(post(REFRESH, {"refresh": other.refresh})[0], 200)

    def test_logout_with_garbage_refresh(self):
        t = lt.new_tenant()
        st = post(LOGOUT, {"refresh": "garbage"}, token=t.access)[0]
        self.assertIn(st, (400, 401))


class ForgedAccess(LevyTestCase):
    """Every forgery is built from a real token; the control re-signs it unchanged and must pass,
    so that each 401 below is caused by exactly the one thing changed."""

    @classmethod
    def setUpClass(cls):
        cls.t = lt.new_tenant()
        cls.secret = lt.jwt_secret()
        cls.head, cls.claims = lt.jwt_decode(cls.t.access)

    def unauth(self, token):
        self.assertError(get(USERS_ME, token=token), 401, "authentication_error")

    def test_control_resigned_token_passes(self):
        tok = lt.jwt_sign(self.head, self.claims, self.secret, "HS256")
        st, _, obj = get(USERS_ME, token=tok)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj["id"], self.t.user_id)

    def test_alg_none(self):
        for alg in ("none", "None", "NONE", "nOnE"):
            with self.subTest(alg=alg):
                h = dict(self.head, alg=alg)
                self.unauth(lt.jwt_sign(h, self.claims, "", alg))
                # Some parsers accept a none token with a leftover signature.
                tok = lt.jwt_sign(h, self.claims, "", alg)
                self.unauth(tok + self.t.access.split(".")[2])

    def test_hs512_and_hs384(self):
        for alg in ("HS512", "HS384"):
            with self.subTest(alg=alg):
                self.unauth(lt.jwt_sign(dict(self.head, alg=alg), self.claims, self.secret, alg))

    def test_rs256_header_with_hmac(self):
        # Key confusion: RS256 claimed, HMAC applied.
        h = dict(self.head, alg="RS256")
        tok = lt.jwt_sign(h, self.claims, self.secret, "HS256")
        self.unauth(tok)

    def test_bad_signature(self):
        parts = self.t.access.split(".")
        sig = parts[2]
        bad = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")
        self.unauth("%s.%s.%s" % (parts[0], parts[1], bad))
        self.unauth(lt.jwt_sign(self.head, self.claims, self.secret + "x"))
        self.unauth(lt.jwt_sign(self.head, self.claims, "0" * 64))
        self.unauth("%s.%s." % (parts[0], parts[1]))

    def test_expired(self):
        now = int(time.time())
        self.unauth(lt.jwt_sign(self.head, dict(self.claims, iat=now - 2000, exp=now - 60), self.secret))
        self.unauth(lt.jwt_sign(self.head, dict(self.claims, iat=now - 2000, exp=now - 1100), self.secret))

    def test_tampered_payload(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        head, claims = lt.jwt_decode(dev.access)
        forged = dict(claims, role="owner")
        parts = dev.access.split(".")
        body = lt.b64url(json.dumps(forged, separators=(",", ":")).encode())
        self.unauth("%s.%s.%s" % (parts[0], body, parts[2]))

    def test_missing_or_mistyped_claims(self):
        for claim in ("exp", "sub", "tid", "typ"):
            with self.subTest(missing=claim):
                c = {k: v for k, v in self.claims.items() if k != claim}
                self.unauth(lt.jwt_sign(self.head, c, self.secret))
        self.unauth(lt.jwt_sign(self.head, dict(self.claims, exp=str(self.claims["exp"])), self.secret))
        self.unauth(lt.jwt_sign(self.head, dict(self.claims, typ="refresh"), self.secret))
        self.unauth(lt.jwt_sign(self.head, dict(self.claims, typ="id"), self.secret))

    def test_wrong_tenant_claim(self):
        # A user id with another tenant's id: the user does not belong there.
        other = lt.new_tenant()
        tok = lt.jwt_sign(self.head, dict(self.claims, tid=other.id), self.secret)
        st, _, obj = get(USERS_ME, token=tok)
        self.assertIn(st, (401, 404), obj)
        self.assertNotEqual(st, 200)

    def test_garbage(self):
        for bad in ("eyJ", "eyJ.eyJ", "eyJhbGciOiJIUzI1NiJ9.e30.", "eyJ.e30.e30.e30", "eyJ" + "A" * 5000):
            with self.subTest(bad=bad[:20]):
                self.unauth(bad)


if __name__ == "__main__":
    lt.main()
