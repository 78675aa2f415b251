//! Multi-Factor Authentication settings (seed 001): the toggle from Disabled to Enabled
//! with its three-button dialog, turning it off with a code mailed to the admin, the grace
//! period, and the organisation's options (authenticator apps allowed, remembered
//! browsers, QR codes shown again, a mailed code before a first app).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::policy::{MAX_GRACE_DAYS, MfaPolicy, PolicyOutcome, SetMfaPolicy};
use twofold_core::domain::settings::{OrgSettings, SetOrgSettings};
use twofold_proto::ErrorCode;

use super::{Admin, Section, Stop, admin_of, admin_of_form, guarded, stopped};
use crate::AppState;
use crate::error::ApiError;
use crate::web::CsrfForm;
use crate::web::account::when;
use crate::web::page::{failure, see_other, see_other_to};

const TITLE: &str = "Multi-Factor Authentication";

#[derive(Deserialize, Default)]
pub(crate) struct View {
    /// `enable`: the confirmation dialog is open.
    dialog: Option<String>,
    /// Back from setting up the admin's own factor, on the way to enabling.
    enrolled: Option<String>,
    grace: Option<u32>,
    /// What the last form did: `enabled`, `disabled`, `saved`, `grace`, `closed`.
    done: Option<String>,
    ended: Option<u64>,
}

/// What is open over the page.
enum Dialog {
    None,
    /// "Turn on MFA?": YES, INVALIDATE SESSIONS / NO, KEEP SESSIONS / CANCEL.
    Enable {
        grace: u32,
        enrolled: bool,
    },
    /// The code mailed to the admin, to turn MFA off.
    DisableCode {
        err: Option<ApiError>,
        resent: bool,
    },
}

