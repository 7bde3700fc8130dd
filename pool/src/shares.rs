//! Share math: how many shares a deposit mints and what shares are worth.
//!
//! A partition's shares are claims on its net asset value (NAV). Amounts are msat (`u64`),
//! shares are counted in *units* (`u128`), [`UNITS_PER_SHARE`] to a share.
//!
//! Every conversion goes through the *virtual* price
//! `(nav + VIRTUAL_MSAT) / (supply + VIRTUAL_UNITS)`: the partition behaves as if a
//! never-redeemed holder owned [`VIRTUAL_UNITS`] units backed by [`VIRTUAL_MSAT`]. That
//! fixes the first share's price at 1 sat ([`UNITS_PER_SHARE`] units per 1,000 msat) and
//! defeats the first-depositor inflation attack: an attacker who mints a unit of an empty
//! partition and then inflates its NAV shares that NAV with the virtual holder, so making
//! a later deposit round to nothing costs them far more than it can take.
//!
//! Rounding is always in the pool's favour (the holders who stay): a deposit mints the
//! floor of its shares, a redemption pays the floor of its value, and asking for a sat
//! amount burns the ceiling of the shares it needs. So no deposit or redemption lowers
//! the virtual price, and nobody gains at the others' expense beyond one msat of rounding.

use serde::{Deserialize, Serialize};

/// Units in one share. A share is priced 1 sat in an empty partition.
pub const UNITS_PER_SHARE: u128 = 1_000_000_000;
/// Virtual units held by nobody (a thousandth of a share).
pub const VIRTUAL_UNITS: u128 = 1_000_000;
/// Virtual msat behind [`VIRTUAL_UNITS`]: at 1 sat per share, a thousandth of a share is
/// worth one msat.
pub const VIRTUAL_MSAT: u128 = 1;

/// Why a conversion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The deposit is worth less than one unit at the current price: it would buy nothing.
    #[error("{msat} msat buys no share units at the current price")]
    DepositTooSmall {
        /// The deposit, msat.
        msat: u64,
    },
    /// More units were asked for than exist.
    #[error("{asked} share units asked for, {held} held")]
    NotEnoughShares {
        /// Units asked for.
        asked: u128,
        /// Units available.
        held: u128,
    },
    /// More msat were asked for than the partition holds.
    #[error("{asked} msat asked for, the partition is worth {nav} msat")]
    NotEnoughValue {
        /// msat asked for.
        asked: u64,
        /// The partition's NAV, msat.
        nav: u64,
    },
    /// The result does not fit its type (amounts beyond all the bitcoin there is).
    #[error("share arithmetic overflowed")]
    Overflow,
}

/// A partition's state as far as pricing goes: what it is worth and how many units exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Book {
    /// Net asset value, msat.
    pub nav_msat: u64,
    /// Units outstanding (not counting the virtual ones).
    pub supply_units: u128,
}

/// The exact price of a share: `(nav_msat + VIRTUAL_MSAT) / (supply_units + VIRTUAL_UNITS)`
/// msat per unit, kept as the fraction so nothing is lost to floating point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    /// Numerator: NAV plus the virtual msat.
    pub msat: u128,
    /// Denominator: supply plus the virtual units.
    pub units: u128,
}

impl Price {
    /// The price of one share in sat, as a float for display (the fraction is exact).
    pub fn sats_per_share(&self) -> f64 {
        // Precision loss is fine here: this is the display value beside the exact fraction.
        (self.msat as f64 / self.units as f64) * UNITS_PER_SHARE as f64 / 1000.0
    }

    /// Whether `self` is at least `other` (exactly, by cross-multiplication).
    pub fn at_least(&self, other: &Price) -> bool {
        // Both sides fit: msat < 2^64 + 1 and units < 2^64 × 2^30 in any real pool, and
        // u128 has room for their product; fall back to the widened comparison if not.
        match (
            self.msat.checked_mul(other.units),
            other.msat.checked_mul(self.units),
        ) {
            (Some(a), Some(b)) => a >= b,
            _ => wide_mul(self.msat, other.units) >= wide_mul(other.msat, self.units),
        }
    }
}

