//! Password hashing and verification on a small, bounded pool of threads.
//!
//! argon2id is memory-hard on purpose: one hash at the OWASP minimum (m = 19 MiB, t = 2,
//! p = 1) fills 19 MiB. Run on tokio's blocking pool, every concurrent call got a fresh
//! 19 MiB buffer on another thread, and glibc kept the freed buffers in per-thread arenas
//! (the dynamic mmap threshold rises to 19 MiB after the first free, so later buffers come
//! from arenas that are never trimmed): gigabytes under concurrent sign-ups or logins, held
//! after the load ended, and throughput collapsed once more hashes ran than there were CPUs.
//!
//! Here a fixed number of workers each own one block buffer, allocated on first use and
//! reused for every hash, so memory is `workers × m` whatever the load. A worker that has
//! been idle for [`HashingSettings::keep_memory`] gives its buffer back to the system (the
//! buffer is sized so that glibc maps it on its own and unmaps it on free, see
//! [`block_buffer`]), so a quiet server holds none. Callers wait in a
//! bounded queue; when it is full, or a job waited past the deadline, the caller gets
//! [`Error::Overloaded`] (gRPC `UNAVAILABLE`, REST 503 with `Retry-After`) instead of
//! memory or latency without bound. A caller that goes away before its job starts costs
//! nothing: the worker skips it.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{ARGON2ID_IDENT, Algorithm, Argon2, Block, Params, Version};
use rand::RngCore;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// Salt and output lengths of new hashes (the argon2 crate's and RFC 9106's recommendation).
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// What the refusal says when hashing is saturated.
const OVERLOADED: &str = "Too many password checks are in progress; retry in a second.";

/// The argon2id cost parameters of new hashes. Stored hashes carry their own, so a change
/// applies to new hashes while old ones keep verifying (and are rehashed at the next
/// successful login).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Settings {
    /// Memory in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for Argon2Settings {
    /// The OWASP minimum for argon2id: m = 19 MiB, t = 2, p = 1.
    fn default() -> Self {
        Self {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

impl Argon2Settings {
    /// Whether argon2 accepts these parameters (memory at least 8 KiB per lane, at least
    /// one pass and one lane).
    pub fn check(&self) -> anyhow::Result<()> {
        self.params()
            .map(drop)
            .map_err(|_| anyhow::anyhow!("invalid argon2id parameters {self:?}"))
    }

    fn params(&self) -> Result<Params> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_LEN),
        )
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 parameters: {e}")))
    }
}

/// How the hashing pool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingSettings {
    /// Hashes that run at once (each holds one block buffer of `memory_kib`).
    pub workers: usize,
    /// Jobs that may wait for a worker; more are refused at once.
    pub queue: usize,
    /// How long a job may wait for a worker before it is refused.
    pub max_wait: Duration,
    /// How long an idle worker keeps its block buffer before giving it back to the system.
    pub keep_memory: Duration,
    /// The parameters of new hashes.
    pub argon2: Argon2Settings,
}

impl Default for HashingSettings {
    /// One worker per CPU, sixteen waiting jobs per worker, two seconds of waiting, memory
    /// given back after two idle seconds.
    fn default() -> Self {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        Self {
            workers,
            queue: 16 * workers,
            max_wait: Duration::from_secs(2),
            keep_memory: Duration::from_secs(2),
            argon2: Argon2Settings::default(),
        }
    }
}

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// Whether the password is the one the hash was made from.
    pub matches: bool,
    /// Whether the stored hash was made with other parameters than new hashes get; after a
    /// match it should be replaced.
    pub outdated: bool,
}

/// Counters of the pool, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingStats {
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Hashes running now.
    pub running: usize,
    /// The most hashes that ever ran at once.
    pub peak_running: usize,
    /// Workers holding a block buffer now.
    pub buffers_held: usize,
}

/// The process's password hashing: a handle to the bounded pool. Cheap to clone; the
/// workers stop when the last handle is dropped.
#[derive(Debug, Clone)]
pub struct Passwords {
    handle: Arc<Handle>,
}

#[derive(Debug)]
struct Handle {
    shared: Arc<Shared>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    ready: Condvar,
    capacity: usize,
    max_wait: Duration,
    keep_memory: Duration,
    params: Params,
    running: AtomicUsize,
    peak_running: AtomicUsize,
    buffers_held: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    jobs: VecDeque<Job>,
    closed: bool,
}