/// The settings page.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Query(v): Query<View>,
) -> Response {
    let admin = match admin_of(&st, &headers, &org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let dialog = match v.dialog.as_deref() {
        Some("enable") => Dialog::Enable {
            grace: v.grace.unwrap_or(0).min(MAX_GRACE_DAYS),
            enrolled: v.enrolled.is_some(),
        },
        _ => Dialog::None,
    };
    let notice = match (v.done.as_deref(), v.ended) {
        (Some("enabled"), Some(n)) if n > 0 => Some(format!(
            "MFA is now required. {n} {} ended: everyone signs in again.",
            if n == 1 { "session" } else { "sessions" }
        )),
        (Some("enabled"), _) => {
            Some("MFA is now required. Sessions already open go on until they expire.".to_owned())
        }
        (Some("disabled"), _) => Some("MFA is no longer required.".to_owned()),
        (Some("grace"), _) => Some("The grace period is saved.".to_owned()),
        (Some("saved"), _) => Some("The options are saved.".to_owned()),
        (Some("closed"), _) => Some(
            "MFA is still required. The code we emailed no longer works; turning it off \
             starts again with a new one."
                .to_owned(),
        ),
        _ => None,
    };
    render(&st, &admin, dialog, notice, None).await
}

/// The page with `dialog` open over it, a `notice` of what was done and a failure `err`
/// of its forms.
async fn render(
    st: &AppState,
    admin: &Admin,
    dialog: Dialog,
    notice: Option<String>,
    err: Option<&ApiError>,
) -> Response {
    let (policy, settings) = match (
        st.twofold.mfa_policy(&admin.caller, &admin.org).await,
        st.twofold.org_settings(&admin.caller, &admin.org).await,
    ) {
        (Ok(p), Ok(s)) => (p, s),
        (Err(e), _) | (_, Err(e)) => return ApiError::from(e).into_response(),
    };
    let max = st.twofold.server_max_apps();
    let body = html! {
        @if let Some(n) = &notice { p.notice #notice role="status" { (n) } }
        @if let Some(e) = err { (failure(e, "mfa-error")) }
        (requirement(admin, &policy))
        (options_card(admin, &settings, max))
        @match &dialog {
            Dialog::Enable { grace, enrolled } => (enable_dialog(admin, *grace, *enrolled)),
            Dialog::DisableCode { err, resent } => (disable_dialog(admin, err.as_ref(), *resent)),
            Dialog::None => {}
        }
    };
    let dialog_err = match &dialog {
        Dialog::DisableCode { err, .. } => err.as_ref(),
        _ => None,
    };
    admin
        .page(Section::Mfa, TITLE, body)
        .failed_if(err.or(dialog_err))
        .into_response()
}

/// The toggle, and when it is on, since when and the grace period.
fn requirement(admin: &Admin, policy: &MfaPolicy) -> Markup {
    html! {
        section.card aria-labelledby="require-title" {
            h2 #require-title { "Require MFA for everyone" }
            p.hint #require-hint {
                "Everyone in " (admin.org) " who signs in with a password must also give a \
                 code from an authenticator app, an email code or a recovery code. Users who \
                 sign in through your identity provider (SSO) use its MFA instead."
            }
            @if policy.required {
                form method="post" action=(admin.url("mfa/disable")) {
                    (admin.csrf_field())
                    button.switch #mfa-toggle type="submit" role="switch" aria-checked="true"
                        aria-describedby="require-hint" {
                        span.knob aria-hidden="true" {} span.state { "Enabled" }
                        span.visually-hidden { ": turn MFA off (we email you a code)" }
                    }
                }
                @if let Some(at) = policy.updated_at {
                    p { "Required since " (when(at)) "." }
                }
                form method="post" action=(admin.url("mfa/grace")) {
                    (admin.csrf_field())
                    label for="grace" { "Grace period (days)" }
                    p.hint #grace-hint {
                        "How long users without a second factor may still sign in without one, \
                         counted from now. 0: they set one up at their next sign-in."
                    }
                    input #grace .short type="number" name="grace" min="0" max=(MAX_GRACE_DAYS)
                        value=(policy.grace_period_days) aria-describedby="grace-hint";
                    button.secondary type="submit" { "Save grace period" }
                }
            } @else {
                form method="get" action=(admin.url("mfa")) {
                    input type="hidden" name="dialog" value="enable";
                    button.switch #mfa-toggle type="submit" role="switch" aria-checked="false"
                        aria-describedby="require-hint" {
                        span.knob aria-hidden="true" {} span.state { "Disabled" }
                        span.visually-hidden { ": turn MFA on" }
                    }
                }
            }
        }
    }
}

/// The organisation's options.
fn options_card(admin: &Admin, s: &OrgSettings, max: u32) -> Markup {
    html! {
        section.card aria-labelledby="options-title" {
            h2 #options-title { "Options" }
            form method="post" action=(admin.url("mfa/options")) {
                (admin.csrf_field())
                label for="max-apps" { "Authenticator apps each user may have" }
                input #max-apps .short type="number" name="max_apps" min="1" max=(max)
                    value=(s.max_authenticator_apps);
                label.check {
                    input type="checkbox" name="remember" checked[s.remember_devices];
                    "Users may tick Remember me to skip the second step in that browser for a while"
                }
                label.check {
                    input type="checkbox" name="qr" checked[s.allow_qr_redisplay];
                    "Users may show an authenticator app's QR code again (they confirm it is them first)"
                }
                label.check {
                    input type="checkbox" name="first_app_email" checked[s.confirm_first_app_by_email];
                    "A first authenticator app needs a code emailed to the user's address"
                }
                button type="submit" { "Save options" }
            }
        }
    }
}

