//! Idempotency keys: a POST retried with the same key and body gets the first answer
//! back without the work being done again; the same key with another body is refused.
//!
//! The record is claimed at the start of the very transaction that does the work and
//! holds the answer when it commits, so the work and its record exist together or not
//! at all. A concurrent retry blocks on the claimed key (PostgreSQL) or on the write lock
//! (SQLite) until the first transaction ends, then replays its answer.

mod store;

use chrono::Duration;
use prost::Message;
use sha2::{Digest, Sha256};

use crate::auth::context;
use crate::clock::SharedClock;
use crate::db::{Db, Tx, unique_violation};
use crate::error::{Error, Result};

/// Records are kept at least this long (the contract promises 24 hours).
pub const RETENTION: Duration = Duration::hours(48);
const KEY_MAX: usize = 255;

/// One idempotent request: whose key, which key, what operation and what body.
#[derive(Debug, Clone)]
pub struct Scope {
    subject: String,
    key: String,
    operation: String,
    request_digest: String,
}

impl Scope {
    /// The scope of a gRPC request that carries an `idempotency-key` metadata entry;
    /// `None` without one. The operation is the RPC the auth layer saw, so a key used for
    /// one RPC is never replayed for another.
    pub fn of<T: Message>(request: &tonic::Request<T>) -> Result<Option<Scope>> {
        let Some(value) = request
            .metadata()
            .get(lastmile_proto::IDEMPOTENCY_KEY_METADATA)
        else {
            return Ok(None);
        };
        let key = value
            .to_str()
            .map_err(|_| {
                Error::BadRequest("The Idempotency-Key header must be printable ASCII.".into())
            })?
            .trim();
        if key.is_empty() || key.len() > KEY_MAX {
            return Err(Error::BadRequest(format!(
                "The Idempotency-Key header must be between 1 and {KEY_MAX} characters."
            )));
        }
        let context = context(request)?;
        let operation = context.rpc.clone();
        let mut hasher = Sha256::new();
        hasher.update(operation.as_bytes());
        hasher.update([0]);
        hasher.update(request.get_ref().encode_to_vec());
        Ok(Some(Scope {
            subject: context.principal.subject(),
            key: key.to_owned(),
            operation,
            request_digest: hex::encode(hasher.finalize()),
        }))
    }
}

/// The stored answer for `scope`, if the request was done before; an error if the key
/// was used for a different request.
pub async fn replay<T: Message + Default>(db: &Db, scope: Option<&Scope>) -> Result<Option<T>> {
    let Some(scope) = scope else { return Ok(None) };
    let Some(record) = store::find(&mut db.conn(), &scope.subject, &scope.key).await? else {
        return Ok(None);
    };
    if record.operation != scope.operation || record.request_digest != scope.request_digest {
        return Err(Error::IdempotencyConflict);
    }
    let answer =
        T::decode(record.response.as_slice()).map_err(|e| anyhow::anyhow!("stored answer: {e}"))?;
    Ok(Some(answer))
}

/// Runs `work` in one transaction; with a scope, claims the key first and stores the
/// answer with the change, or replays the answer of a request that won the key.
pub async fn transaction<T, F>(
    db: &Db,
    clock: &SharedClock,
    scope: Option<&Scope>,
    work: F,
) -> Result<T>
where
    T: Message + Default,
    F: AsyncFnOnce(&mut Tx) -> Result<T>,
{
    transaction_storing(db, clock, scope, |answer| answer.encode_to_vec(), work).await
}

/// Like [`transaction`], but what is kept for replays is `stored(&answer)` (encoded): an answer
/// that carries a secret shown once (a new API key) is kept without it.
pub async fn transaction_storing<T, F>(
    db: &Db,
    clock: &SharedClock,
    scope: Option<&Scope>,
    stored: impl FnOnce(&T) -> Vec<u8>,
    work: F,
) -> Result<T>
where
    T: Message + Default,
    F: AsyncFnOnce(&mut Tx) -> Result<T>,
{
    let mut tx = db.begin().await?;
    if let Some(scope) = scope {
        let claim = store::claim(&mut tx.conn(), scope, clock.now()).await;
        match claim {
            Ok(()) => {}
            Err(err) if unique_violation(&err).is_some() => {
                drop(tx);
                return replay(db, Some(scope)).await?.ok_or_else(|| {
                    anyhow::anyhow!("idempotency record vanished after a clash").into()
                });
            }
            Err(err) => return Err(err.into()),
        }
    }
    let answer = work(&mut tx).await?;
    if let Some(scope) = scope {
        store::set_response(&mut tx.conn(), scope, &stored(&answer)).await?;
    }
    tx.commit().await?;
    Ok(answer)
}

/// Deletes records older than [`RETENTION`]; returns how many.
pub async fn purge(db: &Db, clock: &SharedClock) -> Result<u64> {
    store::purge(&mut db.conn(), clock.now() - RETENTION).await
}
