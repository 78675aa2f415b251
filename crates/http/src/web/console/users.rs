//! Users (seed 001: "Users in the left panel"): the organisation's users with the MFA
//! column — Enrolled, Not Enrolled, or SSO for federated users — searched by part of a
//! name or email and paged by username, so it stays quick with 100,000 users; and
//! creating a user, who is mailed an invitation to choose their own password.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::org_admin::{COUNT_CAP, MfaStatus, NewOrgUser, OrgUser, UsersQuery};
use twofold_core::domain::users::{Role, parse_role};

use super::{Admin, Section, admin_of, admin_of_form, guarded, stopped};
use crate::AppState;
use crate::error::ApiError;
use crate::web::account::{when, when_cell};
use crate::web::page::{failure, see_other_to};

/// Users per page.
const PAGE: u32 = 50;

/// `/orgs/{org}`: the console opens on its users.
pub(crate) async fn home(Path(org): Path<String>) -> Response {
    see_other_to(&format!("/orgs/{org}/users"), vec![])
}

#[derive(Deserialize, Default)]
pub(crate) struct Search {
    #[serde(default)]
    q: String,
    after: Option<String>,
    before: Option<String>,
    /// A user was just created: their username.
    created: Option<String>,
}

/// The Users table.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Query(s): Query<Search>,
) -> Response {
    let admin = match admin_of(&st, &headers, &org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let q = UsersQuery {
        text: s.q.clone(),
        after: s.after.clone(),
        before: s.before.clone(),
        limit: PAGE,
    };
    let found = match st.twofold.search_org_users(&admin.caller, &org, q).await {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let link = |key: &str, name: &str| {
        let mut url = form_urlencoded::Serializer::new(String::new());
        if !s.q.is_empty() {
            url.append_pair("q", &s.q);
        }
        url.append_pair(key, name);
        admin.url(&format!("users?{}", url.finish()))
    };
    let body = html! {
        @if let Some(name) = &s.created {
            p.notice #notice role="status" {
                (name) " was created and emailed an invitation to choose a password."
            }
        }
        div.toolbar {
            form.search method="get" action=(admin.url("users")) role="search" {
                label for="q" { "Search by name or email" }
                input #q type="search" name="q" value=(s.q) maxlength="100";
                button.secondary type="submit" { "Search" }
            }
            a.button #create href=(admin.url("users/new")) { "Create user" }
        }
        p #count role="status" {
            @if s.q.is_empty() { (found.total) @if found.total == 1 { " user" } @else { " users" } }
            @else if found.total > COUNT_CAP as u64 { "More than " (COUNT_CAP) " matching “" (s.q) "”" }
            @else { (found.total) " matching “" (s.q) "”" }
        }
        @if !found.users.is_empty() {
            table #users {
                thead { tr {
                    th scope="col" { "Username" } th scope="col" { "Email" } th scope="col" { "Role" }
                    th scope="col" { "Last sign-in" } th scope="col" { "MFA" } th scope="col" { "Status" }
                } }
                tbody {
                    @for u in &found.users { (row(&admin, u)) }
                }
            }
        }
        nav.pager aria-label="Pages" {
            @if found.has_prev {
                @if let Some(first) = found.users.first() {
                    a #prev href=(link("before", &first.username)) { "← Previous" }
                }
            }
            @if found.has_next {
                @if let Some(last) = found.users.last() {
                    a #next href=(link("after", &last.username)) { "Next →" }
                }
            }
        }
    };
    admin.page(Section::Users, "Users", body).into_response()
}

/// Where an invitation sends its user: this site's `/welcome`, at the address the admin's
/// browser used (the form passed the same-origin check, so it is this site's).
pub(crate) fn welcome_url(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(axum::http::header::HOST)?.to_str().ok()?;
    let scheme = if crate::web::cookies::secure(headers) {
        "https"
    } else {
        "http"
    };
    Some(format!("{scheme}://{host}/welcome"))
}

/// The MFA column's words.
pub(crate) fn mfa_words(m: MfaStatus) -> &'static str {
    match m {
        MfaStatus::Enrolled => "Enrolled",
        MfaStatus::NotEnrolled => "Not Enrolled",
        MfaStatus::NotApplicable => "SSO",
    }
}

pub(crate) fn role_words(r: Role) -> &'static str {
    match r {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Member => "Member",
    }
}

/// What else an admin should know at a glance: locked (until when), invited.
pub(crate) fn status(u: &OrgUser) -> Markup {
    html! {
        @if let Some(until) = u.locked_until {
            span.badge.bad { "Locked" } " until " (when(until))
        } @else if !u.has_password && !u.federated {
            span.badge { "Invited" }
        } @else {
            "Active"
        }
    }
}