/// "Turn on MFA?" with its three buttons (seed 001). Cancel is a link back: it changes
/// nothing.
fn enable_dialog(admin: &Admin, grace: u32, enrolled: bool) -> Markup {
    html! {
        div.backdrop {
            section.dialog role="dialog" aria-modal="true" aria-labelledby="dialog-title"
                aria-describedby="dialog-text" {
                h2 #dialog-title { "Turn on MFA for everyone?" }
                @if enrolled {
                    p.notice role="status" { "Your authenticator app is set up. Now choose how to turn MFA on." }
                }
                div #dialog-text {
                    p { "Every user who signs in with a password will need a second factor; \
                         those without one set it up at their next sign-in." }
                    ul {
                        li { strong { "Invalidate all active sessions:" } " everyone is signed out \
                             on every device now, you too, and signs in again with MFA." }
                        li { strong { "Keep existing sessions:" } " sessions already open stay \
                             valid until they expire; MFA applies from the next sign-in." }
                    }
                }
                form method="post" action=(admin.url("mfa/enable")) {
                    (admin.csrf_field())
                    label for="dialog-grace" { "Grace period (days)" }
                    input #dialog-grace .short type="number" name="grace" min="0"
                        max=(MAX_GRACE_DAYS) value=(grace);
                    div.buttons {
                        button #invalidate type="submit" name="sessions" value="invalidate" {
                            "YES, INVALIDATE SESSIONS"
                        }
                        button.secondary #keep type="submit" name="sessions" value="keep" {
                            "NO, KEEP SESSIONS"
                        }
                        a.button.plain #cancel href=(admin.url("mfa")) { "CANCEL" }
                    }
                }
            }
        }
    }
}

