"""Debian's python3-stripe pointed at levy: the real client the billing tests drive.

use(key) points the SDK at the test stack's levy (api_base = LEVY_URL + "/api",
as the README tells users) with that key; the SDK then sends exactly what it
sends to Stripe: form bodies in bracket notation, an Idempotency-Key on every
POST, percent-encoded brackets in query strings.
"""

import json
import os
import re

import stripe

import levytest as lt

stripe.api_base = lt.URL + "/api"
# Retries would hide a first answer that was wrong; tests retry on purpose when they mean to.
stripe.max_network_retries = 0
stripe.enable_telemetry = True


OWNER = os.environ.get("LEVY_OWNER_CONNINFO", "")
ID_RE = re.compile(r"^[0-9A-Za-z_]+$")


def sql_id(i):
    """An object id as a SQL literal (ids are [0-9A-Za-z_]: checked, never escaped)."""
    assert ID_RE.match(i), i
    return "'%s'" % i


def owner_rows(sql):
    """Rows of a statement run as the schema's owner, whose policies see every tenant."""
    return lt.psql_rows(OWNER, sql)


def events_of(object_id):
    """(type, data) of the events recorded for an object, oldest first (read as the owner)."""
    rows = owner_rows("SELECT type, data::text FROM events WHERE object_id = %s ORDER BY seq"
                      % sql_id(object_id))
    return [(r[0], json.loads("|".join(r[1:]))) for r in rows]


def use(key):
    """Makes `key` the SDK's key for the calls that follow; returns the stripe module."""
    stripe.api_key = key
    stripe.api_base = lt.URL + "/api"
    return stripe


def tenant():
    """A fresh tenant with the SDK set to its test secret key."""
    t = lt.new_tenant()
    use(t.sk_test)
    return t


class SdkCase(lt.LevyTestCase):
    """A test case with one way to assert an error the SDK raised."""

    def sdk_raises(self, cls, type_, status, code, param, message, decline_code=lt.ANY):
        """A context manager: the SDK call inside raises `cls` with this HTTP status and
        error type, code, param and decline_code (lt.ANY: not checked), and a message that
        contains `message` (None: not checked).  The exception is kept as .exception."""
        case = self

        class Ctx:
            def __enter__(self):
                self.cm = case.assertRaises(cls)
                self.cm.__enter__()
                return self

            def __exit__(self, *exc):
                if not self.cm.__exit__(*exc):
                    return False
                e = self.cm.exception
                err = e.json_body["error"]
                case.assertEqual(e.http_status, status, e.json_body)
                case.assertEqual(err["type"], type_, e.json_body)
                if code is not lt.ANY:
                    case.assertEqual(err.get("code"), code, e.json_body)
                if param is not lt.ANY:
                    case.assertEqual(err.get("param"), param, e.json_body)
                if decline_code is not lt.ANY:
                    case.assertEqual(err.get("decline_code"), decline_code, e.json_body)
                if message is not None:
                    case.assertIn(message, err["message"], e.json_body)
                self.exception = e
                return True

        return Ctx()
