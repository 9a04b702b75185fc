//! Handlers outside the Leptos pages and server functions, one module per area: the sign-in and
//! account pages (`account`), and the forms posted without JavaScript (`no_js`). The router that
//! mounts them, with the middleware every request goes through, is `http`.

pub mod account;
pub mod no_js;
