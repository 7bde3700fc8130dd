//! The partition ledger: append-only, double-entry, every balance derived.
//!
//! Each change to a pool is an [`Entry`]: a [`Movement`] (what happened, in the pool's
//! words) and the [`Posting`]s it makes, which always sum to zero. Balances are never
//! stored; a [`Ledger`] is rebuilt by applying every entry in order, and refuses an entry
//! that does not balance, that posts something else than its movement says, or that would
//! leave a partition owing more than it holds.
//!
//! Accounts, per partition:
//! - `assets`: the partition's part of the node's assets (on-chain, channels, in flight);
//! - `receivables`: what agents owe for credit envelopes the partition paid out (an
//!   asset the node does not hold: it is left out when the books are checked against the
//!   node's assets);
//! - `pending_withdrawals`: value owed to LPs whose shares were burned and who are not
//!   paid yet (a liability, so NAV = assets + receivables − pending withdrawals);
//! - one account per [`Flow`]: where value came from or went (deposits, fees earned,
//!   costs, withdrawals), the partition's income statement.
//!
//! Transfers between partitions (and the RRP skim) post to two partitions' assets.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::shares::Book;

/// A pool partition (spec §2): which product the capital funds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PartitionKind {
    /// Lightning liquidity: channels, reserves, rebalancing, JIT.
    Llp,
    /// Credit envelopes.
    Cep,
    /// Rebalancing and reserve, funded by a skim of the others.
    Rrp,
}

impl PartitionKind {
    /// Every partition, in a fixed order.
    pub const ALL: [PartitionKind; 3] =
        [PartitionKind::Llp, PartitionKind::Cep, PartitionKind::Rrp];

    /// The wire name (`llp`, `cep`, `rrp`).
    pub const fn as_str(self) -> &'static str {
        match self {
            PartitionKind::Llp => "llp",
            PartitionKind::Cep => "cep",
            PartitionKind::Rrp => "rrp",
        }
    }

    /// The partition named `name`.
    pub fn parse(name: &str) -> Option<PartitionKind> {
        PartitionKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

/// An income or cost account of a partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// LP deposits credited.
    Deposits,
    /// LP withdrawals (value at the burn, less reversed payouts).
    Withdrawals,
    /// Fees earned forwarding payments.
    RoutingFees,
    /// Fees earned selling JIT channels (LSPS2).
    JitFees,
    /// Fees earned on credit envelopes (and repayments beyond what was owed).
    CreditFees,
    /// What defaulted credit envelopes left unpaid, less what was recovered later.
    CreditLosses,
    /// What rebalancing cost.
    RebalanceCosts,
    /// On-chain fees paid (channel opens and closes, sweeps, payouts).
    OnchainFees,
    /// Routing fees paid sending withdrawals over Lightning.
    PayoutFees,
}

impl Flow {
    /// Whether value flowing here raises the partition's NAV (income) rather than lowers it.
    pub const fn is_income(self) -> bool {
        matches!(
            self,
            Flow::Deposits | Flow::RoutingFees | Flow::JitFees | Flow::CreditFees
        )
    }
}

/// A ledger account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "account", rename_all = "snake_case")]
pub enum Account {
    /// The partition's assets.
    Assets {
        /// Whose.
        partition: PartitionKind,
    },
    /// What agents owe the partition for credit it extended.
    Receivables {
        /// Whose.
        partition: PartitionKind,
    },
    /// What the partition owes LPs for burned shares not yet paid out.
    PendingWithdrawals {
        /// Whose.
        partition: PartitionKind,
    },
    /// An income or cost account.
    Flow {
        /// Whose.
        partition: PartitionKind,
        /// Which.
        flow: Flow,
    },
}

/// One line of an entry: `msat` debited (positive) or credited (negative) to `account`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// The account.
    #[serde(flatten)]
    pub account: Account,
    /// Debit (+) or credit (−), msat.
    pub msat: i64,
}

/// Where income came from, for [`Movement::Income`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeKind {
    /// Forwarding fees.
    Routing,
    /// LSPS2 JIT channel fees.
    Jit,
    /// A repayment of a credit envelope beyond what was owed.
    Credit,
}

/// What a cost was, for [`Movement::Cost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostKind {
    /// Rebalancing fees.
    Rebalance,
    /// On-chain fees.
    Onchain,
    /// Routing fees of a Lightning withdrawal payout.
    Payout,
}