#[derive(Debug)]
struct Job {
    work: Work,
    enqueued: Instant,
    reply: oneshot::Sender<Result<Done>>,
}

#[derive(Debug)]
enum Work {
    Hash(String),
    Verify(String, Option<String>),
}

#[derive(Debug)]
enum Done {
    Hashed(String),
    Verified(Verification),
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A worker never panics while holding the lock (hashing runs outside it), but a
        // poisoned queue is still a consistent queue.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Passwords {
    /// Starts a pool as `settings` say.
    pub fn start(settings: HashingSettings) -> anyhow::Result<Self> {
        let params = settings.argon2.params()?;
        anyhow::ensure!(
            settings.workers >= 1,
            "password hashing needs at least one worker"
        );
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            capacity: settings.queue,
            max_wait: settings.max_wait,
            keep_memory: settings.keep_memory,
            params,
            running: AtomicUsize::new(0),
            peak_running: AtomicUsize::new(0),
            buffers_held: AtomicUsize::new(0),
        });
        for n in 0..settings.workers {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("lastmile-argon2-{n}"))
                .spawn(move || work(&shared))?;
        }
        Ok(Self {
            handle: Arc::new(Handle { shared }),
        })
    }

    /// Hashes `password` with argon2id, the configured parameters and a random salt, as a
    /// PHC string that carries its parameters.
    pub async fn hash(&self, password: String) -> Result<String> {
        match self.submit(Work::Hash(password)).await? {
            Done::Hashed(hash) => Ok(hash),
            Done::Verified(_) => Err(Error::Internal(anyhow::anyhow!("hash answered a check"))),
        }
    }

    /// Whether `password` matches `stored` (a PHC string). With `None` (an unknown
    /// account) the pool spends as long as on a real check and answers no, so that timing
    /// does not tell which accounts exist.
    pub async fn verify(&self, password: String, stored: Option<String>) -> Result<Verification> {
        match self.submit(Work::Verify(password, stored)).await? {
            Done::Verified(verification) => Ok(verification),
            Done::Hashed(_) => Err(Error::Internal(anyhow::anyhow!("check answered a hash"))),
        }
    }

    /// The pool's counters now.
    pub fn stats(&self) -> HashingStats {
        let shared = &self.handle.shared;
        HashingStats {
            queued: shared.lock().jobs.len(),
            running: shared.running.load(Ordering::Relaxed),
            peak_running: shared.peak_running.load(Ordering::Relaxed),
            buffers_held: shared.buffers_held.load(Ordering::Relaxed),
        }
    }

    async fn submit(&self, work: Work) -> Result<Done> {
        let shared = &self.handle.shared;
        let (reply, answer) = oneshot::channel();
        {
            let mut state = shared.lock();
            if state.jobs.len() >= shared.capacity {
                drop(state);
                metrics::counter!("lastmile_password_hash_rejected_total", "reason" => "queue_full")
                    .increment(1);
                return Err(Error::Overloaded(OVERLOADED));
            }
            state.jobs.push_back(Job {
                work,
                enqueued: Instant::now(),
                reply,
            });
            metrics::gauge!("lastmile_password_hash_queue_depth").set(state.jobs.len() as f64);
        }
        shared.ready.notify_one();
        answer
            .await
            .map_err(|_| Error::Internal(anyhow::anyhow!("password hashing worker stopped")))?
    }
}

