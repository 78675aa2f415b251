//! The JSON API, `/api/v1`: one module per resource, and the OpenAPI document built from
//! the handlers' annotations so it cannot drift from them.

pub mod auth;
pub mod devices;
pub mod factors;
pub mod federation;
pub mod me;
pub mod orgs;
pub mod recovery;
pub mod sessions;
pub mod step_up;
mod wire;

use axum::Router;
use axum::http::header;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;

/// Every API route, registered from its handler's `#[utoipa::path]`: the one list both
/// the router and the OpenAPI document (served at `/api/v1/openapi.json`) are made from,
/// so neither can miss a route the other has.
pub fn routes(state: &AppState) -> Router<AppState> {
    let (router, doc) = router_and_document(state);
    // Serialised once: the document does not change while the server runs.
    let json = serde_json::to_vec(&doc).unwrap_or_default();
    router.route(
        "/api/v1/openapi.json",
        get(move || {
            let json = json.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], json) }
        }),
    )
}

/// The API's router and its OpenAPI document.
pub fn router_and_document(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    // The routes that take a password or a code: failures there count against the
    // client's address (`http::throttle`).
    let guessable = OpenApiRouter::default()
        .routes(routes!(auth::login))
        .routes(routes!(auth::mfa))
        .routes(routes!(step_up::step_up))
        .routes(routes!(auth::enroll_totp))
        .routes(routes!(auth::enroll_activate))
        .routes(routes!(me::change_password))
        .routes(routes!(me::pass_second_factor))
        .routes(routes!(factors::enroll_totp))
        .routes(routes!(factors::delete, factors::rename))
        .routes(routes!(factors::activate))
        .routes(routes!(factors::begin_passkey))
        .routes(routes!(factors::finish_passkey))
        .routes(routes!(auth::passkey_options))
        .routes(routes!(step_up::passkey_options))
        .routes(routes!(orgs::put_policy))
        .routes(routes!(federation::token))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::throttle::limit_failures,
        ));
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::send_email_code))
        .routes(routes!(auth::logout))
        .routes(routes!(step_up::send_email_code))
        .routes(routes!(step_up::introspect))
        .routes(routes!(auth::enroll_email))
        .routes(routes!(auth::enroll_qr_png))
        .routes(routes!(me::me))
        .routes(routes!(sessions::list, sessions::end_others))
        .routes(routes!(sessions::end))
        .routes(routes!(devices::list))
        .routes(routes!(devices::forget))
        .routes(routes!(recovery::status, recovery::regenerate))
        .routes(routes!(factors::list))
        .routes(routes!(factors::enroll_email))
        .routes(routes!(factors::qr_png))
        .routes(routes!(factors::uri))
        .routes(routes!(factors::prefer))
        .routes(routes!(factors::regenerate))
        .routes(routes!(orgs::list_users, orgs::create_user))
        .routes(routes!(orgs::audit_events))
        .routes(routes!(orgs::get_policy))
        .routes(routes!(orgs::get_settings, orgs::put_settings))
        .routes(routes!(step_up::list_keys, step_up::create_key))
        .routes(routes!(step_up::revoke_key))
        .routes(routes!(orgs::reset_mfa))
        .routes(routes!(orgs::unlock))
        .routes(routes!(orgs::set_role))
        .routes(routes!(orgs::reinvite))
        .routes(routes!(federation::list_providers))
        .routes(routes!(
            federation::put_provider,
            federation::delete_provider
        ))
        .routes(routes!(federation::step_up))
        .merge(guessable)
        .split_for_parts();
    LinkFieldNames.modify(&mut doc);
    (router, doc)
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
    modifiers(&BearerAuth),
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
