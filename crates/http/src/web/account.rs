//! My Account > Security: the signed-in person's second factors, as `/api/v1/me/…` shows
//! them.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use twofold_core::clock::Timestamp;
use twofold_core::domain::devices::RememberedDevice;
use twofold_core::domain::factors::{Factor, FactorDetails, FactorState};
use twofold_core::domain::sessions::SessionSummary;

use super::cookies;
use super::page::{Page, Viewer, csrf_field, frame, see_other};
use super::{CsrfForm, caller_of_form, signed_in};
use crate::AppState;
use crate::error::ApiError;

/// The eye icon (seed 003), drawn inline: no emoji font needed, no request made.
const EYE: maud::PreEscaped<&str> = maud::PreEscaped(
    r#"<svg class="icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true" focusable="false"><path d="M12 5C6.5 5 2.5 12 2.5 12s4 7 9.5 7 9.5-7 9.5-7-4-7-9.5-7z" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="12" cy="12" r="3" fill="currentColor"/></svg>"#,
);

/// `2026-12-03 17:01 UTC`.
pub(crate) fn when(t: Timestamp) -> String {
    let iso = t.to_rfc3339();
    match (iso.get(..10), iso.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => iso,
    }
}

/// [`when`] in a table cell: the day and the time each kept whole.
pub(crate) fn when_cell(t: Timestamp) -> Markup {
    let text = when(t);
    let (day, time) = text.split_once(' ').unwrap_or((&text, ""));
    html! { span { (day) } " " span { (time) } }
}

fn kind(f: &Factor) -> &'static str {
    match f.details {
        FactorDetails::Totp => "Authenticator app",
        FactorDetails::Email { .. } => "Email codes",
        FactorDetails::Passkey { .. } => "Passkey",
    }
}

/// What kind of authenticator holds a passkey, where its registration said.
fn authenticator(kind: &str) -> Option<&'static str> {
    match kind {
        "security_key" => Some("security key"),
        "platform" => Some("built into a device"),
        "hybrid" => Some("on a phone"),
        _ => None,
    }
}

/// What the security page says after a change, as `?added=` names it.
#[derive(serde::Deserialize)]
pub(crate) struct Done {
    added: Option<String>,
}

