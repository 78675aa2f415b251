//! Typed HTTP client for the Twofold API v1, over the `proto` types. Used by the `twofold`
//! CLI's client commands and by the integration tests.
//!
//! Every error answer is decoded into its [`Problem`] so callers match on the stable
//! [`ErrorCode`], never on text.

pub use reqwest::StatusCode;
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use twofold_proto::{
    ActivateFactorRequest, ActivateInFlowRequest, ApiKey, ApiKeyCreated, AuditEvent,
    ChangePassword, ConfirmationRequired, DeleteFactorRequest, Device, ElevatedToken,
    EmailCodeSent, EmailEnrollment, EnrollEmailRequest, EnrollInFlowRequest, EnrollTotpRequest,
    ErrorCode, Factor, FactorUri, IntrospectRequest, Introspection, LoginRequest, LoginResponse,
    Me, Method as SignInMethod, MfaPolicy, MfaPolicyChanged, MfaRequest, NewApiKey, NewOrgUser,
    OidcProvider, OidcRedirect, OidcStepUpRequest, OidcTokenRequest, OidcTokenResponse,
    OrgSettings, OrgUser, PassSecondFactor, Problem, PutOidcProvider, RecoveryCodes,
    RecoveryCodesStatus, SendEmailCodeRequest, SessionInfo, SessionSummary, SetMfaPolicy,
    SetOrgSettings, SetRole, StepUpRequest, TotpEnrollment,
};

/// `?limit=&before=&user=&event=` of the audit log.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditFilter<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
    /// An event's id: the events older than it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<&'a str>,
    /// A user's id: the events they did or that concern them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<&'a str>,
    /// An event's name (`mfa.reset`) or area (`mfa`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event: Option<&'a str>,
}

/// The answer to starting a passkey's registration.
#[derive(Debug)]
pub enum PasskeyStart {
    /// The options for `navigator.credentials.create()`.
    Options(twofold_proto::WebauthnOptions),
    /// A code was mailed to the user (their first factor): begin again with it.
    ConfirmationRequired(twofold_proto::ConfirmationRequired),
}

/// The answer to adding an authenticator app.
#[derive(Clone, Debug, PartialEq)]
pub enum TotpStart {
    /// 201: the pending factor, with its secret.
    Enrolled(TotpEnrollment),
    /// 202: the user has no factor yet, and a code was mailed to their address: send the
    /// same request again with it.
    ConfirmationRequired(ConfirmationRequired),
}

