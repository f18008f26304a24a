//! VERP (variable envelope return path): every message leaves with the envelope sender
//! `<message_id>@<mail_from_domain>` (DECISIONS Q-67; the custom MAIL FROM domain when verified,
//! Q-99, else `<region>.<service_domain>`), so a DSN or complaint mailed back to that address
//! names the message by its local part. Message ids have the SES shape: 16 lowercase
//! hex digits, a UUID, `-000000`; unguessable, so a VERP address cannot be forged for a
//! message one has not seen.

/// Length of an SES-shaped id.
pub const MESSAGE_ID_LEN: usize = 60;

/// The VERP envelope sender of `message_id` at `domain`.
pub fn address(message_id: &str, domain: &str) -> String {
    format!("{message_id}@{domain}")
}

/// Whether `s` has the SES message-id shape: `<16 hex>-<8>-<4>-<4>-<4>-<12 hex>-<6
/// digits>`, lowercase.
pub fn is_message_id(s: &str) -> bool {
    const GROUPS: [usize; 7] = [16, 8, 4, 4, 4, 12, 6];
    if s.len() != MESSAGE_ID_LEN {
        return false;
    }
    let mut n = 0;
    for (i, group) in s.split('-').enumerate() {
        n += 1;
        let Some(&want) = GROUPS.get(i) else {
            return false;
        };
        let hex = group
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if group.len() != want || !hex {
            return false;
        }
    }
    n == GROUPS.len()
}

/// A VERP address taken apart: the message id (its local part, lower-cased: some MTAs change
/// the case of what they echo) and the domain (lower-cased). `None` when the address has no
/// `@` or its local part is not an SES-shaped message id.
pub fn parse(address: &str) -> Option<(String, String)> {
    let address = address.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = address.rsplit_once('@')?;
    let id = local.to_ascii_lowercase();
    if domain.is_empty() || !is_message_id(&id) {
        return None;
    }
    Some((id, domain.trim_end_matches('.').to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0100019461a1b2c3-9f0e8d7c-6b5a-4493-8e2f-1a2b3c4d5e6f-000000";

    #[test]
    fn message_id_shape_table() {
        for (s, ok) in [
            (ID, true),
            (
                "0100019461a1b2c3-9f0e8d7c-6b5a-4493-8e2f-1a2b3c4d5e6f-00000",
                false,
            ),
            (
                "0100019461A1B2C3-9f0e8d7c-6b5a-4493-8e2f-1a2b3c4d5e6f-000000",
                false,
            ),
            (
                "0100019461a1b2c3-9f0e8d7c-6b5a-4493-8e2f1-a2b3c4d5e6f-000000",
                false,
            ),
            (
                "0100019461a1b2c3-9f0e8d7c-6b5a-4493-8e2f-1a2b3c4d5e6g-000000",
                false,
            ),
            (
                "0100019461a1b2c3-9f0e8d7c-6b5a-4493-8e2f-1a2b3c4d5e6f-000000-",
                false,
            ),
            ("", false),
            ("postmaster", false),
        ] {
            assert_eq!(is_message_id(s), ok, "{s}");
        }
        // Whatever the pipeline generates is accepted.
        let generated = crate::message::new_message_id(1_736_848_800_000, [0xab; 16]);
        assert!(is_message_id(&generated), "{generated}");
    }

    #[test]
    fn parse_table() {
        let dom = "us-east-1.sesame.test".to_string();
        for (input, want) in [
            (
                format!("{ID}@us-east-1.sesame.test"),
                Some((ID.to_string(), dom.clone())),
            ),
            (
                format!("<{}@US-East-1.Sesame.Test.>", ID.to_uppercase()),
                Some((ID.to_string(), dom.clone())),
            ),
            (format!("{ID}@"), None),
            ("postmaster@us-east-1.sesame.test".to_string(), None),
            (format!("x{ID}@us-east-1.sesame.test"), None),
            (ID.to_string(), None),
        ] {
            assert_eq!(parse(&input), want, "{input}");
        }
        assert_eq!(
            parse(&address(ID, "bounce.example.com")),
            Some((ID.to_string(), "bounce.example.com".to_string()))
        );
    }
}
