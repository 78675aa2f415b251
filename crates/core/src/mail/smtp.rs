//! Delivery to a real SMTP server (lettre over rustls): STARTTLS (required, never
//! opportunistic), implicit TLS or, for a relay on the same host, plain SMTP; AUTH when a
//! username is configured. Certificates are checked against the system's roots plus an
//! optional CA file, for relays with a private CA.

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

use super::MailError;
use crate::config::{SmtpConfig, SmtpSecurity};

pub type SmtpTransport = AsyncSmtpTransport<Tokio1Executor>;

/// The transport for `config`. Fails on a CA file that holds no usable certificate.
pub fn transport(config: &SmtpConfig) -> Result<SmtpTransport, MailError> {
    let tls = || -> Result<TlsParameters, MailError> {
        let mut params = TlsParameters::builder(config.host.clone());
        if let Some(pem) = &config.ca_pem {
            let cert = Certificate::from_pem(pem)
                .map_err(|e| MailError::SmtpConfig(format!("smtp.ca_file: {e}")))?;
            params = params.add_root_certificate(cert);
        }
        params
            .build_rustls()
            .map_err(|e| MailError::SmtpConfig(e.to_string()))
    };
    let tls = match config.security {
        SmtpSecurity::StartTls => Tls::Required(tls()?),
        SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
        .port(config.port)
        .tls(tls)
        .timeout(Some(config.timeout));
    if let (Some(user), Some(password)) = (&config.username, &config.password) {
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose_secret().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// Sends one message; sorts failures into those worth retrying and those that are not.
pub async fn send(transport: &SmtpTransport, message: Message) -> Result<(), MailError> {
    match transport.send(message).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_permanent() => Err(MailError::Refused(e.to_string())),
        Err(e) => Err(MailError::Transient(e.to_string())),
    }
}
