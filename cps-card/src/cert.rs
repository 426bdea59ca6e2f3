//! (being written on another branch; this stand-in keeps the crate building)

/// Stand-in.
#[derive(Debug, thiserror::Error)]
#[error("certificate error")]
pub struct CertError;

/// Stand-in.
#[derive(Debug, Clone)]
pub struct Certificate {
    der: Vec<u8>,
}

impl Certificate {
    /// Stand-in.
    pub fn from_der(der: &[u8]) -> Result<Certificate, CertError> {
        x509_parser::parse_x509_certificate(der).map_err(|_| CertError)?;
        Ok(Certificate { der: der.to_vec() })
    }

    /// Stand-in.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
}
