//! The rules of webhook endpoints that the core applies and the REST document states, in
//! one place so the two cannot drift: which event types exist (and may be subscribed to),
//! and which URLs an endpoint may have.

/// Every event type the core emits today.
pub const EVENT_TYPES: &[&str] = &[
    "customer.created",
    "customer.updated",
    "customer.suspended",
    "customer.activated",
    "customer.reactivated",
    "customer.terminated",
    "customer.deleted",
    "partner.created",
    "partner.updated",
    "partner.deleted",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "user_group.created",
    "user_group.updated",
    "user_group.deleted",
    "user.created",
    "user.updated",
    "user.role_changed",
    "user.deleted",
    "api_key.created",
    "api_key.revoked",
    "api_client.created",
    "api_client.revoked",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.secret_rotated",
    "webhook.disabled",
    "webhook.test",
    "plan.created",
    "plan.updated",
    "plan.deleted",
    "router.created",
    "router.updated",
    "router.deleted",
    "ip_pool.created",
    "ip_pool.updated",
    "ip_pool.deleted",
    "ip_pool.usage_high",
    "service.created",
    "service.updated",
    "service.deleted",
    "service.activated",
    "service.suspended",
    "service.unsuspended",
    "service.terminated",
    "service.plan_changed",
    "provisioning.failed",
    "ticket.created",
    "ticket.updated",
    "ticket.assigned",
    "ticket.commented",
    "ticket.resolved",
    "ticket.closed",
    "ticket.reopened",
    "ticket.escalated",
    "ticket.deleted",
    "sla.warning",
    "sla.breached",
    "sla_policy.created",
    "sla_policy.updated",
    "sla_policy.deleted",
    "invoice.generated",
    "invoice.finalized",
    "invoice.paid",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.due_soon",
    "credit_note.issued",
    "payment.received",
    "payment.refunded",
    "payment.failed",
    "payment.overdue",
];

/// What an endpoint may subscribe to: `*`, a family of [`EVENT_TYPES`] (`customer.*`), or
/// one of them.
pub const EVENT_SUBSCRIPTIONS: &[&str] = &[
    "*",
    "customer.*",
    "partner.*",
    "organization.*",
    "user_group.*",
    "user.*",
    "api_key.*",
    "api_client.*",
    "webhook.*",
    "plan.*",
    "router.*",
    "ip_pool.*",
    "service.*",
    "provisioning.*",
    "ticket.*",
    "sla.*",
    "sla_policy.*",
    "invoice.*",
    "credit_note.*",
    "payment.*",
    "customer.created",
    "customer.updated",
    "customer.suspended",
    "customer.activated",
    "customer.reactivated",
    "customer.terminated",
    "customer.deleted",
    "partner.created",
    "partner.updated",
    "partner.deleted",
    "organization.created",
    "organization.updated",
    "organization.deleted",
    "user_group.created",
    "user_group.updated",
    "user_group.deleted",
    "user.created",
    "user.updated",
    "user.role_changed",
    "user.deleted",
    "api_key.created",
    "api_key.revoked",
    "api_client.created",
    "api_client.revoked",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.secret_rotated",
    "webhook.disabled",
    "webhook.test",
    "plan.created",
    "plan.updated",
    "plan.deleted",
    "router.created",
    "router.updated",
    "router.deleted",
    "ip_pool.created",
    "ip_pool.updated",
    "ip_pool.deleted",
    "ip_pool.usage_high",
    "service.created",
    "service.updated",
    "service.deleted",
    "service.activated",
    "service.suspended",
    "service.unsuspended",
    "service.terminated",
    "service.plan_changed",
    "provisioning.failed",
    "ticket.created",
    "ticket.updated",
    "ticket.assigned",
    "ticket.commented",
    "ticket.resolved",
    "ticket.closed",
    "ticket.reopened",
    "ticket.escalated",
    "ticket.deleted",
    "sla.warning",
    "sla.breached",
    "sla_policy.created",
    "sla_policy.updated",
    "sla_policy.deleted",
    "invoice.generated",
    "invoice.finalized",
    "invoice.paid",
    "invoice.voided",
    "invoice.marked_uncollectible",
    "invoice.due_soon",
    "credit_note.issued",
    "payment.received",
    "payment.refunded",
    "payment.failed",
    "payment.overdue",
];

