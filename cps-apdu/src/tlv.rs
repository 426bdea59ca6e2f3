//! BER-TLV and SIMPLE-TLV decoding (ISO/IEC 7816-4), guarded.
//!
//! Decoding is delegated to `iso7816-tlv`, which recurses once per constructed level and
//! trusts declared lengths. Every input therefore first goes through a hand-written,
//! iterative pre-scan of the headers that enforces [`TlvLimits`] and rejects anything the
//! crate would misread, so that the crate only ever sees small, well-formed input.
//!
//! What the pre-scan accepts, compared with `iso7816-tlv` 0.4:
//! - tags: same rules (first byte not `00`; low five bits all set → more bytes follow
//!   while b8 is set; at most 3 bytes). Tags that are valid BER but not ISO 7816-4
//!   compliant (EMV's `9F1E`) are accepted, as the crate accepts them.
//! - no `00`/`FF` padding is skipped between objects, because the crate skips none:
//!   `00` is a bad tag and `FF` starts a multi-byte tag, in both.
//! - lengths: short form and `81`/`82`/`83` only. Stricter than the crate, which reads
//!   `80` (indefinite) as zero and accepts `84`.
//! - inside a constructed object, lengths must use their shortest form. Stricter than the
//!   crate on purpose: the crate re-derives a parent's size from minimal encodings of its
//!   children, so a padded length (`81 05`) there makes it swallow the bytes that follow.
//! - every value must fit inside its parent (the crate lets children overrun it).
//! - input that would keep the crate busy is refused ([`TlvError::TooComplex`]): its
//!   parser is quadratic in the number of objects a template holds.

use iso7816_tlv::ber::{Tlv, Value};

/// The decoder's types, re-exported so users need no direct dependency on it.
pub use iso7816_tlv::{ber, simple};

/// Constructed levels beyond this are refused whatever the limits say: `iso7816-tlv`
/// recurses once per level, so this bounds its stack use.
const DEPTH_CEILING: usize = 64;

/// Most steps `iso7816-tlv` may spend on one input (see [`TlvError::TooComplex`]): a few
/// tens of milliseconds. Its parser is quadratic in a template's width: 64 KiB of empty
/// objects in one template take it over a second.
const WORK_CEILING: usize = 1 << 22;

/// Bounds applied before any decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlvLimits {
    /// Deepest nesting of constructed objects (a lone top-level template is depth 1).
    /// Values above 64 act as 64.
    pub max_depth: usize,
    /// Largest input accepted, in bytes.
    pub max_len: usize,
}

impl TlvLimits {
    /// Depth 16; 64 KiB, the largest extended-length answer.
    pub const DEFAULT: Self = Self::new(16, 64 * 1024);

    /// Limits with the given depth and total size.
    #[must_use]
    pub const fn new(max_depth: usize, max_len: usize) -> Self {
        Self { max_depth, max_len }
    }
}

