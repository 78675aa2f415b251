//! What every command that talks to a server shares: the server, the kept session, the
//! terminal, and [`Ctx::call`], which runs one API call and takes care of what a person
//! should not have to: signing in when there is no session or it has expired (then the
//! command carries on), and passing a second factor again when a change needs a fresh
//! one (`step_up_required`): a code here, or, for a federated user, a sign-in again at
//! the identity provider in a browser, whose elevated token goes with the retried call.

use twofold_client::Client;
use twofold_proto::{ErrorCode, FactorStatus, FactorType, Method};

use super::federated;
use super::second_factor::{self, Choices};
use super::session_file::{Saved, SessionFile};
use super::signin::{self, Who};
use super::term::Term;
use crate::args::{Output, Remote};
use crate::failure::{Failure, from_client};

pub struct Ctx {
    pub term: Term,
    pub out: Output,
    /// The server's address as given, without a trailing `/`: the session file's key.
    server: String,
    file: SessionFile,
    saved: Option<Saved>,
    /// Without a session token.
    anonymous: Client,
    /// An elevated token from a federated step-up of this session, sent with every call.
    elevated: Option<String>,
}

impl Ctx {
    pub fn new(remote: &Remote, out: Output) -> Result<Ctx, Failure> {
        let server = remote.server.trim_end_matches('/').to_owned();
        if !(server.starts_with("http://") || server.starts_with("https://")) {
            return Err(Failure::usage(format!(
                "--server {server}: give the server's address as http://host:port or https://host"
            )));
        }
        let file = SessionFile::locate()?;
        let saved = file.get(&server)?;
        Ok(Ctx {
            term: Term::new(
                remote.password_stdin,
                remote.code_stdin,
                out == Output::Json,
            ),
            out,
            anonymous: Client::for_prompts(server.clone()),
            server,
            file,
            saved,
            elevated: None,
        })
    }

    pub fn server(&self) -> &str {
        &self.server
    }

    pub fn saved(&self) -> Option<&Saved> {
        self.saved.as_ref()
    }

    /// A client carrying the session, if there is one (and the elevated token of a
    /// federated step-up, if one was passed).
    pub fn client(&self) -> Client {
        let client = self.session_client();
        match &self.elevated {
            Some(e) => client.with_elevated(e),
            None => client,
        }
    }

    fn session_client(&self) -> Client {
        match &self.saved {
            Some(s) => self.anonymous.with_token(&s.session_token),
            None => self.anonymous.clone(),
        }
    }

    /// Signs in (asking for what `who` lacks) and keeps the session.
    pub async fn sign_in(
        &mut self,
        org: Option<String>,
        username: Option<String>,
    ) -> Result<&Saved, Failure> {
        let last = self.saved.take();
        let who = Who {
            org,
            username,
            last: last.as_ref(),
        };
        let saved = signin::sign_in(&mut self.term, &self.anonymous, who).await?;
        self.keep(saved, last).await
    }

    /// Signs in through the organisation's identity provider `provider` in a browser
    /// (asking for the organisation if missing) and keeps the session.
    pub async fn sign_in_sso(
        &mut self,
        org: Option<String>,
        provider: &str,
    ) -> Result<&Saved, Failure> {
        let last = self.saved.take();
        let org = match org {
            Some(o) => o,
            None => self
                .term
                .ask("Organisation", last.as_ref().map(|s| s.org.as_str()))?,
        };
        let saved = federated::sign_in(&self.term, &self.anonymous, &org, provider).await?;
        self.keep(saved, last).await
    }

    /// Keeps a new session, in place of `last`.
    async fn keep(&mut self, saved: Saved, last: Option<Saved>) -> Result<&Saved, Failure> {
        self.file.put(&self.server, Some(&saved))?;
        // An elevated token belongs to the session that passed the step-up.
        self.elevated = None;
        // The session this one replaces is ended, not left to run unseen until it expires
        // (best effort: it may have expired already).
        if let Some(old) = last.filter(|l| l.session_token != saved.session_token) {
            let _ = self.anonymous.with_token(&old.session_token).logout().await;
        }
        Ok(self.saved.insert(saved))
    }

    /// Asks for codes until `submit` takes one ([`second_factor::until_accepted`]), passing
    /// a second factor again when the server asks for a fresh one meanwhile: the second
    /// request of a guarded change (an app's first code, a mailed confirmation) is guarded
    /// too, and a person slow at the prompt may outlast the 10 minutes.
    pub async fn until_accepted<T>(
        &mut self,
        prompt: &str,
        submit: impl AsyncFn(&str) -> twofold_client::Result<T>,
    ) -> Result<T, Failure> {
        let mut stepped_up = false;
        loop {
            match second_factor::until_accepted(&mut self.term, prompt, &submit).await {
                Err(f) if f.code == ErrorCode::StepUpRequired.as_str() && !stepped_up => {
                    stepped_up = true;
                    self.step_up().await?;
                }
                other => return other,
            }
        }
    }

