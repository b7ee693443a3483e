//! Money: `Decimal` amounts in a restaurant's currency, stored as integer minor units (exact on SQLite
//! and PostgreSQL alike). The currency decides how many decimal places an amount may have.

use rust_decimal::Decimal;

/// An ISO 4217 currency Brigade accepts, with its number of minor-unit digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency {
    pub code: &'static str,
    pub exponent: u32,
}

const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EGP", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JPY", 0),
    ("KES", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NGN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TRY", 2),
    ("TWD", 2),
    ("UAH", 2),
    ("USD", 2),
    ("VND", 0),
    ("ZAR", 2),
];

impl Currency {
    /// Every supported code.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        CURRENCIES.iter().map(|(code, _)| *code)
    }

    /// A supported code as stored (any case is read; clients should send the upper-case code the API
    /// document lists).
    pub fn parse(code: &str) -> Result<Currency, String> {
        let upper = code.trim().to_ascii_uppercase();
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == upper)
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| format!("{code:?} is not a supported ISO 4217 currency code"))
    }

    /// Stored minor units for an amount; refuses negative amounts and more decimals than the currency has.
    /// A code exactly as the API document lists it (upper case, nothing around it).
    pub fn parse_exact(code: &str) -> Result<Currency, String> {
        CURRENCIES
            .iter()
            .find(|(c, _)| *c == code)
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| format!("{code:?} is not a supported ISO 4217 currency code"))
    }

    pub fn to_minor(self, amount: Decimal) -> Result<i64, String> {
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err("must not be negative".into());
        }
        let normalized = amount.normalize();
        if normalized.scale() > self.exponent {
            return Err(format!(
                "{} allows at most {} decimal places",
                self.code, self.exponent
            ));
        }
        let minor = normalized * Decimal::from(10i64.pow(self.exponent));
        i64::try_from(minor.trunc()).map_err(|_| "is too large".to_string())
    }

    pub fn from_minor(self, minor: i64) -> Decimal {
        Decimal::new(minor, self.exponent)
    }
}

/// An amount as the API takes it: a string of digits with up to three decimals ("12.50"), never a
/// JSON number (binary floating point cannot hold most prices exactly). Whether the decimals suit a
/// currency is the currency's to say ([`Currency::to_minor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

/// The pattern of an [`Amount`].
pub const AMOUNT_PATTERN: &str = r"^[0-9]{1,12}(\.[0-9]{1,3})?$";

impl Amount {
    pub fn parse(raw: &str) -> Result<Amount, String> {
        let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        let shaped = (1..=12).contains(&whole.len())
            && digits(whole)
            && (!raw.contains('.') || (1..=3).contains(&fraction.len()))
            && digits(fraction);
        if !shaped {
            return Err(format!(
                "{raw:?} is not an amount like 12.50 (digits, at most three decimals)"
            ));
        }
        raw.parse::<Decimal>()
            .map(Amount)
            .map_err(|_| format!("{raw:?} is not an amount like 12.50"))
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <String as serde::Deserialize>::deserialize(d)?;
        Amount::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for Amount {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(AMOUNT_PATTERN))
            .description(Some(
                "An amount as a string: digits with up to three decimals, as many as the currency has.",
            ))
            .examples(["12.50"])
            .into()
    }
}

impl utoipa::ToSchema for Amount {}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use super::*;

    #[test]
    fn minor_units_round_trip_exactly() {
        let gbp = Currency::parse("gbp").unwrap();
        assert_eq!(gbp.to_minor(Decimal::from_str("12.50").unwrap()), Ok(1250));
        assert_eq!(gbp.to_minor(Decimal::from_str("0.1").unwrap()), Ok(10));
        assert_eq!(gbp.from_minor(999).to_string(), "9.99");
        assert!(gbp.to_minor(Decimal::from_str("1.005").unwrap()).is_err());
        assert!(gbp.to_minor(Decimal::from_str("-1").unwrap()).is_err());
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.to_minor(Decimal::from(1500)), Ok(1500));
        assert!(jpy.to_minor(Decimal::from_str("1500.5").unwrap()).is_err());
        assert_eq!(jpy.from_minor(1500).to_string(), "1500");
        assert!(Currency::parse("XXX").is_err());
    }
}
