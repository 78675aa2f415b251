//! Twofold API v1 on the wire: the JSON request and response types and the stable error
//! codes, shared by the server (which derives its OpenAPI document from them) and the client.
//!
//! Depends on nothing of ours. Request types reject unknown fields so that a typo in a
//! client is an error rather than a silently ignored setting.

pub mod auth;
pub mod error;
pub mod factors;
pub mod federation;
pub mod me;
pub mod orgs;
pub mod step_up;

pub use auth::{
    ActivateInFlowRequest, EmailCodeSent, EnrollInFlowRequest, LoginRequest, LoginResponse, Method,
    MfaRequest, PasskeyOptionsRequest, SendEmailCodeRequest,
};
pub use error::{ErrorCode, Problem};
pub use factors::{
    ActivateFactorRequest, BeginPasskeyRequest, DeleteFactorRequest, EmailEnrollment,
    EnrollEmailRequest, EnrollTotpRequest, Factor, FactorStatus, FactorType, FactorUri,
    FinishPasskeyRequest, PasskeyDetails, RecoveryCodes, RecoveryCodesStatus, RenameFactorRequest,
    TotpEnrollment, WebauthnOptions,
};
pub use federation::{
    OidcProvider, OidcRedirect, OidcStepUpRequest, OidcTokenRequest, OidcTokenResponse,
    PutOidcProvider,
};
pub use me::{ChangePassword, Device, Me, MfaSummary, Role, SessionInfo, SessionSummary};
pub use orgs::{
    AuditEvent, ConfirmationRequired, MfaPolicy, MfaPolicyChanged, MfaStatus, NewOrgUser,
    OrgSettings, OrgUser, SetMfaPolicy, SetOrgSettings, SetRole,
};

pub use step_up::{
    ApiKey, ApiKeyCreated, ElevatedToken, IntrospectRequest, Introspection, NewApiKey,
    PassSecondFactor, StepUpRequest,
};

/// The media type of every error answer (RFC 9457 §3).
pub const PROBLEM_JSON: &str = "application/problem+json";