impl TotpStart {
    /// The pending factor; a mailed confirmation is not what was expected here (the code
    /// was sent already, or the organisation does not ask for one).
    pub fn into_enrolled(self) -> Result<TotpEnrollment> {
        match self {
            TotpStart::Enrolled(e) => Ok(e),
            TotpStart::ConfirmationRequired(c) => Err(ClientError::Unexpected {
                status: StatusCode::ACCEPTED,
                body: format!(
                    "confirmation_required: a code was mailed (valid until {}); send it as \
                     confirmation_code",
                    c.expires_at
                ),
            }),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with a problem document.
    #[error("{} ({}): {}", .0.code, .0.status, .0.detail)]
    /// (Boxed: a problem document is large, and most results are not errors.)
    Api(Box<Problem>),
    /// The server could not be reached or the answer could not be read.
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// An answer that is neither what was asked for nor a problem document.
    #[error("unexpected answer {status}: {body}")]
    Unexpected { status: StatusCode, body: String },
}

impl ClientError {
    /// The problem's code, if the server answered with one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api(p) => Some(p.code),
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            ClientError::Api(p) => Some(p),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// A client for one server, optionally carrying a session token.
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    /// Sent as `X-Elevated-Token` with every request.
    elevated: Option<String>,
}

impl Client {
    /// `base_url` is the server's root, e.g. `http://127.0.0.1:8080`.
    pub fn new(base_url: impl Into<String>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base_url.into().trim_end_matches('/').to_owned(),
            token: None,
            elevated: None,
        }
    }

    /// A client for a program that waits at a prompt between requests (the CLI): a new
    /// connection for each request, since the server closes idle ones after a few seconds
    /// and a program blocked reading the terminal never sees the close (the next request
    /// would fail on the dead connection); and a bound on every request, so a hung server
    /// is an error, not a hung terminal.
    pub fn for_prompts(base_url: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            // Only a TLS backend failing to load makes this fail; there is none here.
            .unwrap_or_default();
        Self {
            http,
            ..Self::new(base_url)
        }
    }

    /// The same client, sending `token` as its bearer session token.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The same client, also sending `elevated` (from [`Client::step_up`]) as
    /// `X-Elevated-Token`.
    pub fn with_elevated(&self, elevated: impl Into<String>) -> Self {
        Self {
            elevated: Some(elevated.into()),
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(e) = &self.elevated {
            rb = rb.header("x-elevated-token", e);
        }
        match &self.token {
            Some(t) => rb.bearer_auth(t),
            None => rb,
        }
    }

    async fn send(&self, rb: RequestBuilder) -> Result<reqwest::Response> {
        let res = rb.send().await?;
        if res.status().is_success() {
            return Ok(res);
        }
        let status = res.status();
        let body = res.text().await?;
        match serde_json::from_str::<Problem>(&body) {
            Ok(p) => Err(ClientError::Api(Box::new(p))),
            Err(_) => Err(ClientError::Unexpected { status, body }),
        }
    }

    async fn json<T: DeserializeOwned>(&self, rb: RequestBuilder) -> Result<T> {
        Ok(self.send(rb).await?.json().await?)
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        self.json(self.request(Method::POST, path).json(body)).await
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<()> {
        self.send(self.request(Method::GET, "/healthz"))
            .await
            .map(|_| ())
    }

    pub async fn login(&self, org: &str, username: &str, password: &str) -> Result<LoginResponse> {
        self.login_on_device(org, username, password, None).await
    }

    /// `POST /auth/login` with a remembered device's token.
    pub async fn login_on_device(
        &self,
        org: &str,
        username: &str,
        password: &str,
        device_token: Option<&str>,
    ) -> Result<LoginResponse> {
        let req = LoginRequest {
            org: org.into(),
            username: username.into(),
            password: password.into(),
            device_token: device_token.map(Into::into),
        };
        self.post("/api/v1/auth/login", &req).await
    }

    /// `GET /me/devices`.
    pub async fn devices(&self) -> Result<Vec<Device>> {
        self.json(self.request(Method::GET, "/api/v1/me/devices"))
            .await
    }

    /// `DELETE /me/devices/{id}`.
    pub async fn forget_device(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/me/devices/{id}");
        self.send(self.request(Method::DELETE, &path))
            .await
            .map(|_| ())
    }

    pub async fn mfa(&self, req: &MfaRequest) -> Result<LoginResponse> {
        self.post("/api/v1/auth/mfa", req).await
    }

    pub async fn logout(&self) -> Result<()> {
        self.send(self.request(Method::POST, "/api/v1/auth/logout"))
            .await
            .map(|_| ())
    }

    pub async fn me(&self) -> Result<Me> {
        self.json(self.request(Method::GET, "/api/v1/me")).await
    }

    /// `POST /me/recovery-codes`: a new set, replacing the old one.
    /// `PUT /me/password`.
    pub async fn change_password(&self, current: &str, new: &str) -> Result<()> {
        let req = ChangePassword {
            current_password: current.into(),
            new_password: new.into(),
        };
        let rb = self.request(Method::PUT, "/api/v1/me/password").json(&req);
        self.send(rb).await.map(|_| ())
    }

    pub async fn regenerate_recovery_codes(&self) -> Result<RecoveryCodes> {
        self.json(self.request(Method::POST, "/api/v1/me/recovery-codes"))
            .await
    }

    /// `GET /me/recovery-codes`.
    pub async fn recovery_codes_status(&self) -> Result<RecoveryCodesStatus> {
        self.json(self.request(Method::GET, "/api/v1/me/recovery-codes"))
            .await
    }

    /// `GET /me/sessions`: the user's live sessions, newest first.
    pub async fn sessions(&self) -> Result<Vec<SessionSummary>> {
        self.json(self.request(Method::GET, "/api/v1/me/sessions"))
            .await
    }

    /// `DELETE /me/sessions/{id}`.
    pub async fn end_session(&self, id: &str) -> Result<()> {
        let path = format!("/api/v1/me/sessions/{id}");
        self.send(self.request(Method::DELETE, &path))
            .await
            .map(|_| ())
    }

    /// `DELETE /me/sessions`: every session but this one.
    pub async fn end_other_sessions(&self) -> Result<()> {
        self.send(self.request(Method::DELETE, "/api/v1/me/sessions"))
            .await
            .map(|_| ())
    }

    /// Starts enrolling an app in a sign-in that requires one (`enrollment_required`),
    /// expecting the pending factor at once (an organisation that does not mail a code
    /// first, or `confirmation_code` given).
    pub async fn enroll_in_flow(
        &self,
        flow_token: &str,
        name: Option<&str>,
    ) -> Result<TotpEnrollment> {
        self.start_totp_in_flow(flow_token, name, None)
            .await?
            .into_enrolled()
    }

    /// `POST /auth/enroll/totp`: the pending factor, or (first without
    /// `confirmation_code`) a code mailed to the user.
    pub async fn start_totp_in_flow(
        &self,
        flow_token: &str,
        name: Option<&str>,
        confirmation_code: Option<&str>,
    ) -> Result<TotpStart> {
        let req = EnrollInFlowRequest {
            flow_token: flow_token.into(),
            name: name.map(Into::into),
            confirmation_code: confirmation_code.map(Into::into),
        };
        let rb = self
            .request(Method::POST, "/api/v1/auth/enroll/totp")
            .json(&req);
        self.totp_start(rb).await
    }

    async fn totp_start(&self, rb: RequestBuilder) -> Result<TotpStart> {
        let res = self.send(rb).await?;
        if res.status() == StatusCode::ACCEPTED {
            Ok(TotpStart::ConfirmationRequired(res.json().await?))
        } else {
            Ok(TotpStart::Enrolled(res.json().await?))
        }
    }

    /// `POST /auth/enroll/email`: enrols email inside a sign-in that requires a factor.
    pub async fn enroll_email_in_flow(
        &self,
        flow_token: &str,
        name: Option<&str>,
    ) -> Result<EmailEnrollment> {
        let req = EnrollInFlowRequest {
            flow_token: flow_token.into(),
            name: name.map(Into::into),
            confirmation_code: None,
        };
        self.post("/api/v1/auth/enroll/email", &req).await
    }

    /// The QR code (PNG) of the factor being enrolled in a sign-in.
    pub async fn enrollment_qr_png(&self, flow_token: &str, id: &str) -> Result<Vec<u8>> {
        let rb = self
            .request(Method::GET, &format!("/api/v1/auth/enroll/{id}/qr.png"))
            .bearer_auth(flow_token);
        Ok(self.send(rb).await?.bytes().await?.to_vec())
    }

    /// Finishes enrolling in a sign-in: `authenticated` at aal 2.
    pub async fn activate_in_flow(
        &self,
        flow_token: &str,
        id: &str,
        code: &str,
    ) -> Result<LoginResponse> {
        let req = ActivateInFlowRequest {
            flow_token: flow_token.into(),
            id: id.into(),
            code: code.into(),
        };
        self.post("/api/v1/auth/enroll/activate", &req).await
    }

    /// Organisation `org`'s MFA policy (owners and admins only).
    pub async fn mfa_policy(&self, org: &str) -> Result<MfaPolicy> {
        self.json(self.request(Method::GET, &format!("/api/v1/orgs/{org}/mfa-policy")))
            .await
    }

    /// Asks to stop requiring MFA in `org`: a code is mailed to the caller (202).
    pub async fn request_mfa_disable(&self, org: &str) -> Result<ConfirmationRequired> {
        let req = SetMfaPolicy {
            required: false,
            invalidate_sessions: None,
            grace_period_days: None,
            confirmation_code: None,
        };
        let rb = self
            .request(Method::PUT, &format!("/api/v1/orgs/{org}/mfa-policy"))
            .json(&req);
        self.json(rb).await
    }

    /// Changes organisation `org`'s MFA policy (owners and admins only).
    pub async fn set_mfa_policy(&self, org: &str, req: &SetMfaPolicy) -> Result<MfaPolicyChanged> {
        let rb = self
            .request(Method::PUT, &format!("/api/v1/orgs/{org}/mfa-policy"))
            .json(req);
        self.json(rb).await
    }

    /// Resets user `id`'s MFA in organisation `org` (owners and admins only).
    pub async fn reset_user_mfa(&self, org: &str, id: &str) -> Result<()> {
        let path = format!("/api/v1/orgs/{org}/users/{id}/mfa/reset");
        self.send(self.request(Method::POST, &path)).await?;
        Ok(())
    }

    /// Clears user `id`'s second-factor lock in organisation `org`.
    pub async fn unlock_user(&self, org: &str, id: &str) -> Result<()> {
        let path = format!("/api/v1/orgs/{org}/users/{id}/unlock");
        self.send(self.request(Method::POST, &path)).await?;
        Ok(())
    }

    /// Gives user `id` of organisation `org` the role `role`.
    pub async fn set_user_role(
        &self,
        org: &str,
        id: &str,
        role: twofold_proto::Role,
    ) -> Result<OrgUser> {
        let rb = self
            .request(Method::PUT, &format!("/api/v1/orgs/{org}/users/{id}/role"))
            .json(&SetRole { role });
        self.json(rb).await
    }

    /// Mails user `id` of organisation `org` a new invitation.
    pub async fn reinvite_user(&self, org: &str, id: &str) -> Result<()> {
        let path = format!("/api/v1/orgs/{org}/users/{id}/invitation");
        self.send(self.request(Method::POST, &path)).await?;
        Ok(())
    }

    /// The users of organisation `org` (owners and admins only).
    pub async fn org_users(&self, org: &str) -> Result<Vec<OrgUser>> {
        self.json(self.request(Method::GET, &format!("/api/v1/orgs/{org}/users")))
            .await
    }

    /// Creates a user in organisation `org` (owners and admins only).
    pub async fn create_org_user(&self, org: &str, user: &NewOrgUser) -> Result<OrgUser> {
        self.post(&format!("/api/v1/orgs/{org}/users"), user).await
    }

    /// A page of organisation `org`'s audit log, newest first (owners and admins only).
    pub async fn audit_events(
        &self,
        org: &str,
        limit: Option<u32>,
        before: Option<&str>,
    ) -> Result<Vec<AuditEvent>> {
        let page = AuditFilter {
            limit,
            before,
            ..AuditFilter::default()
        };
        self.audit_events_where(org, &page).await
    }

    /// A page of organisation `org`'s audit log, newest first, only the events `filter`
    /// names.
    pub async fn audit_events_where(
        &self,
        org: &str,
        filter: &AuditFilter<'_>,
    ) -> Result<Vec<AuditEvent>> {
        let rb = self
            .request(Method::GET, &format!("/api/v1/orgs/{org}/audit-events"))
            .query(filter);
        self.json(rb).await
    }

    pub async fn factors(&self) -> Result<Vec<Factor>> {
        self.json(self.request(Method::GET, "/api/v1/me/factors"))
            .await
    }

    /// `POST /me/factors/totp`, expecting the pending factor at once (a user who has a
    /// factor, or an organisation that does not mail a code first).
    pub async fn enroll_totp(&self, name: Option<&str>) -> Result<TotpEnrollment> {
        self.start_totp(name, None).await?.into_enrolled()
    }

    /// `POST /me/factors/totp`: the pending factor, or (for a user without a factor, first
    /// without `confirmation_code`) a code mailed to them.
    pub async fn start_totp(
        &self,
        name: Option<&str>,
        confirmation_code: Option<&str>,
    ) -> Result<TotpStart> {
        let req = EnrollTotpRequest {
            name: name.map(Into::into),
            confirmation_code: confirmation_code.map(Into::into),
        };
        let rb = self
            .request(Method::POST, "/api/v1/me/factors/totp")
            .json(&req);
        self.totp_start(rb).await
    }

    /// `POST /me/session/mfa`: raises this session to aal 2 with a code.
    pub async fn pass_second_factor(
        &self,
        method: SignInMethod,
        code: &str,
    ) -> Result<SessionInfo> {
        let req = PassSecondFactor {
            method,
            code: code.into(),
            credential: None,
        };
        self.post("/api/v1/me/session/mfa", &req).await
    }

    /// `POST /me/session/mfa` with a passkey's answer (`credential`).
    pub async fn pass_second_factor_with_passkey(
        &self,
        credential: serde_json::Value,
    ) -> Result<SessionInfo> {
        let req = PassSecondFactor {
            method: SignInMethod::Webauthn,
            code: String::new(),
            credential: Some(credential),
        };
        self.post("/api/v1/me/session/mfa", &req).await
    }

    /// `POST /me/factors/webauthn/begin`: the options for registering a passkey (or a
    /// code mailed first, as `ConfirmationRequired`, for a user with no factor yet).
    pub async fn begin_passkey(
        &self,
        req: &twofold_proto::BeginPasskeyRequest,
    ) -> Result<PasskeyStart> {
        let res = self
            .send(
                self.request(Method::POST, "/api/v1/me/factors/webauthn/begin")
                    .json(req),
            )
            .await?;
        if res.status() == reqwest::StatusCode::ACCEPTED {
            return Ok(PasskeyStart::ConfirmationRequired(res.json().await?));
        }
        Ok(PasskeyStart::Options(res.json().await?))
    }

    /// `POST /me/factors/webauthn/finish` with the authenticator's answer.
    pub async fn finish_passkey(&self, credential: serde_json::Value) -> Result<Factor> {
        let req = twofold_proto::FinishPasskeyRequest { credential };
        self.post("/api/v1/me/factors/webauthn/finish", &req).await
    }

    /// `POST /auth/mfa/webauthn/options`: a passkey request for sign-in flow `flow_token`.
    pub async fn passkey_sign_in_options(
        &self,
        flow_token: &str,
    ) -> Result<twofold_proto::WebauthnOptions> {
        let req = twofold_proto::PasskeyOptionsRequest {
            flow_token: flow_token.into(),
        };
        self.post("/api/v1/auth/mfa/webauthn/options", &req).await
    }

    /// `POST /auth/step-up/webauthn/options`: a passkey request for this session.
    pub async fn passkey_session_options(&self) -> Result<twofold_proto::WebauthnOptions> {
        self.json(self.request(Method::POST, "/api/v1/auth/step-up/webauthn/options"))
            .await
    }

    /// `POST /me/factors/email`: a pending email factor, and a code mailed to it.
    pub async fn enroll_email(&self, name: Option<&str>) -> Result<EmailEnrollment> {
        self.post(
            "/api/v1/me/factors/email",
            &EnrollEmailRequest {
                name: name.map(Into::into),
            },
        )
        .await
    }

    /// `POST /auth/mfa/email/send`: mails a code for sign-in flow `flow_token`.
    pub async fn send_sign_in_email_code(&self, flow_token: &str) -> Result<EmailCodeSent> {
        let req = SendEmailCodeRequest {
            flow_token: flow_token.into(),
        };
        self.post("/api/v1/auth/mfa/email/send", &req).await
    }

    /// `POST /auth/step-up/email/send`: mails this session's user a step-up code.
    pub async fn send_step_up_email_code(&self) -> Result<EmailCodeSent> {
        self.json(self.request(Method::POST, "/api/v1/auth/step-up/email/send"))
            .await
    }

    pub async fn activate_factor(&self, id: &str, code: &str) -> Result<Factor> {
        self.activate_factor_as(id, code, None).await
    }

    /// `POST /me/factors/{id}/activate`, making it the preferred factor too if asked.
    pub async fn activate_factor_as(
        &self,
        id: &str,
        code: &str,
        preferred: Option<bool>,
    ) -> Result<Factor> {
        self.post(
            &format!("/api/v1/me/factors/{id}/activate"),
            &ActivateFactorRequest {
                code: code.into(),
                preferred,
            },
        )
        .await
    }

    pub async fn delete_factor(&self, id: &str, code: Option<&str>) -> Result<()> {
        let body = DeleteFactorRequest {
            code: code.map(Into::into),
        };
        let rb = self
            .request(Method::DELETE, &format!("/api/v1/me/factors/{id}"))
            .json(&body);
        self.send(rb).await.map(|_| ())
    }

    /// `PATCH /me/factors/{id}`: renames a factor.
    pub async fn rename_factor(&self, id: &str, name: &str) -> Result<Factor> {
        let req = twofold_proto::RenameFactorRequest { name: name.into() };
        let rb = self
            .request(Method::PATCH, &format!("/api/v1/me/factors/{id}"))
            .json(&req);
        self.json(rb).await
    }

    /// `POST /me/factors/{id}/regenerate`.
    pub async fn regenerate_factor(&self, id: &str) -> Result<TotpEnrollment> {
        let path = format!("/api/v1/me/factors/{id}/regenerate");
        self.json(self.request(Method::POST, &path)).await
    }

    /// `GET /orgs/{org}/settings`.
    pub async fn org_settings(&self, org: &str) -> Result<OrgSettings> {
        self.json(self.request(Method::GET, &format!("/api/v1/orgs/{org}/settings")))
            .await
    }

    /// `PUT /orgs/{org}/settings`.
    pub async fn set_org_settings(&self, org: &str, req: &SetOrgSettings) -> Result<OrgSettings> {
        let rb = self
            .request(Method::PUT, &format!("/api/v1/orgs/{org}/settings"))
            .json(req);
        self.json(rb).await
    }

    /// `PUT /me/factors/{id}/preferred`.
    pub async fn prefer_factor(&self, id: &str) -> Result<Factor> {
        let path = format!("/api/v1/me/factors/{id}/preferred");
        self.json(self.request(Method::PUT, &path)).await
    }

    /// The PNG bytes of a pending factor's QR code.
    pub async fn factor_qr_png(&self, id: &str) -> Result<Vec<u8>> {
        let res = self
            .send(self.request(Method::GET, &format!("/api/v1/me/factors/{id}/qr.png")))
            .await?;
        Ok(res.bytes().await?.to_vec())
    }

    /// `GET /me/factors/{id}/uri`: the Key URI of a factor's QR code.
    pub async fn factor_uri(&self, id: &str) -> Result<FactorUri> {
        let path = format!("/api/v1/me/factors/{id}/uri");
        self.json(self.request(Method::GET, &path)).await
    }

    /// `POST /auth/step-up`: a fresh second factor for an elevated token.
    pub async fn step_up(&self, req: &StepUpRequest) -> Result<ElevatedToken> {
        self.post("/api/v1/auth/step-up", req).await
    }

    /// `POST /tokens/introspect`, with this client's token being an API key.
    pub async fn introspect(&self, token: &str) -> Result<Introspection> {
        let req = IntrospectRequest {
            token: token.into(),
        };
        self.post("/api/v1/tokens/introspect", &req).await
    }

    /// `POST /orgs/{org}/api-keys`.
    pub async fn create_api_key(&self, org: &str, name: &str) -> Result<ApiKeyCreated> {
        let req = NewApiKey { name: name.into() };
        self.post(&format!("/api/v1/orgs/{org}/api-keys"), &req)
            .await
    }

    /// `GET /orgs/{org}/api-keys`.
    pub async fn api_keys(&self, org: &str) -> Result<Vec<ApiKey>> {
        self.json(self.request(Method::GET, &format!("/api/v1/orgs/{org}/api-keys")))
            .await
    }

    /// `DELETE /orgs/{org}/api-keys/{id}`.
    pub async fn revoke_api_key(&self, org: &str, id: &str) -> Result<()> {
        let path = format!("/api/v1/orgs/{org}/api-keys/{id}");
        self.send(self.request(Method::DELETE, &path))
            .await
            .map(|_| ())
    }

    /// `GET /orgs/{org}/oidc-providers`.
    pub async fn oidc_providers(&self, org: &str) -> Result<Vec<OidcProvider>> {
        let path = format!("/api/v1/orgs/{org}/oidc-providers");
        self.json(self.request(Method::GET, &path)).await
    }

    /// `PUT /orgs/{org}/oidc-providers/{name}` (owners, with a fresh second factor).
    pub async fn put_oidc_provider(
        &self,
        org: &str,
        name: &str,
        p: &PutOidcProvider,
    ) -> Result<OidcProvider> {
        let path = format!("/api/v1/orgs/{org}/oidc-providers/{name}");
        self.json(self.request(Method::PUT, &path).json(p)).await
    }

    /// `DELETE /orgs/{org}/oidc-providers/{name}` (owners, with a fresh second factor).
    pub async fn delete_oidc_provider(&self, org: &str, name: &str) -> Result<()> {
        let path = format!("/api/v1/orgs/{org}/oidc-providers/{name}");
        self.send(self.request(Method::DELETE, &path))
            .await
            .map(|_| ())
    }

    /// `POST /auth/oidc/token`: an application's one-time code and PKCE verifier.
    pub async fn exchange_oidc_code(
        &self,
        code: &str,
        verifier: &str,
    ) -> Result<OidcTokenResponse> {
        let req = OidcTokenRequest {
            code: code.into(),
            code_verifier: verifier.into(),
        };
        self.post("/api/v1/auth/oidc/token", &req).await
    }

    /// `POST /auth/step-up/oidc`: re-authentication at the identity provider, back to a
    /// loopback address.
    pub async fn start_oidc_step_up(&self, req: &OidcStepUpRequest) -> Result<OidcRedirect> {
        self.post("/api/v1/auth/step-up/oidc", req).await
    }

    /// The OpenAPI document.
    pub async fn openapi(&self) -> Result<serde_json::Value> {
        self.json(self.request(Method::GET, "/api/v1/openapi.json"))
            .await
    }
}
