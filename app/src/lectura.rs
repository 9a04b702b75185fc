//! How the server functions' answers travel: JSON both ways. The server writes it with serde
//! (`Serialize`); the browser reads it with its own parser, `JSON.parse`, and each answer type
//! picks its fields by hand ([`Leible`]).
//!
//! Why not serde on the browser side too: serde_json's parser, its `Value` and the derived
//! visitors (whose "invalid type: floating point `1.5`, expected …" errors pull float printing and
//! Unicode tables in) were about 20 KB of the gzipped WASM, for three small objects the browser
//! can already parse. Natively (the server and the tests) the same [`Leible`] code reads a
//! `serde_json` value, so the tests exercise every reading rule.

use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType, codec::Post};
use serde::Serialize;

/// The answers' encoding: JSON, written with serde_json, read as described above.
pub struct LecturaJson;

/// `POST` with a JSON body; the answer is JSON read with [`LecturaJson`].
pub type JsonLeido = Post<LecturaJson>;

impl ContentType for LecturaJson {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for LecturaJson {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for LecturaJson {
    type Error = serde_json::Error;

    fn encode(valor: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(valor).map(Bytes::from)
    }
}

impl<T: Leible> Decodes<T> for LecturaJson {
    type Error = RespuestaIlegible;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        Objeto::analizar(&bytes)
            .and_then(|objeto| T::leer(&objeto))
            .ok_or(RespuestaIlegible)
    }
}

/// The answer is not the JSON object this type expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RespuestaIlegible;

impl std::fmt::Display for RespuestaIlegible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("la respuesta del servidor no se pudo leer")
    }
}

/// A type the browser reads from a JSON object: `None` if a field is missing or of another kind.
/// Unknown fields are ignored.
pub trait Leible: Sized {
    fn leer(objeto: &Objeto) -> Option<Self>;
}

/// A JSON object: in the browser a JavaScript object from `JSON.parse`, elsewhere a serde_json map.
#[cfg(feature = "hydrate")]
pub struct Objeto(leptos::wasm_bindgen::JsValue);

#[cfg(not(feature = "hydrate"))]
pub struct Objeto(serde_json::Map<String, serde_json::Value>);

#[cfg(feature = "hydrate")]
impl Objeto {
    fn analizar(bytes: &[u8]) -> Option<Self> {
        let texto = std::str::from_utf8(bytes).ok()?;
        Self::si_es_objeto(leptos::web_sys::js_sys::JSON::parse(texto).ok()?)
    }

    fn si_es_objeto(valor: leptos::wasm_bindgen::JsValue) -> Option<Self> {
        use leptos::web_sys::js_sys::Array;
        (valor.is_object() && !Array::is_array(&valor)).then_some(Objeto(valor))
    }

    fn campo(&self, nombre: &str) -> Option<leptos::wasm_bindgen::JsValue> {
        let clave = leptos::wasm_bindgen::JsValue::from_str(nombre);
        leptos::web_sys::js_sys::Reflect::get(&self.0, &clave).ok()
    }

    pub fn texto(&self, nombre: &str) -> Option<String> {
        self.campo(nombre)?.as_string()
    }

    /// A whole number from 0 to 2⁵³ − 1 (JavaScript numbers are exact up to there).
    pub fn entero(&self, nombre: &str) -> Option<u64> {
        let numero = self.campo(nombre)?.as_f64()?;
        ((0.0..=9_007_199_254_740_991.0).contains(&numero) && numero.fract() == 0.0)
            .then_some(numero as u64)
    }

    /// A list whose every element is an object.
    pub fn lista(&self, nombre: &str) -> Option<Vec<Objeto>> {
        use leptos::web_sys::js_sys::Array;
        let valor = self.campo(nombre)?;
        if !Array::is_array(&valor) {
            return None;
        }
        Array::from(&valor).iter().map(Self::si_es_objeto).collect()
    }
}

#[cfg(not(feature = "hydrate"))]
impl Objeto {
    fn analizar(bytes: &[u8]) -> Option<Self> {
        match serde_json::from_slice(bytes).ok()? {
            serde_json::Value::Object(mapa) => Some(Objeto(mapa)),
            _ => None,
        }
    }

    pub fn texto(&self, nombre: &str) -> Option<String> {
        self.0.get(nombre)?.as_str().map(str::to_owned)
    }

    /// A whole number from 0 to 2⁵³ − 1, as in the browser.
    pub fn entero(&self, nombre: &str) -> Option<u64> {
        self.0
            .get(nombre)?
            .as_u64()
            .filter(|n| *n <= 9_007_199_254_740_991)
    }

    /// A list whose every element is an object.
    pub fn lista(&self, nombre: &str) -> Option<Vec<Objeto>> {
        self.0
            .get(nombre)?
            .as_array()?
            .iter()
            .map(|v| v.as_object().cloned().map(Objeto))
            .collect()
    }
}
