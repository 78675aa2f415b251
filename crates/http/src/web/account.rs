//! My Account > Security: the signed-in person's second factors, as `/api/v1/me/…` shows
//! them.

use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use twofold_core::clock::Timestamp;
use twofold_core::domain::factors::{Factor, FactorDetails, FactorState};
use twofold_core::domain::sessions::SessionSummary;

use super::cookies;
use super::page::{Page, Viewer, csrf_field, frame, see_other};
use super::{CsrfForm, caller_of_form, signed_in};
use crate::AppState;
use crate::error::ApiError;

/// `2026-12-03 17:01 UTC`.
fn when(t: Timestamp) -> String {
    let iso = t.to_rfc3339();
    match (iso.get(..10), iso.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => iso,
    }
}

/// [`when`] in a table cell: the day and the time each kept whole.
fn when_cell(t: Timestamp) -> Markup {
    let text = when(t);
    let (day, time) = text.split_once(' ').unwrap_or((&text, ""));
    html! { span { (day) } " " span { (time) } }
}

fn kind(f: &Factor) -> &'static str {
    match f.details {
        FactorDetails::Totp => "Authenticator app",
        FactorDetails::Email { .. } => "Email codes",
    }
}

/// The security page.
pub(crate) async fn security(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let Some(caller) = signed_in(&st, &headers).await else {
        return see_other("/login", vec![]);
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let (factors, signed_in_at) = match (
        st.twofold.list_factors(&caller).await,
        st.twofold.list_sessions(&caller).await,
    ) {
        (Ok(f), Ok(s)) => (f, s),
        (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
    };
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
    };
    Page::ok(frame(
        &viewer,
        "Security",
        html! {
            h2 { "Additional Authentication" }
            @if active.is_empty() {
                p { "You sign in with your password alone. Add an authenticator app or \
                     email codes so that a stolen password is not enough." }
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
                                }
                                td data-label="Kind" { (kind(f)) }
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
                                                span aria-hidden="true" { "👁 " }
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
            h2 { "Where you are signed in" }
            (sessions(&signed_in_at, &csrf))
        },
    ))
    .cookie(cookie)
    .into_response()
}

/// The live sessions, this one marked, and "Sign out everywhere else".
fn sessions(list: &[SessionSummary], csrf: &str) -> Markup {
    html! {
        ul.sessions {
            @for s in list {
                li {
                    (s.user_agent.as_deref().unwrap_or("An unknown browser or program"))
                    @if let Some(ip) = &s.ip { " from " (ip) }
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
