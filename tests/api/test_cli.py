#!/usr/bin/python3
"""The operator's command-line tool against the running stack: `levy tenant list|create|
suspend|unsuspend|set-fee` and `levy migrate`, each checked over HTTP as well."""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "harness"))

import levytest as lt  # noqa: E402
from levytest import ME, VERIFY, LevyTestCase, get  # noqa: E402

SQLDIR = os.path.join(os.environ.get("LEVY_SRCDIR", ""), "sql")
SUPER = os.environ.get("LEVY_SUPER_CONNINFO", "")


def env_lines(out):
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


class CliCase(LevyTestCase):
    def cli(self, *args, rc=0, stdin=None):
        if stdin is None:
            p = lt.levy_cli(*args)
        else:
            p = subprocess.run([lt.LEVY_BIN, "-c", lt.LEVY_CONF] + list(args), input=stdin,
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, rc, "levy %s: exit %d\nstdout: %s\nstderr: %s"
                         % (" ".join(args), p.returncode, p.stdout, p.stderr))
        return p

    def create(self, *extra, company=None, email=None, password=lt.PASSWORD):
        company = company or "Cli Co %s" % lt.unique("")
        email = email or lt.unique_email("cli")
        p = self.cli("tenant", "create", "--company", company, "--email", email, "--password", password, *extra)
        return company, email, env_lines(p.stdout), p


class Create(CliCase):
    def test_create_prints_keys_that_work(self):
        company, email, env, p = self.create()
        for line in p.stdout.splitlines():
            if line.strip():
                self.assertRegex(line, r"^[A-Z][A-Z0-9_]*=\S*$", "not a KEY=VALUE line")
        self.assertIn("LEVY_SK_TEST", env)
        self.assertRegex(env["LEVY_SK_TEST"], lt.KEY_RE["sk_test"])
        st, _, v = get(VERIFY, key=env["LEVY_SK_TEST"])
        self.assertEqual(st, 200, v)
        self.assertEqual(v["mode"], "test")
        self.assertEqual(v["tenant"]["company_name"], company)
        for name, mode in (("LEVY_SK_LIVE", "live"), ("LEVY_PK_TEST", "test"), ("LEVY_PK_LIVE", "live")):
            if name in env:
                with self.subTest(key=name):
                    st, _, v = get(VERIFY, key=env[name])
                    self.assertEqual((st, v.get("mode")), (200, mode), v)
        # The owner logs in with the password given, and the default fee applies.
        lg = lt.login(email, lt.PASSWORD)
        self.assertEqual(lg["user"]["role"], "owner")
        self.assertEqual(lg["tenant"]["platform_fee_percentage"], "15.00")
        self.assertEqual(get(ME, key=env["LEVY_SK_TEST"])[2]["platform_fee_percentage"], "15.00")

    def test_create_with_fee_and_stdin_password(self):
        company = "Cli Stdin %s" % lt.unique("")
        email = lt.unique_email("stdin")
        p = self.cli("tenant", "create", "--company", company, "--email", email, "--password", "-", "--fee", "7.5",
                     stdin=lt.PASSWORD + "\n")
        env = env_lines(p.stdout)
        self.assertEqual(get(ME, key=env["LEVY_SK_TEST"])[2]["platform_fee_percentage"], "7.50")
        lt.login(email, lt.PASSWORD)

    def test_create_refusals(self):
        self.cli("tenant", "create", "--email", lt.unique_email("x"), "--password", lt.PASSWORD, rc=2)
        self.cli("tenant", "create", "--company", "X", "--password", lt.PASSWORD, rc=2)
        self.cli("tenant", "create", "--company", "X", "--email", "not-an-email", "--password", lt.PASSWORD, rc=2)
        for weak in ("short1", "1234567890", "password"):
            with self.subTest(password=weak):
                self.cli("tenant", "create", "--company", "X", "--email", lt.unique_email("w"), "--password", weak,
                         rc=2)
        for fee in ("100.01", "-1", "abc", "12.345"):
            with self.subTest(fee=fee):
                self.cli("tenant", "create", "--company", "X", "--email", lt.unique_email("f"), "--password",
                         lt.PASSWORD, "--fee", fee, rc=2)
        # The API's limit on company names holds here too.
        self.cli("tenant", "create", "--company", "x" * 201, "--email", lt.unique_email("long"), "--password",
                 lt.PASSWORD, rc=2)

    def test_create_duplicate_email(self):
        t = lt.new_tenant()
        p = lt.levy_cli("tenant", "create", "--company", "Dup", "--email", t.email, "--password", lt.PASSWORD)
        self.assertNotEqual(p.returncode, 0, p.stdout)
        self.assertNotIn("LEVY_SK_TEST", p.stdout)