/// The security page.
pub(crate) async fn security(
    State(st): State<AppState>,
    headers: HeaderMap,
    Query(done): Query<Done>,
) -> Response {
    let Some(caller) = signed_in(&st, &headers).await else {
        return see_other("/login", vec![]);
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let (factors, signed_in_at, devices, grace) = match (
        st.twofold.list_factors(&caller).await,
        st.twofold.list_sessions(&caller).await,
        st.twofold.list_devices(&caller).await,
        st.twofold.enrollment_days_left(&caller).await,
    ) {
        (Ok(f), Ok(s), Ok(d), Ok(g)) => (f, s, d, g),
        (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => {
            return ApiError::from(e).into_response();
        }
    };
    let providers = match st.twofold.account_providers(&caller).await {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let federated = caller.federated();
    let active: Vec<&Factor> = factors
        .iter()
        .filter(|f| f.state == FactorState::Active)
        .collect();
    let has_email = active
        .iter()
        .any(|f| matches!(f.details, FactorDetails::Email { .. }));
    let viewer = Viewer {
        signed_in: true,
        csrf: &csrf,
        console: super::console::console_of(&caller),
    };
    Page::ok(frame(
        &viewer,
        "Security",
        html! {
            @if done.added.as_deref() == Some("passkey") {
                p.notice #added role="status" {
                    "Passkey added. Use it the next time you sign in."
                }
            }
            @if let Some(days) = grace {
                p.warning #grace role="status" {
                    "Your organisation requires two-step sign-in. Set it up within "
                    (days) @if days == 1 { " day" } @else { " days" }
                    ": after that, setting it up is the only way to sign in."
                }
            }
            @if federated {
                h2 { "Two-step sign-in" }
                p #federated {
                    "You sign in through your organisation's identity provider"
                    @if !providers.linked.is_empty() { " (" (providers.linked.join(", ")) ")" }
                    ", which does your two-step sign-in. There is nothing to set up here."
                }
            } @else {
            h2 { "Additional Authentication" }
            @if active.is_empty() {
                p { "You sign in with your password alone. Add an authenticator app, a \
                     passkey or email codes so that a stolen password is not enough." }
            } @else {
                table {
                    thead { tr {
                        th { "Name" } th { "Kind" } th { "Added" } th { "Last used" }
                        th { span.visually-hidden { "Actions" } }
                    } }
                    tbody {
                        @for f in &active {
                            tr {
                                td {
                                    (f.name)
                                    @if f.preferred { " " span.badge { "Preferred" } }
                                    @if let FactorDetails::Email { address } = &f.details {
                                        br; span.hint { (address) }
                                    }
                                    @if let FactorDetails::Passkey { possibly_cloned: true, .. } = &f.details {
                                        " " span.badge.bad title="Its signature counter went \
                                            backwards, so it may have been copied. It is refused: \
                                            delete it and add the device again." {
                                            "Possibly cloned"
                                        }
                                    }
                                }
                                td data-label="Kind" {
                                    (kind(f))
                                    @if let FactorDetails::Passkey { authenticator: a, backup_eligible, .. } = &f.details {
                                        @if let Some(a) = authenticator(a) {
                                            br; span.hint { (a) }
                                        }
                                        @if *backup_eligible {
                                            br; span.hint { "can sync between devices" }
                                        }
                                    }
                                }
                                td.when data-label="Added" { (when_cell(f.created_at)) }
                                td.when data-label="Last used" {
                                    @match f.last_used_at {
                                        Some(t) => (when_cell(t)),
                                        None => "Never",
                                    }
                                }
                                td.actions {
                                    @if !f.preferred {
                                        form method="post"
                                            action={ "/account/factors/" (f.id.as_str()) "/preferred" } {
                                            (csrf_field(&csrf))
                                            button.link type="submit" {
                                                "Set as preferred"
                                                span.visually-hidden { ": " (f.name) }
                                            }
                                        }
                                    }
                                    @if matches!(f.details, FactorDetails::Totp) {
                                        form method="post"
                                            action={ "/account/factors/" (f.id.as_str()) "/qr" } {
                                            (csrf_field(&csrf))
                                            button.link type="submit" {
                                                (EYE) " "
                                                "Show QR code"
                                                span.visually-hidden { ": " (f.name) }
                                            }
                                        }
                                        form method="post"
                                            action={ "/account/factors/" (f.id.as_str()) "/regenerate" } {
                                            (csrf_field(&csrf))
                                            button.link type="submit" {
                                                "Regenerate"
                                                span.visually-hidden { ": " (f.name) }
                                            }
                                        }
                                    }
                                    @if matches!(f.details, FactorDetails::Passkey { .. }) {
                                        a href={ "/account/factors/" (f.id.as_str()) "/rename" } {
                                            "Rename" span.visually-hidden { ": " (f.name) }
                                        }
                                    }
                                    a href={ "/account/factors/" (f.id.as_str()) "/delete" } {
                                        "Delete" span.visually-hidden { ": " (f.name) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            div.add {
                form method="post" action="/account/factors/app" {
                    (csrf_field(&csrf))
                    label for="app-name" { "Name for a new authenticator app" }
                    input #app-name type="text" name="name" value="Authenticator app" maxlength="64";
                    button type="submit" { "+ Add authenticator app" }
                }
                form.passkey method="post" action="/account/factors/passkey" data-passkey="register" {
                    (csrf_field(&csrf))
                    label for="passkey-name" { "Name for a new passkey" }
                    input #passkey-name type="text" name="name" value="Passkey" maxlength="64";
                    button type="submit" { "+ Add a passkey" }
                }
                @if !has_email {
                    form method="post" action="/account/factors/email" {
                        (csrf_field(&csrf))
                        button.secondary type="submit" { "Add email codes" }
                    }
                }
            }
            h2 { "Recovery codes" }
            p {
                "For the day your phone and your mailbox are both out of reach. "
                a href="/account/recovery-codes" { "Recovery codes" }
            }
            @if !providers.linked.is_empty() || !providers.linkable.is_empty() {
                h2 { "Your organisation's sign-in" }
                @if !providers.linked.is_empty() {
                    p #linked { "Linked: you can also sign in through "
                        (providers.linked.join(", ")) ", without a code here." }
                }
                @if !providers.linkable.is_empty() {
                    p { "Link your organisation's identity provider to sign in through it too. \
                         It asks you to sign in there; the address it has for you must be "
                        (caller.email()) "." }
                }
                @for p in &providers.linkable {
                    form method="post" action={ "/account/link/" (p) } {
                        (csrf_field(&csrf))
                        input type="hidden" name="return_to" value="/account/security";
                        button.secondary type="submit" { "Link " (p) }
                    }
                }
            }
            }
            h2 { "Where you are signed in" }
            (sessions(&signed_in_at, &csrf))
            @if !federated {
                h2 { "Remembered browsers" }
                (remembered(&devices, &csrf))
            }
            @if !federated {
                h2 { "Password" }
                p { a href="/account/password" { "Change password" } }
            }
        },
    ))
    .cookie(cookie)
    .into_response()
}

/// "Firefox … from 203.0.113.7": what a session or a remembered browser was seen as.
fn seen_from(user_agent: Option<&str>, ip: Option<&str>) -> Markup {
    html! {
        (user_agent.unwrap_or("An unknown browser or program"))
        @if let Some(ip) = ip { " from " (ip) }
    }
}

/// The live sessions, this one marked, and "Sign out everywhere else".
fn sessions(list: &[SessionSummary], csrf: &str) -> Markup {
    html! {
        ul.sessions {
            @for s in list {
                li {
                    (seen_from(s.user_agent.as_deref(), s.ip.as_deref()))
                    ", since " (when(s.created_at))
                    @if s.current { " " span.badge { "This browser" } }
                }
            }
        }
        @if list.iter().any(|s| !s.current) {
            form method="post" action="/account/sessions/others" {
                (csrf_field(csrf))
                button.secondary type="submit" { "Sign out everywhere else" }
            }
        }
    }
}

/// The browsers that skip the second step, each with Forget.
fn remembered(list: &[RememberedDevice], csrf: &str) -> Markup {
    html! {
        @if list.is_empty() {
            p { "None. Tick Remember me on this browser when you sign in to skip the second \
                 step there." }
        } @else {
            ul.sessions {
                @for d in list {
                    li {
                        (seen_from(d.user_agent.as_deref(), d.ip.as_deref()))
                        ", until " (when(d.expires_at))
                        " "
                        form.inline method="post" action={ "/account/devices/" (d.id) "/forget" } {
                            (csrf_field(csrf))
                            button.link type="submit" { "Forget" }
                        }
                    }
                }
            }
        }
    }
}

#[derive(serde::Deserialize)]
pub(crate) struct DevicePath {
    id: String,
}

/// "Forget": that browser asks for the second step again.
pub(crate) async fn forget_device(
    State(st): State<AppState>,
    axum::extract::Path(DevicePath { id }): axum::extract::Path<DevicePath>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    match st.twofold.forget_device(&caller, &id).await {
        Ok(()) => see_other("/account/security", vec![]),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// "Sign out everywhere else": every other session of this person ends.
pub(crate) async fn end_others(
    State(st): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    match st.twofold.end_other_sessions(&caller).await {
        Ok(_) => see_other("/account/security", vec![]),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_day_and_a_minute() {
        assert_eq!(
            when(Timestamp::from_millis(1_796_317_305_674)),
            "2026-12-03 17:01 UTC"
        );
    }
}
