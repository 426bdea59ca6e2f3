//! The IAS-ECC file tree, its FCPs, SELECT and READ BINARY.

use cps_apdu::fcp::{Fcp, FileDescriptor, FileKind, LifeCycle, SecurityAttribute};
use cps_apdu::tlv::push_ber;

use super::pkcs15::{self, AID_CONTACT, AID_CONTACTLESS};
use super::{Answer, VirtualCard, sw};
use crate::profile::{Generation, Interface, Profile};

/// Index of a file in [`FileSystem::nodes`]; the MF is 0.
pub(crate) type NodeId = usize;
pub(crate) const MF: NodeId = 0;

/// Who may read an EF over one interface: the last SCB of its compact rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// SCB `00`.
    Always,
    /// SCB `12`: user authentication (the code porteur).
    Pin,
    /// SCB `FF`.
    Never,
}

impl Rule {
    fn scb(self) -> u8 {
        match self {
            Rule::Always => 0x00,
            Rule::Pin => 0x12,
            Rule::Never => 0xFF,
        }
    }
}

#[derive(Debug)]
pub(crate) enum Content {
    Df { aid: Option<Vec<u8>> },
    Ef(Vec<u8>),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) fid: u16,
    pub(crate) parent: Option<NodeId>,
    pub(crate) sfi: Option<u8>,
    /// Read rules: contact (`8C`), contactless (`9C`).
    pub(crate) read: [Rule; 2],
    pub(crate) content: Content,
}

impl Node {
    pub(crate) fn is_df(&self) -> bool {
        matches!(self.content, Content::Df { .. })
    }
}

/// The card's files. Built once; never written (no UPDATE BINARY).
#[derive(Debug)]
pub(crate) struct FileSystem {
    pub(crate) nodes: Vec<Node>,
}

const ALWAYS: [Rule; 2] = [Rule::Always, Rule::Always];
/// Readable over contact only (the AODF: the vendor library's contact/contactless probe).
const CONTACT_ONLY: [Rule; 2] = [Rule::Always, Rule::Never];
/// PIN-protected, and never over the air.
const PRIVATE: [Rule; 2] = [Rule::Pin, Rule::Never];

/// The certificates the file system holds (DER).
pub(crate) struct Certificates<'a> {
    pub(crate) authentication: &'a [u8],
    pub(crate) signature: &'a [u8],
    pub(crate) technical: Option<&'a [u8]>,
}

impl FileSystem {
    /// Only the MF (Vitale and unknown cards).
    pub(crate) fn build_empty() -> Self {
        FileSystem {
            nodes: vec![Node {
                fid: 0x3F00,
                parent: None,
                sfi: None,
                read: ALWAYS,
                content: Content::Df { aid: None },
            }],
        }
    }

    fn add(&mut self, parent: NodeId, fid: u16, content: Content) -> NodeId {
        self.add_with(parent, fid, None, ALWAYS, content)
    }

    fn add_with(
        &mut self,
        parent: NodeId,
        fid: u16,
        sfi: Option<u8>,
        read: [Rule; 2],
        content: Content,
    ) -> NodeId {
        self.nodes.push(Node {
            fid,
            parent: Some(parent),
            sfi,
            read,
            content,
        });
        self.nodes.len().saturating_sub(1)
    }

