//! The two server functions of the page, and the types they exchange.
//!
//! Each body is thin: validate with the `validation` crate (the same rules the browser applied),
//! hand the parsed form to the server's [`ssr::Backend`], map the outcome to a status. The backend
//! is a trait so that this crate, which is also compiled to WASM, never sees the database.
//!
//! Endpoints (stable, JSON in and out): `POST /api/buscar_id`, `POST /api/solicitar_reinicio`.
//! The browser reads the answers with [`crate::codec`].

use leptos::{
    prelude::*,
    server_fn::{
        codec::Json,
        error::{FromServerFnError, ServerFnErrorErr},
    },
};
use serde::Serialize;
use validation::{BusquedaIdInput, Field, FieldErrors, ReinicioClaveInput, ValidationError};

use crate::codec::{JsonCodec, JsonObject, JsonPost, Readable};

/// The message for every miss: unknown data, a pending registration and a disabled one alike, so
/// that nobody can learn from the answer whether someone is registered.
pub const SIN_COINCIDENCIA: &str = "Los datos ingresados no coinciden con un registro aprobado. \
     Revise la clasificación, la identificación y el RUC o el correo registrados en su solicitud de uso.";

/// Why a request did not succeed. Sent as `{"error": "<code>", …}` (see [`ApiError::codigo`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
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
    /// Too many requests from this client address, whatever they ask for (HTTP 429 with
    /// `Retry-After`).
    #[error(
        "Se hicieron demasiadas solicitudes desde su conexión. Por seguridad, intente de nuevo en {} minuto(s).",
        segundos.div_ceil(60)
    )]
    LimiteDireccion { segundos: u64 },
    /// The request itself is unreadable: not JSON, wrong content type, too large (HTTP 400).
    #[error("La solicitud no se pudo leer. Recargue la página e intente de nuevo.")]
    Solicitud,
    /// Something failed on our side; details are in the server log, never here (HTTP 503).
    #[error("El servicio no está disponible en este momento. Intente de nuevo en unos minutos.")]
    Interno,
}

impl ApiError {
    /// The stable machine code, the JSON's `"error"`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Campos { .. } => "campos",
            ApiError::SinCoincidencia => "sin_coincidencia",
            ApiError::Limite { .. } => "limite",
            ApiError::LimiteDireccion { .. } => "limite_direccion",
            ApiError::Solicitud => "solicitud",
            ApiError::Interno => "interno",
        }
    }

    /// Seconds to wait, for the limits' `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Limite { segundos } | ApiError::LimiteDireccion { segundos } => {
                Some(*segundos)
            }
            _ => None,
        }
    }

    #[cfg(feature = "ssr")]
    fn http_status(&self) -> http::StatusCode {
        http::StatusCode::from_u16(self.status()).unwrap_or(http::StatusCode::BAD_REQUEST)
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::Campos { .. } => 422,
            ApiError::SinCoincidencia => 404,
            ApiError::Limite { .. } | ApiError::LimiteDireccion { .. } => 429,
            ApiError::Solicitud => 400,
            ApiError::Interno => 503,
        }
    }
}

impl FromServerFnError for ApiError {
    type Encoder = JsonCodec;

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
        if let Some(segundos) = error.retry_after() {
            response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(segundos));
        }
        response.set_status(error.http_status());
    }
}

/// `{"error": "campos", "campos": [...]}`, `{"error": "limite", "segundos": 60}`, or only the code.
impl Serialize for ApiError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut mapa = serializer.serialize_map(None)?;
        mapa.serialize_entry("error", self.code())?;
        match self {
            ApiError::Campos { campos } => mapa.serialize_entry("campos", campos)?,
            ApiError::Limite { segundos } | ApiError::LimiteDireccion { segundos } => {
                mapa.serialize_entry("segundos", segundos)?
            }
            _ => {}
        }
        mapa.end()
    }
}

/// "Buscar ID" found the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsuarioEncontrado {
    /// The ID usuario as its owner chose it.
    pub usuario: String,
}

/// The reset request was taken. If the data match an approved registration the temporary password
/// is on its way; the answer is the same when they do not, so it reveals nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReinicioSolicitado {
    /// The e-mail of the request, masked (`m***@example.com`): on a match, the registered one.
    pub correo: String,
    /// How long the password is valid, counted from its sending (the e-mail states the exact
    /// time: only then is it known).
    pub vigencia_minutos: u32,
}

