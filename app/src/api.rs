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
    /// The request itself is unreadable: not JSON, wrong content type, too large (HTTP 400).
    #[error("La solicitud no se pudo leer. Recargue la página e intente de nuevo.")]
    Solicitud,
    /// Something failed on our side; details are in the server log, never here (HTTP 503).
    #[error("El servicio no está disponible en este momento. Intente de nuevo en unos minutos.")]
    Interno,
}

impl ApiError {
    /// The stable machine code, the JSON's `"error"`.
    pub fn codigo(&self) -> &'static str {
        match self {
            ApiError::Campos { .. } => "campos",
            ApiError::SinCoincidencia => "sin_coincidencia",
            ApiError::Limite { .. } => "limite",
            ApiError::Solicitud => "solicitud",
            ApiError::Interno => "interno",
        }
    }

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

/// `{"error": "campos", "campos": [...]}`, `{"error": "limite", "segundos": 60}`, or only the code.
impl Serialize for ApiError {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut mapa = serializer.serialize_map(None)?;
        mapa.serialize_entry("error", self.codigo())?;
        match self {
            ApiError::Campos { campos } => mapa.serialize_entry("campos", campos)?,
            ApiError::Limite { segundos } => mapa.serialize_entry("segundos", segundos)?,
            _ => {}
        }
        mapa.end()
    }
}

impl<'de> Deserialize<'de> for ApiError {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut objeto = lectura::Objeto::<D::Error>::leer(deserializer)?;
        let codigo = objeto.texto("error")?;
        let error = [
            ApiError::SinCoincidencia,
            ApiError::Solicitud,
            ApiError::Interno,
        ]
        .into_iter()
        .find(|e| e.codigo() == codigo);
        match (codigo.as_str(), error) {
            (_, Some(error)) => Ok(error),
            ("campos", _) => Ok(ApiError::Campos {
                campos: objeto.errores_de_campo("campos")?,
            }),
            ("limite", _) => Ok(ApiError::Limite {
                segundos: objeto.entero("segundos")?,
            }),
            _ => Err(serde::de::Error::custom("código de error desconocido")),
        }
    }
}

/// "Buscar ID" found the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsuarioEncontrado {
    /// The ID usuario as its owner chose it.
    pub usuario: String,
}

impl<'de> Deserialize<'de> for UsuarioEncontrado {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut objeto = lectura::Objeto::<D::Error>::leer(deserializer)?;
        Ok(UsuarioEncontrado {
            usuario: objeto.texto("usuario")?,
        })
    }
}

/// The reset request was taken. If the data match an approved registration the temporary password
/// is on its way; the answer is the same when they do not, so it reveals nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReinicioSolicitado {
    /// The e-mail of the request, masked (`m***@example.com`): on a match, the registered one.
    pub correo: String,
    /// How long the password is valid once sent.
    pub vigencia_minutos: u32,
    /// When it expires if sent now, in Ecuador's time (`28/11/2026 a las 14:35`); the e-mail
    /// carries the exact time, counted from its sending.
    pub vence: String,
}

impl<'de> Deserialize<'de> for ReinicioSolicitado {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut objeto = lectura::Objeto::<D::Error>::leer(deserializer)?;
        Ok(ReinicioSolicitado {
            correo: objeto.texto("correo")?,
            vigencia_minutos: objeto
                .entero("vigencia_minutos")?
                .try_into()
                .map_err(|_| serde::de::Error::custom("vigencia_minutos fuera de rango"))?,
            vence: objeto.texto("vence")?,
        })
    }
}

mod lectura {
    //! How the browser reads the answers: the JSON into a [`serde_json::Value`], then each field
    //! by hand. Deriving `Deserialize` would be shorter, but every derived visitor can fail with
    //! "invalid type: floating point `1.5`, expected …", and formatting that message pulls
    //! float printing, escaped strings and Unicode tables into the WASM: 13 KB of the gzipped
    //! bundle, for three small objects. Reading a `Value` never fails that way.

    use std::marker::PhantomData;

    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::{Map, Value};
    use validation::{Field, FieldErrors, ValidationError};

    pub(super) struct Objeto<E> {
        campos: Map<String, Value>,
        error: PhantomData<E>,
    }

