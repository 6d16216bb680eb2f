//! Properties of the encoded body over random forms: exact length, delimiters only where they
//! belong, every part's bytes intact, even when contents embed the form's first boundary.

use multipart_upload::{FilePart, Form};
use proptest::prelude::*;
use std::io::Read;

#[derive(Clone, Debug)]
enum Piece {
    Bytes(Vec<u8>),
    /// Replaced by the form's boundary at the time the part is added.
    Boundary,
}

#[derive(Clone, Debug)]
enum PartSpec {
    Text(String, Vec<Piece>),
    File(String, String, Vec<Piece>),
}

fn pieces() -> impl Strategy<Value = Vec<Piece>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::collection::vec(prop_oneof![Just(b'\r'), Just(b'\n'), Just(b'-'), any::<u8>()], 0..40).prop_map(Piece::Bytes),
            1 => Just(Piece::Boundary),
        ],
        0..6,
    )
}

fn part_spec() -> impl Strategy<Value = PartSpec> {
    prop_oneof![
        (".{0,12}", pieces()).prop_map(|(n, p)| PartSpec::Text(n, p)),
        (".{0,12}", ".{0,12}", pieces()).prop_map(|(n, f, p)| PartSpec::File(n, f, p)),
    ]
}

fn render(pieces: &[Piece], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for p in pieces {
        match p {
            Piece::Bytes(b) => out.extend_from_slice(b),
            Piece::Boundary => out.extend_from_slice(format!("\r\n--{boundary}").as_bytes()),
        }
    }
    out
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn body_has_announced_length_and_intact_parts(specs in prop::collection::vec(part_spec(), 0..6)) {
        let mut form = Form::new();
        let mut contents = Vec::new();
        for spec in &specs {
            let boundary = form.boundary().to_string();
            form = match spec {
                PartSpec::Text(name, p) => {
                    // Text fields are strings: keep the random bytes valid UTF-8.
                    let value = String::from_utf8_lossy(&render(p, &boundary)).into_owned();
                    contents.push(value.clone().into_bytes());
                    form.text(name.clone(), value)
                }
                PartSpec::File(name, filename, p) => {
                    let bytes = render(p, &boundary);
                    contents.push(bytes.clone());
                    form.part(FilePart::from_bytes(name.clone(), filename.clone(), bytes))
                }
            };
        }
        let boundary = form.boundary().to_string();
        let announced = form.content_length();
        let mut body = Vec::new();
        form.into_reader().read_to_end(&mut body).unwrap();

        prop_assert_eq!(body.len() as u64, announced);
        let delimiter = format!("--{boundary}");
        prop_assert_eq!(count(&body, delimiter.as_bytes()), specs.len() + 1);
        let closing = format!("--{boundary}--\r\n");
        prop_assert!(body.ends_with(closing.as_bytes()));
        for content in &contents {
            prop_assert_eq!(count(content, boundary.as_bytes()), 0);
        }

        // Split on the delimiters and compare each part's content after its blank line.
        let sep = format!("\r\n--{boundary}");
        let mut rest = &body[delimiter.len()..];
        for content in &contents {
            let end = rest
                .windows(sep.len())
                .position(|w| w == sep.as_bytes())
                .expect("a delimiter after each part");
            let part = &rest[..end];
            let head_end = part
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .expect("headers end in a blank line");
            prop_assert_eq!(&part[head_end + 4..], &content[..]);
            rest = &rest[end + sep.len()..];
        }
        prop_assert_eq!(rest, b"--\r\n");
    }
}
