//! The product's database URLs in the forms FreeRADIUS's SQL drivers take: a libpq
//! `key=value` string (rlm_sql_postgresql treats a URI as a database name, and appends its
//! own `application_name=…`, which breaks a URI's query string) and a SQLite file path.

use std::path::PathBuf;

/// A `postgres://user:pass@host:port/db?sslmode=…&options=…` URL (or `postgresql://`) as
/// a libpq connection string: `host=… port=… dbname=… user=… password=… sslmode=…`.
/// Parts are percent-decoded; the host defaults to 127.0.0.1 and the port to 5432; values
/// with spaces, quotes, backslashes or `=` are single-quoted with `\` escapes, as libpq
/// reads them.
pub fn postgres_conninfo(url: &str) -> Result<String, String> {
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or("The database URL must start with postgres:// or postgresql://.")?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hosts) = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => (Some(userinfo), hosts),
        None => (None, authority),
    };
    let mut params = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("The database URL parameter {pair:?} has no value."))?;
        let key = decode(key)?;
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || key.is_empty() {
            return Err(format!("{key:?} is not a PostgreSQL connection parameter."));
        }
        params.push((key, decode(value)?));
    }
    let given = |name: &str| params.iter().any(|(key, _)| key == name);

    let mut pairs: Vec<(String, String)> = Vec::new();
    let (host, port) = split_hosts(hosts)?;
    if !given("host") && !given("hostaddr") {
        let host = if host.is_empty() {
            "127.0.0.1".into()
        } else {
            host
        };
        pairs.push(("host".into(), host));
    }
    if !given("port") {
        let port = if port.is_empty() { "5432".into() } else { port };
        pairs.push(("port".into(), port));
    }
    if !database.is_empty() {
        pairs.push(("dbname".into(), decode(database)?));
    }
    if let Some(userinfo) = userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((user, password)) => (user, Some(password)),
            None => (userinfo, None),
        };
        if !user.is_empty() {
            pairs.push(("user".into(), decode(user)?));
        }
        if let Some(password) = password {
            pairs.push(("password".into(), decode(password)?));
        }
    }
    pairs.extend(params);
    Ok(pairs
        .iter()
        .map(|(key, value)| format!("{key}={}", libpq_quote(value)))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The file of a `sqlite://path?mode=rwc` or `sqlite:path` URL, read as sqlx reads it:
/// what follows the scheme up to `?`, percent-decoded. In-memory databases are refused,
/// since FreeRADIUS is another process.
pub fn sqlite_path(url: &str) -> Result<PathBuf, String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or("The database URL must start with sqlite:// or sqlite:.")?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let path = decode(path)?;
    let in_memory = query.split('&').any(|p| p == "mode=memory");
    if path.is_empty() || path == ":memory:" || in_memory {
        return Err("FreeRADIUS needs a SQLite file, not an in-memory database.".into());
    }
    Ok(PathBuf::from(path))
}

/// `host1:port1,host2` as libpq's `host=host1,host2 port=port1,` lists; `[v6]` brackets
/// are removed.
fn split_hosts(hosts: &str) -> Result<(String, String), String> {
    if hosts.is_empty() {
        return Ok((String::new(), String::new()));
    }
    let mut names = Vec::new();
    let mut ports = Vec::new();
    for entry in hosts.split(',') {
        let (name, port) = match entry.strip_prefix('[') {
            Some(bracketed) => {
                let (name, after) = bracketed
                    .split_once(']')
                    .ok_or_else(|| format!("{entry:?} is not a host."))?;
                (name, after.strip_prefix(':').unwrap_or(""))
            }
            None => entry.split_once(':').unwrap_or((entry, "")),
        };
        if !port.is_empty() && port.parse::<u16>().is_err() {
            return Err(format!("{port:?} is not a port."));
        }
        names.push(decode(name)?);
        ports.push(if port.is_empty() { "5432" } else { port }.to_owned());
    }
    Ok((names.join(","), ports.join(",")))
}

/// A value as libpq reads it: bare when it has nothing special, else in single quotes with
/// `\` before `\` and `'`.
fn libpq_quote(value: &str) -> String {
    let plain = !value.is_empty()
        && !value
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '\'' | '\\' | '='));
    if plain {
        value.to_owned()
    } else {
        format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
    }
}

/// Percent-decoding (`%20` → space); `+` stays `+`, as in libpq's own URI parser.
fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("{text:?} has a bad %-escape."))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(byte);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("{text:?} is not UTF-8 once decoded."))
}
