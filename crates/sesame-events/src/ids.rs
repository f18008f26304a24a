//! `feedbackId` values (Q-146, G-42, G-45).
//!
//! Shape: `<16 lowercase hex>-<uuid v4>-000000`, 60 characters, the same shape as the message
//! ids `sesame-mail` assigns (`0100` + 12 hex digits of milliseconds). Randomness is a
//! parameter (no RNG or clock here), so ids are unguessable when the caller passes 16 bytes
//! from a CSPRNG, and tests can pin them.

/// Length of every SES-shaped id.
pub const ID_LEN: usize = 60;

/// A fresh `feedbackId` for feedback (bounce, complaint) about `message_id`.
///
/// - **Prefix (16 hex).** Reused from `message_id` when that is SES-shaped, exactly as in the
///   seed's identity-notification example (G-61), where `feedbackId` and `messageId` share
///   `00000138111222aa`. The prefix carries the send time, so feedback sorts with its message
///   and no clock read is needed. For a message id of another shape (an inbound id, a foreign
///   id), the prefix is a stable 64-bit FNV-1a hash of `region` and `message_id`: still
///   16 hex digits, still the same for every feedback about that message in that region, and
///   different across regions/deployments (Q-146 "unique per deployment").
/// - **Middle.** A UUID v4 built from `random` (RFC 9562 §5.4 version and variant bits set).
/// - **Suffix.** `-000000`.
pub fn feedback_id(message_id: &str, region: &str, random: [u8; 16]) -> String {
    let prefix = match ses_prefix(message_id) {
        Some(p) => p.to_owned(),
        None => format!(
            "{:016x}",
            fnv1a64(&[region.as_bytes(), b"\0", message_id.as_bytes()])
        ),
    };
    format!("{prefix}-{}-000000", uuid_v4(random))
}

/// The 16-hex time prefix of an SES-shaped id: 16 lowercase hex digits followed by `-`.
fn ses_prefix(id: &str) -> Option<&str> {
    let p = id.get(..16)?;
    let ok = p
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && id.as_bytes().get(16) == Some(&b'-');
    ok.then_some(p)
}

/// RFC 9562 §5.4 UUID v4 text from 16 random bytes.
pub fn uuid_v4(random: [u8; 16]) -> String {
    uuid_text(random, 4)
}

/// RFC 9562 canonical text (`8-4-4-4-12` lower-case hex) of `bytes` with the given version
/// nibble and the `10` variant bits set.
pub fn uuid_text(bytes: [u8; 16], version: u8) -> String {
    let mut r = bytes;
    r[6] = (r[6] & 0x0f) | (version << 4);
    r[8] = (r[8] & 0x3f) | 0x80; // variant 10
    let h: String = r.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// 64-bit FNV-1a over the concatenated parts: a tiny, dependency-free, stable hash. It only
/// needs to spread distinct inputs, not to resist an attacker (the UUID part is the secret).
fn fnv1a64(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in parts.iter().flat_map(|p| p.iter()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &str = "0100018c5a6b7c8d-00000000-0000-4000-8000-000000000000-000000";

    /// `<16 hex>-<uuid v4>-000000`, 60 characters; prefix shared with an SES-shaped
    /// message id (G-61's example pair shares `00000138111222aa`).
    #[test]
    fn feedback_id_table() {
        let table: &[(&str, &str, [u8; 16], &str)] = &[
            (
                MSG,
                "us-east-1",
                [0; 16],
                "0100018c5a6b7c8d-00000000-0000-4000-8000-000000000000-000000",
            ),
            (
                MSG,
                "eu-west-1",
                [0xff; 16],
                "0100018c5a6b7c8d-ffffffff-ffff-4fff-bfff-ffffffffffff-000000",
            ),
            (
                "00000138111222aa-33322211-cccc-cccc-cccc-ddddaaaa0680-000000",
                "us-east-1",
                [0x11; 16],
                "00000138111222aa-11111111-1111-4111-9111-111111111111-000000",
            ),
        ];
        for (msg, region, rnd, want) in table {
            let id = feedback_id(msg, region, *rnd);
            assert_eq!(&id, want);
            assert_eq!(id.len(), ID_LEN);
        }
    }

    /// a message id of another shape still yields a 60-character SES-shaped id whose
    /// prefix is stable per (region, message) and differs across regions.
    #[test]
    fn foreign_message_id_gets_hashed_prefix() {
        let inbound = "0123456789abcdefghijklmnopqrstuv01234567"; // base32hex, Q-146 inbound
        for id in [
            "",
            "x",
            "EXAMPLE7c191be45-e9aedb9a-02f9-4d12-a87d-dd0099a07f8a-000000",
            inbound,
        ] {
            let a = feedback_id(id, "us-east-1", [7; 16]);
            let b = feedback_id(id, "us-east-1", [9; 16]);
            let c = feedback_id(id, "eu-west-1", [7; 16]);
            assert_eq!(a.len(), ID_LEN, "{a}");
            assert!(ses_prefix(&a).is_some(), "{a}");
            assert_eq!(a[..16], b[..16]);
            assert_ne!(a[..16], c[..16]);
            assert!(a.ends_with("-000000"));
        }
    }

    /// Uppercase hex is not SES-shaped (ids are lowercase, Q-146), so it is hashed too.
    #[test]
    fn uppercase_prefix_is_not_reused() {
        let id = feedback_id(&MSG.to_uppercase(), "us-east-1", [0; 16]);
        assert_ne!(&id[..16], &MSG[..16].to_uppercase());
        assert_eq!(id.len(), ID_LEN);
    }
}
