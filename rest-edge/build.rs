//! Compiles the tests that need a Redis server in (`cfg(redis_tests)`) when
//! `LASTMILE_TEST_REDIS_URL` is set; without it those tests are reported as ignored, never
//! as passed.

fn main() {
    println!("cargo::rerun-if-env-changed=LASTMILE_TEST_REDIS_URL");
    println!("cargo::rustc-check-cfg=cfg(redis_tests)");
    let configured =
        std::env::var("LASTMILE_TEST_REDIS_URL").is_ok_and(|url| !url.trim().is_empty());
    if configured {
        println!("cargo::rustc-cfg=redis_tests");
    }
}
