//! Talking to OpenID Connect providers: discovery (kept an hour), the authorization URL,
//! the code exchange and every check of the ID token (signature against the provider's
//! JWKS, issuer, audience, expiry, nonce), through the `openidconnect` crate. When a token
//! names a key the kept JWKS lacks, the provider's documents are fetched again (at most
//! every 10 s), so a provider rotating its signing key goes on working.
//!
//! The domain decides what a verified sign-in means (`domain::federation`); this module
//! only knows the protocol.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use openidconnect::core::{
    CoreAuthPrompt, CoreAuthenticationFlow, CoreClient, CoreClientAuthMethod, CoreProviderMetadata,
};
use openidconnect::{
    AuthType, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse,
};
use serde_json::{Map, Value};

use crate::clock::Timestamp;

/// How long discovery documents (and keys) are kept.
const KEEP_MS: i64 = 60 * 60 * 1000;
/// The least time between two fetches of one provider's documents forced by an unknown key.
const REFETCH_MS: i64 = 10 * 1000;
/// How long a provider may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a failed discovery is remembered: meanwhile sign-ins with that provider fail
/// at once instead of each making the server wait on it again.
const FAILED_MS: i64 = 30 * 1000;

#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The provider could not be reached or answered with something unusable.
    #[error("the identity provider could not be used: {0}")]
    Unavailable(String),
    /// The provider refused the code (used already, expired, another client's).
    #[error("the identity provider refused the sign-in: {0}")]
    Exchange(String),
    /// The ID token failed a check.
    #[error("the identity provider's ID token was refused: {0}")]
    Token(String),
}

/// One provider as the organisation configured it, its client secret opened.
pub struct ProviderConfig {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: zeroize::Zeroizing<String>,
    /// Asked for besides `openid`.
    pub scopes: Vec<String>,
    /// `<public url>/auth/oidc/callback`.
    pub redirect_uri: String,
}

/// What the redirect to the provider carries besides the configuration.
pub struct Authorize<'a> {
    pub state: &'a str,
    pub nonce: &'a str,
    pub pkce_verifier: &'a str,
    /// Re-authentication (step-up): `prompt=login` and `max_age=0`.
    pub fresh_login: bool,
}

/// An ID token that passed every check.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    pub subject: String,
    /// Every claim of the token, as sent.
    pub claims: Map<String, Value>,
    pub amr: Vec<String>,
    pub acr: Option<String>,
    /// When the person last authenticated at the provider, if it says.
    pub auth_time: Option<Timestamp>,
}

struct Kept {
    metadata: CoreProviderMetadata,
    fetched_at: i64,
}

/// The providers' documents, kept per issuer; cheap to share.
pub struct Providers {
    http: reqwest::Client,
    kept: Mutex<HashMap<String, Kept>>,
    /// Issuers whose last discovery failed: when, and why.
    failed: Mutex<HashMap<String, (i64, String)>>,
}

