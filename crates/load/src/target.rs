//! The target server: only loopback URLs are accepted. The tool sends a flood of sign-ins
//! and wrong codes; pointed at someone else's server it would be an attack, so it refuses
//! anything but this machine.

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;

use crate::LoadError;

/// Parses `url` and checks that it is `http://` to a loopback address (127.0.0.0/8, ::1,
/// or the name `localhost`), with no path, query or fragment. Answers the base URL.
pub fn loopback_url(url: &str) -> Result<Url, LoadError> {
    let refuse = |reason: &str| LoadError::Url {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed = Url::parse(url).map_err(|e| refuse(&format!("not a URL ({e})")))?;
    if parsed.scheme() != "http" {
        return Err(refuse(
            "only http:// is supported (the target is on loopback)",
        ));
    }
    let host = parsed.host_str().unwrap_or("");
    if !is_loopback_host(host) {
        return Err(refuse(
            "not a loopback address: the load tool only targets 127.0.0.0/8, ::1 or localhost",
        ));
    }
    if !matches!(parsed.path(), "" | "/") || parsed.query().is_some() || parsed.fragment().is_some()
    {
        return Err(refuse(
            "give the server's root, e.g. http://127.0.0.1:8080 (paths are the tool's choice)",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("credentials in the URL are not supported"));
    }
    Ok(parsed)
}

/// Whether a URL host (as `Url::host_str` spells it: IPv6 in brackets) is loopback.
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    // `to_canonical` turns ::ffff:127.0.0.1 into 127.0.0.1, which is loopback too.
    bare.parse::<IpAddr>()
        .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

/// Checks a listen address for `hello`: loopback only, for the same reason.
pub fn loopback_listen(addr: SocketAddr) -> Result<SocketAddr, LoadError> {
    if addr.ip().to_canonical().is_loopback() {
        Ok(addr)
    } else {
        Err(LoadError::Config(format!(
            "--listen {addr}: not a loopback address (use 127.0.0.1 or [::1])"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_urls_are_accepted() {
        for ok in [
            "http://127.0.0.1:8080",
            "http://127.0.0.1:8080/",
            "http://127.1.2.3:1",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://[::1]:8080",
            "http://[::ffff:127.0.0.1]:8080",
        ] {
            assert!(loopback_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn everything_else_is_refused_in_one_line() {
        for bad in [
            "http://10.0.0.1:8080",
            "http://0.0.0.0:8080",
            "http://example.com",
            "http://localhost.example.com",
            "http://127.0.0.1.nip.io",
            "http://[::2]:8080",
            "https://127.0.0.1:8443",
            "http://127.0.0.1:8080/api",
            "http://127.0.0.1:8080/?x=1",
            "http://user:pw@127.0.0.1:8080",
            "127.0.0.1:8080",
            "not a url",
        ] {
            let e = loopback_url(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--url {bad}: ")), "{e}");
            assert!(!e.contains('\n'), "{e}");
        }
        assert!(
            loopback_url("http://example.com")
                .unwrap_err()
                .to_string()
                .contains("not a loopback address")
        );
    }

    #[test]
    fn listen_addresses_must_be_loopback() {
        assert!(loopback_listen("127.0.0.1:8081".parse().unwrap()).is_ok());
        assert!(loopback_listen("[::1]:8081".parse().unwrap()).is_ok());
        assert!(loopback_listen("0.0.0.0:8081".parse().unwrap()).is_err());
    }
}
