//! Response bodies as they come off the wire: identity or gzip, decoded
//! chunk by chunk as they arrive (flate2's streaming decoder), with the wire
//! bytes and the decoded bytes counted apart. Pure logic, no I/O: the client
//! pushes the chunks it reads.
//!
//! Why by hand rather than reqwest's `gzip` feature: reqwest decodes out of
//! sight, so the bytes that crossed the network could not be counted, and it
//! passes an encoding it did not ask for through as if it were the body.
//! Here the client asks for exactly [`ACCEPT_ENCODING`] and refuses any other
//! `Content-Encoding` with a typed error. Only gzip: Dataverse answers it,
//! it takes JSON pages to about a fifth, and br/zstd would add a codec on
//! both sides for a few percent more (docs/sync.md).

use std::io::Write;

use flate2::write::GzDecoder;

use crate::status::ResponseProblem;

/// What every request asks for.
pub const ACCEPT_ENCODING: &str = "gzip";

/// A decoded body larger than this is refused (a page of 5,000 wide rows is
/// a few MB; a gzip bomb would be gigabytes).
pub const MAX_DECODED_BYTES: usize = 512 * 1024 * 1024;

/// Why a body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub problem: ResponseProblem,
    pub detail: String,
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

/// A body being received.
pub struct BodyDecoder {
    inner: Inner,
    wire_bytes: u64,
}

enum Inner {
    Identity(Vec<u8>),
    Gzip(Box<GzDecoder<Capped>>),
}

/// A Vec that refuses to grow past `MAX_DECODED_BYTES`.
struct Capped(Vec<u8>);

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0.len() + buf.len() > MAX_DECODED_BYTES {
            return Err(std::io::Error::other("decoded body too large"));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl BodyDecoder {
    /// For the response's `Content-Encoding` header (None: not sent).
    /// Anything but identity or gzip is refused: the client never asked
    /// for it and cannot read it.
    pub fn new(content_encoding: Option<&str>, size_hint: usize) -> Result<Self, DecodeError> {
        let enc = content_encoding.unwrap_or("").trim();
        let inner = if enc.is_empty() || enc.eq_ignore_ascii_case("identity") {
            Inner::Identity(Vec::with_capacity(size_hint.min(MAX_DECODED_BYTES)))
        } else if enc.eq_ignore_ascii_case("gzip") || enc.eq_ignore_ascii_case("x-gzip") {
            Inner::Gzip(Box::new(GzDecoder::new(Capped(Vec::with_capacity(
                size_hint.saturating_mul(4).min(MAX_DECODED_BYTES),
            )))))
        } else {
            return Err(DecodeError {
                problem: ResponseProblem::Unexpected,
                detail: format!(
                    "the answer is encoded as {:?}, which was not asked for (Accept-Encoding: {ACCEPT_ENCODING})",
                    truncate(enc, 40)
                ),
            });
        };
        Ok(BodyDecoder {
            inner,
            wire_bytes: 0,
        })
    }

    /// One chunk as received.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), DecodeError> {
        self.wire_bytes += chunk.len() as u64;
        match &mut self.inner {
            Inner::Identity(v) => {
                if v.len() + chunk.len() > MAX_DECODED_BYTES {
                    return Err(too_large());
                }
                v.extend_from_slice(chunk);
                Ok(())
            }
            Inner::Gzip(d) => d.write_all(chunk).map_err(|e| {
                if d.get_ref().0.len() + chunk.len() > MAX_DECODED_BYTES {
                    too_large()
                } else {
                    DecodeError {
                        problem: ResponseProblem::Malformed,
                        detail: format!("the gzip body does not decode: {e}"),
                    }
                }
            }),
        }
    }

    /// Bytes received so far, as they crossed the network.
    pub fn wire_bytes(&self) -> u64 {
        self.wire_bytes
    }

    /// The whole decoded body. A gzip stream that stops before its trailer
    /// (cut by a proxy, complete as HTTP) is `Truncated`.
    pub fn finish(self) -> Result<Vec<u8>, DecodeError> {
        match self.inner {
            Inner::Identity(v) => Ok(v),
            Inner::Gzip(mut d) => match d.try_finish() {
                Ok(()) => Ok(std::mem::take(&mut d.get_mut().0)),
                Err(e) => Err(DecodeError {
                    problem: ResponseProblem::Truncated,
                    detail: format!("the gzip body ends before its end ({e})"),
                }),
            },
        }
    }
}

fn too_large() -> DecodeError {
    DecodeError {
        problem: ResponseProblem::Malformed,
        detail: format!("the decoded body is larger than {MAX_DECODED_BYTES} bytes"),
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode(enc: Option<&str>, body: &[u8], chunk: usize) -> Result<(Vec<u8>, u64), DecodeError> {
        let mut d = BodyDecoder::new(enc, 0)?;
        for c in body.chunks(chunk.max(1)) {
            d.push(c)?;
        }
        let wire = d.wire_bytes();
        Ok((d.finish()?, wire))
    }

    #[test]
    fn identity_and_gzip_in_any_chunking() {
        let json = br#"{"value":[{"name":"a"},{"name":"b"}]}"#.repeat(200);
        let (out, wire) = decode(None, &json, 7).unwrap();
        assert_eq!((out.as_slice(), wire), (json.as_slice(), json.len() as u64));
        let (out, _) = decode(Some("identity"), &json, 1000).unwrap();
        assert_eq!(out, json);
        let z = gzip(&json);
        assert!(z.len() * 5 < json.len(), "JSON compresses");
        for chunk in [1, 13, 4096, z.len()] {
            let (out, wire) = decode(Some("GZIP"), &z, chunk).unwrap();
            assert_eq!(out, json, "chunk {chunk}");
            assert_eq!(wire, z.len() as u64, "wire bytes are the compressed bytes");
        }
    }

    #[test]
    fn a_cut_gzip_body_is_truncated() {
        let json = br#"{"value":[{"name":"a"}]}"#.repeat(500);
        let z = gzip(&json);
        for cut in [1, 10, z.len() / 2, z.len() - 1] {
            let e = decode(Some("gzip"), &z[..cut], 64).unwrap_err();
            assert_eq!(e.problem, ResponseProblem::Truncated, "cut at {cut}: {e}");
        }
    }

    #[test]
    fn garbage_under_gzip_is_malformed() {
        let e = decode(Some("gzip"), b"this is not gzip at all", 4).unwrap_err();
        assert_ne!(e.problem, ResponseProblem::Unexpected);
    }

    #[test]
    fn encodings_not_asked_for_are_refused() {
        for enc in ["br", "zstd", "deflate", "compress", "gzip, br"] {
            let e = BodyDecoder::new(Some(enc), 0).err().expect(enc);
            assert_eq!(e.problem, ResponseProblem::Unexpected, "{enc}");
            assert!(e.detail.contains("not asked for"), "{enc}: {e}");
        }
    }
}
