//! Serializer negotiation from the connect request's `vsn` (PROTOCOL.md §2.3).

use embercast_protocol::Serializer;

#[test]
fn missing_vsn_means_v1() {
    assert_eq!(Serializer::from_vsn(None), Ok(Serializer::V1));
}

#[test]
fn major_version_picks_the_serializer() {
    for (vsn, want) in [
        ("1.0.0", Serializer::V1),
        ("1.5.2", Serializer::V1),
        ("1.0.0-beta", Serializer::V1),
        ("2.0.0", Serializer::V2),
        ("2.1.0-rc.1", Serializer::V2),
        ("2.0.0+build.5", Serializer::V2),
        ("2.0.0-rc.1+build-7", Serializer::V2),
        ("2.0.0-x-y.0.a-1", Serializer::V2),
        ("2.10.20", Serializer::V2),
    ] {
        assert_eq!(Serializer::from_vsn(Some(vsn)), Ok(want), "{vsn}");
    }
}

#[test]
fn each_serializer_accepts_its_own_vsn() {
    for ser in [Serializer::V1, Serializer::V2] {
        assert_eq!(Serializer::from_vsn(Some(ser.vsn())), Ok(ser));
    }
}

#[test]
fn unsupported_or_malformed_vsn_is_refused() {
    for vsn in [
        "3.0.0",
        "0.9.0",
        "123.1.1",
        "2",
        "2.0",
        "abc",
        "",
        "2.0.0.0",
        "02.0.0",
        "2.00.0",
        "2.0.01",
        " 2.0.0",
        "2.0.0 ",
        "v2.0.0",
        "2.0.0-",
        "2.0.0+",
        "2.0.0-+",
        "2.0.0-rc..1",
        "2.0.0-rc.",
        "2.0.0-.rc",
        "2.0.0-01",
        "2.0.0-rc.007",
        "2.0.0+b+c",
        "2.0.0+b..c",
        "2.0.0-ré",
        "2.0.0-rc 1",
        "2.-1.0",
        "-2.0.0",
        "+2.0.0",
        "99999999999999999999.0.0",
    ] {
        let err = Serializer::from_vsn(Some(vsn)).expect_err(vsn);
        assert!(err.to_string().contains(&format!("{vsn:?}")), "{err}");
    }
}

#[test]
fn build_metadata_may_have_leading_zeros_and_pre_release_words_may_too() {
    // SemVer forbids leading zeros only in numeric pre-release identifiers.
    for vsn in ["2.0.0+001", "2.0.0-0a", "2.0.0-rc.0", "2.0.0--"] {
        assert_eq!(Serializer::from_vsn(Some(vsn)), Ok(Serializer::V2), "{vsn}");
    }
}
