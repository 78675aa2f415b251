//! Changing one's factors from the security page: the preferred one, renaming one, and
//! deleting one with a code from it (seed 000: "Enter the code generated into the One-Time
//! Password field and select Delete") — a passkey, which shows no code, after confirming
//! it is them (`fresh`). The same domain actions as `/api/v1/me/factors/…`.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::factors::{Factor, FactorDetails};
use twofold_core::domain::sessions::Caller;

use super::cookies;
use super::fresh;
use super::page::{csrf_field, failure, see_other, signed_in_page as page};
use super::{caller_of_form, signed_in};
use crate::AppState;
use crate::error::ApiError;

#[derive(Deserialize)]
pub(crate) struct PreferForm {
    #[serde(default)]
    csrf: String,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "Set as preferred": asked first at the next sign-in.
pub(crate) async fn prefer(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PreferForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let done = match fresh::pass_if_given(
        &st,
        &headers,
        caller.clone(),
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
    )
    .await
    {
        Ok(fresh) => st
            .twofold
            .prefer_factor(&fresh, &id, None)
            .await
            .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => see_other("/account/security", vec![]),
        Err(e) => {
            let (csrf, cookie) = cookies::csrf_token(&headers);
            let how = fresh::after(&st, &caller, &e, form.step_up_method.as_deref()).await;
            let name = factor(&st, &caller, &id).await.map(|f| f.name);
            let body = html! {
                form method="post" action={ "/account/factors/" (id) "/preferred" } {
                    (csrf_field(&csrf))
                    p { "Make " strong { (name.unwrap_or_default()) } " the method asked for \
                         first when you sign in." }
                    @if let Some(how) = &how {
                        (fresh::ask(how, Some(&e), "/account/security"))
                    } @else {
                        (failure(&e, "prefer-error"))
                    }
                    button type="submit" { "Set as preferred" }
                }
                p { a href="/account/security" { "Cancel" } }
            };
            page(&csrf, "Set as preferred", body)
                .cookie(cookie)
                .failed(&e)
                .into_response()
        }
    }
}

/// The caller's factor `id`, if it is theirs.
async fn factor(st: &AppState, caller: &Caller, id: &str) -> Option<Factor> {
    st.twofold
        .list_factors(caller)
        .await
        .ok()?
        .into_iter()
        .find(|f| f.id.as_str() == id)
}

/// "Delete": asks for a code from the factor itself (for email codes, one is mailed to it).
pub(crate) async fn delete_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = signed_in(&st, &headers).await else {
        return see_other("/login", vec![]);
    };
    let Some(f) = factor(&st, &caller, &id).await else {
        return see_other("/account/security", vec![]);
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let sent_to = match f.details {
        FactorDetails::Email { .. } => st
            .twofold
            .send_step_up_code(&caller)
            .await
            .ok()
            .map(|s| s.sent_to),
        FactorDetails::Totp | FactorDetails::Passkey { .. } => None,
    };
    page(
        &csrf,
        "Delete a second factor",
        delete_form(&csrf, &f, sent_to.as_deref(), None, None),
    )
    .cookie(cookie)
    .into_response()
}

/// The delete form; `how`, for a passkey, is how the person confirms it is them (asked
/// once a first Delete found their second factor not fresh).
fn delete_form(
    csrf: &str,
    f: &Factor,
    sent_to: Option<&str>,
    err: Option<&ApiError>,
    how: Option<&fresh::Confirm>,
) -> Markup {
    let action = format!("/account/factors/{}/delete", f.id.as_str());
    let (hint, label) = match f.details {
        FactorDetails::Totp => (
            "To delete it, enter the code it shows now.".to_owned(),
            "One-Time Password",
        ),
        FactorDetails::Email { .. } => (
            match sent_to {
                Some(to) => format!("To delete it, enter the code we emailed to {to}."),
                None => "To delete it, enter the code we emailed you a moment ago.".to_owned(),
            },
            "Code from the email",
        ),
        FactorDetails::Passkey { .. } => {
            return html! {
                p { "You will no longer be able to sign in with " strong { (f.name) } "." }
                form method="post" action=(action) {
                    (csrf_field(csrf))
                    @match (how, err) {
                        (Some(how), _) => (fresh::ask(how, err, "/account/security")),
                        (None, Some(e)) => (failure(e, "delete-error")),
                        (None, None) => {}
                    }
                    button type="submit" { @if how.is_some() { "Continue" } @else { "Delete" } }
                }
                p { a href="/account/security" { "Cancel" } }
            };
        }
    };
    html! {
        p { "You will no longer be able to sign in with " strong { (f.name) } "." }
        form method="post" action=(action) {
            (csrf_field(csrf))
            p #delete-hint { (hint) }
            label for="code" { (label) }
            input #code .code type="text" name="code" required inputmode="numeric"
                autocomplete="one-time-code" maxlength="10"
                aria-describedby=(if err.is_some() { "delete-error" } else { "delete-hint" });
            @if let Some(e) = err {
                (failure(e, "delete-error"))
            }
            button type="submit" { "Delete" }
        }
        p { a href="/account/security" { "Cancel" } }
    }
}

#[derive(Deserialize)]
pub(crate) struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    /// For a passkey: how the person confirmed it is them, when asked.
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// Deletes the factor, with the code from it.
pub(crate) async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DeleteForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let Some(f) = factor(&st, &caller, &id).await else {
        return see_other("/account/security", vec![]);
    };
    let passkey = matches!(f.details, FactorDetails::Passkey { .. });
    let done = if passkey {
        // No code of its own: the session's fresh second factor, confirmed here if need be.
        match fresh::pass_if_given(
            &st,
            &headers,
            caller.clone(),
            form.step_up_method.as_deref(),
            form.step_up_code.as_deref(),
        )
        .await
        {
            Ok(fresh) => st
                .twofold
                .delete_factor(&fresh, &id, None, None)
                .await
                .map_err(ApiError::from),
            Err(e) => Err(e),
        }
    } else {
        st.twofold
            .delete_factor(&caller, &id, Some(&form.code), None)
            .await
            .map_err(ApiError::from)
    };
    match done {
        Ok(()) => see_other("/account/security", vec![]),
        Err(e) => {
            let how = if passkey {
                fresh::after(&st, &caller, &e, form.step_up_method.as_deref()).await
            } else {
                None
            };
            let (csrf, cookie) = cookies::csrf_token(&headers);
            page(
                &csrf,
                "Delete a second factor",
                delete_form(&csrf, &f, None, Some(&e), how.as_ref()),
            )
            .cookie(cookie)
            .failed(&e)
            .into_response()
        }
    }
}

