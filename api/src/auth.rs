//! Bearer-token authentication and scopes.
//!
//! Tokens are configured as SHA-256 digests (hex), never in the clear; a request's
//! token is hashed and compared against every configured digest in constant time.
//! A token with no configured digest, a missing or malformed `Authorization` header,
//! and an empty token list all answer 401 `unauthenticated`: the API fails closed.
//! A known token without the scope an endpoint needs answers 403 `forbidden`.
//!
//! Both are counted, so that a client guessing tokens or probing for routes shows up in
//! the metrics: [`UNAUTHENTICATED_TOTAL`] by [`AuthFailure`] and [`FORBIDDEN_TOTAL`] by
//! route.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bitcoin::hashes::{sha256, Hash};
use bitcoin::hex::{DisplayHex, FromHex};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::middleware::UNMATCHED_ROUTE;

/// The counter of 401 answers, labelled by `reason` ([`AuthFailure::as_str`]).
pub const UNAUTHENTICATED_TOTAL: &str = "sluice_api_unauthenticated_total";
/// The counter of 403 answers, labelled by `route` (the route template, so the label set
/// is bounded by the routes).
pub const FORBIDDEN_TOTAL: &str = "sluice_api_forbidden_total";

/// What a token may do. `admin` may do everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Everything, including channel and wallet management.
    Admin,
    /// Create invoices and read payments (and, with the payments engine, pay).
    Pay,
    /// Liquidity pool operations: deposits, positions, pool status.
    Lp,
    /// Read-only (`GET`) endpoints and `/metrics`.
    Read,
}

impl Scope {
    /// The scope's name in configuration files and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Pay => "pay",
            Scope::Lp => "lp",
            Scope::Read => "read",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Scope::Admin => 1,
            Scope::Pay => 2,
            Scope::Lp => 4,
            Scope::Read => 8,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "admin" => Ok(Scope::Admin),
            "pay" => Ok(Scope::Pay),
            "lp" => Ok(Scope::Lp),
            "read" => Ok(Scope::Read),
            other => Err(format!(
                "unknown scope `{other}` (expected admin, pay, lp or read)"
            )),
        }
    }
}

/// One configured token: the SHA-256 of the token, hex, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenConfig {
    /// SHA-256 of the token's UTF-8 bytes, 64 hex characters (see [`hash_token`]).
    pub sha256_hex: String,
    /// The scopes the token grants.
    pub scopes: Vec<Scope>,
}

/// The tokens the API accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    /// Every accepted token. Empty means every authenticated endpoint answers 401.
    #[serde(default)]
    pub tokens: Vec<TokenConfig>,
}

/// Why an [`AuthConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthConfigError {
    /// A digest is not 64 hex characters.
    #[error("token {index}: sha256_hex must be 64 hex characters")]
    BadDigest {
        /// The token's position in the list.
        index: usize,
    },
    /// A token grants no scope, so it could never be used.
    #[error("token {index}: no scopes")]
    NoScopes {
        /// The token's position in the list.
        index: usize,
    },
}

impl AuthConfig {
    /// Checks every entry; call it when loading configuration. The router skips bad
    /// entries (they can never match), so an unchecked mistake locks a token out rather
    /// than letting anyone in.
    pub fn validate(&self) -> Result<(), AuthConfigError> {
        for (index, token) in self.tokens.iter().enumerate() {
            if parse_digest(&token.sha256_hex).is_none() {
                return Err(AuthConfigError::BadDigest { index });
            }
            if token.scopes.is_empty() {
                return Err(AuthConfigError::NoScopes { index });
            }
        }
        Ok(())
    }
}

/// The SHA-256 of `token`, hex: what [`TokenConfig::sha256_hex`] holds.
pub fn hash_token(token: &str) -> String {
    sha256::Hash::hash(token.as_bytes())
        .to_byte_array()
        .to_lower_hex_string()
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    <[u8; 32]>::from_hex(hex.trim()).ok()
}

/// A set of scopes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    /// Whether the set holds `scope`.
    pub fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    fn insert(&mut self, scope: Scope) {
        self.0 |= scope.bit();
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        let mut scopes = Scopes::default();
        for scope in iter {
            scopes.insert(scope);
        }
        scopes
    }
}