impl Readable for ApiError {
    fn read(object: &JsonObject) -> Option<Self> {
        // Every variant once, with empty data: the code picks one, `codigo` is the only table.
        let codigo = object.text("error")?;
        let variante = [
            ApiError::Campos {
                campos: FieldErrors::new(),
            },
            ApiError::SinCoincidencia,
            ApiError::Limite { segundos: 0 },
            ApiError::LimiteDireccion { segundos: 0 },
            ApiError::Solicitud,
            ApiError::Interno,
        ]
        .into_iter()
        .find(|e| e.code() == codigo)?;
        Some(match variante {
            ApiError::Campos { .. } => {
                let mut campos = FieldErrors::new();
                for error in object.list("campos")? {
                    let campo = Field::from_name(&error.text("field")?)?;
                    campos.push(campo, ValidationError::from_code(&error.text("code")?)?);
                }
                ApiError::Campos { campos }
            }
            ApiError::Limite { .. } => ApiError::Limite {
                segundos: object.integer("segundos")?,
            },
            ApiError::LimiteDireccion { .. } => ApiError::LimiteDireccion {
                segundos: object.integer("segundos")?,
            },
            sin_datos => sin_datos,
        })
    }
}

impl Readable for UsuarioEncontrado {
    fn read(object: &JsonObject) -> Option<Self> {
        Some(UsuarioEncontrado {
            usuario: object.text("usuario")?,
        })
    }
}

impl Readable for ReinicioSolicitado {
    fn read(object: &JsonObject) -> Option<Self> {
        Some(ReinicioSolicitado {
            correo: object.text("correo")?,
            vigencia_minutos: object.integer("vigencia_minutos")?.try_into().ok()?,
        })
    }
}

