//! Text rules the validators and the OpenAPI document share, so that what the document says of a string
//! is exactly what the server checks.
//!
//! Blank means made of ECMAScript whitespace (`\s` in a JSON Schema `pattern`), not Rust's: the two
//! differ on U+0085 and U+FEFF, and a name the document calls valid must not be refused as empty.

/// ECMAScript's `\s`.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}

/// `s` without leading and trailing [`is_space`] characters.
pub fn trimmed(s: &str) -> &str {
    s.trim_matches(is_space)
}

/// A poll's timestamp as the store-monitoring export writes it (`2023-01-22 12:09:39.388884 UTC`, also
/// with `T`, `Z`, `+00:00` or nothing after it): a real calendar date, to the day.
pub const POLL_TIMESTAMP_PATTERN: &str = r"^(?:[0-9]{4}-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?: UTC|Z|\+00:00)?$";

/// An instant a monitoring question may name: RFC 3339 or a poll timestamp, in the years 1970 to 9999.
pub const INSTANT_1970_PATTERN: &str = r"^(?:(?:19[7-9][0-9]|[2-9][0-9]{3})-(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)|(?:19(?:7[26]|8[048]|9[26])|[2-9][0-9](?:0[48]|[2468][048]|[13579][26])|(?:[2468][048]|[3579][26])00)-02-29)[ T](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?: UTC|Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?$";

/// The `pattern` of a string that is not blank.
pub const NOT_BLANK: &str = r"\S";

/// A required line of text of at most `max` characters (counted before trimming, as `maxLength`
/// counts): trimmed, or the problem with it.
pub fn required_text(raw: &str, max: usize) -> Result<String, String> {
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let text = trimmed(raw);
    if text.is_empty() {
        return Err("must not be empty".into());
    }
    Ok(text.to_string())
}

/// An optional line of text: `None` when blank.
pub fn optional_text(raw: &str, max: usize) -> Result<Option<String>, String> {
    if raw.chars().count() > max {
        return Err(format!("must be at most {max} characters"));
    }
    let text = trimmed(raw);
    Ok((!text.is_empty()).then(|| text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_date_patterns_know_the_calendar() {
        let poll = regex::Regex::new(POLL_TIMESTAMP_PATTERN).unwrap();
        for ok in [
            "2023-01-22 12:09:39.388884 UTC",
            "2024-02-29T00:00:00Z",
            "2000-02-29 23:59:59",
            "1999-12-31 00:00:00+00:00",
        ] {
            assert!(poll.is_match(ok), "{ok}");
        }
        for bad in [
            "2023-02-29 00:00:00",
            "1900-02-29 00:00:00",
            "2023-04-31 00:00:00",
            "2023-01-22 24:00:00",
            "2023-01-22",
        ] {
            assert!(!poll.is_match(bad), "{bad}");
        }
        let instant = regex::Regex::new(INSTANT_1970_PATTERN).unwrap();
        assert!(instant.is_match("1972-02-29T10:00:00+05:30"));
        assert!(!instant.is_match("1969-12-31T10:00:00Z"));
        assert!(!instant.is_match("2100-02-29T10:00:00Z"));
        assert!(instant.is_match("2400-02-29T10:00:00Z"));
    }

    #[test]
    fn blank_is_what_a_json_schema_pattern_calls_whitespace() {
        assert_eq!(trimmed(" \u{feff}a\u{3000}"), "a");
        assert_eq!(trimmed("\u{85}"), "\u{85}", "U+0085 is not \\s");
        assert_eq!(required_text("  x  ", 5), Ok("x".into()));
        assert!(required_text("\u{a0}\t", 5).is_err());
        assert!(required_text("abcdef", 5).is_err());
        assert_eq!(optional_text(" ", 5), Ok(None));
    }
}
