#!/usr/bin/python3
"""POST /api/v1/auth/tenants/register/: the seed's documented shape, every validation path."""

import base64
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import REGISTER, LevyTestCase, post  # noqa: E402

TENANT_KEYS = {"id", "company_name", "slug", "email", "api_key_public", "api_key_secret",
               "api_key_test_public", "api_key_test_secret", "webhook_secret",
               "platform_fee_percentage", "subscription_tier"}


class RegisterShape(LevyTestCase):
    def test_documented_body(self):
        mixed = "Owner.Mixed%s@Example.COM" % lt.unique("")
        body = lt.register_body(email=mixed, domain="acme.example.com",
                                webhook_url="https://acme.example.com/webhooks/billing")
        st, _, obj = post(REGISTER, body)
        self.assertEqual(st, 201, obj)
        self.assertKeys(obj, {"message", "tenant", "user", "tokens"}, "register body")
        self.assertEqual(obj["message"], "Tenant registered successfully")

        t = obj["tenant"]
        self.assertKeys(t, TENANT_KEYS, "tenant")
        self.assertInt(t["id"], "tenant.id")
        self.assertEqual(t["company_name"], body["company_name"])
        self.assertRegex(t["slug"], lt.SLUG_RE)
        self.assertEqual(t["email"], mixed.lower(), "email is stored lowercase")
        self.assertRegex(t["api_key_public"], lt.KEY_RE["pk_live"])
        self.assertRegex(t["api_key_secret"], lt.KEY_RE["sk_live"])
        self.assertRegex(t["api_key_test_public"], lt.KEY_RE["pk_test"])
        self.assertRegex(t["api_key_test_secret"], lt.KEY_RE["sk_test"])
        self.assertRegex(t["webhook_secret"], r"^whsec_[0-9A-Za-z+/=_-]{24,}$")
        self.assertEqual(t["platform_fee_percentage"], "15.00")
        self.assertEqual(t["subscription_tier"], "free")
        keys = [t["api_key_public"], t["api_key_secret"], t["api_key_test_public"],
                t["api_key_test_secret"]]
        self.assertEqual(len(set(k[8:] for k in keys)), 4, "the four keys share random parts")

        u = obj["user"]
        self.assertKeys(u, {"id", "email", "role"}, "user")
        self.assertInt(u["id"], "user.id")
        self.assertEqual(u["email"], mixed.lower())
        self.assertEqual(u["role"], "owner")

        tok = obj["tokens"]
        self.assertKeys(tok, {"access", "refresh"}, "tokens")
        for name in ("access", "refresh"):
            self.assertRegex(tok[name], lt.JWT_RE)
            head, claims = lt.jwt_decode(tok[name])
            self.assertEqual(head.get("alg"), "HS256")
            for c in ("sub", "tid", "role", "typ", "jti", "iat", "exp"):
                self.assertIn(c, claims, "%s token claims" % name)
            self.assertEqual(str(claims["tid"]), str(t["id"]))
            self.assertEqual(str(claims["sub"]), str(u["id"]))
            self.assertEqual(claims["typ"], name)
        _, acc = lt.jwt_decode(tok["access"])
        self.assertEqual(acc["exp"] - acc["iat"], lt.ACCESS_TTL, "access token lifetime")
        self.assertNotEqual(lt.jwt_decode(tok["access"])[1]["jti"], lt.jwt_decode(tok["refresh"])[1]["jti"])

    def test_keys_and_tokens_work(self):
        obj = lt.register()
        t = obj["tenant"]
        for k, mode in ((t["api_key_public"], "live"), (t["api_key_secret"], "live"),
                        (t["api_key_test_public"], "test"), (t["api_key_test_secret"], "test")):
            st, _, v = lt.get(lt.VERIFY, key=k)
            self.assertEqual(st, 200, v)
            self.assertEqual(v["mode"], mode)
            self.assertEqual(v["tenant"]["id"], t["id"])
        st, _, me = lt.get(lt.USERS_ME, token=obj["tokens"]["access"])
        self.assertEqual(st, 200, me)
        self.assertEqual(me["id"], obj["user"]["id"])
        self.assertEqual(me["role"], "owner")
        self.assertEqual(me["first_name"], "Ada")
        self.assertEqual(me["last_name"], "Lovelace")

    def test_distinct_tenants_distinct_everything(self):
        a, b = lt.register(), lt.register()
        self.assertNotEqual(a["tenant"]["id"], b["tenant"]["id"])
        self.assertNotEqual(a["user"]["id"], b["user"]["id"])
        self.assertNotEqual(a["tenant"]["webhook_secret"], b["tenant"]["webhook_secret"])
        for k in ("api_key_public", "api_key_secret", "api_key_test_public", "api_key_test_secret"):
            self.assertNotEqual(a["tenant"][k], b["tenant"][k])

    def test_optional_fields_may_be_omitted(self):
        st, _, obj = post(REGISTER, {"company_name": "Minimal %s" % lt.unique(""),
                                     "email": lt.unique_email("min"), "password": lt.PASSWORD})
        self.assertEqual(st, 201, obj)

    def test_form_body(self):
        form = {"company_name": "Form Co %s" % lt.unique(""), "email": lt.unique_email("form"),
                "password": lt.PASSWORD, "first_name": "Grace", "last_name": "Hopper"}
        st, _, obj = post(REGISTER, form=form)
        self.assertEqual(st, 201, obj)
        self.assertEqual(obj["tenant"]["company_name"], form["company_name"])
        self.assertEqual(obj["user"]["email"], form["email"])

    def test_alias_paths(self):
        for path in ("/api/v1/auth/tenants/register", "/v1/auth/tenants/register/",
                     "/v1/auth/tenants/register"):
            with self.subTest(path=path):
                st, _, obj = post(path, lt.register_body())
                self.assertEqual(st, 201, obj)


