//! Optional trace export: with `REINICIO_OTLP_ENDPOINT` set, the same spans the log lines name
//! (`peticion` with its request ID, `buscar_id`, `escritura_en_grupo`, `envio_correo`, …) go to
//! an OpenTelemetry collector over OTLP/HTTP. Unset (the default), no layer is installed: a
//! request's path does not pass through any of this.

use opentelemetry::{KeyValue, trace::TracerProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{Resource, trace::SdkTracerProvider};
use tracing_subscriber::{Layer, registry::LookupSpan};

/// The exporter's batch processor (a thread of its own, with its own HTTP client). Dropping it
/// without [`Exporter::shutdown`] loses the spans not yet sent.
pub struct Exporter {
    provider: SdkTracerProvider,
}

/// The URL spans are posted to: the endpoint is the collector's base URL, as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` is, unless it already names the traces path.
pub fn traces_url(endpoint: &url::Url) -> String {
    let base = endpoint.as_str().trim_end_matches('/');
    if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    }
}

/// The tracing layer that exports spans, and the exporter to shut down at exit. Must be called
/// outside a tokio runtime (its blocking HTTP client starts one of its own).
pub fn layer<S>(endpoint: &url::Url) -> Result<(impl Layer<S>, Exporter), String>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(traces_url(endpoint))
        // A slow collector delays only the export thread, never a request.
        .with_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| format!("REINICIO_OTLP_ENDPOINT: {e}"))?;
    let resource = Resource::builder()
        .with_service_name("reinicio-clave")
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("reinicio-clave"));
    Ok((layer, Exporter { provider }))
}

impl Exporter {
    /// Sends what is still buffered, then stops the export thread.
    pub fn shutdown(self) {
        if let Err(error) = self.provider.shutdown() {
            eprintln!("exportación de trazas: {error}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_endpoint_is_a_base_url_unless_it_names_the_traces_path() {
        let url = |s: &str| traces_url(&s.parse().unwrap());
        assert_eq!(url("http://otel:4318"), "http://otel:4318/v1/traces");
        assert_eq!(url("http://otel:4318/"), "http://otel:4318/v1/traces");
        assert_eq!(
            url("https://otel.example/x/"),
            "https://otel.example/x/v1/traces"
        );
        assert_eq!(
            url("http://otel:4318/v1/traces"),
            "http://otel:4318/v1/traces"
        );
    }
}
