//! Property tests of the mapping:
//!
//! * **round trip**: for random messages of the fixtures (scalars, nesting,
//!   maps, presence, oneofs, enums, well-known types, recursion, empty
//!   messages in every position, wrappers as oneof cases, list elements and
//!   map values, two packages' `Value`s, a package cycle), proto value
//!   → WIT value (wasmtime's `Val`, built by following the map) → proto value
//!   is the identity, back-edges of recursive messages included (they travel
//!   protobuf-encoded);
//! * **names**: kebab-casing either keeps distinct proto names distinct or
//!   the mapping reports the collision;
//! * **determinism**: the same input gives the same bytes.

use std::collections::HashMap;
use std::path::Path;

use proptest::prelude::*;
use prost::Message as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, Kind, MapKey, MessageDescriptor, ReflectMessage, Value,
};
use proto2wit::{Label, Map, Scalar, ValueType};
use wasmtime::component::Val;

const CASES: &[(&str, &str)] = &[
    ("scalars", "scalars.proto"),
    ("nested", "nested.proto"),
    ("oneof", "oneof.proto"),
    ("recursion", "tree.proto"),
    ("well_known", "events.proto"),
    ("vswarm_hotel", "profile.proto"),
    ("empty_messages", "events.proto"),
    ("wrappers_everywhere", "values.proto"),
    ("two_packages", "a.proto"),
    ("package_cycle", "one.proto"),
    ("variant_collision", "jobs.proto"),
];

struct Case {
    pool: DescriptorPool,
    map: Map,
}

fn case(dir: &str, file: &str, open_enums: bool) -> Case {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/cases")
        .join(dir);
    let fds = proto2wit::compile_protos(&[file], &[&root]).unwrap();
    let mut options = proto2wit::Options::default();
    options.open_enums = open_enums;
    let out = proto2wit::generate(&fds, None, &options).unwrap();
    let pool = DescriptorPool::from_file_descriptor_set(fds).unwrap();
    Case { pool, map: out.map }
}

// ---------------------------------------------------------------------------
// proto → WIT, following the map.
// ---------------------------------------------------------------------------

fn enum_val(map: &Map, full: &str, number: i32) -> Val {
    let e = &map.enums[full];
    let case = e.values.iter().find(|v| v.number == number);
    match (case, e.open) {
        (Some(case), false) => Val::Enum(case.wit_name.clone()),
        (Some(case), true) => Val::Variant(case.wit_name.clone(), None),
        (None, true) => Val::Variant(
            proto2wit::UNRECOGNIZED_CASE.to_string(),
            Some(Box::new(Val::S32(number))),
        ),
        (None, false) => panic!("{number} is not a value of {full}"),
    }
}

fn bytes_val(bytes: &[u8]) -> Val {
    Val::List(bytes.iter().map(|&b| Val::U8(b)).collect())
}

fn value_to_val(map: &Map, ty: &ValueType, v: &Value) -> Val {
    match (ty, v) {
        (ValueType::Message(m), Value::Message(msg)) => message_to_val(map, m, msg),
        (ValueType::Encoded(_), Value::Message(msg)) => bytes_val(&msg.encode_to_vec()),
        (ValueType::FieldMask, Value::Message(msg)) => {
            match &*msg.get_field_by_number(1).unwrap() {
                Value::List(paths) => Val::List(
                    paths
                        .iter()
                        .map(|p| Val::String(p.as_str().unwrap().to_string()))
                        .collect(),
                ),
                other => panic!("not paths: {other:?}"),
            }
        }
        (ValueType::Enum(e), Value::EnumNumber(n)) => enum_val(map, e, *n),
        // A wrapper (`google.protobuf.Int32Value`) holds its value in field 1.
        (ValueType::Scalar(s), Value::Message(msg)) => value_to_val(
            map,
            &ValueType::Scalar(*s),
            &msg.get_field_by_number(1).unwrap(),
        ),
        (ValueType::Scalar(_), v) => match v {
            Value::Bool(x) => Val::Bool(*x),
            Value::I32(x) => Val::S32(*x),
            Value::I64(x) => Val::S64(*x),
            Value::U32(x) => Val::U32(*x),
            Value::U64(x) => Val::U64(*x),
            Value::F32(x) => Val::Float32(*x),
            Value::F64(x) => Val::Float64(*x),
            Value::String(x) => Val::String(x.clone()),
            Value::Bytes(x) => bytes_val(x),
            other => panic!("unexpected scalar {other:?}"),
        },
        (ty, v) => panic!("{ty:?} does not hold {v:?}"),
    }
}

