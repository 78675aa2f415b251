//! Extractors: who is calling (so a handler's signature says who may call it), JSON
//! bodies and path ids, whose rejections are problem documents like every other error.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;

use super::AppState;
use super::error::ApiError;
use twofold_core::domain::DomainError;
use twofold_core::domain::sessions::Caller;

/// A request made with a live session (`Authorization: Bearer <session token>`).
pub struct Session(pub Caller);

impl FromRequestParts<AppState> for Session {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(DomainError::Unauthenticated)?;
        Ok(Session(state.twofold.authenticate(token).await?))
    }
}

/// An elevated token from `POST /auth/step-up`, sent as `X-Elevated-Token` with the
/// session that made it, for a guarded change.
pub struct Elevated(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for Elevated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        match parts.headers.get("x-elevated-token") {
            None => Ok(Elevated(None)),
            Some(v) => match v.to_str() {
                Ok(t) => Ok(Elevated(Some(t.trim().to_owned()))),
                // Not text: not an elevated token either.
                Err(_) => Err(DomainError::StepUpRequired.into()),
            },
        }
    }
}

/// A request from an application, with its organisation's API key as the bearer token;
/// answers the organisation's id.
pub struct App(pub String);

impl FromRequestParts<AppState> for App {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = bearer(parts).ok_or(DomainError::Unauthenticated)?;
        Ok(App(state.twofold.authenticate_app(key).await?))
    }
}

/// The token of a sign-in or enrolment flow, as `Authorization: Bearer <flow token>`: never
/// in the URL, where proxies, the browser's history and `Referer` keep it.
pub struct FlowBearer(pub String);

impl<S: Send + Sync> FromRequestParts<S> for FlowBearer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let in_url = parts
            .uri
            .query()
            .is_some_and(|q| q.split('&').any(|kv| kv.starts_with("flow_token=")));
        if in_url {
            return Err(ApiError::bad_request(
                "the flow token goes in the Authorization header (Bearer), never in the URL",
            ));
        }
        let token = bearer(parts).ok_or(DomainError::FlowExpired)?;
        Ok(FlowBearer(token.to_owned()))
    }
}

/// The bearer token of `Authorization: Bearer …`; the scheme's name is case-insensitive
/// (RFC 9110 §11.1).
fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .trim_start();
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// A body that could not be read: too large (413, by the limit set on the router), or
/// broken off.
fn unreadable(e: axum::extract::rejection::BytesRejection) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            twofold_proto::ErrorCode::PayloadTooLarge,
            format!("the body is larger than the {BODY_LIMIT_BYTES} bytes this API accepts"),
        );
    }
    ApiError::bad_request(e.body_text())
}

/// The largest request body the API reads: its JSON bodies are a few hundred bytes.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;

/// A JSON body (`Content-Type: application/json`); malformed JSON, a wrong type, an
/// unknown field or a NUL character in a string is a 400 `invalid_request` naming the problem.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::bad_request(
                "expected a JSON body with `Content-Type: application/json`",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(unreadable)?;
        parse_json(&bytes).map(Body)
    }
}

/// A JSON body that may be absent: no content at all, or JSON `null` (what a client that
/// serialises an absent optional body sends, and what the OpenAPI document allows).
pub struct OptionalBody<T>(pub Option<T>);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for OptionalBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state).await.map_err(unreadable)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(None));
        }
        parse_json(&bytes).map(OptionalBody)
    }
}

/// An `{id}` in the path naming one of the caller's own resources. Text that cannot be
/// any id (not UTF-8 once percent-decoded, or holding a NUL, which PostgreSQL cannot even
/// compare) names nothing: the same 404 as an unknown id.
macro_rules! path_id {
    ($($name:ident => $what:literal),* $(,)?) => {$(
        #[doc = concat!("The `{id}` of a ", $what, " in the path; unusable ones are 404.")]
        pub struct $name(pub String);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                match Path::<String>::from_request_parts(parts, state).await {
                    Ok(Path(id)) if !id.contains('\0') => Ok($name(id)),
                    _ => Err(DomainError::NotFound($what).into()),
                }
            }
        }
    )*};
}

path_id! {
    FactorId => "factor",
    SessionId => "session",
    DeviceId => "device",
}

/// The `{org}` slug of an `/orgs/{org}/…` path. One that cannot be a slug is a 404
/// `not_found`, like any organisation the caller does not run.
pub struct OrgSlug(pub String);

impl<S: Send + Sync> FromRequestParts<S> for OrgSlug {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(slug)) if !slug.contains('\0') => Ok(OrgSlug(slug)),
            _ => Err(DomainError::NotFound("organisation").into()),
        }
    }
}