/// What an endpoint requires. A token with [`Scope::Admin`] passes every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Any token with `read`.
    Read,
    /// Any token with `pay`.
    Pay,
    /// Any token with `read` or `pay` (reading payments).
    ReadOrPay,
    /// Any token with `lp` (an LP's own deposits and position).
    Lp,
    /// Any token with `read` or `lp` (a pool's status).
    ReadOrLp,
    /// Only `admin`.
    Admin,
}

impl Access {
    /// Whether a token holding `scopes` may use an endpoint requiring `self`.
    pub fn allows(self, scopes: Scopes) -> bool {
        scopes.contains(Scope::Admin)
            || match self {
                Access::Read => scopes.contains(Scope::Read),
                Access::Pay => scopes.contains(Scope::Pay),
                Access::ReadOrPay => scopes.contains(Scope::Read) || scopes.contains(Scope::Pay),
                Access::Lp => scopes.contains(Scope::Lp),
                Access::ReadOrLp => scopes.contains(Scope::Read) || scopes.contains(Scope::Lp),
                Access::Admin => false,
            }
    }

    /// The scopes that grant this access, as the OpenAPI document and 403s name them.
    pub fn describe(self) -> &'static str {
        match self {
            Access::Read => "read or admin",
            Access::Pay => "pay or admin",
            Access::ReadOrPay => "read, pay or admin",
            Access::Lp => "lp or admin",
            Access::ReadOrLp => "read, lp or admin",
            Access::Admin => "admin",
        }
    }
}

/// Which configured token a request presented: its SHA-256. Added to an authenticated
/// request's extensions, where the rate limit finds the bucket to charge. Its `Debug`
/// shows only the first 4 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId([u8; 32]);

#[cfg(test)]
impl TokenId {
    /// A token id with these bytes, for unit tests.
    pub(crate) fn for_tests(bytes: [u8; 32]) -> Self {
        TokenId(bytes)
    }
}

impl fmt::Debug for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenId({}…)", self.0[..4].to_lower_hex_string())
    }
}

/// Why a request is unauthenticated: the `reason` label of [`UNAUTHENTICATED_TOTAL`]. The
/// client gets the same 401 whatever the reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    Malformed,
    /// A bearer token that is not configured.
    Unknown,
}

impl AuthFailure {
    /// The metric label: `missing`, `malformed` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Malformed => "malformed",
            AuthFailure::Unknown => "unknown",
        }
    }
}

/// Why a request was turned away by the auth check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// 401: no usable token.
    Unauthenticated(AuthFailure),
    /// 403: a known token without the access the endpoint requires.
    Forbidden(Access),
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        match denied {
            Denied::Unauthenticated(_) => ApiError::Unauthenticated,
            Denied::Forbidden(access) => ApiError::Forbidden(access.describe()),
        }
    }
}

/// An authenticated request's token and what it grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authorized {
    /// Which token.
    pub token: TokenId,
    /// Its scopes.
    pub scopes: Scopes,
}

/// The configured tokens, parsed once.
#[derive(Debug, Default)]
pub struct Authenticator {
    tokens: Vec<([u8; 32], Scopes)>,
}

impl Authenticator {
    /// Parses `config`, skipping (and logging) entries [`AuthConfig::validate`] rejects.
    pub fn new(config: &AuthConfig) -> Self {
        let mut tokens = Vec::with_capacity(config.tokens.len());
        for (index, token) in config.tokens.iter().enumerate() {
            match parse_digest(&token.sha256_hex) {
                Some(digest) => tokens.push((digest, token.scopes.iter().copied().collect())),
                None => {
                    tracing::error!(index, "API token digest is not 64 hex characters; ignored")
                }
            }
        }
        Authenticator { tokens }
    }

    /// The scopes `token` grants, or `None` if it is not a configured token.
    ///
    /// Every configured digest is compared in full, so the time taken does not depend
    /// on which digest (if any) matched or where they first differ.
    pub fn authenticate(&self, token: &str) -> Option<Scopes> {
        self.authenticate_digest(&sha256::Hash::hash(token.as_bytes()).to_byte_array())
    }

