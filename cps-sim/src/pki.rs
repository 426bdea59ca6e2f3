//! **Stand-in**, replaced by the real `pki.rs` at merge: same public signatures as the
//! test IGC-Santé PKI another engineer is writing, just enough for the virtual card to
//! build and test. Three fixed RSA-2048 keys (generated once with `openssl genpkey`)
//! cycle through the key pool; certificates are signed by the first of them with the
//! subject reduced to `CN=<national id>`. Nothing here is the real test PKI.

use std::time::{Duration, SystemTime};

use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey};
use rsa::{RsaPrivateKey, RsaPublicKey};
use sha2::Sha256;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::der::Encode;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// What a card certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertUsage {
    /// Client authentication (key `CPS_PRIV_AUT`).
    Authentication,
    /// Non-repudiation signature (key `CPS_PRIV_SIG`).
    Signature,
    /// Contactless technical authentication (key `CPS_PRIV_TECH_AUT`).
    Technical,
}

/// A staff card's structure (establishment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Structure {
    /// Structure identifier (certificate `OU`).
    pub id: String,
    /// Structure name (certificate `O`).
    pub name: String,
}

/// Who the card belongs to, as its certificates say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardIdentity {
    /// National identifier (certificate `CN`).
    pub national_id: String,
    /// Given name.
    pub given_name: String,
    /// Surname.
    pub surname: String,
    /// Profession code (TRE_G15).
    pub profession_code: Option<u16>,
    /// Profession label (certificate `title`).
    pub profession_label: String,
    /// Card type: 0 CPS, 1 CPF, 2 CPE, 3 CPA.
    pub card_type: u8,
    /// A test card.
    pub test_card: bool,
    /// The 10-digit card number.
    pub card_number: String,
    /// The structure, for staff cards.
    pub structure: Option<Structure>,
}

/// Why the stand-in PKI failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PkiError {
    /// A fixture key did not parse.
    #[error("stand-in key {index} does not parse")]
    Key {
        /// Pool index.
        index: usize,
        /// The parse error.
        #[source]
        source: rsa::pkcs8::Error,
    },
    /// No such key in the pool.
    #[error("no card key {0} in the pool")]
    NoSuchKey(usize),
    /// Building a certificate failed.
    #[error("cannot build the certificate: {0}")]
    Build(String),
}

/// The stand-in test PKI.
#[derive(Debug)]
pub struct TestPki {
    ca: RsaPrivateKey,
    root: Vec<u8>,
}

/// Keys in the pool.
pub const CARD_KEY_COUNT: usize = 12;

/// The pool's key `index` (the three fixture keys, cycled).
pub fn card_key(index: usize) -> Result<RsaPrivateKey, PkiError> {
    if index >= CARD_KEY_COUNT {
        return Err(PkiError::NoSuchKey(index));
    }
    let pem = STANDIN_KEYS[index % STANDIN_KEYS.len()];
    RsaPrivateKey::from_pkcs8_pem(pem).map_err(|source| PkiError::Key { index, source })
}

impl TestPki {
    /// Loads the stand-in PKI.
    pub fn load() -> Result<TestPki, PkiError> {
        let ca = card_key(0)?;
        let now = SystemTime::now();
        let root = build(
            &ca,
            "CN=STAND-IN ROOT",
            &RsaPublicKey::from(&ca),
            now,
            now + Duration::from_secs(86_400),
            1,
        )?;
        Ok(TestPki { ca, root })
    }

    /// The root certificate (DER).
    pub fn root_certificate(&self) -> &[u8] {
        &self.root
    }

    /// The issuing certificate (DER): the root itself in the stand-in.
    pub fn issuing_certificate(&self) -> &[u8] {
        &self.root
    }

    /// Issues a card certificate.
    pub fn issue(
        &self,
        id: &CardIdentity,
        usage: CertUsage,
        public_key: &RsaPublicKey,
        not_before: SystemTime,
        not_after: SystemTime,
        serial: u64,
    ) -> Result<Vec<u8>, PkiError> {
        let _ = usage;
        let subject = format!("CN={}", id.national_id);
        build(
            &self.ca, &subject, public_key, not_before, not_after, serial,
        )
    }

    /// Issues a CRL: not available in the stand-in.
    pub fn issue_crl(
        &self,
        revoked: &[(u64, SystemTime)],
        this_update: SystemTime,
        next_update: SystemTime,
    ) -> Result<Vec<u8>, PkiError> {
        let _ = (revoked, this_update, next_update);
        Err(PkiError::Build("the stand-in PKI issues no CRL".into()))
    }
}

