//! `POST /v1/node/channels`: opening a channel funded from the on-chain wallet, at most
//! once per idempotency key.
//!
//! LDK's `create_channel` is not a record sluice writes, so the key is claimed first, in
//! its own durable write, with the `user_channel_id` the channel will carry; the answer
//! (the channel id) is stored once LDK has the channel. A repeat finds the answer, or,
//! after a crash between the two, the channel by its `user_channel_id`. A key whose
//! open never reached LDK (a crash right after the claim) answers
//! `request_in_progress` for good: a channel per key at most, never two.

use bitcoin::hex::{DisplayHex, FromHex};
use lightning::sign::EntropySource;
use lightning::util::config::UserConfig;
use serde_json::{json, Value};
use sluice_actors::channel_policy::anchor_channel_count;
use sluice_actors::idempotency::{self, IdempotencyKey, Seen, ANSWER};
use sluice_actors::payments::expiry::key_expiry;
use sluice_actors::{Components, NodeError};
use sluice_api::backend::{ChannelId, OpenChannel};
use sluice_storage::{IdempotencyRecord, StoreError, Table, WriteBatch};

use crate::backend::{connect, remember_peer, resolve};

/// The idempotency scope of channel opens (per caller).
pub const OPEN_CHANNEL_SCOPE: &str = "open_channel";

/// Opens the channel `request` asks for. Runs to its end in a task of its own, so a
/// caller that gives up cannot leave a claimed key without its open.
pub async fn open_channel(
    components: &Components,
    request: OpenChannel,
) -> Result<ChannelId, NodeError> {
    let components = components.clone();
    match tokio::spawn(async move { open_now(&components, request).await }).await {
        Ok(result) => result,
        Err(e) => {
            if e.is_panic() {
                tracing::error!(error = %e, "a channel open panicked");
            }
            Err(NodeError::NotRunning)
        }
    }
}

/// What an idempotency key is bound to: every field of the request.
fn fingerprint(request: &OpenChannel) -> Result<String, NodeError> {
    idempotency::fingerprint(&json!({
        "node_id": request.node_id.to_string(),
        "address": request.address.as_ref().map(|a| format!("{}:{}", a.host, a.port)),
        "capacity_sat": request.capacity_sat,
        "push_msat": request.push_msat,
        "announce": request.announce,
        "zero_conf": request.zero_conf,
    }))
}

/// A key's place in the store: its scope and fingerprint.
struct Keyed<'a> {
    scope: String,
    key: &'a IdempotencyKey,
    fingerprint: String,
}

impl Keyed<'_> {
    fn record(&self, response: Value) -> IdempotencyRecord {
        idempotency::record(&self.scope, &self.key.key, &self.fingerprint, response)
    }
}

