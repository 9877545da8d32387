//! The one way a mutating RPC runs: an idempotency replay first (a retry gets the first
//! answer back), then the request is read and checked outside any transaction (slow work
//! such as password hashing included), then either `validate_only` answers, or the change
//! runs in one transaction with its audit entry and, when the call carries a key, its
//! idempotency record, so the change and its records exist together or not at all.

use prost::Message;
use tonic::{Request, Response, Status};

use crate::auth::{RequestContext, context};
use crate::clock::SharedClock;
use crate::db::{Db, Tx};
use crate::error::Result;
use crate::idempotency::{self, Scope};

/// What a read request asks the write to do.
#[derive(Debug)]
pub enum Step<I, R> {
    /// Change nothing and answer this (`validate_only` of a creation: checked, no row).
    Answer(R),
    /// Run the change and roll it back (`validate_only` of an update: every rule runs,
    /// stored data included, and the answer shows what would be).
    Rehearse(I),
    /// Run the change and keep it.
    Commit(I),
}

impl<I, R> Step<I, R> {
    /// `Rehearse(input)` when `validate_only`, else `Commit(input)`.
    pub fn of(input: I, validate_only: bool) -> Self {
        if validate_only {
            Step::Rehearse(input)
        } else {
            Step::Commit(input)
        }
    }
}

/// Runs the mutating RPCs of a domain over one database and clock.
#[derive(Debug, Clone)]
pub struct Writes {
    db: Db,
    clock: SharedClock,
}

impl Writes {
    /// Writes to `db`, stamped by `clock`.
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Runs `request`: replay, then `read` (conversion and every check that needs no
    /// transaction), then `change` inside the transaction. What a replay answers is the
    /// answer itself.
    pub async fn run<T, R, I>(
        &self,
        request: Request<T>,
        read: impl AsyncFnOnce(T) -> Result<Step<I, R>>,
        change: impl AsyncFnOnce(&mut Tx, &RequestContext, I) -> Result<R>,
    ) -> Result<Response<R>, Status>
    where
        T: Message,
        R: Message + Default,
    {
        self.run_storing(request, |answer| answer.encode_to_vec(), read, change)
            .await
    }

    /// Like [`Writes::run`], but a replay answers `stored(&answer)` (encoded): an answer
    /// carrying a secret shown once (a new API key) is kept without it.
    pub async fn run_storing<T, R, I>(
        &self,
        request: Request<T>,
        stored: impl FnOnce(&R) -> Vec<u8>,
        read: impl AsyncFnOnce(T) -> Result<Step<I, R>>,
        change: impl AsyncFnOnce(&mut Tx, &RequestContext, I) -> Result<R>,
    ) -> Result<Response<R>, Status>
    where
        T: Message,
        R: Message + Default,
    {
        let scope = Scope::of(&request)?;
        let context = context(&request)?.clone();
        if let Some(replayed) = idempotency::replay(&self.db, scope.as_ref()).await? {
            return Ok(Response::new(replayed));
        }
        let answer = match read(request.into_inner()).await? {
            Step::Answer(answer) => answer,
            Step::Rehearse(input) => {
                let mut tx = self.db.begin().await?;
                let answer = change(&mut tx, &context, input).await?;
                // Dropped, not committed: the rehearsal leaves nothing behind.
                drop(tx);
                answer
            }
            Step::Commit(input) => {
                let work = async |tx: &mut Tx| change(tx, &context, input).await;
                idempotency::transaction_storing(
                    &self.db,
                    &self.clock,
                    scope.as_ref(),
                    stored,
                    work,
                )
                .await?
            }
        };
        Ok(Response::new(answer))
    }
}