impl Book {
    /// An empty partition.
    pub const EMPTY: Book = Book {
        nav_msat: 0,
        supply_units: 0,
    };

    /// The current price.
    pub fn price(&self) -> Price {
        Price {
            msat: u128::from(self.nav_msat) + VIRTUAL_MSAT,
            units: self.supply_units + VIRTUAL_UNITS,
        }
    }

    /// Units a deposit of `msat` mints at the current price, rounded down. A deposit that
    /// would mint nothing is refused rather than taken for nothing.
    pub fn units_for_deposit(&self, msat: u64) -> Result<u128, ShareError> {
        let price = self.price();
        let units = mul_div_floor(u128::from(msat), price.units, price.msat)?;
        if units == 0 {
            return Err(ShareError::DepositTooSmall { msat });
        }
        Ok(units)
    }

    /// What `units` are worth if redeemed now, rounded down.
    pub fn value_of(&self, units: u128) -> Result<u64, ShareError> {
        if units > self.supply_units {
            return Err(ShareError::NotEnoughShares {
                asked: units,
                held: self.supply_units,
            });
        }
        let price = self.price();
        let msat = mul_div_floor(units, price.msat, price.units)?;
        // Never more than the NAV: the virtual holder's part stays behind.
        u64::try_from(msat.min(u128::from(self.nav_msat))).map_err(|_| ShareError::Overflow)
    }

    /// Units to burn to take out `msat`, rounded up.
    pub fn units_for_withdrawal(&self, msat: u64) -> Result<u128, ShareError> {
        if msat > self.nav_msat {
            return Err(ShareError::NotEnoughValue {
                asked: msat,
                nav: self.nav_msat,
            });
        }
        let price = self.price();
        mul_div_ceil(u128::from(msat), price.units, price.msat)
    }

    /// The book after a deposit of `msat` minted `units`.
    pub fn after_deposit(&self, msat: u64, units: u128) -> Result<Book, ShareError> {
        Ok(Book {
            nav_msat: self
                .nav_msat
                .checked_add(msat)
                .ok_or(ShareError::Overflow)?,
            supply_units: self
                .supply_units
                .checked_add(units)
                .ok_or(ShareError::Overflow)?,
        })
    }

    /// The book after `units` were burned for `msat`.
    pub fn after_withdrawal(&self, msat: u64, units: u128) -> Result<Book, ShareError> {
        Ok(Book {
            nav_msat: self
                .nav_msat
                .checked_sub(msat)
                .ok_or(ShareError::NotEnoughValue {
                    asked: msat,
                    nav: self.nav_msat,
                })?,
            supply_units: self.supply_units.checked_sub(units).ok_or(
                ShareError::NotEnoughShares {
                    asked: units,
                    held: self.supply_units,
                },
            )?,
        })
    }
}

/// `a × b / c` rounded down, without overflow in the product.
pub(crate) fn mul_div_floor(a: u128, b: u128, c: u128) -> Result<u128, ShareError> {
    if c == 0 {
        return Err(ShareError::Overflow);
    }
    match a.checked_mul(b) {
        Some(p) => Ok(p / c),
        None => wide_div(wide_mul(a, b), c),
    }
}

/// `a × b / c` rounded up.
pub(crate) fn mul_div_ceil(a: u128, b: u128, c: u128) -> Result<u128, ShareError> {
    let floor = mul_div_floor(a, b, c)?;
    let exact = match (floor.checked_mul(c), a.checked_mul(b)) {
        (Some(back), Some(p)) => back == p,
        _ => wide_mul(floor, c) == wide_mul(a, b),
    };
    if exact {
        Ok(floor)
    } else {
        floor.checked_add(1).ok_or(ShareError::Overflow)
    }
}

