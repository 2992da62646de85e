//! `d`: counts the calls it gets, in a global counter.

use std::sync::atomic::{AtomicU32, Ordering};

wit_bindgen::generate!({ path: "../wit", world: "d" });

use exports::test::diamond::d_api::Guest;

/// Calls so far, over all callers.
static HITS: AtomicU32 = AtomicU32::new(0);

struct D;

impl Guest for D {
    fn hit(caller: String) -> u32 {
        // Only `b` and `c` call `d`; anything else means a miswired string.
        assert!(
            caller == "b" || caller == "c",
            "unexpected caller `{caller}`"
        );
        HITS.fetch_add(1, Ordering::Relaxed) + 1
    }
}

export!(D);