fn build(
    ca: &RsaPrivateKey,
    subject: &str,
    public_key: &RsaPublicKey,
    not_before: SystemTime,
    not_after: SystemTime,
    serial: u64,
) -> Result<Vec<u8>, PkiError> {
    let fail = |e: &dyn std::fmt::Display| PkiError::Build(e.to_string());
    let signer = SigningKey::<Sha256>::new(ca.clone());
    let subject: Name = subject.parse().map_err(|e| fail(&e))?;
    let spki_der = public_key.to_public_key_der().map_err(|e| fail(&e))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).map_err(|e| fail(&e))?;
    let validity = Validity {
        not_before: Time::try_from(not_before).map_err(|e| fail(&e))?,
        not_after: Time::try_from(not_after).map_err(|e| fail(&e))?,
    };
    let serial = SerialNumber::from(serial);
    let builder = CertificateBuilder::new(Profile::Root, serial, validity, subject, spki, &signer)
        .map_err(|e| fail(&e))?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| fail(&e))?;
    cert.to_der().map_err(|e| fail(&e))
}

const STANDIN_KEYS: [&str; 3] = [STANDIN_KEY_0, STANDIN_KEY_1, STANDIN_KEY_2];

const STANDIN_KEY_0: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEugIBADANBgkqhkiG9w0BAQEFAASCBKQwggSgAgEAAoIBAQDdYlObPYAzl/pZ
r1BO9doJ9Tatljyvd9G04BKa3Bu9bG7C6asjLnSQSavorlFKa+EYr3ETzu4eZhUF
alpdkWMMUA8OIJQd8/MDOWUE6IePyVP0vVOekZuBxEVqVeNy299z55Q3cv3d7oT3
88iDvu2JyYqQNfR7mvn+6US+DETk1j4Kiw57GvR0dV4WeV4q73zgwTjjrl5uKGbB
eyhiXt3YVQKId1uGpb7Fmwmifg73FF/JIiYDOhR9zCoyvEfhRdGkzEe119Z7CZS6
HGyGu8HpfJTZ+BQt+Ipee5LC4b4MqCmHCuof9kCZZ8gB6TDd7fYRc5bWoHjhrUl/
1X9G5vWvAgMBAAECgf8UwSMVaq6aJ6VQwx7ESEgoptR5cZw+1vzR+C/GVNxE5eV8
YGuq4LAM1ttG9RCp6XMw3UG8mam5L9jIqS/PldGzVc4ThPpd1IDzzG2sCCCtWjKE
vzsXoo7xm3TmgybPnc1VEGDU0fL622Gb3T7vGvcp87sJygUhkWXef//x0TSkP0Tt
FUxFYKsBBVTmlrifCoyuGjF2JnW3DBwir3wK5zeGsIS9buHC71GCZiiqv9wZUGNT
7Cjxe4h1ImmlNLJFuD9+b7PbgQIWizLSSlC6sfYiOPY7m1BY8SCJax1v2phTNstE
ew7EE3cte8ekYzaMIkkAEIrmRHjDz5I5jn1rBsECgYEA8g2qj+ubOC/BNBnrZmYm
Tn2If4ai5Gs7AZRwQCSgdvspcrpb5OCtBSNfUL0zVCTISHPAiy1UiwVKKJHrrGhJ
iezEQByQZMUA0sotfBdtwiXOVIR14dWVtuTHDQElDL5BJySJUBCPYU6evt0xpKiE
+pn9acp/nO4fJNfJXcFFhqUCgYEA6iPIxXL1uDKwlX1nVYdSBrGaE1lhph2EmI85
oHmbokjVwI6ffz1CijqUmDDvxxscOydnEZm1yhwODqTiS7SMEBtl7yG+NhAls2AN
euSGoZcNO3ocXYBTGQk4PKIRr2XFvT+Td235vJX+0nhDwjxgGgkQYsN85kXf5Eav
LHV07sMCgYAlkbFzfSIualsWdx9uWVSAwkM5Z/BIe8xAxoVVr1monfsk73/r2mOA
dKkKoxMgcEUV2cF82KBSo5OLEHr/23/uhG1Bdi2DNoCWNwMwS4Khq7SGsbiKQNhn
9sJeZlsVy0HZjXYykx9t/wHspfBamj1pmBUZInEELoFu+n8qqiDccQKBgFAx539x
i6YGfqMFK9KIodi3Fg3QjHioHZVfYR6M6HiiN8xXTVv4cIUF4YVrJYVtzLKaIVxO
6IwMJehwIy5I7bxKlhRc21iLGU6h9JwGD/Li2N5pSbPg0xV9KezimeoYkqzqTKkY
WvRz767JEHRD16qzNhCN4obAohn+99rjdCSfAoGABNR2MIUi6x7shJ+6SC4mG+3s
YX4g9zFGAtgWeZ1LO4V+QTnexcNJf27eaaTLKoKyYUixlsszKP2CPBlaAOVTm6Ce
JlE+cYnCRbxElFBHUZ1qkDLaLG6HxNeo0OkyduqmDSboxFmP5SqBoiIuJGeBivn2
FV8C8QPcFIaLTC8u+9k=
-----END PRIVATE KEY-----
";

