//! Federated sign-in over the API: an organisation's OpenID Connect providers
//! (`/orgs/{org}/oidc-providers`, owners change them), and the two calls an application
//! makes around the browser's trip to the provider: the exchange of its one-time code
//! (`POST /auth/oidc/token`) and a federated step-up (`POST /auth/step-up/oidc`). The
//! browser's own steps are pages (`web::federation`).

use axum::extract::State;
use axum::http::StatusCode;
use zeroize::Zeroizing;

use twofold_core::domain::federation::{self, AppReturn, Exchanged, ProviderSettings};
use twofold_proto::{
    OidcProvider, OidcRedirect, OidcStepUpRequest, OidcTokenRequest, OidcTokenResponse, Problem,
    PutOidcProvider,
};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{Body, Elevated, OrgProviderPath, OrgSlug, Session};

fn provider(st: &AppState, org: &str, p: federation::OidcProvider) -> OidcProvider {
    OidcProvider {
        sign_in_url: format!(
            "{}/auth/oidc/{org}/{}/start",
            st.twofold.public_url(),
            p.name
        ),
        name: p.name,
        issuer: p.issuer,
        client_id: p.client_id,
        scopes: p.scopes,
        username_claim: p.username_claim,
        allowed_email_domains: p.allowed_email_domains,
        create_users: p.create_users,
        link_by_email: p.link_by_email,
        redirect_uri: p.redirect_uri,
        created_at: p.created_at.to_rfc3339(),
        updated_at: p.updated_at.to_rfc3339(),
    }
}

/// The organisation's identity providers (never a client secret).
#[utoipa::path(get, path = "/api/v1/orgs/{org}/oidc-providers", tag = "orgs",
    operation_id = "list_oidc_providers",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug")),
    responses(
        (status = 200, description = "The providers, by name", body = Vec<OidcProvider>),
        (status = 401, description = "`unauthenticated`", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`forbidden`: the caller is a member", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`: not the caller's organisation", body = Problem, content_type = "application/problem+json"),
    ))]
pub async fn list_providers(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgSlug(org): OrgSlug,
) -> Result<axum::Json<Vec<OidcProvider>>, ApiError> {
    let list = st.twofold.oidc_providers(&caller, &org).await?;
    Ok(axum::Json(
        list.into_iter().map(|p| provider(&st, &org, p)).collect(),
    ))
}

crate::fails!(PutProviderFails {
    ..crate::error::ORG_ADMIN,
    InvalidRequest: "malformed request, or a field the rules refuse (issuer not https, a new provider without its secret, …)",
});

/// Add or replace an identity provider (owners only, with a fresh second factor). Register
/// the answer's `redirect_uri` at the provider.
#[utoipa::path(put, path = "/api/v1/orgs/{org}/oidc-providers/{name}", tag = "orgs",
    operation_id = "put_oidc_provider",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"),
           ("name" = String, Path, description = "The provider's name here: 1-40 lowercase letters, digits and inner hyphens"),
           super::ElevatedHeader),
    request_body = PutOidcProvider,
    responses(
        (status = 200, description = "The provider as stored", body = OidcProvider),
        PutProviderFails,
    ))]
pub async fn put_provider(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgProviderPath(org, name): OrgProviderPath,
    Elevated(elevated): Elevated,
    Body(req): Body<PutOidcProvider>,
) -> Result<axum::Json<OidcProvider>, ApiError> {
    let settings = ProviderSettings {
        issuer: req.issuer,
        client_id: req.client_id,
        client_secret: req.client_secret.map(Zeroizing::new),
        scopes: req.scopes,
        username_claim: req.username_claim,
        allowed_email_domains: req.allowed_email_domains,
        create_users: req.create_users,
        link_by_email: req.link_by_email,
    };
    let p = st
        .twofold
        .put_oidc_provider(&caller, &org, &name, settings, elevated.as_deref())
        .await?;
    Ok(axum::Json(provider(&st, &org, p)))
}

crate::fails!(DeleteProviderFails {
    ..crate::error::ORG_ADMIN,
});

/// Remove an identity provider (owners only, with a fresh second factor). Its users stay,
/// but cannot sign in until a provider is configured again.
#[utoipa::path(delete, path = "/api/v1/orgs/{org}/oidc-providers/{name}", tag = "orgs",
    operation_id = "delete_oidc_provider",
    security(("session" = [])),
    params(("org" = String, Path, description = "The organisation's slug"),
           ("name" = String, Path, description = "The provider's name"),
           super::ElevatedHeader),
    responses(
        (status = 204, description = "Removed"),
        DeleteProviderFails,
    ))]
