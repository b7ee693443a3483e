//! Online payments through a provider interface. A provider starts a payment for an order (a reference
//! and a checkout URL the customer is sent to) and later reports the outcome to a webhook, whose
//! signature it verifies before Brigade believes it.
//!
//! The provider shipped here is `signed-webhook`: any payment service that posts
//! `{"reference", "status": "succeeded"|"failed", "amount", "currency"}` with the header
//! `Brigade-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" under the shared secret>`
//! (the scheme Stripe uses), configured with `BRIGADE_PAYMENTS__WEBHOOK_SECRET` and
//! `BRIGADE_PAYMENTS__CHECKOUT_URL`. Signatures older than five minutes are refused, so a captured
//! webhook cannot be replayed later.

use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;

use crate::http::error::ApiError;

pub const SIGNATURE_HEADER: &str = "brigade-signature";
const TOLERANCE_SECS: i64 = 300;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PaymentSession {
    pub provider: String,
    /// The provider's reference for this payment (also stored on the order).
    pub reference: String,
    /// Where to send the customer to pay.
    pub checkout_url: String,
}

/// What a verified webhook says.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct PaymentEvent {
    pub reference: String,
    /// `succeeded` or `failed`.
    pub status: String,
    #[schema(value_type = String)]
    pub amount: Decimal,
    pub currency: String,
}

pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &'static str;
    fn start(&self, order_id: uuid::Uuid, amount: Decimal, currency: &str) -> PaymentSession;
    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, ApiError>;
}

pub struct SignedWebhookProvider {
    secret: SecretString,
    checkout_url: String,
}

impl SignedWebhookProvider {
    pub fn new(secret: SecretString, checkout_url: String) -> Self {
        SignedWebhookProvider {
            secret,
            checkout_url,
        }
    }

    /// The header value for `body` signed at `t` (what the payment service sends).
    pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
    }
}

fn bad_signature(message: &str) -> ApiError {
    ApiError::unauthorized("invalid_signature", message.to_string())
}

impl PaymentProvider for SignedWebhookProvider {
    fn name(&self) -> &'static str {
        "signed-webhook"
    }

    fn start(&self, order_id: uuid::Uuid, amount: Decimal, currency: &str) -> PaymentSession {
        let reference = format!("pay_{}", uuid::Uuid::now_v7().simple());
        let separator = if self.checkout_url.contains('?') {
            '&'
        } else {
            '?'
        };
        PaymentSession {
            provider: self.name().to_string(),
            checkout_url: format!(
                "{}{separator}reference={reference}&order={order_id}&amount={amount}&currency={currency}",
                self.checkout_url
            ),
            reference,
        }
    }

    fn verify_webhook(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<PaymentEvent, ApiError> {
        let header = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| bad_signature("the Brigade-Signature header is missing"))?;
        let mut t = None;
        let mut signatures = Vec::new();
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => signatures.push(v.to_string()),
                _ => {}
            }
        }
        let t = t.ok_or_else(|| bad_signature("the signature has no timestamp"))?;
        if (now.timestamp() - t).abs() > TOLERANCE_SECS {
            return Err(bad_signature("the signature is too old or from the future"));
        }
        let expected = {
            let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes())
                .expect("any key length");
            mac.update(t.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            mac
        };
        let valid = signatures.iter().any(|s| {
            hex::decode(s)
                .map(|bytes| expected.clone().verify_slice(&bytes).is_ok())
                .unwrap_or(false)
        });
        if !valid {
            return Err(bad_signature("the signature does not match"));
        }
        crate::http::extract::parse_json::<PaymentEvent>(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fresh_correct_signatures_pass() {
        let provider = SignedWebhookProvider::new(
            SecretString::from("whsec-test"),
            "https://pay.example/checkout".into(),
        );
        let now = Utc::now();
        let body =
            br#"{"reference":"pay_1","status":"succeeded","amount":"12.50","currency":"GBP"}"#;
        let mut headers = HeaderMap::new();
        headers.insert(
            SIGNATURE_HEADER,
            SignedWebhookProvider::sign("whsec-test", now.timestamp(), body)
                .parse()
                .unwrap(),
        );
        let event = provider.verify_webhook(&headers, body, now).unwrap();
        assert_eq!(event.reference, "pay_1");
        assert_eq!(event.amount.to_string(), "12.50");

        // Tampered body, wrong secret, stale timestamp.
        assert!(provider.verify_webhook(&headers, b"{}", now).is_err());
        headers.insert(
            SIGNATURE_HEADER,
            SignedWebhookProvider::sign("other", now.timestamp(), body)
                .parse()
                .unwrap(),
        );
        assert!(provider.verify_webhook(&headers, body, now).is_err());
        headers.insert(
            SIGNATURE_HEADER,
            SignedWebhookProvider::sign("whsec-test", now.timestamp() - 600, body)
                .parse()
                .unwrap(),
        );
        assert!(provider.verify_webhook(&headers, body, now).is_err());
    }
}