/// Most event types one endpoint may list.
pub const MAX_SUBSCRIPTIONS: usize = 100;

/// Most characters after the host and port (path, query and fragment).
const MAX_PATH: usize = 1000;
/// Most labels of a host name.
const MAX_LABELS: usize = 11;

/// The form of an endpoint URL as an ECMA-262 pattern (without anchors or the white space
/// around it): `http` or `https`, a host name whose last label starts with a letter or a
/// dotted IPv4 address, an optional port (0–65535), and an optional path of printable ASCII.
/// [`is_webhook_url`] accepts exactly what it matches.
pub const WEBHOOK_URL_PATTERN: &str = concat!(
    "https?://(",
    "((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    "|([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.){0,10}[A-Za-z]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?",
    ")(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0))?",
    "(/[!-~]{0,1000})?",
);

/// Whether `text` (already trimmed) has the form [`WEBHOOK_URL_PATTERN`] states.
pub fn is_webhook_url(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
    else {
        return false;
    };
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if let Some(tail) = path.strip_prefix('/')
        && (tail.len() > MAX_PATH || !tail.bytes().all(|b| (b'!'..=b'~').contains(&b)))
    {
        return false;
    }
    let (host, port) = match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    port.is_none_or(is_port) && (is_ipv4(host) || is_host_name(host))
}

fn is_port(text: &str) -> bool {
    let canonical = text == "0" || (!text.starts_with('0') && text.len() <= 5);
    canonical
        && text.bytes().all(|b| b.is_ascii_digit())
        && text.parse::<u32>().is_ok_and(|p| p <= 65535)
}

fn is_ipv4(text: &str) -> bool {
    let parts: Vec<&str> = text.split('.').collect();
    parts.len() == 4
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.len() <= 3
                && p.bytes().all(|b| b.is_ascii_digit())
                && (*p == "0" || !p.starts_with('0'))
                && p.parse::<u32>().is_ok_and(|n| n <= 255)
        })
}

fn is_host_name(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    let label = |l: &str| {
        let b = l.as_bytes();
        (1..=63).contains(&b.len())
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    labels.len() <= MAX_LABELS
        && labels.iter().all(|l| label(l))
        && labels
            .last()
            .is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriptions_are_every_type_its_families_and_all() {
        let mut expected = vec!["*".to_owned()];
        for t in EVENT_TYPES {
            let family = format!("{}.*", t.split('.').next().unwrap());
            if !expected.contains(&family) {
                expected.push(family);
            }
        }
        expected.extend(EVENT_TYPES.iter().map(|t| (*t).to_owned()));
        assert_eq!(EVENT_SUBSCRIPTIONS, expected);
    }

    #[test]
    fn webhook_urls_follow_the_stated_form() {
        for good in [
            "https://hooks.example.com/lastmile",
            "http://127.0.0.1:9000/hook?x=1#y",
            "http://localhost",
            "https://a.b-c.io:443/",
            "http://10.0.0.1/",
            "http://1.a/x",
        ] {
            assert!(is_webhook_url(good), "{good}");
        }
        for bad in [
            "",
            "ftp://example.com/",
            "https://user:pw@example.com/",
            "http://[::1]/",
            "http://example.com:65536/",
            "http://example.com:080/",
            "http://01.2.3.4/",
            "http://1.2.3/",
            "http://-a.com/",
            "http://a..b/",
            "http://example.com/a b",
            "HTTP://example.com/",
            "http://example.com?x",
        ] {
            assert!(!is_webhook_url(bad), "{bad}");
        }
    }
}
