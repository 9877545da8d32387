//! The base URL that links in answers start with, as the client reached the edge.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use std::convert::Infallible;

/// `scheme://host[:port]` of the request: `http` unless `X-Forwarded-Proto` says
/// `https`, and the `Host` header (or the URI authority, as HTTP/2 sends it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BaseUrl(pub String);

impl BaseUrl {
    /// The base followed by a path that starts with `/`.
    pub(crate) fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// No base: for a resource's JSON rendered outside any request (an event's data).
    /// Links depend on how a client reached the API, so such JSON carries none.
    pub(crate) fn unlinked() -> Self {
        Self(String::new())
    }

    /// The base, unless this is [`BaseUrl::unlinked`] (a request always has one).
    pub(crate) fn linked(&self) -> Option<&str> {
        (!self.0.is_empty()).then_some(self.0.as_str())
    }

    fn from_parts(headers: &HeaderMap, authority: Option<&str>) -> Self {
        let scheme = headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .filter(|v| v == "http" || v == "https")
            .unwrap_or_else(|| "http".to_owned());
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .or(authority)
            .filter(|h| is_plain_host(h))
            .unwrap_or("localhost");
        Self(format!("{scheme}://{host}"))
    }
}

/// A host and optional port: no user info, path, or characters that would bend a link.
fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']' | b'_')
        })
}

impl<S: Send + Sync> FromRequestParts<S> for BaseUrl {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let authority = parts.uri.authority().map(|a| a.as_str());
        Ok(Self::from_parts(&parts.headers, authority))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn base(pairs: &[(&'static str, &'static str)]) -> String {
        let mut headers = HeaderMap::new();
        for (k, v) in pairs {
            headers.insert(*k, HeaderValue::from_static(v));
        }
        BaseUrl::from_parts(&headers, None).0
    }

    #[test]
    fn links_use_the_host_header_over_http() {
        assert_eq!(base(&[("host", "edge:8080")]), "http://edge:8080");
    }

    #[test]
    fn a_forwarded_https_scheme_is_honoured() {
        assert_eq!(
            base(&[
                ("host", "api.isp.example"),
                ("x-forwarded-proto", "https, http")
            ]),
            "https://api.isp.example"
        );
        assert_eq!(
            base(&[("host", "a"), ("x-forwarded-proto", "gopher")]),
            "http://a"
        );
    }

    #[test]
    fn a_host_that_could_bend_a_link_is_not_used() {
        assert_eq!(base(&[("host", "evil.example/x?")]), "http://localhost");
        assert_eq!(base(&[]), "http://localhost");
    }
}
