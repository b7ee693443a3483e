//! E-mail delivery through the outbox and the `mail.deliver` job, against a local SMTP server that speaks
//! the protocol over TCP and records what it receives.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use brigade_app::entities::mail_outbox;
use brigade_platform::config::{SmtpConfig, SmtpSecurity};
use sea_orm::EntityTrait;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::harness::TestApp;

/// Accepts SMTP sessions and keeps each message's DATA; answers 451 to the first `fail_first` messages.
async fn smtp_sink(fail_first: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let failures = Arc::new(Mutex::new(fail_first));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let store = store.clone();
            let failures = failures.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.ok();
                while let Ok(Some(line)) = lines.next_line().await {
                    let upper = line.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("DATA") {
                        write.write_all(b"354 go ahead\r\n").await.ok();
                        let mut message = String::new();
                        while let Ok(Some(data)) = lines.next_line().await {
                            if data == "." {
                                break;
                            }
                            message.push_str(&data);
                            message.push('\n');
                        }
                        let fail = {
                            let mut left = failures.lock().unwrap();
                            if *left > 0 {
                                *left -= 1;
                                true
                            } else {
                                false
                            }
                        };
                        if fail {
                            b"451 try again later\r\n"
                        } else {
                            store.lock().unwrap().push(message);
                            b"250 queued\r\n"
                        }
                    } else if upper.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.ok();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    if write.write_all(reply).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    (port, received)
}

#[tokio::test]
async fn reset_mail_is_delivered_over_smtp_with_a_retry() {
    let (port, received) = smtp_sink(1).await;
    let app = TestApp::spawn_with(|config| {
        config.smtp = Some(SmtpConfig {
            host: "127.0.0.1".into(),
            port,
            username: None,
            password: None,
            from: "Brigade <noreply@brigade.test>".into(),
            security: SmtpSecurity::None,
        });
    })
    .await;
    app.user("smtp@example.com", Role::Customer).await;
    app.post(
        "/api/auth/password-reset",
        json!({"email": "smtp@example.com"}),
        None,
    )
    .await
    .assert_status(StatusCode::ACCEPTED);
    let queued = mail_outbox::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].status, "pending", "stored before delivery");

    // The first attempt meets a temporary failure and asks for a retry; the second goes through.
    let first = brigade_app::jobs::run_inline(&app.state).await;
    assert_eq!(first.len(), 1);
    assert!(first[0].is_err(), "a 451 is a retryable failure");
    let failed = mail_outbox::Entity::find_by_id(queued[0].id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((failed.status.as_str(), failed.attempts), ("failed", 1));
    assert!(failed.last_error.unwrap().contains("451"));

    let retry = brigade_app::jobs::registry(&app.state);
    let job = brigade_platform::jobs::JobEnvelope {
        kind: brigade_app::notifications::mail::DELIVER_JOB.into(),
        payload: json!({"outbox_id": queued[0].id}),
    };
    retry
        .dispatch(&job)
        .await
        .expect("delivered on the second attempt");
    let sent = mail_outbox::Entity::find_by_id(queued[0].id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((sent.status.as_str(), sent.attempts), ("sent", 2));
    let messages = received.lock().unwrap().clone();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].contains("To: smtp@example.com"),
        "{}",
        messages[0]
    );
    assert!(messages[0].contains("Subject: Reset your Brigade password"));
    assert!(
        messages[0].contains("reset-password?token"),
        "{}",
        messages[0]
    );

    // Delivering again is a no-op: the message is not sent twice.
    retry.dispatch(&job).await.unwrap();
    assert_eq!(received.lock().unwrap().len(), 1);
}
