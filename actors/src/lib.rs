//! The supervised actors of a sluice node (DESIGN.md §2).
//!
//! Not built yet: the supervisor and its first children (chain sync, wallet, channel
//! manager) arrive with the node issue, the payment actors with the payments engine.
//! Actors will persist their state through [`sluice_storage::Store`].
