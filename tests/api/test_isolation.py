#!/usr/bin/python3
"""Cross-tenant isolation: over HTTP (another tenant's ids answer exactly like ids that do not
exist) and in PostgreSQL (the application role, in tenant B's context, reads none of A's rows
from any tenant table, with or without a WHERE clause, and nothing at all without a context)."""

import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import API_KEYS, USERS, LevyTestCase, delete, get, patch, user_path  # noqa: E402

APP = os.environ.get("LEVY_APP_CONNINFO", "")
SUPER = os.environ.get("LEVY_SUPER_CONNINFO", "")
MISSING_ID = 987654321
# Tables with a livemode column whose rows one request reads in both modes: API keys
# (the owner's key list shows test and live keys together, per the spec).
MODE_SPANNING = {"api_keys"}


def normalise(resp, *ids):
    """A response with the ids it names replaced, for comparing two error answers."""
    st, _, obj = resp
    if isinstance(obj, dict) and isinstance(obj.get("error"), dict) and "message" in obj["error"]:
        obj = json.loads(json.dumps(obj))
        for i in ids:
            obj["error"]["message"] = re.sub(r"(?<![0-9A-Za-z])%s(?![0-9])" % re.escape(str(i)), "ID",
                                             obj["error"]["message"])
    return st, json.dumps(obj, sort_keys=True)


