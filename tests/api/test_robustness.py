#!/usr/bin/python3
"""Hostile and broken requests: each gets its JSON error (from levy or from nginx), and the
server keeps serving an ordinary request afterwards."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import REGISTER, LevyTestCase  # noqa: E402

MIB = 1024 * 1024


def reg_json(extra=b""):
    """A valid registration body as bytes, with room to splice in one more member."""
    b = lt.register_body()
    del b["first_name"]
    text = json.dumps(b).encode()
    return text[:-1] + extra + b"}"


class Robust(LevyTestCase):
    def tearDown(self):
        self.assertTrue(lt.healthy(), "levy stopped serving after %s" % self.id())

    def bad(self, resp, status=400, type_="invalid_request_error", **kw):
        return self.assertError(resp, status, type_, **kw)

    def post_raw(self, data, ctype="application/json", path=REGISTER, **kw):
        return lt.call("POST", path, data=data, content_type=ctype, **kw)

    # -- JSON ---------------------------------------------------------------

    def test_malformed_json(self):
        for data in (b'{"email": ', b"{", b"}", b"{'a': 1}", b'{"a" 1}', b'{"a": 1,}', b'{"a": tru}',
                     b'{"a": 01}', b'{"a": "\\x"}', b'{"a": "unterminated}', b"nul", b"\x00"):
            with self.subTest(data=data):
                self.bad(self.post_raw(data))

    def test_not_an_object(self):
        for data in (b"[]", b'"string"', b"1", b"null", b"true"):
            with self.subTest(data=data):
                self.bad(self.post_raw(data))

    def test_body_over_limit(self):
        # 2 MiB: nginx or levy may answer; JSON either way.
        big = reg_json(b', "first_name": "' + b"a" * (2 * MIB) + b'"')
        st, h, obj = self.post_raw(big)
        self.bad((st, h, obj), 413)
        # Just over levy's 1 MiB limit.
        over = reg_json(b', "first_name": "' + b"a" * (MIB + 16) + b'"')
        self.bad(self.post_raw(over), 413)
        # The same as a form body.
        form = ("company_name=x&first_name=" + "a" * (MIB + 16)).encode()
        self.bad(self.post_raw(form, ctype=lt.FORM_CT), 413)

    def test_body_under_limit_reaches_validation(self):
        # 900 KiB is within the limit: levy reads it and names the too-long param.
        body = reg_json(b', "first_name": "' + b"a" * (900 * 1024) + b'"')
        self.bad(self.post_raw(body), 400, param="first_name")

    def test_deep_nesting(self):
        for depth in (100, 33, 1000):
            with self.subTest(depth=depth, kind="arrays"):
                self.bad(self.post_raw(reg_json(b', "first_name": ' + b"[" * depth + b"]" * depth)))
            with self.subTest(depth=depth, kind="objects"):
                self.bad(self.post_raw(reg_json(b', "first_name": ' + b'{"a":' * depth + b"1" + b"}" * depth)))
        # Form bracket notation nests as well.
        self.bad(self.post_raw(b"company_name=x&a" + b"[b]" * 100 + b"=1", ctype=lt.FORM_CT))

    def test_invalid_utf8(self):
        for bad in (b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"caf\xe9", b"\xf8\x88\x80\x80\x80"):
            with self.subTest(bytes=bad):
                body = reg_json(b', "first_name": "' + bad + b'"')
                self.bad(self.post_raw(body))
                self.bad(self.post_raw(b'{"company_name": "ok", "' + bad + b'": 1}'))
        self.bad(self.post_raw(b"company_name=%FF%FE&email=a%40example.com", ctype=lt.FORM_CT))
        self.bad(self.post_raw(b"company_name=caf\xe9", ctype=lt.FORM_CT))

    def test_json_escapes(self):
        self.bad(self.post_raw(reg_json(b', "first_name": "a\\u0000b"')))
        self.bad(self.post_raw(reg_json(b', "first_name": "\\ud800"')))
        self.bad(self.post_raw(reg_json(b', "first_name": "\\udc00x"')))
        self.bad(self.post_raw(reg_json(b', "first_name": "\\ud800\\u0041"')))
        # A proper surrogate pair is a character like any other.
        st, _, obj = self.post_raw(reg_json(b', "first_name": "Smile \\ud83d\\ude00"'))
        self.assertEqual(st, 201, obj)

    def test_duplicate_keys(self):
        b = lt.register_body()
        data = ('{"company_name": %s, "email": %s, "email": %s, "password": %s}'
                % (json.dumps(b["company_name"]), json.dumps(lt.unique_email("d1")),
                   json.dumps(lt.unique_email("d2")), json.dumps(b["password"]))).encode()
        self.bad(self.post_raw(data))
        self.bad(self.post_raw(reg_json(b', "x": {"a": 1, "a": 2}')))

    def test_nan_and_infinity(self):
        for tok in (b"NaN", b"Infinity", b"-Infinity", b"nan", b"inf", b"1e999", b"-1e999"):
            with self.subTest(token=tok):
                self.bad(self.post_raw(reg_json(b', "first_name": ' + tok)))
                self.bad(lt.call("POST", lt.ROLL, data=b'{"mode":"test","type":"secret","expire_old_in_seconds":'
                                 + tok + b"}", content_type="application/json", token=self.token()))

    def test_trailing_garbage(self):
        good = reg_json()
        for tail in (b" x", b"}", b'{"a":1}', b"\x00", b",", b" []"):
            with self.subTest(tail=tail):
                self.bad(self.post_raw(good + tail))
        # Whitespace after the value is fine.
        st, _, obj = self.post_raw(reg_json() + b" \n\t\r\n")
        self.assertEqual(st, 201, obj)

    # -- Content-Type -------------------------------------------------------

    def test_missing_content_type(self):
        self.bad(self.post_raw(reg_json(), ctype=None), 415)

    def test_unsupported_content_type(self):
        for ct in ("text/plain", "multipart/form-data; boundary=xyz", "application/xml", "application/jsonx",
                   "application/x-www-form-urlencodedx", "json", ""):
            with self.subTest(ct=ct):
                self.bad(self.post_raw(reg_json(), ctype=ct), 415)

    def test_content_type_parameters_and_case(self):
        for ct in ("application/json; charset=utf-8", "application/json;charset=UTF-8", "Application/JSON"):
            with self.subTest(ct=ct):
                st, _, obj = self.post_raw(reg_json(), ctype=ct)
                self.assertEqual(st, 201, obj)
        st, _, obj = self.post_raw(
            ("company_name=Form+%s&email=%s&password=%s" % (lt.unique(""), lt.unique_email("f").replace("@", "%40"),
                                                            lt.PASSWORD)).encode(),
            ctype="application/x-www-form-urlencoded; charset=utf-8")
        self.assertEqual(st, 201, obj)

    # -- forms and query strings ----------------------------------------------

    def test_form_bad_percent_escape(self):
        for data in (b"company_name=%ZZ", b"company_name=abc%", b"company_name=abc%4", b"company_name=%G1",
                     b"%ZZ=1"):
            with self.subTest(data=data):
                self.bad(self.post_raw(data + b"&email=x%40example.com", ctype=lt.FORM_CT))

    def test_form_limits(self):
        self.bad(self.post_raw(b"company_name=x&items[1000]=a", ctype=lt.FORM_CT))
        many = "&".join("p%d=1" % i for i in range(1001)).encode()
        self.bad(self.post_raw(many, ctype=lt.FORM_CT))

    def test_query_bad_escape(self):
        t = self.tenant()
        for q in ("limit=%ZZ", "limit=1%", "%ZZ=1", "limit=%FF"):
            with self.subTest(q=q):
                self.bad(lt.get(lt.USERS + "?" + q, token=t.access))

    # -- routes and methods -------------------------------------------------

    def test_unknown_routes(self):
        for method, path in (("GET", "/api/v1/nope"), ("GET", "/api/v1/nope/"), ("POST", "/api/v1/nope"),
                             ("GET", "/api/v1/auth/"), ("GET", "/api/v2/auth/tenants/verify/"),
                             ("GET", "/api/v1/auth/tenants/verify/extra/"), ("GET", "/v1/nope"),
                             ("GET", "/api/v1/auth/users/1/2/"), ("GET", "/api/v1/auth/tenants/verifyx/"),
                             ("GET", "/api/v1/auth/tenants/verify/x")):
            with self.subTest(method=method, path=path):
                self.bad(lt.call(method, path), 404)

    def test_unread_bodies_never_cost_the_answer(self):
        # A worker closes its connection as soon as it has read the request to
        # its end; a body it never read (an unknown route answers before the
        # body is looked at) must not turn that close into a reset that loses
        # the answer, whether the body fits the worker's drain or not.
        for size in (0, 100, 60 * 1024, 200 * 1024, 2 * 1024 * 1024):
            with self.subTest(size=size):
                for _ in range(5):
                    st, h, data = lt.raw("POST", "/api/v1/no/such/route", b"x" * size,
                                         {"Content-Type": "application/json"})
                    self.assertEqual(st, 404, data[:200])
                    obj = json.loads(data)
                    self.assertEqual(obj["error"]["type"], "invalid_request_error")
                self.assertTrue(lt.healthy())

    def test_wrong_methods(self):
        t = self.tenant()
        cases = [
            ("DELETE", lt.VERIFY, {"GET"}),
            ("POST", lt.VERIFY, {"GET"}),
            ("GET", REGISTER, {"POST"}),
            ("PUT", REGISTER, {"POST"}),
            ("GET", lt.LOGIN, {"POST"}),
            ("GET", lt.REFRESH, {"POST"}),
            ("GET", lt.LOGOUT, {"POST"}),
            ("PUT", lt.ME, {"GET", "PATCH"}),
            ("DELETE", lt.USERS, {"GET", "POST"}),
            ("PUT", lt.user_path(t.user_id), {"GET", "PATCH", "DELETE"}),
            ("POST", lt.USERS_ME, {"GET"}),
            ("POST", lt.API_KEYS, {"GET"}),
            ("GET", lt.ROLL, {"POST"}),
            ("PATCH", "/v1/auth/tenants/verify", {"GET"}),
        ]
        for method, path, allowed in cases:
            with self.subTest(method=method, path=path):
                st, h, obj = lt.call(method, path, token=t.access)
                self.bad((st, h, obj), 405)
                allow = {a.strip().upper() for a in (h.get("Allow") or "").split(",") if a.strip()}
                self.assertTrue(allowed <= allow, "Allow: %r, want %s" % (h.get("Allow"), sorted(allowed)))
                self.assertNotIn(method, allow)

    def test_unknown_method(self):
        st, h, data = lt.raw("FROB", lt.VERIFY)
        self.assertIn(st, (400, 405, 501), data)
        lt.check_envelope(st, h, data, "FROB")

    # -- headers and URLs beyond nginx's defaults ----------------------------

    def test_8k_authorization_header(self):
        for n in (6 * 1024, 8 * 1024):
            with self.subTest(n=n):
                self.bad(lt.get(lt.VERIFY, headers={"Authorization": "Bearer " + "A" * n}), 401,
                         "authentication_error")
                self.bad(lt.get(lt.ME, headers={"Authorization": "Bearer eyJ" + "A" * n}), 401,
                         "authentication_error")

    def test_very_long_url(self):
        st, h, obj = lt.get("/api/v1/auth/tenants/verify/?x=" + "a" * (64 * 1024))
        self.bad((st, h, obj), 414)

    def test_huge_header(self):
        st, h, obj = lt.get(lt.VERIFY, headers={"X-Junk": "j" * (64 * 1024)})
        self.assertIn(st, (400, 431, 494), obj)
        self.assertEqual(obj["error"]["type"], "invalid_request_error")

    def test_garbage_request_line(self):
        st, h, data = lt.raw_socket(b"THIS IS NOT HTTP\r\n\r\n")
        self.assertEqual(st, 400)
        obj = lt.check_envelope(st, h, data, "garbage request line")
        self.assertEqual(obj["error"]["type"], "invalid_request_error")

    def test_chunked_body(self):
        body = reg_json()
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        req = (b"POST " + REGISTER.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunked)
        st, h, data = lt.raw_socket(req)
        obj = lt.check_envelope(st, h, data, "chunked POST")
        self.assertIn(st, (201, 411), obj)

    # -- every response is an API response ------------------------------------

    def test_request_ids_unique(self):
        ids = {lt.get(lt.VERIFY)[1]["Request-Id"] for _ in range(20)}
        self.assertEqual(len(ids), 20)

    def test_burst(self):
        t = self.tenant()
        results, lock = [], threading.Lock()

        def worker():
            for _ in range(10):
                try:
                    st = lt.get(lt.VERIFY, key=t.sk_test)[0]
                except Exception as e:  # noqa: BLE001 - recorded, asserted below
                    st = repr(e)
                with lock:
                    results.append(st)

        threads = [threading.Thread(target=worker) for _ in range(24)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        self.assertEqual(len(results), 240)
        self.assertEqual([r for r in results if r != 200], [])

    # -- the log -------------------------------------------------------------

    def log_text(self):
        path = os.environ.get("LEVY_FCGI_LOG", "")
        if not path or not os.path.exists(path):
            self.skipTest("LEVY_FCGI_LOG not available")
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def log_line(self, rid):
        deadline = time.time() + 5
        while True:
            lines = [ln for ln in self.log_text().splitlines() if rid in ln]
            if lines or time.time() > deadline:
                return lines
            time.sleep(0.1)

    def test_request_id_in_log_line(self):
        t = self.tenant()
        st, h, _ = lt.get(lt.VERIFY, key=t.sk_test)
        lines = self.log_line(h["Request-Id"])
        self.assertEqual(len(lines), 1, "one log line per request carrying its Request-Id")
        self.assertIn("200", lines[0])
        self.assertIn("GET", lines[0])
        self.assertIn(str(t.id), lines[0])
        st, h, _ = lt.get("/api/v1/nope")
        lines = self.log_line(h["Request-Id"])
        self.assertEqual(len(lines), 1)
        self.assertIn("404", lines[0])

    def test_secrets_never_logged(self):
        password = "Log-Canary-Passphrase-%s" % lt.unique("")
        t = lt.new_tenant(password=password)
        lt.login(t.email, password)
        lt.post(lt.LOGIN, {"email": t.email, "password": password + "-wrong"})
        lt.get(lt.VERIFY, key=t.sk_live)
        lt.get(lt.VERIFY, headers={"X-API-Key": t.sk_test})
        lt.get(lt.VERIFY, headers={"Authorization": lt.basic(t.pk_test)})
        lt.get(lt.ME, token=t.access)
        r = lt.post(lt.REFRESH, {"refresh": t.refresh})[2]
        lt.get(lt.VERIFY, key=lt.mistype(t.sk_live))
        time.sleep(0.3)
        text = self.log_text()
        for what, secret in (("password", password), ("live secret key", t.sk_live), ("test secret key", t.sk_test),
                             ("webhook secret", t.whsec), ("access token", t.access), ("refresh token", t.refresh),
                             ("rotated refresh token", r.get("refresh", "-")),
                             ("mistyped secret key", lt.mistype(t.sk_live)),
                             ("JWT signature", t.access.rsplit(".", 1)[1])):
            with self.subTest(what=what):
                self.assertNotIn(secret, text)

    # -- helpers ----------------------------------------------------------------

    _tenant = None

    def tenant(self):
        if Robust._tenant is None:
            Robust._tenant = lt.new_tenant()
        return Robust._tenant

    def token(self):
        return self.tenant().access


if __name__ == "__main__":
    lt.main()
