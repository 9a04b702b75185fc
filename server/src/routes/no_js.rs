//! The page without JavaScript: both forms post here (`POST /`), and the answer is the page
//! again, rendered on the server with the values kept and the errors, the confirmation step or
//! the result in place.
//!
//! It validates with the same crate and calls the same [`Backend`] as the server functions, so
//! the two ways through the page cannot disagree.

use std::collections::HashMap;

use app::{
    api::{ApiError, ssr::ClientAddr},
    no_js::{ACCION_BUSCAR, ACCION_CONFIRMAR, ACCION_REINICIAR, ACCION_VOLVER, EstadoInicial},
};
use axum::{
    Form,
    body::Body,
    extract::{FromRequest, Request, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
};
use leptos::prelude::*;
use validation::{BusquedaId, BusquedaIdInput, ReinicioClave, ReinicioClaveInput};

use crate::state::AppState;

/// `POST /`: both forms of the request page, without JavaScript.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/", axum::routing::post(submit))
}

async fn submit(State(state): State<AppState>, request: Request) -> Response {
    let client = request.extensions().get::<ClientAddr>().map(|c| c.0);
    let Ok(Form(mut campos)) = Form::<HashMap<String, String>>::from_request(request, &()).await
    else {
        return Redirect::to("/").into_response();
    };
    let mut campo = |nombre: &str| campos.remove(nombre).unwrap_or_default();
    let backend = state.backend.0.clone();
    let mut estado = EstadoInicial::default();
    // A failure on our side or a limit is also said by the status, for proxies and monitors.
    let mut fallo = None;
    let accion = campo("accion");
    // Every post counts against the client address's quota, as the API's requests do; past it
    // the page answers with the message in the section that was sent and the values kept.
    let limitada = client
        .and_then(|addr| state.lookup_address_limit.check(addr).err())
        .map(|segundos| ApiError::LimiteDireccion { segundos });
    if limitada.is_some() {
        tracing::warn!("límite por dirección alcanzado (formulario sin JavaScript)");
    }
    match accion.as_str() {
        ACCION_BUSCAR => {
            let datos = BusquedaIdInput {
                clasificacion: campo("clasificacion"),
                ruc_empresa: campo("ruc_empresa"),
                correo: campo("correo"),
                identificacion: campo("identificacion"),
            };
            match BusquedaId::validate(&datos) {
                _ if limitada.is_some() => {
                    estado.aviso_busqueda = limitada.as_ref().map(ToString::to_string);
                    fallo = limitada;
                }
                Err(errores) => {
                    crate::telemetry::count_invalid(crate::telemetry::Form::Lookup);
                    estado.errores_busqueda = errores;
                }
                Ok(form) => {
                    // Where the classification asks for the e-mail, section 2 needs it too.
                    let correo_buscado = form.correo.is_some().then(|| datos.correo.clone());
                    match backend.buscar_id(form, client).await {
                        Ok(encontrado) => {
                            estado.reinicio.usuario = encontrado.usuario.clone();
                            estado.reinicio.identificacion = datos.identificacion.clone();
                            if let Some(correo) = correo_buscado {
                                estado.reinicio.correo = correo;
                            }
                            estado.encontrado = Some(encontrado.usuario);
                        }
                        Err(error) => {
                            estado.aviso_busqueda = Some(error.to_string());
                            fallo = Some(error);
                        }
                    }
                }
            }
            estado.busqueda = datos;
        }
        ACCION_VOLVER => {
            // "No" on the confirmation: the form again, as it was, nothing sent.
            estado.reinicio = ReinicioClaveInput {
                usuario: campo("usuario"),
                identificacion: campo("identificacion"),
                correo: campo("correo"),
            };
        }
        accion @ (ACCION_REINICIAR | ACCION_CONFIRMAR) => {
            let datos = ReinicioClaveInput {
                usuario: campo("usuario"),
                identificacion: campo("identificacion"),
                correo: campo("correo"),
            };
            match ReinicioClave::validate(&datos) {
                _ if limitada.is_some() => {
                    estado.aviso_reinicio = limitada.as_ref().map(ToString::to_string);
                    fallo = limitada;
                }
                Err(errores) => {
                    crate::telemetry::count_invalid(crate::telemetry::Form::Reset);
                    estado.errores_reinicio = errores;
                }
                // First the question ("¿Desea …?"); only its "Sí" sends.
                Ok(_) if accion == ACCION_REINICIAR => estado.confirmar = true,
                Ok(form) => match backend.solicitar_reinicio(form, client).await {
                    Ok(respuesta) => estado.enviado = Some(respuesta),
                    Err(error) => {
                        estado.aviso_reinicio = Some(error.to_string());
                        fallo = Some(error);
                    }
                },
            }
            estado.reinicio = datos;
        }
        _ => return Redirect::to("/").into_response(),
    }

    let mut response = render_without_hydration(&state, "/", estado).await;
    // Misses and field errors are answers to the form (200); these two also have the API's status.
    if let Some(
        error @ (ApiError::Interno | ApiError::Limite { .. } | ApiError::LimiteDireccion { .. }),
    ) = fallo
    {
        if let Ok(status) = StatusCode::from_u16(error.status()) {
            *response.status_mut() = status;
        }
        if let Some(segundos) = error.retry_after() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(segundos));
        }
    }
    response
}

/// Renders the page at `ruta` from `estado`, without WASM: the answer to a posted form (here and
/// in `account`).
pub async fn render_without_hydration<T>(
    state: &AppState,
    ruta: &'static str,
    estado: T,
) -> Response
where
    T: Clone + Send + Sync + 'static,
{
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_to_stream_with_context(
        move || provide_context(estado.clone()),
        move || app::shell_without_hydration(options.clone()),
    );
    render(Request::get(ruta).body(Body::empty()).unwrap_or_default()).await
}
