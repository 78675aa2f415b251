//! Who the client is: the peer's address, or — when the peer is one of the proxies the
//! operator named (`trusted_proxies`) — the address those proxies put in
//! `X-Forwarded-For`. Nobody else's `X-Forwarded-For` is believed: a client could write
//! anything there to dodge the per-address limits or to blame someone else in the log.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;

use twofold_core::config::IpRange;

/// The client's address, as resolved for this request by the `origin` layer.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub IpAddr);

/// The client's address of `req` (set by the `origin` layer; the unspecified address when
/// the request came some other way, as in `oneshot` tests).
pub fn of(req: &Request) -> IpAddr {
    req.extensions()
        .get::<ClientIp>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0)
}

/// The peer of `req`, if it came over a connection.
pub fn peer(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The client behind `peer`. `X-Forwarded-For` lists the client, then each proxy that
/// passed the request on appends the address it got it from; read from the right, the
/// first address that is not a trusted proxy is the client as our outermost trusted proxy
/// saw it. Everything left of it is the client's own say, and ignored.
pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            // A trusted proxy always writes an address: this came from further out.
            break;
        };
        client = ip;
        if !is_trusted(ip) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpRange> = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A client that writes the header itself is still itself.
        let h = headers(&["1.2.3.4"]);
        assert_eq!(resolve(ip("203.0.113.9"), &h, &trusted), ip("203.0.113.9"));
        // Through one trusted proxy.
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("1.2.3.4"));
        // A client that forges an entry before the proxy's: the proxy's entry wins.
        let h = headers(&["6.6.6.6, 203.0.113.9"]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
        // Two trusted proxies, in two header lines.
        let h = headers(&["203.0.113.9", "10.1.1.1"]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
        // No header: the proxy itself.
        assert_eq!(
            resolve(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
        // Nothing trusted: the peer.
        assert_eq!(resolve(ip("10.0.0.2"), &h, &[]), ip("10.0.0.2"));
        // Garbage from the client's side stops the walk.
        let h = headers(&["not an address, 203.0.113.9"]);
        assert_eq!(resolve(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
    }
}