/// The answer a repeated request gets, if the key was used before.
async fn replay(
    components: &Components,
    keyed: &Keyed<'_>,
) -> Result<Option<ChannelId>, NodeError> {
    let seen = idempotency::seen(
        &components.store,
        &keyed.scope,
        &keyed.key.key,
        &keyed.fingerprint,
    )
    .await?;
    let claim = match seen {
        Seen::New => return Ok(None),
        Seen::Answered(response) => {
            let answered = response
                .get(ANSWER)
                .and_then(|a| a.get("channel_id"))
                .and_then(Value::as_str)
                .and_then(|hex| <[u8; 32]>::from_hex(hex).ok());
            if let Some(channel_id) = answered {
                return Ok(Some(ChannelId(channel_id)));
            }
            response
        }
        Seen::Unfinished(claim) => claim.response.unwrap_or_default(),
    };
    // Claimed but not answered: the channel, if LDK has it, carries the claimed id.
    let claimed = claim
        .get("user_channel_id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<u128>().ok());
    let found = components
        .channel_manager
        .list_channels()
        .into_iter()
        .find(|ch| Some(ch.user_channel_id) == claimed);
    match found {
        Some(channel) => Ok(Some(ChannelId(channel.channel_id.0))),
        None => Err(NodeError::RequestInProgress(format!(
            "Idempotency-Key {}: the open has not reached the node yet, or a restart cut it \
             short; GET /v1/node/channels shows the channels, and another key opens another",
            keyed.key.key
        ))),
    }
}

async fn open_now(components: &Components, request: OpenChannel) -> Result<ChannelId, NodeError> {
    let c = components;
    let keyed = match &request.idempotency {
        Some(key) => {
            let keyed = Keyed {
                scope: idempotency::scope(OPEN_CHANNEL_SCOPE, &key.caller),
                key,
                fingerprint: fingerprint(&request)?,
            };
            if let Some(channel_id) = replay(c, &keyed).await? {
                return Ok(channel_id);
            }
            Some(keyed)
        }
        None => None,
    };
    if let Some(address) = &request.address {
        connect(c, request.node_id, resolve(address)?).await?;
        remember_peer(c, request.node_id, address).await?;
    }
    if c.peer_manager.peer_by_node_id(&request.node_id).is_none() {
        return Err(NodeError::PeerNotConnected(request.node_id.to_string()));
    }
    let available = c.wallet.balance().trusted_spendable().to_sat();
    if available < request.capacity_sat {
        return Err(NodeError::InsufficientFunds {
            needed_sat: request.capacity_sat,
            available_sat: available,
        });
    }
    let mut config: UserConfig = c.channel_manager.get_current_config();
    config.channel_handshake_config.announce_for_forwarding = request.announce;
    // Offer anchors only with the fee-bump reserve left once this channel is funded.
    let confirmed_after = c
        .wallet
        .balance()
        .confirmed
        .to_sat()
        .saturating_sub(request.capacity_sat);
    if !c
        .channel_policy
        .can_afford_anchor_channel(confirmed_after, anchor_channel_count(&c.channel_manager))
    {
        config
            .channel_handshake_config
            .negotiate_anchors_zero_fee_htlc_tx = false;
    }
    if request.zero_conf {
        config.channel_handshake_limits.trust_own_funding_0conf = true;
    }
    let random = c.keys.get_secure_random_bytes();
    let mut id = [0u8; 16];
    id.copy_from_slice(&random[..16]);
    let user_channel_id = u128::from_be_bytes(id);

    if let Some(keyed) = &keyed {
        let claim = keyed.record(json!({ "user_channel_id": user_channel_id.to_string() }));
        let mut batch = WriteBatch::new();
        batch.create(&claim)?;
        batch.put(&key_expiry(&claim))?;
        match c.store.commit(batch).await {
            Ok(()) => {}
            // A concurrent request with the same key claimed it first.
            Err(StoreError::Conflict { table, .. }) if table == Table::Idempotency.name() => {
                return replay(c, keyed).await?.ok_or_else(|| {
                    NodeError::RequestInProgress(format!("Idempotency-Key {}", keyed.key.key))
                });
            }
            Err(e) => return Err(e.into()),
        }
    }
    let created = c.channel_manager.create_channel(
        request.node_id,
        request.capacity_sat,
        request.push_msat,
        user_channel_id,
        None,
        Some(config),
    );
    let temporary = match created {
        Ok(temporary) => temporary,
        Err(e) => {
            // Nothing was opened: free the key, so a retry may open.
            if let Some(keyed) = &keyed {
                let mut batch = WriteBatch::new();
                batch.delete::<IdempotencyRecord>(&IdempotencyRecord::table_key(
                    &keyed.scope,
                    &keyed.key.key,
                ));
                c.store.commit(batch).await?;
            }
            return Err(NodeError::ChannelRefused(format!("{e:?}")));
        }
    };
    if let Some(keyed) = &keyed {
        let answer = keyed.record(json!({
            "user_channel_id": user_channel_id.to_string(),
            ANSWER: { "channel_id": temporary.0.to_lower_hex_string() },
        }));
        let mut batch = WriteBatch::new();
        batch.put(&answer)?;
        c.store.commit(batch).await?;
    }
    Ok(ChannelId(temporary.0))
}
