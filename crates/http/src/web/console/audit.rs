//! The audit log: the organisation's security events newest first, a page at a time,
//! filtered by user and by event or area, each with its time, actor, subject, address and
//! details; and the same events exported as CSV or JSON lines.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use twofold_core::domain::DomainError;
use twofold_core::domain::audit::{AuditEvent, AuditQuery, MAX_PAGE};

use super::{Admin, Section, admin_of};
use crate::AppState;
use crate::error::ApiError;
use crate::web::account::when_cell;
use crate::web::page::failure;

/// Events per page.
const PAGE: u32 = 50;
/// The most events one export holds (newest first).
const EXPORT_MAX: usize = 100_000;

/// The event names and areas offered in the filter (any other name may be typed).
const KINDS: &[&str] = &[
    "signin",
    "signin.succeeded",
    "signin.failed",
    "mfa",
    "mfa.failed",
    "mfa.locked",
    "mfa.reset",
    "mfa.unlocked",
    "mfa.step_up",
    "factor",
    "factor.enrolled",
    "factor.removed",
    "factor.regenerated",
    "factor.qr_viewed",
    "policy",
    "policy.enabled",
    "policy.changed",
    "policy.disabled",
    "sessions.invalidated",
    "settings.changed",
    "user",
    "user.created",
    "user.invited",
    "user.invitation_accepted",
    "user.role_changed",
    "password.changed",
    "recovery_codes.generated",
    "api_key.created",
    "api_key.revoked",
];

#[derive(Deserialize, Default)]
pub(crate) struct Filter {
    /// A username.
    #[serde(default)]
    user: String,
    #[serde(default)]
    event: String,
    before: Option<String>,
    /// Export: `csv` or `jsonl`.
    format: Option<String>,
}

impl Filter {
    /// This filter's query string, with `extra` pairs.
    fn query(&self, extra: &[(&str, &str)]) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if !self.user.is_empty() {
            q.append_pair("user", &self.user);
        }
        if !self.event.is_empty() {
            q.append_pair("event", &self.event);
        }
        for (k, v) in extra {
            q.append_pair(k, v);
        }
        q.finish()
    }
}

/// The filter's user as an id: `Ok(None)` for everyone, `Err` for no such user.
async fn user_id(st: &AppState, admin: &Admin, f: &Filter) -> Result<Option<String>, DomainError> {
    let name = f.user.trim();
    if name.is_empty() {
        return Ok(None);
    }
    st.twofold
        .org_user_id(&admin.caller, &admin.org, name)
        .await
        .map(Some)
}