fn row(admin: &Admin, u: &OrgUser) -> Markup {
    html! {
        tr {
            td { a href=(admin.url(&format!("users/{}", u.id))) { (u.username) } }
            td data-label="Email" { (u.email) }
            td data-label="Role" { (role_words(u.role)) }
            td.when data-label="Last sign-in" {
                @match u.last_login_at { Some(t) => (when_cell(t)), None => "Never" }
            }
            td data-label="MFA" data-mfa=(u.mfa.as_str()) {
                @if u.mfa == MfaStatus::NotApplicable {
                    abbr title="Signs in through the identity provider, which does their MFA: not applicable here" { "SSO" }
                } @else {
                    (mfa_words(u.mfa))
                }
                @if !u.providers.is_empty() {
                    " " span.provider { "(" (u.providers.join(", ")) ")" }
                }
            }
            td data-label="Status" { (status(u)) }
        }
    }
}

/// The form to create a user.
pub(crate) async fn new_page(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
) -> Response {
    let admin = match admin_of(&st, &headers, &org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    new_user(&admin, &NewForm::default(), None).into_response()
}

#[derive(Deserialize, Default)]
pub(crate) struct NewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    federated: Option<String>,
    step_up_method: Option<String>,
    step_up_code: Option<String>,
}

fn new_user(admin: &Admin, f: &NewForm, err: Option<&ApiError>) -> crate::web::page::Page {
    let owner = admin.caller.role() == Role::Owner;
    let body = html! {
        p { "They are emailed an invitation with a code to choose their own password (valid \
             7 days). Nobody else ever sees or sends it." }
        form method="post" action=(admin.url("users")) {
            (admin.csrf_field())
            label for="username" { "Username" }
            input #username type="text" name="username" value=(f.username) required maxlength="64"
                autocomplete="off";
            label for="email" { "Email" }
            input #email type="email" name="email" value=(f.email) required maxlength="254"
                autocomplete="off";
            label for="role" { "Role" }
            select #role name="role" {
                option value="member" selected[f.role.is_empty() || f.role == "member"] { "Member" }
                option value="admin" selected[f.role == "admin"] { "Admin" }
                @if owner { option value="owner" selected[f.role == "owner"] { "Owner" } }
            }
            label.check {
                input type="checkbox" name="federated" checked[f.federated.is_some()];
                "Signs in through the organisation's identity provider (SSO): no password and no \
                 invitation here"
            }
            @if let Some(e) = err { (failure(e, "create-error")) }
            button type="submit" { "Create user" }
        }
        p { a href=(admin.url("users")) { "Cancel" } }
    };
    admin
        .page(Section::Users, "Create user", body)
        .failed_if(err)
}

/// "Create user".
pub(crate) async fn create(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Form(form): Form<NewForm>,
) -> Response {
    let admin = match admin_of_form(&st, &headers, &org, &form.csrf).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let role = match parse_role(&form.role) {
        Ok(r) => r,
        Err(e) => return new_user(&admin, &form, Some(&ApiError::from(e))).into_response(),
    };
    let welcome = welcome_url(&headers);
    let new = NewOrgUser {
        username: form.username.trim().to_owned(),
        email: form.email.trim().to_owned(),
        role,
        password: None,
        federated: Some(form.federated.is_some()),
        welcome_url: welcome,
    };
    let outcome = guarded(
        &st,
        &headers,
        &admin,
        form.step_up_method.as_deref(),
        form.step_up_code.as_deref(),
        async |c| st.twofold.create_org_user(c, &org, new, None).await,
    )
    .await;
    match outcome {
        Ok(u) => {
            let mut url = form_urlencoded::Serializer::new(String::new());
            url.append_pair("created", &u.username);
            see_other_to(&admin.url(&format!("users?{}", url.finish())), vec![])
        }
        Err(stop)
            if stop.ask.is_none()
                && stop.error.code() != twofold_proto::ErrorCode::EnrollmentRequired =>
        {
            new_user(&admin, &form, Some(&stop.error)).into_response()
        }
        Err(stop) => {
            let mut fields = vec![
                ("username", form.username.as_str()),
                ("email", form.email.as_str()),
                ("role", form.role.as_str()),
            ];
            if form.federated.is_some() {
                fields.push(("federated", "on"));
            }
            stopped(
                &admin,
                Section::Users,
                "Create user",
                &admin.url("users"),
                &fields,
                "A new account is a way into the organisation, so first confirm it is you.",
                &stop,
            )
        }
    }
}
