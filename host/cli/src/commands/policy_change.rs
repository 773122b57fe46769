//! `verdict rollback` and `verdict promote`: ask a running service to
//! switch a policy back to its previous version, or to make the challenger
//! of its experiment the champion.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;
use verdict_engine::is_kebab_case;
use verdict_serve::{TOKEN_ENV, Token};

use crate::cli::PolicyChangeArgs;
use crate::exit::Status;

/// What to ask of the service.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Change {
    /// Back to the previous version.
    Rollback,
    /// The challenger becomes the champion.
    Promote,
}

impl Change {
    /// The route's last step, and the command's name.
    fn word(self) -> &'static str {
        match self {
            Change::Rollback => "rollback",
            Change::Promote => "promote",
        }
    }
}

/// Runs `verdict rollback` or `verdict promote`.
pub(crate) fn run(args: &PolicyChangeArgs, change: Change) -> anyhow::Result<Status> {
    let word = change.word();
    if !is_kebab_case(&args.policy) {
        bail!("`{}` is not a policy name (kebab-case)", args.policy);
    }
    let token = Token::from_file_or_env(args.token_file.as_deref())?.with_context(|| {
        format!("{word} needs the service's token: --token-file FILE or {TOKEN_ENV}")
    })?;
    let url = format!(
        "{}/v1/policies/{}/{word}",
        args.server.trim_end_matches('/'),
        args.policy
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .post(&url)
        .header("Authorization", &format!("Bearer {}", token.secret()))
        .send_empty()
        .with_context(|| format!("cannot reach the service at {}", args.server))?;
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .context("cannot read the service's answer")?;
    let answer: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if !status.is_success() {
        let message = answer
            .get("error")
            .and_then(Value::as_str)
            .map_or_else(|| answer.to_string(), str::to_owned);
        bail!("the service refused the {word} ({status}): {message}");
    }
    let field = |side: &str, key: &str| {
        answer
            .pointer(&format!("/{side}/{key}"))
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned()
    };
    let mut out = std::io::stdout().lock();
    let (from, to) = (
        format!(
            "{} ({})",
            field("from", "plugin_version"),
            short(&field("from", "module_sha256"))
        ),
        format!(
            "{} ({})",
            field("to", "plugin_version"),
            short(&field("to", "module_sha256"))
        ),
    );
    match change {
        Change::Rollback => writeln!(
            out,
            "{}: rolled back from {from} to {to}; {} version(s) kept",
            args.policy,
            answer.get("history").and_then(Value::as_u64).unwrap_or(0),
        )?,
        Change::Promote => writeln!(
            out,
            "{}: challenger {to} promoted over {from}; experiment {} ended (`verdict rollback {}` \
             brings it back)",
            args.policy,
            answer
                .get("experiment")
                .and_then(Value::as_str)
                .unwrap_or("?"),
            args.policy,
        )?,
    }
    writeln!(
        out,
        "params now {}",
        answer.pointer("/to/params").unwrap_or(&Value::Null)
    )?;
    Ok(Status::Success)
}

/// The first 12 hex digits of a SHA-256, enough to tell versions apart.
fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}
