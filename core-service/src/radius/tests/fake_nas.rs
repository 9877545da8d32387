//! Disconnect and CoA against a FreeRADIUS posing as a router: it ACKs every request but
//! NAKs user "ghost" with Session-Context-Not-Found, and, like a hardened NAS, drops
//! requests without a Message-Authenticator.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use super::harness::{Running, freeradius};
use crate::radius::{
    Attribute, Code, Outcome, Packet, SendError, coa, disconnect, kind, send, vendor,
};

const SECRET: &[u8] = b"coasecret";
const TIMEOUT: Duration = Duration::from_secs(2);

/// The router: a CoA listener whose `recv-coa` logs each request and answers.
const FAKE_NAS: &str = r#"prefix = /usr
exec_prefix = /usr
localstatedir = /var
sbindir = /usr/sbin
logdir = @DIR@/log
raddbdir = @DIR@
confdir = ${raddbdir}
run_dir = @DIR@/run
libdir = /usr/lib/freeradius
pidfile = ${run_dir}/fakenas.pid
name = fakenas
log {
	destination = files
	file = ${logdir}/radius.log
}
security {
	reject_delay = 0
	status_server = no
}
client product {
	ipaddr = 127.0.0.1
	secret = coasecret
	require_message_authenticator = yes
}
modules {
	always reject {
		rcode = reject
	}
	always ok {
		rcode = ok
	}
	linelog coalog {
		filename = ${logdir}/coa.log
		format = "%{Packet-Type} user=%{User-Name} sess=%{Acct-Session-Id} ip=%{Framed-IP-Address} rate=%{Mikrotik-Rate-Limit} msgauth=%{Message-Authenticator}"
	}
}
server fakenas {
	listen {
		type = coa
		ipaddr = 127.0.0.1
		port = @PORT@
	}
	recv-coa {
		coalog
		if (&User-Name == "ghost") {
			update reply {
				&Error-Cause := Session-Context-Not-Found
			}
			reject
		}
		ok
	}
	send-coa {
		ok
	}
}
"#;

fn write_fake_nas(dir: &Path, port: u16, _: u16) {
    for sub in ["log", "run"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    let text = FAKE_NAS
        .replace("@DIR@", dir.to_str().unwrap())
        .replace("@PORT@", &port.to_string());
    std::fs::write(dir.join("radiusd.conf"), text).unwrap();
}

#[tokio::test]
async fn a_router_acks_disconnect_and_coa_and_naks_an_unknown_session() {
    let Some(binary) = freeradius() else { return };
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("raddb");
    let nas = Running::start(&binary, &dir, write_fake_nas).await;
    let target = SocketAddr::from((Ipv4Addr::LOCALHOST, nas.port));
    let framed_ip = Some(Ipv4Addr::new(100, 64, 0, 10));

    let ack = disconnect(
        target,
        SECRET,
        "alice",
        Some("81a00001"),
        framed_ip,
        TIMEOUT,
        0,
    )
    .await;
    assert_eq!(ack.unwrap(), Outcome::Ack, "{}", nas.output());

    let nak = disconnect(target, SECRET, "ghost", Some("81a00002"), None, TIMEOUT, 0).await;
    assert_eq!(
        nak.unwrap(),
        Outcome::Nak {
            error_cause: Some(503)
        }
    );

    let short = Duration::from_millis(200);
    let wrong_secret = disconnect(target, b"not it", "alice", None, None, short, 1).await;
    assert_eq!(wrong_secret.unwrap(), Outcome::Timeout);

    let rate = Attribute::vendor_string(vendor::MIKROTIK, vendor::MIKROTIK_RATE_LIMIT, "20M/40M");
    let changed = coa(
        target,
        SECRET,
        "alice",
        Some("81a00001"),
        vec![rate],
        TIMEOUT,
        0,
    )
    .await;
    assert_eq!(changed.unwrap(), Outcome::Ack);

    // Without a Message-Authenticator the router drops the request: the client must sign.
    let unsigned =
        Packet::new(Code::DisconnectRequest, 0).with(Attribute::string(kind::USER_NAME, "alice"));
    let dropped = send(target, unsigned, SECRET, short, 0).await;
    assert!(matches!(dropped, Err(SendError::Timeout)), "{dropped:?}");

    let log = std::fs::read_to_string(dir.join("log/coa.log")).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert!(lines[0].starts_with("Disconnect-Request user=alice sess=81a00001 ip=100.64.0.10"));
    assert!(lines[1].starts_with("Disconnect-Request user=ghost"));
    assert!(lines[2].starts_with("CoA-Request user=alice sess=81a00001"));
    assert!(lines[2].contains("rate=20M/40M msgauth=0x"), "{}", lines[2]);
}