pub async fn delete_provider(
    State(st): State<AppState>,
    Session(caller): Session,
    OrgProviderPath(org, name): OrgProviderPath,
    Elevated(elevated): Elevated,
) -> Result<StatusCode, ApiError> {
    st.twofold
        .delete_oidc_provider(&caller, &org, &name, elevated.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

crate::fails!(TokenFails {
    InvalidRequest: "malformed request, or a code or verifier of the wrong length",
    FlowExpired: "the code is unknown, used or older than 60 s",
    FederationFailed: "`code_verifier` does not match the `code_challenge` the sign-in started with",
    Unauthenticated: "a step-up's session has ended",
    Throttled: "too many failed attempts from this address lately",
});

/// Exchange the one-time `code` an application received on its loopback redirect (with the
/// PKCE verifier of its `code_challenge`) for the session of a federated sign-in, or the
/// elevated token of a federated step-up. Each code is good once, for 60 s.
#[utoipa::path(post, path = "/api/v1/auth/oidc/token", tag = "auth",
    operation_id = "exchange_oidc_code",
    request_body = OidcTokenRequest,
    responses(
        (status = 200, description = "The session or the elevated token", body = OidcTokenResponse),
        TokenFails,
    ))]
pub async fn token(
    State(st): State<AppState>,
    Body(req): Body<OidcTokenRequest>,
) -> Result<axum::Json<OidcTokenResponse>, ApiError> {
    // As the document says (RFC 7636 §4.1 for the verifier); a one-time code is 47
    // base64url characters.
    let code_ok = (1..=128).contains(&req.code.len())
        && req
            .code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let verifier_ok = (43..=128).contains(&req.code_verifier.len())
        && req
            .code_verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !code_ok || !verifier_ok {
        return Err(ApiError::bad_request(
            "code is 1-128 base64url characters and code_verifier 43-128 unreserved \
             characters (RFC 7636)",
        ));
    }
    let out = st
        .twofold
        .exchange_federated(&req.code, &req.code_verifier)
        .await?;
    Ok(axum::Json(match out {
        Exchanged::SignedIn { session, amr, aal } => OidcTokenResponse::Authenticated {
            session_token: session.token,
            expires_at: session.expires_at.to_rfc3339(),
            amr,
            aal,
        },
        Exchanged::SteppedUp(e) => OidcTokenResponse::Elevated {
            elevated_token: e.token,
            scopes: e.scopes,
            expires_at: e.expires_at.to_rfc3339(),
        },
    }))
}

crate::fails!(StepUpFails {
    InvalidRequest: "malformed request, a redirect_uri that is not a loopback address, or a code_challenge that is not S256",
    Unauthenticated,
    MethodNotAvailable: "the caller has no identity provider (a password user steps up with a code)",
    ProviderUnavailable: "the identity provider could not be reached",
});

/// Start a federated step-up for an application: open `authorize_url` in the person's
/// browser; the provider asks them to sign in again (`prompt=login`, `max_age=0`), and the
/// browser comes back to `redirect_uri` with a one-time `code` for `POST /auth/oidc/token`,
/// which answers an elevated token for this session.
#[utoipa::path(post, path = "/api/v1/auth/step-up/oidc", tag = "step-up",
    operation_id = "start_oidc_step_up",
    security(("session" = [])),
    request_body = OidcStepUpRequest,
    responses(
        (status = 200, description = "Where to send the browser", body = OidcRedirect),
        StepUpFails,
    ))]
pub async fn step_up(
    State(st): State<AppState>,
    Session(caller): Session,
    Body(req): Body<OidcStepUpRequest>,
) -> Result<axum::Json<OidcRedirect>, ApiError> {
    let app = AppReturn {
        redirect_uri: req.redirect_uri,
        state: req.state,
        code_challenge: req.code_challenge,
    };
    let started = st
        .twofold
        .start_federated_step_up(&caller, Some(app), None)
        .await?;
    Ok(axum::Json(OidcRedirect {
        authorize_url: started.authorize_url,
        expires_at: started.expires_at.to_rfc3339(),
    }))
}