const STANDIN_KEY_1: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDCYHtk+VE1gigU
ee25NMSjGwSc0h+pWShULO1AsAM/gVAoeK677I/S0r9mTilXbLtmfxq6HYhN+9qW
zqC1bw2lI8b3OSY1eRL6jVrBdy0Mv2xJ53jIhw0bmh7jAldXD6e/Zk71WjHPc9O7
ukr1oKQ7O9/+bTJiI+cbf5ui5N7EZi/VWlcFW3Zc0Fj6vxCR/DPpPun4bgKf09Tv
jvENc5UvM0fTzfIGuyhsAf4BKptDhom1mcSLVSnb754KVCCZj7V7v7zKfKItmhF0
qPPghutuIS/yAbhD53uy9wdDfI2j57rJZa2gPODl4Fh+UM+5H08AS+BgDgaufBhB
QnOtDzkZAgMBAAECggEAR2ce3QRTByd1ZrQ1lgvi0hHKO3tawyBr1qQcUV93CfyM
QBm5AnKPkL/3LHM475MTMj8tx8GygQcsEKr90Thm2EuQut9lAE6mIKENfjUzuNOW
yX082tj1gTa38uc4w1QOaJqCFdIYqx7e4D66a4mj2tiPW4ysbe3HZ0wUlZ2ikZ1e
O0qDKTUROT/0qQWqjglTCtqlvsEgwcVrw9sVrCZ6SuXd7lcIOmVi/6QWQW1ehDTw
sly2ZX6/m2/cpZTPY9tDQJsi3jUdE3HusjoDNboWE/zPIJT+E6us4tIIEYGsMRJL
aGDCSxdINivbttDpT+UYjorJC8JVteDLCM1I2F1kYwKBgQDikVN/jCkW+4skMucT
ERytMxpZe1s3t5XSZa2wVrVFw0v7h6E6FF+aZtFzPqa/zhWUM7dBHg4G9O9TGeuO
Nf7fxvdSuPViKV7mvUIITvbvwXUCuTQn0Wyd4jWzTY+VWcWtIA2jgmDK+Ydet8Mi
6u5i4aajuVN4soqwVO17su9dTwKBgQDboKCZfikGvV8yH1mU8iDSRF2xU4uFj5UL
yBf9PwBiEaYNPjqhyBfK+5TJYD+D7U9DEOiSYt8NkbrsVQDbVCftYie8FmjMLZtJ
zrrlFbg+hFMIkZ6NGImsWQQIuiQDTa9PpDozHGmosIGDLTLjiJr8/8nLZEe/qDKU
oEVygHT5FwKBgCCFWaXiOXeqDZPZlp9/Ak2+GxcjBLnfqSq1G5RHLefgm4R0OGk8
yWhBP+k54feAHkrSjYhURxEqkTutaclU6Mu4JIIEOHypkYyvN843f2x0qVYFvX3F
qsCS2sBs7qIya5RpGGwS58/at1qaJ/FYJXWeDCxOCrQ1dIDQ//GUgpUzAoGAJqqG
278cVfVtFxPx34kpQhuLKzb8L01x/hsCLjGzTZCx3U8BX44ssi3Mqg9p3z4eYD5P
08XYYzku4YCtn++W//Hx8Ok5FglJd5sPyFkkkM0XGUEZ2tlhE5iwXyD2SiaZILpX
DLyJ1YsNohyJAwn/z17xFf/XqeRg003MLDZ1YY0CgYEArFyafjOD2AIOHhwvRZlc
Mr9deus5Gmwdkp4Bs9zCU880wTrsxW8qQqDnVVKdcog8rGv1QdglDN9Rr5+sdPcF
CcxhiNZzxc856qRU+2NHimidpoADojA4NcJ9ainfeEXtrlI06/oK7upg3jKmcnfd
orUZzyQlel8ADQxSN7xe54Y=
-----END PRIVATE KEY-----
";