impl Providers {
    pub fn new() -> Result<Providers, OidcError> {
        // No redirects: a provider's endpoints answer directly, and following them would
        // let a configured issuer point the server at other hosts.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(TIMEOUT)
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| OidcError::Unavailable(e.to_string()))?;
        Ok(Providers {
            http,
            kept: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
        })
    }

    /// The provider's discovery document and keys: kept ones, unless `refetch` (and the
    /// last fetch is over 10 s old) or they are over an hour old.
    async fn metadata(
        &self,
        issuer: &str,
        now: Timestamp,
        refetch: bool,
    ) -> Result<CoreProviderMetadata, OidcError> {
        let now = now.as_millis();
        {
            let kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(k) = kept.get(issuer) {
                let age = now - k.fetched_at;
                let fresh = age < KEEP_MS && (!refetch || age < REFETCH_MS);
                if fresh {
                    return Ok(k.metadata.clone());
                }
            }
        }
        {
            let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((at, why)) = failed.get(issuer)
                && now - at < FAILED_MS
            {
                return Err(OidcError::Unavailable(why.clone()));
            }
        }
        let metadata = match self.discover(issuer).await {
            Ok(m) => m,
            Err(e) => {
                let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
                failed.insert(issuer.to_owned(), (now, e.to_string()));
                return Err(e);
            }
        };
        self.failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(issuer);
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.insert(
            issuer.to_owned(),
            Kept {
                metadata: metadata.clone(),
                fetched_at: now,
            },
        );
        Ok(metadata)
    }

    /// Fetches `issuer`'s discovery document and keys, checking that the document names
    /// this very issuer and that an `https` issuer's endpoints are all `https`.
    async fn discover(&self, issuer: &str) -> Result<CoreProviderMetadata, OidcError> {
        let url = IssuerUrl::new(issuer.to_owned())
            .map_err(|e| OidcError::Unavailable(format!("issuer {issuer:?}: {e}")))?;
        let metadata = CoreProviderMetadata::discover_async(url, &self.http)
            .await
            .map_err(|e| OidcError::Unavailable(format!("discovery at {issuer}: {}", chain(&e))))?;
        same_scheme(issuer, &metadata)?;
        Ok(metadata)
    }

    /// Forgets what is kept of `issuer` (its configuration changed), failures included.
    pub fn forget(&self, issuer: &str) {
        let mut kept = self.kept.lock().unwrap_or_else(|p| p.into_inner());
        kept.remove(issuer);
        let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
        failed.remove(issuer);
    }

    /// The URL to send the browser to: the Authorization Code flow with PKCE (S256),
    /// `state` and `nonce`.
    pub async fn authorize_url(
        &self,
        cfg: &ProviderConfig,
        now: Timestamp,
        a: &Authorize<'_>,
    ) -> Result<String, OidcError> {
        let metadata = self.metadata(&cfg.issuer, now, false).await?;
        let client = client_for(cfg, metadata)?;
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            a.pkce_verifier.to_owned(),
        ));
        let (state, nonce) = (a.state.to_owned(), a.nonce.to_owned());
        let mut req = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for s in &cfg.scopes {
            req = req.add_scope(Scope::new(s.clone()));
        }
        if a.fresh_login {
            req = req
                .add_prompt(CoreAuthPrompt::Login)
                .set_max_age(Duration::ZERO);
        }
        let (url, _, _) = req.url();
        Ok(url.to_string())
    }

    /// Exchanges the authorization `code` (with the PKCE verifier) and checks the ID token
    /// that comes back against `nonce`, fetching the provider's keys again once if the
    /// token is signed with one not kept.
    pub async fn finish(
        &self,
        cfg: &ProviderConfig,
        now: Timestamp,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedToken, OidcError> {
        let metadata = self.metadata(&cfg.issuer, now, false).await?;
        let client = client_for(cfg, metadata)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OidcError::Unavailable(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(|e| OidcError::Exchange(chain(&e)))?;
        let token = response
            .id_token()
            .ok_or_else(|| OidcError::Token("the token response has no ID token".into()))?;
        match verify(&client, token, now, nonce) {
            Err(Refusal::UnknownKey) => {
                // The provider may have rotated its key since we fetched the set.
                let fresh = self.metadata(&cfg.issuer, now, true).await?;
                let client = client_for(cfg, fresh)?;
                verify(&client, token, now, nonce).map_err(Refusal::into_error)
            }
            other => other.map_err(Refusal::into_error),
        }
    }
}

/// The endpoints a provider names must be as safe as its issuer: an `https` issuer's token
/// endpoint (where the client secret goes) and keys over `https` too.
fn same_scheme(issuer: &str, m: &CoreProviderMetadata) -> Result<(), OidcError> {
    if !issuer.starts_with("https://") {
        return Ok(());
    }
    let endpoints = [
        Some(m.authorization_endpoint().url().as_str()),
        m.token_endpoint().map(|t| t.url().as_str()),
        Some(m.jwks_uri().url().as_str()),
    ];
    match endpoints
        .into_iter()
        .flatten()
        .find(|e| !e.starts_with("https://"))
    {
        Some(plain) => Err(OidcError::Unavailable(format!(
            "{issuer} names an endpoint that is not https: {plain}"
        ))),
        None => Ok(()),
    }
}

enum Refusal {
    UnknownKey,
    Other(String),
}

impl Refusal {
    fn into_error(self) -> OidcError {
        match self {
            Refusal::UnknownKey => {
                OidcError::Token("it is signed with a key the provider does not publish".into())
            }
            Refusal::Other(why) => OidcError::Token(why),
        }
    }
}

type IdToken = openidconnect::core::CoreIdToken;

fn verify(
    client: &Client,
    token: &IdToken,
    now: Timestamp,
    nonce: &str,
) -> Result<VerifiedToken, Refusal> {
    use openidconnect::{ClaimsVerificationError as C, SignatureVerificationError as S};
    let at = chrono::DateTime::from_timestamp_millis(now.as_millis()).unwrap_or_default();
    let verifier = client.id_token_verifier().set_time_fn(move || at);
    let claims = token
        .claims(&verifier, &Nonce::new(nonce.to_owned()))
        .map_err(|e| match e {
            C::SignatureVerification(S::NoMatchingKey) => Refusal::UnknownKey,
            e => Refusal::Other(chain(&e)),
        })?;
    // Every claim, read from the token whose signature was just checked: the username
    // claim may be any claim the organisation names.
    let text = token.to_string();
    let payload = text
        .split('.')
        .nth(1)
        .and_then(|p| data_encoding::BASE64URL_NOPAD.decode(p.as_bytes()).ok())
        .and_then(|p| serde_json::from_slice::<Map<String, Value>>(&p).ok())
        .ok_or_else(|| Refusal::Other("its claims could not be read".into()))?;
    Ok(VerifiedToken {
        subject: claims.subject().as_str().to_owned(),
        claims: payload,
        amr: claims
            .auth_method_refs()
            .map(|v| v.iter().map(|a| a.as_str().to_owned()).collect())
            .unwrap_or_default(),
        acr: claims.auth_context_ref().map(|a| a.as_str().to_owned()),
        auth_time: claims
            .auth_time()
            .map(|t| Timestamp::from_millis(t.timestamp_millis())),
    })
}

type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

fn client_for(cfg: &ProviderConfig, metadata: CoreProviderMetadata) -> Result<Client, OidcError> {
    // The secret goes in the Authorization header unless the provider takes it only in
    // the body.
    let methods = metadata.token_endpoint_auth_methods_supported().cloned();
    let post_only = methods.is_some_and(|m| {
        m.contains(&CoreClientAuthMethod::ClientSecretPost)
            && !m.contains(&CoreClientAuthMethod::ClientSecretBasic)
    });
    let redirect = RedirectUrl::new(cfg.redirect_uri.clone())
        .map_err(|e| OidcError::Unavailable(format!("redirect URI: {e}")))?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(cfg.client_id.clone()),
        Some(ClientSecret::new(cfg.client_secret.to_string())),
    )
    .set_redirect_uri(redirect);
    Ok(if post_only {
        client.set_auth_type(AuthType::RequestBody)
    } else {
        client
    })
}