/// A worker: takes jobs until the pool is dropped, reusing one block buffer while busy and
/// giving it back once idle for `keep_memory`.
fn work(shared: &Shared) {
    let mut blocks: Vec<Block> = Vec::new();
    loop {
        let job = {
            let mut state = shared.lock();
            loop {
                if let Some(job) = state.jobs.pop_front() {
                    metrics::gauge!("lastmile_password_hash_queue_depth")
                        .set(state.jobs.len() as f64);
                    break Some(job);
                }
                if state.closed {
                    return;
                }
                if blocks.capacity() == 0 {
                    state = shared.ready.wait(state).unwrap_or_else(|e| e.into_inner());
                    continue;
                }
                let (next, waited) = shared
                    .ready
                    .wait_timeout(state, shared.keep_memory)
                    .unwrap_or_else(|e| e.into_inner());
                state = next;
                if waited.timed_out() && state.jobs.is_empty() && !state.closed {
                    break None; // idle long enough: give the buffer back, outside the lock
                }
            }
        };
        let Some(job) = job else {
            release(shared, &mut blocks);
            continue;
        };
        if job.reply.is_closed() {
            continue; // the caller went away: nobody wants this hash
        }
        let waited = job.enqueued.elapsed();
        metrics::histogram!("lastmile_password_hash_wait_seconds").record(waited.as_secs_f64());
        if waited >= shared.max_wait {
            metrics::counter!("lastmile_password_hash_rejected_total", "reason" => "deadline")
                .increment(1);
            let _ = job.reply.send(Err(Error::Overloaded(OVERLOADED)));
            continue;
        }
        let now = shared.running.fetch_add(1, Ordering::SeqCst) + 1;
        shared.peak_running.fetch_max(now, Ordering::SeqCst);
        metrics::gauge!("lastmile_password_hash_running").set(now as f64);
        let held = blocks.capacity() > 0;
        let started = Instant::now();
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
            run(&shared.params, &mut blocks, job.work)
        }))
        .unwrap_or_else(|_| Err(Error::Internal(anyhow::anyhow!("argon2 panicked"))));
        if !held && blocks.capacity() > 0 {
            let now = shared.buffers_held.fetch_add(1, Ordering::SeqCst) + 1;
            metrics::gauge!("lastmile_password_hash_buffers_held").set(now as f64);
        }
        let now = shared.running.fetch_sub(1, Ordering::SeqCst) - 1;
        metrics::gauge!("lastmile_password_hash_running").set(now as f64);
        metrics::histogram!("lastmile_password_hash_seconds")
            .record(started.elapsed().as_secs_f64());
        let _ = job.reply.send(outcome);
    }
}

/// Gives an idle worker's buffer back to the system.
fn release(shared: &Shared, blocks: &mut Vec<Block>) {
    if blocks.capacity() == 0 {
        return;
    }
    *blocks = Vec::new();
    let now = shared.buffers_held.fetch_sub(1, Ordering::SeqCst) - 1;
    metrics::gauge!("lastmile_password_hash_buffers_held").set(now as f64);
}

fn run(params: &Params, blocks: &mut Vec<Block>, work: Work) -> Result<Done> {
    match work {
        Work::Hash(password) => hash_with(params, blocks, password.as_bytes()).map(Done::Hashed),
        Work::Verify(password, Some(stored)) => {
            verify_with(params, blocks, password.as_bytes(), &stored).map(Done::Verified)
        }
        Work::Verify(password, None) => {
            // As costly as a real check, and never a match.
            hash_with(params, blocks, password.as_bytes())?;
            Ok(Done::Verified(Verification {
                matches: false,
                outdated: false,
            }))
        }
    }
}

/// The worker's buffer, grown to the configured size when first needed and kept while the
/// worker is busy. A stored hash that needs more (made before the memory was lowered) gets
/// a buffer of its own for that call.
fn memory(blocks: &mut Vec<Block>, configured: usize, needed: usize) -> Option<Vec<Block>> {
    if blocks.len() < configured {
        *blocks = block_buffer(configured);
    }
    (needed > blocks.len()).then(|| block_buffer(needed))
}

/// Requests at least this large are always served by glibc with a mapping of their own and
/// unmapped on free: its dynamic mmap threshold never rises above 32 MiB. A smaller buffer
/// would come from an arena once the threshold has risen (freeing one mapped 19 MiB
/// buffer raises it to 19 MiB, and the trim threshold to twice that, for the whole
/// process), and an arena keeps freed memory.
const ALWAYS_MAPPED: usize = 33 * 1024 * 1024;

/// `count` zeroed blocks in an allocation that is given back to the system when dropped.
/// Only the blocks in use are touched, so the reserve above `count` costs address space,
/// not memory.
fn block_buffer(count: usize) -> Vec<Block> {
    let mut blocks = Vec::with_capacity(count.max(ALWAYS_MAPPED.div_ceil(Block::SIZE)));
    blocks.resize(count, Block::new());
    blocks
}

