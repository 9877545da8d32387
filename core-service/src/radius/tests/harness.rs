//! Starting FreeRADIUS for a test: free ports, the process killed when the test ends, and
//! a skip (or, with `CI=true`, a failure) where FreeRADIUS is not installed.

use std::fs::File;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Where the stock schema files live (readable by root or the `freerad` group).
pub const SQL_MAIN: &str = "/etc/freeradius/3.0/mods-config/sql/main";

/// The FreeRADIUS binary, or `None` (with a note) when the tests cannot run here.
pub fn freeradius() -> Option<PathBuf> {
    let binary = ["/usr/sbin/freeradius", "/usr/sbin/radiusd"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file());
    let schema = Path::new(SQL_MAIN).join("sqlite/schema.sql");
    let missing = match &binary {
        None => "FreeRADIUS is not installed",
        Some(_) if std::fs::read(&schema).is_err() => {
            "the FreeRADIUS schema files are not readable"
        }
        Some(_) => return binary,
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{missing}, and CI=true needs the RADIUS tests to run"
    );
    eprintln!("skipped: {missing}");
    None
}

/// A UDP port nothing is bound to now.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A FreeRADIUS process, killed when dropped.
pub struct Running {
    child: Child,
    output: PathBuf,
    /// The first port the configuration was written with.
    pub port: u16,
    /// The second one.
    pub second_port: u16,
}

impl Running {
    /// Writes a configuration for two free ports with `write(dir, port, second_port)` and
    /// starts `freeradius -f -l stdout -d dir`; when the ports were taken meanwhile, tries
    /// again with others.
    pub async fn start(binary: &Path, dir: &Path, write: impl Fn(&Path, u16, u16)) -> Running {
        let mut last_output = String::new();
        for _ in 0..3 {
            let (port, second_port) = (free_udp_port(), free_udp_port());
            write(dir, port, second_port);
            let output = dir.with_extension("out");
            let log = File::create(&output).unwrap();
            let child = Command::new(binary)
                .args(["-f", "-l", "stdout", "-d"])
                .arg(dir)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut running = Running {
                child,
                output,
                port,
                second_port,
            };
            if running.ready().await {
                return running;
            }
            last_output = running.output();
            if !last_output.contains("Address already in use") {
                break;
            }
        }
        panic!("FreeRADIUS did not start:\n{last_output}");
    }

    /// Waits for "Ready to process requests"; false when the process exits first.
    async fn ready(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.output().contains("Ready to process requests") {
                return true;
            }
            if self.child.try_wait().unwrap().is_some() {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// What the server printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