/// An error with its causes, for the audit log and the server's log (never a secret: the
/// crates' errors name URLs and reasons).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use openidconnect::core::{
        CoreJwsSigningAlgorithm, CoreResponseType, CoreSubjectIdentifierType,
    };
    use openidconnect::{
        AuthUrl, EmptyAdditionalProviderMetadata, JsonWebKeySetUrl, ResponseTypes, TokenUrl,
    };

    fn metadata(issuer: &str, token: &str, jwks: &str) -> CoreProviderMetadata {
        CoreProviderMetadata::new(
            IssuerUrl::new(issuer.into()).unwrap(),
            AuthUrl::new(format!("{issuer}/auth")).unwrap(),
            JsonWebKeySetUrl::new(jwks.into()).unwrap(),
            vec![ResponseTypes::new(vec![CoreResponseType::Code])],
            vec![CoreSubjectIdentifierType::Public],
            vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256],
            EmptyAdditionalProviderMetadata {},
        )
        .set_token_endpoint(Some(TokenUrl::new(token.into()).unwrap()))
    }

    /// A provider that answers every request with a 500, counting the connections.
    fn broken_provider() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let count = std::sync::Arc::new(AtomicUsize::new(0));
        let seen = count.clone();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                seen.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 4096];
                let _ = stream.read(&mut buf);
                let _ = stream.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            }
        });
        (issuer, count)
    }

    #[tokio::test]
    async fn a_failed_discovery_is_remembered_for_30_seconds() {
        use std::sync::atomic::Ordering;
        let (issuer, asked) = broken_provider();
        let p = Providers::new().unwrap();
        let t0 = Timestamp::from_millis(1_800_000_000_000);
        assert!(p.metadata(&issuer, t0, false).await.is_err());
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        // Within 30 s: the same failure, without asking again.
        let again = p
            .metadata(&issuer, t0.plus(Duration::from_secs(29)), false)
            .await;
        assert!(matches!(again, Err(OidcError::Unavailable(_))));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
        // After: asked again.
        let later = p
            .metadata(&issuer, t0.plus(Duration::from_secs(31)), false)
            .await;
        assert!(later.is_err());
        assert_eq!(asked.load(Ordering::SeqCst), 2);
        // A changed configuration asks at once.
        p.forget(&issuer);
        assert!(
            p.metadata(&issuer, t0.plus(Duration::from_secs(32)), false)
                .await
                .is_err()
        );
        assert_eq!(asked.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn an_https_issuer_may_not_name_plain_http_endpoints() {
        let ok = metadata(
            "https://idp.example",
            "https://idp.example/token",
            "https://idp.example/jwks",
        );
        assert!(same_scheme("https://idp.example", &ok).is_ok());
        let token = metadata(
            "https://idp.example",
            "http://idp.example/token",
            "https://idp.example/jwks",
        );
        assert!(same_scheme("https://idp.example", &token).is_err());
        let keys = metadata(
            "https://idp.example",
            "https://idp.example/token",
            "http://10.0.0.1/jwks",
        );
        assert!(same_scheme("https://idp.example", &keys).is_err());
        // A local trial's plain-http provider is plain http throughout.
        let local = metadata(
            "http://127.0.0.1:9",
            "http://127.0.0.1:9/token",
            "http://127.0.0.1:9/jwks",
        );
        assert!(same_scheme("http://127.0.0.1:9", &local).is_ok());
    }
}