/// What happened, in the pool's words; its postings follow from it ([`Movement::postings`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Movement {
    /// An LP's deposit arrived and minted `units` at the price of that moment.
    Deposit {
        /// Into which partition.
        partition: PartitionKind,
        /// The depositor.
        lp_id: String,
        /// The deposit, msat.
        msat: u64,
        /// Share units minted (a decimal string in JSON: an internally tagged enum cannot
        /// carry a `u128` number through serde).
        #[serde(with = "units_text")]
        units: u128,
        /// The deposit's id.
        deposit_id: String,
    },
    /// An LP's shares were burned for `msat`, now owed to them until paid.
    WithdrawalBurned {
        /// From which partition.
        partition: PartitionKind,
        /// The withdrawing LP.
        lp_id: String,
        /// Value owed for them, msat.
        msat: u64,
        /// Share units burned (a decimal string in JSON).
        #[serde(with = "units_text")]
        units: u128,
        /// The withdrawal's id.
        withdrawal_id: String,
    },
    /// A payout that could not be made was undone: the value owed returns to the
    /// partition and the LP gets back at most the units burned for it (fewer if the price
    /// rose meanwhile, so the LP gains nothing from income earned while it was owed).
    WithdrawalReversed {
        /// From which partition.
        partition: PartitionKind,
        /// The LP.
        lp_id: String,
        /// Value no longer owed, msat.
        msat: u64,
        /// Share units minted back (a decimal string in JSON).
        #[serde(with = "units_text")]
        units: u128,
        /// The withdrawal's id.
        withdrawal_id: String,
    },
    /// Value owed for burned shares was paid: `msat` left the node.
    WithdrawalPaid {
        /// From which partition.
        partition: PartitionKind,
        /// Value paid, msat.
        msat: u64,
        /// The withdrawal's id.
        withdrawal_id: String,
    },
    /// Income earned by a partition.
    Income {
        /// Whose.
        partition: PartitionKind,
        /// From what.
        source: IncomeKind,
        /// How much, msat.
        msat: u64,
        /// What earned it (a forward, an order, an envelope).
        reference: String,
    },
    /// A cost borne by a partition.
    Cost {
        /// Whose.
        partition: PartitionKind,
        /// Of what.
        cost: CostKind,
        /// How much, msat.
        msat: u64,
        /// What it was for.
        reference: String,
    },
    /// A credit envelope paid its provider: `paid_msat` (the invoice and its routing fee)
    /// left the node, and the agent owes it plus the credit fee `fee_msat`, earned now.
    EnvelopeDrawn {
        /// Whose credit.
        partition: PartitionKind,
        /// Paid out, msat.
        paid_msat: u64,
        /// The credit fee, msat.
        fee_msat: u64,
        /// The envelope's id.
        envelope_id: String,
    },
    /// An agent repaid `msat` of what it owed for an envelope.
    EnvelopeRepaid {
        /// Whose credit.
        partition: PartitionKind,
        /// Repaid, msat.
        msat: u64,
        /// The envelope's id.
        envelope_id: String,
    },
    /// What an agent owed for an envelope and did not repay in time is written off.
    EnvelopeWrittenOff {
        /// Whose credit.
        partition: PartitionKind,
        /// Lost, msat.
        msat: u64,
        /// The envelope's id.
        envelope_id: String,
    },
    /// An agent repaid `msat` of a loss written off before.
    EnvelopeRecovered {
        /// Whose credit.
        partition: PartitionKind,
        /// Recovered, msat.
        msat: u64,
        /// The envelope's id.
        envelope_id: String,
    },
    /// Assets moved from one partition to another; `skim` marks the RRP's funding skim.
    Transfer {
        /// From.
        from: PartitionKind,
        /// To.
        to: PartitionKind,
        /// How much, msat.
        msat: u64,
        /// Whether this is the RRP skim (spec §2C) rather than an operator's transfer.
        skim: bool,
    },
}

