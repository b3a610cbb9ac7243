//! E-mail when a job ends (kmviz 0.8's `[notif]`): to the address its submission gave, with
//! the session's link and a summary, through the configured SMTP server. A mail that cannot be
//! sent is logged; the job is not affected.

use std::time::Duration;

use app::model::session::{PairState, Session, Status};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::{Invalid, NotifConfig, SmtpSecurity};

const SUBJECT: &str = "[kmviz] session {SESSION}: {STATUS}";
const SUBJECT_FAILURE: &str = "[kmviz] session {SESSION}: {STATUS}, with failures";
const BODY: &str = "Your kmviz session {SESSION} is {STATUS}.\n\n{SUMMARY}\n\nSee it at {LINK}\n";
const BODY_FAILURE: &str =
    "Your kmviz session {SESSION} is {STATUS}: {REASON}.\n\n{SUMMARY}\n\nSee it at {LINK}\n";

/// At most this many pairs are listed in a mail's summary.
const SUMMARY_PAIRS: usize = 50;

/// Sends the mails of an instance.
#[derive(Debug)]
pub struct Notifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    sender: Mailbox,
    config: NotifConfig,
}

impl Notifier {
    /// Checks `config` and prepares its transport (no connection is made until a mail goes).
    pub fn open(config: &NotifConfig) -> Result<Notifier, Invalid> {
        let invalid = |what: &str, e: &dyn std::fmt::Display| Invalid(format!("notif.{what}: {e}"));
        if config.kind != "smtp" {
            return Err(Invalid(format!(
                "notif.type: '{}' is not supported; give `smtp`",
                config.kind
            )));
        }
        let params = &config.params;
        let sender = params
            .sender
            .parse::<Mailbox>()
            .map_err(|e| invalid("params.sender", &e))?;
        let (host, port) = match params.server.rsplit_once(':') {
            Some((host, port)) => {
                let port = port.parse().map_err(|e| invalid("params.server", &e))?;
                (host, Some(port))
            }
            None => (params.server.as_str(), None),
        };
        if host.is_empty() {
            return Err(invalid("params.server", &"give `host` or `host:port`"));
        }
        let tls = || TlsParameters::new(host.to_owned()).map_err(|e| invalid("params.server", &e));
        let (tls, default_port) = match params.security {
            SmtpSecurity::Tls => (Tls::Wrapper(tls()?), 465),
            SmtpSecurity::Starttls => (Tls::Required(tls()?), 587),
            SmtpSecurity::None => (Tls::None, 25),
        };
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port.unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(Duration::from_secs(params.timeout)));
        match (&params.user, &params.password) {
            (Some(user), Some(password)) => {
                transport = transport.credentials(Credentials::new(user.clone(), password.clone()));
            }
            (None, None) => {}
            _ => {
                return Err(invalid(
                    "params",
                    &"give both `user` and `password`, or neither",
                ));
            }
        }
        let notifier = Notifier {
            transport: transport.build(),
            sender,
            config: config.clone(),
        };
        // Every template is tried once, so that a wrong placeholder is found at start.
        let probe = Session {
            id: String::new(),
            created: 0,
            status: Status::Done,
            owner: None,
            queries: Vec::new(),
            databases: Vec::new(),
            pairs: Vec::new(),
        };
        for failed in [false, true] {
            notifier.texts(&probe, failed)?;
        }
        Ok(notifier)
    }

    /// The mailbox a submission gives, checked.
    pub fn recipient(address: &str) -> Result<Mailbox, String> {
        address
            .trim()
            .parse::<Mailbox>()
            .map_err(|e| format!("email: '{address}' is not an e-mail address ({e})"))
    }

    /// The mail for `session`, ended, to `to`.
    pub fn message(&self, session: &Session, to: Mailbox) -> Message {
        let failed = failure(session).is_some();
        let (subject, body) = self.texts(session, failed).expect("checked at start");
        Message::builder()
            .from(self.sender.clone())
            .to(to)
            .subject(subject)
            .body(body)
            .expect("a subject, a sender and a recipient")
    }

    /// Sends the mail of `session` to `to`; a failure is logged, and changes nothing else.
    pub async fn send(&self, session: &Session, to: Mailbox) {
        let address = to.email.to_string();
        match self.transport.send(self.message(session, to)).await {
            Ok(_) => tracing::info!("session {}: mail sent to {address}", session.id),
            Err(e) => tracing::error!(
                "session {}: the mail to {address} could not be sent through {}: {e}",
                session.id,
                self.config.params.server
            ),
        }
    }

    /// The subject and body of `session`'s mail.
    fn texts(&self, session: &Session, failed: bool) -> Result<(String, String), Invalid> {
        let config = &self.config;
        // Each template: its key in `[notif]`, as configured, and its default.
        let (subject, body) = if failed {
            (
                ("subject_failure", &config.subject_failure, SUBJECT_FAILURE),
                ("failure", &config.failure, BODY_FAILURE),
            )
        } else {
            (
                ("subject", &config.subject, SUBJECT),
                ("success", &config.success, BODY),
            )
        };
        let link = match &config.url {
            Some(url) => format!("{}/s/{}", url.trim_end_matches('/'), session.id),
            None => format!("/s/{} on this kmviz", session.id),
        };
        let values: Vec<(&str, String)> = [
            ("SESSION", session.id.clone()),
            ("STATUS", session.status.as_str().to_owned()),
            ("LINK", link),
            ("SUMMARY", summary(session)),
            ("REASON", failure(session).unwrap_or_default()),
        ]
        .into_iter()
        .chain(config.custom.iter().map(|(k, v)| (k.as_str(), v.clone())))
        .collect();
        let fill = |(key, configured, default): (&str, &Option<String>, &str)| {
            let template = configured.as_deref().unwrap_or(default);
            fill(template, &values).map_err(|e| Invalid(format!("notif.{key}: {e}")))
        };
        Ok((fill(subject)?, fill(body)?))
    }
}