/// "Rename": the name shown in the person's own list (and in the mail about it).
pub(crate) async fn rename_page(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(caller) = signed_in(&st, &headers).await else {
        return see_other("/login", vec![]);
    };
    let Some(f) = factor(&st, &caller, &id).await else {
        return see_other("/account/security", vec![]);
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    page(&csrf, "Rename", rename_form(&csrf, &f, &f.name, None))
        .cookie(cookie)
        .into_response()
}

fn rename_form(csrf: &str, f: &Factor, name: &str, err: Option<&ApiError>) -> Markup {
    html! {
        form method="post" action={ "/account/factors/" (f.id.as_str()) "/rename" } {
            (csrf_field(csrf))
            label for="name" { "New name for " (f.name) }
            input #name type="text" name="name" value=(name) required maxlength="64"
                aria-describedby=[err.map(|_| "rename-error")];
            @if let Some(e) = err {
                (failure(e, "rename-error"))
            }
            button type="submit" { "Rename" }
        }
        p { a href="/account/security" { "Cancel" } }
    }
}

#[derive(Deserialize)]
pub(crate) struct RenameForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// Renames the factor.
pub(crate) async fn rename(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<RenameForm>,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let Some(f) = factor(&st, &caller, &id).await else {
        return see_other("/account/security", vec![]);
    };
    match st.twofold.rename_factor(&caller, &id, &form.name).await {
        Ok(_) => see_other("/account/security", vec![]),
        Err(e) => {
            let e = ApiError::from(e);
            let (csrf, cookie) = cookies::csrf_token(&headers);
            page(
                &csrf,
                "Rename",
                rename_form(&csrf, &f, &form.name, Some(&e)),
            )
            .cookie(cookie)
            .failed(&e)
            .into_response()
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct AppActionForm {
    #[serde(default)]
    csrf: String,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// What a signed-in action on an app does once the person confirmed it is them.
#[derive(Clone, Copy)]
enum AppAction {
    /// The eye icon: the app's QR code again (where the organisation allows it).
    ShowQr,
    /// A new secret for a new device; the old one works until the new one's first code.
    Regenerate,
}

impl AppAction {
    fn path(self) -> &'static str {
        match self {
            AppAction::ShowQr => "qr",
            AppAction::Regenerate => "regenerate",
        }
    }

    fn title(self) -> &'static str {
        match self {
            AppAction::ShowQr => "Show QR code",
            AppAction::Regenerate => "Regenerate",
        }
    }
}

/// The eye icon (seed 003): the app's QR code and key again.
pub(crate) async fn show_qr(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AppActionForm>,
) -> Response {
    app_action(st, id, headers, form, AppAction::ShowQr).await
}

/// Regenerate (seed 003): a new secret, scanned and confirmed with its first code.
pub(crate) async fn regenerate(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AppActionForm>,
) -> Response {
    app_action(st, id, headers, form, AppAction::Regenerate).await
}

async fn app_action(
    st: AppState,
    id: String,
    headers: HeaderMap,
    form: AppActionForm,
    action: AppAction,
) -> Response {
    let caller = match caller_of_form(&st, &headers, &form.csrf).await {
        Ok(c) => c,
        Err(refused) => return *refused,
    };
    let Some(f) = factor(&st, &caller, &id).await else {
        return see_other("/account/security", vec![]);
    };
    let (csrf, cookie) = cookies::csrf_token(&headers);
    let done = match fresh::pass_if_given(
        &st,
        &headers,
        caller.clone(),
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
    )
    .await
    {
        Ok(fresh) => match action {
            AppAction::ShowQr => st.twofold.factor_qr_uri(&fresh, &id, None).await,
            AppAction::Regenerate => st
                .twofold
                .regenerate_factor(&fresh, &id, None)
                .await
                .map(|e| e.uri),
        }
        .map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let body = match &done {
        Ok(uri) => match action {
            AppAction::ShowQr => html! {
                p { "Scan it with the device that should show codes for " strong { (f.name) } "." }
                (super::enroll::qr(uri))
                p.secret { "Or type this key: " code #secret { (super::enroll::grouped(&super::enroll::secret_of(uri))) } }
                p { a href="/account/security" { "Done" } }
            },
            AppAction::Regenerate => html! {
                p { "A new secret for " strong { (f.name) } ". The old one keeps working \
                     until the new one's first code is accepted." }
                (super::enroll::scan_and_verify(&csrf, "/account/factors/activate", &id, uri, "Add", None, None))
                p { a href="/account/security" { "Cancel" } }
            },
        },
        Err(e) => {
            let how = fresh::after(&st, &caller, e, form.step_up_method.as_deref()).await;
            html! {
                @if let Some(how) = how {
                    form method="post"
                        action={ "/account/factors/" (id) "/" (action.path()) } {
                        (csrf_field(&csrf))
                        (fresh::ask(&how, Some(e), "/account/security"))
                        button type="submit" { "Continue" }
                    }
                } @else {
                    (failure(e, "app-error"))
                }
                p { a href="/account/security" { "Back to Security" } }
            }
        }
    };
    let mut page = page(&csrf, action.title(), body).cookie(cookie);
    if let Err(e) = &done {
        page = page.failed(e);
    }
    page.into_response()
}
