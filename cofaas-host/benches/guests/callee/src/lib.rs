//! `callee`: takes a payload and returns its length.

wit_bindgen::generate!({ path: "../wit", world: "callee" });

use exports::bench::edge::callee_api::Guest;

struct Callee;

impl Guest for Callee {
    fn take(payload: Vec<u8>) -> u32 {
        u32::try_from(payload.len()).unwrap_or(u32::MAX)
    }
}

export!(Callee);