/// "Buscar ID": the ID usuario of the approved registration matching the form.
#[server(prefix = "/api", endpoint = "buscar_id", input = Json, output = JsonPost)]
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
#[server(prefix = "/api", endpoint = "solicitar_reinicio", input = Json, output = JsonPost)]
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

    /// A refusal as an HTTP answer, exactly as the server functions answer it: the error's
    /// status, its JSON and, for the limits, `Retry-After`. The server's own refusals (the
    /// per-address quota, a body that is not JSON) are made with it.
    impl axum::response::IntoResponse for ApiError {
        fn into_response(self) -> axum::response::Response {
            let mut response = (
                self.http_status(),
                [(http::header::CONTENT_TYPE, "application/json")],
                serde_json::to_string(&self).unwrap_or_default(),
            )
                .into_response();
            if let Some(segundos) = self.retry_after() {
                response
                    .headers_mut()
                    .insert(http::header::RETRY_AFTER, http::HeaderValue::from(segundos));
            }
            response
        }
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

#[cfg(test)]
mod tests {
    //! Each answer must read back exactly what the server writes, through the codec the server
    //! functions use, and be refused when it is not that.

    use leptos::server_fn::{Bytes, Decodes, Encodes};
    use serde_json::{Value, json};
    use validation::{Field, FieldErrors, ValidationError};

    use super::{ApiError, ReinicioSolicitado, UsuarioEncontrado};
    use crate::codec::{JsonCodec, Readable};

    fn ida_y_vuelta<T: serde::Serialize + Readable>(valor: &T) -> T {
        let bytes = <JsonCodec as Encodes<T>>::encode(valor).unwrap();
        <JsonCodec as Decodes<T>>::decode(bytes).unwrap()
    }

    fn leer<T: Readable>(json: &Value) -> Option<T> {
        <JsonCodec as Decodes<T>>::decode(Bytes::from(json.to_string())).ok()
    }

    fn todos_los_errores() -> Vec<ApiError> {
        let mut campos = FieldErrors::new();
        campos.push(Field::Identificacion, ValidationError::CedulaCheckDigit);
        campos.push(Field::Correo, ValidationError::EmailDomain);
        vec![
            ApiError::Campos { campos },
            ApiError::Campos {
                campos: FieldErrors::new(),
            },
            ApiError::SinCoincidencia,
            ApiError::Limite { segundos: 3_599 },
            ApiError::LimiteDireccion { segundos: 61 },
            ApiError::Solicitud,
            ApiError::Interno,
        ]
    }

    #[test]
    fn every_error_reads_back_as_written() {
        for error in todos_los_errores() {
            assert_eq!(ida_y_vuelta(&error), error);
        }
    }

    #[test]
    fn errors_keep_their_wire_form() {
        let mut campos = FieldErrors::new();
        campos.push(Field::Correo, ValidationError::EmailDomain);
        assert_eq!(
            serde_json::to_value(ApiError::Campos { campos }).unwrap(),
            json!({"error": "campos", "campos": [{
                "field": "correo",
                "code": "email.domain",
                "message": ValidationError::EmailDomain.message(),
            }]})
        );
        assert_eq!(
            serde_json::to_value(ApiError::Limite { segundos: 60 }).unwrap(),
            json!({"error": "limite", "segundos": 60})
        );
        for error in todos_los_errores() {
            let escrito = serde_json::to_value(&error).unwrap();
            assert_eq!(escrito["error"], error.code());
        }
    }

    #[test]
    fn answers_read_back_as_written() {
        let encontrado = UsuarioEncontrado {
            usuario: "Agente_01".into(),
        };
        assert_eq!(ida_y_vuelta(&encontrado), encontrado);
        let solicitado = ReinicioSolicitado {
            correo: "m***@example.com".into(),
            vigencia_minutos: 30,
        };
        assert_eq!(ida_y_vuelta(&solicitado), solicitado);
    }

    #[test]
    fn unknown_fields_are_ignored_and_order_does_not_matter() {
        let leido: ReinicioSolicitado = leer(&json!({
            "vence": "hoy", "nuevo": [1, 2.5, null], "vigencia_minutos": 15, "correo": "a***@b.ec"
        }))
        .unwrap();
        assert_eq!(leido.vigencia_minutos, 15);
        let leido: ApiError = leer(&json!({"segundos": 5, "error": "limite", "x": {}})).unwrap();
        assert_eq!(leido, ApiError::Limite { segundos: 5 });
    }

    #[test]
    fn malformed_answers_are_refused() {
        let malos_errores = [
            json!(null),
            json!([]),
            json!("interno"),
            json!({}),
            json!({"error": 1}),
            json!({"error": "otro"}),
            json!({"error": "limite"}),
            json!({"error": "limite", "segundos": -1}),
            json!({"error": "limite", "segundos": 1.5}),
            json!({"error": "limite", "segundos": "60"}),
            json!({"error": "limite", "segundos": 9_007_199_254_740_992u64}),
            json!({"error": "campos"}),
            json!({"error": "campos", "campos": {}}),
            json!({"error": "campos", "campos": [{"field": "correo"}]}),
            json!({"error": "campos", "campos": [{"field": "nada", "code": "email.domain"}]}),
            json!({"error": "campos", "campos": [{"field": "correo", "code": "nada"}]}),
            json!({"error": "campos", "campos": [7]}),
            json!({"error": "campos", "campos": [[]]}),
        ];
        for malo in malos_errores {
            assert_eq!(leer::<ApiError>(&malo), None, "{malo}");
        }
        for malo in [
            json!({}),
            json!({"usuario": 5}),
            json!({"usuario": null}),
            json!(["x"]),
        ] {
            assert_eq!(leer::<UsuarioEncontrado>(&malo), None, "{malo}");
        }
        for malo in [
            json!({"correo": "a", "vence": "b"}),
            json!({"correo": "a", "vence": "b", "vigencia_minutos": 5_000_000_000u64}),
            json!({"correo": 1, "vence": "b", "vigencia_minutos": 5}),
            json!({"vigencia_minutos": 5}),
        ] {
            assert_eq!(leer::<ReinicioSolicitado>(&malo), None, "{malo}");
        }
        for texto in ["{\"error\":", "", "\u{0}", "{\"error\": \"interno\"} x"] {
            let leido = <JsonCodec as Decodes<ApiError>>::decode(Bytes::from(texto));
            assert!(leido.is_err(), "{texto:?}");
        }
    }

    /// Most likely a page older than the server it talks to: reloading it is the fix.
    #[test]
    fn an_unreadable_answer_asks_to_reload() {
        use leptos::server_fn::error::FromServerFnError;
        let error = ApiError::de(Bytes::from("<html>"));
        assert_eq!(error, ApiError::Solicitud);
        assert!(error.to_string().contains("Recargue la página"));
    }
}
