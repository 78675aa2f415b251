//! `twofold oidc …`: an organisation's identity providers (OpenID Connect), set up by the
//! operator on the server's machine, the way its owners do from the web console. Each
//! command is one domain call (`operator_*_oidc_provider`), audited as the operator; the
//! checks (issuer, names, domains, a secret for a new provider) are the domain's.
//!
//! The client secret is sealed under the server's key, so `set` opens the database as
//! `serve` does (loading and checking the key), not with the admin commands' stand-in.
//! The secret is read from standard input, never from the command line, and never shown.

use std::sync::Arc;

use twofold_server::domain::federation::providers::{OidcProvider, ProviderSettings};
use twofold_server::{Config, SystemClock, Twofold};

use super::break_glass::operator;
use crate::args::{OidcCommand, OidcSet, Output};
use crate::failure::Failure;
use crate::output;

pub(super) async fn run(cmd: OidcCommand, config: &Config, out: Output) -> Result<(), Failure> {
    match cmd {
        OidcCommand::List { org, .. } => {
            let tf = super::open(config).await?;
            let providers = tf.operator_oidc_providers(&org).await?;
            let list: Vec<twofold_proto::OidcProvider> =
                providers.iter().map(|p| as_proto(&tf, &org, p)).collect();
            output::print(out, &list, |list| {
                let redirect = tf.oidc_redirect_uri();
                if list.is_empty() {
                    println!(
                        "{org} has no identity provider: add one with `twofold oidc set {org} \
                         NAME --issuer URL --client-id ID --client-secret-stdin`."
                    );
                } else {
                    let rows: Vec<[String; 5]> = list
                        .iter()
                        .map(|p| {
                            [
                                p.name.clone(),
                                p.issuer.clone(),
                                p.client_id.clone(),
                                users_text(p.create_users).to_owned(),
                                domains_text(&p.allowed_email_domains),
                            ]
                        })
                        .collect();
                    output::table(
                        ["NAME", "ISSUER", "CLIENT ID", "USERS", "EMAIL DOMAINS"],
                        &rows,
                    );
                }
                println!("\nRedirect URI to register at the provider: {redirect}");
            })
        }
        OidcCommand::Set(s) => set(s, config, out).await,
        OidcCommand::Remove { org, name, .. } => {
            let tf = super::open(config).await?;
            tf.operator_delete_oidc_provider(&org, &name, &operator())
                .await?;
            let result = serde_json::json!({ "org": org, "removed": name });
            output::print(out, &result, |_| {
                println!(
                    "Identity provider {name} of {org} removed. Its users stay, but cannot sign \
                     in until a provider is configured again."
                );
            })
        }
    }
}

async fn set(s: OidcSet, config: &Config, out: Output) -> Result<(), Failure> {
    let client_secret = if s.client_secret_stdin {
        Some(super::read_stdin_line(
            "--client-secret-stdin",
            "client secret",
        )?)
    } else {
        None
    };
    let settings = ProviderSettings {
        issuer: s.issuer,
        client_id: s.client_id,
        client_secret,
        scopes: Some(s.scopes).filter(|v| !v.is_empty()),
        username_claim: s.username_claim,
        allowed_email_domains: Some(s.allowed_domains).filter(|v| !v.is_empty()),
        create_users: Some(s.create_users),
        link_by_email: Some(s.link_by_email),
    };
    let tf = twofold_server::open(config, Arc::new(SystemClock)).await?;
    let existed = tf
        .operator_oidc_providers(&s.org)
        .await?
        .iter()
        .any(|p| p.name == s.name);
    let saved = tf
        .operator_put_oidc_provider(&s.org, &s.name, settings, &operator())
        .await?;
    let p = as_proto(&tf, &s.org, &saved);
    output::print(out, &p, |p| {
        let done = if existed { "replaced" } else { "added" };
        println!("Identity provider {} of {} {done}:", p.name, s.org);
        let scopes = std::iter::once("openid")
            .chain(p.scopes.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ");
        let rows = [
            ("issuer", p.issuer.clone()),
            ("client id", p.client_id.clone()),
            ("scopes", scopes),
            ("username claim", p.username_claim.clone()),
            ("users", users_text(p.create_users).to_owned()),
            ("email domains", domains_text(&p.allowed_email_domains)),
            ("link by email", yes_no(p.link_by_email).to_owned()),
            ("sign-in page", p.sign_in_url.clone()),
        ];
        for (label, value) in rows {
            println!("  {label:<15} {value}");
        }
        println!(
            "Register this redirect URI at the provider: {}",
            p.redirect_uri
        );
    })
}

/// The provider as the API shows it (`GET /orgs/{org}/oidc-providers`): the same JSON for
/// scripts either way. Never the client secret, which the domain does not give back.
fn as_proto(tf: &Twofold, org: &str, p: &OidcProvider) -> twofold_proto::OidcProvider {
    twofold_proto::OidcProvider {
        name: p.name.clone(),
        issuer: p.issuer.clone(),
        client_id: p.client_id.clone(),
        scopes: p.scopes.clone(),
        username_claim: p.username_claim.clone(),
        allowed_email_domains: p.allowed_email_domains.clone(),
        create_users: p.create_users,
        link_by_email: p.link_by_email,
        redirect_uri: p.redirect_uri.clone(),
        sign_in_url: format!("{}/auth/oidc/{org}/{}/start", tf.public_url(), p.name),
        created_at: p.created_at.to_rfc3339(),
        updated_at: p.updated_at.to_rfc3339(),
    }
}

fn users_text(create_users: bool) -> &'static str {
    if create_users {
        "created on first sign-in"
    } else {
        "existing only"
    }
}

fn domains_text(domains: &[String]) -> String {
    if domains.is_empty() {
        "any".to_owned()
    } else {
        domains.join(", ")
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}
