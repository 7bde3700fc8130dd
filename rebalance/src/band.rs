//! A channel's target band: the share of its capacity that should be local (ours to
//! send), as parts per million. A channel inside its band is left alone. One short of
//! it is topped up to `min + deadband`, and one over it drained to `max - deadband`, so
//! a rebalanced channel lands inside the band with room to spare instead of on its
//! edge, where the next payments would push it out again.

use serde::{Deserialize, Serialize};

use crate::PPM;

/// A target band of local balance, ppm of capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Band {
    /// Below this a channel needs more local balance.
    pub min_ppm: u32,
    /// Above this a channel has local balance to spare.
    pub max_ppm: u32,
    /// How far inside the band a rebalance aims.
    pub deadband_ppm: u32,
}

/// Where a channel stands against its band.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Short of the band: this much more local balance brings it to `min + deadband`.
    Short(u64),
    /// Inside the band.
    Inside,
    /// Over the band: this much local balance can go before it is at `max - deadband`.
    Over(u64),
}

impl Band {
    /// The band checked: `min <= max`, both at most a million, and the deadband no
    /// wider than half the band (the two targets must not cross).
    pub fn check(&self) -> Result<(), String> {
        let (min, max, dead) = (self.min_ppm, self.max_ppm, self.deadband_ppm);
        if u64::from(max) > PPM || min > max {
            return Err(format!(
                "the band must have 0 <= min <= max <= 1,000,000 ppm, got {min}..{max}"
            ));
        }
        if u64::from(dead) * 2 > u64::from(max - min) {
            return Err(format!(
                "the deadband ({dead} ppm) is wider than half the band ({min}..{max} ppm)"
            ));
        }
        Ok(())
    }

    /// Where a channel with `local_msat` of `capacity_msat` stands.
    pub fn place(&self, local_msat: u64, capacity_msat: u64) -> Place {
        let at = |ppm: u32| share(capacity_msat, ppm);
        if local_msat < at(self.min_ppm) {
            let target = at(self.min_ppm.saturating_add(self.deadband_ppm));
            Place::Short(target.saturating_sub(local_msat))
        } else if local_msat > at(self.max_ppm) {
            let target = at(self.max_ppm.saturating_sub(self.deadband_ppm));
            Place::Over(local_msat.saturating_sub(target))
        } else {
            Place::Inside
        }
    }
}

/// `ppm` parts per million of `msat`, rounded down.
pub fn share(msat: u64, ppm: u32) -> u64 {
    let product = u128::from(msat) * u128::from(ppm) / u128::from(PPM);
    u64::try_from(product).unwrap_or(u64::MAX)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The band the crate's tests use.
    pub(crate) const BAND: Band = Band {
        min_ppm: 200_000,
        max_ppm: 800_000,
        deadband_ppm: 100_000,
    };

    #[test]
    fn a_channel_outside_its_band_aims_a_deadband_inside_it() {
        let cap = 1_000_000_000;
        assert_eq!(BAND.place(100_000_000, cap), Place::Short(200_000_000));
        assert_eq!(BAND.place(200_000_000, cap), Place::Inside);
        assert_eq!(BAND.place(800_000_000, cap), Place::Inside);
        assert_eq!(BAND.place(950_000_000, cap), Place::Over(250_000_000));
        assert_eq!(BAND.place(0, 0), Place::Inside);
    }

    #[test]
    fn bad_bands_are_refused() {
        assert!(BAND.check().is_ok());
        for (min, max, dead) in [
            (900_000, 100_000, 0),
            (0, 1_000_001, 0),
            (200_000, 400_000, 100_001),
        ] {
            let band = Band {
                min_ppm: min,
                max_ppm: max,
                deadband_ppm: dead,
            };
            assert!(band.check().is_err(), "{band:?}");
        }
    }

    #[test]
    fn shares_do_not_overflow() {
        assert_eq!(share(u64::MAX, 1_000_000), u64::MAX);
        assert_eq!(share(u64::MAX, 500_000), u64::MAX / 2);
    }
}
