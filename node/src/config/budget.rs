//! A token's spend budget in the config file: a `budget` table in its `[[api.tokens]]`
//! entry (file only: the `HEX:scopes` form of flags and the environment has no room for
//! one).
//!
//! ```toml
//! [[api.tokens]]
//! sha256 = "<64 hex chars>"
//! scopes = ["pay", "read"]
//! budget = { max_per_payment_msat = 100000, max_per_period_msat = 10000000,
//!            renewal = "daily", expires_at = "2027-01-01T00:00:00Z",
//!            allowed_destinations = ["02…"] }
//! ```
//!
//! Every key is optional; `renewal` is `daily`, `weekly`, `monthly` (UTC calendar) or
//! `never` (the default).

use std::collections::BTreeSet;
use std::str::FromStr;

use bitcoin::secp256k1::PublicKey;
use serde::Deserialize;
use sluice_actors::budgets::{BudgetPolicy, Renewal};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Table {
    max_per_payment_msat: Option<u64>,
    max_per_period_msat: Option<u64>,
    renewal: Option<String>,
    expires_at: Option<String>,
    allowed_destinations: Option<Vec<String>>,
}

/// Reads a token's `budget` table; the error says what is wrong, for the token's entry.
pub(super) fn parse(value: &toml::Value) -> Result<BudgetPolicy, String> {
    let table: Table = value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| format!("budget: {}", e.message()))?;
    let renewal = match table.renewal.as_deref() {
        None => Renewal::Never,
        Some(name) => Renewal::parse(name).ok_or_else(|| {
            format!("budget.renewal: {name:?} is not one of daily, weekly, monthly, never")
        })?,
    };
    let expires_at_ms = table
        .expires_at
        .as_deref()
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .and_then(|t| u64::try_from(t.timestamp_millis()).ok())
                .ok_or_else(|| {
                    format!("budget.expires_at: {text:?} is not an RFC 3339 time after 1970")
                })
        })
        .transpose()?;
    let allowed_destinations = table
        .allowed_destinations
        .map(|ids| {
            ids.iter()
                .map(|id| {
                    PublicKey::from_str(id).map_err(|_| {
                        format!("budget.allowed_destinations: {id:?} is not a node id (66 hex characters)")
                    })
                })
                .collect::<Result<BTreeSet<_>, _>>()
        })
        .transpose()?;
    Ok(BudgetPolicy {
        max_per_payment_msat: table.max_per_payment_msat,
        max_per_period_msat: table.max_per_period_msat,
        renewal,
        expires_at_ms,
        allowed_destinations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Value {
        toml::from_str::<toml::Value>(&format!("budget = {text}"))
            .expect("TOML")
            .get("budget")
            .cloned()
            .expect("the table")
    }

    #[test]
    fn a_budget_table_and_its_mistakes() {
        let id = "0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798";
        let policy = parse(&table(&format!(
            r#"{{ max_per_payment_msat = 5, max_per_period_msat = 50, renewal = "weekly",
                 expires_at = "2027-01-01T00:00:00Z", allowed_destinations = ["{id}"] }}"#
        )))
        .expect("valid");
        assert_eq!(policy.max_per_payment_msat, Some(5));
        assert_eq!(policy.max_per_period_msat, Some(50));
        assert_eq!(policy.renewal, Renewal::Weekly);
        assert_eq!(policy.expires_at_ms, Some(1_798_761_600_000));
        assert_eq!(policy.allowed_destinations.map(|d| d.len()), Some(1));
        assert_eq!(parse(&table("{}")).map(|p| p.renewal), Ok(Renewal::Never));

        for (bad, says) in [
            (r#"{ renewal = "hourly" }"#, "budget.renewal"),
            (r#"{ expires_at = "tomorrow" }"#, "budget.expires_at"),
            (
                r#"{ allowed_destinations = ["02ab"] }"#,
                "budget.allowed_destinations",
            ),
            (r#"{ max_per_day = 1 }"#, "unknown field"),
            (r#"{ max_per_payment_msat = -1 }"#, "budget"),
        ] {
            let error = parse(&table(bad)).expect_err(bad);
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
