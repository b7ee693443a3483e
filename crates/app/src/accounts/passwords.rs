//! Password hashing with Argon2id, off the async threads.

use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use crate::http::error::ApiError;

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 128;

/// A password that meets the policy; the only way to get one is [`Password::parse`].
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str) -> Result<Password, String> {
        let chars = raw.chars().count();
        if chars < MIN_LEN {
            return Err(format!("must be at least {MIN_LEN} characters"));
        }
        if chars > MAX_LEN {
            return Err(format!("must be at most {MAX_LEN} characters"));
        }
        if crate::http::text::trimmed(raw).is_empty() {
            return Err("must not be only spaces".into());
        }
        Ok(Password(raw.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub async fn hash(password: &Password) -> Result<String, ApiError> {
    let raw = password.0.clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(raw.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(ApiError::internal)
}

/// Checks `password` against `stored`. With `stored = None` (unknown user) it still does the work of a
/// verification, so response times do not reveal which e-mail addresses exist.
pub async fn verify(password: &str, stored: Option<&str>) -> bool {
    const DECOY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$7bOJ+OQZbNHJkJcdz1KfHVLWGcQ1ZwKz9m0vKQ5tP2g";
    let raw = password.to_string();
    let hash = stored.unwrap_or(DECOY).to_string();
    let known = stored.is_some();
    tokio::task::spawn_blocking(move || {
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(raw.as_bytes(), &parsed)
            .is_ok()
            && known
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let password = Password::parse("correct horse").unwrap();
        let stored = hash(&password).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse", Some(&stored)).await);
        assert!(!verify("wrong horse", Some(&stored)).await);
        assert!(!verify("correct horse", None).await);
    }

    #[test]
    fn policy() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("        ").is_err());
        assert!(Password::parse("long enough").is_ok());
    }
}