impl Default for TlvLimits {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// Why TLV input was rejected. Offsets count bytes from the start of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlvError {
    /// The input is longer than [`TlvLimits::max_len`].
    #[error("tlv input of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Input length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Constructed objects nest deeper than [`TlvLimits::max_depth`].
    #[error("tlv nesting deeper than {max} levels at offset {offset}")]
    TooDeep {
        /// The depth limit in force.
        max: usize,
        /// Start of the first object too deep.
        offset: usize,
    },
    /// Decoding would take `iso7816-tlv` too long: a template holds thousands of objects
    /// (the decoder's work grows with the square of their number).
    #[error("tlv template at offset {offset} holds too many objects to decode")]
    TooComplex {
        /// Start of the template where the work limit was reached.
        offset: usize,
    },
    /// A tag, length or value runs past the end of the input or of its parent.
    #[error("tlv object at offset {offset} runs past the end of its container")]
    Truncated {
        /// Start of the object.
        offset: usize,
    },
    /// Invalid tag (`00`, or longer than 3 bytes; `00`/`FF` at tag position in SIMPLE-TLV).
    #[error("invalid tlv tag at offset {offset}")]
    BadTag {
        /// Start of the tag.
        offset: usize,
    },
    /// Unsupported length form (`80`, `84` and longer) or, inside a template, a length not
    /// in its shortest form.
    #[error("invalid tlv length at offset {offset}")]
    BadLength {
        /// Start of the length field.
        offset: usize,
    },
    /// Bytes follow the single object that was expected.
    #[error("unexpected bytes after the tlv object, at offset {offset}")]
    Trailing {
        /// First byte after the object.
        offset: usize,
    },
    /// `iso7816-tlv` refused input the pre-scan had accepted (not expected to happen).
    ///
    /// Its error is kept as its message: `iso7816_tlv::TlvError` implements
    /// `std::error::Error` only under a `std` feature the crate does not declare, so it
    /// cannot be a `#[source]`, and it is not `Eq`, which this enum is.
    #[error("tlv decoder failed on the object at offset {offset}: {message}")]
    Decoder {
        /// Start of the top-level object being decoded.
        offset: usize,
        /// What `iso7816-tlv` reported.
        message: String,
    },
}

fn decoder_error(offset: usize, err: &iso7816_tlv::TlvError) -> TlvError {
    TlvError::Decoder {
        offset,
        message: err.to_string(),
    }
}

fn check_len(input: &[u8], limits: TlvLimits) -> Result<(), TlvError> {
    if input.len() > limits.max_len {
        return Err(TlvError::TooLarge {
            len: input.len(),
            max: limits.max_len,
        });
    }
    Ok(())
}

/// One BER-TLV header read by the pre-scan.
struct Header {
    value_start: usize,
    value_len: usize,
    constructed: bool,
}

/// Reads the header of the object at `pos`, which must end by `end`.
fn read_header(input: &[u8], pos: usize, end: usize, nested: bool) -> Result<Header, TlvError> {
    let mut bytes = input.get(pos..end).unwrap_or_default().iter().copied();
    let truncated = || TlvError::Truncated { offset: pos };
    let first = bytes.next().ok_or_else(truncated)?;
    if first == 0 {
        return Err(TlvError::BadTag { offset: pos });
    }
    if first & 0x1F == 0x1F {
        // Subsequent tag bytes: b8 set means another one follows; 3 bytes at most.
        let second = bytes.next().ok_or_else(truncated)?;
        if second & 0x80 != 0 && bytes.next().ok_or_else(truncated)? & 0x80 != 0 {
            return Err(TlvError::BadTag { offset: pos });
        }
    }
    let bad_length = TlvError::BadLength {
        offset: end.saturating_sub(bytes.len()),
    };
    let form = bytes.next().ok_or_else(truncated)?;
    let value_len = match form {
        0x00..=0x7F => usize::from(form),
        0x81..=0x83 => {
            let mut len = 0usize;
            for _ in 0..(form & 0x7F) {
                len = (len << 8) | usize::from(bytes.next().ok_or_else(truncated)?);
            }
            let shortest = match form {
                0x81 => len >= 0x80,
                0x82 => len > 0xFF,
                _ => len > 0xFFFF,
            };
            if nested && !shortest {
                return Err(bad_length);
            }
            len
        }
        _ => return Err(bad_length),
    };
    Ok(Header {
        value_start: end.saturating_sub(bytes.len()),
        value_len,
        constructed: first & 0x20 != 0,
    })
}

/// A template being scanned.
struct Open {
    start: usize,
    end: usize,
    /// Objects nested in it so far, at any depth.
    nodes: usize,
}