fn hash_with(params: &Params, blocks: &mut Vec<Block>, password: &[u8]) -> Result<String> {
    let mut salt = [0u8; SALT_LEN];
    rand::rng().fill_bytes(&mut salt);
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let mut out = [0u8; OUTPUT_LEN];
    let count = params.block_count();
    let mut own = memory(blocks, count, count);
    let memory = own.as_deref_mut().unwrap_or(blocks.as_mut_slice());
    argon2
        .hash_password_into_with_memory(password, &salt, &mut out, memory)
        .map_err(|e| Error::Internal(anyhow::anyhow!("argon2: {e}")))?;
    let phc = PasswordHash {
        algorithm: ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params)
            .map_err(|e| Error::Internal(anyhow::anyhow!("argon2 parameters: {e}")))?,
        salt: Some(Salt::new(&salt).map_err(|e| Error::Internal(anyhow::anyhow!("salt: {e}")))?),
        hash: Some(Output::new(&out).map_err(|e| Error::Internal(anyhow::anyhow!("{e}")))?),
    };
    Ok(phc.to_string())
}

fn verify_with(
    configured: &Params,
    blocks: &mut Vec<Block>,
    password: &[u8],
    stored: &str,
) -> Result<Verification> {
    let corrupt = |what: &str| Error::Internal(anyhow::anyhow!("stored password hash: {what}"));
    let parsed = PasswordHash::new(stored).map_err(|e| corrupt(&e.to_string()))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm.as_str()).map_err(|_| corrupt("algorithm"))?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|_| corrupt("version"))?,
        None => Version::V0x10,
    };
    let params = Params::try_from(&parsed).map_err(|e| corrupt(&e.to_string()))?;
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return Err(corrupt("no salt or hash"));
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let mut out = vec![0u8; expected.len()];
    let mut own = memory(blocks, configured.block_count(), params.block_count());
    let memory = own.as_deref_mut().unwrap_or(blocks.as_mut_slice());
    argon2
        .hash_password_into_with_memory(password, salt, &mut out, memory)
        .map_err(|e| corrupt(&e.to_string()))?;
    let computed = Output::new(&out).map_err(|e| corrupt(&e.to_string()))?;
    Ok(Verification {
        // Output's equality is constant-time.
        matches: computed == *expected,
        outdated: algorithm != Algorithm::Argon2id
            || version != Version::V0x13
            || params.m_cost() != configured.m_cost()
            || params.t_cost() != configured.t_cost()
            || params.p_cost() != configured.p_cost()
            || expected.len() != OUTPUT_LEN
            || salt.len() < SALT_LEN,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// Small parameters keep the tests fast; the rules do not depend on the cost.
    fn cheap() -> Argon2Settings {
        Argon2Settings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn pool(workers: usize, queue: usize) -> Passwords {
        Passwords::start(HashingSettings {
            workers,
            queue,
            max_wait: Duration::from_secs(30),
            keep_memory: Duration::from_secs(3600),
            argon2: cheap(),
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_carry_their_parameters() {
        let passwords = pool(1, 4);
        let a = passwords.hash("Str0ng!pass".into()).await.unwrap();
        let b = passwords.hash("Str0ng!pass".into()).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn the_right_password_matches_and_others_do_not() {
        let passwords = pool(1, 4);
        let hash = passwords.hash("Str0ng!pass".into()).await.unwrap();
        let right = passwords
            .verify("Str0ng!pass".into(), Some(hash.clone()))
            .await
            .unwrap();
        assert_eq!(
            right,
            Verification {
                matches: true,
                outdated: false
            }
        );
        let wrong = passwords.verify("wrong".into(), Some(hash)).await.unwrap();
        assert!(!wrong.matches);
        let unknown = passwords.verify("Str0ng!pass".into(), None).await.unwrap();
        assert!(!unknown.matches);
    }

    #[tokio::test]
    async fn hashes_made_by_the_argon2_crate_with_other_parameters_verify_and_are_outdated() {
        use argon2::PasswordHasher;
        // A hash as the previous release stored it: argon2's defaults (m=19456, t=2, p=1).
        let old = Argon2::default()
            .hash_password(b"Str0ng!pass")
            .unwrap()
            .to_string();
        let passwords = pool(1, 4);
        let verdict = passwords
            .verify("Str0ng!pass".into(), Some(old.clone()))
            .await
            .unwrap();
        assert_eq!(
            verdict,
            Verification {
                matches: true,
                outdated: true
            }
        );
        assert!(
            !passwords
                .verify("Str0ng!pas".into(), Some(old))
                .await
                .unwrap()
                .matches
        );
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_internal_error_not_a_match() {
        let passwords = pool(1, 4);
        let err = passwords
            .verify("x".into(), Some("$argon2id$nonsense".into()))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Internal(_)));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_workers() {
        let passwords = pool(2, 64);
        let calls: Vec<_> = (0..40)
            .map(|n| {
                let passwords = passwords.clone();
                tokio::spawn(async move { passwords.hash(format!("Str0ng!pass{n}")).await })
            })
            .collect();
        for call in calls {
            call.await.unwrap().unwrap();
        }
        let stats = passwords.stats();
        assert!((1..=2).contains(&stats.peak_running), "{stats:?}");
        assert_eq!((stats.queued, stats.running), (0, 0));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_flood_beyond_the_queue_is_refused_at_once_and_the_rest_succeed() {
        let passwords = pool(1, 2);
        let calls: Vec<_> = (0..30)
            .map(|n| {
                let passwords = passwords.clone();
                tokio::spawn(async move { passwords.hash(format!("Str0ng!pass{n}")).await })
            })
            .collect();
        let (mut done, mut refused) = (0, 0);
        for call in calls {
            match call.await.unwrap() {
                Ok(_) => done += 1,
                Err(Error::Overloaded(_)) => refused += 1,
                Err(other) => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(done + refused, 30);
        assert!(done >= 1 && refused >= 1, "done {done}, refused {refused}");
        assert_eq!(passwords.stats().peak_running, 1);
    }

    #[tokio::test]
    async fn a_job_that_waited_past_the_deadline_is_refused() {
        let passwords = Passwords::start(HashingSettings {
            workers: 1,
            queue: 8,
            max_wait: Duration::ZERO,
            keep_memory: Duration::from_secs(3600),
            argon2: cheap(),
        })
        .unwrap();
        // Everything waits at least a moment, so with no waiting allowed all are refused.
        let err = passwords.hash("Str0ng!pass".into()).await.unwrap_err();
        assert!(matches!(err, Error::Overloaded(_)));
    }

    #[tokio::test]
    async fn a_busy_worker_keeps_its_buffer_and_an_idle_one_gives_it_back() {
        let keeping = pool(1, 4);
        keeping.hash("Str0ng!pass".into()).await.unwrap();
        keeping.hash("Str0ng!pass".into()).await.unwrap();
        assert_eq!(keeping.stats().buffers_held, 1);

        let returning = Passwords::start(HashingSettings {
            workers: 2,
            queue: 4,
            max_wait: Duration::from_secs(30),
            keep_memory: Duration::ZERO,
            argon2: cheap(),
        })
        .unwrap();
        let hash = returning.hash("Str0ng!pass".into()).await.unwrap();
        // Memory comes back when the worker has nothing to do; it still works afterwards.
        wait_until(|| returning.stats().buffers_held == 0).await;
        assert!(
            returning
                .verify("Str0ng!pass".into(), Some(hash))
                .await
                .unwrap()
                .matches
        );
        wait_until(|| returning.stats().buffers_held == 0).await;
    }

    /// Waits for a worker thread to get there; a bound, not a timing the test relies on.
    async fn wait_until(done: impl Fn() -> bool) {
        let give_up = Instant::now() + Duration::from_secs(30);
        while Instant::now() < give_up {
            if done() {
                return;
            }
            tokio::task::yield_now().await;
            std::thread::yield_now();
        }
        panic!("the condition never held");
    }

    #[test]
    fn a_block_buffer_is_mapped_on_its_own_whatever_its_size() {
        for count in [8, 19 * 1024, 64 * 1024] {
            let blocks = block_buffer(count);
            assert_eq!(blocks.len(), count);
            assert!(blocks.capacity() * Block::SIZE >= ALWAYS_MAPPED);
        }
    }

    #[test]
    fn workers_stop_when_the_last_handle_goes() {
        let passwords = pool(2, 4);
        let shared = Arc::downgrade(&passwords.handle.shared);
        drop(passwords);
        for _ in 0..200 {
            if shared.upgrade().is_none() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the workers still hold the queue");
    }
}
