//! `docker-compose.yml` and the files it mounts, checked without Docker: the file follows
//! the Compose Specification's JSON schema (vendored in `tests/compose-spec/`), every image
//! is pinned, every name it and the mounted nginx and collector configs point at is a
//! service of the file, replicated services publish no fixed host port, and every mounted
//! file is in the repository.
//!
//! Each check is a function returning its findings; the tests run it on the real files and
//! on small bad examples, so that a check that stopped finding anything would fail too.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde_json::Value;

const COMPOSE_FILE: &str = "docker-compose.yml";
const SCHEMA_FILE: &str = "tests/compose-spec/compose-spec.json";
const NGINX_CONFIG_TARGET: &str = "/etc/nginx/nginx.conf";
const COLLECTOR_CONFIG_TARGET: &str = "/etc/otelcol-contrib/config.yaml";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repository")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}"))
}

fn compose() -> Value {
    yaml(&read(COMPOSE_FILE))
}

fn services(compose: &Value) -> impl Iterator<Item = (&String, &Value)> {
    compose
        .get("services")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
}

fn service_names(compose: &Value) -> BTreeSet<&str> {
    services(compose).map(|(name, _)| name.as_str()).collect()
}

/// A list, or the keys of a map (`depends_on`, `environment` and friends take both forms).
fn names_in(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

// --- (1) the Compose Specification -------------------------------------------------------

/// Where `compose` breaks the Compose Specification's schema.
fn schema_violations(compose: &Value) -> Vec<String> {
    let schema: Value = serde_json::from_str(&read(SCHEMA_FILE)).expect("the schema is JSON");
    // The schema's formats ("duration" as Go writes durations, "ports", "expose") are
    // Compose's own, not JSON Schema's: checking them as JSON Schema formats would reject
    // valid files such as `interval: 5s`.
    let validator = jsonschema::options()
        .should_validate_formats(false)
        .build(&schema)
        .expect("the Compose schema compiles");
    validator
        .iter_errors(compose)
        .map(|error| format!("at {}: {error}", error.instance_path()))
        .collect()
}

#[test]
fn the_compose_file_follows_the_compose_specification() {
    let violations = schema_violations(&compose());
    assert!(violations.is_empty(), "{violations:#?}");
}

#[test]
fn the_schema_check_rejects_what_compose_would() {
    let ok = yaml("services:\n  db:\n    image: postgres:16.9\n");
    assert_eq!(schema_violations(&ok), Vec::<String>::new());
    for bad in [
        // A misspelt key.
        "services:\n  db:\n    imgae: postgres:16.9\n",
        // Replicas are a number.
        "services:\n  db:\n    image: postgres:16.9\n    deploy:\n      replicas: two\n",
        // A health check's test is a string or a list of strings.
        "services:\n  db:\n    image: postgres:16.9\n    healthcheck:\n      test: {cmd: true}\n",
        // Unknown top-level key.
        "services: {}\nnetwork: {}\n",
    ] {
        assert!(
            !schema_violations(&yaml(bad)).is_empty(),
            "accepted:\n{bad}"
        );
    }
}

// --- (2) pinned images -------------------------------------------------------------------

/// The tag of an image reference (`name[:tag][@digest]`), if it has one. A colon before the
/// last `/` is a registry's port, not a tag.
fn image_tag(reference: &str) -> Option<&str> {
    let name = reference.split('@').next().unwrap_or(reference);
    let last = name.rsplit('/').next().unwrap_or(name);
    last.split_once(':').map(|(_, tag)| tag)
}

/// Pinned: a digest, or a tag that is neither empty nor `latest`. A reference built from
/// variables could be anything, so it does not count.
fn is_pinned(reference: &str) -> bool {
    if reference.contains('$') {
        return false;
    }
    if reference.contains("@sha256:") {
        return true;
    }
    image_tag(reference).is_some_and(|tag| !tag.is_empty() && tag != "latest")
}

/// Services whose image is not pinned, or that have neither an image nor a build.
fn unpinned_images(compose: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (name, service) in services(compose) {
        match service.get("image") {
            Some(Value::String(image)) if is_pinned(image) => {}
            Some(image) => found.push(format!("{name}: image {image} has no pinned tag")),
            None if service.get("build").is_some() => {}
            None => found.push(format!("{name}: neither an image nor a build")),
        }
    }
    found
}

#[test]
fn every_image_has_a_pinned_tag() {
    let found = unpinned_images(&compose());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_pin_check_finds_floating_images() {
    for pinned in [
        "postgres:16.9",
        "otel/opentelemetry-collector-contrib:0.123.0",
        "registry.example:5000/team/app:1.2.3",
        "nginx@sha256:0123abcd",
    ] {
        assert!(is_pinned(pinned), "{pinned}");
    }
    for floating in [
        "postgres",
        "postgres:latest",
        "postgres:",
        "registry.example:5000/team/app",
        "redis:${REDIS_TAG}",
    ] {
        assert!(!is_pinned(floating), "{floating}");
    }
    let bad =
        yaml("services:\n  a:\n    image: redis\n  b:\n    build: .\n  c:\n    command: [x]\n");
    assert_eq!(
        unpinned_images(&bad).len(),
        2,
        "{:?}",
        unpinned_images(&bad)
    );
}

// --- (3) names that must be services -------------------------------------------------------

/// `depends_on` entries naming no service of the file.
fn unknown_dependencies(compose: &Value) -> Vec<String> {
    let known = service_names(compose);
    let mut found = Vec::new();
    for (name, service) in services(compose) {
        for dependency in names_in(service.get("depends_on")) {
            if !known.contains(dependency.as_str()) {
                found.push(format!(
                    "{name} depends on {dependency}, which is no service"
                ));
            }
        }
    }
    found
}

/// The host of `scheme://user:password@host:port/path`, `host:port` or `host`.
fn host_of(address: &str) -> &str {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let rest = rest.split('/').next().unwrap_or(rest);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    rest.split(':').next().unwrap_or(rest)
}

/// Hosts nginx sends requests to: the servers of its `upstream` blocks, and the targets of
/// `proxy_pass`/`grpc_pass` that name no upstream. A small tokenizer, enough for
/// configurations without `;`, `{` or `}` inside quotes.
fn nginx_hosts(config: &str) -> BTreeSet<String> {
    let text: String = config
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        .replace('{', " { ")
        .replace('}', " } ")
        .replace(';', " ; ");
    let mut blocks: Vec<String> = Vec::new();
    let mut statement: Vec<&str> = Vec::new();
    let mut upstreams = BTreeSet::new();
    let mut servers = BTreeSet::new();
    let mut passes = BTreeSet::new();
    for token in text.split_whitespace() {
        match token {
            "{" => {
                if let ["upstream", name, ..] = statement[..] {
                    upstreams.insert(name.to_owned());
                }
                blocks.push(statement.first().copied().unwrap_or("").to_owned());
                statement.clear();
            }
            "}" => {
                blocks.pop();
                statement.clear();
            }
            ";" => {
                match statement[..] {
                    ["server", address, ..] if blocks.last().is_some_and(|b| b == "upstream") => {
                        servers.insert(host_of(address).to_owned());
                    }
                    [directive, target, ..] if directive.ends_with("_pass") => {
                        passes.insert(host_of(target).to_owned());
                    }
                    _ => {}
                }
                statement.clear();
            }
            _ => statement.push(token),
        }
    }
    servers
        .into_iter()
        .chain(passes.into_iter().filter(|p| !upstreams.contains(p)))
        .collect()
}

/// Hosts the collector exports to: every exporter's `endpoint`.
fn collector_hosts(config: &Value) -> BTreeSet<String> {
    config
        .get("exporters")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter_map(|(_, exporter)| exporter.get("endpoint").and_then(Value::as_str))
        .map(|endpoint| host_of(endpoint).to_owned())
        .collect()
}

/// Hosts in the URLs of the services' environment (`LASTMILE_CORE_URL`, the OTLP endpoint,
/// the database and Redis URLs).
fn environment_hosts(compose: &Value) -> BTreeSet<String> {
    let mut hosts = BTreeSet::new();
    for (_, service) in services(compose) {
        let values: Vec<String> = match service.get("environment") {
            Some(Value::Object(map)) => map
                .values()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(|item| item.split_once('=').map(|(_, value)| value.to_owned()))
                .collect(),
            _ => Vec::new(),
        };
        hosts.extend(
            values
                .iter()
                .filter(|value| value.contains("://") && !value.contains('$'))
                .map(|value| host_of(value).to_owned()),
        );
    }
    hosts
}

/// Of `hosts`, those that are no service of the file (addresses and localhost aside).
fn unknown_hosts(compose: &Value, hosts: &BTreeSet<String>) -> Vec<String> {
    let known = service_names(compose);
    hosts
        .iter()
        .filter(|host| host.parse::<IpAddr>().is_err() && host.as_str() != "localhost")
        .filter(|host| !known.contains(host.as_str()))
        .cloned()
        .collect()
}

/// The repository file that `service` mounts at `target`.
fn bind_source(compose: &Value, service: &str, target: &str) -> Option<String> {
    let volumes = compose.get("services")?.get(service)?.get("volumes")?;
    volumes.as_array()?.iter().find_map(|volume| match volume {
        Value::String(short) => {
            let mut parts = short.split(':');
            let source = parts.next()?;
            (parts.next()? == target).then(|| source.to_owned())
        }
        Value::Object(long) => (long.get("target")?.as_str()? == target)
            .then(|| long.get("source")?.as_str().map(str::to_owned))
            .flatten(),
        _ => None,
    })
}

/// The service that mounts a file at `target` and the file's text.
fn mounted_config(compose: &Value, target: &str) -> (String, String) {
    services(compose)
        .find_map(|(name, _)| {
            bind_source(compose, name, target).map(|source| (name.clone(), read(&source)))
        })
        .unwrap_or_else(|| panic!("no service mounts a file at {target}"))
}

#[test]
fn every_name_the_stack_points_at_is_one_of_its_services() {
    let compose = compose();
    let found = unknown_dependencies(&compose);
    assert!(found.is_empty(), "{found:#?}");

    let (_, nginx) = mounted_config(&compose, NGINX_CONFIG_TARGET);
    let hosts = nginx_hosts(&nginx);
    assert_eq!(
        hosts,
        BTreeSet::from(["core".to_owned(), "edge".to_owned()]),
        "nginx balances across the cores and the edges"
    );
    assert_eq!(unknown_hosts(&compose, &hosts), Vec::<String>::new());

    let (_, collector) = mounted_config(&compose, COLLECTOR_CONFIG_TARGET);
    let hosts = collector_hosts(&yaml(&collector));
    assert!(hosts.contains("jaeger"), "{hosts:?}");
    assert_eq!(unknown_hosts(&compose, &hosts), Vec::<String>::new());

    let hosts = environment_hosts(&compose);
    for expected in ["postgres", "redis", "core", "otel-collector"] {
        assert!(hosts.contains(expected), "{expected} in {hosts:?}");
    }
    assert_eq!(unknown_hosts(&compose, &hosts), Vec::<String>::new());
}

#[test]
fn the_name_checks_find_names_of_no_service() {
    let compose = yaml(
        "services:\n  db:\n    image: postgres:16.9\n  app:\n    build: .\n    \
         depends_on:\n      db:\n        condition: service_healthy\n      cache:\n        \
         condition: service_started\n    environment:\n      \
         DATABASE_URL: postgres://u:p@db:5432/x\n      CACHE_URL: redis://cache:6379\n  \
         web:\n    build: .\n    depends_on: [app, queue]\n",
    );
    assert_eq!(unknown_dependencies(&compose).len(), 2);

    assert_eq!(host_of("postgres://u:p@db:5432/x"), "db");
    assert_eq!(host_of("http://otel-collector:4317"), "otel-collector");
    assert_eq!(host_of("jaeger:4317"), "jaeger");
    assert_eq!(host_of("edge"), "edge");

    let env = environment_hosts(&compose);
    assert_eq!(unknown_hosts(&compose, &env), vec!["cache".to_owned()]);

    let nginx = "http {\n  resolver 127.0.0.11;\n  upstream pool {\n    zone pool 64k;\n    \
                 server app:8080 resolve; # the app\n    server api:8080;\n  }\n  server {\n    \
                 listen 80;\n    location / { proxy_pass http://pool; }\n    \
                 location /g { grpc_pass grpc://grpc-backend:50051; }\n  }\n}\n";
    let hosts = nginx_hosts(nginx);
    assert_eq!(
        hosts,
        BTreeSet::from(["api".into(), "app".into(), "grpc-backend".into()])
    );
    assert_eq!(
        unknown_hosts(&compose, &hosts),
        vec!["api".to_owned(), "grpc-backend".to_owned()]
    );

    let collector = yaml(
        "exporters:\n  otlp/jaeger:\n    endpoint: tracing:4317\n  otlp/local:\n    \
         endpoint: 127.0.0.1:4317\n  debug: {}\n",
    );
    let hosts = collector_hosts(&collector);
    assert_eq!(unknown_hosts(&compose, &hosts), vec!["tracing".to_owned()]);
}

// --- (4) no fixed host port on a replicated service ----------------------------------------

fn replicas(service: &Value) -> u64 {
    service
        .get("deploy")
        .and_then(|deploy| deploy.get("replicas"))
        .or_else(|| service.get("scale"))
        .and_then(Value::as_u64)
        .unwrap_or(1)
}

/// The single host port a `ports` entry publishes, if it fixes one (a range or an
/// unpublished container port does not).
fn fixed_host_port(port: &Value) -> Option<u16> {
    let published = match port {
        // [HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]
        Value::String(short) => {
            let parts: Vec<&str> = short.rsplitn(3, ':').collect();
            parts.get(1).map(|host| host.to_string())?
        }
        Value::Object(long) => match long.get("published")? {
            Value::String(text) => text.clone(),
            number => number.to_string(),
        },
        _ => return None,
    };
    published.parse().ok()
}

/// Services run more than once that publish a fixed host port (the second replica could
/// not bind it).
fn replicated_with_fixed_ports(compose: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for (name, service) in services(compose) {
        if replicas(service) < 2 {
            continue;
        }
        let ports = service.get("ports").and_then(Value::as_array);
        for port in ports.into_iter().flatten() {
            if let Some(host_port) = fixed_host_port(port) {
                found.push(format!(
                    "{name} has replicas but publishes host port {host_port}"
                ));
            }
        }
    }
    found
}

#[test]
fn replicated_services_publish_no_fixed_host_port() {
    let compose = compose();
    let replicated: Vec<&str> = services(&compose)
        .filter(|(_, service)| replicas(service) > 1)
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(replicated, ["core", "edge"], "two cores and two edges");
    let found = replicated_with_fixed_ports(&compose);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_port_check_finds_fixed_ports_on_replicas() {
    for (port, fixed) in [
        ("\"8080:8080\"", Some(8080)),
        ("\"127.0.0.1:8081:8080\"", Some(8081)),
        ("\"8080\"", None),
        ("\"127.0.0.1::8080\"", None),
        ("\"8080-8089:8080\"", None),
        ("8080", None),
        ("{target: 8080, published: 9000}", Some(9000)),
        ("{target: 8080, published: \"9001\"}", Some(9001)),
        ("{target: 8080}", None),
    ] {
        assert_eq!(fixed_host_port(&yaml(port)), fixed, "{port}");
    }
    let compose = yaml(
        "services:\n  a:\n    build: .\n    deploy: {replicas: 2}\n    ports: [\"8080:8080\"]\n  \
         b:\n    build: .\n    scale: 3\n    ports: [{target: 80, published: 81}]\n  \
         c:\n    build: .\n    deploy: {replicas: 2}\n    ports: [\"80\"]\n  \
         d:\n    build: .\n    ports: [\"8080:8080\"]\n",
    );
    assert_eq!(
        replicated_with_fixed_ports(&compose).len(),
        2,
        "{:?}",
        replicated_with_fixed_ports(&compose)
    );
}

// --- (5) mounted and built files exist ---------------------------------------------------

/// Files of the repository that the file mounts, builds from or reads, and that are not
/// there (or lie outside the repository).
fn missing_files(compose: &Value, root: &Path) -> Vec<String> {
    let mut needed: Vec<(String, String)> = Vec::new();
    for (name, service) in services(compose) {
        let volumes = service.get("volumes").and_then(Value::as_array);
        for volume in volumes.into_iter().flatten() {
            let source = match volume {
                Value::String(short) => short.split(':').next().map(str::to_owned),
                Value::Object(long) if long.get("type").and_then(Value::as_str) == Some("bind") => {
                    long.get("source")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                }
                _ => None,
            };
            // A named volume has no path in it.
            if let Some(source) = source.filter(|s| s.starts_with(['.', '/', '~'])) {
                needed.push((name.clone(), source));
            }
        }
        let (context, dockerfile) = match service.get("build") {
            Some(Value::String(context)) => (Some(context.clone()), None),
            Some(Value::Object(build)) => (
                build
                    .get("context")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                build
                    .get("dockerfile")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            ),
            _ => (None, None),
        };
        if let Some(context) = context {
            let dockerfile = dockerfile.unwrap_or_else(|| "Dockerfile".to_owned());
            needed.push((name.clone(), format!("{context}/{dockerfile}")));
            needed.push((name.clone(), context));
        }
        let env_file = service.get("env_file");
        let env_files = match env_file {
            Some(Value::String(file)) => vec![file.clone()],
            _ => names_in(env_file),
        };
        needed.extend(env_files.into_iter().map(|file| (name.clone(), file)));
    }
    for section in ["configs", "secrets"] {
        let entries = compose.get(section).and_then(Value::as_object);
        for (name, entry) in entries.into_iter().flatten() {
            if let Some(file) = entry.get("file").and_then(Value::as_str) {
                needed.push((format!("{section}.{name}"), file.to_owned()));
            }
        }
    }
    needed
        .into_iter()
        .filter_map(|(user, path)| {
            if Path::new(&path).is_absolute() || path.starts_with('~') {
                return Some(format!("{user}: {path} is outside the repository"));
            }
            let exists = root.join(&path).exists();
            (!exists).then(|| format!("{user}: {path} does not exist"))
        })
        .collect()
}

#[test]
fn the_files_the_compose_file_uses_are_in_the_repository() {
    let compose = compose();
    let found = missing_files(&compose, &repo_root());
    assert!(found.is_empty(), "{found:#?}");
    // The two configurations are there, mounted read-only.
    for (service, target) in [
        ("lb", NGINX_CONFIG_TARGET),
        ("otel-collector", COLLECTOR_CONFIG_TARGET),
    ] {
        let volumes = compose["services"][service]["volumes"].as_array().unwrap();
        assert!(
            volumes
                .iter()
                .filter_map(Value::as_str)
                .any(|v| v.ends_with(&format!(":{target}:ro"))),
            "{service} mounts {target} read-only: {volumes:?}"
        );
    }
}

#[test]
fn the_file_check_finds_missing_files() {
    let compose = yaml(
        "services:\n  a:\n    build: .\n    volumes:\n      - ./deploy/nginx.conf:/x:ro\n      \
         - ./deploy/nowhere.conf:/y:ro\n      - data:/var/lib/data\n      - /etc/passwd:/z\n  \
         b:\n    build: {context: ., dockerfile: Nodockerfile}\n    env_file: missing.env\n    \
         volumes:\n      - {type: bind, source: ./nothing, target: /n}\nconfigs:\n  c:\n    \
         file: ./also-missing\n",
    );
    let found = missing_files(&compose, &repo_root());
    assert_eq!(found.len(), 6, "{found:#?}");
}

// --- health checks -------------------------------------------------------------------------

/// Services without a health check, apart from those whose image cannot run one.
fn unchecked_services<'a>(compose: &'a Value, cannot: &[&str]) -> Vec<&'a str> {
    services(compose)
        .filter(|(name, service)| {
            service.get("healthcheck").is_none() && !cannot.contains(&name.as_str())
        })
        .map(|(name, _)| name.as_str())
        .collect()
}

#[test]
fn every_service_whose_image_can_has_a_health_check() {
    // The collector image holds nothing but the collector: no shell, no HTTP client.
    let compose = compose();
    assert_eq!(
        unchecked_services(&compose, &["otel-collector"]),
        Vec::<&str>::new()
    );
    let bad = yaml(
        "services:\n  a:\n    build: .\n  b:\n    build: .\n    healthcheck: {test: [CMD, true]}\n",
    );
    assert_eq!(unchecked_services(&bad, &[]), ["a"]);
}