/// Validates BER-TLV headers in O(n) without recursion; the only allocation is the stack
/// of open templates, bounded by the depth limit. Returns where the scan stopped: the end
/// of the input, or the end of the first object when `first_only`.
fn scan_ber(input: &[u8], limits: TlvLimits, first_only: bool) -> Result<usize, TlvError> {
    check_len(input, limits)?;
    let max_depth = limits.max_depth.min(DEPTH_CEILING);
    // Templates enclosing `pos`, innermost last.
    let mut open: Vec<Open> = Vec::new();
    // iso7816-tlv re-measures a template's whole content after reading each child, so
    // its work is the sum, over every child read, of the objects already in the parent.
    let mut work = 0usize;
    let mut pos = 0;
    let mut done = |open: &mut Vec<Open>, nodes: usize| match open.last_mut() {
        Some(parent) => {
            parent.nodes = parent.nodes.saturating_add(nodes);
            work = work.saturating_add(parent.nodes);
            if work > WORK_CEILING {
                return Err(TlvError::TooComplex {
                    offset: parent.start,
                });
            }
            Ok(())
        }
        None => Ok(()),
    };
    loop {
        while let Some(closed) = open.pop_if(|template| template.end == pos) {
            done(&mut open, closed.nodes.saturating_add(1))?;
        }
        if open.is_empty() && (pos == input.len() || (first_only && pos > 0)) {
            return Ok(pos);
        }
        let end = open.last().map_or(input.len(), |template| template.end);
        let header = read_header(input, pos, end, !open.is_empty())?;
        let value_end = header
            .value_start
            .checked_add(header.value_len)
            .filter(|&value_end| value_end <= end)
            .ok_or(TlvError::Truncated { offset: pos })?;
        if header.constructed {
            if open.len() >= max_depth {
                return Err(TlvError::TooDeep {
                    max: max_depth,
                    offset: pos,
                });
            }
            open.push(Open {
                start: pos,
                end: value_end,
                nodes: 0,
            });
            pos = header.value_start;
        } else {
            done(&mut open, 1)?;
            pos = value_end;
        }
    }
}

/// Parses every top-level BER-TLV object of `input`, which they must fill exactly.
///
/// # Errors
/// Any [`TlvError`]; empty input gives an empty list.
pub fn parse_ber(input: &[u8], limits: TlvLimits) -> Result<Vec<Tlv>, TlvError> {
    scan_ber(input, limits, false)?;
    let mut objects = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let offset = input.len().saturating_sub(rest.len());
        let (object, tail) = Tlv::parse(rest);
        objects.push(object.map_err(|e| decoder_error(offset, &e))?);
        if tail.len() >= rest.len() {
            // Cannot happen after the scan; guards against looping forever.
            return Err(TlvError::Truncated { offset });
        }
        rest = tail;
    }
    Ok(objects)
}

/// Parses exactly one BER-TLV object filling `input`.
///
/// # Errors
/// [`TlvError::Trailing`] when bytes follow the object, [`TlvError::Truncated`] on empty
/// input, or any other [`TlvError`].
pub fn parse_ber_one(input: &[u8], limits: TlvLimits) -> Result<Tlv, TlvError> {
    if input.is_empty() {
        check_len(input, limits)?;
        return Err(TlvError::Truncated { offset: 0 });
    }
    let end = scan_ber(input, limits, true)?;
    if end < input.len() {
        return Err(TlvError::Trailing { offset: end });
    }
    Tlv::from_bytes(input).map_err(|e| decoder_error(0, &e))
}

/// Parses SIMPLE-TLV objects (tag byte not `00`/`FF`; length one byte, or `FF` and two
/// bytes) filling `input` exactly. Only `max_len` applies: SIMPLE-TLV does not nest.
///
/// # Errors
/// Any [`TlvError`]; empty input gives an empty list.
pub fn parse_simple(input: &[u8], limits: TlvLimits) -> Result<Vec<simple::Tlv>, TlvError> {
    check_len(input, limits)?;
    let mut rest = input;
    while let Some((&tag, after_tag)) = rest.split_first() {
        let offset = input.len().saturating_sub(rest.len());
        if tag == 0x00 || tag == 0xFF {
            return Err(TlvError::BadTag { offset });
        }
        let (len, value) = match *after_tag {
            [0xFF, hi, lo, ref value @ ..] => (usize::from(u16::from_be_bytes([hi, lo])), value),
            [len, ref value @ ..] if len != 0xFF => (usize::from(len), value),
            _ => return Err(TlvError::Truncated { offset }),
        };
        rest = value.get(len..).ok_or(TlvError::Truncated { offset })?;
    }
    let mut objects = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let offset = input.len().saturating_sub(rest.len());
        let (object, tail) = simple::Tlv::parse(rest);
        objects.push(object.map_err(|e| decoder_error(offset, &e))?);
        if tail.len() >= rest.len() {
            return Err(TlvError::Truncated { offset });
        }
        rest = tail;
    }
    Ok(objects)
}

