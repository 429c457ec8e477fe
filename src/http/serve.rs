//! Serving the router on the listening socket: on serving threads of their own (the default) or
//! on the shared multi-threaded runtime, with the graceful stop both share.
//!
//! Why serving threads: on tokio's work-stealing runtime a request that wakes a task (a socket
//! becoming readable, a reply from the IdP) often wakes a second, idle worker that finds nothing
//! to steal and parks again. Here each serving thread runs a single-threaded runtime that
//! accepts from the same listening socket (whichever thread is free takes the next connection)
//! and keeps every request of that connection on that thread, so all CPUs serve and a request
//! does not wake another thread. Measured on 2 vCPUs (docs/perf-issue17.md, "Session 8" and
//! "Session 10"): a fifth fewer context switches and a few per cent less CPU per login on
//! keep-alive connections (nothing with a new connection per login, whose arrival wakes every
//! serving thread). The outgoing connections a request uses belong to its thread too — the
//! HTTP client's pool (`upstream::http`), the Redis connections (`state::redis`) and, while
//! the set has room, the PostgreSQL ones (`storage::held`) — since a connection's I/O is driven
//! by the runtime that opened it, and one used from another serving thread wakes that thread.
//! Background work (metrics, the outbox, sweepers) stays on the process's main runtime.
//!
//! Owns: the serving threads, their runtimes, and waiting for them. Must not touch: the router's
//! contents, configuration parsing, signals (the caller passes the stop future).

use axum::Router;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::{oneshot, watch};

/// Serve `router` on `listener` until `stop` resolves, then stop accepting, let the requests in
/// flight finish, and return once every connection is closed. `threads`: that many serving
/// threads (each a single-threaded runtime), or `None` for the caller's runtime.
pub async fn serve<F>(
    listener: tokio::net::TcpListener,
    router: Router,
    threads: Option<usize>,
    stop: F,
) -> io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let Some(n) = threads.filter(|n| *n > 0) else {
        let make = router.into_make_service_with_connect_info::<SocketAddr>();
        return axum::serve(listener, make)
            .with_graceful_shutdown(stop)
            .await;
    };
    let (tell, told) = watch::channel(false);
    let socket = listener.into_std()?;
    socket.set_nonblocking(true)?;
    let mut finished = Vec::with_capacity(n);
    for i in 0..n {
        let socket = socket.try_clone()?;
        let router = router.clone();
        let told = told.clone();
        let (done, finish) = oneshot::channel();
        std::thread::Builder::new()
            .name(format!("lobby-serve-{i}"))
            .spawn(move || {
                let _ = done.send(serve_on_this_thread(socket, router, told));
            })?;
        finished.push(finish);
    }
    // Each thread holds its own handle on the socket; it closes when the last one stops.
    drop(socket);
    let all = async {
        for f in finished {
            f.await
                .map_err(|_| io::Error::other("a serving thread ended without finishing"))??;
        }
        Ok(())
    };
    tokio::pin!(all);
    // Told to stop: tell the threads, then wait for them to drain. `tell` is dropped with this
    // future, and a dropped sender also stops them.
    tokio::select! {
        r = &mut all => return r,
        () = stop => {}
    }
    let _ = tell.send(true);
    all.await
}

/// One serving thread: its own single-threaded runtime accepting from `socket` until told.
fn serve_on_this_thread(
    socket: std::net::TcpListener,
    router: Router,
    mut told: watch::Receiver<bool>,
) -> io::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let served = rt.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(socket)?;
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            // `Err`: the sender is gone, which also means stop.
            let _ = told.wait_for(|stop| *stop).await;
        })
        .await
    });
    // Tasks a request spawned and left running (an audit write) get a moment.
    rt.shutdown_timeout(Duration::from_secs(1));
    served
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use std::collections::BTreeSet;

    fn router() -> Router {
        Router::new()
            .route(
                "/who",
                get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move {
                    let name = std::thread::current().name().unwrap_or("").to_owned();
                    format!("{name} {}", peer.ip())
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    "done"
                }),
            )
    }

    fn fresh_client() -> reqwest::Client {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .no_proxy()
            .build()
            .unwrap()
    }

    async fn start(
        threads: Option<usize>,
    ) -> (
        SocketAddr,
        oneshot::Sender<()>,
        tokio::task::JoinHandle<io::Result<()>>,
    ) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, router(), threads, async move {
            let _ = stopped.await;
        }));
        (addr, stop, task)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn serving_threads_answer_with_the_peer_address_and_stop_when_told() {
        let (addr, stop, task) = start(Some(3)).await;
        let client = fresh_client();
        let mut threads = BTreeSet::new();
        for _ in 0..12 {
            let body = client
                .get(format!("http://{addr}/who"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let (thread, peer) = body.split_once(' ').unwrap();
            assert_eq!(peer, "127.0.0.1", "{body}");
            threads.insert(thread.to_owned());
        }
        assert!(
            threads.iter().all(|t| t.starts_with("lobby-serve-")),
            "requests run on the serving threads: {threads:?}"
        );
        stop.send(()).unwrap();
        let served = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("every serving thread stops")
            .unwrap();
        served.unwrap();
        assert!(
            client
                .get(format!("http://{addr}/who"))
                .send()
                .await
                .is_err(),
            "the socket is closed once every thread has stopped"
        );
    }

    async fn in_flight_request_finishes_after_stop(threads: Option<usize>) {
        let (addr, stop, task) = start(threads).await;
        let client = fresh_client();
        let slow = tokio::spawn({
            let client = client.clone();
            async move {
                client
                    .get(format!("http://{addr}/slow"))
                    .send()
                    .await?
                    .text()
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(()).unwrap();
        assert_eq!(slow.await.unwrap().unwrap(), "done", "{threads:?}");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops once the request is answered")
            .unwrap()
            .unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_in_flight_is_answered_after_the_stop_on_serving_threads() {
        in_flight_request_finishes_after_stop(Some(2)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_in_flight_is_answered_after_the_stop_on_the_shared_runtime() {
        in_flight_request_finishes_after_stop(None).await;
    }

    #[tokio::test]
    async fn dropping_the_serve_future_stops_the_threads() {
        let (addr, _stop, task) = start(Some(2)).await;
        let client = fresh_client();
        assert!(
            client
                .get(format!("http://{addr}/who"))
                .send()
                .await
                .is_ok()
        );
        task.abort();
        let _ = task.await;
        let mut refused = false;
        for _ in 0..50 {
            if client
                .get(format!("http://{addr}/who"))
                .send()
                .await
                .is_err()
            {
                refused = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(refused, "the threads let go of the socket");
    }
}