class Http(LevyTestCase):
    @classmethod
    def setUpClass(cls):
        cls.a = lt.new_tenant(webhook_url="https://a.example.com/hook", domain="a.example.com")
        cls.a_dev = cls.a.add_user("developer", first_name="Alice")
        cls.a_admin = cls.a.add_user("admin")
        # An id that exists nowhere, made before B's users as A's were: the same ordering
        # relation to B's ids as A's, so a cursor comparison cannot tell them apart by value.
        gone = cls.a.add_user("developer")
        st, _, obj = delete(user_path(gone.id), token=cls.a.access)
        assert st == 200, obj
        cls.gap_id = gone.id
        cls.b = lt.new_tenant()
        cls.b_admin = cls.b.add_user("admin")
        cls.b_dev = cls.b.add_user("developer")

    def same_as_missing(self, method, a_id, body=None, **creds):
        foreign = lt.call(method, user_path(a_id), body=body, **creds)
        missing = lt.call(method, user_path(MISSING_ID), body=body, **creds)
        self.assertEqual(normalise(foreign, a_id), normalise(missing, MISSING_ID),
                         "%s on another tenant's user differs from a missing one" % method)
        return foreign

    def test_b_tokens_on_a_users(self):
        for who in (self.b.owner, self.b_admin, self.b_dev):
            for target in (self.a.user_id, self.a_dev.id, self.a_admin.id):
                with self.subTest(caller=who.role, target=target):
                    r = self.same_as_missing("GET", target, token=who.access)
                    self.assertError(r, 404, "invalid_request_error", code="resource_missing", param="id")
                    r = self.same_as_missing("PATCH", target, {"first_name": "Mallory"}, token=who.access)
                    self.assertIn(r[0], (403, 404), r[2])
                    if who.role != "developer":
                        self.assertError(r, 404, "invalid_request_error", code="resource_missing", param="id")
                        r = self.same_as_missing("PATCH", target, {"role": "owner"}, token=who.access)
                        self.assertIn(r[0], (403, 404))
                    r = self.same_as_missing("DELETE", target, token=who.access)
                    self.assertIn(r[0], (403, 404), r[2])
                    if who.role != "developer":
                        self.assertError(r, 404, "invalid_request_error", code="resource_missing", param="id")
        # A's users are untouched.
        st, _, lst = get(USERS, token=self.a.access)
        self.assertEqual(st, 200)
        self.assertEqual(len(lst["data"]), 3)
        for u in lst["data"]:
            self.assertNotEqual(u["first_name"], "Mallory")
        self.assertEqual(get(user_path(self.a.user_id), token=self.a.access)[2]["role"], "owner")

    def test_b_keys_on_a_users(self):
        # Keys may not use the user endpoints at all; whatever the answer, it is the same as
        # for an id that does not exist.
        for k in (self.b.sk_test, self.b.sk_live, self.b.pk_test):
            for method in ("GET", "DELETE"):
                with self.subTest(key=k[:8], method=method):
                    r = self.same_as_missing(method, self.a_dev.id, key=k)
                    self.assertIn(r[0], (403, 404), r[2])
        self.assertEqual(get(user_path(self.a_dev.id), token=self.a.access)[0], 200)

    def test_b_lists_never_show_a(self):
        a_ids = {self.a.user_id, self.a_dev.id, self.a_admin.id}
        a_emails = {self.a.email, self.a_dev.email, self.a_admin.email}
        for who in (self.b.owner, self.b_admin, self.b_dev):
            with self.subTest(caller=who.role):
                st, _, lst = get(USERS + "?limit=100", token=who.access)
                self.assertEqual(st, 200, lst)
                ids = {u["id"] for u in lst["data"]}
                self.assertEqual(ids, {self.b.user_id, self.b_admin.id, self.b_dev.id})
                self.assertFalse(ids & a_ids)
                text = json.dumps(lst)
                for e in a_emails:
                    self.assertNotIn(e, text)
                st, _, keys = get(API_KEYS, token=who.access)
                text = json.dumps(keys)
                for k in (self.a.pk_test, self.a.pk_live, self.a.sk_test[-4:] + '"'):
                    self.assertNotIn(k, text)

    def test_b_cursor_on_a_id(self):
        for cursor in ("starting_after", "ending_before"):
            with self.subTest(cursor=cursor):
                foreign = get(USERS + "?%s=%d" % (cursor, self.a_dev.id), token=self.b.access)
                missing = get(USERS + "?%s=%d" % (cursor, self.gap_id), token=self.b.access)
                self.assertEqual(normalise(foreign, self.a_dev.id), normalise(missing, self.gap_id))
                if foreign[0] == 200:
                    self.assertFalse({u["id"] for u in foreign[2]["data"]} & {self.a.user_id, self.a_dev.id})

    def test_b_profile_is_b(self):
        for creds in ({"token": self.b.access}, {"key": self.b.sk_test}, {"key": self.b.sk_live}):
            st, _, me = get(lt.ME, **creds)
            self.assertEqual(st, 200, me)
            self.assertEqual(me["id"], self.b.id)
            self.assertNotIn("a.example.com", json.dumps(me))
        st, _, v = get(lt.VERIFY, key=self.b.pk_live)
        self.assertEqual(v["tenant"]["id"], self.b.id)

    def test_b_patch_me_changes_only_b(self):
        before = get(lt.ME, token=self.a.access)[2]
        st, _, obj = patch(lt.ME, {"company_name": "B Renamed %s" % lt.unique("")}, token=self.b.access)
        self.assertEqual(st, 200, obj)
        self.assertEqual(get(lt.ME, token=self.a.access)[2], before)

    def test_b_cannot_create_into_a(self):
        # No parameter can aim a create at another tenant.
        st, _, obj = lt.post(USERS, {"email": lt.unique_email("x"), "password": lt.PASSWORD, "role": "developer",
                                     "tenant_id": self.a.id}, token=self.b.access)
        self.assertError((st, _, obj), 400, "invalid_request_error", code="parameter_unknown", param="tenant_id")
        self.assertEqual(len(get(USERS, token=self.a.access)[2]["data"]), 3)

    def test_b_refresh_token_cannot_log_out_a(self):
        st, _, obj = lt.post(lt.LOGOUT, {"refresh": self.a_admin.refresh}, token=self.b.access)
        self.assertError((st, _, obj), 400, "invalid_request_error", param="refresh")
        self.assertEqual(lt.post(lt.REFRESH, {"refresh": self.a_admin.refresh})[0], 200)

    def test_roll_in_b_leaves_a(self):
        b2 = lt.new_tenant()
        st, _, obj = lt.post(lt.ROLL, {"mode": "test", "type": "secret"}, token=b2.access)
        self.assertEqual(st, 201, obj)
        for k in (self.a.sk_test, self.a.sk_live, self.a.pk_test, self.a.pk_live):
            self.assertEqual(get(lt.VERIFY, key=k)[0], 200)


