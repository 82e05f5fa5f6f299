//! Who else an access control list lets read a file: POSIX ACLs, as Linux hands them out in the
//! `system.posix_acl_access` extended attribute (Samba keeps share permissions there too). The
//! mode bits alone miss a file that is 0600 but shared with named users or groups.

/// What a file's access ACL grants beyond its owner.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AclAccess {
    /// The owning group may read (its entry, limited by the mask).
    pub group: bool,
    /// Named users and groups that may read (their entries, limited by the mask).
    pub named_readers: u32,
    /// Everyone may read.
    pub other: bool,
}

/// Entry tags (linux/posix_acl.h).
const USER_OBJ: u16 = 0x01;
const USER: u16 = 0x02;
const GROUP_OBJ: u16 = 0x04;
const GROUP: u16 = 0x08;
const MASK: u16 = 0x10;
const OTHER: u16 = 0x20;
/// The read permission bit of an entry.
const READ: u16 = 0x04;
/// The only xattr format version (linux/posix_acl_xattr.h).
const VERSION: u32 = 2;

/// Parse the xattr form: a little-endian u32 version, then 8-byte entries (u16 tag, u16
/// permissions, u32 id). `None` for anything else.
pub fn parse(x: &[u8]) -> Option<AclAccess> {
    let (version, entries) = x.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*version) != VERSION || !entries.len().is_multiple_of(8) {
        return None;
    }
    let (mut group, mut named, mut other, mut mask) = (false, 0u32, false, true);
    for e in entries.chunks_exact(8) {
        let tag = u16::from_le_bytes([e[0], e[1]]);
        let read = u16::from_le_bytes([e[2], e[3]]) & READ != 0;
        match tag {
            USER_OBJ => {}
            USER | GROUP => named += u32::from(read),
            GROUP_OBJ => group = read,
            MASK => mask = read,
            OTHER => other = read,
            _ => return None,
        }
    }
    // The mask limits the owning group and the named entries (not the owner, not everyone): a
    // named reader behind a mask without read cannot read. Without a mask nothing is limited.
    Some(AclAccess {
        group: group && mask,
        named_readers: if mask { named } else { 0 },
        other,
    })
}

/// The access ACL of an open file; `None` when it has none (or the file system keeps none).
#[cfg(target_os = "linux")]
pub fn of_file(file: &std::fs::File) -> Option<AclAccess> {
    let mut buf = [0u8; 4096];
    let n = rustix::fs::fgetxattr(file, "system.posix_acl_access", &mut buf[..]).ok()?;
    parse(buf.get(..n)?)
}

/// The access ACL of an open file (none known on this platform).
#[cfg(not(target_os = "linux"))]
pub fn of_file(_file: &std::fs::File) -> Option<AclAccess> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut x = VERSION.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            x.extend_from_slice(&tag.to_le_bytes());
            x.extend_from_slice(&perm.to_le_bytes());
            x.extend_from_slice(&id.to_le_bytes());
        }
        x
    }

    #[test]
    fn named_readers_count_through_the_mask() {
        // user::rw- user:alice:r-- user:bob:--- group::r-- group:staff:r-- mask::r-- other::---
        let x = acl(&[
            (USER_OBJ, 6, u32::MAX),
            (USER, 4, 1001),
            (USER, 0, 1002),
            (GROUP_OBJ, 4, u32::MAX),
            (GROUP, 4, 100),
            (MASK, 4, u32::MAX),
            (OTHER, 0, u32::MAX),
        ]);
        assert_eq!(
            parse(&x),
            Some(AclAccess {
                group: true,
                named_readers: 2,
                other: false
            })
        );
        // The same entries behind a mask without read: nobody but the owner (and other).
        let x = acl(&[
            (USER_OBJ, 6, u32::MAX),
            (USER, 4, 1001),
            (GROUP_OBJ, 4, u32::MAX),
            (MASK, 2, u32::MAX),
            (OTHER, 4, u32::MAX),
        ]);
        assert_eq!(
            parse(&x),
            Some(AclAccess {
                group: false,
                named_readers: 0,
                other: true
            })
        );
    }

    #[test]
    fn other_forms_are_refused() {
        assert_eq!(parse(b""), None);
        assert_eq!(parse(&[1, 0, 0, 0]), None);
        let mut x = acl(&[(USER_OBJ, 6, 0)]);
        x.push(0);
        assert_eq!(parse(&x), None);
        assert_eq!(parse(&acl(&[(0x40, 4, 0)])), None);
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_without_panic(x in proptest::collection::vec(proptest::num::u8::ANY, 0..80)) {
            let _ = parse(&x);
        }
    }
}
