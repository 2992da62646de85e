//! `c`: calls `d` and reports its count.

wit_bindgen::generate!({ path: "../wit", world: "c" });

use exports::test::diamond::c_api::Guest;
use test::diamond::d_api;

struct C;

impl Guest for C {
    fn via_c() -> String {
        format!("c:d{}", d_api::hit("c"))
    }
}

export!(C);