/// Share units as a decimal string: exact in JSON, and serde's buffering of internally
/// tagged enums has no `u128`.
mod units_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(units: &u128, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(units)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u128, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Why an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// The postings do not sum to zero.
    #[error("entry {seq} does not balance: postings sum to {sum} msat")]
    Unbalanced {
        /// The entry.
        seq: u64,
        /// Their sum.
        sum: i128,
    },
    /// The postings are not the ones its movement makes.
    #[error("entry {seq}'s postings are not its movement's")]
    PostingsMismatch {
        /// The entry.
        seq: u64,
    },
    /// Entries must come in sequence.
    #[error("entry {got} applied after {last:?}")]
    OutOfOrder {
        /// The entry's sequence number.
        got: u64,
        /// The last applied.
        last: Option<u64>,
    },
    /// The entry would leave a partition's assets or pending withdrawals negative, or an LP
    /// burning units they do not hold.
    #[error("entry {seq} would overdraw {what}")]
    Overdrawn {
        /// The entry.
        seq: u64,
        /// What would go negative.
        what: String,
    },
    /// A movement with a zero amount, or a transfer to itself.
    #[error("entry {seq} moves nothing")]
    Empty {
        /// The entry.
        seq: u64,
    },
    /// An amount beyond what the ledger can count.
    #[error("entry {seq} overflows a balance")]
    Overflow {
        /// The entry.
        seq: u64,
    },
}

impl Movement {
    /// The postings this movement makes. They always sum to zero.
    pub fn postings(&self) -> Vec<Posting> {
        let assets = |partition| Account::Assets { partition };
        let receivables = |partition| Account::Receivables { partition };
        let pending = |partition| Account::PendingWithdrawals { partition };
        let flow = |partition, flow| Account::Flow { partition, flow };
        // Amounts are u64 msat; the whole of bitcoin is 2.1e18 msat, below i64::MAX, so
        // saturating here only matters for nonsense the ledger then refuses as overdrawn.
        let signed = |msat: u64| i64::try_from(msat).unwrap_or(i64::MAX);
        let pair = |debit: Account, credit: Account, msat: u64| {
            vec![
                Posting {
                    account: debit,
                    msat: signed(msat),
                },
                Posting {
                    account: credit,
                    msat: -signed(msat),
                },
            ]
        };
        match self {
            Movement::Deposit {
                partition, msat, ..
            } => pair(assets(*partition), flow(*partition, Flow::Deposits), *msat),
            Movement::WithdrawalBurned {
                partition, msat, ..
            } => pair(
                flow(*partition, Flow::Withdrawals),
                pending(*partition),
                *msat,
            ),
            Movement::WithdrawalReversed {
                partition, msat, ..
            } => pair(
                pending(*partition),
                flow(*partition, Flow::Withdrawals),
                *msat,
            ),
            Movement::WithdrawalPaid {
                partition, msat, ..
            } => pair(pending(*partition), assets(*partition), *msat),
            Movement::Income {
                partition,
                source,
                msat,
                ..
            } => {
                let account = match source {
                    IncomeKind::Routing => Flow::RoutingFees,
                    IncomeKind::Jit => Flow::JitFees,
                    IncomeKind::Credit => Flow::CreditFees,
                };
                pair(assets(*partition), flow(*partition, account), *msat)
            }
            Movement::Cost {
                partition,
                cost,
                msat,
                ..
            } => {
                let account = match cost {
                    CostKind::Rebalance => Flow::RebalanceCosts,
                    CostKind::Onchain => Flow::OnchainFees,
                    CostKind::Payout => Flow::PayoutFees,
                };
                pair(flow(*partition, account), assets(*partition), *msat)
            }
            Movement::EnvelopeDrawn {
                partition,
                paid_msat,
                fee_msat,
                ..
            } => vec![
                Posting {
                    account: receivables(*partition),
                    msat: signed(*paid_msat).saturating_add(signed(*fee_msat)),
                },
                Posting {
                    account: assets(*partition),
                    msat: -signed(*paid_msat),
                },
                Posting {
                    account: flow(*partition, Flow::CreditFees),
                    msat: -signed(*fee_msat),
                },
            ],
            Movement::EnvelopeRepaid {
                partition, msat, ..
            } => pair(assets(*partition), receivables(*partition), *msat),
            Movement::EnvelopeWrittenOff {
                partition, msat, ..
            } => pair(
                flow(*partition, Flow::CreditLosses),
                receivables(*partition),
                *msat,
            ),
            Movement::EnvelopeRecovered {
                partition, msat, ..
            } => pair(
                assets(*partition),
                flow(*partition, Flow::CreditLosses),
                *msat,
            ),
            Movement::Transfer { from, to, msat, .. } => pair(assets(*to), assets(*from), *msat),
        }
    }