/// Appends one BER-TLV object with `tag` (raw bytes) and `value`, the length in its
/// shortest form.
pub fn push_ber(out: &mut Vec<u8>, tag: &[u8], value: &[u8]) {
    out.extend_from_slice(tag);
    push_len(out, value.len());
    out.extend_from_slice(value);
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    match u8::try_from(len) {
        Ok(short) if short < 0x80 => out.push(short),
        _ => {
            let be = len.to_be_bytes();
            let digits = be.get(be.iter().take_while(|&&b| b == 0).count()..);
            let digits = digits.unwrap_or_default();
            out.push(0x80 | digits.len() as u8); // at most 8
            out.extend_from_slice(digits);
        }
    }
}

/// Serializes BER-TLV objects, back to back, with shortest-form lengths, without
/// recursion.
///
/// Use this rather than `ber::Tlv::to_vec`: iso7816-tlv 0.4.4 writes a 127-byte length
/// as `81 7F` while counting it as one byte, so a template holding such a value gets a
/// wrong length.
#[must_use]
pub fn encode_ber(objects: &[Tlv]) -> Vec<u8> {
    let mut out = Vec::new();
    // Templates being written: where their content starts, and their unwritten siblings.
    let mut open = Vec::new();
    let mut current = objects.iter();
    loop {
        if let Some(object) = current.next() {
            out.extend_from_slice(object.tag().to_bytes());
            match object.value() {
                Value::Primitive(bytes) => {
                    push_len(&mut out, bytes.len());
                    out.extend_from_slice(bytes);
                }
                Value::Constructed(children) => {
                    open.push((out.len(), std::mem::replace(&mut current, children.iter())));
                }
            }
        } else if let Some((start, siblings)) = open.pop() {
            // The content is written: insert its length before it.
            let mut len = Vec::new();
            push_len(&mut len, out.len().saturating_sub(start));
            out.splice(start..start, len);
            current = siblings;
        } else {
            return out;
        }
    }
}

/// First object tagged `tag` (raw tag bytes, e.g. `&[0xBF, 0x81, 0x01]`), searched depth
/// first through every template, without recursion.
#[must_use]
pub fn find<'a>(objects: &'a [Tlv], tag: &[u8]) -> Option<&'a Tlv> {
    find_where(objects, tag, |_| true)
}

/// Like [`find`], but only a constructed object (a template) matches.
#[must_use]
pub fn find_constructed<'a>(objects: &'a [Tlv], tag: &[u8]) -> Option<&'a Tlv> {
    find_where(objects, tag, |object| object.value().is_constructed())
}

fn find_where<'a>(
    objects: &'a [Tlv],
    tag: &[u8],
    accept: impl Fn(&Tlv) -> bool,
) -> Option<&'a Tlv> {
    let mut stack = vec![objects.iter()];
    while let Some(level) = stack.last_mut() {
        match level.next() {
            Some(object) => {
                if object.tag().to_bytes() == tag && accept(object) {
                    return Some(object);
                }
                if let Value::Constructed(children) = object.value() {
                    stack.push(children.iter());
                }
            }
            None => {
                stack.pop();
            }
        }
    }
    None
}