fn key_val(k: &MapKey) -> Val {
    match k {
        MapKey::Bool(x) => Val::Bool(*x),
        MapKey::I32(x) => Val::S32(*x),
        MapKey::I64(x) => Val::S64(*x),
        MapKey::U32(x) => Val::U32(*x),
        MapKey::U64(x) => Val::U64(*x),
        MapKey::String(x) => Val::String(x.clone()),
    }
}

fn message_to_val(map: &Map, full: &str, msg: &DynamicMessage) -> Val {
    let m = &map.messages[full];
    if m.is_empty() {
        // `enum <name> { empty }`: the component model has no empty records.
        return Val::Enum(proto2wit::EMPTY_CASE.to_string());
    }
    let mut fields = Vec::new();
    for f in &m.fields {
        let number = u32::try_from(f.number).unwrap();
        let value = msg.get_field_by_number(number).unwrap();
        let val = match &f.label {
            Label::Singular => value_to_val(map, &f.ty, &value),
            Label::Optional => Val::Option(
                msg.has_field_by_number(number)
                    .then(|| Box::new(value_to_val(map, &f.ty, &value))),
            ),
            Label::Repeated => match &*value {
                Value::List(items) => {
                    Val::List(items.iter().map(|v| value_to_val(map, &f.ty, v)).collect())
                }
                other => panic!("not a list: {other:?}"),
            },
            Label::Map { .. } => match &*value {
                Value::Map(entries) => {
                    let mut entries: Vec<(&MapKey, &Value)> = entries.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    Val::List(
                        entries
                            .into_iter()
                            .map(|(k, v)| Val::Tuple(vec![key_val(k), value_to_val(map, &f.ty, v)]))
                            .collect(),
                    )
                }
                other => panic!("not a map: {other:?}"),
            },
        };
        fields.push((f.wit_name.clone(), val));
    }
    for o in &m.oneofs {
        let set = o
            .cases
            .iter()
            .find(|c| msg.has_field_by_number(c.number as u32));
        let val = set.map(|c| {
            let v = msg.get_field_by_number(c.number as u32).unwrap();
            Box::new(Val::Variant(
                c.wit_name.clone(),
                Some(Box::new(value_to_val(map, &c.ty, &v))),
            ))
        });
        fields.push((o.wit_name.clone(), Val::Option(val)));
    }
    Val::Record(fields)
}

// ---------------------------------------------------------------------------
// WIT → proto.
// ---------------------------------------------------------------------------

fn val_bytes(v: &Val) -> Vec<u8> {
    match v {
        Val::List(items) => items
            .iter()
            .map(|b| match b {
                Val::U8(x) => *x,
                other => panic!("not a byte: {other:?}"),
            })
            .collect(),
        other => panic!("not bytes: {other:?}"),
    }
}

fn val_to_value(pool: &DescriptorPool, map: &Map, ty: &ValueType, kind: &Kind, v: &Val) -> Value {
    match (ty, kind) {
        (ValueType::Message(m), _) => Value::Message(val_to_message(pool, map, m, v)),
        (ValueType::FieldMask, Kind::Message(desc)) => {
            let mut msg = DynamicMessage::new(desc.clone());
            let Val::List(paths) = v else {
                panic!("not a list: {v:?}")
            };
            msg.set_field_by_number(
                1,
                Value::List(
                    paths
                        .iter()
                        .map(|p| match p {
                            Val::String(s) => Value::String(s.clone()),
                            other => panic!("not a path: {other:?}"),
                        })
                        .collect(),
                ),
            );
            Value::Message(msg)
        }
        (ValueType::FieldMask, kind) => panic!("a field mask in a {kind:?} field"),
        (ValueType::Encoded(m), _) => {
            let desc = pool.get_message_by_name(m).unwrap();
            Value::Message(DynamicMessage::decode(desc, &val_bytes(v)[..]).unwrap())
        }
        (ValueType::Enum(e), _) => {
            let named = |case: &str| {
                map.enums[e]
                    .values
                    .iter()
                    .find(|x| x.wit_name == case)
                    .unwrap()
                    .number
            };
            Value::EnumNumber(match v {
                Val::Enum(case) => named(case),
                Val::Variant(_, Some(n)) => match **n {
                    Val::S32(n) => n,
                    ref other => panic!("not a number: {other:?}"),
                },
                Val::Variant(case, None) => named(case),
                other => panic!("not an enum: {other:?}"),
            })
        }
        // A wrapper: build the wrapper message around the value.
        (ValueType::Scalar(_), Kind::Message(wrapper)) => {
            let inner = wrapper.get_field(1).unwrap();
            let mut msg = DynamicMessage::new(wrapper.clone());
            msg.set_field(&inner, val_to_value(pool, map, ty, &inner.kind(), v));
            Value::Message(msg)
        }
        (ValueType::Scalar(s), _) => match (s, v) {
            (_, Val::Bool(x)) => Value::Bool(*x),
            (_, Val::S32(x)) => Value::I32(*x),
            (_, Val::S64(x)) => Value::I64(*x),
            (_, Val::U32(x)) => Value::U32(*x),
            (_, Val::U64(x)) => Value::U64(*x),
            (_, Val::Float32(x)) => Value::F32(*x),
            (_, Val::Float64(x)) => Value::F64(*x),
            (_, Val::String(x)) => Value::String(x.clone()),
            (Scalar::Bytes, v) => Value::Bytes(val_bytes(v).into()),
            (s, v) => panic!("{s:?} from {v:?}"),
        },
    }
}