    /// The amount moved, msat.
    pub fn msat(&self) -> u64 {
        match self {
            Movement::Deposit { msat, .. }
            | Movement::WithdrawalBurned { msat, .. }
            | Movement::WithdrawalReversed { msat, .. }
            | Movement::WithdrawalPaid { msat, .. }
            | Movement::Income { msat, .. }
            | Movement::Cost { msat, .. }
            | Movement::EnvelopeRepaid { msat, .. }
            | Movement::EnvelopeWrittenOff { msat, .. }
            | Movement::EnvelopeRecovered { msat, .. }
            | Movement::Transfer { msat, .. } => *msat,
            Movement::EnvelopeDrawn { paid_msat, .. } => *paid_msat,
        }
    }
}

/// One ledger entry as stored: its place in the pool's sequence, when, what and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the pool's ledger, from 0, without gaps.
    pub seq: u64,
    /// When it was booked, ms since the Unix epoch.
    pub at_ms: u64,
    /// What happened.
    pub movement: Movement,
    /// The double-entry postings (always `movement.postings()`).
    pub postings: Vec<Posting>,
}

impl Entry {
    /// The entry for `movement` at `seq`.
    pub fn new(seq: u64, at_ms: u64, movement: Movement) -> Entry {
        let postings = movement.postings();
        Entry {
            seq,
            at_ms,
            movement,
            postings,
        }
    }
}

/// One partition's derived balances.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionBalances {
    /// Assets, msat.
    pub assets_msat: u64,
    /// Owed by agents for credit, msat.
    pub receivables_msat: u64,
    /// Owed to LPs for burned shares, msat.
    pub pending_withdrawals_msat: u64,
    /// Cumulative amount through each flow account, msat (always ≥ 0).
    pub flows: BTreeMap<Flow, u64>,
    /// Units outstanding.
    pub supply_units: u128,
    /// Units held by each LP (only non-zero holdings).
    pub holdings: BTreeMap<String, u128>,
}

impl PartitionBalances {
    /// Net asset value: assets and receivables less what is owed for burned shares.
    pub fn nav_msat(&self) -> u64 {
        self.assets_msat
            .saturating_add(self.receivables_msat)
            .saturating_sub(self.pending_withdrawals_msat)
    }

    /// The pricing book: NAV and supply.
    pub fn book(&self) -> Book {
        Book {
            nav_msat: self.nav_msat(),
            supply_units: self.supply_units,
        }
    }

    /// Cumulative amount through `flow`, msat.
    pub fn flow_msat(&self, flow: Flow) -> u64 {
        self.flows.get(&flow).copied().unwrap_or(0)
    }
}

/// A pool's balances, derived by applying its entries in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ledger {
    partitions: BTreeMap<PartitionKind, PartitionBalances>,
    last_seq: Option<u64>,
}

impl Ledger {
    /// An empty ledger.
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Rebuilds a ledger from its entries, in order.
    pub fn replay<'a>(entries: impl IntoIterator<Item = &'a Entry>) -> Result<Ledger, LedgerError> {
        let mut ledger = Ledger::new();
        for entry in entries {
            ledger.apply(entry)?;
        }
        Ok(ledger)
    }

    /// The sequence number the next entry must carry.
    pub fn next_seq(&self) -> u64 {
        self.last_seq.map_or(0, |s| s + 1)
    }

    /// A partition's balances (empty if nothing was booked to it).
    pub fn partition(&self, kind: PartitionKind) -> PartitionBalances {
        self.partitions.get(&kind).cloned().unwrap_or_default()
    }

    /// Checks `entry` against the ledger without applying it.
    pub fn check(&self, entry: &Entry) -> Result<(), LedgerError> {
        self.clone().apply(entry)
    }

    /// Applies `entry`, or leaves the ledger unchanged and says why not.
    pub fn apply(&mut self, entry: &Entry) -> Result<(), LedgerError> {
        let seq = entry.seq;
        if seq != self.next_seq() {
            return Err(LedgerError::OutOfOrder {
                got: seq,
                last: self.last_seq,
            });
        }
        let sum: i128 = entry.postings.iter().map(|p| i128::from(p.msat)).sum();
        if sum != 0 {
            return Err(LedgerError::Unbalanced { seq, sum });
        }
        if entry.postings != entry.movement.postings() {
            return Err(LedgerError::PostingsMismatch { seq });
        }
        if entry.movement.msat() == 0
            || matches!(&entry.movement, Movement::Transfer { from, to, .. } if from == to)
        {
            return Err(LedgerError::Empty { seq });
        }
        let mut next = self.partitions.clone();
        for posting in &entry.postings {
            post(&mut next, posting, seq)?;
        }
        shares(&mut next, &entry.movement, seq)?;
        self.partitions = next;
        self.last_seq = Some(seq);
        Ok(())
    }
}

