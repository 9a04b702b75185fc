//! How many allocations a request costs on its way through the application's router: a guard
//! on `middleware::apply`'s single stack. Applied one `Router::layer` call at a time, the same
//! layers box every route again, and axum clones each route's boxed service, all of it, for
//! every request that passes through (BENCHMARKS.md, "Issue 14: the layers in one stack").
//! Through the router alone a `/healthz` makes 53 allocations; with one call per layer it made
//! 167. The bound, 80, leaves room for a dependency's update and none for one box per layer.
//!
//! A count, not a time: the same request makes the same allocations on any machine. The test
//! binary's allocator counts the allocations of the thread that makes them; the test runs the
//! router on a current-thread runtime, so every allocation of the request's own path is counted
//! (SQLite's thread, which answers the ping, is not: it does not depend on the layers).

use std::{
    alloc::{GlobalAlloc, Layout, System},
    cell::Cell,
};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call goes to the system allocator unchanged; the count is a thread-local cell
// without a destructor, which an allocator may touch.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

#[tokio::test]
async fn a_request_through_the_router_allocates_a_bounded_number_of_times() {
    use axum::{
        body::Body,
        extract::ConnectInfo,
        http::{Request, StatusCode},
    };
    use tower::ServiceExt;

    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/t.sqlite3?mode=rwc", dir.path().display());
    let mail = format!("file://{}/correo", dir.path().display());
    let config = crate::config::tests::config(&[
        ("REINICIO_LISTEN_ADDR", "127.0.0.1:0"),
        ("REINICIO_METRICS_ADDR", ""),
        ("REINICIO_DATABASE_URL", &database),
        ("REINICIO_MAIL_URL", &mail),
    ])
    .unwrap();
    let running = crate::start(&config).await.unwrap();
    let app = running.app.clone();
    let request = || {
        let mut request = Request::get("/healthz").body(Body::empty()).unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(std::net::SocketAddr::from(([127, 0, 0, 1], 9))));
        request
    };
    // The first requests fill what is made once (the connection's statement cache, the
    // registries of metrics and spans); then the same request, counted.
    for _ in 0..3 {
        let answer = app.clone().oneshot(request()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
    }
    let before = allocations();
    let answer = app.clone().oneshot(request()).await.unwrap();
    let body = axum::body::to_bytes(answer.into_body(), 1024)
        .await
        .unwrap();
    let counted = allocations() - before;
    drop(body);
    assert!(counted <= 80, "{counted} allocations for one /healthz");
}
