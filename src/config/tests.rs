//! The configuration's tests: defaults, the environment over the file, every checked value.
use super::*;

#[test]
fn the_demo_gets_its_own_database_unless_one_is_configured() {
    let dir = Path::new("/tmp/lobby-data");
    let c = Config::for_tests(&default_database_url(dir), dir);
    assert_eq!(
        c.demo_database_url(),
        "sqlite:///tmp/lobby-data/demo/lobby.db?mode=rwc"
    );
    let c = Config::for_tests("postgres://db/lobby", dir);
    assert_eq!(c.demo_database_url(), "postgres://db/lobby");
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn defaults() {
    let l = Config::from_sources(None, &env(&[])).unwrap();
    assert_eq!(l.config.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(
        l.config.metrics_listen.map(|a| a.to_string()).as_deref(),
        Some(DEFAULT_METRICS_LISTEN)
    );
    assert_eq!(l.config.issuer(), "http://127.0.0.1:8080");
    assert!(l.config.database_url.expose().starts_with("sqlite://"));
    assert!(l.config.admin_token.is_none());
    assert!(!l.config.secure_cookies());
    assert!(l.config.smtp_url.is_none(), "no SMTP: the outbox");
    assert_eq!(l.config.mail_from, "Lobby <no-reply@127.0.0.1>");
}

#[test]
fn serve_threads_default_to_one_per_cpu_and_are_checked() {
    let l = Config::from_sources(None, &env(&[])).unwrap();
    assert_eq!(l.config.serve_threads, ServeThreads::Auto);
    assert_eq!(
        l.config.serve_threads.threads(),
        Some(std::thread::available_parallelism().unwrap().get())
    );
    for (v, want) in [
        ("auto", ServeThreads::Auto),
        ("3", ServeThreads::Count(3)),
        (" 1 ", ServeThreads::Count(1)),
        ("0", ServeThreads::Shared),
        ("shared", ServeThreads::Shared),
    ] {
        let l = Config::from_sources(None, &env(&[("LOBBY_SERVE_THREADS", v)])).unwrap();
        assert_eq!(l.config.serve_threads, want, "{v}");
    }
    assert_eq!(ServeThreads::Count(3).threads(), Some(3));
    assert_eq!(ServeThreads::Shared.threads(), None);
    for bad in ["-1", "1025", "many", "2.5"] {
        let e = Config::from_sources(None, &env(&[("LOBBY_SERVE_THREADS", bad)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOBBY_SERVE_THREADS"), "{bad}: {e}");
    }
    for (toml, want) in [
        ("serve_threads = 2\n", ServeThreads::Count(2)),
        ("serve_threads = \"shared\"\n", ServeThreads::Shared),
    ] {
        let l = Config::from_sources(Some(toml), &env(&[])).unwrap();
        assert_eq!(l.config.serve_threads, want, "{toml}");
    }
    assert!(
        Config::from_sources(Some("serve_threads = -3\n"), &env(&[]))
            .unwrap_err()
            .to_string()
            .contains("serve_threads")
    );
}

#[test]
fn the_shutdown_timeout_defaults_to_20_s_and_is_checked() {
    let l = Config::from_sources(None, &env(&[])).unwrap();
    assert_eq!(
        l.config.shutdown_timeout_secs,
        DEFAULT_SHUTDOWN_TIMEOUT_SECS
    );
    let l = Config::from_sources(None, &env(&[("LOBBY_SHUTDOWN_TIMEOUT_SECS", "45")])).unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(l.config.shutdown_timeout_secs, 45);
    for bad in ["0", "3601", "soon", "-1"] {
        let e = Config::from_sources(None, &env(&[("LOBBY_SHUTDOWN_TIMEOUT_SECS", bad)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOBBY_SHUTDOWN_TIMEOUT_SECS"), "{bad}: {e}");
    }
}

#[test]
fn mail_settings_are_checked_and_the_smtp_password_is_redacted() {
    let l = Config::from_sources(
        None,
        &env(&[
            (
                "LOBBY_SMTP_URL",
                "smtps://robot:hunter2-secret@mail.example.com:465",
            ),
            ("LOBBY_MAIL_FROM", "Acme Login <login@acme.example>"),
        ]),
    )
    .unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(
        l.config.mail_from().unwrap().email.to_string(),
        "login@acme.example"
    );
    assert!(!format!("{:?}", l.config).contains("hunter2-secret"));
    let e = Config::from_sources(
        None,
        &env(&[
            ("LOBBY_SMTP_URL", "http://mail.example.com"),
            ("LOBBY_MAIL_FROM", "not an address"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("LOBBY_SMTP_URL") && e.contains("LOBBY_MAIL_FROM"),
        "{e}"
    );
}

#[test]
fn env_overrides_file_overrides_defaults() {
    let file = "listen = \"127.0.0.1:9000\"\npublic_url = \"https://login.example.com\"\nlog_format = \"json\"\n";
    let l = Config::from_sources(Some(file), &env(&[("LOBBY_LISTEN", "127.0.0.1:9100")])).unwrap();
    assert_eq!(l.config.listen.port(), 9100);
    assert_eq!(l.config.issuer(), "https://login.example.com");
    assert_eq!(l.config.log_format, LogFormat::Json);
    assert!(l.config.secure_cookies());
}

#[test]
fn metrics_listener_is_its_own_address_or_off() {
    let l = Config::from_sources(None, &env(&[("LOBBY_METRICS_LISTEN", "off")])).unwrap();
    assert_eq!(l.config.metrics_listen, None);
    let l = Config::from_sources(None, &env(&[("LOBBY_METRICS_LISTEN", "0.0.0.0:9100")])).unwrap();
    assert_eq!(l.config.metrics_listen.unwrap().port(), 9100);
    for bad in ["9464", "127.0.0.1:8080"] {
        let e = Config::from_sources(None, &env(&[("LOBBY_METRICS_LISTEN", bad)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("LOBBY_METRICS_LISTEN"), "{e}");
    }
}

#[test]
fn all_errors_reported_at_once_with_key_names() {
    let e = Config::from_sources(
        None,
        &env(&[
            ("LOBBY_LISTEN", "nope"),
            ("LOBBY_LOG_FORMAT", "xml"),
            ("LOBBY_REDIS_URL", "http://x"),
            ("LOBBY_ADMIN_TOKEN", "short"),
            ("LOBBY_SECRET_KEY", "abc"),
        ]),
    )
    .unwrap_err();
    let all = e.to_string();
    for key in [
        "LOBBY_LISTEN",
        "LOBBY_LOG_FORMAT",
        "LOBBY_REDIS_URL",
        "LOBBY_ADMIN_TOKEN",
        "LOBBY_SECRET_KEY",
    ] {
        assert!(all.contains(key), "{key} missing from {all}");
    }
    assert_eq!(e.0.len(), 5);
    assert!(!all.contains("short"), "secrets must not be echoed");
}

#[test]
fn unknown_keys_warn_and_file_keys_are_checked() {
    let l = Config::from_sources(None, &env(&[("LOBBY_LISTN", "x")])).unwrap();
    assert!(l.warnings.iter().any(|w| w.contains("LOBBY_LISTN")));
    let e = Config::from_sources(Some("lissten = 1"), &env(&[])).unwrap_err();
    assert!(e.to_string().contains("lissten"));
}

#[test]
fn dns_server_is_an_ip_with_an_optional_port() {
    let get = |v: &str| {
        Config::from_sources(None, &env(&[("LOBBY_DNS_SERVER", v)]))
            .map(|l| l.config.dns_server.map(|a| a.to_string()))
    };
    assert_eq!(
        get("127.0.0.1:5353").unwrap().as_deref(),
        Some("127.0.0.1:5353")
    );
    assert_eq!(get("10.0.0.2").unwrap().as_deref(), Some("10.0.0.2:53"));
    assert_eq!(get("[::1]:5353").unwrap().as_deref(), Some("[::1]:5353"));
    assert_eq!(
        get("2001:db8::53").unwrap().as_deref(),
        Some("[2001:db8::53]:53")
    );
    assert_eq!(
        Config::from_sources(None, &env(&[]))
            .unwrap()
            .config
            .dns_server,
        None
    );
    for bad in [
        "dns.example.com:53",
        "127.0.0.1:0",
        "0.0.0.0:53",
        "1.2.3.4:99999",
        "::1:53x",
    ] {
        let e = get(bad).unwrap_err().to_string();
        assert!(
            e.contains("LOBBY_DNS_SERVER") && e.contains("127.0.0.1:5353"),
            "{bad}: {e}"
        );
    }
    let l = Config::from_sources(Some("dns_server = \"[::1]:53\""), &env(&[])).unwrap();
    assert_eq!(l.config.dns_server.unwrap().to_string(), "[::1]:53");
}

#[test]
fn trusted_proxies_and_rate_limits() {
    let l = Config::from_sources(
        None,
        &env(&[
            (
                "LOBBY_TRUSTED_PROXIES",
                "10.0.0.0/8, 192.168.1.10 ,fd00::/8",
            ),
            ("LOBBY_RATE_LIMIT_PER_IP", "0"),
        ]),
    )
    .unwrap();
    let nets: Vec<String> = l
        .config
        .trusted_proxies
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(nets, ["10.0.0.0/8", "192.168.1.10/32", "fd00::/8"]);
    assert_eq!(l.config.rate_limit_per_ip, 0);
    assert_eq!(l.config.rate_limit_global, DEFAULT_RATE_LIMIT_GLOBAL);
    let d = Config::from_sources(None, &env(&[])).unwrap().config;
    assert!(d.trusted_proxies.is_empty());
    assert_eq!(d.rate_limit_per_ip, DEFAULT_RATE_LIMIT_PER_IP);
    let e = Config::from_sources(
        None,
        &env(&[
            ("LOBBY_TRUSTED_PROXIES", "10.0.0.0/8, proxy.internal"),
            ("LOBBY_RATE_LIMIT_GLOBAL", "-1"),
        ]),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("LOBBY_TRUSTED_PROXIES") && e.contains("proxy.internal"),
        "{e}"
    );
    assert!(e.contains("LOBBY_RATE_LIMIT_GLOBAL"), "{e}");
}

#[test]
fn secrets_are_redacted_in_debug() {
    let l = Config::from_sources(
        None,
        &env(&[("LOBBY_ADMIN_TOKEN", "super-secret-token-123")]),
    )
    .unwrap();
    assert!(!format!("{:?}", l.config).contains("super-secret-token-123"));
}