    /// The file tree of middleware-flows §5 (plus the contactless application when the
    /// profile is contactless).
    pub(crate) fn build(profile: &Profile, certs: &Certificates<'_>) -> Result<Self, String> {
        let mut fs = FileSystem::build_empty();
        let ef = Content::Ef;
        fs.add_with(MF, 0x2F00, Some(0x1E), ALWAYS, ef(pkcs15::ef_dir()));
        fs.add_with(
            MF,
            0x2F01,
            Some(0x1D),
            ALWAYS,
            ef(pkcs15::ef_atr(profile.generation)),
        );
        let sn = pkcs15::ef_sn(&profile.serial).ok_or("the serial is not 8 digits")?;
        fs.add_with(MF, 0xD003, Some(0x1C), ALWAYS, ef(sn));
        if let Some(actua) = &profile.ef_actua {
            fs.add(MF, 0xD010, ef(actua.file_content()?));
        }

        let contact = fs.add(
            MF,
            0x0001,
            Content::Df {
                aid: Some(AID_CONTACT.to_vec()),
            },
        );
        let path = |fid: u16| {
            let [hi, lo] = fid.to_be_bytes();
            [0x3F, 0x00, 0x00, 0x01, hi, lo]
        };
        fs.add(
            contact,
            0x5031,
            ef(pkcs15::odf(
                [0x00, 0x01],
                &[
                    (0xA0, [0x70, 0x02]),
                    (0xA4, [0x70, 0x04]),
                    (0xA7, [0x70, 0x05]),
                    (0xA8, [0x70, 0x01]),
                ],
            )),
        );
        fs.add(
            contact,
            0x5032,
            ef(pkcs15::token_info(
                &profile.token_label(),
                &pkcs15::TOKEN_FLAGS_CONTACT,
            )),
        );
        fs.add_with(
            contact,
            0x7001,
            None,
            CONTACT_ONLY,
            ef(pkcs15::aodf(profile.generation)),
        );
        fs.add(
            contact,
            0x7002,
            ef(pkcs15::prkdf(&[
                pkcs15::PrivateKeyEntry {
                    label: "CPS_PRIV_SIG",
                    id: pkcs15::sign_id(),
                    auth_id: Some(1),
                    usage: &pkcs15::USAGE_NON_REPUDIATION,
                    reference: pkcs15::KEY_SIGN,
                    df: [0x00, 0x01],
                },
                pkcs15::PrivateKeyEntry {
                    label: "CPS_PRIV_AUT",
                    id: pkcs15::auth_id(),
                    auth_id: Some(1),
                    usage: &pkcs15::USAGE_DECRYPT_SIGN,
                    reference: pkcs15::KEY_AUTH,
                    df: [0x00, 0x01],
                },
            ])),
        );
        fs.add(
            contact,
            0x7004,
            ef(pkcs15::cdf(&[
                (
                    "Certificat d'Authentification CPS",
                    pkcs15::auth_id(),
                    path(0xA001),
                ),
                (
                    "Certificat de Signature CPS",
                    pkcs15::sign_id(),
                    path(0xA002),
                ),
            ])),
        );
        fs.add(
            contact,
            0x7005,
            ef(pkcs15::dodf(&[
                pkcs15::DataObjectEntry {
                    label: "CPS_DATA",
                    auth_id: None,
                    file: path(0xD107),
                },
                pkcs15::DataObjectEntry {
                    label: "CPS_NAME_PS",
                    auth_id: None,
                    file: path(0xD101),
                },
                pkcs15::DataObjectEntry {
                    label: "CPS_ACTIVITY_01_PS",
                    auth_id: Some(1),
                    file: path(0xD120),
                },
            ])),
        );
        fs.add(contact, 0xA001, ef(certs.authentication.to_vec()));
        fs.add(contact, 0xA002, ef(certs.signature.to_vec()));
        fs.add(contact, 0xD101, ef(pkcs15::cps_name_ps(profile)));
        fs.add(contact, 0xD107, ef(pkcs15::cps_data(profile)));
        fs.add_with(
            contact,
            0xD120,
            None,
            PRIVATE,
            ef(pkcs15::cps_activity(profile)),
        );

        let contactless = fs.add(
            MF,
            0x0002,
            Content::Df {
                aid: Some(AID_CONTACTLESS.to_vec()),
            },
        );
        // On a contact card the contactless application is an empty DF (middleware-flows
        // §5): OpenSC's probe of `3F00/0002/5031` must fail with `6A 82`.
        if let Some(technical) = certs.technical {
            let path = |fid: u16| {
                let [hi, lo] = fid.to_be_bytes();
                [0x3F, 0x00, 0x00, 0x02, hi, lo]
            };
            fs.add(
                contactless,
                0x5031,
                ef(pkcs15::odf(
                    [0x00, 0x02],
                    &[(0xA0, [0x70, 0x02]), (0xA4, [0x70, 0x04])],
                )),
            );
            fs.add(
                contactless,
                0x5032,
                ef(pkcs15::token_info(
                    &profile.token_label(),
                    &pkcs15::TOKEN_FLAGS_CONTACTLESS,
                )),
            );
            fs.add(
                contactless,
                0x7002,
                ef(pkcs15::prkdf(&[pkcs15::PrivateKeyEntry {
                    label: "CPS_PRIV_TECH_AUT",
                    id: pkcs15::tech_id(),
                    auth_id: None,
                    usage: &pkcs15::USAGE_SIGN,
                    reference: pkcs15::KEY_TECH,
                    df: [0x00, 0x02],
                }])),
            );
            fs.add(
                contactless,
                0x7004,
                ef(pkcs15::cdf(&[(
                    "Certificat Technique CPS",
                    pkcs15::tech_id(),
                    path(0xA003),
                )])),
            );
            fs.add(contactless, 0xA003, ef(technical.to_vec()));
        }
        Ok(fs)
    }

