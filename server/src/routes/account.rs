//! Signing in, the forced change and signing out: plain HTML form posts (with or without WASM)
//! that set or clear the session cookie and redirect, or render the page again with the errors.
//!
//! The cookie holds a random token (its SHA-256 is the session's key in the database); it is
//! `HttpOnly`, `SameSite=Lax`, and `Secure` when the public base URL is https.

use std::collections::HashMap;

use app::{api::ssr::ClientAddr, pages::account::EstadoCuenta};
use axum::{
    Form, Router,
    extract::{FromRequest, Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::{self, Next},
    response::{IntoResponse, Redirect, Response},
    routing::post,
};
use validation::{CambioClaveInput, Ingreso, IngresoInput};

use crate::{
    routes::{no_js::render_without_hydration, pages},
    services::{
        password::{self, HashError},
        sign_in::{self, ChangeError, Session, SignInError},
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
fn sign_in_quota(state: &AppState, client: Option<std::net::IpAddr>) -> Result<(), (String, u64)> {
    let Some(addr) = client else { return Ok(()) };
    state.sign_in_address_limit.check(addr).map_err(|segundos| {
        metrics::counter!("reinicio_limit_refusals_total", "kind" => "direccion_ingreso")
            .increment(1);
        tracing::warn!(%addr, "límite de ingresos por dirección alcanzado");
        (
            format!(
                "Se hicieron demasiados intentos de ingreso desde su conexión. Por seguridad, \
                 intente de nuevo en {}.",
                in_minutes(segundos.div_ceil(60))
            ),
            segundos,
        )
    })
}

/// "1 minuto", "5 minutos".
fn in_minutes(minutos: u64) -> String {
    format!("{minutos} minuto{}", if minutos == 1 { "" } else { "s" })
}

/// The page's status for a refusal that is not the form's fault, with `Retry-After`.
fn with_status(mut response: Response, status: StatusCode, segundos: Option<u64>) -> Response {
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

async fn post_sign_in(State(state): State<AppState>, request: Request) -> Response {
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
    if let Err((aviso, segundos)) = sign_in_quota(&state, client) {
        estado.aviso = Some(aviso);
        let response = render_without_hydration(&state, "/ingreso", estado).await;
        return with_status(response, StatusCode::TOO_MANY_REQUESTS, Some(segundos));
    }
    match Ingreso::validate(&input) {
        Err(errores) => estado.errores = errores,
        Ok(form) => match count_sign_in(sign_in::attempt(&state.services, &form, client).await) {
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
            Err(SignInError::Credenciales) => estado.aviso = Some(CREDENCIALES.to_owned()),
            Err(SignInError::Bloqueado { minutos }) => {
                estado.aviso = Some(format!(
                    "Demasiados intentos fallidos para este ID usuario. Por seguridad, espere {} \
                     antes de intentar de nuevo con su clave, o solicite una clave temporal: \
                     la clave temporal sirve aunque el ingreso con clave esté en pausa.",
                    in_minutes(minutos.unsigned_abs())
                ))
            }
            Err(SignInError::Hash(HashError::Busy)) => {
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
    let response = render_without_hydration(&state, "/ingreso", estado).await;
    match fallo {
        Some(segundos) => with_status(response, StatusCode::SERVICE_UNAVAILABLE, segundos),
        None => response,
    }
}

/// A change of password: the forced one (after a temporary password) from "Cambio de clave
/// obligatorio", or a voluntary one from "Sesión iniciada", which must give the current password.
async fn post_change_password(State(state): State<AppState>, request: Request) -> Response {
    let sesion = match token(&request) {
        Some(t) => match sign_in::session(&state.services, &t).await {
            Ok(s) => s,
            Err(error) => return unavailable(&state, &error).await,
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
    if let Err((aviso, segundos)) = sign_in_quota(&state, client) {
        estado.aviso = Some(aviso);
        let response = render_without_hydration(&state, ruta, estado).await;
        return with_status(response, StatusCode::TOO_MANY_REQUESTS, Some(segundos));
    }
    match sign_in::change_password(&state.services, &sesion, &input, actual.as_deref(), client)
        .await
    {
        Ok(()) => return Redirect::to("/clave-actualizada").into_response(),
        Err(ChangeError::Campos(errores)) => estado.errores = errores,
        Err(ChangeError::ClaveActual) => estado.aviso = Some(CLAVE_ACTUAL.to_owned()),
        Err(ChangeError::Bloqueado { minutos }) => {
            estado.aviso = Some(format!(
                "Demasiados intentos fallidos para este ID usuario. Por seguridad, espere {} \
                 antes de intentar de nuevo.",
                in_minutes(minutos.unsigned_abs())
            ))
        }
        Err(ChangeError::Hash(HashError::Busy)) => {
            estado.aviso = Some(OCUPADO.to_owned());
            fallo = Some(Some(password::BUSY_RETRY_SECONDS));
        }
        Err(error) => {
            tracing::error!(%error, "cambio de clave: error interno");
            estado.aviso = Some(INTERNO.to_owned());
            fallo = Some(None);
        }
    }
    let response = render_without_hydration(&state, ruta, estado).await;
    match fallo {
        Some(segundos) => with_status(response, StatusCode::SERVICE_UNAVAILABLE, segundos),
        None => response,
    }
}

/// The session could not be read (the database is unreachable): `503` with the page that says
/// so, never a redirect to "Ingreso" as if the person had been signed out.
async fn unavailable(state: &AppState, error: &sea_orm::DbErr) -> Response {
    tracing::error!(%error, "sesión: error de base de datos");
    let estado = EstadoCuenta {
        aviso: Some(INTERNO.to_owned()),
        ..Default::default()
    };
    let response = render_without_hydration(state, "/ingreso", estado).await;
    with_status(response, StatusCode::SERVICE_UNAVAILABLE, None)
}

async fn post_sign_out(State(state): State<AppState>, request: Request) -> Response {
    if let Some(t) = token(&request)
        && let Err(error) = sign_in::sign_out(&state.services, &t).await
    {
        tracing::error!(%error, "cierre de sesión: error interno");
    }
    let mut response = Redirect::to("/ingreso").into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", true));
    response
}

/// Who may see an account page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// "Ingreso": anyone. A session is shown as signed in; one that must change its password
    /// is sent to that page.
    SignIn,
    /// "Cambio de clave obligatorio": only a session whose password must change.
    MustChange,
    /// "Sesión iniciada" and "Clave actualizada": a session whose password need not change.
    SignedIn,
}

/// The account pages (each behind its [`Access`] guard) and the forms they post.
pub fn router(state: &AppState) -> Router<AppState> {
    let mut router = Router::new()
        .route("/ingreso", post(post_sign_in))
        .route("/cambio-clave", post(post_change_password))
        .route("/salir", post(post_sign_out));
    for (path, access) in [
        ("/ingreso", Access::SignIn),
        ("/cambio-clave", Access::MustChange),
        ("/clave-actualizada", Access::SignedIn),
        ("/cuenta", Access::SignedIn),
    ] {
        // On the page's GET (and HEAD) only: another method gets its plain 405.
        router = router.route(
            path,
            pages::render(state).route_layer(middleware::from_fn_with_state(
                (state.clone(), access),
                guard,
            )),
        );
    }
    router
}

/// Without a session, only "Ingreso"; while the password must change, only "Cambio de clave
/// obligatorio"; otherwise every page but that one.
async fn guard(
    State((state, access)): State<(AppState, Access)>,
    mut request: Request,
    next: Next,
) -> Response {
    let sesion: Option<Session> = match token(&request) {
        Some(t) => match sign_in::session(&state.services, &t).await {
            Ok(s) => s,
            // Not "signed out": the session may well be valid. The person is told the truth.
            Err(error) => return unavailable(&state, &error).await,
        },
        None => None,
    };
    match (&sesion, access) {
        (Some(s), Access::SignIn | Access::SignedIn) if s.must_change => {
            Redirect::to("/cambio-clave").into_response()
        }
        (Some(s), Access::MustChange) if !s.must_change => Redirect::to("/cuenta").into_response(),
        (None, Access::MustChange | Access::SignedIn) => Redirect::to("/ingreso").into_response(),
        (Some(s), _) => {
            request.extensions_mut().insert(EstadoCuenta {
                usuario: s.usuario.clone(),
                identificacion: s.identificacion.clone(),
                correo: s.correo.clone(),
                ..Default::default()
            });
            next.run(request).await
        }
        (None, Access::SignIn) => next.run(request).await,
    }
}

/// Counts a sign-in by its outcome (`reinicio_sign_ins_total`) and hands it on.
fn count_sign_in(
    result: Result<sign_in::NewSession, SignInError>,
) -> Result<sign_in::NewSession, SignInError> {
    let outcome = match &result {
        Ok(s) if s.must_change => "temporal",
        Ok(_) => "correcto",
        Err(SignInError::Credenciales) => "incorrecto",
        Err(SignInError::Bloqueado { .. }) => "bloqueado",
        Err(SignInError::Hash(HashError::Busy)) => "ocupado",
        Err(_) => "error",
    };
    metrics::counter!("reinicio_sign_ins_total", "outcome" => outcome).increment(1);
    result
}