/// The `{org}` and `{id}` of an `/orgs/{org}/<things>/{id}…` path; unusable ones are 404,
/// like an unknown one.
macro_rules! org_item_path {
    ($($name:ident => $what:literal),* $(,)?) => {$(
        #[doc = concat!("`{org}` and the `{id}` of a ", $what, " in the path.")]
        pub struct $name(pub String, pub String);

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
                match Path::<(String, String)>::from_request_parts(parts, state).await {
                    Ok(Path((org, id))) if !org.contains('\0') && !id.contains('\0') => {
                        Ok($name(org, id))
                    }
                    _ => Err(DomainError::NotFound($what).into()),
                }
            }
        }
    )*};
}

org_item_path! {
    OrgUserPath => "user",
    OrgKeyPath => "API key",
    OrgProviderPath => "identity provider",
}

/// `application/json`, or another `application/*+json` type (RFC 6839), parameters aside.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses a request body strictly (unknown and duplicate fields are errors), then refuses
/// what serde would let through: an array in place of the object (serde reads a struct
/// from a sequence of its fields' values), and NUL characters anywhere: no field has a
/// use for one, and PostgreSQL cannot store or compare text holding one (a 500 there).
///
/// Both are found in the bytes, so the body is parsed once (the hot path's every request
/// goes through here): a JSON document is an array exactly when its first byte other than
/// whitespace is `[`, and a string can hold a NUL only as the escape `\u0000` (JSON has no
/// raw control characters in strings), which is looked for first and confirmed on the
/// parsed tree only when the bytes hold something like it.
fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let invalid = |e: serde_json::Error| ApiError::bad_request(format!("invalid JSON body: {e}"));
    let value = serde_json::from_slice::<T>(bytes).map_err(invalid)?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(ApiError::bad_request(
            "invalid JSON body: expected an object, not an array",
        ));
    }
    if may_hold_nul(bytes) {
        let tree = serde_json::from_slice::<serde_json::Value>(bytes).map_err(invalid)?;
        if has_nul(&tree) {
            return Err(ApiError::bad_request(
                "invalid JSON body: text must not contain NUL characters",
            ));
        }
    }
    Ok(value)
}

/// Whether `bytes` hold `\u0000` (any case) anywhere: a superset of the JSON documents
/// with a NUL in a string (an escaped backslash before `u0000` is a false alarm, which the
/// caller's check on the parsed tree clears).
fn may_hold_nul(bytes: &[u8]) -> bool {
    bytes
        .windows(6)
        .any(|w| w[0] == b'\\' && w[1].eq_ignore_ascii_case(&b'u') && &w[2..] == b"0000")
}

fn has_nul(v: &serde_json::Value) -> bool {
    use serde_json::Value as V;
    match v {
        V::String(s) => s.contains('\0'),
        V::Array(items) => items.iter().any(has_nul),
        V::Object(fields) => fields.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        V::Null | V::Bool(_) | V::Number(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        let with = |ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, ct.parse().unwrap());
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!with("text/json"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[test]
    fn nul_characters_are_found_anywhere() {
        let nul = |s: &str| has_nul(&serde_json::from_str(s).unwrap());
        assert!(nul(r#"{"org":"a\u0000b"}"#));
        assert!(nul(r#"{"a\u0000":1}"#));
        assert!(nul(r#"[[1,"\u0000"]]"#));
        assert!(
            !nul(r#"{"org":"a\\u0000b"}"#),
            "an escaped backslash is not a NUL"
        );
        assert!(!nul(r#"{"n":0,"b":false,"x":null}"#));
    }

    #[test]
    fn a_body_that_is_an_array_or_holds_a_nul_is_refused() {
        #[derive(serde::Deserialize, Debug)]
        struct Body {
            org: String,
        }
        let refused = |b: &[u8]| parse_json::<Body>(b).unwrap_err().detail().to_owned();
        assert!(refused(br#" ["acme"]"#).contains("not an array"));
        assert!(refused(br#"{"org":"a\u0000b"}"#).contains("NUL"));
        assert!(refused(br#"{"org":"a\U0000b"}"#).starts_with("invalid JSON body"));
        // An escaped backslash before `u0000` is text, not a NUL.
        let ok = parse_json::<Body>(br#"{"org":"a\\u0000b"}"#).unwrap();
        assert_eq!(ok.org, "a\\u0000b");
        assert_eq!(
            parse_json::<Body>(b"\n {\"org\":\"acme\"}").unwrap().org,
            "acme"
        );
    }
}
