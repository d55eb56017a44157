"""Debian's python3-stripe pointed at levy: the real client the billing tests drive.

use(key) points the SDK at the test stack's levy (api_base = LEVY_URL + "/api",
as the README tells users) with that key; the SDK then sends exactly what it
sends to Stripe: form bodies in bracket notation, an Idempotency-Key on every
POST, percent-encoded brackets in query strings.
"""

import os

import stripe

import levytest as lt

stripe.api_base = lt.URL + "/api"
# Retries would hide a first answer that was wrong; tests retry on purpose when they mean to.
stripe.max_network_retries = 0
stripe.enable_telemetry = True


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