/// The code mailed to turn MFA off. Closing the dialog forgets the code.
fn disable_dialog(admin: &Admin, err: Option<&ApiError>, resent: bool) -> Markup {
    let to = admin.caller.email();
    html! {
        div.backdrop {
            section.dialog role="dialog" aria-modal="true" aria-labelledby="dialog-title" {
                h2 #dialog-title { "Turn off MFA?" }
                p #dialog-hint {
                    @if resent {
                        "We emailed a code to " (to) " less than 30 seconds ago; it still works. "
                    } @else {
                        "We emailed a 6-digit code to " (to) ". "
                    }
                    "Enter it to stop requiring MFA. The code is valid for 5 minutes."
                }
                form method="post" action=(admin.url("mfa/disable")) {
                    (admin.csrf_field())
                    label for="disable-code" { "Code" }
                    input #disable-code .code type="text" name="code" required inputmode="numeric"
                        autocomplete="one-time-code" maxlength="10"
                        aria-describedby=(if err.is_some() { "disable-error" } else { "dialog-hint" });
                    @if let Some(e) = err { (failure(e, "disable-error")) }
                    div.buttons {
                        button #disable-confirm type="submit" { "Turn off MFA" }
                    }
                }
                form method="post" action=(admin.url("mfa/disable/close")) {
                    (admin.csrf_field())
                    button.secondary #close type="submit" { "Close" }
                }
            }
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct EnableForm {
    #[serde(default)]
    csrf: String,
    sessions: Option<String>,
    grace: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "YES, INVALIDATE SESSIONS" or "NO, KEEP SESSIONS".
pub(crate) async fn enable(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(form): Form<EnableForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let grace = match parse_grace(form.grace.as_deref()) {
        Ok(g) => g,
        Err(e) => {
            let dialog = Dialog::Enable {
                grace: 0,
                enrolled: false,
            };
            return render(&st, &admin, dialog, None, Some(&e)).await;
        }
    };
    let invalidate = match form.sessions.as_deref() {
        Some("invalidate") => true,
        Some("keep") => false,
        _ => return see_other_to(&admin.url("mfa?dialog=enable"), vec![]),
    };
    let req = SetMfaPolicy {
        required: true,
        invalidate_sessions: Some(invalidate),
        grace_period_days: Some(grace),
        confirmation_code: None,
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| st.twofold.set_mfa_policy(c, &org, req, None).await,
    )
    .await;
    match outcome {
        // Every session ended, the admin's too: they sign in again, told why.
        Ok(PolicyOutcome::Changed(_)) if invalidate => see_other("/login?ended=1", vec![]),
        Ok(PolicyOutcome::Changed(changed)) => see_other_to(
            &admin.url(&format!(
                "mfa?done=enabled&ended={}",
                changed.sessions_ended
            )),
            vec![],
        ),
        Ok(PolicyOutcome::ConfirmationRequired { .. }) => see_other_to(&admin.url("mfa"), vec![]),
        Err(stop) if stop.error.code() == ErrorCode::EnrollmentRequired => {
            enroll_first(&admin, grace, &stop.error)
        }
        Err(stop) => {
            let grace = grace.to_string();
            let sessions = if invalidate { "invalidate" } else { "keep" };
            stopped(
                &admin,
                Section::Mfa,
                TITLE,
                &admin.url("mfa/enable"),
                &[("sessions", sessions), ("grace", &grace)],
                "Turning MFA on changes everyone's sign-in, so first confirm it is you.",
                &stop,
            )
        }
    }
}

/// The admin has no second factor: they set one up first, and come back to the dialog
/// (seed 001: "the admin enabling MFA is also required to enroll").
fn enroll_first(admin: &Admin, grace: u32, e: &ApiError) -> Response {
    let then = admin.url(&format!("mfa?dialog=enable&enrolled=1&grace={grace}"));
    let body = html! {
        p.warning #enroll-first role="alert" data-code=(e.code().as_str()) {
            "Before MFA is required of everyone, you need it yourself: set up an \
             authenticator app now. MFA is not on yet."
        }
        form method="post" action="/account/factors/app" {
            (admin.csrf_field())
            input type="hidden" name="then" value=(then);
            label for="app-name" { "Name for your authenticator app" }
            input #app-name type="text" name="name" value="Authenticator app" maxlength="64";
            button type="submit" { "+ Add authenticator app" }
        }
        p { a href=(admin.url("mfa")) { "Cancel" } }
    };
    admin
        .page(Section::Mfa, TITLE, body)
        .failed(e)
        .into_response()
}

#[derive(Deserialize)]
pub(crate) struct DisableForm {
    #[serde(default)]
    csrf: String,
    code: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// The toggle when MFA is on (mails a code and opens the dialog), and the dialog's code.
pub(crate) async fn disable(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(form): Form<DisableForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let code = form.code.clone().filter(|c| !c.trim().is_empty());
    let asked_code = code.is_some();
    let req = SetMfaPolicy {
        required: false,
        invalidate_sessions: None,
        grace_period_days: None,
        confirmation_code: code,
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| st.twofold.set_mfa_policy(c, &org, req, None).await,
    )
    .await;
    match outcome {
        Ok(PolicyOutcome::Changed(_)) => see_other_to(&admin.url("mfa?done=disabled"), vec![]),
        Ok(PolicyOutcome::ConfirmationRequired { .. }) => {
            let dialog = Dialog::DisableCode {
                err: None,
                resent: false,
            };
            render(&st, &admin, dialog, None, None).await
        }
        Err(stop) => disable_stopped(&st, &admin, asked_code, stop).await,
    }
}

async fn disable_stopped(st: &AppState, admin: &Admin, asked_code: bool, stop: Stop) -> Response {
    use ErrorCode as C;
    match stop.error.code() {
        // A code mailed under 30 s ago still works: the dialog, saying so.
        C::RateLimited => {
            let dialog = Dialog::DisableCode {
                err: None,
                resent: true,
            };
            render(st, admin, dialog, None, None).await
        }
        // A wrong code: the dialog again, saying so (5 tries per code).
        C::InvalidCode | C::InvalidRequest if asked_code => {
            let dialog = Dialog::DisableCode {
                err: Some(stop.error),
                resent: false,
            };
            render(st, admin, dialog, None, None).await
        }
        // Expired or out of tries: the dialog closes; turning it off starts again.
        C::CodeExpired => render(st, admin, Dialog::None, None, Some(&stop.error)).await,
        _ => stopped(
            admin,
            Section::Mfa,
            TITLE,
            &admin.url("mfa/disable"),
            &[],
            "Turning MFA off weakens everyone's sign-in, so first confirm it is you.",
            &stop,
        ),
    }
}

/// "Close": the mailed code stops working.
pub(crate) async fn close_disable(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    match st.twofold.cancel_mfa_disable(&admin.caller, &org).await {
        Ok(()) => see_other_to(&admin.url("mfa?done=closed"), vec![]),
        Err(e) => ApiError::from(e).into_response(),
    }
}

fn parse_grace(v: Option<&str>) -> Result<u32, ApiError> {
    let v = v.map(str::trim).filter(|v| !v.is_empty()).unwrap_or("0");
    v.parse::<u32>()
        .ok()
        .filter(|g| *g <= MAX_GRACE_DAYS)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "the grace period is a whole number of days, 0 to {MAX_GRACE_DAYS}"
            ))
        })
}

