//! `caller`: passes one payload to `callee`'s `take` `n` times, so the host
//! entry is paid once per `n` inter-function calls.

wit_bindgen::generate!({ path: "../wit", world: "caller" });

use bench::edge::callee_api;
use exports::bench::edge::caller_api::Guest;

struct Caller;

impl Guest for Caller {
    fn call_n(len: u32, n: u32) -> u64 {
        let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
        (0..n).map(|_| u64::from(callee_api::take(&payload))).sum()
    }
}

export!(Caller);