fn val_key(v: &Val) -> MapKey {
    match v {
        Val::Bool(x) => MapKey::Bool(*x),
        Val::S32(x) => MapKey::I32(*x),
        Val::S64(x) => MapKey::I64(*x),
        Val::U32(x) => MapKey::U32(*x),
        Val::U64(x) => MapKey::U64(*x),
        Val::String(x) => MapKey::String(x.clone()),
        other => panic!("not a key: {other:?}"),
    }
}

fn val_to_message(pool: &DescriptorPool, map: &Map, full: &str, v: &Val) -> DynamicMessage {
    let desc = pool.get_message_by_name(full).unwrap();
    let mut msg = DynamicMessage::new(desc.clone());
    if map.messages[full].is_empty() {
        assert_eq!(v, &Val::Enum(proto2wit::EMPTY_CASE.to_string()));
        return msg;
    }
    let Val::Record(fields) = v else {
        panic!("not a record: {v:?}")
    };
    let field = |name: &str| &fields.iter().find(|(n, _)| n == name).unwrap().1;
    let m = &map.messages[full];
    for f in &m.fields {
        let fd = desc.get_field(f.number as u32).unwrap();
        let val = field(&f.wit_name);
        match (&f.label, val) {
            (Label::Singular, v) => {
                msg.set_field(&fd, val_to_value(pool, map, &f.ty, &fd.kind(), v))
            }
            (Label::Optional, Val::Option(Some(v))) => {
                msg.set_field(&fd, val_to_value(pool, map, &f.ty, &fd.kind(), v))
            }
            (Label::Optional, Val::Option(None)) => {}
            (Label::Repeated, Val::List(items)) => msg.set_field(
                &fd,
                Value::List(
                    items
                        .iter()
                        .map(|v| val_to_value(pool, map, &f.ty, &fd.kind(), v))
                        .collect(),
                ),
            ),
            (Label::Map { .. }, Val::List(entries)) => {
                let value_kind = fd
                    .kind()
                    .as_message()
                    .unwrap()
                    .map_entry_value_field()
                    .kind();
                let mut out = HashMap::new();
                for e in entries {
                    let Val::Tuple(kv) = e else {
                        panic!("not a tuple")
                    };
                    out.insert(
                        val_key(&kv[0]),
                        val_to_value(pool, map, &f.ty, &value_kind, &kv[1]),
                    );
                }
                msg.set_field(&fd, Value::Map(out));
            }
            (label, v) => panic!("{label:?} from {v:?}"),
        }
    }
    for o in &m.oneofs {
        if let Val::Option(Some(variant)) = field(&o.wit_name) {
            let Val::Variant(case, Some(payload)) = &**variant else {
                panic!("not a variant: {variant:?}")
            };
            let c = o.cases.iter().find(|c| &c.wit_name == case).unwrap();
            let fd = desc.get_field(c.number as u32).unwrap();
            msg.set_field(&fd, val_to_value(pool, map, &c.ty, &fd.kind(), payload));
        }
    }
    msg
}

// ---------------------------------------------------------------------------
// Random messages.
// ---------------------------------------------------------------------------

thread_local! {
    /// Whether enums are mapped open in the current run: then the generator
    /// also draws numbers no value names.
    static OPEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

fn random_value(rng: &mut Rng, kind: &Kind, depth: u32) -> Value {
    match kind {
        Kind::Double => Value::F64((rng.next() % 10_000) as f64 / 7.0 - 500.0),
        Kind::Float => Value::F32((rng.next() % 10_000) as f32 / 8.0),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(rng.next() as i32),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(rng.next() as i64),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.next() as u32),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.next()),
        Kind::Bool => Value::Bool(rng.next().is_multiple_of(2)),
        Kind::String => Value::String(format!("s{}-µ", rng.below(1000))),
        Kind::Bytes => Value::Bytes((0..rng.below(5)).map(|_| rng.next() as u8).collect()),
        Kind::Enum(e) => {
            let values: Vec<i32> = e.values().map(|v| v.number()).collect();
            if OPEN.with(|o| o.get()) && rng.below(5) == 0 {
                // A number the enum does not name (an open enum keeps it).
                Value::EnumNumber(1000 + rng.below(1000) as i32)
            } else {
                Value::EnumNumber(values[rng.below(values.len() as u64) as usize])
            }
        }
        Kind::Message(m) => Value::Message(random_message(rng, m, depth + 1)),
    }
}

