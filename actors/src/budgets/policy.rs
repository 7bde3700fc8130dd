//! A token's spend budget as configured, and the calendar of its periods. Pure: no
//! store, no clock (the caller passes `now`).

use std::collections::BTreeSet;

use bitcoin::secp256k1::PublicKey;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};

/// How often a budget's period allowance renews: at midnight UTC, on Mondays at midnight
/// UTC, or on the first of the month at midnight UTC; `Never` is one period for ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Renewal {
    /// Every day at 00:00 UTC.
    Daily,
    /// Every Monday at 00:00 UTC.
    Weekly,
    /// The first of every month at 00:00 UTC.
    Monthly,
    /// Never: the allowance is for the budget's whole life.
    Never,
}

impl Renewal {
    /// Every renewal, for parsers and error messages.
    pub const ALL: [Renewal; 4] = [
        Renewal::Daily,
        Renewal::Weekly,
        Renewal::Monthly,
        Renewal::Never,
    ];

    /// The configuration and API name.
    pub fn as_str(self) -> &'static str {
        match self {
            Renewal::Daily => "daily",
            Renewal::Weekly => "weekly",
            Renewal::Monthly => "monthly",
            Renewal::Never => "never",
        }
    }

    /// The renewal named `name`.
    pub fn parse(name: &str) -> Option<Renewal> {
        Renewal::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// The period holding `now_ms`: its start, and when the next starts (`None` for
    /// [`Renewal::Never`]), both ms since the Unix epoch.
    pub fn period(self, now_ms: u64) -> (u64, Option<u64>) {
        let Some(now) = i64::try_from(now_ms)
            .ok()
            .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        else {
            return (0, None);
        };
        let midnight = |date: NaiveDate| date.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
        let today = now.date_naive();
        let (start, next) = match self {
            Renewal::Never => return (0, None),
            Renewal::Daily => (midnight(today), midnight(today + Duration::days(1))),
            Renewal::Weekly => {
                let monday =
                    today - Duration::days(i64::from(today.weekday().num_days_from_monday()));
                (midnight(monday), midnight(monday + Duration::days(7)))
            }
            Renewal::Monthly => {
                let first = today.with_day(1);
                let next_first = first.and_then(|f| {
                    if f.month() == 12 {
                        NaiveDate::from_ymd_opt(f.year() + 1, 1, 1)
                    } else {
                        NaiveDate::from_ymd_opt(f.year(), f.month() + 1, 1)
                    }
                });
                (first.and_then(midnight), next_first.and_then(midnight))
            }
        };
        let ms =
            |t: Option<DateTime<Utc>>| t.and_then(|t| u64::try_from(t.timestamp_millis()).ok());
        (ms(start).unwrap_or(0), ms(next))
    }
}

/// What a token may spend. Every limit is optional; a budget with none still records
/// what the token spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetPolicy {
    /// The most one payment may cost, amount plus fee ceiling.
    pub max_per_payment_msat: Option<u64>,
    /// The most the payments of one period may cost together.
    pub max_per_period_msat: Option<u64>,
    /// When the period allowance renews.
    pub renewal: Renewal,
    /// After this (ms since the Unix epoch) the token pays nothing.
    pub expires_at_ms: Option<u64>,
    /// The only payees the token may pay, if set.
    pub allowed_destinations: Option<BTreeSet<PublicKey>>,
}

