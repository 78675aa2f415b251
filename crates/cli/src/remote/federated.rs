//! Signing in, and passing a step-up, at the organisation's identity provider (OpenID
//! Connect) from the terminal: the person opens the address printed here in a browser,
//! signs in at the provider, and the browser comes back to this command on loopback
//! ([`super::loopback`]) with a one-time code, which is exchanged with the PKCE verifier
//! (`POST /api/v1/auth/oidc/token`) for a session, or for an elevated token.
//!
//! Nothing is typed here, so both work without a terminal: the address goes to stderr.

use twofold_client::Client;
use twofold_proto::{OidcStepUpRequest, OidcTokenResponse};

use super::loopback::{Loopback, Pkce, percent_encode, random_text};
use super::session_file::Saved;
use super::term::Term;
use crate::failure::{Failure, from_client};

/// `twofold login --sso PROVIDER`: a session of organisation `org` through `provider`.
/// `client` carries no session.
pub async fn sign_in(
    term: &Term,
    client: &Client,
    org: &str,
    provider: &str,
) -> Result<Saved, Failure> {
    let loopback = Loopback::bind().await?;
    let pkce = Pkce::new()?;
    let state = random_text(16)?;
    let start = format!(
        "{}/auth/oidc/{}/{}/start?redirect_uri={}&state={}&code_challenge={}",
        client.base_url(),
        percent_encode(org),
        percent_encode(provider),
        percent_encode(&loopback.redirect_uri()),
        percent_encode(&state),
        percent_encode(&pkce.challenge),
    );
    term.tell(&format!(
        "Open this address in a browser to sign in through {provider}:"
    ));
    term.tell(&start);
    term.say("Waiting for the browser (up to 5 minutes)…");
    let code = loopback
        .code(&state, "Signed in to Twofold. You can close this tab.")
        .await?;
    let answer = client
        .exchange_oidc_code(&code, &pkce.verifier)
        .await
        .map_err(from_client)?;
    let OidcTokenResponse::Authenticated {
        session_token,
        expires_at,
        ..
    } = answer
    else {
        return Err(Failure::new(
            "failed",
            "the server answered the sign-in with a step-up",
        ));
    };
    // The exchange says nothing of whom the provider signed in: the session does.
    let me = client
        .with_token(&session_token)
        .me()
        .await
        .map_err(from_client)?;
    Ok(Saved {
        org: me.org,
        username: me.username,
        session_token,
        expires_at,
        provider: Some(provider.to_owned()),
    })
}

/// A federated step-up of the session `session` carries: answers the elevated token
/// (`mfa:manage`) to send as `X-Elevated-Token`. `anonymous` carries no session.
pub async fn step_up(term: &Term, session: &Client, anonymous: &Client) -> Result<String, Failure> {
    let loopback = Loopback::bind().await?;
    let pkce = Pkce::new()?;
    let state = random_text(16)?;
    let started = session
        .start_oidc_step_up(&OidcStepUpRequest {
            redirect_uri: loopback.redirect_uri(),
            state: state.clone(),
            code_challenge: pkce.challenge.clone(),
        })
        .await
        .map_err(from_client)?;
    term.tell(
        "This change needs you to sign in again at your identity provider. Open this \
         address in a browser:",
    );
    term.tell(&started.authorize_url);
    term.say("Waiting for the browser (up to 5 minutes)…");
    let code = loopback
        .code(
            &state,
            "Signed in again. You can close this tab and go back to the terminal.",
        )
        .await?;
    let answer = anonymous
        .exchange_oidc_code(&code, &pkce.verifier)
        .await
        .map_err(from_client)?;
    match answer {
        OidcTokenResponse::Elevated { elevated_token, .. } => Ok(elevated_token),
        OidcTokenResponse::Authenticated { .. } => Err(Failure::new(
            "failed",
            "the server answered the step-up with a new session",
        )),
    }
}
