//! RFC 3339 timestamps for the TreasuryRouter bodies.

use chrono::{DateTime, SecondsFormat};

/// `ms` (Unix milliseconds) as RFC 3339 in UTC with milliseconds:
/// `2023-11-14T22:13:20.000Z`. Instants past chrono's range (year 262,143) are shown as
/// that limit.
pub fn rfc3339_ms(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    DateTime::from_timestamp_millis(ms)
        .unwrap_or(DateTime::<chrono::Utc>::MAX_UTC)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::rfc3339_ms;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        // A leap day and the last millisecond of a century leap year.
        assert_eq!(rfc3339_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339_ms(978_307_199_999), "2000-12-31T23:59:59.999Z");
        assert!(rfc3339_ms(u64::MAX).starts_with("+262142-12-31T23:59:59.999"));
    }
}
