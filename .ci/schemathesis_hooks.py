"""Schemathesis hooks for .ci/schemathesis.

The OpenAPI document states every rule a request alone decides. A few 422s depend on what
is stored, on who asks or on the clock, which no schema can state; a schema-valid request
answered with one of those is correct. So are the rules between fields no JSON Schema can
express: an address that must lie inside a network another field gives (an IP pool's
gateway and excluded addresses), and a plan's comparisons between two numbers of the body
(a burst above the speed, a throttle below it, or the stored plan's on an update), a field
required by another's value when it is a decimal, the decimal places a binary
floating-point number cannot be constrained to (`multipleOf` is inexact for them, and a
fee's places depend on its currency), and the RADIUS dictionary the server has installed.
This hook drops a "schema-valid request rejected" failure only when the answer is a 422
whose every error is one of them, recognised by its body. Every other 422 (and every other
failure) stays a failure.

Two kinds of "schema-violating request accepted" are the tool's own mistakes and are
dropped too. A rule between fields ("when role is reseller, partner_id must be given") is an
anyOf of two branches, and the coverage phase breaks the second branch of a body that
satisfies the first (its role is another), then calls the body invalid. And a query value
"mutated" into an object or array goes out as an empty value (which the document allows:
empty is as if not given), sometimes beside a malformed `Authorization` header on a request
whose `X-API-Key` is the credential (X-API-Key comes first, as the contract says). Only
those exact cases are dropped.
"""

import json
import re
from urllib.parse import parse_qs, urlsplit

import schemathesis

# Field errors that depend on stored data, per field.
STORED = {
    # a taken phone, e-mail or name
    "phone": {"A customer with this phone number already exists."},
    "email": {
        "A customer with this email address already exists.",
        "The email has already been taken.",
    },
    "name": {
        "The name has already been taken.",
        "A plan with this name already exists.",
        "An SLA policy with this name already exists.",
        "A tax rate with this name, country and region already exists.",
    },
    # a reference to a row that does not exist
    "partner_id": {
        "The selected partner id is invalid.",
        # an update naming the reseller role without partner_id keeps the stored one
        "The partner id field is required when role is reseller.",
    },
    "user_group_id": {"The selected user group id is invalid."},
    # tickets and SLA policies: their customer, service, assignee and teams
    "customer_id": {
        "The selected customer id is invalid.",
        # an update may only repeat the stored ticket's customer
        "A ticket's customer cannot change; open a new ticket for the other customer.",
    },
    "service_id": {"The selected service id is not a service of the customer."},
    "assignee_id": {"The selected assignee id is invalid."},
    "team_id": {"The selected team id is invalid."},
    "escalate_to_team_id": {"The selected escalate to team id is invalid."},
    # another live policy covers the same priority, group and plan
    "priority": {"An SLA policy for this priority, user group and plan already exists."},
    # compared with the stored policy's first response on an update
    "resolution_minutes": {"The resolution minutes must be at least the first response minutes."},
    "router_id": {"The selected router id is invalid."},
    "plan_id": {
        "The selected plan id is invalid.",
        "The selected plan is archived and cannot be sold.",
        # an update may repeat the service's stored plan; another one is a plan change
        "Use change-plan to move a service to another plan.",
    },
    "username": {"A service with this username already exists."},
    "scheduled_activation": {"The scheduled activation must be a time in the future."},
    "scheduled_time": {"The scheduled time must be in the future."},
    # a router's address another router has
    "ip_address": {"A router with this IP address already exists."},
    "ip_pool_id": {"The selected ip pool id is invalid."},
    "organization_ids": {"The selected organization ids is invalid."},
    # billing: references to invoices and rates that may not exist, the stored invoice
    # prefix a credit note prefix must differ from, and the clock
    "invoice_id": {"The selected invoice id is invalid."},
    "credit_note_prefix": {"The credit note prefix must differ from the invoice prefix."},
    "paid_at": {"The paid at may not be in the future."},
    "due_date": {"The due date must not be before the issue date."},
    # a region needs a country: stored on an update
    "region": {"A region needs a country."},
    # the lines add up to less than nothing
    "line_items": {"An invoice's total may not be negative; issue a credit note instead."},
    # between two fields (and, on an update, the stored ones)
    "period_end": {"The period end must not be before the period start."},
    # who asks: only a partner's staff hold reseller keys
    "role": {"Only a partner's staff can create reseller keys."},
    # the clock: a date given as valid may already have passed
    "expires_at": {"The expires at must be a date in the future."},
}


# The same, for messages that name counts or addresses: patterns a message must match
# whole. A router or pool in use, addresses assigned; and the rules between a pool's fields
# that no JSON Schema can state (an address inside the network the body, or the stored
# pool, gives).
PATTERNS = {
    # a calendar's rules between its intervals, and the server's time zone database
    "calendar": [
        r"Opening hours on [a-z]+ overlap: .+\.",
        r"Opening hours on [a-z]+ must end after they start: .+\.",
        r'The time zone ".*" is not known\.',
    ],
    # the stored ticket's status decides which moves are legal, and when it was resolved
    # whether it may still be reopened
    "status": [
        r"The status cannot change from [a-z_]+ to [a-z_]+\.",
        r"The ticket was resolved more than .+ ago and cannot be reopened; open a new ticket\.",
    ],
    "router": [r"The router is used by .+\."],
    "ip_pool": [r"The IP pool (has|is used by) .+\."],
    "cidr": [r"The cidr cannot change while \d+ address(es)? (is|are) assigned\."],
    "kind": [r"The kind cannot change while \d+ address(es)? (is|are) assigned\."],
    "gateway": [
        r"The gateway must be inside \S+\.",
        r"The gateway may not be the network or broadcast address of \S+\.",
        r"The gateway \S+ is assigned to a service\.",
    ],
    # a static address: taken, reserved, quarantined, outside the pool the service names,
    # or a pool that is full or dynamic
    "static_ip": [
        r"The address .+\.",
        r"No static IP pool holds the address \S+\.",
        r"The IP pool (is exhausted|is dynamic; static addresses come from static pools)\.",
        r"The service already holds (an address|the address \S+; release it first)\.",
    ],
    "excluded": [
        r"The excluded address \S+ is outside \S+\.",
        r"The excluded address \S+ is assigned to a service\.",
    ],
}