    /// The EF at an absolute path (`3F00` then FID pairs).
    fn ef_at(&mut self, path: &[u8]) -> Option<&mut Vec<u8>> {
        let rel = path.strip_prefix(&[0x3F, 0x00][..]).unwrap_or(path);
        let id = self.walk(MF, rel)?;
        match &mut self.nodes.get_mut(id)?.content {
            Content::Ef(data) => Some(data),
            Content::Df { .. } => None,
        }
    }

    /// Replaces the content of the EF at `path` (hostile cards); `false` if there is
    /// no such EF.
    pub(crate) fn replace_ef(&mut self, path: &[u8], content: Vec<u8>) -> bool {
        self.ef_at(path).map(|data| *data = content).is_some()
    }

    /// The content of the EF at `path`.
    pub(crate) fn ef_content(&mut self, path: &[u8]) -> Option<Vec<u8>> {
        self.ef_at(path).map(|data| data.clone())
    }

    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id)
    }

    fn children(&self, df: NodeId) -> impl Iterator<Item = (NodeId, &Node)> {
        self.nodes
            .iter()
            .enumerate()
            .filter(move |(_, n)| n.parent == Some(df))
    }

    pub(crate) fn child(&self, df: NodeId, fid: u16) -> Option<NodeId> {
        self.children(df)
            .find(|(_, n)| n.fid == fid)
            .map(|(i, _)| i)
    }

    pub(crate) fn by_sfi(&self, df: NodeId, sfi: u8) -> Option<NodeId> {
        self.children(df)
            .find(|(_, n)| n.sfi == Some(sfi) && !n.is_df())
            .map(|(i, _)| i)
    }

    pub(crate) fn by_aid(&self, aid: &[u8]) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| matches!(&n.content, Content::Df { aid: Some(a) } if a == aid))
    }

    /// Follows `path` (FID pairs) from `start`; every step but the last must be a DF.
    fn walk(&self, start: NodeId, path: &[u8]) -> Option<NodeId> {
        let mut current = start;
        for pair in path.chunks_exact(2) {
            if !self.node(current)?.is_df() {
                return None;
            }
            current = self.child(current, u16::from_be_bytes([pair[0], pair[1]]))?;
        }
        Some(current)
    }

    /// The FCP (`62`, SELECT P2 `04`) or FCI (`6F`, CPS4 P2 `00`) of a file.
    pub(crate) fn control_parameters(&self, id: NodeId, fci: bool) -> Vec<u8> {
        let Some(node) = self.node(id) else {
            return Vec::new();
        };
        let rules = |read: [Rule; 2]| {
            [(0x8C, read[0]), (0x9C, read[1])].map(|(tag, rule)| SecurityAttribute {
                template: Some(0xA1),
                tag,
                value: vec![0x7B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, rule.scb()],
            })
        };
        match &node.content {
            Content::Ef(data) => {
                let fcp = Fcp {
                    size: u32::try_from(data.len()).ok(),
                    descriptor: Some(FileDescriptor::new(FileKind::TransparentEf, false)),
                    file_id: Some(node.fid),
                    sfi: node.sfi,
                    life_cycle: Some(LifeCycle::Activated),
                    security: rules(node.read).to_vec(),
                    ..Fcp::default()
                };
                if fci { fcp.encode_fci() } else { fcp.encode() }
            }
            Content::Df { aid } => {
                // No real DF FCP is known: middleware-flows §2.3's layout, which both
                // middlewares parsed (82, 83, 84, 8A, then the access rules).
                let mut inner = Vec::new();
                push_ber(&mut inner, &[0x82], &[0x38]);
                push_ber(&mut inner, &[0x83], &node.fid.to_be_bytes());
                if let Some(aid) = aid {
                    push_ber(&mut inner, &[0x84], aid);
                }
                push_ber(&mut inner, &[0x8A], &[0x05]);
                let mut template = Vec::new();
                for rule in rules(ALWAYS) {
                    push_ber(&mut template, &[rule.tag], &rule.value);
                }
                push_ber(&mut inner, &[0xA1], &template);
                let mut out = Vec::new();
                push_ber(&mut out, &[if fci { 0x6F } else { 0x62 }], &inner);
                out
            }
        }
    }
}

