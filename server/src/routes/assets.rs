//! Files: the browser bundle under `/pkg` and, for any other path no area answers, a file of
//! the site's root (the icon) or the "page not found" page.

use axum::{Router, extract::Request, response::Response};
use leptos::config::LeptosOptions;

use crate::state::AppState;

pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .nest_service(
            &format!("/{}", state.leptos_options.site_pkg_dir),
            bundle(&state.leptos_options),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(
            app::shell,
        ))
}

/// The browser bundle under `/pkg`. A release build leaves a `.br` and a `.gz` beside each file
/// (`cargo leptos build --release --precompress`): they are sent as they are to browsers that
/// accept them, with no compression work per request. When file names carry a content hash, a
/// new build means new names, so a file found here may be cached for a year without asking
/// again; without hashes (development), the browser revalidates every time.
fn bundle(
    options: &LeptosOptions,
) -> tower::util::BoxCloneSyncService<Request, Response, std::convert::Infallible> {
    use axum::http::{HeaderValue, header};
    use tower_http::set_header::SetResponseHeaderLayer as Set;
    let dir = std::path::Path::new(options.site_root.as_ref()).join(options.site_pkg_dir.as_ref());
    let cache = HeaderValue::from_static(if options.hash_files {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    });
    let service = tower::ServiceBuilder::new()
        .layer(Set::overriding(
            header::CACHE_CONTROL,
            move |r: &Response| r.status().is_success().then(|| cache.clone()),
        ))
        .layer(Set::if_not_present(
            header::VARY,
            HeaderValue::from_static("accept-encoding"),
        ))
        .map_response(axum::response::IntoResponse::into_response)
        .service(
            tower_http::services::ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip(),
        );
    tower::util::BoxCloneSyncService::new(service)
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header};
    use tower::ServiceExt;

    use super::*;

    async fn fetch(
        options: &LeptosOptions,
        path: &str,
        accept: &str,
    ) -> (StatusCode, Option<String>, Option<String>, Vec<u8>) {
        let request = Request::get(path)
            .header(header::ACCEPT_ENCODING, accept)
            .body(axum::body::Body::empty())
            .unwrap();
        let response = bundle(options).oneshot(request).await.unwrap();
        let get = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_owned())
        };
        let (encoding, cache) = (get(header::CONTENT_ENCODING), get(header::CACHE_CONTROL));
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec();
        (status, encoding, cache, body)
    }

    #[tokio::test]
    async fn the_bundle_goes_out_precompressed_and_hashed_names_are_cached_for_a_year() {
        let site = tempfile::tempdir().unwrap();
        let pkg = site.path().join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("app.abc123.wasm"), b"plain").unwrap();
        std::fs::write(pkg.join("app.abc123.wasm.br"), b"brotli").unwrap();
        std::fs::write(pkg.join("app.abc123.wasm.gz"), b"gzip").unwrap();
        let mut options = LeptosOptions::builder()
            .output_name("app")
            .site_root(site.path().to_str().unwrap())
            .site_pkg_dir("pkg")
            .build();
        options.hash_files = true;
        let year = Some("public, max-age=31536000, immutable".to_owned());

        for (accept, encoding, body) in [
            ("gzip, deflate, br", Some("br"), "brotli"),
            ("gzip", Some("gzip"), "gzip"),
            ("identity", None, "plain"),
        ] {
            let r = fetch(&options, "/app.abc123.wasm", accept).await;
            let expected = (
                StatusCode::OK,
                encoding.map(str::to_owned),
                year.clone(),
                body.as_bytes().to_vec(),
            );
            assert_eq!(r, expected, "Accept-Encoding: {accept}");
        }
        // A miss is not cached: the next build may well have that name.
        let r = fetch(&options, "/app.zzz.wasm", "br").await;
        assert_eq!((r.0, r.2), (StatusCode::NOT_FOUND, None));

        // Without hashed names, the browser must ask every time.
        options.hash_files = false;
        let r = fetch(&options, "/app.abc123.wasm", "br").await;
        assert_eq!(r.2.as_deref(), Some("no-cache"));
    }
}
