//! How the server functions' answers travel: JSON both ways. The server writes it with serde
//! (`Serialize`); the browser reads it with its own parser, `JSON.parse`, and each answer type
//! picks its fields by hand ([`Readable`]).
//!
//! Why not serde on the browser side too: serde_json's parser, its `Value` and the derived
//! visitors (whose "invalid type: floating point `1.5`, expected …" errors pull float printing and
//! Unicode tables in) were about 20 KB of the gzipped WASM, for three small objects the browser
//! can already parse. Natively (the server and the tests) the same [`Readable`] code reads a
//! `serde_json` value, so the tests exercise every reading rule.

use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType, codec::Post};
use serde::Serialize;

/// In the browser, an object from `JSON.parse`.
#[cfg(feature = "hydrate")]
pub use crate::browser::JsonObject;

/// The answers' encoding: JSON, written with serde_json, read as described above.
pub struct JsonCodec;

/// `POST` with a JSON body; the answer is JSON read with [`JsonCodec`].
pub type JsonPost = Post<JsonCodec>;

impl ContentType for JsonCodec {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonCodec {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonCodec {
    type Error = serde_json::Error;

    fn encode(value: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(value).map(Bytes::from)
    }
}

impl<T: Readable> Decodes<T> for JsonCodec {
    type Error = UnreadableAnswer;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        JsonObject::parse(&bytes)
            .and_then(|object| T::read(&object))
            .ok_or(UnreadableAnswer)
    }
}

/// The answer is not the JSON object this type expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnreadableAnswer;

impl std::fmt::Display for UnreadableAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("la respuesta del servidor no se pudo leer")
    }
}

/// A type the browser reads from a JSON object: `None` if a field is missing or of another kind.
/// Unknown fields are ignored.
pub trait Readable: Sized {
    fn read(object: &JsonObject) -> Option<Self>;
}

/// Outside the browser, a serde_json map with the same reading rules as the browser's.
#[cfg(not(feature = "hydrate"))]
pub struct JsonObject(serde_json::Map<String, serde_json::Value>);

#[cfg(not(feature = "hydrate"))]
impl JsonObject {
    fn parse(bytes: &[u8]) -> Option<Self> {
        match serde_json::from_slice(bytes).ok()? {
            serde_json::Value::Object(map) => Some(JsonObject(map)),
            _ => None,
        }
    }

    pub fn text(&self, name: &str) -> Option<String> {
        self.0.get(name)?.as_str().map(str::to_owned)
    }

    /// A whole number from 0 to 2⁵³ − 1, as in the browser.
    pub fn integer(&self, name: &str) -> Option<u64> {
        self.0
            .get(name)?
            .as_u64()
            .filter(|n| *n <= 9_007_199_254_740_991)
    }

    /// A list whose every element is an object.
    pub fn list(&self, name: &str) -> Option<Vec<JsonObject>> {
        self.0
            .get(name)?
            .as_array()?
            .iter()
            .map(|v| v.as_object().cloned().map(JsonObject))
            .collect()
    }
}
