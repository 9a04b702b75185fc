//! Signing in, the forced change and signing out: plain HTML form posts (with or without WASM)
//! that set or clear the session cookie and redirect, or render the page again with the errors.
//!
//! The cookie holds a random token (its SHA-256 is the session's key in the database); it is
//! `HttpOnly`, `SameSite=Lax`, and `Secure` when the public base URL is https.

use std::collections::HashMap;

use app::{api::ssr::ClientAddr, cuenta::EstadoCuenta};
use axum::{
    Form,
    extract::{FromRequest, Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use validation::{CambioClaveInput, Ingreso, IngresoInput};

use crate::{
    routes::no_js::pagina_sin_hidratacion,
    services::{
        password::{self, HashError},
        sign_in::{self, CambioError, IngresoError, Sesion},
    },
    state::AppState,
};

pub const COOKIE: &str = "sesion";

const CREDENCIALES: &str = "El ID usuario o la clave no son correctos. Si usó una clave temporal, \
     recuerde que sirve una sola vez y vence a la hora indicada en el correo.";
const INTERNO: &str =
    "El servicio no está disponible en este momento. Intente de nuevo en unos minutos.";
const OCUPADO: &str = "El servicio está atendiendo muchos ingresos en este momento. \
     Intente de nuevo en unos segundos.";
const CLAVE_ACTUAL: &str = "La clave actual no es correcta. Escríbala de nuevo para confirmar \
     que es usted quien cambia la clave.";

/// The sign-in quota per client address, checked before any work. `Err` holds the message and
/// the seconds to wait.
fn limite_ingreso(state: &AppState, client: Option<std::net::IpAddr>) -> Result<(), (String, u64)> {
    let Some(addr) = client else { return Ok(()) };
    state.limite_ingreso.check(addr).map_err(|segundos| {
        tracing::warn!(%addr, "límite de ingresos por dirección alcanzado");
        (
            format!(
                "Se hicieron demasiados intentos de ingreso desde su conexión. Por seguridad, \
                 intente de nuevo en {}.",
                en_minutos(segundos.div_ceil(60))
            ),
            segundos,
        )
    })
}

/// "1 minuto", "5 minutos".
fn en_minutos(minutos: u64) -> String {
    format!("{minutos} minuto{}", if minutos == 1 { "" } else { "s" })
}

/// The page's status for a refusal that is not the form's fault, with `Retry-After`.
fn con_estado(mut response: Response, status: StatusCode, segundos: Option<u64>) -> Response {
    *response.status_mut() = status;
    if let Some(segundos) = segundos {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(segundos));
    }
    response
}

fn token(request: &Request) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix("sesion=").map(str::to_owned))
        .filter(|t| !t.is_empty())
}

fn cookie(state: &AppState, value: &str, max_age_zero: bool) -> HeaderValue {
    let secure = if state.secure_cookies { "; Secure" } else { "" };
    let expire = if max_age_zero { "; Max-Age=0" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{expire}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sesion=; Path=/; Max-Age=0"))
}

async fn form(request: Request) -> (Option<std::net::IpAddr>, HashMap<String, String>) {
    let client = request.extensions().get::<ClientAddr>().map(|c| c.0);
    let campos = Form::<HashMap<String, String>>::from_request(request, &())
        .await
        .map(|Form(c)| c)
        .unwrap_or_default();
    (client, campos)
}

pub async fn ingresar(State(state): State<AppState>, request: Request) -> Response {
    let (client, mut campos) = form(request).await;
    let input = IngresoInput {
        usuario: campos.remove("usuario").unwrap_or_default(),
        clave: campos.remove("clave").unwrap_or_default(),
    };
    let mut estado = EstadoCuenta {
        usuario_escrito: input.usuario.clone(),
        ..Default::default()
    };
    // A refusal that is not about the account: the page says why, the status says it too.
    let mut fallo = None;
    if let Err((aviso, segundos)) = limite_ingreso(&state, client) {
        estado.aviso = Some(aviso);
        let response = pagina_sin_hidratacion(&state, "/ingreso", estado).await;
        return con_estado(response, StatusCode::TOO_MANY_REQUESTS, Some(segundos));
    }
    match Ingreso::validate(&input) {
        Err(errores) => estado.errores = errores,
        Ok(form) => match sign_in::ingresar(&state.services, &form, client).await {
            Ok(nueva) => {
                let destino = if nueva.must_change {
                    "/cambio-clave"
                } else {
                    "/cuenta"
                };
                let mut response = Redirect::to(destino).into_response();
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, cookie(&state, &nueva.token, false));
                return response;
            }
            Err(IngresoError::Credenciales) => estado.aviso = Some(CREDENCIALES.to_owned()),
            Err(IngresoError::Bloqueado { minutos }) => {
                estado.aviso = Some(format!(
                    "Demasiados intentos fallidos para este ID usuario. Por seguridad, espere {} \
                     antes de intentar de nuevo con su clave, o solicite una clave temporal: \
                     la clave temporal sirve aunque el ingreso con clave esté en pausa.",
                    en_minutos(minutos.unsigned_abs())
                ))
            }
            Err(IngresoError::Hash(HashError::Busy)) => {
                estado.aviso = Some(OCUPADO.to_owned());
                fallo = Some(Some(password::BUSY_RETRY_SECONDS));
            }
            Err(error) => {
                tracing::error!(%error, "ingreso: error interno");
                estado.aviso = Some(INTERNO.to_owned());
                fallo = Some(None);
            }
        },
    }
    let response = pagina_sin_hidratacion(&state, "/ingreso", estado).await;
    match fallo {
        Some(segundos) => con_estado(response, StatusCode::SERVICE_UNAVAILABLE, segundos),
        None => response,
    }
}

