//! Venues: the QR-ordering face of the shared restaurants (not a second table). Public listing and
//! details, management by admins and the venue's managers, logos through the storage abstraction, QR codes
//! per venue and per table that open Brigade's customer page, and the venues customers keep ("stocked").
//!
//! Facade: [`qr_png`], [`qr_svg`], [`qr_url`], [`resolve_code`].

pub mod routes;

use chrono::{DateTime, Utc};
use qrcode::QrCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{qr_codes, restaurants};
use crate::http::error::ApiError;
use crate::state::AppState;

/// Characters of QR codes: no 0/O or 1/I/L, so a code read aloud or typed is unambiguous.
const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
const CODE_LENGTH: usize = 10;

pub fn new_code() -> String {
    // Rejection sampling keeps every character equally likely.
    let limit = 256 - 256 % CODE_ALPHABET.len();
    let mut code = String::with_capacity(CODE_LENGTH);
    while code.len() < CODE_LENGTH {
        let mut bytes = [0u8; 16];
        rand::fill(&mut bytes[..]);
        for b in bytes {
            if (b as usize) < limit && code.len() < CODE_LENGTH {
                code.push(CODE_ALPHABET[b as usize % CODE_ALPHABET.len()] as char);
            }
        }
    }
    code
}

/// The customer page a QR code opens.
pub fn qr_url(state: &AppState, code: &str) -> String {
    format!("{}/q/{code}", state.config.public_url.trim_end_matches('/'))
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QrCodeView {
    pub id: Uuid,
    pub venue_id: Uuid,
    #[schema(example = "K7M2Q9TXRH")]
    pub code: String,
    /// The table it belongs to; none for the venue's own code.
    pub table: Option<String>,
    /// What the code encodes: Brigade's customer page for this venue (and table).
    #[schema(example = "https://brigade.example/q/K7M2Q9TXRH")]
    pub url: String,
    /// The image as PNG (add `?format=svg` for SVG).
    pub image_url: String,
    pub created_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
}

pub fn qr_view(state: &AppState, qr: qr_codes::Model) -> QrCodeView {
    QrCodeView {
        url: qr_url(state, &qr.code),
        image_url: format!("/api/venues/{}/qr-codes/{}/image", qr.restaurant_id, qr.id),
        id: qr.id,
        venue_id: qr.restaurant_id,
        code: qr.code,
        table: qr.table_label,
        created_at: qr.created_at,
        revoked_at: qr.revoked_at,
    }
}

fn encode(url: &str) -> Result<QrCode, ApiError> {
    QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(ApiError::internal)
}

/// A PNG of the code for `url`, at least `size` pixels wide.
pub fn qr_png(url: &str, size: u32) -> Result<Vec<u8>, ApiError> {
    let image = encode(url)?
        .render::<image::Luma<u8>>()
        .min_dimensions(size, size)
        .build();
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, image::ImageFormat::Png)
        .map_err(ApiError::internal)?;
    Ok(out.into_inner())
}

/// An SVG of the code for `url`.
pub fn qr_svg(url: &str, size: u32) -> Result<String, ApiError> {
    Ok(encode(url)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(size, size)
        .build())
}

/// The live code and its venue; revoked or unknown codes are refused.
pub async fn resolve_code(
    state: &AppState,
    code: &str,
) -> Result<(qr_codes::Model, restaurants::Model), ApiError> {
    let qr = qr_codes::Entity::find()
        .filter(qr_codes::Column::Code.eq(code.trim().to_ascii_uppercase()))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("QR code"))?;
    if qr.revoked_at.is_some() {
        return Err(ApiError::new(
            axum::http::StatusCode::GONE,
            "qr_revoked",
            "this QR code was replaced; ask the venue for the new one",
        ));
    }
    let venue = restaurants::Entity::find_by_id(qr.restaurant_id)
        .one(&state.db)
        .await?
        .filter(|v| v.status != "inactive")
        .ok_or_else(|| ApiError::not_found("venue"))?;
    Ok((qr, venue))
}

/// The venue, visible to the public unless it is inactive (then only to its people and admins).
pub async fn visible_venue(
    state: &AppState,
    caller: &Option<crate::accounts::Principal>,
    id: Uuid,
) -> Result<restaurants::Model, ApiError> {
    let venue = crate::restaurants::find(state, id)
        .await
        .map_err(|_| ApiError::not_found("venue"))?;
    if venue.status == "inactive" {
        let allowed = match caller {
            Some(p) => crate::accounts::require_restaurant_role(
                state,
                p,
                id,
                crate::accounts::MemberRole::Staff,
            )
            .await
            .is_ok(),
            None => false,
        };
        if !allowed {
            return Err(ApiError::not_found("venue"));
        }
    }
    Ok(venue)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_render_as_png_and_svg() {
        let png = qr_png("https://brigade.example/q/K7M2Q9TXRH", 256).unwrap();
        assert!(png.starts_with(b"\x89PNG"));
        let decoded = image::load_from_memory(&png).unwrap();
        assert!(decoded.width() >= 256);
        let svg = qr_svg("https://brigade.example/q/K7M2Q9TXRH", 200).unwrap();
        assert!(svg.contains("<svg") && svg.contains("</svg>"));
        let code = new_code();
        assert_eq!(code.len(), CODE_LENGTH);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
    }
}