/// A page of events.
pub(crate) async fn page(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let admin = match admin_of(&st, &headers, &org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let read = async {
        let user = user_id(&st, &admin, &f).await?;
        let q = AuditQuery {
            limit: Some(PAGE),
            before: f.before.as_deref(),
            user_id: user.as_deref(),
            event: Some(f.event.as_str()),
        };
        let events = st.twofold.audit_events(&admin.caller, &org, q).await?;
        let ids: Vec<&str> = events
            .iter()
            .flat_map(|e| [e.actor_id.as_deref(), e.subject_id.as_deref()])
            .flatten()
            .collect();
        let names = st.twofold.org_usernames(&admin.caller, &org, &ids).await?;
        Ok::<_, DomainError>((events, names))
    };
    let (events, names, err) = match read.await {
        Ok((e, n)) => (e, n, None),
        Err(DomainError::NotFound("user")) => (
            Vec::new(),
            HashMap::new(),
            Some(ApiError::from(DomainError::NotFound("user"))),
        ),
        Err(e @ DomainError::InvalidInput(_)) => (Vec::new(), HashMap::new(), Some(e.into())),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let body = html! {
        form.filters method="get" action=(admin.url("audit")) {
            div {
                label for="user" { "User" }
                input #user type="text" name="user" value=(f.user) maxlength="64" placeholder="username";
            }
            div {
                label for="event" { "Event" }
                input #event type="text" name="event" value=(f.event) list="kinds" maxlength="64"
                    placeholder="mfa, or mfa.reset";
                datalist #kinds { @for k in KINDS { option value=(k) {} } }
            }
            button.secondary type="submit" { "Filter" }
        }
        p.exports {
            "Export these events: "
            a #export-csv href=(admin.url(&format!("audit/export?{}", f.query(&[("format", "csv")])))) { "CSV" }
            " · "
            a #export-jsonl href=(admin.url(&format!("audit/export?{}", f.query(&[("format", "jsonl")])))) { "JSON lines" }
        }
        @if let Some(e) = &err {
            @if e.code() == twofold_proto::ErrorCode::NotFound {
                p.error #filter-error role="alert" data-code="not_found" { "No user is called “" (f.user) "” here." }
            } @else {
                (failure(e, "filter-error"))
            }
        }
        @if events.is_empty() && err.is_none() {
            p #none { "No events." }
        } @else if !events.is_empty() {
            table #events {
                thead { tr {
                    th scope="col" { "Time" } th scope="col" { "Event" } th scope="col" { "Actor" }
                    th scope="col" { "Subject" } th scope="col" { "IP" } th scope="col" { "Details" }
                } }
                tbody { @for e in &events { (row(e, &names)) } }
            }
        }
        @if events.len() == PAGE as usize {
            @if let Some(last) = events.last() {
                nav.pager aria-label="Pages" {
                    a #older href=(admin.url(&format!("audit?{}", f.query(&[("before", &last.id)])))) { "Older events →" }
                }
            }
        }
    };
    admin
        .page(Section::Audit, "Audit log", body)
        .failed_if(err.as_ref())
        .into_response()
}

/// Who, by username where they are a user here.
fn who(id: Option<&str>, names: &HashMap<String, String>) -> Markup {
    html! {
        @match id {
            Some(id) => @match names.get(id) {
                Some(name) => (name),
                None => code { (id) },
            },
            None => span.hint { "—" },
        }
    }
}

fn row(e: &AuditEvent, names: &HashMap<String, String>) -> Markup {
    html! {
        tr {
            td.when data-label="Time" { (when_cell(e.at)) }
            td data-label="Event" { code { (e.event) } }
            td data-label="Actor" { (who(e.actor_id.as_deref(), names)) }
            td data-label="Subject" { (who(e.subject_id.as_deref(), names)) }
            td data-label="IP" { (e.ip.as_deref().unwrap_or("—")) }
            td.details data-label="Details" { code { (details(&e.details)) } }
        }
    }
}

/// The details object as `key: value` pairs, readable in a cell.
fn details(v: &serde_json::Value) -> String {
    match v.as_object() {
        Some(map) if !map.is_empty() => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

/// The events that pass the filter, as CSV or JSON lines, newest first.
pub(crate) async fn export(
    State(st): State<AppState>,
    Path(org): Path<String>,
    headers: HeaderMap,
    Query(f): Query<Filter>,
) -> Response {
    let admin = match admin_of(&st, &headers, &org).await {
        Ok(a) => a,
        Err(refused) => return *refused,
    };
    let csv = match f.format.as_deref() {
        Some("csv") => true,
        Some("jsonl") => false,
        _ => return ApiError::bad_request("format must be csv or jsonl").into_response(),
    };
    let all = async {
        let user = user_id(&st, &admin, &f).await?;
        let mut events: Vec<AuditEvent> = Vec::new();
        loop {
            let q = AuditQuery {
                limit: Some(MAX_PAGE),
                before: events.last().map(|e| e.id.as_str()),
                user_id: user.as_deref(),
                event: Some(f.event.as_str()),
            };
            let page = st.twofold.audit_events(&admin.caller, &org, q).await?;
            let done = page.len() < MAX_PAGE as usize;
            events.extend(page);
            if done || events.len() >= EXPORT_MAX {
                break;
            }
        }
        events.truncate(EXPORT_MAX);
        Ok::<_, DomainError>(events)
    };
    let events = match all.await {
        Ok(e) => e,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (body, kind, ext) = if csv {
        (to_csv(&events), "text/csv; charset=utf-8", "csv")
    } else {
        (
            to_jsonl(&events),
            "application/jsonl; charset=utf-8",
            "jsonl",
        )
    };
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"twofold-audit-{}.{ext}\"",
        admin.org
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// One CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`,
/// `-` or `@` is escaped with `'` so a spreadsheet never runs it as a formula (user agents
/// and details come from whoever made the request).
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn to_csv(events: &[AuditEvent]) -> String {
    let mut out = String::from("id,at,event,actor_id,subject_id,ip,user_agent,details\r\n");
    for e in events {
        let cols = [
            e.id.as_str(),
            &e.at.to_rfc3339(),
            &e.event,
            e.actor_id.as_deref().unwrap_or(""),
            e.subject_id.as_deref().unwrap_or(""),
            e.ip.as_deref().unwrap_or(""),
            e.user_agent.as_deref().unwrap_or(""),
            &e.details.to_string(),
        ]
        .map(field);
        out.push_str(&cols.join(","));
        out.push_str("\r\n");
    }
    out
}

fn to_jsonl(events: &[AuditEvent]) -> String {
    let mut out = String::new();
    for e in events {
        let line = serde_json::json!({
            "id": e.id, "at": e.at.to_rfc3339(), "event": e.event, "actor_id": e.actor_id,
            "subject_id": e.subject_id, "ip": e.ip, "user_agent": e.user_agent,
            "details": e.details,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn csv_fields_are_quoted_and_never_formulas() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
    }
}
