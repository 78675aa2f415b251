//! The operator's break-glass commands' output: the user list as a table or JSON, who the
//! operator is for the audit log, and waiting for the notices to be delivered.

use twofold_server::Twofold;
use twofold_server::domain::operator::OperatorView;
use twofold_server::domain::org_admin::MfaStatus;
use twofold_server::domain::users::role_str;

use crate::args::Output;
use crate::failure::Failure;
use crate::output;

/// Who runs the command, for the audit log: the user behind `sudo`, else the login name.
pub(crate) fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// `twofold user list`.
pub(crate) async fn list(tf: &Twofold, org: &str, out: Output) -> Result<(), Failure> {
    let users = tf.operator_list_users(org).await?;
    let rows: Vec<serde_json::Value> = users.iter().map(as_json).collect();
    output::print(out, &rows, |_| {
        let rows: Vec<[String; 6]> = users.iter().map(as_row).collect();
        output::table(
            [
                "USERNAME",
                "EMAIL",
                "ROLE",
                "MFA",
                "LAST SIGN-IN",
                "LOCKED UNTIL",
            ],
            &rows,
        );
    })
}

fn mfa_text(v: &OperatorView) -> &'static str {
    match v.user.mfa {
        MfaStatus::Enrolled => "enrolled",
        MfaStatus::NotEnrolled => "not enrolled",
        MfaStatus::NotApplicable => "sso",
    }
}

fn as_row(v: &OperatorView) -> [String; 6] {
    [
        v.user.username.clone(),
        v.user.email.clone(),
        role_str(v.user.role).to_owned(),
        crate::output::with_providers(mfa_text(v), &v.user.providers),
        v.user
            .last_login_at
            .map_or_else(|| "-".into(), |t| t.to_rfc3339()),
        v.locked_until
            .map_or_else(|| "-".into(), |t| t.to_rfc3339()),
    ]
}

fn as_json(v: &OperatorView) -> serde_json::Value {
    serde_json::json!({
        "id": v.user.id,
        "username": v.user.username,
        "email": v.user.email,
        "role": role_str(v.user.role),
        "federated": v.user.federated,
        "mfa": v.user.mfa.as_str(),
        "providers": v.user.providers,
        "last_login_at": v.user.last_login_at.map(|t| t.to_rfc3339()),
        "locked_until": v.locked_until.map(|t| t.to_rfc3339()),
    })
}

/// Waits (a few seconds at most) for the notices the command queued to be delivered: the
/// process ends right after.
pub(crate) async fn deliver_mail(tf: &Twofold) {
    let wait = std::time::Duration::from_secs(10);
    if tokio::time::timeout(wait, tf.mailer().idle())
        .await
        .is_err()
    {
        eprintln!("twofold: the notice to the user is still queued; check the mail settings");
    }
}
