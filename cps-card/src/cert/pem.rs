//! PEM armour for certificates (RFC 7468), written for the few forms certificate files take.
//!
//! x509-parser only decodes PEM, does not check that `END` matches `BEGIN` and rejects
//! indented base64; this scanner is lenient on whitespace and strict on structure.

use super::CertError;

/// Labels that carry a bare DER certificate.
const CERT_LABELS: &[&str] = &["CERTIFICATE", "X509 CERTIFICATE"];

/// The DER of every certificate block in `text`, in order. Other blocks (keys, CRLs) are
/// skipped; text around blocks is ignored.
pub(crate) fn certificate_ders(text: &str) -> Result<Vec<Vec<u8>>, CertError> {
    let mut ders = Vec::new();
    let mut other_labels = Vec::new();
    let mut rest = text;
    let mut block = 0;
    while let Some(start) = rest.find("-----BEGIN ") {
        block += 1;
        let after_begin = &rest[start + "-----BEGIN ".len()..];
        let Some(label_end) = after_begin.find("-----") else {
            return Err(CertError::BadPem {
                block,
                reason: "unterminated BEGIN line",
            });
        };
        let label = &after_begin[..label_end];
        if label.contains('\n') {
            return Err(CertError::BadPem {
                block,
                reason: "unterminated BEGIN line",
            });
        }
        let body_and_rest = &after_begin[label_end + "-----".len()..];
        let end_marker = format!("-----END {label}-----");
        let Some(body_len) = body_and_rest.find(&end_marker) else {
            return Err(CertError::BadPem {
                block,
                reason: "no matching END line",
            });
        };
        let body = &body_and_rest[..body_len];
        rest = &body_and_rest[body_len + end_marker.len()..];
        if !CERT_LABELS.contains(&label) {
            other_labels.push(label.to_owned());
            continue;
        }
        if body.contains(':') {
            // RFC 1421 headers (Proc-Type, DEK-Info) mean encrypted content, never a
            // certificate.
            return Err(CertError::BadPem {
                block,
                reason: "unexpected headers inside a certificate block",
            });
        }
        let b64: Vec<u8> = body.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        let der = data_encoding::BASE64
            .decode(&b64)
            .map_err(|source| CertError::Base64 { block, source })?;
        ders.push(der);
    }
    if ders.is_empty() {
        return Err(CertError::NoPemCertificate { other_labels });
    }
    Ok(ders)
}

/// `-----BEGIN CERTIFICATE-----`, base64 in 64-column lines, `-----END CERTIFICATE-----`,
/// each line ending in `\n`.
pub(crate) fn encode(der: &[u8]) -> String {
    let b64 = data_encoding::BASE64.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 60);
    out.push_str("-----BEGIN CERTIFICATE-----\n");
    // Base64 output is ASCII, so byte chunks are char boundaries.
    for line in b64.as_bytes().chunks(64) {
        out.extend(line.iter().map(|&b| char::from(b)));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// Whether `bytes` look like PEM text rather than DER: DER certificates start with a
/// SEQUENCE tag, PEM files with text (perhaps a BOM or `Bag Attributes` lines) and a
/// `-----BEGIN ` line somewhere.
pub(crate) fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.first() != Some(&0x30) && bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_wraps_at_64() {
        let pem = encode(&[0u8; 100]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 64);
        assert_eq!(lines[3].len(), 136 - 128);
        assert_eq!(lines[4], "-----END CERTIFICATE-----");
        assert!(pem.ends_with('\n'));
    }

    #[test]
    fn lenient_whitespace_strict_structure() {
        let text = "junk\r\n-----BEGIN CERTIFICATE-----\r\n  AAEC\r\n AwQ=\r\n-----END CERTIFICATE-----\r\n\
                    -----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n";
        assert_eq!(certificate_ders(text).ok(), Some(vec![vec![0, 1, 2, 3, 4]]));
        let mismatched = "-----BEGIN CERTIFICATE-----\nAA==\n-----END X509 CRL-----\n";
        assert!(matches!(
            certificate_ders(mismatched),
            Err(CertError::BadPem { block: 1, .. })
        ));
        let key_only = "-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n";
        match certificate_ders(key_only) {
            Err(CertError::NoPemCertificate { other_labels }) => {
                assert_eq!(other_labels, ["PRIVATE KEY"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let bad = "-----BEGIN CERTIFICATE-----\nA*==\n-----END CERTIFICATE-----\n";
        assert!(matches!(
            certificate_ders(bad),
            Err(CertError::Base64 { block: 1, .. })
        ));
    }

    #[test]
    fn pem_detection() {
        assert!(looks_like_pem(b"\xEF\xBB\xBF-----BEGIN CERTIFICATE-----"));
        assert!(!looks_like_pem(b"\x30\x82-----BEGIN "));
        assert!(!looks_like_pem(b"hello"));
    }
}