    impl<E: Error> Objeto<E> {
        pub(super) fn leer<'de, D: Deserializer<'de, Error = E>>(d: D) -> Result<Self, E> {
            match Value::deserialize(d)? {
                Value::Object(campos) => Ok(Objeto {
                    campos,
                    error: PhantomData,
                }),
                _ => Err(E::custom("se esperaba un objeto JSON")),
            }
        }

        pub(super) fn texto(&mut self, nombre: &'static str) -> Result<String, E> {
            match self.campos.remove(nombre) {
                Some(Value::String(texto)) => Ok(texto),
                _ => Err(E::custom(nombre)),
            }
        }

        pub(super) fn entero(&self, nombre: &'static str) -> Result<u64, E> {
            self.campos
                .get(nombre)
                .and_then(Value::as_u64)
                .ok_or_else(|| E::custom(nombre))
        }

        /// `[{"field": "correo", "code": "email.format", "message": "…"}, …]`, as
        /// [`FieldErrors`] serialises itself.
        pub(super) fn errores_de_campo(&mut self, nombre: &'static str) -> Result<FieldErrors, E> {
            let Some(Value::Array(lista)) = self.campos.remove(nombre) else {
                return Err(E::custom(nombre));
            };
            let mut errores = FieldErrors::new();
            for elemento in lista {
                let leido = elemento.as_object().and_then(|o| {
                    let campo = Field::from_name(o.get("field")?.as_str()?)?;
                    let error = ValidationError::from_code(o.get("code")?.as_str()?)?;
                    Some((campo, error))
                });
                let (campo, error) = leido.ok_or_else(|| E::custom(nombre))?;
                errores.push(campo, error);
            }
            Ok(errores)
        }
    }
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

#[cfg(test)]
mod tests {
    //! The browser reads the answers by hand (see `lectura`): each must read back exactly what
    //! the server writes, and refuse what it does not.

    use serde_json::json;
    use validation::{Field, FieldErrors, ValidationError};

    use super::{ApiError, ReinicioSolicitado, UsuarioEncontrado};

    fn ida_y_vuelta<T>(valor: &T) -> T
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
    {
        serde_json::from_slice(&serde_json::to_vec(valor).unwrap()).unwrap()
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
            assert_eq!(escrito["error"], error.codigo());
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
            vence: "28/11/2026 a las 14:35".into(),
        };
        assert_eq!(ida_y_vuelta(&solicitado), solicitado);
    }

    #[test]
    fn unknown_fields_are_ignored_and_order_does_not_matter() {
        let leido: ReinicioSolicitado = serde_json::from_value(json!({
            "vence": "hoy", "nuevo": [1, 2.5, null], "vigencia_minutos": 15, "correo": "a***@b.ec"
        }))
        .unwrap();
        assert_eq!(leido.vigencia_minutos, 15);
        let leido: ApiError =
            serde_json::from_value(json!({"segundos": 5, "error": "limite", "x": {}})).unwrap();
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
            json!({"error": "campos"}),
            json!({"error": "campos", "campos": {}}),
            json!({"error": "campos", "campos": [{"field": "correo"}]}),
            json!({"error": "campos", "campos": [{"field": "nada", "code": "email.domain"}]}),
            json!({"error": "campos", "campos": [{"field": "correo", "code": "nada"}]}),
            json!({"error": "campos", "campos": [7]}),
        ];
        for malo in malos_errores {
            assert!(
                serde_json::from_value::<ApiError>(malo.clone()).is_err(),
                "{malo}"
            );
        }
        for malo in [
            json!({}),
            json!({"usuario": 5}),
            json!({"usuario": null}),
            json!(["x"]),
        ] {
            assert!(
                serde_json::from_value::<UsuarioEncontrado>(malo.clone()).is_err(),
                "{malo}"
            );
        }
        for malo in [
            json!({"correo": "a", "vence": "b"}),
            json!({"correo": "a", "vence": "b", "vigencia_minutos": 5_000_000_000u64}),
            json!({"correo": 1, "vence": "b", "vigencia_minutos": 5}),
            json!({"correo": "a", "vigencia_minutos": 5}),
        ] {
            assert!(
                serde_json::from_value::<ReinicioSolicitado>(malo.clone()).is_err(),
                "{malo}"
            );
        }
        assert!(serde_json::from_str::<ApiError>("{\"error\":").is_err());
    }
}