/// What SELECT P2 asks for.
enum Wanted {
    Fcp,
    Fci,
    Nothing,
}

impl VirtualCard {
    /// SELECT (`A4`) on the ISO side, every form of the reference and middleware-flows
    /// §2.2.
    pub(crate) fn select(&mut self, p1: u8, p2: u8, data: &[u8]) -> Answer {
        let cps4 = self.profile.generation == Generation::Cps4;
        if p1 == 0x04 && data == pkcs15::AID_IAS {
            // The IAS root: a fresh application session, no FCI whatever P2 says
            // (as in the real trace). On CPS4 the ChipDoc answers like a DF.
            self.reselect_application();
            return match (cps4, p2) {
                (true, 0x00) => Answer::ok(self.ias_control_parameters(true)),
                (true, 0x04) => Answer::ok(self.ias_control_parameters(false)),
                _ => Answer::ok(Vec::new()),
            };
        }
        let wanted = match p2 {
            0x04 => Wanted::Fcp,
            0x0C => Wanted::Nothing,
            // The CPS3 refuses P2 00 (reference §3); the CPS4 answers an FCI.
            0x00 if cps4 => Wanted::Fci,
            _ => return Answer::sw(sw::WRONG_P1P2),
        };
        let fs = &self.fs;
        let current = self.session.current_df;
        let found = match p1 {
            0x00..=0x02 => {
                let fid = match data {
                    [] if p1 == 0x00 => 0x3F00,
                    [hi, lo] => u16::from_be_bytes([*hi, *lo]),
                    _ => return Answer::sw(sw::LC_INCONSISTENT),
                };
                if fid == 0x3F00 {
                    // Also with P1 02: both middlewares select the MF that way before
                    // PIN commands (middleware-flows §2.2).
                    Some(MF)
                } else {
                    let hit = fs.child(current, fid).filter(|&id| match p1 {
                        0x01 => fs.node(id).is_some_and(Node::is_df),
                        0x02 => fs.node(id).is_some_and(|n| !n.is_df()),
                        _ => true,
                    });
                    match hit {
                        Some(id) => Some(id),
                        // P1 00 also finds the current DF's siblings.
                        None if p1 == 0x00 => fs
                            .node(current)
                            .and_then(|n| n.parent)
                            .and_then(|parent| fs.child(parent, fid)),
                        None => None,
                    }
                }
            }
            0x03 => {
                if !data.is_empty() {
                    return Answer::sw(sw::LC_INCONSISTENT);
                }
                fs.node(current).and_then(|n| n.parent)
            }
            0x04 => {
                if data.is_empty() || data.len() > 16 {
                    return Answer::sw(sw::LC_INCONSISTENT);
                }
                fs.by_aid(data)
            }
            0x08 | 0x09 => {
                if data.is_empty() || !data.len().is_multiple_of(2) {
                    return Answer::sw(sw::LC_INCONSISTENT);
                }
                match data {
                    [0x3F, 0x00, rest @ ..] if p1 == 0x09 => fs.walk(MF, rest),
                    // A path not starting at the MF is only accepted from the MF
                    // (reference §3).
                    _ if p1 == 0x09 && current != MF => None,
                    _ => fs.walk(MF, data),
                }
            }
            _ => return Answer::sw(sw::WRONG_P1P2),
        };
        let Some(id) = found else {
            return Answer::sw(sw::FILE_NOT_FOUND);
        };
        self.make_current(id);
        match wanted {
            Wanted::Fcp => Answer::ok(self.fs.control_parameters(id, false)),
            Wanted::Fci => Answer::ok(self.fs.control_parameters(id, true)),
            Wanted::Nothing => Answer::ok(Vec::new()),
        }
    }

