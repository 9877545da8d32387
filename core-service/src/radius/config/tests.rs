use super::*;

fn sqlite_config(dir: &Path) -> ServerConfig {
    let mut config = ServerConfig::new(
        dir,
        SqlTarget::Sqlite {
            path: dir.join("radius.sqlite"),
        },
    );
    config.clients = vec![
        Client {
            name: "Tower 1 (north)".into(),
            address: "10.0.0.1".into(),
            secret: r#"sec"ret\x\\"y"#.into(),
        },
        Client {
            name: "Tower 1 (north)".into(),
            address: "10.0.1.0/24".into(),
            secret: "s2".into(),
        },
        Client::localhost("testing123"),
    ];
    config
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_directory_holds_the_minimal_server() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("raddb");
    let config = sqlite_config(&dir);
    config.write().unwrap();

    let radiusd = read(&dir.join("radiusd.conf"));
    let dir_text = dir.to_str().unwrap();
    assert!(radiusd.contains(&format!("raddbdir = \"{dir_text}\"")));
    assert!(radiusd.contains("dialect = \"sqlite\""));
    assert!(radiusd.contains(&format!("filename = \"{dir_text}/radius.sqlite\"")));
    assert!(radiusd.contains("busy_timeout = 5000"));
    assert!(radiusd.contains("reject_delay = 0"));
    assert!(radiusd.contains("max_servers = 4"));
    assert!(radiusd.contains("max = 4"));
    assert!(radiusd.contains("session {\n\t\tsql\n\t}"));
    assert!(radiusd.contains("preacct {\n\t\tacct_unique\n\t}"));
    assert!(radiusd.contains("&reply: !* ANY"));
    assert!(radiusd.contains("ipaddr = 0.0.0.0\n\t\tport = 1812"));
    assert!(radiusd.contains("port = 1813"));
    assert!(!radiusd.contains('@'), "a placeholder is left");
    let post_auth = &radiusd[radiusd.find("post-auth {").unwrap()..];
    assert!(
        !post_auth
            .lines()
            .any(|l| l.trim().trim_start_matches('-') == "sql"),
        "post-auth must not log to SQL"
    );

    let queries = dir.join("mods-config/sql/main/sqlite/queries.conf");
    assert_eq!(read(&queries), SQLITE_QUERIES);
    assert!(dir.join("log").is_dir() && dir.join("run").is_dir());
}