def _known(field, message):
    """Whether `message` on `field` is one of the errors listed above."""
    if message in STORED.get(field, ()):
        return True
    return any(re.fullmatch(p, message) for p in PATTERNS.get(field, ()))


# A plan's rules JSON Schema cannot state (see above), as (field pattern, message pattern).
_DECIMALS = r"The [a-z0-9 ]+ (may not have more than \d+ decimal places|must be a whole number)\."
PLAN_RULES = [
    (r"speed_(download|upload)_mbps|burst\.[a-z_]+_mbps|throttle_(download|upload)_mbps"
     r"|data_limit_gb|monthly_fee|activation_fee", _DECIMALS),
    (r"burst\.(download|upload)_mbps",
     r"The burst (download|upload) mbps must be greater than the speed \1 mbps\."),
    (r"burst\.threshold_(download|upload)_mbps",
     r"The burst threshold (download|upload) mbps must be less than the speed \1 mbps\."),
    (r"throttle_(download|upload)_mbps",
     r"The throttle (download|upload) mbps (must be less than the speed \1 mbps"
     r"|field is required when cap policy is throttle"
     r"|field is prohibited unless cap policy is throttle)\."),
    (r"data_limit_gb", r"The data limit gb field is required when cap policy is (throttle|suspend)\."),
    # billing amounts: the currency's digits (the customer's or the invoice's, stored), an
    # amount a stored invoice or payment bounds, and lines that reference stored rows
    (r"amount|rate_percent|line_items\.\d+\.(amount|quantity|proration_factor)", _DECIMALS),
    (r"amount|line_items\.\d+\.(amount|quantity)",
     r"The (amount|quantity|line's amount) is too large\."),
    (r"amount", r"The amount may not be greater than what is left to (credit|refund) \(.+\)\."),
    (r"amount", r"A reversal takes back the whole payment; leave the amount out\."),
    (r"line_items\.\d+\.(service_id|tax_rate_id)",
     r"The selected (service|tax rate) id is invalid\."),
    (r"line_items\.\d+\.period_end", r"The period end must not be before the period start\."),
    (r"radius_attributes\.\d+\.attribute",
     r'The attribute "[^"]*" is not in the RADIUS dictionary\.'),
]


def plan_rule(field, message):
    """Whether `message` on `field` is one of a plan's rules no schema can state."""
    return any(
        re.fullmatch(fields, field) and re.fullmatch(pattern, message)
        for fields, pattern in PLAN_RULES
    )


# Rules between fields, as the document states them: (field, value, then).
WHEN = [("role", "reseller", "partner_id")]


def broke_only_an_unneeded_branch(failure, case):
    """Whether a negative case broke the "then" branch of a rule whose "when" is false."""
    message = getattr(failure, "message", "") or ""
    body = getattr(case, "body", None)
    if not isinstance(body, dict) or "/anyOf/1" not in message:
        return False
    for field, value, then in WHEN:
        # The tool names the branch's missing field either way: "`partner_id`" or
        # "(was partner_id)".
        broken = f"at /allOf/1/anyOf/1/properties/{then}" in message or (
            "/allOf/1/anyOf/1" in message
            and (f"`{then}`" in message or f"(was {then})" in message)
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
        if not messages or any(not _known(field, m) and not plan_rule(field, m) for m in messages):
            return False
    return True


def sent_nothing_invalid(failure, case, response):
    """Whether every invalid component the tool names went out as something valid: a query
    value that was an object or array and was sent empty, and an `Authorization` header
    beside the `X-API-Key` that is the credential."""
    message = getattr(failure, "message", "") or ""
    components = [
        line.strip()[2:] for line in message.splitlines() if line.strip().startswith("- ")
    ]
    if not components:
        return False
    request = getattr(response, "request", None)
    url = getattr(request, "url", None)
    if not isinstance(url, str):
        return False
    sent = parse_qs(urlsplit(url).query, keep_blank_values=True)
    query = getattr(case, "query", None) or {}
    headers = {k.lower(): v for k, v in (getattr(case, "headers", None) or {}).items()}
    for component in components:
        if component.startswith("query: violates `type` at /properties/"):
            name = component.split("/properties/", 1)[1].split("/", 1)[0].split(" ", 1)[0]
            values = sent.get(name, [])
            if not isinstance(query.get(name), (dict, list)) or any(v != "" for v in values):
                return False
        elif component.startswith("header: ") and component.endswith("/properties/Authorization"):
            if not headers.get("x-api-key"):
                return False
        else:
            return False
    return True


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keep every failure but a schema-valid request refused for stored data, and a valid
    body the coverage phase took for invalid (see above)."""
    code = getattr(failure, "code", None)
    if code == "ST201":
        return not (
            broke_only_an_unneeded_branch(failure, case)
            or sent_nothing_invalid(failure, case, response)
        )
    if code != "ST202" or response.status_code != 422:
        return True
    return not depends_on_stored_data(_body(response))
