//! The test-declaring macros. The PostgreSQL half is compiled in only when
//! `LASTMILE_TEST_POSTGRES_URL` is set at build time: build.rs then sets
//! `cfg(postgres_tests)` for this package's targets (so the macros serve this package only).

/// Runs each listed `async fn(TestApp)` on both engines:
/// `engine_tests!(creating_a_customer_answers_201, …);`
///
/// `engine_tests!(with = adjust; name, …)` starts the servers with settings changed by
/// `fn adjust(&mut Settings)` (an item in scope of the calling module).
///
/// The PostgreSQL half is compiled in only when `LASTMILE_TEST_POSTGRES_URL` is set at
/// build time (`cfg(postgres_tests)`, see build.rs); otherwise it is reported as ignored,
/// never as passed.
#[macro_export]
macro_rules! engine_tests {
    (with = $adjust:ident; $($name:ident),+ $(,)?) => {
        $crate::engine_tests!(@both super::$adjust; $($name),+);
    };
    ($($name:ident),+ $(,)?) => {
        $crate::engine_tests!(@both $crate::unchanged; $($name),+);
    };
    (@both $adjust:expr; $($name:ident),+) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::spawn_with($crate::Engine::Sqlite, $adjust).await;
                    super::$name(app.expect("SQLite is always available")).await;
                }

                $crate::postgres_tests!(@one $adjust, super::$name);
            }
        )+
    };
}

/// Runs each listed `async fn(TestApp)` on PostgreSQL only (for behaviour SQLite cannot
/// show), ignored unless `LASTMILE_TEST_POSTGRES_URL` was set at build time:
/// `postgres_tests!(name, …)` or `postgres_tests!(with = adjust; name, …)`.
#[macro_export]
macro_rules! postgres_tests {
    (with = $adjust:ident; $($name:ident),+ $(,)?) => {
        $(
            mod $name {
                $crate::postgres_tests!(@one super::$adjust, super::$name);
            }
        )+
    };
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                $crate::postgres_tests!(@one $crate::unchanged, super::$name);
            }
        )+
    };
    (@one $adjust:expr, $name:path) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        #[cfg_attr(
            not(postgres_tests),
            ignore = "set LASTMILE_TEST_POSTGRES_URL to run on PostgreSQL"
        )]
        async fn postgres() {
            let app = $crate::TestApp::spawn_with($crate::Engine::Postgres, $adjust).await;
            $name(app.unwrap_or_else($crate::postgres_url_missing)).await;
        }
    };
}
