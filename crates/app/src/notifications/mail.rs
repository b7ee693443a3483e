//! E-mail goes through an outbox table first, so nothing is lost if SMTP is down or the process stops:
//! with SMTP configured a `mail.deliver` job sends each message (with retries); without it messages stay
//! in the outbox with status `kept`, and `brigade mail outbox` prints them.

use std::sync::Arc;

use async_trait::async_trait;
use brigade_platform::config::{SmtpConfig, SmtpSecurity};
use brigade_platform::jobs::{JobFailure, JobHandler, NewJob};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::entities::mail_outbox;
use crate::http::error::ApiError;
use crate::state::AppState;

pub const DELIVER_JOB: &str = "mail.deliver";

#[derive(Clone)]
pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    Outbox,
}

impl Mailer {
    pub fn from_config(config: Option<&SmtpConfig>) -> Result<Mailer, String> {
        let Some(config) = config else {
            return Ok(Mailer::Outbox);
        };
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("smtp.from {:?}: {e}", config.from))?;
        let builder = match config.security {
            SmtpSecurity::Starttls => {
                AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)
            }
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                &config.host,
            )),
        }
        .map_err(|e| format!("smtp.host {:?}: {e}", config.host))?;
        let mut builder = builder.port(config.port);
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Mailer::Smtp {
            transport: builder.build(),
            from,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct DeliverPayload {
    outbox_id: Uuid,
}

/// Queue an e-mail: stored at once, delivered by a job when SMTP is configured.
pub async fn send(state: &AppState, to: &str, subject: &str, body: &str) -> Result<(), ApiError> {
    let queued = record(&state.db, state, to, subject, body).await?;
    dispatch(state, queued).await
}

/// An e-mail written to the outbox inside the caller's transaction (so it exists exactly when what it
/// announces does); [`dispatch`] it after the commit.
#[must_use = "dispatch the e-mail after the transaction commits"]
pub struct Queued {
    id: Uuid,
    to: String,
    subject: String,
}

/// Write an e-mail into the outbox on `db` (a transaction or the pool).
pub async fn record<C: sea_orm::ConnectionTrait>(
    db: &C,
    state: &AppState,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<Queued, ApiError> {
    let smtp = matches!(state.mailer, Mailer::Smtp { .. });
    let id = Uuid::now_v7();
    mail_outbox::ActiveModel {
        id: Set(id),
        to_address: Set(to.to_string()),
        subject: Set(subject.to_string()),
        body: Set(body.to_string()),
        status: Set(if smtp { "pending" } else { "kept" }.to_string()),
        attempts: Set(0),
        last_error: Set(None),
        created_at: Set(state.now()),
        sent_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(Queued {
        id,
        to: to.to_string(),
        subject: subject.to_string(),
    })
}

/// Start delivering a recorded e-mail (a job with retries when SMTP is configured; otherwise it stays
/// in the outbox).
pub async fn dispatch(state: &AppState, queued: Queued) -> Result<(), ApiError> {
    if matches!(state.mailer, Mailer::Smtp { .. }) {
        let payload = serde_json::to_value(DeliverPayload {
            outbox_id: queued.id,
        })
        .map_err(ApiError::internal)?;
        state
            .jobs
            .enqueue(
                NewJob::new(DELIVER_JOB, payload)
                    .dedup_key(format!("mail:{}", queued.id))
                    .max_attempts(8),
            )
            .await
            .map_err(ApiError::internal)?;
    } else {
        tracing::info!(
            to = queued.to,
            subject = queued.subject,
            "no SMTP configured: e-mail kept in the outbox (brigade mail outbox)"
        );
    }
    Ok(())
}

pub struct DeliverMail(pub AppState);

#[async_trait]
impl JobHandler for DeliverMail {
    async fn run(&self, payload: serde_json::Value) -> Result<(), JobFailure> {
        let state = &self.0;
        let payload: DeliverPayload =
            serde_json::from_value(payload).map_err(|e| JobFailure::Fatal(e.to_string()))?;
        let row = mail_outbox::Entity::find_by_id(payload.outbox_id)
            .one(&state.db)
            .await
            .map_err(|e| JobFailure::Retry(e.to_string()))?
            .ok_or_else(|| JobFailure::Fatal("outbox message is gone".into()))?;
        if row.status == "sent" {
            return Ok(());
        }
        let Mailer::Smtp { transport, from } = &state.mailer else {
            return Err(JobFailure::Fatal(
                "SMTP is not configured in this process".into(),
            ));
        };
        let to: Mailbox = row
            .to_address
            .parse()
            .map_err(|e| JobFailure::Fatal(format!("bad address: {e}")))?;
        let message = Message::builder()
            .from(from.clone())
            .to(to)
            .subject(row.subject.clone())
            .body(row.body.clone())
            .map_err(|e| JobFailure::Fatal(e.to_string()))?;
        let result = transport.send(message).await;
        let mut active: mail_outbox::ActiveModel = row.clone().into();
        active.attempts = Set(row.attempts + 1);
        match result {
            Ok(_) => {
                active.status = Set("sent".into());
                active.sent_at = Set(Some(state.now()));
                active.last_error = Set(None);
                active
                    .update(&state.db)
                    .await
                    .map_err(|e| JobFailure::Retry(e.to_string()))?;
                Ok(())
            }
            Err(err) => {
                active.status = Set("failed".into());
                active.last_error = Set(Some(err.to_string()));
                active
                    .update(&state.db)
                    .await
                    .map_err(|e| JobFailure::Retry(e.to_string()))?;
                Err(JobFailure::Retry(format!("SMTP delivery failed: {err}")))
            }
        }
    }
}

pub fn handler(state: &AppState) -> Arc<dyn JobHandler> {
    Arc::new(DeliverMail(state.clone()))
}