    fn authenticate_digest(&self, presented: &[u8; 32]) -> Option<Scopes> {
        let mut found = false;
        let mut scopes = 0u8;
        for (digest, granted) in &self.tokens {
            let equal = constant_time_eq(presented, digest);
            // Branch-free accumulation: a match contributes its scopes, a miss nothing.
            let mask = 0u8.wrapping_sub(u8::from(equal));
            scopes |= granted.0 & mask;
            found |= equal;
        }
        found.then_some(Scopes(scopes))
    }

    /// Authenticates a request's `Authorization` header and checks `access`: the
    /// token's scopes and which token it is.
    pub fn check(&self, header: Option<&[u8]>, access: Access) -> Result<Authorized, Denied> {
        let header = header.ok_or(Denied::Unauthenticated(AuthFailure::Missing))?;
        let token = bearer_token(header).ok_or(Denied::Unauthenticated(AuthFailure::Malformed))?;
        let digest = sha256::Hash::hash(token.as_bytes()).to_byte_array();
        let scopes = self
            .authenticate_digest(&digest)
            .ok_or(Denied::Unauthenticated(AuthFailure::Unknown))?;
        if !access.allows(scopes) {
            return Err(Denied::Forbidden(access));
        }
        Ok(Authorized {
            token: TokenId(digest),
            scopes,
        })
    }
}

/// Who sent a request: the SHA-256 of its bearer token, hex, as configured in
/// [`TokenConfig::sha256_hex`]. Records and idempotency keys name callers by it, never by
/// the token itself. Extracted from the [`TokenId`] that [`require`] adds to a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Caller(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // Only a route behind [`require`] has a caller; any other fails closed.
        parts
            .extensions
            .get::<TokenId>()
            .map(|token| Caller(token.0.to_lower_hex_string()))
            .ok_or(ApiError::Unauthenticated)
    }
}

/// Whether the caller's token holds `admin`, which may act for any LP. Extracted from the
/// [`Scopes`] that [`require`] adds to a request (absent: not admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IsAdmin(pub bool);

impl<S: Send + Sync> FromRequestParts<S> for IsAdmin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(IsAdmin(
            parts
                .extensions
                .get::<Scopes>()
                .is_some_and(|scopes| scopes.contains(Scope::Admin)),
        ))
    }
}

/// The token of an `Authorization: Bearer <token>` header value (scheme
/// case-insensitive), if it is one.
fn bearer_token(value: &[u8]) -> Option<&str> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // `black_box` keeps the optimiser from turning the fold into an early exit.
    std::hint::black_box(diff) == 0
}

/// The state of one endpoint's auth check: the tokens and what the endpoint requires.
#[derive(Debug, Clone)]
pub struct Guard {
    authenticator: Arc<Authenticator>,
    access: Access,
}

impl Guard {
    /// A check of `access` against `authenticator`'s tokens.
    pub fn new(authenticator: Arc<Authenticator>, access: Access) -> Self {
        Guard {
            authenticator,
            access,
        }
    }
}

