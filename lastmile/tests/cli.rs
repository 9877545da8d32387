//! The `lastmile` binary as an operator runs it: first start prints an admin key,
//! `keys create` prints a key, `migrate` prepares a database, SIGTERM stops cleanly.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_lastmile");

fn database_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}", dir.path().join("lastmile.db").display())
}

/// Starts `lastmile serve` on free ports; returns the child, the first stdout line and
/// the edge's address (read from the log).
fn serve(url: &str) -> (Child, mpsc::Receiver<String>, String) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--http-addr",
            "127.0.0.1:0",
            "--grpc-addr",
            "127.0.0.1:0",
        ])
        .env("LASTMILE_DATABASE_URL", url)
        .env("LASTMILE_LOG_FORMAT", "json")
        .env_remove("LASTMILE_BOOTSTRAP_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start lastmile serve");
    let (out_tx, out_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });
    let (addr_tx, addr_rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("REST edge listening") {
                let value: serde_json::Value = serde_json::from_str(&line).expect("JSON log line");
                let _ = addr_tx.send(value["fields"]["addr"].as_str().unwrap().to_owned());
            }
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("edge address in the log");
    (child, out_rx, addr)
}

fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let exit = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("exits after SIGTERM")
        .unwrap();
    assert!(exit.success(), "exit status after SIGTERM: {exit:?}");
}

/// The status code of `GET /api/v1/customers` with `key` (plain HTTP/1.1 over TCP).
fn get_customers(addr: &str, key: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the edge");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /api/v1/customers HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {key}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0)
}

#[test]
fn the_first_start_prints_an_admin_key_once_and_it_works() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let (child, stdout, addr) = serve(&url);
    let line = stdout
        .recv_timeout(Duration::from_secs(10))
        .expect("the key is printed");
    let key = line.rsplit(' ').next().unwrap().to_owned();
    assert!(key.starts_with("lm_"), "{line}");
    assert_eq!(get_customers(&addr, &key), 200);
    assert_eq!(get_customers(&addr, "lm_wrongkey_0000000000"), 401);
    terminate(child);

    // A second start on the same database prints nothing and the key still works.
    let (child, stdout, addr) = serve(&url);
    assert_eq!(get_customers(&addr, &key), 200);
    assert!(stdout.try_recv().is_err(), "no second key");
    terminate(child);
}

#[test]
fn keys_create_prints_only_a_working_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let migrate = Command::new(BIN)
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let output = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--admin",
            "--name",
            "ops",
            "--database-url",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    let key = lines[0];
    assert!(key.starts_with("lm_") && key.len() >= 40, "{key}");

    // The database already has a key, so the first start creates none; the created key works.
    let (child, stdout, addr) = serve(&url);
    assert_eq!(get_customers(&addr, key), 200);
    assert!(stdout.try_recv().is_err());
    terminate(child);
}

#[test]
fn keys_create_refuses_an_unknown_role() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--role",
            "wizard",
            "--name",
            "x",
            "--database-url",
            &database_url(&dir),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown role"));
    assert!(output.stdout.is_empty());
}

#[test]
fn a_reseller_key_needs_an_existing_partner() {
    let dir = tempfile::tempdir().unwrap();
    let url = database_url(&dir);
    let create = |extra: &[&str]| {
        Command::new(BIN)
            .args([
                "keys",
                "create",
                "--role",
                "reseller",
                "--name",
                "westlands",
                "--database-url",
                &url,
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let without = create(&[]);
    assert!(!without.status.success());
    assert!(String::from_utf8_lossy(&without.stderr).contains("--partner-id"));
    let unknown = create(&["--partner-id", "42"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no partner with id 42"));
    assert!(unknown.stdout.is_empty());
}
