//! `a`: the entry. Calls `b` and `c` and reports what they return.

wit_bindgen::generate!({ path: "../wit", world: "a" });

use exports::test::diamond::a_api::Guest;
use test::diamond::{b_api, c_api};

struct A;

impl Guest for A {
    fn run() -> String {
        format!("a[{},{}]", b_api::via_b(), c_api::via_c())
    }
}

export!(A);
