#!/usr/bin/python3
"""Tenant users: list/create/get/patch/delete, ownership transfer, last-owner protections."""

import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import USERS, USERS_ME, LevyTestCase, delete, get, patch, post, user_path  # noqa: E402

USER_KEYS = {"id", "object", "email", "role", "first_name", "last_name", "is_active", "last_login", "created"}


class UserCase(LevyTestCase):
    def assertUser(self, u, email=None, role=None):
        self.assertKeys(u, USER_KEYS, "user")
        self.assertInt(u["id"], "id")
        self.assertEqual(u["object"], "user")
        self.assertIsInstance(u["is_active"], bool)
        if u["last_login"] is not None:
            self.assertRecent(u["last_login"], "last_login", slack=3600)
        self.assertRecent(u["created"], "created", slack=3600)
        if email is not None:
            self.assertEqual(u["email"], email)
        if role is not None:
            self.assertEqual(u["role"], role)

    def new_user_body(self, role="developer", **over):
        b = {"email": lt.unique_email(role), "password": lt.PASSWORD, "role": role,
             "first_name": "New", "last_name": "User"}
        b.update(over)
        return b


class ListAndGet(UserCase):
    def test_list_shape(self):
        t = lt.new_tenant(first_name="Olive", last_name="Owner")
        st, _, obj = get(USERS, token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertKeys(obj, {"object", "data", "has_more", "url"}, "list")
        self.assertEqual(obj["object"], "list")
        self.assertIs(obj["has_more"], False)
        self.assertEqual(obj["url"], "/v1/auth/users")
        self.assertEqual(len(obj["data"]), 1)
        u = obj["data"][0]
        self.assertUser(u, email=t.email, role="owner")
        self.assertEqual(u["id"], t.user_id)
        self.assertEqual((u["first_name"], u["last_name"]), ("Olive", "Owner"))
        self.assertIs(u["is_active"], True)
        self.assertNotIn("password", json.dumps(obj))
        self.assertNotIn("pbkdf2", json.dumps(obj))

    def test_create_and_get(self):
        t = lt.new_tenant()
        body = self.new_user_body("admin", email="New.Admin.%s@Example.com" % lt.unique(""),
                                  first_name="Alan", last_name="Turing")
        st, _, u = post(USERS, body, token=t.access)
        self.assertEqual(st, 201, u)
        self.assertUser(u, email=body["email"].lower(), role="admin")
        self.assertEqual((u["first_name"], u["last_name"]), ("Alan", "Turing"))
        self.assertIs(u["is_active"], True)
        self.assertIsNone(u["last_login"])
        st, _, got = get(user_path(u["id"]), token=t.access)
        self.assertEqual(st, 200, got)
        self.assertEqual(got, u)
        st, _, lst = get(USERS, token=t.access)
        self.assertEqual([x["id"] for x in lst["data"]], [u["id"], t.user_id], "newest first")
        # The new user logs in with that password.
        lg = lt.login(body["email"], body["password"])
        self.assertEqual(lg["user"]["role"], "admin")
        self.assertEqual(lg["user"]["id"], u["id"])
        st, _, me = get(USERS_ME, token=lg["tokens"]["access"])
        self.assertEqual(st, 200, me)
        self.assertUser(me, email=body["email"].lower(), role="admin")
        self.assertInt(me["last_login"], "last_login after login")

    def test_create_form_body(self):
        t = lt.new_tenant()
        st, _, u = post(USERS, form=self.new_user_body("developer"), token=t.access)
        self.assertEqual(st, 201, u)
        self.assertEqual(u["role"], "developer")

    def test_users_me_every_role(self):
        t = lt.new_tenant()
        for role in ("admin", "developer"):
            m = t.add_user(role)
            with self.subTest(role=role):
                st, _, me = get(USERS_ME, token=m.access)
                self.assertEqual(st, 200, me)
                self.assertUser(me, email=m.email, role=role)
                self.assertEqual(me["id"], m.id)
                st, _, lst = get(USERS, token=m.access)
                self.assertEqual(st, 200, lst)
                st, _, other = get(user_path(t.user_id), token=m.access)
                self.assertEqual(st, 200, other)
                self.assertEqual(other["role"], "owner")

    def test_pagination(self):
        t = lt.new_tenant()
        ids = [t.add_user("developer").id for _ in range(3)]
        newest_first = list(reversed(ids)) + [t.user_id]
        st, _, full = get(USERS, token=t.access)
        self.assertEqual([u["id"] for u in full["data"]], newest_first)
        st, _, p1 = get(USERS + "?limit=2", token=t.access)
        self.assertEqual(st, 200, p1)
        self.assertEqual([u["id"] for u in p1["data"]], newest_first[:2])
        self.assertIs(p1["has_more"], True)
        st, _, p2 = get(USERS + "?limit=2&starting_after=%d" % newest_first[1], token=t.access)
        self.assertEqual(st, 200, p2)
        self.assertEqual([u["id"] for u in p2["data"]], newest_first[2:])
        self.assertIs(p2["has_more"], False)
        st, _, p0 = get(USERS + "?limit=1&ending_before=%d" % newest_first[2], token=t.access)
        self.assertEqual(st, 200, p0)
        self.assertEqual([u["id"] for u in p0["data"]], [newest_first[1]])
        self.assertIs(p0["has_more"], True)
        st, _, pe = get(USERS + "?ending_before=%d" % newest_first[2], token=t.access)
        self.assertEqual([u["id"] for u in pe["data"]], newest_first[:2])
        self.assertIs(pe["has_more"], False)
        st, _, p100 = get(USERS + "?limit=100", token=t.access)
        self.assertEqual(st, 200, p100)

    def test_bad_list_params(self):
        t = lt.new_tenant()
        for q, code in (("limit=0", "parameter_invalid_integer"), ("limit=101", "parameter_invalid_integer"),
                        ("limit=abc", "parameter_invalid_integer"), ("limit=1.5", "parameter_invalid_integer"),
                        ("limit=-1", "parameter_invalid_integer"),
                        ("limit=99999999999999999999999", "parameter_invalid_integer")):
            with self.subTest(q=q):
                self.assertError(get(USERS + "?" + q, token=t.access), 400, "invalid_request_error",
                                 code={code, "parameter_invalid"}, param="limit")
        self.assertError(get(USERS + "?bogus=1", token=t.access), 400, "invalid_request_error",
                         code="parameter_unknown", param="bogus")

    def test_get_unknown(self):
        t = lt.new_tenant()
        for uid in ("999999999", "0", "99999999999999999999999"):
            with self.subTest(id=uid):
                self.assertError(get(user_path(uid), token=t.access), 404, "invalid_request_error",
                                 code="resource_missing", param="id")
        # Not even a number: no such user either (or no such route).
        for uid in ("-1", "abc", "1e3", "1%20OR%201=1"):
            with self.subTest(id=uid):
                self.assertError(get(user_path(uid), token=t.access), 404, "invalid_request_error")
        # A NUL in the path may be refused as a bad request; never a 500.
        st = get(user_path("%00"), token=t.access)[0]
        self.assertIn(st, (400, 404))

    def test_api_keys_refused(self):
        t = lt.new_tenant()
        for k in (t.sk_test, t.sk_live, t.pk_test, t.pk_live):
            with self.subTest(key=k[:8]):
                self.assertError(get(USERS, key=k), 403, "permission_error")
                self.assertError(get(USERS_ME, key=k), 403, "permission_error")
                self.assertError(get(user_path(t.user_id), key=k), 403, "permission_error")
                self.assertError(post(USERS, self.new_user_body(), key=k), 403, "permission_error")
                self.assertError(patch(user_path(t.user_id), {"first_name": "K"}, key=k), 403,
                                 "permission_error")
                self.assertError(delete(user_path(t.user_id), key=k), 403, "permission_error")
        self.assertError(get(USERS), 401, "authentication_error")
        self.assertError(get(USERS_ME), 401, "authentication_error")


class Create(UserCase):
    def test_roles_on_create(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        dev = t.add_user("developer")
        for creator, role, want in ((t.owner, "admin", 201), (t.owner, "developer", 201),
                                    (admin, "admin", 201), (admin, "developer", 201),
                                    (dev, "developer", 403), (dev, "admin", 403)):
            with self.subTest(creator=creator.role, role=role):
                resp = post(USERS, self.new_user_body(role), token=creator.access)
                if want == 201:
                    self.assertEqual(resp[0], 201, resp[2])
                    self.assertEqual(resp[2]["role"], role)
                else:
                    self.assertError(resp, 403, "permission_error")

    def test_owner_role_refused(self):
        t = lt.new_tenant()
        self.assertError(post(USERS, self.new_user_body("owner"), token=t.access), 400,
                         "invalid_request_error", code="parameter_invalid", param="role")
        admin = t.add_user("admin")
        # For an admin "owner" is both invalid and beyond their rights; either refusal is right.
        st = post(USERS, self.new_user_body("owner"), token=admin.access)[0]
        self.assertIn(st, (400, 403))
        st, _, lst = get(USERS, token=t.access)
        self.assertEqual(sum(1 for u in lst["data"] if u["role"] == "owner"), 1)

    def test_validation(self):
        t = lt.new_tenant()
        cases = [
            ({"email": lt.ANY}, "parameter_missing", "email"),
            ({"password": lt.ANY}, "parameter_missing", "password"),
            ({"role": "superuser"}, "parameter_invalid", "role"),
            ({"role": "Admin"}, "parameter_invalid", "role"),
            ({"email": "nope"}, "parameter_invalid", "email"),
            ({"password": "short1!"}, "parameter_invalid", "password"),
            ({"password": "31415926535897"}, "parameter_invalid", "password"),
            ({"password": "password1"}, "parameter_invalid", "password"),
            ({"first_name": "x" * 151}, "parameter_invalid", "first_name"),
            ({"is_superuser": True}, "parameter_unknown", "is_superuser"),
            ({"tenant_id": 1}, "parameter_unknown", "tenant_id"),
        ]
        for over, code, param in cases:
            body = self.new_user_body("developer")
            for k, v in over.items():
                if v is lt.ANY:
                    del body[k]
                else:
                    body[k] = v
            with self.subTest(over=repr(over)[:50]):
                self.assertError(post(USERS, body, token=t.access), 400, "invalid_request_error",
                                 code=code, param=param)
        body = self.new_user_body("developer")
        local = body["email"].split("@")[0]
        body["password"] = local
        self.assertError(post(USERS, body, token=t.access), 400, "invalid_request_error",
                         code="parameter_invalid", param="password")
        st, _, lst = get(USERS, token=t.access)
        self.assertEqual(len(lst["data"]), 1, "a refused create left a user behind")

    def test_duplicate_email(self):
        t = lt.new_tenant()
        m = t.add_user("developer")
        self.assertError(post(USERS, self.new_user_body(email=m.email), token=t.access), 400,
                         "invalid_request_error", param="email")
        self.assertError(post(USERS, self.new_user_body(email=m.email.upper()), token=t.access), 400,
                         "invalid_request_error", param="email")
        self.assertError(post(USERS, self.new_user_body(email=t.email), token=t.access), 400,
                         "invalid_request_error", param="email")
        # Login is by email alone, so an email is unique across tenants as well.
        other = lt.new_tenant()
        self.assertError(post(USERS, self.new_user_body(email=other.email), token=t.access), 400,
                         "invalid_request_error", param="email")


class Update(UserCase):
    def test_owner_updates_user(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        st, _, u = patch(user_path(dev.id), {"first_name": "Renamed", "last_name": "Person", "role": "admin"},
                         token=t.access)
        self.assertEqual(st, 200, u)
        self.assertUser(u, email=dev.email, role="admin")
        self.assertEqual((u["first_name"], u["last_name"]), ("Renamed", "Person"))
        self.assertEqual(get(user_path(dev.id), token=t.access)[2], u)
        # The role change is what counts, not the role in the user's older token.
        st = post(USERS, self.new_user_body("developer"), token=dev.access)[0]
        self.assertEqual(st, 201, "a promoted developer (now admin) could not create users")

    def test_demotion_takes_effect_for_old_tokens(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        st, _, u = patch(user_path(admin.id), {"role": "developer"}, token=t.access)
        self.assertEqual(st, 200, u)
        self.assertError(post(USERS, self.new_user_body("developer"), token=admin.access), 403,
                         "permission_error")
        self.assertError(patch(lt.ME, {"company_name": "Nope"}, token=admin.access), 403, "permission_error")

    def test_password_change(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        st, _, u = patch(user_path(dev.id), {"password": "Brand-New-Secret-Phrase-77"}, token=t.access)
        self.assertEqual(st, 200, u)
        self.assertNotIn("password", u)
        lt.login(dev.email, "Brand-New-Secret-Phrase-77")
        lt.login(dev.email, dev.password, expect=401)
        self.assertError(patch(user_path(dev.id), {"password": "123456789"}, token=t.access), 400,
                         "invalid_request_error", code="parameter_invalid", param="password")

    def test_deactivate(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        st, _, u = patch(user_path(dev.id), {"is_active": False}, token=t.access)
        self.assertEqual(st, 200, u)
        self.assertIs(u["is_active"], False)
        lt.login(dev.email, dev.password, expect=401)
        # A deactivated user's tokens stop working as well (the reading a tenant expects).
        self.assertError(get(USERS_ME, token=dev.access), 401, "authentication_error")
        self.assertError(post(lt.REFRESH, {"refresh": dev.refresh}), 401, "authentication_error")
        st, _, u = patch(user_path(dev.id), form={"is_active": "true"}, token=t.access)
        self.assertEqual(st, 200, u)
        self.assertIs(u["is_active"], True)
        lt.login(dev.email, dev.password)

    def test_validation(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        for body, code, param in (({"role": "superuser"}, "parameter_invalid", "role"),
                                  ({"is_active": "yes"}, lt.ANY, "is_active"),
                                  ({"is_active": 1}, lt.ANY, "is_active"),
                                  ({"email": "x@example.com"}, "parameter_unknown", "email"),
                                  ({"tenant_id": 5}, "parameter_unknown", "tenant_id"),
                                  ({"last_name": "n" * 151}, "parameter_invalid", "last_name")):
            with self.subTest(body=body):
                self.assertError(patch(user_path(dev.id), body, token=t.access), 400, "invalid_request_error",
                                 code=code, param=param)
        self.assertError(patch(user_path(999999999), {"first_name": "X"}, token=t.access), 404,
                         "invalid_request_error", code="resource_missing", param="id")
        self.assertEqual(get(user_path(dev.id), token=t.access)[2]["role"], "developer")

    def test_admin_rights(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        admin2 = t.add_user("admin")
        dev = t.add_user("developer")
        self.assertEqual(patch(user_path(admin2.id), {"first_name": "Changed"}, token=admin.access)[0], 200)
        self.assertEqual(patch(user_path(dev.id), {"role": "admin"}, token=admin.access)[0], 200)
        self.assertEqual(patch(user_path(dev.id), {"role": "developer"}, token=admin.access)[0], 200)
        self.assertEqual(patch(user_path(admin.id), {"last_name": "Self"}, token=admin.access)[0], 200)
        self.assertError(patch(user_path(t.user_id), {"first_name": "Hacked"}, token=admin.access), 403,
                         "permission_error")
        self.assertError(patch(user_path(t.user_id), {"is_active": False}, token=admin.access), 403,
                         "permission_error")
        self.assertError(patch(user_path(dev.id), {"role": "owner"}, token=admin.access), 403,
                         "permission_error")
        self.assertError(patch(user_path(admin.id), {"role": "owner"}, token=admin.access), 403,
                         "permission_error")
        owner = get(user_path(t.user_id), token=t.access)[2]
        self.assertEqual(owner["role"], "owner")
        self.assertNotEqual(owner["first_name"], "Hacked")
        self.assertIs(owner["is_active"], True)

    def test_developer_may_not_patch(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        dev2 = t.add_user("developer")
        for target in (dev.id, dev2.id, t.user_id):
            with self.subTest(target=target):
                self.assertError(patch(user_path(target), {"first_name": "X"}, token=dev.access), 403,
                                 "permission_error")
        self.assertError(patch(user_path(dev.id), {"role": "admin"}, token=dev.access), 403, "permission_error")


class Ownership(UserCase):
    def test_transfer(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        st, _, u = patch(user_path(admin.id), {"role": "owner"}, token=t.access)
        self.assertEqual(st, 200, u)
        self.assertEqual(u["role"], "owner")
        old = get(user_path(t.user_id), token=admin.access)[2]
        self.assertEqual(old["role"], "admin")
        st, _, lst = get(USERS, token=admin.access)
        owners = [x["id"] for x in lst["data"] if x["role"] == "owner"]
        self.assertEqual(owners, [admin.id])
        self.assertEqual(lt.login(t.email, t.password)["user"]["role"], "admin")
        self.assertEqual(lt.login(admin.email, admin.password)["user"]["role"], "owner")
        # The old owner's token carries role "owner" but the database decides.
        self.assertError(lt.post(lt.ROLL, {"mode": "live", "type": "secret"}, token=t.access), 403,
                         "permission_error")
        self.assertError(patch(user_path(admin.id), {"role": "admin"}, token=t.access), 403, "permission_error")
        # The new owner (with their pre-transfer token) has the owner's rights.
        st, _, u = patch(user_path(t.user_id), {"role": "owner"}, token=admin.access)
        self.assertEqual(st, 200, u)
        self.assertEqual(get(user_path(admin.id), token=t.access)[2]["role"], "admin")

    def test_transfer_to_developer(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        st, _, u = patch(user_path(dev.id), {"role": "owner"}, token=t.access)
        self.assertEqual(st, 200, u)
        self.assertEqual(u["role"], "owner")
        self.assertEqual(get(USERS_ME, token=t.access)[2]["role"], "admin")

    def test_owner_cannot_demote_or_deactivate_self(self):
        t = lt.new_tenant()
        for role in ("admin", "developer"):
            with self.subTest(role=role):
                self.assertError(patch(user_path(t.user_id), {"role": role}, token=t.access), 400,
                                 "invalid_request_error", code="parameter_invalid", param="role")
        self.assertError(patch(user_path(t.user_id), {"is_active": False}, token=t.access), 400,
                         "invalid_request_error", code="parameter_invalid", param="is_active")
        me = get(USERS_ME, token=t.access)[2]
        self.assertEqual(me["role"], "owner")
        self.assertIs(me["is_active"], True)
        # Harmless self-edits are fine.
        st, _, u = patch(user_path(t.user_id), {"first_name": "Still"}, token=t.access)
        self.assertEqual(st, 200, u)
        self.assertEqual(u["first_name"], "Still")


class Delete(UserCase):
    def test_delete(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        st, _, obj = delete(user_path(dev.id), token=t.access)
        self.assertEqual(st, 200, obj)
        self.assertEqual(obj, {"id": dev.id, "object": "user", "deleted": True})
        self.assertError(get(user_path(dev.id), token=t.access), 404, "invalid_request_error",
                         code="resource_missing", param="id")
        self.assertError(delete(user_path(dev.id), token=t.access), 404, "invalid_request_error",
                         code="resource_missing", param="id")
        self.assertNotIn(dev.id, [u["id"] for u in get(USERS, token=t.access)[2]["data"]])
        # The deleted user's tokens stop working.
        self.assertError(get(USERS_ME, token=dev.access), 401, "authentication_error")
        self.assertError(get(lt.ME, token=dev.access), 401, "authentication_error")
        self.assertError(post(lt.REFRESH, {"refresh": dev.refresh}), 401, "authentication_error")
        lt.login(dev.email, dev.password, expect=401)

    def test_delete_rights(self):
        t = lt.new_tenant()
        admin = t.add_user("admin")
        admin2 = t.add_user("admin")
        dev = t.add_user("developer")
        dev2 = t.add_user("developer")
        self.assertError(delete(user_path(t.user_id), token=admin.access), 403, "permission_error")
        self.assertError(delete(user_path(dev2.id), token=dev.access), 403, "permission_error")
        self.assertError(delete(user_path(dev.id), token=dev.access), 403, "permission_error")
        self.assertError(delete(user_path(t.user_id), token=t.access), 400, "invalid_request_error")
        self.assertEqual(get(USERS_ME, token=t.access)[0], 200, "the owner survived")
        self.assertEqual(delete(user_path(dev2.id), token=admin.access)[0], 200)
        self.assertEqual(delete(user_path(admin2.id), token=admin.access)[0], 200)
        self.assertEqual(delete(user_path(admin.id), token=t.access)[0], 200)
        self.assertEqual(delete(user_path(dev.id), token=t.access)[0], 200)
        st, _, lst = get(USERS, token=t.access)
        self.assertEqual([u["id"] for u in lst["data"]], [t.user_id])


if __name__ == "__main__":
    lt.main()
