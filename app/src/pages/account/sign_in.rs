//! "Ingreso a ECUAPASS": the ID usuario and the password, posted to the server.

use leptos::prelude::*;
use validation::Field;

use super::{account_state, outcome};
use crate::{
    components::{PageHeader, TextField},
    form::FieldState,
};

#[component]
pub fn PaginaIngreso() -> impl IntoView {
    let e = account_state();
    view! {
        <div class="pagina">
            <PageHeader title="Ingreso a ECUAPASS" />
            <main>
                <section class="seccion" aria-labelledby="titulo-ingreso">
                    <h2 id="titulo-ingreso">"Ingrese con su ID usuario y su clave"</h2>
                    {outcome("i", &e)}
                    <form method="post" action="/ingreso" novalidate>
                        <TextField
                            id="i-usuario"
                            name="usuario"
                            label="ID usuario"
                            state=FieldState::new(&e.usuario_escrito)
                            error=e.errores.get(Field::UsuarioId)
                            autocomplete="username"
                        />
                        <TextField
                            id="i-clave"
                            name="clave"
                            label="Clave"
                            state=FieldState::new("")
                            error=e.errores.get(Field::Clave)
                            input_type="password"
                            autocomplete="current-password"
                        />
                        <button type="submit" class="boton">"Ingresar"</button>
                    </form>
                    <p class="pista">
                        "¿Olvidó su clave? " <a href="/">"Reiniciar clave"</a>
                        ": le enviaremos una clave temporal al correo registrado en su solicitud de uso."
                    </p>
                </section>
            </main>
        </div>
    }
}
