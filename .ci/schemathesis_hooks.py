"""Schemathesis hooks for .ci/schemathesis.

The OpenAPI document states every rule a request alone decides. A few 422s depend on what
is stored, on who asks or on the clock, which no schema can state; a schema-valid request
answered with one of those is correct. This hook drops a "schema-valid request rejected"
failure only when the answer is a 422 whose every error is one of them, recognised by its
body. Every other 422 (and every other failure) stays a failure.

One "schema-violating request accepted" is the tool's own mistake and is dropped too: a
rule between fields ("when role is reseller, partner_id must be given") is an anyOf of two
branches, and the coverage phase breaks the second branch of a body that satisfies the
first (its role is another), then calls the body invalid. Only that exact case is dropped.
"""

import json

import schemathesis

# Field errors that depend on stored data, per field.
STORED = {
    # a taken phone, e-mail or name
    "phone": {"A customer with this phone number already exists."},
    "email": {
        "A customer with this email address already exists.",
        "The email has already been taken.",
    },
    "name": {"The name has already been taken."},
    # a reference to a row that does not exist
    "partner_id": {
        "The selected partner id is invalid.",
        # an update naming the reseller role without partner_id keeps the stored one
        "The partner id field is required when role is reseller.",
    },
    "user_group_id": {"The selected user group id is invalid."},
    "organization_ids": {"The selected organization ids is invalid."},
    # who asks: only a partner's staff hold reseller keys
    "role": {"Only a partner's staff can create reseller keys."},
    # the clock: a date given as valid may already have passed
    "expires_at": {"The expires at must be a date in the future."},
}


# Rules between fields, as the document states them: (field, value, then).
WHEN = [("role", "reseller", "partner_id")]


def broke_only_an_unneeded_branch(failure, case):
    """Whether a negative case broke the "then" branch of a rule whose "when" is false."""
    message = getattr(failure, "message", "") or ""
    body = getattr(case, "body", None)
    if not isinstance(body, dict) or "/anyOf/1/" not in message:
        return False
    for field, value, then in WHEN:
        broken = f"at /allOf/1/anyOf/1/properties/{then}" in message or (
            f"/allOf/1/anyOf/1" in message and f"`{then}`" in message
        )
        if broken and field in body and body[field] != value:
            return True
    return False


def _body(response):
    try:
        return json.loads(response.content)
    except (ValueError, TypeError):
        return None


def depends_on_stored_data(body):
    """Whether a 422 body reports only errors that depend on stored data."""
    if not isinstance(body, dict) or body.get("success") is not False:
        return False
    if body.get("code") == "IDEMPOTENCY_CONFLICT":
        # the Idempotency-Key was used before with another body
        return body.get("message") == "Idempotency key reused with a different request"
    errors = body.get("errors")
    if body.get("code") != "VALIDATION_ERROR" or not isinstance(errors, dict) or not errors:
        return False
    for field, messages in errors.items():
        known = STORED.get(field)
        if known is None or not messages or any(m not in known for m in messages):
            return False
    return True


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure but a schema-valid request refused for stored data, and a valid
    body the coverage phase took for invalid (see above)."""
    code = getattr(failure, "code", None)
    if code == "ST201":
        return not broke_only_an_unneeded_branch(failure, case)
    if code != "ST202" or response.status_code != 422:
        return True
    return not depends_on_stored_data(_body(response))