/// `template` with each `{NAME}` replaced by its value (Python's `str.format`, as kmviz 0.8
/// fills its templates; `{{` and `}}` are braces).
fn fill(template: &str, values: &[(&str, String)]) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
            out.push_str(&tail[..1]);
            rest = after;
            continue;
        }
        let end = tail
            .find('}')
            .filter(|_| tail.starts_with('{'))
            .ok_or_else(|| format!("an unmatched brace in {template:?}"))?;
        let name = &tail[1..end];
        let (_, value) = values.iter().find(|(n, _)| *n == name).ok_or_else(|| {
            let known: Vec<&str> = values.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown placeholder {{{name}}}; known: {}",
                known.join(", ")
            )
        })?;
        out.push_str(value);
        rest = &tail[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Why `session` is not wholly done, if it is not.
fn failure(session: &Session) -> Option<String> {
    let failed = session
        .pairs
        .iter()
        .filter(|p| p.state == PairState::Failed)
        .count();
    match session.status {
        Status::Interrupted => Some("the server stopped before it finished".into()),
        _ if failed > 0 => Some(format!("{failed} of {} pairs failed", session.pairs.len())),
        _ => None,
    }
}

/// One line per (query, database) pair: its state and the samples found.
fn summary(session: &Session) -> String {
    let progress = session.progress();
    let mut lines = vec![format!(
        "{} queries on {} databases: {} pairs done, {} failed, {} cancelled.",
        session.queries.len(),
        session.databases.len(),
        progress.finished - progress.failed - progress.cancelled,
        progress.failed,
        progress.cancelled,
    )];
    for pair in session.pairs.iter().take(SUMMARY_PAIRS) {
        let outcome = match (&pair.result, &pair.error) {
            (Some(result), _) => format!("{} samples", result.hits.len()),
            (None, Some(error)) => format!("{}: {error}", pair.state.as_str()),
            (None, None) => pair.state.as_str().to_owned(),
        };
        lines.push(format!("- {} on {}: {outcome}", pair.query, pair.database));
    }
    if session.pairs.len() > SUMMARY_PAIRS {
        lines.push(format!(
            "- … and {} more",
            session.pairs.len() - SUMMARY_PAIRS
        ));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_filled_as_kmviz_0_8_fills_them() {
        let values = [
            ("SESSION", "s1".to_owned()),
            ("URL", "https://k".to_owned()),
        ];
        assert_eq!(
            fill("{URL}/s/{SESSION} {{x}}", &values).unwrap(),
            "https://k/s/s1 {x}"
        );
        assert_eq!(
            fill("{NOPE}", &values).unwrap_err(),
            "unknown placeholder {NOPE}; known: SESSION, URL"
        );
        assert!(fill("a } b", &values).is_err());
        assert!(fill("a { b", &values).is_err());
    }
}
