#!/usr/bin/python3
"""The request path's fast paths (issue 3's speed work), each checked for what it must keep:

- levy_auth_api_key_open() (sql/004): the API key's look-up that opens a request's transaction
  sets the context of the key's own tenant and mode only for an active tenant, sets read-only
  mode when asked, and returns the tenant's profile only for an active tenant; it is a
  SECURITY DEFINER function with a fixed search_path that only levy_app may execute.
- levy_auth_user_open() (sql/009) does the same for a dashboard user's token: the context of
  the token's tenant, mode and user only for an active user of an active tenant, read-only
  mode and the request's id when asked, the profile only then.
- GET tenants/me with a key answers from that look-up alone: the same profile as a user's
  token reads under row-level security, current after a PATCH, and the key is stamped.
- Request ids are unique across requests and workers, in the documented form, and the
  response head (written without the arena now) keeps its headers, CORS included.
- The worker's watchdog (request_timeout + 5 s), which is no longer re-armed per request:
  an idle worker or one serving a stream of short requests outlives the alarm, and a
  request held longer than the limit still ends its worker, no sooner than the limit.
"""

import hashlib
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import levytest as lt  # noqa: E402
from levytest import ME, ROLL, VERIFY, LevyTestCase, get, patch, post  # noqa: E402
import test_server as ts  # noqa: E402

APP = os.environ.get("LEVY_APP_CONNINFO", "")
SUPER = os.environ.get("LEVY_SUPER_CONNINFO", "")
COLUMNS = ("key_id, tenant_id, secret, livemode, company_name, slug, tenant_status, email, domain,"
           " logo_url, primary_color, webhook_url, platform_fee_bp, subscription_tier, created,"
           " updated")
PROFILE = ("email", "domain", "logo_url", "primary_color", "webhook_url", "platform_fee_bp",
           "subscription_tier", "created", "updated")


def key_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def assertDefinerForApp(case, name):
    """name is SECURITY DEFINER, owned by levy_owner (no superuser), with a fixed
    search_path, and only levy_app (and its owner) may execute it."""
    rows = lt.psql_rows(SUPER, "SELECT p.prosecdef, array_to_string(p.proconfig, ';'),"
                               " r.rolname, r.rolsuper, array_to_string(p.proacl, ';')"
                               " FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner"
                               " WHERE p.proname = '%s';" % name)
    case.assertEqual(len(rows), 1, rows)
    secdef, config, owner, superuser, acl = rows[0]
    case.assertEqual((secdef, config), ("t", "search_path=pg_catalog, public"))
    case.assertEqual((owner, superuser), ("levy_owner", "f"))
    grantees = sorted(entry.split("=")[0] for entry in acl.split(";"))
    case.assertEqual(grantees, ["levy_app", "levy_owner"], "EXECUTE must not be PUBLIC's: %s" % acl)