fn random_message(rng: &mut Rng, desc: &MessageDescriptor, depth: u32) -> DynamicMessage {
    let mut msg = DynamicMessage::new(desc.clone());
    if depth > 3 {
        return msg;
    }
    for fd in desc.fields() {
        if let Some(oneof) = fd.containing_oneof()
            && !oneof.is_synthetic()
        {
            // One member of each oneof at most: the first one drawn.
            if oneof.fields().any(|f| msg.has_field(&f)) || rng.below(3) == 0 {
                continue;
            }
        } else if rng.below(4) == 0 {
            continue;
        }
        let value = if fd.is_map() {
            let entry = fd.kind();
            let entry = entry.as_message().unwrap();
            let mut out = HashMap::new();
            for _ in 0..rng.below(3) {
                let Value::String(k) = random_value(rng, &Kind::String, depth) else {
                    unreachable!()
                };
                let key = match entry.map_entry_key_field().kind() {
                    Kind::String => MapKey::String(k),
                    Kind::Bool => MapKey::Bool(rng.below(2) == 0),
                    Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(rng.next() as i32),
                    Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(rng.next() as i64),
                    Kind::Uint32 | Kind::Fixed32 => MapKey::U32(rng.next() as u32),
                    _ => MapKey::U64(rng.next()),
                };
                out.insert(
                    key,
                    random_value(rng, &entry.map_entry_value_field().kind(), depth),
                );
            }
            Value::Map(out)
        } else if fd.is_list() {
            Value::List(
                (0..rng.below(3))
                    .map(|_| random_value(rng, &fd.kind(), depth))
                    .collect(),
            )
        } else {
            random_value(rng, &fd.kind(), depth)
        };
        msg.set_field(&fd, value);
    }
    msg
}

/// Canonical form for comparison: encoded then decoded.
fn canonical(msg: &DynamicMessage) -> DynamicMessage {
    DynamicMessage::decode(msg.descriptor(), &msg.encode_to_vec()[..]).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proto_to_wit_to_proto_is_the_identity(seed in 1u64.., open in any::<bool>()) {
        OPEN.with(|o| o.set(open));
        for (dir, file) in CASES {
            let case = case(dir, file, open);
            for full in case.map.messages.keys() {
                let Some(desc) = case.pool.get_message_by_name(full) else { continue };
                let mut rng = Rng(seed | 1);
                let original = random_message(&mut rng, &desc, 0);
                let val = message_to_val(&case.map, full, &original);
                let back = val_to_message(&case.pool, &case.map, full, &val);
                prop_assert_eq!(canonical(&back), canonical(&original), "{} in {}", full, dir);
            }
        }
    }

    #[test]
    fn names_stay_distinct_or_collide_loudly(a in "[a-zA-Z][a-zA-Z0-9_]{0,12}", b in "[a-zA-Z][a-zA-Z0-9_]{0,12}") {
        prop_assume!(a != b);
        let proto = format!(
            "syntax = \"proto3\";\npackage p;\nmessage M {{ int32 {a} = 1; int32 {b} = 2; }}\nservice S {{ rpc Call(M) returns (M); }}\n"
        );
        let dir = tempdir();
        std::fs::write(dir.join("n.proto"), proto).unwrap();
        let Ok(fds) = proto2wit::compile_protos(&["n.proto"], &[&dir]) else {
            // Not a valid proto (a keyword, say): nothing to map.
            return Ok(());
        };
        match proto2wit::generate(&fds, None, &Default::default()) {
            Ok(out) => {
                let m = &out.map.messages["p.M"];
                prop_assert_ne!(&m.fields[0].wit_name, &m.fields[1].wit_name);
                // Deterministic.
                let again = proto2wit::generate(&fds, None, &Default::default()).unwrap();
                prop_assert_eq!(out.wit, again.wit);
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(
                    msg.contains(&format!("p.M.{a}")) && msg.contains(&format!("p.M.{b}")),
                    "the error names both fields: {}", msg
                );
            }
        }
    }
}

/// A fresh scratch directory.
fn tempdir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "proto2wit-prop-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
