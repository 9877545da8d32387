//! Compiles the PostgreSQL half of the end-to-end suite in (`cfg(postgres_tests)`) when
//! `LASTMILE_TEST_POSTGRES_URL` is set; without it those tests are reported as ignored,
//! never as passed.

fn main() {
    println!("cargo::rerun-if-env-changed=LASTMILE_TEST_POSTGRES_URL");
    println!("cargo::rustc-check-cfg=cfg(postgres_tests)");
    let configured =
        std::env::var("LASTMILE_TEST_POSTGRES_URL").is_ok_and(|url| !url.trim().is_empty());
    if configured {
        println!("cargo::rustc-cfg=postgres_tests");
    }
}
