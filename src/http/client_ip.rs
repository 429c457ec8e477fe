//! The client's IP address, as rate limits and lockouts see it: the TCP peer, or — when the
//! peer is a trusted proxy (`LOBBY_TRUSTED_PROXIES`) — the right-most untrusted address of the
//! forwarding chain (`X-Forwarded-For`, else RFC 7239 `Forwarded: for=`).
//!
//! Owns: reading those headers and the [`ClientIp`] extractor. Must not touch: what the address
//! is used for (lockout, rate limits), configuration parsing (`config`).
//!
//! Why right-most untrusted: every proxy appends the address it received the request from, so
//! the entries written by trusted proxies are at the right end; anything left of the first
//! untrusted entry was written by the client itself and can be forged. Headers from a peer that
//! is not a trusted proxy are ignored entirely.

use axum::extract::FromRequestParts;
use axum::extract::connect_info::ConnectInfo;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The networks whose peers may tell Lobby the client address (a request extension added by
/// [`crate::http::layers`]). Empty: no header is ever read.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(pub Arc<[IpNet]>);

impl TrustedProxies {
    pub fn new(nets: &[IpNet]) -> Self {
        Self(nets.iter().map(|n| n.trunc()).collect())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client address of a request from `peer` with `headers`.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        // X-Forwarded-For (what nginx, HAProxy, load balancers write) when present, else the
        // standard `Forwarded`. A proxy that writes only `Forwarded` must drop a client's
        // X-Forwarded-For (see README, "Behind a reverse proxy").
        let xff = forwarded_for(headers);
        let chain = if xff.is_empty() {
            forwarded(headers)
        } else {
            xff
        };
        // Walk from the nearest hop outwards; the first hop that is not a trusted proxy is the
        // client. An entry that is not an address ("unknown", an obfuscated name) ends the walk:
        // the last address known is then the best one.
        let mut client = peer;
        for hop in chain.iter().rev() {
            match hop {
                Some(ip) => {
                    client = *ip;
                    if !self.trusts(*ip) {
                        break;
                    }
                }
                None => break,
            }
        }
        client
    }
}

/// Every `X-Forwarded-For` entry, in order (several header lines are one list, RFC 9110 §5.3).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|v| v.to_str().unwrap_or("invalid").split(','))
        .map(|s| parse_node(s.trim()))
        .collect()
}

/// The `for=` of every element of every `Forwarded` header (RFC 7239 §4, §6).
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut out = Vec::new();
    for v in headers.get_all("forwarded") {
        let Ok(v) = v.to_str() else {
            out.push(None);
            continue;
        };
        for element in v.split(',') {
            let node = element.split(';').find_map(|pair| {
                let (k, v) = pair.split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
            });
            // An element without `for=` says nothing about the client: not an address.
            out.push(node.and_then(parse_node));
        }
    }
    out
}

/// A node: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`, possibly quoted
/// (RFC 7239 §6). `unknown` and obfuscated identifiers are `None`.
fn parse_node(s: &str) -> Option<IpAddr> {
    let s = s.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

/// The rate-limit bucket of an address: the IPv4 address, or the /64 of an IPv6 one (one
/// subscriber usually holds a whole /64).
pub fn ip_bucket(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(a) => a.to_string(),
        IpAddr::V6(a) => {
            let s = a.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The client address of this request: `None` when the server runs without connect info.
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let ip = match (peer, parts.extensions.get::<TrustedProxies>()) {
            (Some(p), Some(t)) => Some(t.client_ip(p, &parts.headers)),
            (Some(p), None) => Some(p.to_canonical()),
            (None, _) => None,
        };
        Ok(Self(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(s: &[&str]) -> TrustedProxies {
        TrustedProxies::new(&s.iter().map(|n| n.parse().unwrap()).collect::<Vec<_>>())
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn headers_of_an_untrusted_peer_are_ignored() {
        let t = proxies(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.7"),
            ("forwarded", "for=1.2.3.4"),
        ]);
        assert_eq!(t.client_ip(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_address_wins() {
        let t = proxies(&["10.0.0.0/8", "2001:db8:1::/48"]);
        // The client forged the first entry; the proxy appended the real peer.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7")]);
        assert_eq!(t.client_ip(ip("10.1.2.3"), &h), ip("198.51.100.7"));
        // Two proxies: the inner one's entry is skipped.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.9.9.9")]);
        assert_eq!(t.client_ip(ip("10.1.2.3"), &h), ip("198.51.100.7"));
        // Several header lines are one list.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "198.51.100.7:5555"),
        ]);
        assert_eq!(t.client_ip(ip("10.1.2.3"), &h), ip("198.51.100.7"));
        // IPv6 peer and hops; IPv4-mapped peers count as IPv4.
        let h = headers(&[("x-forwarded-for", "[2001:db8:2::5]:443")]);
        assert_eq!(t.client_ip(ip("2001:db8:1::1"), &h), ip("2001:db8:2::5"));
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(t.client_ip(ip("::ffff:10.0.0.1"), &h), ip("198.51.100.7"));
        // Only trusted hops: the left-most one.
        let h = headers(&[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(t.client_ip(ip("10.1.2.3"), &h), ip("10.0.0.5"));
        // Garbage next to the proxy: the proxy's own address.
        let h = headers(&[("x-forwarded-for", "198.51.100.7, unknown")]);
        assert_eq!(t.client_ip(ip("10.1.2.3"), &h), ip("10.1.2.3"));
        // No header: the peer.
        assert_eq!(
            t.client_ip(ip("10.1.2.3"), &HeaderMap::new()),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn rfc7239_forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let t = proxies(&["10.0.0.0/8"]);
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6;proto=https, for=\"[2001:db8:cafe::17]:4711\";by=10.0.0.1",
        )]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        let h = headers(&[("forwarded", "for=198.51.100.7, for=_hidden")]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("10.0.0.1"));
        let h = headers(&[("Forwarded", "For=198.51.100.8")]);
        assert_eq!(t.client_ip(ip("10.0.0.1"), &h), ip("198.51.100.8"));
    }
}