class Slugs(LevyTestCase):
    def test_acme_then_acme_2(self):
        # Each test file gets a fresh database from the harness, so the
        # seed's own example owns "acme-inc" here.
        first = lt.register(company_name="Acme Inc")
        self.assertEqual(first["tenant"]["slug"], "acme-inc")
        second = lt.register(company_name="Acme Inc")
        self.assertEqual(second["tenant"]["slug"], "acme-inc-2")
        third = lt.register(company_name="Acme Inc")
        self.assertEqual(third["tenant"]["slug"], "acme-inc-3")
        self.assertEqual(second["tenant"]["company_name"], "Acme Inc")

    def test_slug_normalisation(self):
        tag = lt.unique("")
        obj = lt.register(company_name="  Foo  Bar & Baz, LLC. %s " % tag.upper())
        self.assertEqual(obj["tenant"]["slug"], "foo-bar-baz-llc-%s" % tag.lower())

    def test_slug_always_valid(self):
        for name in ("%s!!!" % lt.unique("X"), "Über Straße %s" % lt.unique(""), "--%s--" % lt.unique("")):
            with self.subTest(name=name):
                obj = lt.register(company_name=name)
                self.assertRegex(obj["tenant"]["slug"], lt.SLUG_RE)


class RegisterErrors(LevyTestCase):
    def bad(self, status=400, code=lt.ANY, param=lt.ANY, **over):
        body = lt.register_body()
        for k, v in over.items():
            if v is lt.ANY:
                body.pop(k, None)
            else:
                body[k] = v
        return self.assertError(post(REGISTER, body), status, "invalid_request_error", code=code, param=param)

    def test_missing_required(self):
        for name in ("company_name", "email", "password"):
            with self.subTest(param=name):
                self.bad(code="parameter_missing", param=name, **{name: lt.ANY})
        self.assertError(post(REGISTER, {}), 400, "invalid_request_error", code="parameter_missing")

    def test_empty_required(self):
        for name in ("company_name", "email", "password"):
            with self.subTest(param=name):
                self.bad(param=name, code={"parameter_invalid_empty", "parameter_missing", "parameter_invalid"},
                         **{name: ""})

    def test_company_name_length(self):
        self.bad(code="parameter_invalid", param="company_name", company_name="x" * 201)
        st, _, obj = post(REGISTER, lt.register_body(company_name="L" * 190 + lt.unique("")[:10].ljust(10, "z")))
        self.assertEqual(st, 201, obj)

    def test_wrong_types(self):
        self.bad(param="company_name", company_name=12345)
        self.bad(param="email", email=["a@example.com"])
        self.bad(param="password", password={"x": 1})
        self.bad(param="first_name", first_name=True)

    def test_invalid_email(self):
        for e in ("not-an-email", "a@", "@example.com", "a b@example.com", "a@@example.com",
                  "a@example..com", "a\n@example.com"):
            with self.subTest(email=e):
                self.bad(code="parameter_invalid", param="email", email=e)

    def test_email_length(self):
        local = "a" * 64
        domain = ".".join(["d" * 60] * 3) + ".example.com"  # 254 - 64 - 1 - ... > 254 total
        self.assertGreater(len(local + "@" + domain), 254)
        self.bad(code="parameter_invalid", param="email", email=local + "@" + domain)

    def test_duplicate_email(self):
        email = lt.unique_email("dup")
        lt.register(email=email)
        self.bad(param="email", email=email)
        self.bad(param="email", email=email.upper())

    def test_duplicate_of_a_tenant_user_email(self):
        t = lt.new_tenant()
        dev = t.add_user("developer")
        self.bad(param="email", email=dev.email)

    def test_weak_passwords(self):
        cases = {
            "short": "Xq7#pL2",
            "numeric": "8301947265018",
            "common password": "password",
            "common qwerty": "qwertyuiop",
            "common iloveyou": "iloveyou",
        }
        for what, pw in cases.items():
            with self.subTest(what=what):
                self.bad(code="parameter_invalid", param="password", password=pw)

    def test_password_similar_to_email(self):
        local = "zanzibarquokka%s" % lt.unique("")
        email = "%s@example.com" % local
        for pw in (local, email, local.upper()):
            with self.subTest(password=pw):
                self.bad(code="parameter_invalid", param="password", email=email, password=pw)

    def test_refused_registration_leaves_nothing(self):
        email = lt.unique_email("atomic")
        company = "Atomic %s" % lt.unique("")
        self.bad(param="password", email=email, company_name=company, password="12345678")
        self.bad(param="webhook_url", email=email, company_name=company, webhook_url="http://example.com/x")
        obj = lt.register(email=email, company_name=company)
        self.assertEqual(obj["tenant"]["email"], email)
        self.assertFalse(obj["tenant"]["slug"].endswith("-2"), "a refused registration took the slug")
        lt.login(email, lt.PASSWORD)

    def test_unknown_params(self):
        for name, val in (("foo", "bar"), ("platform_fee_percentage", "0.00"),
                          ("subscription_tier", "enterprise"), ("role", "admin"), ("slug", "mine")):
            with self.subTest(param=name):
                self.bad(code="parameter_unknown", param=name, **{name: val})

    def test_webhook_url_must_be_https(self):
        for url in ("http://example.com/hook", "ftp://example.com/hook", "https://", "example.com/hook",
                    "http://127.0.0.1.evil.example/hook", "http://localhost.evil.example/hook",
                    "http://127.0.0.1@evil.example/hook", "javascript:alert(1)", "https://exa mple.com/"):
            with self.subTest(url=url):
                self.bad(code="parameter_invalid", param="webhook_url", webhook_url=url)

    def test_webhook_url_length(self):
        self.bad(code="parameter_invalid", param="webhook_url",
                 webhook_url="https://example.com/" + "a" * 2040)

    def test_webhook_url_ok(self):
        # The test stack sets webhook_allow_http_loopback = true.
        for url in ("https://hooks.example.com/levy", "http://127.0.0.1:9/hook", "http://localhost/hook",
                    "http://localhost:8080/x", "http://[::1]:8080/hook",
                    "https://example.com/" + "a" * (2048 - len("https://example.com/"))):
            with self.subTest(url=url[:60]):
                st, _, obj = post(REGISTER, lt.register_body(webhook_url=url))
                self.assertEqual(st, 201, obj)

    def test_domain(self):
        for d in ("not a domain", "exa_mple..com", "-bad.example.com", "http://example.com",
                  ("a" * 63 + ".") * 4 + "com"):
            with self.subTest(domain=d[:40]):
                self.bad(code="parameter_invalid", param="domain", domain=d)
        for d in ("acme.com", "billing.acme.co.uk", "localhost-1.example"):
            with self.subTest(domain=d):
                self.assertEqual(post(REGISTER, lt.register_body(domain=d))[0], 201)

    def test_name_lengths(self):
        for name in ("first_name", "last_name"):
            with self.subTest(param=name):
                self.bad(code="parameter_invalid", param=name, **{name: "n" * 151})
                self.assertEqual(post(REGISTER, lt.register_body(**{name: "n" * 150}))[0], 201)