fn overdrawn(seq: u64, what: impl Into<String>) -> LedgerError {
    LedgerError::Overdrawn {
        seq,
        what: what.into(),
    }
}

/// Adds a posting to its account's balance, in the account's natural sign: assets and
/// receivables are debit balances, pending withdrawals credit balances, flows
/// whichever way they run.
fn post(
    partitions: &mut BTreeMap<PartitionKind, PartitionBalances>,
    posting: &Posting,
    seq: u64,
) -> Result<(), LedgerError> {
    let apply = |balance: u64, delta: i64, what: &str| -> Result<u64, LedgerError> {
        let next = i128::from(balance) + i128::from(delta);
        if next < 0 {
            return Err(overdrawn(seq, what));
        }
        u64::try_from(next).map_err(|_| LedgerError::Overflow { seq })
    };
    match posting.account {
        Account::Assets { partition } => {
            let p = partitions.entry(partition).or_default();
            p.assets_msat = apply(
                p.assets_msat,
                posting.msat,
                &format!("{} assets", partition.as_str()),
            )?;
        }
        Account::Receivables { partition } => {
            let p = partitions.entry(partition).or_default();
            p.receivables_msat = apply(
                p.receivables_msat,
                posting.msat,
                &format!("{} receivables", partition.as_str()),
            )?;
        }
        Account::PendingWithdrawals { partition } => {
            let p = partitions.entry(partition).or_default();
            p.pending_withdrawals_msat = apply(
                p.pending_withdrawals_msat,
                posting
                    .msat
                    .checked_neg()
                    .ok_or(LedgerError::Overflow { seq })?,
                &format!("{} pending withdrawals", partition.as_str()),
            )?;
        }
        Account::Flow { partition, flow } => {
            let p = partitions.entry(partition).or_default();
            // Income accounts are credited, cost accounts debited; both count up.
            let delta = if flow.is_income() {
                posting
                    .msat
                    .checked_neg()
                    .ok_or(LedgerError::Overflow { seq })?
            } else {
                posting.msat
            };
            let balance = p.flows.entry(flow).or_default();
            *balance = apply(*balance, delta, "a flow account")?;
        }
    }
    Ok(())
}

/// Mints or burns the LP's units a deposit, a withdrawal's burn or its reversal carries.
fn shares(
    partitions: &mut BTreeMap<PartitionKind, PartitionBalances>,
    movement: &Movement,
    seq: u64,
) -> Result<(), LedgerError> {
    match movement {
        Movement::Deposit {
            partition,
            lp_id,
            units,
            ..
        } => {
            if *units == 0 {
                return Err(LedgerError::Empty { seq });
            }
            let p = partitions.entry(*partition).or_default();
            p.supply_units = p
                .supply_units
                .checked_add(*units)
                .ok_or(LedgerError::Overflow { seq })?;
            let held = p.holdings.entry(lp_id.clone()).or_default();
            *held = held
                .checked_add(*units)
                .ok_or(LedgerError::Overflow { seq })?;
        }
        Movement::WithdrawalReversed {
            partition,
            lp_id,
            units,
            ..
        } => {
            let p = partitions.entry(*partition).or_default();
            p.supply_units = p
                .supply_units
                .checked_add(*units)
                .ok_or(LedgerError::Overflow { seq })?;
            if *units > 0 {
                let held = p.holdings.entry(lp_id.clone()).or_default();
                *held = held
                    .checked_add(*units)
                    .ok_or(LedgerError::Overflow { seq })?;
            }
        }
        Movement::WithdrawalBurned {
            partition,
            lp_id,
            units,
            ..
        } => {
            let p = partitions.entry(*partition).or_default();
            let held = p.holdings.get(lp_id).copied().unwrap_or(0);
            let left = held
                .checked_sub(*units)
                .ok_or_else(|| overdrawn(seq, format!("{lp_id}'s shares")))?;
            if left == 0 {
                p.holdings.remove(lp_id);
            } else {
                p.holdings.insert(lp_id.clone(), left);
            }
            p.supply_units = p
                .supply_units
                .checked_sub(*units)
                .ok_or_else(|| overdrawn(seq, "the share supply"))?;
        }
        _ => {}
    }
    Ok(())
}
