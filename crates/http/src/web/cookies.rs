//! What the pages keep in the browser, and how: the session, the sign-in under way, the
//! remembered browser and the CSRF token, each in a cookie scripts cannot read
//! (`HttpOnly`), sent only with the site's own requests (`SameSite`), and over HTTPS
//! `Secure` with the `__Host-` prefix, so no other host or path can set or read it.
//! Plain HTTP is left for one case, a server reached on a loopback address, so that
//! trying Twofold on one's own machine works.

use axum::http::{HeaderMap, HeaderValue, header};
use subtle::ConstantTimeEq;

/// The cookies of this site.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Jar {
    /// The session token (`tfs_…`): until the session ends.
    Session,
    /// The sign-in under way (`tff_…`): until the flow ends.
    Flow,
    /// A remembered browser (`tfd_…`): as long as the device is remembered.
    Device,
    /// The CSRF token every form repeats.
    Csrf,
    /// Binds a sign-in at an identity provider (`tfb_…`) to this browser, until its
    /// callback.
    OidcBinding,
}

impl Jar {
    fn base(self) -> &'static str {
        match self {
            Jar::Session => "twofold-session",
            Jar::Flow => "twofold-flow",
            Jar::Device => "twofold-device",
            Jar::Csrf => "twofold-csrf",
            Jar::OidcBinding => "twofold-oidc",
        }
    }

    /// The cookie's name: `__Host-` over HTTPS.
    pub(crate) fn name(self, secure: bool) -> String {
        if secure {
            format!("__Host-{}", self.base())
        } else {
            self.base().to_owned()
        }
    }
}

/// Whether the request reached a public address, where cookies must be `Secure`: anything
/// but a loopback host (`localhost`, `127.0.0.1`, `[::1]`), which is only ever plain HTTP
/// on one's own machine.
pub(crate) fn secure(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    !(name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()))
}

/// Cookie `jar`'s value in the request, if it holds one.
pub(crate) fn read(headers: &HeaderMap, jar: Jar) -> Option<String> {
    let name = jar.name(secure(headers));
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` that stores `value` in `jar` for `max_age` seconds (`None`: until the
/// browser closes). Values are tokens of URL-safe characters: nothing to escape.
pub(crate) fn set(secure: bool, jar: Jar, value: &str, max_age: Option<u64>) -> HeaderValue {
    // Strict for everything but the session and the provider binding: a link from
    // elsewhere (a mail, say) may open a page signed in, and the identity provider's
    // redirect back must carry the binding; nothing else travels with another site's
    // requests.
    let same_site = if matches!(jar, Jar::Session | Jar::OidcBinding) {
        "Lax"
    } else {
        "Strict"
    };
    let mut c = format!(
        "{}={value}; Path=/; HttpOnly; SameSite={same_site}",
        jar.name(secure)
    );
    if secure {
        c.push_str("; Secure");
    }
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    // Names and attributes are fixed ASCII and values are tokens; an invalid one would
    // be a bug, and then the cookie is simply not set.
    HeaderValue::from_str(&c).unwrap_or(HeaderValue::from_static("x=; Max-Age=0"))
}

/// A `Set-Cookie` that removes `jar`'s cookie.
pub(crate) fn clear(secure: bool, jar: Jar) -> HeaderValue {
    set(secure, jar, "", Some(0))
}

/// The CSRF token of the browser that sent `headers`, and the `Set-Cookie` that gives it
/// one when it has none yet.
pub(crate) fn csrf_token(headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match read(headers, Jar::Csrf) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => (t, None),
        _ => {
            // 244 random bits from the system's source (two version-4 UUIDs).
            let t = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            let cookie = set(secure(headers), Jar::Csrf, &t, None);
            (t, Some(cookie))
        }
    }
}

/// Whether a form post is the site's own: its `csrf` field repeats the browser's CSRF
/// cookie (another site can neither read that cookie nor the pages that hold it), and
/// an `Origin` the browser sent is this site's (`null`, which sandboxed frames and
/// `data:` pages send, is not).
pub(crate) fn same_site_form(headers: &HeaderMap, field: &str) -> bool {
    let Some(cookie) = read(headers, Jar::Csrf) else {
        return false;
    };
    let token_ok = !field.is_empty() && bool::from(cookie.as_bytes().ct_eq(field.as_bytes()));
    let origin_ok = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(origin) => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or("");
            origin
                .split_once("://")
                .is_some_and(|(_, rest)| rest.eq_ignore_ascii_case(host))
        }
    };
    token_ok && origin_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                *k,
                HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static("")),
            );
        }
        h
    }

    #[test]
    fn loopback_hosts_are_plain_http_and_every_other_host_is_secure() {
        for host in [
            "localhost:8080",
            "127.0.0.1:8080",
            "[::1]:8080",
            "127.0.0.2",
        ] {
            assert!(!secure(&headers(&[("host", host)])), "{host}");
        }
        for host in ["mfa.example.com", "10.0.0.5:8080", "[2001:db8::1]:443", ""] {
            assert!(secure(&headers(&[("host", host)])), "{host}");
        }
    }

    #[test]
    fn cookies_are_http_only_and_secure_with_the_host_prefix_over_https() {
        let c = set(true, Jar::Session, "tfs_x", Some(60));
        assert_eq!(
            c,
            "__Host-twofold-session=tfs_x; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=60"
        );
        let c = set(false, Jar::Csrf, "t", None);
        assert_eq!(c, "twofold-csrf=t; Path=/; HttpOnly; SameSite=Strict");
    }

    #[test]
    fn a_cookie_is_read_only_under_the_name_of_its_scheme() {
        let h = headers(&[
            ("host", "mfa.example.com"),
            (
                "cookie",
                "twofold-session=plain; __Host-twofold-session=tfs_a",
            ),
        ]);
        assert_eq!(read(&h, Jar::Session).as_deref(), Some("tfs_a"));
        let h = headers(&[
            ("host", "mfa.example.com"),
            ("cookie", "twofold-session=plain"),
        ]);
        assert_eq!(read(&h, Jar::Session), None);
    }

    #[test]
    fn a_form_needs_the_cookie_repeated_and_no_foreign_origin() {
        let token = "a".repeat(64);
        let cookie = format!("twofold-csrf={token}");
        let own = headers(&[("host", "127.0.0.1:8080"), ("cookie", &cookie)]);
        assert!(same_site_form(&own, &token));
        assert!(!same_site_form(&own, ""));
        assert!(!same_site_form(&own, &"b".repeat(64)));
        let no_cookie = headers(&[("host", "127.0.0.1:8080")]);
        assert!(!same_site_form(&no_cookie, &token));
        let opaque = headers(&[
            ("host", "127.0.0.1:8080"),
            ("cookie", &cookie),
            ("origin", "null"),
        ]);
        assert!(!same_site_form(&opaque, &token));
        let foreign = headers(&[
            ("host", "127.0.0.1:8080"),
            ("cookie", &cookie),
            ("origin", "https://evil.example"),
        ]);
        assert!(!same_site_form(&foreign, &token));
        let same = headers(&[
            ("host", "127.0.0.1:8080"),
            ("cookie", &cookie),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert!(same_site_form(&same, &token));
    }
}
