#!/usr/bin/python3
"""The role matrix, walked as one table: for every action with an endpoint in this issue and
every kind of caller (owner, admin, developer JWTs; secret and publishable keys of both modes),
the exact status, and 403 permission_error with no side effect when refused.

The matrix's write_test_data / write_live_data / webhook_write rows have no endpoint yet
(billing objects and webhook endpoints come in later issues); tests/unit/test_role covers them.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import LevyTestCase  # noqa: E402

CALLERS = ("owner", "admin", "developer", "sk_test", "sk_live", "pk_test", "pk_live")
F = 403  # refused: permission_error
U = 401  # refused: authentication_error


class World:
    """One tenant with a user of each role, plus spare users to act upon."""

    def __init__(self):
        self.t = lt.new_tenant()
        self.admin = self.t.add_user("admin")
        self.dev = self.t.add_user("developer")
        self._targets = {}

    def target(self, role):
        if role not in self._targets:
            st, _, u = lt.post(lt.USERS, {"email": lt.unique_email("target"), "password": lt.PASSWORD,
                                          "role": role, "first_name": "Target", "last_name": role},
                               token=self.t.access)
            assert st == 201, u
            self._targets[role] = u
        return self._targets[role]

    def creds(self, caller):
        """call() keyword arguments that authenticate as `caller`."""
        if caller == "owner":
            return {"token": self.t.access}
        if caller == "admin":
            return {"token": self.admin.access}
        if caller == "developer":
            return {"token": self.dev.access}
        return {"key": getattr(self.t, caller)}

    def user(self, uid):
        return lt.get(lt.user_path(uid), token=self.t.access)[2]


def roll(mode, type_):
    return lambda w: {"mode": mode, "type": type_, "expire_old_in_seconds": 0}


# action, what, method, path(world), body(world), mutating, check_unchanged(world, test) or None,
#   expected status for: owner admin developer sk_test sk_live pk_test pk_live
MATRIX = [
    ("read", "GET tenant profile", "GET", lambda w: lt.ME, None, False, None,
     (200, 200, 200, 200, 200, F, F)),
    ("read", "GET tenant profile, Levy-Mode live", "GET", lambda w: lt.ME, None, False, None,
     (200, 200, 200, 200, 200, F, F)),
    ("read", "GET users", "GET", lambda w: lt.USERS, None, False, None,
     (200, 200, 200, F, F, F, F)),
    ("read", "GET users/me", "GET", lambda w: lt.USERS_ME, None, False, None,
     (200, 200, 200, F, F, F, F)),
    ("read", "GET users/{owner}", "GET", lambda w: lt.user_path(w.t.user_id), None, False, None,
     (200, 200, 200, F, F, F, F)),
    ("read", "GET api_keys", "GET", lambda w: lt.API_KEYS, None, False, None,
     (200, 200, 200, F, F, F, F)),
    ("verify", "GET verify (API keys only)", "GET", lambda w: lt.VERIFY, None, False, None,
     (U, U, U, 200, 200, 200, 200)),
    ("tenant_profile_write", "PATCH tenant profile", "PATCH", lambda w: lt.ME,
     lambda w: {"company_name": "Changed %s" % lt.unique("")}, True,
     lambda w, tc: tc.assertEqual(lt.get(lt.ME, token=w.t.access)[2]["company_name"], w.t.company),
     (200, 200, F, 200, 200, F, F)),
    ("user_manage", "POST users (developer)", "POST", lambda w: lt.USERS,
     lambda w: {"email": lt.unique_email("mx"), "password": lt.PASSWORD, "role": "developer"}, True,
     lambda w, tc: tc.assertEqual(len(lt.get(lt.USERS, token=w.t.access)[2]["data"]), 3),
     (201, 201, F, F, F, F, F)),
    ("user_manage", "POST users (admin)", "POST", lambda w: lt.USERS,
     lambda w: {"email": lt.unique_email("mx"), "password": lt.PASSWORD, "role": "admin"}, True,
     lambda w, tc: tc.assertEqual(len(lt.get(lt.USERS, token=w.t.access)[2]["data"]), 3),
     (201, 201, F, F, F, F, F)),
    ("user_manage", "PATCH a developer", "PATCH", lambda w: lt.user_path(w.target("developer")["id"]),
     lambda w: {"first_name": "Patched"}, True,
     lambda w, tc: tc.assertEqual(w.user(w.target("developer")["id"])["first_name"], "Target"),
     (200, 200, F, F, F, F, F)),
    ("user_manage", "PATCH an admin", "PATCH", lambda w: lt.user_path(w.target("admin")["id"]),
     lambda w: {"role": "developer"}, True,
     lambda w, tc: tc.assertEqual(w.user(w.target("admin")["id"])["role"], "admin"),
     (200, 200, F, F, F, F, F)),
    ("user_manage", "DELETE a developer", "DELETE", lambda w: lt.user_path(w.target("developer")["id"]),
     None, True,
     lambda w, tc: tc.assertEqual(w.user(w.target("developer")["id"])["id"], w.target("developer")["id"]),
     (200, 200, F, F, F, F, F)),
    ("user_manage", "DELETE an admin", "DELETE", lambda w: lt.user_path(w.target("admin")["id"]),
     None, True,
     lambda w, tc: tc.assertEqual(w.user(w.target("admin")["id"])["id"], w.target("admin")["id"]),
     (200, 200, F, F, F, F, F)),
    ("user_manage_owner", "PATCH the owner", "PATCH", lambda w: lt.user_path(w.t.user_id),
     lambda w: {"first_name": "Patched"}, True,
     lambda w, tc: tc.assertNotEqual(w.user(w.t.user_id)["first_name"], "Patched"),
     (200, F, F, F, F, F, F)),
    ("user_manage_owner", "transfer ownership", "PATCH", lambda w: lt.user_path(w.target("admin")["id"]),
     lambda w: {"role": "owner"}, True,
     lambda w, tc: tc.assertEqual(w.user(w.t.user_id)["role"], "owner"),
     (200, F, F, F, F, F, F)),
    ("key_roll_test", "roll test secret key", "POST", lambda w: lt.ROLL, roll("test", "secret"), True,
     lambda w, tc: tc.assertEqual(lt.get(lt.VERIFY, key=w.t.sk_test)[0], 200),
     (201, 201, F, F, F, F, F)),
    ("key_roll_test", "roll test publishable key", "POST", lambda w: lt.ROLL, roll("test", "publishable"),
     True, lambda w, tc: tc.assertEqual(lt.get(lt.VERIFY, key=w.t.pk_test)[0], 200),
     (201, 201, F, F, F, F, F)),
    ("key_roll_live", "roll live secret key", "POST", lambda w: lt.ROLL, roll("live", "secret"), True,
     lambda w, tc: tc.assertEqual(lt.get(lt.VERIFY, key=w.t.sk_live)[0], 200),
     (201, F, F, F, F, F, F)),
    ("key_roll_live", "roll live publishable key", "POST", lambda w: lt.ROLL, roll("live", "publishable"),
     True, lambda w, tc: tc.assertEqual(lt.get(lt.VERIFY, key=w.t.pk_live)[0], 200),
     (201, F, F, F, F, F, F)),
]


class RoleMatrix(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.shared = World()

    def walk(self, rows):
        for action, what, method, path, body, mutating, unchanged, expect in rows:
            for caller, want in zip(CALLERS, expect):
                with self.subTest(action=action, what=what, caller=caller):
                    w = World() if mutating else self.shared
                    kw = w.creds(caller)
                    if "Levy-Mode" in what:
                        kw["mode"] = "live"
                    p = path(w)
                    b = body(w) if body else None
                    resp = lt.call(method, p, body=b, **kw)
                    if want == F:
                        self.assertError(resp, 403, "permission_error")
                        if unchanged:
                            unchanged(w, self)
                    elif want == U:
                        self.assertError(resp, 401, "authentication_error")
                    else:
                        self.assertEqual(resp[0], want, "%s %s as %s: %r" % (method, p, caller, resp[2]))

    def test_read_rows(self):
        self.walk([r for r in MATRIX if not r[5]])

    def test_write_rows(self):
        self.walk([r for r in MATRIX if r[5]])

    def test_key_read_live(self):
        """key_read_live: owner only.  Admin and developer see test-mode keys only."""
        w = self.shared
        for caller, sees_live in (("owner", True), ("admin", False), ("developer", False)):
            with self.subTest(caller=caller):
                st, _, obj = lt.get(lt.API_KEYS, **w.creds(caller))
                self.assertEqual(st, 200, obj)
                modes = {k["livemode"] for k in obj["data"]}
                self.assertIn(False, modes)
                self.assertEqual(True in modes, sees_live)
                # Levy-Mode live does not widen what they see.
                st, _, obj = lt.get(lt.API_KEYS, mode="live", **w.creds(caller))
                self.assertEqual(st, 200, obj)
                self.assertEqual(any(k["livemode"] for k in obj["data"]), sees_live)

    def test_matrix_is_complete(self):
        """Every action of the matrix that has an endpoint is walked for every caller."""
        actions = {r[0] for r in MATRIX}
        for a in ("read", "tenant_profile_write", "user_manage", "user_manage_owner", "key_roll_test",
                  "key_roll_live"):
            self.assertIn(a, actions)
        for r in MATRIX:
            self.assertEqual(len(r[7]), len(CALLERS), r[1])


if __name__ == "__main__":
    lt.main()
