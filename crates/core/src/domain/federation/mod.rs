//! Federated sign-in: people of an organisation sign in through its OpenID Connect
//! provider, which handles their MFA, and are exempt from Twofold's own (seeds 000, 001).
//!
//! ```text
//!  GET /auth/oidc/{org}/{provider}/start ──► provider (code flow, PKCE S256, state, nonce;
//!    (binding cookie set; an application      a step-up adds prompt=login and max_age=0)
//!     adds its loopback redirect_uri,               │
//!     state and code_challenge)                     ▼
//!  GET /auth/oidc/callback?state&code ◄── the person signed in there
//!    state taken once, bound to the browser; code exchanged with the verifier; the ID
//!    token's signature (JWKS, fetched again on an unknown key), iss, aud, exp, nonce
//!        │
//!        ├─ identity (iss, sub) bound already ──────► its user
//!        ├─ username claim names a federated user ──► bound now, that user
//!        ├─ unknown, the provider creates users ────► a new federated member, bound
//!        └─ anything else ──────────────────────────► refused (audited with the provider)
//!        ▼
//!  browser: session cookie, /account/security    application: its loopback redirect with
//!  (amr ["fed", …the provider's]; aal 2 when      a one-time code, exchanged with its PKCE
//!   those include a second factor)                verifier at POST /api/v1/auth/oidc/token
//! ```

mod admission;
mod handoff;
pub mod providers;
mod reauth;
pub mod sign_in;

pub use providers::{OidcProvider, ProviderSettings};
pub use reauth::AccountProviders;

use openidconnect::url::{Host, Url};

/// Whether `url`'s host is a loopback IP address (`127.0.0.0/8`, `[::1]`) or, with
/// `by_name`, `localhost`.
fn on_loopback(url: &Url, by_name: bool) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => by_name && d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}
pub use sign_in::{AppReturn, Exchanged, Finished, Started};
