//! Access tokens (HS256 JWTs), opaque random tokens (refresh, reset, API keys, sessions) and their hashes.

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::Role;
use crate::http::error::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    pub jti: Uuid,
    pub iss: String,
    /// The sign-in the token belongs to (its refresh-token family): signing out, changing the password
    /// or being deactivated ends it, and with it every access token issued under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

const ISSUER: &str = "brigade";

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
}

impl TokenKeys {
    pub fn new(secret: &SecretString, access_ttl: Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        // Expiry is judged against Brigade's clock in `verify`, so tests and replays control "now".
        validation.validate_exp = false;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        TokenKeys {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            access_ttl,
        }
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        role: Role,
        now: DateTime<Utc>,
        sign_in: Option<Uuid>,
    ) -> Result<(String, DateTime<Utc>), ApiError> {
        let expires = now + self.access_ttl;
        let claims = AccessClaims {
            sub: user_id,
            role,
            iat: now.timestamp(),
            exp: expires.timestamp(),
            jti: Uuid::new_v4(),
            iss: ISSUER.into(),
            sid: sign_in,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok((token, expires))
    }

    /// Checks signature, issuer and expiry; expiry against `now` (Brigade's clock).
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<AccessClaims, ApiError> {
        let claims = decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| ApiError::unauthorized("invalid_token", "the access token is invalid"))?;
        if claims.exp <= now.timestamp() {
            return Err(ApiError::unauthorized(
                "token_expired",
                "the access token has expired",
            ));
        }
        Ok(claims)
    }
}

/// A URL-safe random token of 32 bytes, with a readable prefix.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes[..]);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// Tokens are stored only as their SHA-256 (they are long and random, so no salt or stretching is needed).
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&SecretString::from("k".repeat(48)), Duration::hours(1))
    }

    #[test]
    fn issued_tokens_verify() {
        let keys = keys();
        let id = Uuid::new_v4();
        let (token, expires) = keys.issue(id, Role::Kam, Utc::now(), None).unwrap();
        let claims = keys.verify(&token, Utc::now()).unwrap();
        assert_eq!(claims.sub, id);
        assert_eq!(claims.role, Role::Kam);
        assert_eq!(claims.exp, expires.timestamp());
    }

    #[test]
    fn expired_tampered_and_foreign_tokens_are_refused() {
        let keys = keys();
        let (old, _) = keys
            .issue(
                Uuid::new_v4(),
                Role::Admin,
                Utc::now() - Duration::hours(2),
                None,
            )
            .unwrap();
        assert_eq!(
            keys.verify(&old, Utc::now()).unwrap_err().code,
            "token_expired"
        );

        let (token, _) = keys
            .issue(Uuid::new_v4(), Role::Customer, Utc::now(), None)
            .unwrap();
        let mut parts: Vec<String> = token.split('.').map(String::from).collect();
        // Claim to be an admin without re-signing.
        let forged = serde_json::json!({"sub": Uuid::new_v4(), "role": "admin", "iat": 0, "exp": 4_000_000_000i64,
            "jti": Uuid::new_v4(), "iss": "brigade"});
        parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(forged.to_string());
        assert_eq!(
            keys.verify(&parts.join("."), Utc::now()).unwrap_err().code,
            "invalid_token"
        );

        let other = TokenKeys::new(&SecretString::from("z".repeat(48)), Duration::hours(1));
        let (foreign, _) = other
            .issue(Uuid::new_v4(), Role::Admin, Utc::now(), None)
            .unwrap();
        assert_eq!(
            keys.verify(&foreign, Utc::now()).unwrap_err().code,
            "invalid_token"
        );
        assert_eq!(
            keys.verify("not-a-jwt", Utc::now()).unwrap_err().code,
            "invalid_token"
        );
    }

    #[test]
    fn random_tokens_differ_and_digest_is_stable() {
        let a = random_token("brg_");
        assert!(a.starts_with("brg_") && a.len() > 40);
        assert_ne!(a, random_token("brg_"));
        assert_eq!(digest("abc"), digest("abc"));
        assert_eq!(digest("abc").len(), 64);
    }
}