    /// Forgets the kept session (it was ended, here or by the server).
    pub fn forget(&mut self) -> Result<(), Failure> {
        self.saved = None;
        self.elevated = None;
        self.file.put(&self.server, None)
    }

    /// Runs `f` with the session, signing in first when there is none, again when it has
    /// expired, and passing a second factor again when the server asks for a fresh one.
    pub async fn call<T>(
        &mut self,
        f: impl AsyncFn(&Client) -> twofold_client::Result<T>,
    ) -> Result<T, Failure> {
        if self.saved.is_none() {
            self.sign_in_again("You are not signed in to this server: sign in.")
                .await?;
        }
        let (mut signed_in, mut stepped_up) = (false, false);
        loop {
            let client = self.client();
            match f(&client).await {
                Err(e) if e.code() == Some(ErrorCode::Unauthenticated) && !signed_in => {
                    signed_in = true;
                    self.sign_in_again("Your session has expired: sign in again.")
                        .await?;
                }
                Err(e) if e.code() == Some(ErrorCode::StepUpRequired) && !stepped_up => {
                    stepped_up = true;
                    self.step_up().await?;
                }
                other => return other.map_err(from_client),
            }
        }
    }

    async fn sign_in_again(&mut self, why: &str) -> Result<(), Failure> {
        // A session from the identity provider is renewed there, by a person at a
        // browser: a script is not kept waiting for one.
        if let Some((org, provider)) = self
            .saved
            .as_ref()
            .and_then(|s| Some((s.org.clone(), s.provider.clone()?)))
        {
            if !self.term.interactive() {
                self.forget()?;
                return Err(Failure::new(
                    "unauthenticated",
                    format!(
                        "the session at {} has expired: run `twofold login --sso {provider} \
                         --org {org}`",
                        self.server
                    ),
                ));
            }
            self.term.say(why);
            return self.sign_in_sso(Some(org), &provider).await.map(|_| ());
        }
        // Without a session to take them from, the organisation and username are asked
        // for too, which needs a terminal.
        if !self.term.can_ask_password() || (self.saved.is_none() && !self.term.interactive()) {
            if self.saved.is_some() {
                self.forget()?;
            }
            return Err(Failure::new(
                "unauthenticated",
                format!(
                    "not signed in to {} (or the session expired): run `twofold login`",
                    self.server
                ),
            ));
        }
        self.term.say(why);
        let (org, username) = match &self.saved {
            Some(s) => (Some(s.org.clone()), Some(s.username.clone())),
            None => (None, None),
        };
        self.sign_in(org, username).await.map(|_| ())
    }

    /// Passes a step-up for a guarded change: a second factor here, or a federated user's
    /// sign-in again at the identity provider (whose elevated token goes with the next
    /// calls).
    async fn step_up(&mut self) -> Result<(), Failure> {
        let me = self.session_client().me().await.map_err(from_client)?;
        if !me.federated {
            return self.pass_second_factor().await;
        }
        let token = federated::step_up(&self.term, &self.session_client(), &self.anonymous).await?;
        self.elevated = Some(token);
        Ok(())
    }

    /// Passes a second factor with this session (`POST /me/session/mfa`), which makes it
    /// fresh for the next 10 minutes of guarded changes.
    async fn pass_second_factor(&mut self) -> Result<(), Failure> {
        let client = self.client();
        let factors = client.factors().await.map_err(from_client)?;
        let active: Vec<_> = factors
            .iter()
            .filter(|f| f.status == FactorStatus::Active)
            .collect();
        let Some(first) = active.iter().find(|f| f.preferred).or(active.first()) else {
            return Err(Failure::new(
                "enrollment_required",
                "this change needs a second factor and you have none: add one with \
                 `twofold mfa add-app` first",
            ));
        };
        let mut methods = Vec::new();
        for t in [FactorType::Totp, FactorType::Email] {
            if active.iter().any(|f| f.factor_type == t) {
                methods.push(signin::method_of(t));
            }
        }
        let remaining = client
            .recovery_codes_status()
            .await
            .map_err(from_client)?
            .remaining;
        if remaining > 0 {
            methods.push(Method::RecoveryCode);
        }
        self.term.say("This change needs your second factor again.");
        let choices = Choices {
            methods,
            current: signin::method_of(first.factor_type),
            sent_to: None,
        };
        second_factor::ask(
            &mut self.term,
            choices,
            async |method, code| client.pass_second_factor(method, code).await,
            async || client.send_step_up_email_code().await,
        )
        .await
        .map(|_| ())
    }
}