/// A change of password: the forced one (after a temporary password) from "Cambio de clave
/// obligatorio", or a voluntary one from "Sesión iniciada", which must give the current password.
pub async fn cambiar(State(state): State<AppState>, request: Request) -> Response {
    let sesion = match token(&request) {
        Some(t) => match sign_in::sesion(&state.services, &t).await {
            Ok(s) => s,
            Err(error) => return sin_servicio(&state, &error).await,
        },
        None => None,
    };
    let Some(sesion) = sesion else {
        return Redirect::to("/ingreso").into_response();
    };
    let (client, mut campos) = form(request).await;
    let input = CambioClaveInput {
        clave: campos.remove("clave").unwrap_or_default(),
        confirmacion: campos.remove("confirmacion").unwrap_or_default(),
    };
    let actual = campos.remove("clave_actual");
    // Each form renders again on its own page.
    let ruta = if sesion.must_change {
        "/cambio-clave"
    } else {
        "/cuenta"
    };
    let mut estado = EstadoCuenta {
        usuario: sesion.usuario.clone(),
        identificacion: sesion.identificacion.clone(),
        correo: sesion.correo.clone(),
        ..Default::default()
    };
    let mut fallo = None;
    if let Err((aviso, segundos)) = limite_ingreso(&state, client) {
        estado.aviso = Some(aviso);
        let response = pagina_sin_hidratacion(&state, ruta, estado).await;
        return con_estado(response, StatusCode::TOO_MANY_REQUESTS, Some(segundos));
    }
    match sign_in::cambiar_clave(&state.services, &sesion, &input, actual.as_deref(), client).await
    {
        Ok(()) => return Redirect::to("/clave-actualizada").into_response(),
        Err(CambioError::Campos(errores)) => estado.errores = errores,
        Err(CambioError::ClaveActual) => estado.aviso = Some(CLAVE_ACTUAL.to_owned()),
        Err(CambioError::Bloqueado { minutos }) => {
            estado.aviso = Some(format!(
                "Demasiados intentos fallidos para este ID usuario. Por seguridad, espere {} \
                 antes de intentar de nuevo.",
                en_minutos(minutos.unsigned_abs())
            ))
        }
        Err(CambioError::Hash(HashError::Busy)) => {
            estado.aviso = Some(OCUPADO.to_owned());
            fallo = Some(Some(password::BUSY_RETRY_SECONDS));
        }
        Err(error) => {
            tracing::error!(%error, "cambio de clave: error interno");
            estado.aviso = Some(INTERNO.to_owned());
            fallo = Some(None);
        }
    }
    let response = pagina_sin_hidratacion(&state, ruta, estado).await;
    match fallo {
        Some(segundos) => con_estado(response, StatusCode::SERVICE_UNAVAILABLE, segundos),
        None => response,
    }
}

/// The session could not be read (the database is unreachable): `503` with the page that says
/// so, never a redirect to "Ingreso" as if the person had been signed out.
async fn sin_servicio(state: &AppState, error: &sea_orm::DbErr) -> Response {
    tracing::error!(%error, "sesión: error de base de datos");
    let estado = EstadoCuenta {
        aviso: Some(INTERNO.to_owned()),
        ..Default::default()
    };
    let response = pagina_sin_hidratacion(state, "/ingreso", estado).await;
    con_estado(response, StatusCode::SERVICE_UNAVAILABLE, None)
}

pub async fn salir(State(state): State<AppState>, request: Request) -> Response {
    if let Some(t) = token(&request)
        && let Err(error) = sign_in::cerrar(&state.services, &t).await
    {
        tracing::error!(%error, "cierre de sesión: error interno");
    }
    let mut response = Redirect::to("/ingreso").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", true));
    response
}

/// Pages behind a session: without one, to "Ingreso"; while the password must change, only
/// "Cambio de clave obligatorio" is reachable.
pub async fn guardia(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let ruta = request.uri().path().to_owned();
    let protegida = matches!(
        ruta.as_str(),
        "/cambio-clave" | "/clave-actualizada" | "/cuenta"
    );
    if request.method() != Method::GET || !(protegida || ruta == "/ingreso") {
        return next.run(request).await;
    }
    let sesion: Option<Sesion> = match token(&request) {
        Some(t) => match sign_in::sesion(&state.services, &t).await {
            Ok(s) => s,
            // Not "signed out": the session may well be valid. The person is told the truth.
            Err(error) => return sin_servicio(&state, &error).await,
        },
        None => None,
    };
    match (&sesion, ruta.as_str()) {
        (Some(s), r) if s.must_change && r != "/cambio-clave" => {
            Redirect::to("/cambio-clave").into_response()
        }
        (Some(s), "/cambio-clave") if !s.must_change => Redirect::to("/cuenta").into_response(),
        (None, r) if r != "/ingreso" => Redirect::to("/ingreso").into_response(),
        (Some(s), _) => {
            request.extensions_mut().insert(EstadoCuenta {
                usuario: s.usuario.clone(),
                identificacion: s.identificacion.clone(),
                correo: s.correo.clone(),
                ..Default::default()
            });
            next.run(request).await
        }
        (None, _) => next.run(request).await,
    }
}