class Sql(LevyTestCase):
    """RLS as the application role through psql: the tables come from information_schema."""

    @classmethod
    def setUpClass(cls):
        # Tenant A with rows in as many tables as this issue has: users, keys of both modes,
        # a rolled (expiring) key, refresh tokens (rotated and logged out), failed logins,
        # a webhook endpoint in both modes.
        cls.a = lt.new_tenant(webhook_url="https://a.example.com/hook")
        cls.a.add_user("developer")
        lt.post(lt.ROLL, {"mode": "test", "type": "secret", "expire_old_in_seconds": 600}, token=cls.a.access)
        r = lt.post(lt.REFRESH, {"refresh": cls.a.refresh})[2]
        lt.post(lt.LOGOUT, {"refresh": r["refresh"]}, token=r["access"])
        lt.post(lt.LOGIN, {"email": cls.a.email, "password": "Wrong-Password-1"})
        cls.b = lt.new_tenant(webhook_url="https://b.example.com/hook")
        cls.b.add_user("admin")
        lt.login(cls.b.email, cls.b.password)
        cls.tables = cls.discover()

    @classmethod
    def discover(cls):
        rows = lt.psql_rows(SUPER, """
            SELECT t.table_name,
                   bool_or(c.column_name = 'tenant_id'),
                   bool_or(c.column_name = 'livemode')
              FROM information_schema.tables t
              JOIN information_schema.columns c USING (table_schema, table_name)
             WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
             GROUP BY t.table_name
             ORDER BY t.table_name;""")
        tables = {}
        for name, has_tid, has_live in rows:
            if has_tid == "t" or name == "tenants":
                tables[name] = {"tid": "tenant_id" if has_tid == "t" else "id", "livemode": has_live == "t"}
        return tables

    def count_super(self, table, col, tid):
        return int(lt.psql_rows(SUPER, 'SELECT count(*) FROM public."%s" WHERE "%s" = %d;'
                                % (table, col, tid))[0][0])

    def app(self, sql):
        return lt.psql(APP, sql, check=False)

    def test_tables_found(self):
        self.assertIn("tenants", self.tables)
        self.assertGreaterEqual(len(self.tables), 3, "expected tenants, users and keys at least: %s"
                                % sorted(self.tables))
        # The check below is only meaningful where A has rows.
        with_rows = [t for t, i in self.tables.items() if self.count_super(t, i["tid"], self.a.id) > 0]
        self.assertGreaterEqual(len(with_rows), 3, with_rows)

    def test_app_role_is_not_privileged(self):
        rows = lt.psql_rows(APP, """
            SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user;
            SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)
               AND c.relkind IN ('r', 'p', 'v', 'm', 'f');""")
        self.assertEqual(rows[0], ["f", "f"], "the application role is a superuser or has BYPASSRLS")
        self.assertEqual(rows[1], ["0"], "the application role owns tables")

    def test_rls_enabled_and_forced(self):
        names = ",".join("'%s'" % t for t in self.tables)
        rows = lt.psql_rows(SUPER, "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                                   "WHERE relnamespace = 'public'::regnamespace AND relname IN (%s);" % names)
        for name, enabled, forced in rows:
            with self.subTest(table=name):
                self.assertEqual((enabled, forced), ("t", "t"), "%s: ENABLE and FORCE ROW LEVEL SECURITY" % name)

    def test_nothing_owned_by_a_superuser(self):
        rows = lt.psql_rows(SUPER, """
            SELECT p.proname FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner
             WHERE p.pronamespace = 'public'::regnamespace AND r.rolsuper
            UNION ALL
            SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
             WHERE c.relnamespace = 'public'::regnamespace AND r.rolsuper;""")
        self.assertEqual(rows, [], "objects in public owned by a superuser")

    def test_execute_revoked_from_public(self):
        rows = lt.psql_rows(SUPER, """
            SELECT p.proname FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace
               AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a
                                                 WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'));""")
        self.assertEqual(rows, [], "functions PUBLIC may execute")

    def test_security_definer_functions_have_search_path(self):
        rows = lt.psql_rows(SUPER, """
            SELECT p.proname FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.prosecdef
               AND NOT EXISTS (SELECT 1 FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search_path=%');""")
        self.assertEqual(rows, [], "SECURITY DEFINER functions without a fixed search_path")

    def in_context(self, tid, body, livemode="false"):
        return ("BEGIN;\nSELECT set_config('app.tenant_id', '%d', true), set_config('app.livemode', '%s', true);\n"
                "%s\nCOMMIT;\n" % (tid, livemode, body))

    def assertZeroOrDenied(self, p, what):
        if p.returncode != 0:
            self.assertIn("permission denied", p.stderr, "%s: %s" % (what, p.stderr))
            return None
        return p.stdout

    def test_b_context_reads_none_of_a(self):
        a, b = self.a.id, self.b.id
        for table, info in sorted(self.tables.items()):
            col = info["tid"]
            for livemode in ("false", "true"):
                with self.subTest(table=table, livemode=livemode):
                    q = 'SELECT count(*) FROM public."%s" WHERE "%s" = %d;' % (table, col, a)
                    out = self.assertZeroOrDenied(self.app(self.in_context(b, q, livemode)), table)
                    if out is not None:
                        self.assertEqual(out.split()[-1], "0", "%s: B's context reads A's rows" % table)
                    # No WHERE clause at all: every row seen belongs to B.
                    q = 'SELECT "%s" FROM public."%s";' % (col, table)
                    out = self.assertZeroOrDenied(self.app(self.in_context(b, q, livemode)), table)
                    if out is not None:
                        seen = {line.strip() for line in out.splitlines() if line.strip()}
                        # Drop set_config's output row ("b|false").
                        seen = {s for s in seen if "|" not in s}
                        self.assertLessEqual(seen, {str(b)}, "%s: B's context sees tenants %s" % (table, seen))
                    # Writes cannot reach A's rows either.
                    q = ('WITH d AS (DELETE FROM public."%s" WHERE "%s" = %d RETURNING 1) SELECT count(*) FROM d;'
                         % (table, col, a))
                    p = lt.psql(APP, self.in_context(b, q, livemode).replace("COMMIT;", "ROLLBACK;"), check=False)
                    out = self.assertZeroOrDenied(p, table)
                    if out is not None:
                        self.assertEqual(out.split()[-1], "0", "%s: B's context deletes A's rows" % table)
        # The same check is meaningful: A's own context sees A's rows in users and tenants.
        out = self.app(self.in_context(a, 'SELECT count(*) FROM public."tenants";')).stdout
        self.assertEqual(out.split()[-1], "1")

    def test_b_context_cannot_update_a(self):
        for table, info in sorted(self.tables.items()):
            col = info["tid"]
            with self.subTest(table=table):
                q = ('WITH u AS (UPDATE public."%s" SET "%s" = "%s" WHERE "%s" = %d RETURNING 1) '
                     'SELECT count(*) FROM u;' % (table, col, col, col, self.a.id))
                p = lt.psql(APP, self.in_context(self.b.id, q).replace("COMMIT;", "ROLLBACK;"), check=False)
                out = self.assertZeroOrDenied(p, table)
                if out is not None:
                    self.assertEqual(out.split()[-1], "0", "%s: B's context updates A's rows" % table)

    def test_modes_do_not_cross(self):
        """Tables with livemode: in A's test context no live row, and the other way round."""
        lm = [t for t, i in self.tables.items()
              if i["livemode"] and i["tid"] == "tenant_id" and t not in MODE_SPANNING]
        if not lm:
            self.skipTest("no table with tenant_id and livemode in this schema")
        for table in lm:
            for mode, other in (("false", "true"), ("true", "false")):
                with self.subTest(table=table, mode=mode):
                    q = 'SELECT count(*) FROM public."%s" WHERE livemode = %s;' % (table, other)
                    out = self.assertZeroOrDenied(self.app(self.in_context(self.a.id, q, mode)), table)
                    if out is not None:
                        self.assertEqual(out.split()[-1], "0", "%s: %s-mode context reads the other mode"
                                         % (table, "live" if mode == "true" else "test"))

    def test_no_context_reads_nothing(self):
        for table in sorted(self.tables):
            with self.subTest(table=table):
                # Never set.
                out = self.assertZeroOrDenied(self.app('SELECT count(*) FROM public."%s";' % table), table)
                if out is not None:
                    self.assertEqual(out.split()[-1], "0", "%s: readable without a tenant context" % table)
                # Set transaction-locally and read after the commit (it reads back as '').
                sql = ("BEGIN;\nSELECT set_config('app.tenant_id', '%d', true);\nCOMMIT;\n"
                       'SELECT count(*) FROM public."%s";' % (self.a.id, table))
                out = self.assertZeroOrDenied(self.app(sql), table)
                if out is not None:
                    self.assertEqual(out.split()[-1], "0", "%s: readable after a context ended" % table)
                # Explicitly empty.
                sql = "SELECT set_config('app.tenant_id', '', false);\nSELECT count(*) FROM public.\"%s\";" % table
                out = self.assertZeroOrDenied(self.app(sql), table)
                if out is not None:
                    self.assertEqual(out.split()[-1], "0", "%s: readable with an empty tenant id" % table)

    def test_sanity_own_context_reads_own_rows(self):
        """Without this the zero counts above could come from a role that reads nothing at all:
        wherever A has rows (of the context's mode, for mode-scoped tables) and the application
        role may read the table, A's own context sees them."""
        checked = []
        for table, info in sorted(self.tables.items()):
            col = info["tid"]
            scoped = info["livemode"] and table not in MODE_SPANNING
            for mode in ("false", "true"):
                where = '"%s" = %d' % (col, self.a.id)
                if scoped:
                    where += " AND livemode = %s" % mode
                have = int(lt.psql_rows(SUPER, 'SELECT count(*) FROM public."%s" WHERE %s;' % (table, where))[0][0])
                if have == 0:
                    continue
                with self.subTest(table=table, livemode=mode):
                    p = self.app(self.in_context(self.a.id, 'SELECT count(*) FROM public."%s" WHERE %s;'
                                                 % (table, where), mode))
                    out = self.assertZeroOrDenied(p, table)
                    if out is not None:
                        self.assertEqual(int(out.split()[-1]), have, "%s: A's own context misses A's rows" % table)
                        checked.append(table)
        self.assertIn("tenants", checked)
        self.assertGreaterEqual(len(set(checked)), 3, checked)


class KeyBegin(LevyTestCase):
    """levy_auth_api_key_begin(): the look-up that opens an API request's transaction."""

    def run_sql(self, sql):
        return lt.psql_rows(APP, "BEGIN;\n" + sql + "\nROLLBACK;\n")

    def key_hash(self, key):
        return hashlib.sha256(key.encode()).hexdigest()

    def test_sets_context_of_its_own_tenant_and_mode(self):
        t = lt.new_tenant()
        for key, mode in ((t.sk_test, "false"), (t.sk_live, "true")):
            with self.subTest(mode=mode):
                rows = self.run_sql(
                    "SELECT tenant_id FROM levy_auth_api_key_begin('%s', false);\n"
                    "SELECT current_setting('app.tenant_id'), current_setting('app.livemode'),"
                    " current_setting('transaction_read_only');\n"
                    "SELECT count(*) FROM tenant_users;" % self.key_hash(key))
                self.assertEqual(rows[0], [str(t.id)])
                self.assertEqual(rows[1], [str(t.id), mode, "off"])
                self.assertEqual(rows[2], ["1"])

    def test_read_only_mode(self):
        t = lt.new_tenant()
        p = lt.psql(APP, "BEGIN;\nSELECT tenant_id FROM levy_auth_api_key_begin('%s', true);\n"
                         "UPDATE tenant_users SET first_name = 'x';\nROLLBACK;\n"
                    % self.key_hash(t.sk_test), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("read-only transaction", p.stderr)

    def test_unknown_and_suspended_keys_set_no_context(self):
        t = lt.new_tenant()
        rows = self.run_sql(
            "SELECT count(key_id) FROM levy_auth_api_key_begin('%s', false);\n"
            "SELECT 'ctx=' || coalesce(current_setting('app.tenant_id', true), '');\n"
            "SELECT count(*) FROM tenant_users;" % self.key_hash(lt.mistype(t.sk_test)))
        self.assertEqual(rows, [["0"], ["ctx="], ["0"]])
        lt.levy_cli("tenant", "suspend", str(t.id))
        try:
            rows = self.run_sql(
                "SELECT tenant_status FROM levy_auth_api_key_begin('%s', false);\n"
                "SELECT 'ctx=' || coalesce(current_setting('app.tenant_id', true), '');\n"
                "SELECT count(*) FROM tenant_users;" % self.key_hash(t.sk_test))
            self.assertEqual(rows, [["suspended"], ["ctx="], ["0"]])
        finally:
            lt.levy_cli("tenant", "unsuspend", str(t.id))


if __name__ == "__main__":
    lt.main()
