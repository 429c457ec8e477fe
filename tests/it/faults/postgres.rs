//! PostgreSQL restarted in the middle of a refresh, and down for a while, under a Lobby whose
//! database is a private cluster of the test's own (`services::PrivatePostgres`).
//!
//! The refresh is caught mid-way for real: another session holds a lock on the refresh-token
//! table, so Lobby's rotation waits inside PostgreSQL; the server is then stopped (fast
//! shutdown: the waiting statement is rolled back and every connection dropped).

use super::services::PrivatePostgres;
use crate::provider::fixture::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// How long a request may take while the database is down: the pool's acquire timeout (3 s)
/// plus slack; generous, the point is "not hanging".
const FAIL_FAST: Duration = Duration::from_secs(8);

fn refresh_form(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "refresh_token".to_owned()),
        ("refresh_token", token.to_owned()),
    ]
}

async fn refresh(lobby: &Lobby, token: &str) -> reqwest::Response {
    lobby
        .http()
        .post(lobby.url("/token"))
        .basic_auth("crm", Some(CRM_SECRET))
        .form(&refresh_form(token))
        .send()
        .await
        .unwrap()
}

/// 503 with `Retry-After` and the OAuth JSON error, within [`FAIL_FAST`] of `started`.
async fn assert_unavailable_json(what: &str, res: reqwest::Response, started: Instant) {
    assert!(
        started.elapsed() < FAIL_FAST,
        "{what} took {:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), 503, "{what}");
    assert!(res.headers().contains_key("retry-after"), "{what}");
    let e: Value = res.json().await.unwrap();
    assert_eq!(e["error"], "temporarily_unavailable", "{what}: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_restarted_mid_refresh_then_the_retry_gets_tokens_and_the_family_lives() {
    let Some(mut pg) = PrivatePostgres::start().await else {
        return;
    };
    let lobby = Lobby::boot(Backends {
        database_url: Some(pg.url()),
        ..Backends::default()
    })
    .await;
    let b = lobby.browser();
    let (code, verifier) = crm_login(&lobby, &b, "alice@acme.test", None).await;
    let t1 = lobby.exchange(&code, &verifier).await;
    let r1 = t1["refresh_token"].as_str().unwrap().to_owned();

    // Hold the refresh-token table so the rotation blocks inside PostgreSQL.
    use sqlx::Connection;
    let mut holder = sqlx::PgConnection::connect(&pg.url()).await.unwrap();
    sqlx::query("BEGIN").execute(&mut holder).await.unwrap();
    sqlx::query("LOCK TABLE refresh_tokens IN EXCLUSIVE MODE")
        .execute(&mut holder)
        .await
        .unwrap();
    let mut watcher = sqlx::PgConnection::connect(&pg.url()).await.unwrap();

    let started = Instant::now();
    let in_flight = refresh(&lobby, &r1);
    let restart = async {
        // Wait until Lobby's statement (the rotation, inside a WITH: `rotate_refresh_in_context`)
        // is queued behind the lock, cut its connection while the lock is still held (so the
        // rotation cannot commit first: a fast shutdown signals every backend at once, and the
        // holder's exit could release the lock before Lobby's backend sees its own signal),
        // then stop the server.
        loop {
            let waiting: Option<i32> = sqlx::query_scalar(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%UPDATE refresh_tokens%' LIMIT 1",
            )
            .fetch_optional(&mut watcher)
            .await
            .unwrap();
            if let Some(pid) = waiting {
                let _: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                    .bind(pid)
                    .fetch_one(&mut watcher)
                    .await
                    .unwrap();
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the refresh never reached the database"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::task::block_in_place(|| pg.stop());
    };
    let (res, ()) = tokio::join!(in_flight, restart);
    drop(holder);
    drop(watcher);
    // The refresh in flight fails cleanly: 503, JSON, `Retry-After` (not a 500, not a hang).
    assert_unavailable_json("the refresh caught by the restart", res, started).await;

    // While the database is down: /readyz is red, requests fail fast.
    let started = Instant::now();
    let res = lobby.http().get(lobby.url("/readyz")).send().await.unwrap();
    assert!(
        started.elapsed() < FAIL_FAST,
        "/readyz took {:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), 503);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["storage"]["ok"], false, "{v}");
    assert_eq!(v["state"]["ok"], true, "{v}");
    let started = Instant::now();
    let res = refresh(&lobby, &r1).await;
    assert_unavailable_json("a refresh while the database is down", res, started).await;
    // A browser page that needs the database: the fixed "temporarily unavailable" page. The
    // app's configuration is served from the config cache while fresh, database down or not;
    // the failures above were immediate (a refused connection), so wait until the entry the
    // refresh cached has expired and the page really needs the database.
    tokio::time::sleep(lobby::storage::cache::DEFAULT_TTL + Duration::from_millis(300)).await;
    let started = Instant::now();
    let (_, challenge) = pkce();
    let res = lobby
        .http()
        .get(lobby.url(&authorize_path("crm", CRM_CB, &challenge, &[])))
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() < FAIL_FAST,
        "/authorize took {:?}",
        started.elapsed()
    );
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    let body = res.text().await.unwrap();
    let sentence = lobby::pages::PageError::Unavailable.message().en();
    assert!(body.contains(&sentence), "{body}");

    // Back up. The client retries with the same refresh token, inside the grace window (the
    // test clock has not moved): it gets tokens, and the family is intact.
    pg.up().await;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = lobby
            .http()
            .get(lobby.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status();
        if s == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed red after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (s, t2) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r1)])
        .await;
    assert_eq!(s, 200, "the retry after the restart: {t2}");
    let r2 = t2["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r2, r1);
    let (s, t3) = lobby
        .token(&[("grant_type", "refresh_token"), ("refresh_token", &r2)])
        .await;
    assert_eq!(s, 200, "the family was not revoked: {t3}");
}
