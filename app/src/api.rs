//! The two server functions of the page, and the types they exchange.
//!
//! Each body is thin: validate with the `validation` crate (the same rules the browser applied),
//! hand the parsed form to the server's [`ssr::Backend`], map the outcome to a status. The backend
//! is a trait so that this crate, which is also compiled to WASM, never sees the database.
//!
//! Endpoints (stable, JSON in and out): `POST /api/buscar_id`, `POST /api/solicitar_reinicio`.

use leptos::{
    prelude::*,
    server_fn::{
        codec::{Json, JsonEncoding},
        error::{FromServerFnError, ServerFnErrorErr},
    },
};
use serde::{Deserialize, Serialize};
use validation::{BusquedaIdInput, FieldErrors, ReinicioClaveInput};

/// The message for every miss: unknown data, a pending registration and a disabled one alike, so
/// that nobody can learn from the answer whether someone is registered.
pub const SIN_COINCIDENCIA: &str = "Los datos ingresados no coinciden con un registro aprobado. \
     Revise la clasificación, la identificación y el RUC o el correo registrados en su solicitud de uso.";

/// Why a request did not succeed. Serialised as `{"error": "<code>", …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum ApiError {
    /// Some fields break a rule: each with its code and Spanish message (HTTP 422).
    #[error("Revise los campos marcados.")]
    Campos { campos: FieldErrors },
    /// No approved registration matches (HTTP 404, the same for every kind of miss).
    #[error("{}", SIN_COINCIDENCIA)]
    SinCoincidencia,
    /// Too many requests for this identificación within the hour (HTTP 429 with `Retry-After`).
    /// It is counted for registered and unknown identities alike, so it reveals nothing.
    #[error(
        "Se hicieron demasiadas solicitudes con esta identificación. Por seguridad, intente de nuevo en {} minuto(s).",
        segundos.div_ceil(60)
    )]
    Limite { segundos: u64 },
    /// The request itself is unreadable: not JSON, wrong content type, too large (HTTP 400).
    #[error("La solicitud no se pudo leer. Recargue la página e intente de nuevo.")]
    Solicitud,
    /// Something failed on our side; details are in the server log, never here (HTTP 503).
    #[error("El servicio no está disponible en este momento. Intente de nuevo en unos minutos.")]
    Interno,
}

impl ApiError {
    pub fn status(&self) -> u16 {
        match self {
            ApiError::Campos { .. } => 422,
            ApiError::SinCoincidencia => 404,
            ApiError::Limite { .. } => 429,
            ApiError::Solicitud => 400,
            ApiError::Interno => 503,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let error = match value {
            // Failures to read the request are the client's; transport failures in the browser
            // and anything unexpected are ours.
            ServerFnErrorErr::Args(_)
            | ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::MissingArg(_) => ApiError::Solicitud,
            _ => ApiError::Interno,
        };
        // Arguments are decoded before the body runs, so the status is set here as well.
        #[cfg(feature = "ssr")]
        set_status(&error);
        error
    }
}

#[cfg(feature = "ssr")]
fn set_status(error: &ApiError) {
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        if let ApiError::Limite { segundos } = error {
            response.insert_header(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(*segundos),
            );
        }
        response.set_status(
            http::StatusCode::from_u16(error.status()).unwrap_or(http::StatusCode::BAD_REQUEST),
        );
    }
}

/// "Buscar ID" found the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsuarioEncontrado {
    /// The ID usuario as its owner chose it.
    pub usuario: String,
}

/// The reset request was taken. If the data match an approved registration the temporary password
/// is on its way; the answer is the same when they do not, so it reveals nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReinicioSolicitado {
    /// The e-mail of the request, masked (`m***@example.com`): on a match, the registered one.
    pub correo: String,
    /// How long the password is valid once sent.
    pub vigencia_minutos: u32,
    /// When it expires if sent now, in Ecuador's time (`28/11/2026 a las 14:35`); the e-mail
    /// carries the exact time, counted from its sending.
    pub vence: String,
}

/// "Buscar ID": the ID usuario of the approved registration matching the form.
#[server(prefix = "/api", endpoint = "buscar_id", input = Json, output = Json)]
pub async fn buscar_id(
    #[server(flatten)] datos: BusquedaIdInput,
) -> Result<UsuarioEncontrado, ApiError> {
    let form = validation::BusquedaId::validate(&datos).map_err(campos)?;
    respond(
        ssr::backend()?
            .buscar_id(form, ssr::client_addr().await)
            .await,
    )
}

/// "Recibir la clave por e-mail": queue a temporary password for the matching account.
#[server(prefix = "/api", endpoint = "solicitar_reinicio", input = Json, output = Json)]
pub async fn solicitar_reinicio(
    #[server(flatten)] datos: ReinicioClaveInput,
) -> Result<ReinicioSolicitado, ApiError> {
    let form = validation::ReinicioClave::validate(&datos).map_err(campos)?;
    respond(
        ssr::backend()?
            .solicitar_reinicio(form, ssr::client_addr().await)
            .await,
    )
}

#[cfg(feature = "ssr")]
fn campos(campos: FieldErrors) -> ApiError {
    let error = ApiError::Campos { campos };
    set_status(&error);
    error
}

#[cfg(feature = "ssr")]
fn respond<T>(result: Result<T, ApiError>) -> Result<T, ApiError> {
    if let Err(error) = &result {
        set_status(error);
    }
    result
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! What the server provides to the server functions, through Leptos context.

    use std::{future::Future, net::IpAddr, pin::Pin, sync::Arc};

    use leptos::prelude::*;
    use validation::{BusquedaId, ReinicioClave};

    use super::{ApiError, ReinicioSolicitado, UsuarioEncontrado};

    pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

    /// The services behind the page, implemented by the `server` crate.
    pub trait Backend: Send + Sync + 'static {
        fn buscar_id(
            &self,
            form: BusquedaId,
            client: Option<IpAddr>,
        ) -> BoxFuture<'_, Result<UsuarioEncontrado, ApiError>>;

        fn solicitar_reinicio(
            &self,
            form: ReinicioClave,
            client: Option<IpAddr>,
        ) -> BoxFuture<'_, Result<ReinicioSolicitado, ApiError>>;
    }

    /// The backend in context; provided by the server for every request.
    #[derive(Clone)]
    pub struct SharedBackend(pub Arc<dyn Backend>);

    pub(super) fn backend() -> Result<Arc<dyn Backend>, ApiError> {
        use_context::<SharedBackend>().map(|b| b.0).ok_or_else(|| {
            leptos::logging::error!("el servidor no proporcionó el Backend");
            ApiError::Interno
        })
    }

    /// The client's address as the server decided it (socket or trusted proxy), if known.
    #[derive(Clone, Copy, Debug)]
    pub struct ClientAddr(pub IpAddr);

    /// Set by the server as a request extension; read from the request parts Leptos provides.
    pub(super) async fn client_addr() -> Option<IpAddr> {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<ClientAddr>().copied())
            .map(|c| c.0)
    }
}