    /// The CPS4 ChipDoc application's own FCP/FCI: the MF's, named by its AID.
    fn ias_control_parameters(&self, fci: bool) -> Vec<u8> {
        let mut inner = Vec::new();
        push_ber(&mut inner, &[0x82], &[0x38]);
        push_ber(&mut inner, &[0x83], &[0x3F, 0x00]);
        push_ber(&mut inner, &[0x84], &pkcs15::AID_IAS);
        push_ber(&mut inner, &[0x8A], &[0x05]);
        let mut out = Vec::new();
        push_ber(&mut out, &[if fci { 0x6F } else { 0x62 }], &inner);
        out
    }

    pub(crate) fn make_current(&mut self, id: NodeId) {
        let Some(node) = self.fs.node(id) else {
            return;
        };
        if node.is_df() {
            self.session.current_df = id;
            self.session.current_ef = None;
        } else {
            self.session.current_df = node.parent.unwrap_or(MF);
            self.session.current_ef = Some(id);
        }
    }

    /// READ BINARY (`B0`): by offset in the current EF, or by SFI (P1 b8 set). Answers
    /// exactly what goes on the wire (Le rules in `read_slice`).
    pub(crate) fn read_binary(&mut self, p1: u8, p2: u8, data: &[u8], le: Option<usize>) -> Answer {
        if !data.is_empty() {
            return Answer::sw(sw::WRONG_LENGTH);
        }
        let (id, offset) = if p1 & 0x80 != 0 {
            if p1 & 0x60 != 0 {
                return Answer::sw(sw::WRONG_P1P2);
            }
            let Some(id) = self.fs.by_sfi(self.session.current_df, p1 & 0x1F) else {
                return Answer::sw(sw::FILE_NOT_FOUND);
            };
            self.make_current(id);
            (id, usize::from(p2))
        } else {
            let Some(id) = self.session.current_ef else {
                return Answer::sw(sw::NO_CURRENT_EF);
            };
            (id, usize::from(u16::from_be_bytes([p1, p2])))
        };
        let Some(node) = self.fs.node(id) else {
            return Answer::sw(sw::NO_CURRENT_EF);
        };
        let Content::Ef(content) = &node.content else {
            return Answer::sw(sw::NO_CURRENT_EF);
        };
        let rule = match self.profile.interface {
            Interface::Contact => node.read[0],
            Interface::Contactless => node.read[1],
        };
        let allowed = match rule {
            Rule::Always => true,
            Rule::Pin => self.session.pin_verified,
            Rule::Never => false,
        };
        if !allowed {
            return Answer::sw(sw::SECURITY_NOT_SATISFIED);
        }
        read_slice(content, offset, le.unwrap_or(256), !self.t0)
    }
}

/// The Le rules of READ BINARY (middleware-flows §2.4), `wildcard`: Le `00` over T=1
/// means "up to 256".
fn read_slice(content: &[u8], offset: usize, le: usize, wildcard: bool) -> Answer {
    let Some(available) = content.len().checked_sub(offset).filter(|&a| a > 0) else {
        return Answer::sw(sw::WRONG_OFFSET);
    };
    let end = offset.saturating_add(le.min(available));
    let slice = content.get(offset..end).unwrap_or_default().to_vec();
    if le <= available || (wildcard && le == 256) {
        Answer::exact(slice, sw::OK)
    } else if offset == 0 {
        // Le larger than a short file read from its start: tell the right Le.
        Answer::exact(Vec::new(), sw::wrong_le(available))
    } else {
        Answer::exact(slice, sw::END_OF_FILE)
    }
}
