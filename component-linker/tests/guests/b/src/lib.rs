//! `b`: calls `d` and reports its count.

wit_bindgen::generate!({ path: "../wit", world: "b" });

use exports::test::diamond::b_api::Guest;
use test::diamond::d_api;

struct B;

impl Guest for B {
    fn via_b() -> String {
        format!("b:d{}", d_api::hit("b"))
    }
}

export!(B);
