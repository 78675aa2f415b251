//! The frame every page shares (title, header, the stylesheet), the words for a failure,
//! and the headers that keep pages out of frames and scripts out of pages.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::error::ApiError;

/// The stylesheet, compiled in: no build step and no file to deploy.
pub(crate) const STYLESHEET: &str = include_str!("style.css");

/// The one script (a Copy button, and the passkey buttons that call
/// `navigator.credentials`), compiled in; every page works without it.
pub(crate) const SCRIPT: &str = concat!(include_str!("copy.js"), include_str!("passkeys.js"));

/// Scripts: this site's file only, never inline, and it fetches only from here (a
/// passkey's options). Styles and images: this site's (images also as `data:`). Forms post
/// only here, no site may frame a page, and `<base>` cannot redirect links.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                   style-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// A page being answered: its status, body and any cookies it sets.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) body: Markup,
    pub(crate) cookies: Vec<HeaderValue>,
    /// The failure the page shows, as the API would name it (kept for tests and for the
    /// per-address throttle, which counts failures by it).
    pub(crate) failed: Option<twofold_proto::ErrorCode>,
}

impl Page {
    pub(crate) fn ok(body: Markup) -> Self {
        Self {
            status: StatusCode::OK,
            body,
            cookies: Vec::new(),
            failed: None,
        }
    }

    pub(crate) fn cookie(mut self, c: Option<HeaderValue>) -> Self {
        self.cookies.extend(c);
        self
    }

    /// The page with `e`'s status, counted as its failure.
    pub(crate) fn failed(mut self, e: &ApiError) -> Self {
        self.status = e.status();
        self.failed = Some(e.code());
        self
    }

    /// [`Page::failed`] when there is a failure to show.
    pub(crate) fn failed_if(self, e: Option<&ApiError>) -> Self {
        match e {
            Some(e) => self.failed(e),
            None => self,
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut res = (self.status, self.body.into_string()).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        for c in self.cookies {
            h.append(header::SET_COOKIE, c);
        }
        if let Some(code) = self.failed {
            res.extensions_mut().insert(code);
        }
        res
    }
}

/// A redirect after a form (303: the browser follows it with a GET, so reloading the next
/// page never posts the form again), with the cookies the form set.
pub(crate) fn see_other(to: &'static str, cookies: Vec<HeaderValue>) -> Response {
    see_other_to(to, cookies)
}

/// [`see_other`] to a path made at run time (a path of this site, never one from a
/// request without checking it), or to a URL the domain made and checked (an identity
/// provider's, an application's loopback address).
pub(crate) fn see_other_to(to: &str, cookies: Vec<HeaderValue>) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    let Ok(to) = HeaderValue::from_str(to) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    h.insert(header::LOCATION, to);
    for c in cookies {
        h.append(header::SET_COOKIE, c);
    }
    res
}

/// The headers every page carries (applied to the pages' router).
pub(crate) fn protect(headers: &mut HeaderMap) {
    let set = |h: &mut HeaderMap, name: HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(headers, header::CONTENT_SECURITY_POLICY, CSP);
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    // Not `no-referrer`: with it, browsers send `Origin: null` on the site's own form
    // posts, which the CSRF check must refuse. `same-origin` tells other sites nothing.
    set(headers, header::REFERRER_POLICY, "same-origin");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
}

/// Who is looking at a page: signed in or not, the CSRF token its forms repeat, and the
/// organisation they run (an owner or admin: the header links to its console).
pub(crate) struct Viewer<'a> {
    pub(crate) signed_in: bool,
    pub(crate) csrf: &'a str,
    pub(crate) console: Option<&'a str>,
}

/// A whole page: `title` names it in the tab and as its heading.
pub(crate) fn frame(viewer: &Viewer<'_>, title: &str, main: Markup) -> Markup {
    document(viewer, title, None, html! { h1 { (title) } (main) })
}