class KeyLookup:
    """An API key's opening look-up in SQL, as the application role: FUNC answers COLUMNS
    (PROFILE among them or not) and ROUTE opens with it."""

    def run_sql(self, sql):
        return lt.psql_rows(APP, "BEGIN;\n" + sql + "\nROLLBACK;\n")

    def open_row(self, key, readonly="false"):
        rows = self.run_sql("SELECT %s FROM %s('%s', %s, NULL);"
                            % (self.COLUMNS, self.FUNC, key_hash(key), readonly))
        self.assertEqual(len(rows), 1)
        return dict(zip([c.strip() for c in self.COLUMNS.split(",")], rows[0]))

    def test_sets_context_of_its_own_tenant_and_mode(self):
        t = lt.new_tenant()
        for key, mode in ((t.sk_test, "false"), (t.sk_live, "true"), (t.pk_test, "false")):
            with self.subTest(key=key[:8]):
                rows = self.run_sql(
                    "SELECT tenant_id FROM %s('%s', false, NULL);\n"
                    "SELECT current_setting('app.tenant_id'), current_setting('app.livemode'),"
                    " current_setting('app.user_id'), current_setting('transaction_read_only');\n"
                    "SELECT count(*) FROM tenant_users;" % (self.FUNC, key_hash(key)))
                self.assertEqual(rows[0], [str(t.id)])
                self.assertEqual(rows[1], [str(t.id), mode, "", "off"])
                self.assertEqual(rows[2], ["1"])

    def test_names_a_writes_request(self):
        """A write's Request-Id becomes app.request_id (event.request.id); a read sets none."""
        t = lt.new_tenant()
        rows = self.run_sql(
            "SELECT tenant_id FROM %s('%s', false, 'req_abc');\n"
            "SELECT current_setting('app.request_id', true);" % (self.FUNC, key_hash(t.sk_test)))
        self.assertEqual(rows[1], ["req_abc"])
        rows = self.run_sql(
            "SELECT tenant_id FROM %s('%s', true, NULL);\n"
            "SELECT 'id=' || coalesce(current_setting('app.request_id', true), '');"
            % (self.FUNC, key_hash(t.sk_test)))
        self.assertEqual(rows[1], ["id="])

    def test_read_only_mode(self):
        t = lt.new_tenant()
        p = lt.psql(APP, "BEGIN;\nSELECT tenant_id FROM %s('%s', true, NULL);\n"
                         "UPDATE tenant_users SET first_name = 'x';\nROLLBACK;\n"
                    % (self.FUNC, key_hash(t.sk_test)), check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("read-only transaction", p.stderr)

    def test_unknown_and_expired_keys_answer_nulls_and_set_no_context(self):
        t = lt.new_tenant()
        st, _, _ = post(ROLL, {"mode": "test", "type": "secret", "expire_old_in_seconds": 0},
                        token=t.access)
        self.assertEqual(st, 201)
        for key in (lt.mistype(t.sk_live), t.sk_test):
            with self.subTest(key=key[:8]):
                rows = self.run_sql(
                    "SELECT count(key_id), count(tenant_id), count(secret), count(tenant_status)"
                    " FROM %s('%s', false, NULL);\n"
                    "SELECT 'ctx=' || coalesce(current_setting('app.tenant_id', true), '');\n"
                    "SELECT count(*) FROM tenant_users;" % (self.FUNC, key_hash(key)))
                self.assertEqual(rows, [["0", "0", "0", "0"], ["ctx="], ["0"]])

    def test_suspended_tenant_gets_no_context_and_no_profile(self):
        t = lt.new_tenant(domain="suspended.example.com")
        lt.levy_cli("tenant", "suspend", str(t.id))
        try:
            row = self.open_row(t.sk_test)
            self.assertEqual((row["key_id"] != "", row["tenant_status"]), (True, "suspended"))
            for c in self.PROFILE:
                self.assertEqual(row[c], "", "%s of a suspended tenant was returned" % c)
            rows = self.run_sql(
                "SELECT tenant_status FROM %s('%s', false, NULL);\n"
                "SELECT 'ctx=' || coalesce(current_setting('app.tenant_id', true), '');\n"
                "SELECT count(*) FROM tenants;" % (self.FUNC, key_hash(t.sk_test)))
            self.assertEqual(rows, [["suspended"], ["ctx="], ["0"]])
            self.assertError(get(self.ROUTE, key=t.sk_test), 403, "permission_error",
                             code="account_suspended")
        finally:
            lt.levy_cli("tenant", "unsuspend", str(t.id))
        self.assertEqual(get(self.ROUTE, key=t.sk_test)[0], 200)

    def test_definer_with_fixed_search_path_for_levy_app_only(self):
        assertDefinerForApp(self, self.FUNC)


class KeyOpen(KeyLookup, LevyTestCase):
    """levy_auth_api_key_open() (sql/004), which GET tenants/me opens with."""

    FUNC = "levy_auth_api_key_open"
    COLUMNS = COLUMNS
    PROFILE = PROFILE
    ROUTE = ME

    def test_returns_its_tenants_profile(self):
        t = lt.new_tenant(domain="open.example.com", webhook_url="https://open.example.com/hook")
        st, _, _ = patch(ME, {"branding": {"logo_url": "https://open.example.com/l.png",
                                           "primary_color": "#123456"}}, token=t.access)
        self.assertEqual(st, 200)
        want = lt.psql_rows(SUPER, "SELECT id, company_name, slug, 'active', email, domain, logo_url,"
                                   " primary_color, webhook_url, platform_fee_bp, subscription_tier,"
                                   " floor(extract(epoch FROM created_at))::bigint,"
                                   " floor(extract(epoch FROM updated_at))::bigint"
                                   " FROM tenants WHERE id = %d;" % t.id)[0]
        row = self.open_row(t.sk_live)
        got = [row[c] for c in ("tenant_id", "company_name", "slug", "tenant_status") + PROFILE]
        self.assertEqual(got, want)
        self.assertEqual((row["secret"], row["livemode"]), ("t", "t"))
        row = self.open_row(t.pk_test)
        self.assertEqual((row["secret"], row["livemode"], row["email"]), ("f", "f", t.email))


class KeyEnter(KeyLookup, LevyTestCase):
    """levy_auth_api_key_enter() (sql/017), which opens every other API-key request: the same
    look-up, stamp and context, without the profile."""

    FUNC = "levy_auth_api_key_enter"
    COLUMNS = "key_id, tenant_id, secret, livemode, tenant_status"
    PROFILE = ()
    ROUTE = "/api/v1/customers"

    def test_answers_the_key_without_the_profile(self):
        """Its answer is the key and the tenant's status, nothing of the profile."""
        t = lt.new_tenant()
        rows = self.run_sql("SELECT row_to_json(k)::text FROM %s('%s', false, NULL) k;"
                            % (self.FUNC, key_hash(t.sk_live)))
        got = json.loads(rows[0][0])
        self.assertEqual(sorted(got), sorted(c.strip() for c in self.COLUMNS.split(",")))
        self.assertEqual((got["tenant_id"], got["secret"], got["livemode"], got["tenant_status"]),
                         (t.id, True, True, "active"))

    def test_only_tenants_me_opens_with_the_profile(self):
        """With levy_auth_api_key_open() out of levy_app's reach, tenants/me fails and the
        other routes do not: they open with this function."""
        t = lt.new_tenant()
        lt.psql(SUPER, "REVOKE EXECUTE ON FUNCTION levy_auth_api_key_open(text, boolean, text)"
                       " FROM levy_app;")
        try:
            self.assertEqual(get(ME, key=t.sk_test)[0], 500)
            self.assertEqual(get(self.ROUTE, key=t.sk_test)[0], 200)
            st, _, c = post(self.ROUTE, {"name": "Entered"}, key=t.sk_test)
            self.assertEqual((st, c.get("name")), (200, "Entered"))
        finally:
            lt.psql(SUPER, "GRANT EXECUTE ON FUNCTION levy_auth_api_key_open(text, boolean, text)"
                           " TO levy_app;")
        self.assertEqual(get(ME, key=t.sk_test)[0], 200)

    def test_stamps_the_key(self):
        """A billing route's look-up stamps the key's last use, at most once a minute."""
        t = lt.new_tenant()
        h = key_hash(t.sk_test)
        lt.psql(SUPER, "UPDATE api_keys SET last_used_at = NULL WHERE key_hash = '%s';" % h)
        self.assertEqual(get(self.ROUTE, key=t.sk_test)[0], 200)
        first = lt.psql_rows(SUPER, "SELECT last_used_at FROM api_keys WHERE key_hash = '%s';" % h)
        self.assertNotEqual(first, [[""]])
        self.assertEqual(get(self.ROUTE, key=t.sk_test)[0], 200)
        self.assertEqual(lt.psql_rows(SUPER, "SELECT last_used_at FROM api_keys"
                                             " WHERE key_hash = '%s';" % h), first)


class UserOpen(LevyTestCase):
    """levy_auth_user_open() (sql/009): a dashboard user's look-up that opens the request."""

    COLS = ("role, is_active, tenant_status, company_name, slug, email, domain, logo_url,"
            " primary_color, webhook_url, platform_fee_bp, subscription_tier, created, updated")

    def run_sql(self, sql):
        return lt.psql_rows(APP, "BEGIN;\n" + sql + "\nROLLBACK;\n")

    def open_sql(self, uid, tid, live="false", readonly="false", request_id="NULL"):
        return ("SELECT %s FROM levy_auth_user_open(%d, %d, %s, %s, %s);"
                % (self.COLS, uid, tid, live, readonly, request_id))

    def context_sql(self):
        return ("SELECT 'ctx=' || coalesce(current_setting('app.tenant_id', true), '') || '/'"
                " || coalesce(current_setting('app.livemode', true), '') || '/'"
                " || coalesce(current_setting('app.user_id', true), '') || '/'"
                " || coalesce(current_setting('app.request_id', true), '') || '/'"
                " || current_setting('transaction_read_only');\n"
                "SELECT count(*) FROM tenant_users;")

    def test_sets_context_and_returns_the_profile(self):
        t = lt.new_tenant(domain="user-open.example.com")
        rows = self.run_sql(self.open_sql(t.user_id, t.id, live="true", request_id="'req_u1'")
                            + "\n" + self.context_sql())
        want = lt.psql_rows(SUPER, "SELECT 'owner', 't', 'active', company_name, slug, email, domain,"
                                   " logo_url, primary_color, webhook_url, platform_fee_bp,"
                                   " subscription_tier, floor(extract(epoch FROM created_at))::bigint,"
                                   " floor(extract(epoch FROM updated_at))::bigint"
                                   " FROM tenants WHERE id = %d;" % t.id)[0]
        self.assertEqual(rows[0], want)
        self.assertEqual(rows[1], ["ctx=%d/true/%d/req_u1/off" % (t.id, t.user_id)])
        self.assertEqual(rows[2], ["1"])
        rows = self.run_sql(self.open_sql(t.user_id, t.id, readonly="true") + "\n"
                            + self.context_sql())
        self.assertEqual(rows[1], ["ctx=%d/false/%d//on" % (t.id, t.user_id)])

    def test_a_user_of_another_tenant_gets_nulls_and_no_context(self):
        a, b = lt.new_tenant(), lt.new_tenant()
        rows = self.run_sql(self.open_sql(a.user_id, b.id) + "\n" + self.context_sql())
        self.assertEqual(rows[0], [""] * 14)
        self.assertEqual(rows[1], ["ctx=///" + "/off"])
        self.assertEqual(rows[2], ["0"])

    def test_inactive_user_gets_no_profile_and_no_context(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        st, _, u = patch(lt.user_path(dev.id), {"is_active": False}, token=t.access)
        self.assertEqual(st, 200, u)
        rows = self.run_sql(self.open_sql(dev.id, t.id) + "\n" + self.context_sql())
        self.assertEqual(rows[0][:3], ["developer", "f", "active"])
        self.assertEqual(rows[0][3:], [""] * 11)
        self.assertEqual(rows[1:], [["ctx=///" + "/off"], ["0"]])
        self.assertError(get(ME, token=dev.access), 401, "authentication_error")

    def test_suspended_tenant_gets_no_profile_and_no_context(self):
        t = lt.new_tenant()
        lt.levy_cli("tenant", "suspend", str(t.id))
        try:
            rows = self.run_sql(self.open_sql(t.user_id, t.id) + "\n" + self.context_sql())
            self.assertEqual(rows[0][:3], ["owner", "t", "suspended"])
            self.assertEqual(rows[0][3:], [""] * 11)
            self.assertEqual(rows[1:], [["ctx=///" + "/off"], ["0"]])
            self.assertError(get(ME, token=t.access), 403, "permission_error",
                             code="account_suspended")
        finally:
            lt.levy_cli("tenant", "unsuspend", str(t.id))
        self.assertEqual(get(ME, token=t.access)[0], 200)

    def test_definer_with_fixed_search_path_for_levy_app_only(self):
        assertDefinerForApp(self, "levy_auth_user_open")

    def test_me_with_a_token_is_the_profile_under_rls_in_either_mode(self):
        t = lt.new_tenant(domain="token-me.example.com")
        st, _, by_key = get(ME, key=t.sk_test)
        self.assertEqual(st, 200)
        for mode in ("test", "live"):
            with self.subTest(mode=mode):
                st, _, body = get(ME, token=t.access, headers={"Levy-Mode": mode})
                self.assertEqual(st, 200, body)
                if mode == "test":
                    self.assertEqual(body, by_key)
                self.assertEqual(body["id"], t.id)
                self.assertEqual(body["domain"], "token-me.example.com")
        # A write under a token names its request in the events it records.
        st, h, cus = post("/api/v1/customers", form={"email": "tok@example.com"}, token=t.access)
        self.assertEqual(st, 200, cus)
        st, _, evs = get("/api/v1/events?type=customer.created", token=t.access)
        self.assertEqual(st, 200, evs)
        ev = [e for e in evs["data"] if e["data"]["object"]["id"] == cus["id"]]
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0]["request"]["id"], h["request-id"])


