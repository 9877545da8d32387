//! Outbound safety for webhook URLs: http(s) only, no credentials in the URL, and by
//! default no host that resolves to loopback, private, link-local, carrier-grade NAT,
//! metadata or otherwise non-public addresses. The address check runs when an endpoint is
//! saved and again at every delivery (through the HTTP client's resolver), because DNS can
//! change in between.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// How long a host name may take to resolve when an endpoint is saved.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Why a URL is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

/// Checks the URL's form; answers it parsed.
pub fn parse(text: &str) -> Result<Url, Refused> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Refused("The url field is required.".into()));
    }
    if !lastmile_proto::is_webhook_url(text) {
        return Err(Refused(
            "The url must be an http:// or https:// URL of a host name or IPv4 address, with \
             an optional port and path (no user name, password or spaces)."
                .into(),
        ));
    }
    let url = Url::parse(text).map_err(|_| Refused("The url must be a valid URL.".into()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused(
            "The url must start with http:// or https://.".into(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Refused("The url must name a host.".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Refused(
            "The url may not contain a user name or password.".into(),
        ));
    }
    Ok(url)
}

/// Whether `ip` is a public unicast address a webhook may be sent to.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, cloud metadata included
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT, 100.64/10
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local, fd00:ec2::254 metadata included
        || (first & 0xffc0) == 0xfe80 // link-local
        || first == 0x2001 && ip.segments()[1] == 0x0db8 // documentation
        || first == 0x0064 && ip.segments()[1] == 0xff9b) // NAT64 of any v4 address
}

/// The addresses `url`'s host resolves to.
pub async fn resolve(url: &Url) -> Result<Vec<SocketAddr>, Refused> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let unresolved = || Refused(format!("The url's host {host} cannot be resolved."));
    let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
        .await
        .map_err(|_| unresolved())?
        .map_err(|_| unresolved())?;
    let found: Vec<SocketAddr> = found.collect();
    if found.is_empty() {
        return Err(Refused(format!(
            "The url's host {host} cannot be resolved."
        )));
    }
    Ok(found)
}

/// Checks that every address of `url` may be reached (unless private networks are
/// allowed).
pub async fn check_reachable(url: &Url, allow_private: bool) -> Result<(), Refused> {
    if allow_private {
        return Ok(());
    }
    let addresses = resolve(url).await?;
    if let Some(bad) = addresses.iter().find(|a| !is_public(a.ip())) {
        return Err(Refused(format!(
            "The url resolves to {}, a loopback, private, link-local or otherwise non-public address; such endpoints are not allowed.",
            bad.ip()
        )));
    }
    Ok(())
}

/// The HTTP client's resolver: public addresses only, unless allowed.
#[derive(Debug, Clone, Copy)]
pub struct PublicResolver {
    /// Allow every address.
    pub allow_private: bool,
}

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found = tokio::net::lookup_host((name.as_str(), 0)).await?;
            let allowed: Vec<SocketAddr> = found
                .filter(|a| allow_private || is_public(a.ip()))
                .collect();
            if allowed.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> =
                    format!("{} resolves to no public address", name.as_str()).into();
                return Err(err);
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_pass() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "100.128.0.1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_must_be_plain_http_or_https() {
        assert!(parse("https://hooks.example.com/lastmile").is_ok());
        assert!(parse("http://203.0.113.9:8080/x").is_ok());
        for bad in [
            "",
            "ftp://example.com/",
            "not a url",
            "https://user:pw@example.com/",
            "file:///etc/passwd",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn literal_private_addresses_are_refused_unless_allowed() {
        let url = parse("http://127.0.0.1:9/hook").unwrap();
        assert!(check_reachable(&url, false).await.is_err());
        assert!(check_reachable(&url, true).await.is_ok());
        let metadata = parse("http://169.254.169.254/latest/meta-data").unwrap();
        assert!(check_reachable(&metadata, false).await.is_err());
    }
}