/// Why a budget refuses a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The budget expired.
    Expired {
        /// When it expired, ms since the Unix epoch.
        at_ms: u64,
    },
    /// The payee is not one the token may pay.
    Destination(PublicKey),
    /// The payment alone costs more than one payment may.
    PerPayment {
        /// Amount plus fee ceiling.
        cost_msat: u64,
        /// The limit.
        max_msat: u64,
    },
    /// The payment would take the period over its allowance.
    Period {
        /// Amount plus fee ceiling.
        cost_msat: u64,
        /// What is left of the period's allowance.
        left_msat: u64,
        /// When the allowance renews, if ever.
        renews_at_ms: Option<u64>,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Expired { at_ms } => {
                write!(
                    f,
                    "this token's budget expired at {at_ms} (ms since the epoch)"
                )
            }
            Refusal::Destination(payee) => {
                write!(f, "this token's budget does not allow paying {payee}")
            }
            Refusal::PerPayment {
                cost_msat,
                max_msat,
            } => write!(
                f,
                "the payment may cost {cost_msat} msat (amount plus fee ceiling), over this \
                 token's limit of {max_msat} msat per payment"
            ),
            Refusal::Period {
                cost_msat,
                left_msat,
                renews_at_ms,
            } => {
                write!(
                    f,
                    "the payment may cost {cost_msat} msat (amount plus fee ceiling) and this \
                     token's budget has {left_msat} msat left"
                )?;
                match renews_at_ms {
                    Some(at) => write!(f, " until it renews at {at} (ms since the epoch)"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl BudgetPolicy {
    /// Checks a payment of `cost_msat` (amount plus fee ceiling) to `payee` at `now_ms`,
    /// with `used_msat` of the period spent or reserved already.
    pub fn check(
        &self,
        payee: &PublicKey,
        cost_msat: u64,
        used_msat: u64,
        now_ms: u64,
    ) -> Result<(), Refusal> {
        if let Some(at_ms) = self.expires_at_ms.filter(|at| now_ms >= *at) {
            return Err(Refusal::Expired { at_ms });
        }
        if let Some(allowed) = &self.allowed_destinations {
            if !allowed.contains(payee) {
                return Err(Refusal::Destination(*payee));
            }
        }
        if let Some(max_msat) = self.max_per_payment_msat.filter(|max| cost_msat > *max) {
            return Err(Refusal::PerPayment {
                cost_msat,
                max_msat,
            });
        }
        if let Some(max) = self.max_per_period_msat {
            let left_msat = max.saturating_sub(used_msat);
            if cost_msat > left_msat {
                return Err(Refusal::Period {
                    cost_msat,
                    left_msat,
                    renews_at_ms: self.renewal.period(now_ms).1,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bitcoin::secp256k1::{Secp256k1, SecretKey};

    use super::*;

    fn ms(rfc3339: &str) -> u64 {
        let t = DateTime::parse_from_rfc3339(rfc3339).expect("a time");
        u64::try_from(t.timestamp_millis()).expect("after 1970")
    }

    fn key(byte: u8) -> PublicKey {
        let secret = SecretKey::from_slice(&[byte; 32]).expect("a key");
        PublicKey::from_secret_key(&Secp256k1::new(), &secret)
    }

    #[test]
    fn periods_follow_the_utc_calendar() {
        // A Wednesday.
        let now = ms("2026-12-30T15:04:05Z");
        assert_eq!(
            Renewal::Daily.period(now),
            (ms("2026-12-30T00:00:00Z"), Some(ms("2026-12-31T00:00:00Z")))
        );
        assert_eq!(
            Renewal::Weekly.period(now),
            (ms("2026-12-28T00:00:00Z"), Some(ms("2027-01-04T00:00:00Z")))
        );
        assert_eq!(
            Renewal::Monthly.period(now),
            (ms("2026-12-01T00:00:00Z"), Some(ms("2027-01-01T00:00:00Z")))
        );
        assert_eq!(Renewal::Never.period(now), (0, None));
        // A boundary belongs to the period it starts.
        let midnight = ms("2027-02-01T00:00:00Z");
        assert_eq!(
            Renewal::Monthly.period(midnight),
            (midnight, Some(ms("2027-03-01T00:00:00Z")))
        );
        for renewal in Renewal::ALL {
            assert_eq!(Renewal::parse(renewal.as_str()), Some(renewal));
        }
    }

    #[test]
    fn each_limit_refuses_on_its_own() {
        let now = ms("2026-12-05T12:00:00Z");
        let policy = BudgetPolicy {
            max_per_payment_msat: Some(1_000),
            max_per_period_msat: Some(2_500),
            renewal: Renewal::Daily,
            expires_at_ms: Some(ms("2027-01-01T00:00:00Z")),
            allowed_destinations: Some([key(1)].into()),
        };
        assert_eq!(policy.check(&key(1), 1_000, 1_500, now), Ok(()));
        assert_eq!(
            policy.check(&key(2), 1, 0, now),
            Err(Refusal::Destination(key(2)))
        );
        assert_eq!(
            policy.check(&key(1), 1_001, 0, now),
            Err(Refusal::PerPayment {
                cost_msat: 1_001,
                max_msat: 1_000
            })
        );
        assert_eq!(
            policy.check(&key(1), 1_000, 1_501, now),
            Err(Refusal::Period {
                cost_msat: 1_000,
                left_msat: 999,
                renews_at_ms: Some(ms("2026-12-06T00:00:00Z"))
            })
        );
        assert_eq!(
            policy.check(&key(1), 1, 0, ms("2027-01-01T00:00:00Z")),
            Err(Refusal::Expired {
                at_ms: ms("2027-01-01T00:00:00Z")
            })
        );
        let open = BudgetPolicy {
            max_per_payment_msat: None,
            max_per_period_msat: None,
            renewal: Renewal::Never,
            expires_at_ms: None,
            allowed_destinations: None,
        };
        assert_eq!(open.check(&key(9), u64::MAX, u64::MAX, now), Ok(()));
    }
}
