//! The event kinds, label namespace and content schema the node publishes under.

/// NIP-AC credit intent (an agent's request for credit), addressable.
pub const CREDIT_INTENT: u16 = 39240;
/// NIP-AC credit offer (the issuer's terms for an intent), addressable.
pub const CREDIT_OFFER: u16 = 39241;
/// NIP-AC credit envelope (an accepted offer: the outcome-scoped credit line).
pub const CREDIT_ENVELOPE: u16 = 39242;
/// NIP-AC spend authorization (the agent's signed consent to one spend).
pub const CREDIT_SPEND_AUTHORIZATION: u16 = 39243;
/// NIP-AC settlement (a spend paid under an envelope).
pub const CREDIT_SETTLEMENT: u16 = 39244;
/// NIP-AC default notice (an envelope not repaid by its deadline).
pub const CREDIT_DEFAULT: u16 = 39245;
/// NIP-32 label, used to attach an outcome (success / default) to an agent.
pub const LABEL: u16 = 1985;
/// Pool proof snapshots: NIP-78 addressable application data (kind 30078), d = "sluice/pool_snapshot/{pool_id}/{seq}".
pub const POOL_SNAPSHOT: u16 = 30078;
/// The NIP-32 namespace of the credit labels.
pub const LABEL_NAMESPACE: &str = "agent/credit";
/// The `schema` value in every credit event's content.
pub const CONTENT_SCHEMA: u64 = 1;
