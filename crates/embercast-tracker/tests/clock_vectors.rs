//! Golden cases for the clock utilities, compaction and delta contiguity from the
//! shared spec's `tracker_clock.json` (PROTOCOL.md §10.5, §10.7, §10.9).
//!
//! The file is copied under `tests/vectors/` so a clean clone runs it; when the
//! shared spec directory sits beside the repository its copy is checked too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use embercast_tracker::clock::{append_clock, dominates, dominates_or_equal, lowerbound, upperbound};
use embercast_tracker::{compact, Clock, Clouds, Delta, Dot, ReplicaRef};
use serde_json::{json, Value};

const FILE: &str = "tracker_clock.json";

fn vector_files() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![manifest.join("tests/vectors").join(FILE)];
    let shared = manifest.join("../../../shared/vectors").join(FILE);
    if shared.is_file() {
        if std::fs::read(&files[0]).ok() != std::fs::read(&shared).ok() {
            eprintln!("note: tests/vectors/{FILE} differs from {}; refresh the copy", shared.display());
        }
        files.push(shared);
    }
    files
}

fn each_vector_file(mut check: impl FnMut(&Value)) {
    for path in vector_files() {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        check(&serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing {}: {e}", path.display())));
    }
}

/// A clock keyed by the vector's replica letters.
fn letters(v: &Value) -> BTreeMap<String, u64> {
    v.as_object().unwrap().iter().map(|(k, n)| (k.clone(), n.as_u64().unwrap())).collect()
}

/// The vectors' letter `x` as a replica.
fn replica(letter: &str) -> ReplicaRef {
    ReplicaRef::new(letter, 1)
}

fn clock(v: &Value) -> Clock {
    letters(v).into_iter().map(|(k, n)| (replica(&k), n)).collect()
}

fn cases<'a>(root: &'a Value, name: &str) -> &'a [Value] {
    let cases = root[name].as_array().unwrap_or_else(|| panic!("no {name} cases"));
    assert!(!cases.is_empty(), "{name} has no case");
    cases
}

#[test]
fn dominates_cases() {
    each_vector_file(|root| {
        for case in cases(root, "dominates") {
            let got = dominates(&letters(&case["c1"]), &letters(&case["c2"]));
            assert_eq!(got, case["expect"].as_bool().unwrap(), "{case}");
        }
    });
}

#[test]
fn dominates_or_equal_cases() {
    each_vector_file(|root| {
        for case in cases(root, "dominates_or_equal") {
            let got = dominates_or_equal(&letters(&case["c1"]), &letters(&case["c2"]));
            assert_eq!(got, case["expect"].as_bool().unwrap(), "{case}");
        }
    });
}

#[test]
fn upperbound_and_lowerbound_cases() {
    each_vector_file(|root| {
        for case in cases(root, "upperbound") {
            assert_eq!(upperbound(&letters(&case["c1"]), &letters(&case["c2"])), letters(&case["expect"]), "{case}");
        }
        for case in cases(root, "lowerbound") {
            assert_eq!(lowerbound(&letters(&case["c1"]), &letters(&case["c2"])), letters(&case["expect"]), "{case}");
        }
    });
}

#[test]
fn append_clock_cases() {
    each_vector_file(|root| {
        for case in cases(root, "append_clock") {
            let entry = |v: &Value| (v[0].as_str().unwrap().to_owned(), letters(&v[1]));
            let set: Vec<_> = case["set"].as_array().unwrap().iter().map(entry).collect();
            let out = append_clock(set, entry(&case["add"]));
            let mut got: Vec<String> = out.into_iter().map(|(r, _)| r).collect();
            got.sort();
            let expect: Vec<String> =
                case["expect_replicas_sorted"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().into()).collect();
            assert_eq!(got, expect, "{case}");
        }
    });
}

#[test]
fn compact_cases() {
    each_vector_file(|root| {
        for case in cases(root, "compact") {
            let mut context = clock(&case["context"]);
            let mut clouds = Clouds::new();
            for (letter, counters) in case["clouds"].as_object().unwrap() {
                for c in counters.as_array().unwrap() {
                    clouds.insert(Dot::new(replica(letter), c.as_u64().unwrap()));
                }
            }
            compact(&mut context, &mut clouds);
            assert_eq!(context, clock(&case["expect_context"]), "{case}");
            // The vectors list emptied clouds as `[]`; an empty cloud is simply absent here.
            for (letter, counters) in case["expect_clouds"].as_object().unwrap() {
                let want: BTreeSet<u64> = counters.as_array().unwrap().iter().map(|c| c.as_u64().unwrap()).collect();
                let got = clouds.get(&replica(letter)).cloned().unwrap_or_default();
                assert_eq!(got, want, "{case}");
            }
        }
    });
}

/// An empty delta with the given range, built through its wire form (ranges
/// are not settable otherwise).
fn delta_with_range(range: &Value) -> Delta {
    let pairs = |v: &Value| -> Value {
        Value::Array(clock(v).into_iter().map(|(r, n)| json!([{"name": r.name(), "vsn": r.vsn()}, n])).collect())
    };
    let wire = json!({
        "replica": {"name": "a", "vsn": 1},
        "values": [],
        "clouds": [],
        "start": pairs(&range[0]),
        "end": pairs(&range[1]),
    });
    serde_json::from_value(wire).unwrap()
}

#[test]
fn merge_deltas_contiguity_cases() {
    each_vector_file(|root| {
        for case in cases(root, "merge_deltas_contiguity") {
            let a = delta_with_range(&case["a_range"]);
            let b = delta_with_range(&case["b_range"]);
            let merged = a.merge(&b);
            assert_eq!(merged.is_ok(), case["contiguous"].as_bool().unwrap(), "{case}");
            if let Ok(merged) = merged {
                let range = &case["merged_range"];
                assert_eq!((merged.start(), merged.end()), (&clock(&range[0]), &clock(&range[1])), "{case}");
            }
        }
    });
}
