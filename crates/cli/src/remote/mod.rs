//! The commands that talk to a Twofold server over its API, through `twofold-client`, as
//! the signed-in user: never the database. Each turns its arguments into API calls and
//! their answers into output; the rules stay on the server.

mod account;
mod context;
mod federated;
mod loopback;
mod mfa;
mod org;
mod qr;
mod second_factor;
mod session_file;
mod signin;
mod term;

use crate::args::{Command, Output};
use crate::failure::Failure;
use context::Ctx;

/// Runs `cmd`, one of this module's commands.
pub fn run(cmd: Command, out: Output) -> Result<(), Failure> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cmd {
            Command::Login(a) => {
                let mut ctx = Ctx::new(&a.remote, out)?;
                match a.sso {
                    Some(provider) => account::login_sso(&mut ctx, a.org, provider).await,
                    None => account::login(&mut ctx, a.org, a.username).await,
                }
            }
            Command::Logout(a) => account::logout(&mut Ctx::new(&a.remote, out)?).await,
            Command::Whoami(a) => account::whoami(&mut Ctx::new(&a.remote, out)?).await,
            Command::Mfa(a) => mfa::run(&mut Ctx::new(&a.remote, out)?, a.command).await,
            Command::RecoveryCodes(a) => {
                account::recovery_codes(&mut Ctx::new(&a.remote, out)?, a.command).await
            }
            Command::Sessions(a) => {
                account::sessions(&mut Ctx::new(&a.remote, out)?, a.command).await
            }
            Command::Devices(a) => {
                account::devices(&mut Ctx::new(&a.remote, out)?, a.command).await
            }
            Command::Org(cmd) => org::run(cmd, out).await,
            Command::Serve { .. }
            | Command::User(_)
            | Command::Oidc(_)
            | Command::SecretKey(_)
            | Command::Backup { .. }
            | Command::Restore(_)
            | Command::Completions { .. } => Err(Failure::usage("not a server command")),
        }
    })
}
