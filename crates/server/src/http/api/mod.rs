//! The JSON API, `/api/v1`: one module per resource, and the OpenAPI document built from
//! the handlers' annotations so it cannot drift from them.

pub mod auth;
pub mod devices;
pub mod factors;
pub mod me;
pub mod orgs;
pub mod recovery;
pub mod sessions;
pub mod step_up;

use axum::Router;
use axum::routing::{get, post, put};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;

pub fn routes(state: &AppState) -> Router<AppState> {
    // The routes that take a password or a code: failures there count against the
    // client's address (`http::throttle`).
    let guessable = Router::new()
        .route("/auth/login", post(auth::login))
        .route("/auth/mfa", post(auth::mfa))
        .route("/auth/step-up", post(step_up::step_up))
        .route("/auth/enroll/totp", post(auth::enroll_totp))
        .route("/auth/enroll/activate", post(auth::enroll_activate))
        .route("/me/password", put(me::change_password))
        .route("/me/session/mfa", post(me::pass_second_factor))
        .route("/me/factors/totp", post(factors::enroll_totp))
        .route("/me/factors/{id}", axum::routing::delete(factors::delete))
        .route("/me/factors/{id}/activate", post(factors::activate))
        .route("/orgs/{org}/mfa-policy", put(orgs::put_policy))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::throttle::limit_failures,
        ));
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/auth/mfa/email/send", post(auth::send_email_code))
        .route("/auth/logout", post(auth::logout))
        .route("/auth/step-up/email/send", post(step_up::send_email_code))
        .route("/tokens/introspect", post(step_up::introspect))
        .route("/auth/enroll/email", post(auth::enroll_email))
        .route("/auth/enroll/{id}/qr.png", get(auth::enroll_qr_png))
        .route("/me", get(me::me))
        .route(
            "/me/sessions",
            get(sessions::list).delete(sessions::end_others),
        )
        .route("/me/sessions/{id}", axum::routing::delete(sessions::end))
        .route("/me/devices", get(devices::list))
        .route("/me/devices/{id}", axum::routing::delete(devices::forget))
        .route(
            "/me/recovery-codes",
            get(recovery::status).post(recovery::regenerate),
        )
        .route("/me/factors", get(factors::list))
        .route("/me/factors/email", post(factors::enroll_email))
        .route("/me/factors/{id}/qr.png", get(factors::qr_png))
        .route("/me/factors/{id}/preferred", put(factors::prefer))
        .route("/me/factors/{id}/regenerate", post(factors::regenerate))
        .route(
            "/orgs/{org}/users",
            get(orgs::list_users).post(orgs::create_user),
        )
        .route("/orgs/{org}/audit-events", get(orgs::audit_events))
        .route("/orgs/{org}/mfa-policy", get(orgs::get_policy))
        .route(
            "/orgs/{org}/settings",
            get(orgs::get_settings).put(orgs::put_settings),
        )
        .route(
            "/orgs/{org}/api-keys",
            get(step_up::list_keys).post(step_up::create_key),
        )
        .route(
            "/orgs/{org}/api-keys/{id}",
            axum::routing::delete(step_up::revoke_key),
        )
        .route("/orgs/{org}/users/{id}/mfa/reset", post(orgs::reset_mfa))
        .route("/orgs/{org}/users/{id}/unlock", post(orgs::unlock))
        .merge(guessable)
}

/// `X-Elevated-Token`, as the OpenAPI document describes it (the `Elevated` extractor
/// reads it).
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)] // Only its description is used.
pub struct ElevatedHeader {
    /// An elevated token (scope `mfa:manage`) from `POST /auth/step-up` with this session:
    /// stands in for a second factor passed in the last 10 minutes, and for a code from
    /// the factor when removing one.
    #[serde(rename = "X-Elevated-Token")]
    x_elevated_token: Option<String>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Twofold API",
        version = "1",
        description = "Sign in with a password and a second factor; manage your second factors; \
                       run an organisation (owners and admins). \
                       Errors are RFC 9457 problem documents with a stable `code`."
    ),
    paths(
        auth::login, auth::mfa, auth::send_email_code, auth::logout, auth::enroll_totp, auth::enroll_email,
        auth::enroll_qr_png,
        auth::enroll_activate, me::me, me::change_password, me::pass_second_factor,
        factors::list, factors::enroll_totp, factors::enroll_email, factors::activate, factors::delete, factors::qr_png,
        factors::prefer, factors::regenerate,
        orgs::list_users, orgs::create_user, orgs::audit_events, orgs::get_policy,
        orgs::put_policy, orgs::reset_mfa, orgs::unlock, orgs::get_settings, orgs::put_settings,
        sessions::list, sessions::end, sessions::end_others, devices::list, devices::forget,
        recovery::regenerate, recovery::status,
        step_up::step_up, step_up::send_email_code, step_up::introspect, step_up::create_key, step_up::list_keys,
        step_up::revoke_key,
    ),
    modifiers(&BearerAuth, &LinkFieldNames),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A session token from POST /api/v1/auth/login or /auth/mfa.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "flow",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The flow token of an `enrollment_required` answer from POST /api/v1/auth/login.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An organisation's API key from POST /api/v1/orgs/{org}/api-keys, for applications.",
                    ))
                    .build(),
            ),
        );
    }
}

/// utoipa 5 serialises a Link Object's fields as `operation_id`, `operation_ref` and
/// `request_body`; OpenAPI spells them `operationId`, `operationRef` and `requestBody`, and
/// tools ignore (or reject) the links otherwise. Moving them into the link's (flattened)
/// extension map under their OpenAPI names keeps the links declared on the handlers.
struct LinkFieldNames;

impl Modify for LinkFieldNames {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let operations = openapi
            .paths
            .paths
            .values_mut()
            .flat_map(|item| {
                [
                    &mut item.get,
                    &mut item.put,
                    &mut item.post,
                    &mut item.delete,
                    &mut item.options,
                    &mut item.head,
                    &mut item.patch,
                    &mut item.trace,
                ]
            })
            .flatten();
        for op in operations {
            for response in op.responses.responses.values_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                for link in response.links.values_mut() {
                    let RefOr::T(link) = link else { continue };
                    let ext = link.extensions.get_or_insert_with(Default::default);
                    for (name, value) in [
                        ("operationId", std::mem::take(&mut link.operation_id)),
                        ("operationRef", std::mem::take(&mut link.operation_ref)),
                    ] {
                        if !value.is_empty() {
                            ext.insert(name.to_owned(), value.into());
                        }
                    }
                    if let Some(body) = link.request_body.take() {
                        ext.insert("requestBody".to_owned(), body);
                    }
                }
            }
        }
    }
}

/// The OpenAPI 3.1 document of this API.
async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}