class ListSuspendFee(CliCase):
    def row(self, tid):
        p = self.cli("tenant", "list")
        for line in p.stdout.splitlines():
            fields = re.split(r"\t|\s{2,}", line.strip())
            if fields and fields[0] == str(tid):
                return line
        return None

    def test_list(self):
        t = lt.new_tenant()
        line = self.row(t.id)
        self.assertIsNotNone(line, "tenant %d missing from `levy tenant list`" % t.id)
        self.assertIn(t.slug, line)
        self.assertIn("active", line)
        self.assertIn("15.00", line)

    def test_suspend_and_unsuspend(self):
        t = lt.new_tenant()
        other = lt.new_tenant()
        self.cli("tenant", "suspend", str(t.id))
        for k in (t.sk_test, t.sk_live, t.pk_test, t.pk_live):
            with self.subTest(key=k[:8]):
                self.assertError(get(VERIFY, key=k), 403, "permission_error", code="account_suspended")
        self.assertError(get(ME, key=t.sk_live), 403, "permission_error", code="account_suspended")
        self.assertError(get(ME, token=t.access), 403, "permission_error", code="account_suspended")
        self.assertError(get(lt.USERS, token=t.access), 403, "permission_error", code="account_suspended")
        self.assertError(lt.patch(ME, {"company_name": "While Suspended"}, key=t.sk_test), 403, "permission_error",
                         code="account_suspended")
        self.assertError(lt.post(lt.LOGIN, {"email": t.email, "password": t.password}), 401,
                         "authentication_error", message="Invalid email or password.")
        st = lt.post(lt.REFRESH, {"refresh": t.refresh})[0]
        self.assertIn(st, (401, 403), "a suspended tenant's refresh token must not mint tokens")
        self.assertIn("suspended", self.row(t.id))
        # Others are unaffected.
        self.assertEqual(get(VERIFY, key=other.sk_test)[0], 200)
        self.cli("tenant", "unsuspend", str(t.id))
        for k in (t.sk_test, t.sk_live, t.pk_test, t.pk_live):
            self.assertEqual(get(VERIFY, key=k)[0], 200)
        st, _, me = get(ME, token=t.access)
        self.assertEqual(st, 200, me)
        self.assertEqual(me["status"], "active")
        self.assertNotEqual(me["company_name"], "While Suspended")
        lt.login(t.email, t.password)
        self.assertIn("active", self.row(t.id))

    def test_suspend_bad_ids(self):
        self.cli("tenant", "suspend", "abc", rc=2)
        self.cli("tenant", "suspend", rc=2)
        p = lt.levy_cli("tenant", "suspend", "987654321")
        self.assertNotEqual(p.returncode, 0, "suspending a tenant that does not exist succeeded")

    def test_set_fee(self):
        t = lt.new_tenant()
        self.cli("tenant", "set-fee", str(t.id), "12.50")
        self.assertEqual(get(ME, token=t.access)[2]["platform_fee_percentage"], "12.50")
        self.assertEqual(get(ME, key=t.sk_live)[2]["platform_fee_percentage"], "12.50")
        self.assertEqual(lt.login(t.email, t.password)["tenant"]["platform_fee_percentage"], "12.50")
        self.assertIn("12.50", self.row(t.id))
        for fee, shown in (("0", "0.00"), ("100", "100.00"), ("7.5", "7.50"), ("100.00", "100.00")):
            with self.subTest(fee=fee):
                self.cli("tenant", "set-fee", str(t.id), fee)
                self.assertEqual(get(ME, token=t.access)[2]["platform_fee_percentage"], shown)
        self.cli("tenant", "set-fee", str(t.id), "12.50")
        for bad in ("100.01", "101", "-0.01", "abc", "12.345", "", "1e1", "12,50", " 12.50", "0x10"):
            with self.subTest(fee=bad):
                self.cli("tenant", "set-fee", str(t.id), bad, rc=2)
        self.assertEqual(get(ME, token=t.access)[2]["platform_fee_percentage"], "12.50")
        self.cli("tenant", "set-fee", str(t.id), rc=2)
        p = lt.levy_cli("tenant", "set-fee", "987654321", "10")
        self.assertNotEqual(p.returncode, 0)


class Migrate(CliCase):
    def schema(self):
        return lt.psql(SUPER, """
            SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns
             WHERE table_schema = 'public' ORDER BY 1;
            SELECT polname FROM pg_policy ORDER BY 1;""").stdout

    def test_migrate_again_is_a_no_op(self):
        t = lt.new_tenant()
        before = self.schema()
        self.cli("migrate", "--sqldir", SQLDIR)
        self.cli("migrate", "--sqldir", SQLDIR)
        self.assertEqual(self.schema(), before)
        self.assertEqual(get(VERIFY, key=t.sk_test)[0], 200)
        lt.login(t.email, t.password)


class Usage(CliCase):
    def test_unknown_command(self):
        self.cli("frobnicate", rc=2)
        self.cli("tenant", "frobnicate", rc=2)

    def test_bad_config(self):
        bad = os.path.join(os.environ.get("LEVY_RUN", "/tmp"), "bad-levy.conf")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("# a bad configuration\nworkers = 0;\n")
        p = subprocess.run([lt.LEVY_BIN, "-c", bad, "tenant", "list"], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(bad, p.stderr)
        self.assertIn("workers", p.stderr)
        self.assertIn(":2", p.stderr, "the message names the line")
        missing = bad + ".missing"
        p = subprocess.run([lt.LEVY_BIN, "-c", missing, "tenant", "list"], capture_output=True, text=True,
                              timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(missing, p.stderr)


if __name__ == "__main__":
    lt.main()