#[derive(Deserialize)]
pub(crate) struct GraceForm {
    #[serde(default)]
    csrf: String,
    grace: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "Save grace period" while MFA is required: it runs again from now.
pub(crate) async fn grace(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(form): Form<GraceForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let grace = match parse_grace(form.grace.as_deref()) {
        Ok(g) => g,
        Err(e) => return render(&st, &admin, Dialog::None, None, Some(&e)).await,
    };
    let req = SetMfaPolicy {
        required: true,
        invalidate_sessions: Some(false),
        grace_period_days: Some(grace),
        confirmation_code: None,
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| st.twofold.set_mfa_policy(c, &org, req, None).await,
    )
    .await;
    match outcome {
        Ok(_) => see_other_to(&admin.url("mfa?done=grace"), vec![]),
        Err(stop) => {
            let grace = grace.to_string();
            stopped(
                &admin,
                Section::Mfa,
                TITLE,
                &admin.url("mfa/grace"),
                &[("grace", &grace)],
                "Changing the grace period changes everyone's sign-in, so first confirm it is you.",
                &stop,
            )
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct OptionsForm {
    #[serde(default)]
    csrf: String,
    max_apps: Option<String>,
    remember: Option<String>,
    qr: Option<String>,
    first_app_email: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

/// "Save options".
pub(crate) async fn options(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(form): Form<OptionsForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let max = match form.max_apps.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                let e = ApiError::bad_request("the number of authenticator apps is a whole number");
                return render(&st, &admin, Dialog::None, None, Some(&e)).await;
            }
        },
    };
    let req = SetOrgSettings {
        allow_qr_redisplay: form.qr.is_some(),
        remember_devices: form.remember.is_some(),
        confirm_first_app_by_email: Some(form.first_app_email.is_some()),
        max_authenticator_apps: max,
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| st.twofold.set_org_settings(c, &admin.org, req, None).await,
    )
    .await;
    match outcome {
        Ok(_) => see_other_to(&admin.url("mfa?done=saved"), vec![]),
        Err(stop)
            if stop.ask.is_none()
                && matches!(
                    stop.error.code(),
                    ErrorCode::InvalidRequest | ErrorCode::Conflict
                ) =>
        {
            render(&st, &admin, Dialog::None, None, Some(&stop.error)).await
        }
        Err(stop) => {
            let max = form.max_apps.clone().unwrap_or_default();
            let mut fields = vec![("max_apps", max.as_str())];
            for (name, v) in [
                ("remember", &form.remember),
                ("qr", &form.qr),
                ("first_app_email", &form.first_app_email),
            ] {
                if v.is_some() {
                    fields.push((name, "on"));
                }
            }
            stopped(
                &admin,
                Section::Mfa,
                TITLE,
                &admin.url("mfa/options"),
                &fields,
                "These options change everyone's sign-in, so first confirm it is you.",
                &stop,
            )
        }
    }
}
