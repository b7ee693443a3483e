//! One storage abstraction for uploaded files (venue logos, menu images): a directory under the data
//! directory by default, an S3-compatible bucket when `storage.s3` is configured. Files are served back
//! through Brigade at `/media/<key>`, so links stay the same whichever backend holds them.

use std::sync::Arc;

use brigade_platform::config::Config;
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::ExposeSecret;

use crate::http::error::ApiError;

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    pub backend: &'static str,
}

impl Storage {
    pub fn from_config(config: &Config) -> Result<Storage, String> {
        match &config.storage.s3 {
            Some(s3) => {
                let mut builder = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region)
                    .with_allow_http(s3.allow_http);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint);
                }
                if let Some(key) = &s3.access_key_id {
                    builder = builder.with_access_key_id(key);
                }
                if let Some(secret) = &s3.secret_access_key {
                    builder = builder.with_secret_access_key(secret.expose_secret());
                }
                let store = builder.build().map_err(|e| format!("S3 storage: {e}"))?;
                Ok(Storage {
                    store: Arc::new(store),
                    backend: "s3",
                })
            }
            None => {
                let dir = config.data_dir.join("media");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let store = LocalFileSystem::new_with_prefix(&dir)
                    .map_err(|e| format!("local storage at {}: {e}", dir.display()))?;
                Ok(Storage {
                    store: Arc::new(store),
                    backend: "local",
                })
            }
        }
    }

    fn path(key: &str) -> Result<Path, ApiError> {
        Path::parse(key).map_err(|_| ApiError::not_found("file"))
    }

    pub async fn put(&self, key: &str, bytes: Bytes) -> Result<(), ApiError> {
        self.store
            .put(&Self::path(key)?, PutPayload::from_bytes(bytes))
            .await
            .map_err(ApiError::internal)?;
        Ok(())
    }

    /// The file under `key`; `None` when there is none, including for a key no file could have (`.`,
    /// `..`, empty parts).
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, ApiError> {
        let Ok(path) = Self::path(key) else {
            return Ok(None);
        };
        match self.store.get(&path).await {
            Ok(result) => Ok(Some(result.bytes().await.map_err(ApiError::internal)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(err) => Err(ApiError::internal(err)),
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), ApiError> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(err) => Err(ApiError::internal(err)),
        }
    }
}

/// The `file` field of a multipart upload, which must be an image: (bytes, extension). Errors are
/// enveloped: 400 for an unreadable body, 413 over the size limit, 422 naming `file` otherwise.
pub async fn read_image_upload(
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<(Bytes, &'static str), ApiError> {
    use axum::http::StatusCode;
    let unreadable = |status: StatusCode, e: String| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            ApiError::bad_request("invalid_body", format!("unreadable upload: {e}"))
        }
    };
    let mut multipart = multipart.map_err(|_| {
        ApiError::bad_request(
            "invalid_body",
            "send the image as multipart/form-data with a field named file",
        )
    })?;
    let mut file: Option<Bytes> = None;
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| unreadable(e.status(), e.to_string()))?
    {
        match field.name() {
            Some("file") => {
                file = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| unreadable(e.status(), e.to_string()))?,
                )
            }
            // As a JSON body with an unknown field: said, not silently dropped.
            other => {
                return Err(ApiError::field(
                    other.unwrap_or("body"),
                    "is not a field of this upload (send only `file`)",
                ));
            }
        }
    }
    let file = file.ok_or_else(|| ApiError::field("file", "is required"))?;
    let ext = sniff_image(&file)
        .ok_or_else(|| ApiError::field("file", "must be a PNG, JPEG, WebP or GIF image"))?;
    Ok((file, ext))
}

/// Where a stored file is served.
pub fn public_url(key: &str) -> String {
    format!("/media/{key}")
}

/// The content type of a stored file, from its extension.
pub fn content_type(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or_default() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Recognise an uploaded image by its first bytes; returns its extension.
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("jpg")
    } else if bytes.len() > 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("webp")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("gif")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_storage_round_trips_files() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            ..Config::default()
        };
        let storage = Storage::from_config(&config).unwrap();
        storage
            .put(
                "venues/a/logo.png",
                Bytes::from_static(b"\x89PNG\r\n\x1a\nrest"),
            )
            .await
            .unwrap();
        assert!(dir.path().join("media/venues/a/logo.png").exists());
        let back = storage.get("venues/a/logo.png").await.unwrap().unwrap();
        assert_eq!(sniff_image(&back), Some("png"));
        storage.delete("venues/a/logo.png").await.unwrap();
        assert!(storage.get("venues/a/logo.png").await.unwrap().is_none());
        assert_eq!(content_type("x/y.webp"), "image/webp");
    }
}