/// A page with `main`'s whole content given, `class` on its `main` (the console's
/// wider layout).
pub(crate) fn document(
    viewer: &Viewer<'_>,
    title: &str,
    class: Option<&str>,
    main: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Twofold" }
                link rel="stylesheet" href="/static/twofold.css";
                script src="/static/twofold.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/" { "Twofold" }
                    @if viewer.signed_in {
                        nav aria-label="Account" {
                            @if let Some(org) = viewer.console {
                                a href={ "/orgs/" (org) "/users" } { "Organisation" }
                            }
                            a href="/account/security" { "Security" }
                            form method="post" action="/logout" {
                                (csrf_field(viewer.csrf))
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main class=[class] {
                    (main)
                }
            }
        }
    }
}

/// A page for a signed-in person: `body` in the frame, under `title`.
pub(crate) fn signed_in_page(csrf: &str, title: &str, body: Markup) -> Page {
    let viewer = Viewer {
        signed_in: true,
        csrf,
        console: None,
    };
    Page::ok(frame(&viewer, title, body))
}

/// The hidden field that carries the CSRF token in a form.
pub(crate) fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A failure in words, next to what caused it; `data-code` is the API's code for it.
pub(crate) fn failure(e: &ApiError, id: &str) -> Markup {
    use twofold_proto::ErrorCode as C;
    let wait = e.retry_after().map(duration).unwrap_or_default();
    let mut words = match e.code() {
        // The same refusal whatever was wrong with the code: a wrong guess learns nothing.
        // A phone whose clock drifted has its next code accepted (the server learns the
        // drift from two in a row), so the advice is general.
        C::InvalidCode => "That code is not right. Type the code your app shows for Twofold \
                           now; if its codes keep failing, let your phone set its clock \
                           automatically, then try the next code."
            .to_owned(),
        C::TooManyAttempts => format!("Too many wrong codes. You can try again in {wait}."),
        // The request the passkey answered is used up (or too old): a new one is asked for
        // by using the passkey again.
        C::ChallengeExpired => "That answer from your passkey came too late or was used \
                                already. Use your passkey again."
            .to_owned(),
        // The API's words end with the wait in seconds; the page says it in words.
        C::RateLimited | C::Overloaded => {
            let what = e.detail().split(';').next().unwrap_or_default();
            format!("{} You can try again in {wait}.", sentence(what))
        }
        _ => sentence(e.detail()),
    };
    if let Some(skew) = e.clock_skew_seconds() {
        let (how, secs) = if skew > 0 {
            ("behind", skew)
        } else {
            ("ahead", -skew)
        };
        words.push_str(&format!(
            " That code would be right if your device's clock were about {} {how}: \
             set its time automatically and try the code it shows now.",
            duration(u64::try_from(secs).unwrap_or(0))
        ));
    }
    html! {
        p.error id=(id) role="alert" data-code=(e.code().as_str()) { (words) }
    }
}

/// `detail` as a sentence: a capital first letter and a full stop.
fn sentence(detail: &str) -> String {
    let mut chars = detail.chars();
    let mut s: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

/// `secs` in words: "45 seconds", "3 minutes", "2 hours".
pub(crate) fn duration(secs: u64) -> String {
    let (n, unit) = match secs {
        0..=59 => (secs, "second"),
        60..=5399 => (secs.div_ceil(60), "minute"),
        _ => (secs.div_ceil(3600), "hour"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(1), "1 second");
        assert_eq!(duration(45), "45 seconds");
        assert_eq!(duration(60), "1 minute");
        assert_eq!(duration(120), "2 minutes");
        assert_eq!(duration(3600), "60 minutes");
        assert_eq!(duration(7200), "2 hours");
    }

    #[test]
    fn a_detail_becomes_a_sentence() {
        assert_eq!(sentence("wrong code"), "Wrong code.");
        assert_eq!(sentence("Done."), "Done.");
    }
}