/// Middleware: answers 401/403 unless the request's token grants the guard's access, and
/// counts each refusal ([`UNAUTHENTICATED_TOTAL`], [`FORBIDDEN_TOTAL`]). On success the
/// token's [`Scopes`] and [`TokenId`] are added to the request's extensions (from which
/// handlers extract the [`Caller`]).
pub async fn require(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get(AUTHORIZATION)
        .map(|value| value.as_bytes());
    match guard.authenticator.check(header, guard.access) {
        Ok(authorized) => {
            request.extensions_mut().insert(authorized.scopes);
            request.extensions_mut().insert(authorized.token);
            next.run(request).await
        }
        Err(denied) => {
            match denied {
                Denied::Unauthenticated(reason) => {
                    metrics::counter!(UNAUTHENTICATED_TOTAL, "reason" => reason.as_str())
                        .increment(1);
                }
                Denied::Forbidden(_) => {
                    let route = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or_else(|| UNMATCHED_ROUTE.to_owned(), |p| p.as_str().to_owned());
                    metrics::counter!(FORBIDDEN_TOTAL, "route" => route).increment(1);
                }
            }
            ApiError::from(denied).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authenticator(tokens: &[(&str, &[Scope])]) -> Authenticator {
        Authenticator::new(&AuthConfig {
            tokens: tokens
                .iter()
                .map(|(token, scopes)| TokenConfig {
                    sha256_hex: hash_token(token),
                    scopes: scopes.to_vec(),
                })
                .collect(),
        })
    }

    #[test]
    fn hash_token_is_sha256_hex() {
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(b"Bearer abc"), Some("abc"));
        assert_eq!(bearer_token(b"bearer  abc "), Some("abc"));
        assert_eq!(bearer_token(b"Basic abc"), None);
        assert_eq!(bearer_token(b"Bearer "), None);
        assert_eq!(bearer_token(b"Bearerabc"), None);
        assert_eq!(bearer_token(&[0xff, 0xfe]), None);
    }

    #[test]
    fn scopes_and_access() {
        let auth = authenticator(&[("r", &[Scope::Read]), ("a", &[Scope::Admin])]);
        let read = auth.authenticate("r").expect("known token");
        assert!(Access::Read.allows(read));
        assert!(Access::ReadOrPay.allows(read));
        assert!(!Access::Pay.allows(read));
        assert!(!Access::Admin.allows(read));
        let admin = auth.authenticate("a").expect("known token");
        for access in [Access::Read, Access::Pay, Access::ReadOrPay, Access::Admin] {
            assert!(access.allows(admin));
        }
        assert_eq!(auth.authenticate("x"), None);
    }

    #[test]
    fn duplicate_digests_union_their_scopes() {
        let auth = authenticator(&[("t", &[Scope::Read]), ("t", &[Scope::Pay])]);
        let scopes = auth.authenticate("t").expect("known token");
        assert!(scopes.contains(Scope::Read) && scopes.contains(Scope::Pay));
    }

    #[test]
    fn bad_digests_are_skipped_and_reported() {
        let config = AuthConfig {
            tokens: vec![TokenConfig {
                sha256_hex: "zz".into(),
                scopes: vec![Scope::Admin],
            }],
        };
        assert_eq!(
            config.validate(),
            Err(AuthConfigError::BadDigest { index: 0 })
        );
        assert_eq!(Authenticator::new(&config).authenticate("zz"), None);
    }

    #[test]
    fn empty_config_fails_closed() {
        let auth = Authenticator::default();
        assert_eq!(
            auth.check(Some(b"Bearer x"), Access::Read),
            Err(Denied::Unauthenticated(AuthFailure::Unknown))
        );
        assert_eq!(
            auth.check(None, Access::Read),
            Err(Denied::Unauthenticated(AuthFailure::Missing))
        );
        assert_eq!(
            auth.check(Some(b"Basic x"), Access::Read),
            Err(Denied::Unauthenticated(AuthFailure::Malformed))
        );
    }

    #[test]
    fn check_names_the_token_and_the_refusal() {
        let auth = authenticator(&[("r", &[Scope::Read]), ("p", &[Scope::Pay])]);
        let read = auth
            .check(Some(b"Bearer r"), Access::Read)
            .expect("allowed");
        let pay = auth.check(Some(b"Bearer p"), Access::Pay).expect("allowed");
        assert_ne!(read.token, pay.token, "each token has its own id");
        assert_eq!(
            read.token.0,
            <[u8; 32]>::from_hex(&hash_token("r")).expect("hex")
        );
        assert_eq!(
            auth.check(Some(b"Bearer r"), Access::Pay),
            Err(Denied::Forbidden(Access::Pay))
        );
        assert_eq!(
            ApiError::from(Denied::Forbidden(Access::Pay)),
            ApiError::Forbidden("pay or admin")
        );
    }

    #[test]
    fn scope_names_round_trip() {
        for scope in [Scope::Admin, Scope::Pay, Scope::Lp, Scope::Read] {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
        }
        assert!("root".parse::<Scope>().is_err());
    }
}