#[test]
fn clients_get_clean_unique_names_and_quoted_secrets() {
    let temp = tempfile::tempdir().unwrap();
    let config = sqlite_config(temp.path());
    config.write().unwrap();
    let clients = read(&temp.path().join("clients.conf"));
    assert!(clients.contains("client Tower_1__north_ {\n\tipaddr = 10.0.0.1\n"));
    // FreeRADIUS reads `\"` as `"` and keeps other backslashes: a\b is written as is.
    assert!(clients.contains(r#"secret = "sec\"ret\x\\\"y""#));
    assert!(clients.contains("client Tower_1__north__2 {\n\tipaddr = 10.0.1.0/24\n"));
    assert!(clients.contains("client localhost {\n\tipaddr = 127.0.0.1\n"));
}

#[cfg(unix)]
#[test]
fn the_directory_is_private_and_rewritten_in_place() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("raddb");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o777).unwrap();
    let mut config = sqlite_config(&dir);
    config.write().unwrap();
    assert_eq!(mode(&dir), 0o750);
    assert_eq!(mode(&dir.join("clients.conf")), 0o640);
    assert_eq!(mode(&dir.join("radiusd.conf")), 0o640);

    config.clients.truncate(1);
    config.clients[0].address = "192.0.2.7".into();
    config.threads = 8;
    config.write().unwrap();
    let clients = read(&dir.join("clients.conf"));
    assert!(clients.contains("ipaddr = 192.0.2.7"));
    assert!(!clients.contains("localhost"));
    assert!(read(&dir.join("radiusd.conf")).contains("max_servers = 8"));
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".new"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn postgres_writes_its_connection_string_quoted_for_freeradius() {
    let temp = tempfile::tempdir().unwrap();
    let conninfo = postgres_conninfo("postgres://radius:it's%20a\\pw@db:5433/isp").unwrap();
    let config = ServerConfig::new(temp.path(), SqlTarget::Postgres { conninfo });
    config.write().unwrap();
    let radiusd = read(&temp.path().join("radiusd.conf"));
    assert!(radiusd.contains("dialect = \"postgresql\""));
    assert!(radiusd.contains(
        r#"radius_db = "host=db port=5433 dbname=isp user=radius password='it\'s a\\pw'""#
    ));
    assert!(!radiusd.contains("sqlite {"));
    assert!(
        temp.path()
            .join("mods-config/sql/main/postgresql/queries.conf")
            .is_file()
    );
}

#[test]
fn values_freeradius_would_misread_are_refused() {
    let temp = tempfile::tempdir().unwrap();
    let mut config = sqlite_config(temp.path());
    for (secret, address) in [
        ("a${confdir}b", "10.0.0.9"),
        ("line\nbreak", "10.0.0.9"),
        ("ends\\", "10.0.0.9"),
        ("a\\\"b", "10.0.0.9"),
        ("", "10.0.0.9"),
        ("fine", "10.0.0.300"),
        ("fine", "10.0.0.0/33"),
        ("fine", "router.example"),
        ("fine", "10.0.0.1"),
    ] {
        config.clients.push(Client {
            name: "x".into(),
            address: address.into(),
            secret: secret.into(),
        });
        let error = config.write().unwrap_err();
        assert!(matches!(error, ConfigError::Invalid(_)), "{error}");
        config.clients.pop();
    }
    config.dir = temp.path().join("it's");
    assert!(matches!(config.write(), Err(ConfigError::Invalid(_))));
}

#[test]
fn placeholders_are_filled_once() {
    assert_eq!(
        fill("a @X@ b @Y@ @Z@ c@", &[("X", "@Y@"), ("Y", "1")]),
        "a @Y@ b 1 @Z@ c@"
    );
    assert_eq!(fill("user@example.com", &[]), "user@example.com");
}

#[test]
fn postgres_urls_become_libpq_key_value_strings() {
    let cases = [
        (
            "postgres://postgres@127.0.0.1:5432/postgres",
            "host=127.0.0.1 port=5432 dbname=postgres user=postgres",
        ),
        ("postgresql:///isp", "host=127.0.0.1 port=5432 dbname=isp"),
        ("postgres://", "host=127.0.0.1 port=5432"),
        (
            "postgres://u:p%40ss@db.internal/isp?sslmode=require&options=-c%20search_path%3Drs",
            "host=db.internal port=5432 dbname=isp user=u password=p@ss sslmode=require options='-c search_path=rs'",
        ),
        (
            "postgres://u:@[::1]:6543/x",
            "host=::1 port=6543 dbname=x user=u password=''",
        ),
        (
            "postgres://h1:5433,h2/x",
            "host=h1,h2 port=5433,5432 dbname=x",
        ),
        (
            "postgres:///x?host=%2Fvar%2Frun%2Fpostgresql",
            "port=5432 dbname=x host=/var/run/postgresql",
        ),
        (
            "postgres://u:va'lue@h/d",
            "host=h port=5432 dbname=d user=u password='va\\'lue'",
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(postgres_conninfo(url).as_deref(), Ok(expected), "{url}");
    }
    for bad in [
        "mysql://x",
        "postgres://h/d?sslmode",
        "postgres://h/d?bad%20key=1",
        "postgres://h:port/d",
        "postgres://h/%zz",
        "postgres://h/%+1",
        "postgres://h/%ff",
    ] {
        assert!(postgres_conninfo(bad).is_err(), "{bad}");
    }
}

#[test]
fn sqlite_urls_give_the_file_sqlx_opens() {
    let cases = [
        ("sqlite://data/db.sqlite3?mode=rwc", "data/db.sqlite3"),
        (
            "sqlite:///var/lib/lastmile/db.sqlite3",
            "/var/lib/lastmile/db.sqlite3",
        ),
        ("sqlite:lastmile.db", "lastmile.db"),
        ("sqlite://my%20data/x.db", "my data/x.db"),
    ];
    for (url, expected) in cases {
        assert_eq!(sqlite_path(url), Ok(PathBuf::from(expected)), "{url}");
    }
    for bad in [
        "sqlite::memory:",
        "sqlite://?mode=memory",
        "sqlite://x.db?mode=memory",
        "postgres://x",
        "sqlite://",
    ] {
        assert!(sqlite_path(bad).is_err(), "{bad}");
    }
}