class MeFromTheLookUp(LevyTestCase):
    """GET tenants/me with a key: the profile comes with the key's look-up."""

    def test_same_profile_as_under_rls_and_current_after_patch(self):
        t = lt.new_tenant(domain="me.example.com")
        for body in (None, {"company_name": "Renamed Co", "domain": "",
                            "webhook_url": "https://me.example.com/hook",
                            "branding": {"primary_color": "#abcdef"}}):
            if body is not None:
                self.assertEqual(patch(ME, body, token=t.access)[0], 200)
            with self.subTest(patched=body is not None):
                st, _, by_token = get(ME, token=t.access)
                self.assertEqual(st, 200, by_token)
                st, _, by_key = get(ME, key=t.sk_test)
                self.assertEqual(st, 200, by_key)
                self.assertEqual(by_key, by_token)
                st, _, live = get(ME, key=t.sk_live)
                self.assertEqual(st, 200, live)
                self.assertEqual(dict(live, livemode=False), by_token)
                self.assertIs(live["livemode"], True)
        self.assertEqual(by_key["company_name"], "Renamed Co")
        self.assertIsNone(by_key["domain"])

    def test_stamps_the_key(self):
        t = lt.new_tenant()
        q = ("SELECT count(*) FROM api_keys WHERE tenant_id = %d AND NOT livemode AND secret"
             " AND last_used_at IS NOT NULL;" % t.id)
        self.assertEqual(lt.psql_rows(SUPER, q), [["0"]])
        self.assertEqual(get(ME, key=t.sk_test)[0], 200)
        self.assertEqual(lt.psql_rows(SUPER, q), [["1"]])

    def test_revoked_and_publishable_keys(self):
        t = lt.new_tenant()
        st, _, new = post(ROLL, {"mode": "live", "type": "secret", "expire_old_in_seconds": 0},
                          token=t.access)
        self.assertEqual(st, 201, new)
        self.assertError(get(ME, key=t.sk_live), 401, "authentication_error")
        self.assertEqual(get(ME, key=new["key"])[0], 200)
        self.assertError(get(ME, key=t.pk_live), 403, "permission_error")


