//! My Account > Security: the signed-in person's second factors, as `/api/v1/me/…` shows
//! them.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;

use twofold_core::clock::Timestamp;
use twofold_core::domain::factors::{Factor, FactorDetails, FactorState};

use super::cookies;
use super::page::{Page, Viewer, frame, see_other};
use super::signed_in;
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
    let factors = match st.twofold.list_factors(&caller).await {
        Ok(f) => f,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let active: Vec<&Factor> = factors
        .iter()
        .filter(|f| f.state == FactorState::Active)
        .collect();
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
                    thead { tr { th { "Name" } th { "Kind" } th { "Added" } th { "Last used" } } }
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
                                td data-label="Added" { (when(f.created_at)) }
                                td data-label="Last used" {
                                    (f.last_used_at.map(when).unwrap_or_else(|| "Never".into()))
                                }
                            }
                        }
                    }
                }
            }
        },
    ))
    .cookie(cookie)
    .into_response()
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
