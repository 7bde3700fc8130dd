//! Serialising LDK objects in one pass.
//!
//! LDK's `Writeable::encode` serialises an object twice: once into a length counter to
//! size the buffer, then for real. For the channel manager both passes hold its
//! `total_consistency_lock` for writing, which stops all message handling, and a busy
//! payer's manager is megabytes (every payment LDK still remembers). Writing straight
//! into a buffer sized from the previous write takes one pass.

use lightning::io;
use lightning::util::ser::Writeable;

/// Room left above the previous size, so a slightly larger object does not reallocate.
const SLACK: usize = 4096;

/// `value` serialised once, after `prefix`, into a buffer with room for `size_hint`
/// bytes (the size of its previous serialisation, or 0).
pub(crate) fn serialise<T: Writeable + ?Sized>(
    value: &T,
    prefix: &[u8],
    size_hint: usize,
) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(prefix.len() + size_hint + size_hint / 8 + SLACK);
    bytes.extend_from_slice(prefix);
    value.write(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lightning::ln::types::ChannelId;

    #[test]
    fn one_pass_gives_the_same_bytes_as_encode() {
        let value = ChannelId([7; 32]);
        assert_eq!(serialise(&value, &[], 0).ok(), Some(value.encode()));
        let prefixed = serialise(&value, b"ab", 1).ok();
        assert_eq!(prefixed, Some([b"ab".as_slice(), &value.encode()].concat()));
    }
}