class RequestIds(LevyTestCase):
    def test_unique_and_well_formed(self):
        ids = []
        lock = threading.Lock()

        def burst():
            for _ in range(75):
                rid = get(VERIFY)[1]["Request-Id"]
                with lock:
                    ids.append(rid)

        threads = [threading.Thread(target=burst) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
        self.assertEqual(len(ids), 300)
        self.assertEqual(len(set(ids)), 300, "a Request-Id was repeated")
        for rid in ids:
            self.assertRegex(rid, r"^req_[0-9A-Za-z]{24}$")
        # Both workers answered, and their ids differ in their prefixes, too.
        self.assertGreaterEqual(len({rid[4:17] for rid in ids}), 2, sorted(ids)[:5])


class ResponseHead(LevyTestCase):
    """The head reply_write() puts straight into libfcgi's stream: status, Content-Type,
    Request-Id, Cache-Control, CORS for a configured origin only, the handler's own headers,
    Content-Length; through our own levy-fcgi with one allowed origin."""

    ORIGIN = "https://app.example.com"

    @classmethod
    def setUpClass(cls):
        cls.tenant = lt.new_tenant()

    def setUp(self):
        conf = ts.conf_with([(None, 'cors_origins = ["%s"];' % self.ORIGIN)], "cors.conf")
        self.srv = ts.Extra(self, "cors", ["-l", "unix:" + os.path.join(ts.SOCKDIR, "cors.sock"),
                                           "-w", "1"], conf=conf)
        self.srv.wait_ready()

    def request(self, method, path, origin=None, key=None):
        headers = {}
        if origin:
            headers["Origin"] = origin
        if key:
            headers["Authorization"] = "Bearer " + key
        return ts.fcgi_request(self.srv.sock, method, path, headers=headers, timeout=30)

    def test_allowed_origin(self):
        st, h, data = self.request("GET", ME, origin=self.ORIGIN, key=self.tenant.sk_test)
        self.assertEqual(st, 200, data)
        self.assertEqual(h["access-control-allow-origin"], self.ORIGIN)
        self.assertEqual(h["access-control-allow-credentials"], "true")
        self.assertEqual(h["access-control-expose-headers"], "Request-Id, Idempotent-Replayed")
        self.assertEqual(h["vary"], "Origin")
        self.assertEqual(h["content-type"], "application/json; charset=utf-8")
        self.assertEqual(h["cache-control"], "no-store")
        self.assertRegex(h["request-id"], r"^req_[0-9A-Za-z]{24}$")
        self.assertEqual(int(h["content-length"]), len(data))
        self.assertIn(b'"object":"tenant"', data)

    def test_other_or_no_origin(self):
        for origin in ("https://evil.example.com", None):
            with self.subTest(origin=origin):
                st, h, data = self.request("GET", VERIFY, origin=origin)
                self.assertEqual(st, 401, data)
                self.assertNotIn("access-control-allow-origin", h)
                self.assertNotIn("vary", h)
                self.assertEqual(int(h["content-length"]), len(data))

    def test_handler_headers_and_preflight(self):
        st, h, data = self.request("DELETE", VERIFY, origin=self.ORIGIN)
        self.assertEqual(st, 405, data)
        self.assertEqual(h["allow"], "GET")
        self.assertEqual(h["access-control-allow-origin"], self.ORIGIN)
        st, h, data = self.request("OPTIONS", ME, origin=self.ORIGIN)
        self.assertEqual(st, 204, data)
        self.assertEqual(data, b"")
        self.assertNotIn("content-type", h)
        self.assertEqual(h["content-length"], "0")
        self.assertIn("PATCH", h["access-control-allow-methods"])
        self.assertEqual(h["access-control-max-age"], "600")


class Watchdog(LevyTestCase):
    """request_timeout = 1: a request may take 6 s (request_timeout + 5), its worker ends after
    at most 7 s; our own levy-fcgi with one worker, talked to directly."""

    LIMIT = 6

    def start(self, name):
        conf = ts.conf_with([(None, "request_timeout = 1;"), (None, "max_requests = 0;")],
                            name + ".conf")
        srv = ts.Extra(self, name, ["-l", "unix:" + os.path.join(ts.SOCKDIR, name + ".sock"), "-w", "1"],
                       conf=conf)
        srv.wait_ready()
        self.assertTrue(ts.wait_for(lambda: len(srv.workers()) == 1, 10), srv.log())
        return srv

    def verify(self, srv):
        st, _, _ = ts.fcgi_request(srv.sock, "GET", "/api/v1/auth/tenants/verify/", timeout=30)
        self.assertEqual(st, 401)

    def test_idle_worker_outlives_the_alarm(self):
        srv = self.start("dog-idle")
        self.verify(srv)
        pid = srv.workers()
        time.sleep(self.LIMIT + 3)
        self.verify(srv)
        self.assertEqual(srv.workers(), pid, srv.log())
        self.assertNotIn("exceeded request_timeout", srv.log())

    def test_short_requests_for_longer_than_the_limit(self):
        srv = self.start("dog-busy")
        pid = srv.workers()
        end = time.monotonic() + self.LIMIT + 3
        n = 0
        while time.monotonic() < end:
            self.verify(srv)
            n += 1
            time.sleep(0.05)
        self.assertEqual(srv.workers(), pid, srv.log())
        self.assertNotIn("exceeded request_timeout", srv.log())
        self.assertGreater(n, 20)

    def test_a_request_held_too_long_ends_its_worker(self):
        # The alarm was armed by a request nearly a second ago, and is not re-armed.
        self.held_too_long("dog-stuck", 0.9)

    def test_the_alarm_is_re_armed_for_a_later_request(self):
        # Three seconds after the last request: this one must get its full six.
        self.held_too_long("dog-later", 3.0)

    def held_too_long(self, name, idle):
        srv = self.start(name)
        self.verify(srv)
        time.sleep(idle)
        pid = srv.workers()
        outcome = {}

        def stuck():
            try:
                outcome["answer"] = ts.fcgi_request(srv.sock, "POST", "/api/v1/auth/tenants/login/",
                                                    body=b'{"email": "a@example.com"}', dribble=0.5,
                                                    timeout=30)
            except OSError as e:  # the worker died under it
                outcome["error"] = e

        t0 = time.monotonic()
        th = threading.Thread(target=stuck, daemon=True)
        th.start()
        self.assertTrue(ts.wait_for(lambda: not ts.alive(pid[0]), self.LIMIT + 4), srv.log())
        died = time.monotonic() - t0
        th.join(30)
        self.assertGreaterEqual(died, self.LIMIT - 0.5, "killed before request_timeout + 5 s")
        self.assertLessEqual(died, self.LIMIT + 2, "not killed within request_timeout + 6 s")
        self.assertIn("error", outcome, outcome)
        self.assertTrue(ts.wait_for(lambda: "exceeded request_timeout" in srv.log(), 5), srv.log())
        self.assertTrue(ts.wait_for(lambda: len(srv.workers()) == 1 and srv.workers() != pid, 10))
        self.verify(srv)


if __name__ == "__main__":
    lt.main()