class Storage(LevyTestCase):
    """What registration leaves in the database, read as the superuser: secret keys only as
    SHA-256 hashes, the password in Django's pbkdf2_sha256 format (so Django's users import)."""

    SUPER = os.environ.get("LEVY_SUPER_CONNINFO", "")

    def dump(self):
        """Every row of every table in public as (table, json text)."""
        tables = [r[0] for r in lt.psql_rows(self.SUPER, "SELECT table_name FROM information_schema.tables "
                                             "WHERE table_schema = 'public' AND table_type = 'BASE TABLE';")]
        rows = []
        for t in tables:
            for r in lt.psql(self.SUPER, 'SELECT row_to_json(x)::text FROM public."%s" x;' % t).stdout.splitlines():
                if r:
                    rows.append((t, r))
        return rows

    def django_hash(self, password, salt, iterations):
        dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
        return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(dk).decode())

    def owner_hash(self, t):
        for table, text in self.dump():
            if t.email in text:
                for v in json.loads(text).values():
                    if isinstance(v, str) and v.startswith("pbkdf2_sha256$"):
                        return table, v
        return None, None

    def test_secrets_stored_as_hashes(self):
        t = lt.new_tenant()
        text = "\n".join(r for _, r in self.dump())
        for name, k in (("sk_live", t.sk_live), ("sk_test", t.sk_test)):
            with self.subTest(key=name):
                self.assertNotIn(k, text, "a secret key is stored in clear")
                self.assertNotIn(k[8:-4], text, "a secret key's random part is stored in clear")
                self.assertIn(hashlib.sha256(k.encode()).hexdigest(), text, "no SHA-256 of the key stored")
        self.assertNotIn(t.password, text, "the password is stored in clear")

    def test_password_in_django_format(self):
        t = lt.new_tenant()
        _, h = self.owner_hash(t)
        self.assertIsNotNone(h, "no pbkdf2_sha256$... value in the owner's row")
        algo, iterations, salt, digest = h.split("$")
        self.assertEqual(iterations, "1000", "iterations come from the config (the test stack: 1000)")
        self.assertEqual(h, self.django_hash(t.password, salt, int(iterations)), "not Django's PBKDF2 format")
        other = lt.new_tenant()
        self.assertNotEqual(self.owner_hash(other)[1].split("$")[2], salt, "salts repeat")

    def test_django_hash_imports(self):
        t = lt.new_tenant()
        table, old = self.owner_hash(t)
        self.assertIsNotNone(old)
        cols = [r[0] for r in lt.psql_rows(self.SUPER, "SELECT column_name FROM information_schema.columns "
                                           "WHERE table_schema = 'public' AND table_name = '%s' "
                                           "AND data_type IN ('text', 'character varying');" % table)]
        row = json.loads([r for tb, r in self.dump() if tb == table and old in r][0])
        col = [c for c in cols if row.get(c) == old][0]
        # A hash as Django 4.2 writes it (its own salt alphabet, a different iteration count).
        imported = self.django_hash("Imported-From-Django-99", "Zq3XyW8kLm2NpR5tUv7B9d", 20000)
        lt.psql(self.SUPER, 'UPDATE public."%s" SET "%s" = \'%s\' WHERE "%s" = \'%s\';'
                % (table, col, imported, col, old))
        st, _, obj = post(lt.LOGIN, {"email": t.email, "password": "Imported-From-Django-99"})
        self.assertEqual(st, 200, obj)
        lt.login(t.email, t.password, expect=401)


if __name__ == "__main__":
    lt.main()