/// Follows `path` from the top level: each tag names a direct child of the previous
/// object (the first one with that tag). `None` on an empty path or a missing step.
///
/// `find_path(&objects, &[&[0x70], &[0xBF, 0x81, 0x01], &[0xA0], &[0x9B]])` reaches the
/// tries left in a CPS3 PIN SDO answer.
#[must_use]
pub fn find_path<'a>(objects: &'a [Tlv], path: &[&[u8]]) -> Option<&'a Tlv> {
    let (last, parents) = path.split_last()?;
    let mut level = objects;
    for tag in parents {
        match child(level, tag)?.value() {
            Value::Constructed(children) => level = children,
            Value::Primitive(_) => return None,
        }
    }
    child(level, last)
}

fn child<'a>(level: &'a [Tlv], tag: &[u8]) -> Option<&'a Tlv> {
    level.iter().find(|object| object.tag().to_bytes() == tag)
}

/// The value bytes of a primitive object; `None` for a template.
#[must_use]
pub fn primitive_value(object: &Tlv) -> Option<&[u8]> {
    match object.value() {
        Value::Primitive(bytes) => Some(bytes),
        Value::Constructed(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn h(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).unwrap()
    }

    const PIN_SDO: &str = "70 16 BF 81 01 12 A0 10 9A 01 03 9B 01 03 A1 08 8C 06 F3 00 00 13 FF 00";
    const PUK_SDO: &str =
        "70 1A BF 81 02 16 A0 14 9A 01 0A 9B 01 0A 9D 02 00 64 A1 08 8C 06 F3 FF 00 FF FF 00";

    /// `depth` nested `A0` templates around an empty one, built inside out in O(n).
    fn nested(depth: usize) -> Vec<u8> {
        let mut headers = Vec::with_capacity(depth);
        let mut len = 0;
        for _ in 0..depth {
            let mut header = vec![0xA0];
            push_len(&mut header, len);
            len += header.len();
            headers.push(header);
        }
        headers.into_iter().rev().flatten().collect()
    }

    #[test]
    fn pin_and_puk_answers_parse() {
        fn docp(objects: &[Tlv], sdo: u8, tag: u8) -> Option<&[u8]> {
            let path: [&[u8]; 4] = [&[0x70], &[0xBF, 0x81, sdo], &[0xA0], &[tag]];
            find_path(objects, &path).and_then(primitive_value)
        }
        let pin = parse_ber(&h(PIN_SDO), TlvLimits::default()).unwrap();
        assert_eq!(docp(&pin, 1, 0x9A), Some(&[3][..]));
        assert_eq!(docp(&pin, 1, 0x9B), Some(&[3][..]));
        assert_eq!(docp(&pin, 1, 0x9D), None);
        assert_eq!(encode_ber(&pin), h(PIN_SDO));
        let puk = parse_ber(&h(PUK_SDO), TlvLimits::default()).unwrap();
        assert_eq!(docp(&puk, 2, 0x9A), Some(&[10][..]));
        assert_eq!(docp(&puk, 2, 0x9D), Some(&[0, 100][..]));
        assert_eq!(
            find(&puk, &[0x9B]).and_then(primitive_value),
            Some(&[10][..])
        );
        let rules = find(&puk, &[0x8C]).and_then(primitive_value);
        assert_eq!(rules, Some(&h("F3 FF 00 FF FF 00")[..]));
        // Paths stop at primitives and at missing steps.
        assert!(find_path(&puk, &[&[0x70], &[0x9A]]).is_none());
        assert!(find_path(&puk, &[]).is_none());
        assert_eq!(encode_ber(&puk), h(PUK_SDO));
    }

    #[test]
    fn ef_dir_records_parse() {
        let aid = "E8 28 BD 08 0F 80 25 00 00 01 FF 00";
        let dir = h(&format!(
            "61 32 4F 0D {aid} 20 50 0A {} 51 04 3F 00 00 02 73 0F 4F 0D {aid} 10 \
             61 2F 4F 0D {aid} 10 50 07 {} 51 04 3F 00 00 01 73 0F 4F 0D {aid} 10",
            hex::encode("CPX IAS CL"),
            hex::encode("CPX IAS"),
        ));
        assert_eq!(dir.len(), 101);
        let records = parse_ber(&dir, TlvLimits::default()).unwrap();
        assert_eq!(records.len(), 2);
        let ddo = find_constructed(&records, &[0x73]).unwrap();
        let inner = find(std::slice::from_ref(ddo), &[0x4F]).and_then(primitive_value);
        assert_eq!(inner, Some(&h(&format!("{aid} 10"))[..]));
        assert!(find_constructed(&records, &[0x4F]).is_none());
        let label = find(&records[1..], &[0x50]).and_then(primitive_value);
        assert_eq!(label, Some(&b"CPX IAS"[..]));
        assert_eq!(encode_ber(&records), dir);
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let deep = nested(100_000);
        let roomy = TlvLimits::new(16, usize::MAX);
        let check = move || {
            assert_eq!(
                parse_ber(&deep, roomy),
                Err(TlvError::TooDeep {
                    max: 16,
                    offset: 16 * 5
                })
            );
            assert!(matches!(
                parse_ber_one(&deep, roomy),
                Err(TlvError::TooDeep { .. })
            ));
            // A huge depth limit is capped, so the decoder's recursion stays bounded.
            let huge = TlvLimits::new(usize::MAX, usize::MAX);
            assert!(matches!(
                parse_ber(&deep, huge),
                Err(TlvError::TooDeep { max: 64, .. })
            ));
            assert!(matches!(
                parse_ber(&deep, TlvLimits::default()),
                Err(TlvError::TooLarge { max: 65_536, .. })
            ));
        };
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(check)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn wide_templates_are_refused_before_the_quadratic_decoder() {
        let template = |count: usize, first: &[u8]| {
            let mut content = first.to_vec();
            content.extend([0x80, 0x00].repeat(count));
            let mut out = Vec::new();
            push_ber(&mut out, &[0xA0], &content);
            out
        };
        let limits = TlvLimits::default();
        let too_complex = |bytes: &[u8]| {
            let result = parse_ber(bytes, limits);
            matches!(result, Err(TlvError::TooComplex { .. }))
        };
        assert!(too_complex(&template(32_765, &[])));
        // A big template first gets re-measured after each of the objects that follow.
        let heavy = (0..8).fold(Vec::new(), |inner, _| template(1000, &inner));
        assert!(too_complex(&heavy));
        // Ordinary wide data still decodes.
        let two = template(1000, &template(1000, &[]));
        assert_eq!(parse_ber(&two, limits).map(|o| o.len()), Ok(1));
        assert_eq!(parse_ber(&template(2000, &[]), limits).unwrap().len(), 1);
        // The budget is per input, not per template.
        let many = |n| template(1000, &[]).repeat(n);
        assert_eq!(parse_ber(&many(4), limits).map(|o| o.len()), Ok(4));
        assert!(matches!(
            parse_ber(&many(16), limits),
            Err(TlvError::TooComplex { .. })
        ));
    }

    #[test]
    fn depth_limit_is_exact() {
        let limits = TlvLimits::new(3, 1024);
        assert_eq!(parse_ber(&nested(3), limits).unwrap().len(), 1);
        assert!(matches!(
            parse_ber(&nested(4), limits),
            Err(TlvError::TooDeep { max: 3, .. })
        ));
        // Primitives do not count as a level.
        assert!(parse_ber(&h("A0 06 A0 04 A0 02 80 00"), limits).is_ok());
        let four = parse_ber(&h("A0 06 A0 04 A0 02 A0 00"), limits);
        assert_eq!(four, Err(TlvError::TooDeep { max: 3, offset: 6 }));
        assert!(parse_ber(&h("80 00"), TlvLimits::new(0, 16)).is_ok());
    }

    #[test]
    fn limits_and_malformed_input() {
        let err = |s: &str| parse_ber(&h(s), TlvLimits::default()).unwrap_err();
        let big = vec![0x80; 65_537];
        assert_eq!(
            parse_ber(&big, TlvLimits::default()),
            Err(TlvError::TooLarge {
                len: 65_537,
                max: 65_536
            })
        );
        assert!(matches!(
            parse_simple(&big, TlvLimits::default()),
            Err(TlvError::TooLarge { .. })
        ));
        assert!(matches!(
            parse_ber_one(&[], TlvLimits::new(1, 0)),
            Err(TlvError::Truncated { offset: 0 })
        ));
        // Lying lengths, at the top level and inside a template.
        assert_eq!(err("80 05 01 02"), TlvError::Truncated { offset: 0 });
        assert_eq!(err("80 83 FF FF FF 00"), TlvError::Truncated { offset: 0 });
        assert_eq!(
            err("80 00 A0 03 80 02 00"),
            TlvError::Truncated { offset: 4 }
        );
        assert_eq!(err("A0 02 80 01 AA"), TlvError::Truncated { offset: 2 });
        assert_eq!(err("7F"), TlvError::Truncated { offset: 0 });
        assert_eq!(err("7F 81"), TlvError::Truncated { offset: 0 });
        assert_eq!(err("80 82 01"), TlvError::Truncated { offset: 0 });
        // Tags.
        assert_eq!(err("80 00 00 00"), TlvError::BadTag { offset: 2 });
        assert_eq!(err("7F 81 81 01 00"), TlvError::BadTag { offset: 0 });
        assert!(parse_ber(&h("7F 81 01 00 9F 1E 00 FF 01 00"), TlvLimits::default()).is_ok());
        // Length forms.
        assert_eq!(err("A0 80 00 00"), TlvError::BadLength { offset: 1 });
        assert_eq!(
            err("80 84 00 00 00 01 00"),
            TlvError::BadLength { offset: 1 }
        );
        assert_eq!(err("A0 04 80 81 01 AA"), TlvError::BadLength { offset: 3 });
        let padded_top = parse_ber(&h("80 81 01 AA A0 82 00 02 80 00"), TlvLimits::default());
        assert_eq!(padded_top.unwrap().len(), 2);
        // Exactly one object.
        let one = |s: &str| parse_ber_one(&h(s), TlvLimits::default());
        assert_eq!(one("80 01 AA 00"), Err(TlvError::Trailing { offset: 3 }));
        assert_eq!(one("A0 03 80 01 AA").unwrap().tag().to_bytes(), [0xA0]);
        assert!(matches!(
            one("80 02 AA"),
            Err(TlvError::Truncated { offset: 0 })
        ));
        assert!(err("80 05").to_string().contains("offset 0"));
    }

    /// iso7816-tlv's own `to_vec` mis-sizes templates holding a 127-byte value; ours does not.
    #[test]
    fn encode_ber_fixes_the_127_byte_length() {
        let inner = Tlv::new(
            ber::Tag::try_from(0x80u8).unwrap(),
            Value::Primitive(vec![7; 127]),
        )
        .unwrap();
        let outer = Tlv::new(
            ber::Tag::try_from(0xA0u8).unwrap(),
            Value::Constructed(vec![inner]),
        )
        .unwrap();
        // Theirs declares 129 content bytes but writes 130 (`80 81 7F` + 127).
        let theirs = outer.to_vec();
        assert_eq!(&theirs[..6], [0xA0, 0x81, 0x81, 0x80, 0x81, 0x7F]);
        assert_eq!(theirs.len(), 3 + 130);
        assert!(parse_ber(&theirs, TlvLimits::default()).is_err());
        let ours = encode_ber(std::slice::from_ref(&outer));
        assert_eq!(&ours[..5], [0xA0, 0x81, 0x81, 0x80, 0x7F]);
        assert_eq!(parse_ber_one(&ours, TlvLimits::default()), Ok(outer));
    }

    #[test]
    fn simple_tlv() {
        let parsed = parse_simple(&h("84 01 2C 97 00 9E FF 00 02 AA BB"), TlvLimits::default());
        let parsed = parsed.unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[2].value(), [0xAA, 0xBB]);
        let err = |s: &str| parse_simple(&h(s), TlvLimits::default()).unwrap_err();
        assert_eq!(err("84 01 2C 00 00"), TlvError::BadTag { offset: 3 });
        assert_eq!(err("FF 00"), TlvError::BadTag { offset: 0 });
        assert_eq!(err("84 02 2C"), TlvError::Truncated { offset: 0 });
        assert_eq!(err("84 FF 01"), TlvError::Truncated { offset: 0 });
        assert_eq!(err("84"), TlvError::Truncated { offset: 0 });
        assert_eq!(parse_simple(&[], TlvLimits::default()), Ok(vec![]));
    }

    fn tag_bytes(constructed: bool) -> impl Strategy<Value = Vec<u8>> {
        let cons = if constructed { 0x20 } else { 0 };
        prop_oneof![
            (0u8..4, 0u8..0x1F).prop_filter_map("tag 00", move |(class, n)| {
                let first = class << 6 | cons | n;
                (first != 0).then(|| vec![first])
            }),
            (0u8..4, 0u8..0x80).prop_map(move |(class, b)| vec![class << 6 | cons | 0x1F, b]),
            (0u8..4, 0x80u8..=0xFF, 0u8..0x80).prop_map(move |(class, b, c)| vec![
                class << 6 | cons | 0x1F,
                b,
                c
            ]),
        ]
    }

    fn tlv_tree() -> impl Strategy<Value = Tlv> {
        let tag = |bytes: Vec<u8>| {
            let n = bytes.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
            ber::Tag::try_from(n).unwrap()
        };
        let leaf = (tag_bytes(false), prop::collection::vec(any::<u8>(), 0..300))
            .prop_map(move |(t, v)| Tlv::new(tag(t), Value::Primitive(v)).unwrap());
        leaf.prop_recursive(5, 64, 6, move |inner| {
            (tag_bytes(true), prop::collection::vec(inner, 0..6))
                .prop_map(move |(t, c)| Tlv::new(tag(t), Value::Constructed(c)).unwrap())
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(10_000))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            let limits = TlvLimits::default();
            match parse_ber(&bytes, limits) {
                Ok(objects) => {
                    // What the pre-scan accepts, the decoder accepts, and it re-encodes.
                    prop_assert_eq!(parse_ber(&encode_ber(&objects), limits), Ok(objects.clone()));
                    let _ = (find(&objects, &[0x8C]), find_constructed(&objects, &[0xA0]));
                }
                Err(e) => prop_assert!(!matches!(e, TlvError::Decoder { .. }), "{e}"),
            }
            if let Err(e) = parse_ber_one(&bytes, limits) {
                prop_assert!(!matches!(e, TlvError::Decoder { .. }), "{e}");
            }
            if let Err(e) = parse_simple(&bytes, limits) {
                prop_assert!(!matches!(e, TlvError::Decoder { .. }), "{e}");
            }
        }

        #[test]
        fn ber_round_trip(objects in prop::collection::vec(tlv_tree(), 0..4)) {
            let bytes = encode_ber(&objects);
            prop_assert_eq!(parse_ber(&bytes, TlvLimits::default()), Ok(objects.clone()));
            // iso7816-tlv's own encoder agrees except for its 127-byte length bug.
            let theirs: Vec<u8> = objects.iter().flat_map(Tlv::to_vec).collect();
            if theirs == bytes {
                prop_assert_eq!(parse_ber(&theirs, TlvLimits::default()), Ok(objects));
            }
        }

        /// Near-valid input: one byte of a valid encoding changed, inserted or removed.
        #[test]
        fn mutated_encodings_agree_with_the_decoder(
            objects in prop::collection::vec(tlv_tree(), 1..3),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            how in 0u8..3,
        ) {
            let mut bytes = encode_ber(&objects);
            let i = at.index(bytes.len());
            match how {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
            if let Err(e) = parse_ber(&bytes, TlvLimits::default()) {
                prop_assert!(!matches!(e, TlvError::Decoder { .. }), "{e}");
            }
        }
    }
}