const STANDIN_KEY_2: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCqkOmWCgArz+hs
gS9VKX5mFJqEuWSYqVU87xsh1ekV0gWw1n92+6tBEludl0DsFfjoZ9JAAJbMO6Oq
QpfSS4YTphZRXFK6t0qggCMeGTgHyBJiFdbAlEbigUGgcMKc2GKg7La54yzo8wFW
LLYRYhLQeaT5tnAxlnNv/HUgZB12xVa4gzRPi2WyuxXlPDj9QsyryKa6xoLsFteH
9YjmWwUcsKeTQdIz28XBT1mYxWkXwcoNMyg5qWTiMq/EO/YwuU29C/SqCzcA2Bem
u8+otk+1HrfUAGP+eY/yzcrg7AcjnX1P8lekS39FmRrQwL5BkOXQpi5Y0UoAiRQw
ZHo3tlwtAgMBAAECggEAAOPlO2gXDj0VTdDfZGuLq8o41tXMRkMZ/TzgcIaE7/aq
52+f9i9dlAC3YDG8jPVKmYhTL786o9tXoRYCyorw3fQWHG7lxdcBKXT884idQxmI
+Qb7c84otlo6c4H39HW2D0UOnH1CTBjA/ZUADt3eOPhtkA0WKR5+wNg5n0WBsg+j
uAxZUM+19txzn0i1Xpg8xAreU/yauLuxNyfHVf2tLIaGuJAERqlmRH9uFF8u/RaM
7yQHmFNbYzijpsnJwupd7i2wRSGIE2ZWxH+tv+VhS79LhnmMcUUbMEdTCjaTxKr1
fVInkIB9/xgXaCpFZQxNlnjVCjWHLVJHPxki9uh54QKBgQDlZTiuxxuCwQbYpf6T
dbPoe64ck21/qy6cp29PY3wI5fbVVG9wBw5T08iCkUS7glhXRpAstRl7CG1cLNof
Qf4ESQjiso5Fvq+aNrDgeIunm9QuUgO24tJy4BCEkDNuoxeAkc3fS5mkxrlwOdYo
xCVDcJ5i3qUH9hjffaRokl84IQKBgQC+WQpohg9IVv3vO+y9I9zB7MtXLou2ZjS4
bX7IyIDIy5aSrLzf7Vqmzm5rtAsEbC5+MizttJKF6hEDVtaFFtOAbb+Zt5IxVoEg
3cPfTY7D2FWY1fFcrOx8i/AKrMPWBs79sX+aK6v6w10tVcg5ROptvefnI2ER6tAt
rjwmHo4yjQKBgQCNxE6RhS91UUGf5oY8L4Ot67Ggq2QCgJJf8gISeBMRlL1E/deY
zmOGXt4OAyUNFPLvjQZQ+uLybDTZwEZVBv2rPE+nel3+sGfp0F7jetwkC2PH9Juj
DO6uW9cZddyzRUujA3jNxPUBJmc3+iZmL0IwOYtI4vvuvaKFjCptDfiWwQKBgDcW
n+uGOPAPtShCqI5IzcAWHvdZUjf0tndVwSas2JDEUwyaD4OjNuQlxFFJZxLdmEsP
jG8zHmDBUDEuNaGI7KcznAsJ1LaQuYhghiqfUJ0fhA5ahKL0rPCSs2Lzgy3zBH7p
mutsjjZhyhqvw+XHKy2dk3sSgypjUeKWlXPWzgKVAoGAdHnmYOE5jU6pwdoe+YV9
L7hB45R5sJuOciAhDC02EcVGhnaXc/t1zqu9Fim6EFk4z42CzZSeiSHo/fe1RddY
bz0yHIp6FkQv3vK2jCKGGAN/TkFNH8PFgVBk/vaSHk01PxXr+CMcKtq+tReOc9AK
WJsmdJUgg/iGMMAaNkynR2E=
-----END PRIVATE KEY-----
";