/// The 256-bit product of two `u128`s as (high, low).
fn wide_mul(a: u128, b: u128) -> (u128, u128) {
    const HALF: u32 = 64;
    let mask = u128::from(u64::MAX);
    let (a_hi, a_lo) = (a >> HALF, a & mask);
    let (b_hi, b_lo) = (b >> HALF, b & mask);
    let lo_lo = a_lo * b_lo;
    let hi_lo = a_hi * b_lo;
    let lo_hi = a_lo * b_hi;
    let hi_hi = a_hi * b_hi;
    let middle = (lo_lo >> HALF) + (hi_lo & mask) + (lo_hi & mask);
    let low = (lo_lo & mask) | (middle << HALF);
    let high = hi_hi + (hi_lo >> HALF) + (lo_hi >> HALF) + (middle >> HALF);
    (high, low)
}

/// A 256-bit (high, low) divided by `c`, if the quotient fits 128 bits.
fn wide_div((high, low): (u128, u128), c: u128) -> Result<u128, ShareError> {
    if high >= c {
        return Err(ShareError::Overflow);
    }
    // Long division one bit at a time: only reached for amounts far beyond real pools.
    let (mut rem, mut quot) = (high, 0u128);
    for i in (0..128).rev() {
        let carry = rem >> 127;
        rem = (rem << 1) | ((low >> i) & 1);
        quot <<= 1;
        if carry == 1 || rem >= c {
            rem = rem.wrapping_sub(c);
            quot |= 1;
        }
    }
    Ok(quot)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_share_costs_one_sat() {
        let units = Book::EMPTY.units_for_deposit(100_000_000).unwrap();
        assert_eq!(units, 100_000 * UNITS_PER_SHARE);
        let book = Book::EMPTY.after_deposit(100_000_000, units).unwrap();
        assert!((book.price().sats_per_share() - 1.0).abs() < 1e-9);
        assert_eq!(book.value_of(units).unwrap(), 100_000_000);
    }

    #[test]
    fn income_raises_the_price_for_every_holder() {
        let units = Book::EMPTY.units_for_deposit(1_000_000).unwrap();
        let book = Book {
            nav_msat: 1_000_000 + 5_000,
            supply_units: units,
        };
        // Almost all of the income reaches the holder; the virtual thousandth of a share
        // keeps its pro-rata crumb (here under one msat).
        assert_eq!(book.value_of(units).unwrap(), 1_004_999);
    }

    #[test]
    fn a_deposit_worth_less_than_a_unit_is_refused() {
        let book = Book {
            nav_msat: u64::MAX / 2,
            supply_units: 1,
        };
        assert_eq!(
            book.units_for_deposit(1),
            Err(ShareError::DepositTooSmall { msat: 1 })
        );
    }

    #[test]
    fn withdrawals_burn_rounded_up_and_pay_rounded_down() {
        let book = Book {
            nav_msat: 1_000,
            supply_units: 3_000_000,
        };
        // Price: 1001 msat over 4,000,000 units.
        let burn = book.units_for_withdrawal(1).unwrap();
        assert_eq!(burn, 3997); // ceil(4,000,000 / 1001)
        assert_eq!(book.value_of(burn).unwrap(), 1);
        assert_eq!(book.value_of(3996).unwrap(), 0);
    }

    #[test]
    fn wide_arithmetic_matches_narrow_where_both_apply() {
        for (a, b, c) in [
            (u128::from(u64::MAX), u128::from(u64::MAX), 7u128),
            (1u128 << 100, 1u128 << 27, 1u128 << 30),
            (12345, 67890, 11),
        ] {
            let narrow = a.checked_mul(b).map(|p| p / c);
            let wide = wide_div(wide_mul(a, b), c).ok();
            assert_eq!(narrow, wide, "{a} × {b} / {c}");
        }
        // Beyond 128 bits in the product, still exact.
        let a = u128::MAX / 3;
        assert_eq!(mul_div_floor(a, 6, 2).unwrap(), a * 3);
        assert_eq!(wide_mul(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
    }
}
