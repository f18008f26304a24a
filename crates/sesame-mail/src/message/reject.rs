//! Why a message is refused, in SES's words (DECISIONS Q-21), and which wire error carries it.
//!
//! The API edge (`sesame-api/src/error.rs`) and the SMTP edge (`sesame-smtp/src/reply.rs`) turn a
//! [`Rejection`] into their own shapes; this crate only says which class it belongs to.

/// The class of wire error a rejection maps to.
///
/// - `MessageRejected`: content problems — v1 and v2 `MessageRejected`, SMTP `554 Message
///   rejected: <text>`.
/// - `InvalidParameterValue`: parameter problems — v1 `InvalidParameterValue`, v2
///   `BadRequestException`, SMTP `554`/`553`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WireError {
    MessageRejected,
    InvalidParameterValue,
}

/// A message that the service refuses. `Display` is the exact error message text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// B-52 / A-43: more than 500 MIME parts. Text chosen (the seed gives none, Y-6).
    #[error(
        "Message has {count} MIME parts; a message cannot contain more than {max} MIME parts."
    )]
    TooManyMimeParts { count: usize, max: usize },
    /// B-60 / Q-114: a single-occurrence header appears twice. Text as observed from SES
    /// (`Duplicate header 'DKIM-Signature'.`). Note: real SES sends it as
    /// `InvalidParameterValue`; Q-21 decides `MessageRejected`, which [`Rejection::wire_error`]
    /// follows.
    #[error("Duplicate header '{name}'.")]
    DuplicateHeader { name: String },
    /// B-67 / Q-115: an attachment's file name ends in a blocked extension. Text chosen
    /// (Y-6); it names the file as the brief requires.
    #[error("Attachment '{file_name}' has an unsupported file type '.{extension}'.")]
    BlockedAttachment {
        file_name: String,
        extension: String,
    },
    /// message larger than the operation's limit. Text as observed from SES v1
    /// (`Message length is more than 10485760 bytes long: '<n>'.`).
    #[error("Message length is more than {max} bytes long: '{size}'.")]
    MessageTooLong { size: usize, max: usize },
    /// B-65: a v2 custom header may not set a service-defined header.
    #[error("Custom header '{name}' is not allowed: the service sets this header itself.")]
    ForbiddenHeader { name: String },
    /// Q-18 / model `MessageHeaderList` (max 15).
    #[error("Too many custom headers: {count}. A message can contain no more than {max} headers.")]
    TooManyHeaders { count: usize, max: usize },
    /// Model `MessageHeaderName`: 1–126 printable ASCII characters except colon.
    #[error("Invalid header name '{name}'.")]
    InvalidHeaderName { name: String },
    /// Model `MessageHeaderValue`: 1–995 printable ASCII characters.
    #[error("Invalid value for header '{name}'.")]
    InvalidHeaderValue { name: String },
    /// A-92 / B-49: RFC 5322 requires a From field; SES reports it by name.
    #[error("Missing required header '{name}'.")]
    MissingHeader { name: String },
    /// B-49/B-50: the bytes are not a header section, blank line and body.
    #[error("Illegal message: {reason}.")]
    Malformed { reason: String },
}

impl Rejection {
    /// The wire error class: MIME-part count, duplicate header and blocked attachment
    /// are content rejections; size, custom headers and malformed input are parameter errors.
    pub fn wire_error(&self) -> WireError {
        match self {
            Rejection::TooManyMimeParts { .. }
            | Rejection::DuplicateHeader { .. }
            | Rejection::BlockedAttachment { .. } => WireError::MessageRejected,
            Rejection::MessageTooLong { .. }
            | Rejection::ForbiddenHeader { .. }
            | Rejection::TooManyHeaders { .. }
            | Rejection::InvalidHeaderName { .. }
            | Rejection::InvalidHeaderValue { .. }
            | Rejection::MissingHeader { .. }
            | Rejection::Malformed { .. } => WireError::InvalidParameterValue,
        }
    }

    /// The RFC 3463 enhanced status code for the SMTP reply (Q-137 table): `5.6.1` for a blocked
    /// attachment, `5.3.4` for oversize, `5.6.0` for the other content problems.
    pub fn smtp_enhanced_status(&self) -> &'static str {
        match self {
            Rejection::BlockedAttachment { .. } => "5.6.1",
            Rejection::MessageTooLong { .. } => "5.3.4",
            _ => "5.6.0",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// the exact texts and the wire class of each rejection.
    #[test]
    fn texts_and_wire_classes() {
        use WireError::*;
        let table = [
            (
                Rejection::TooManyMimeParts {
                    count: 501,
                    max: 500,
                },
                "Message has 501 MIME parts; a message cannot contain more than 500 MIME parts.",
                MessageRejected,
            ),
            (
                Rejection::DuplicateHeader {
                    name: "Subject".into(),
                },
                "Duplicate header 'Subject'.",
                MessageRejected,
            ),
            (
                Rejection::BlockedAttachment {
                    file_name: "a.EXE".into(),
                    extension: "exe".into(),
                },
                "Attachment 'a.EXE' has an unsupported file type '.exe'.",
                MessageRejected,
            ),
            (
                Rejection::MessageTooLong {
                    size: 10485761,
                    max: 10485760,
                },
                "Message length is more than 10485760 bytes long: '10485761'.",
                InvalidParameterValue,
            ),
            (
                Rejection::MissingHeader {
                    name: "From".into(),
                },
                "Missing required header 'From'.",
                InvalidParameterValue,
            ),
        ];
        for (r, text, wire) in table {
            assert_eq!(r.to_string(), text);
            assert_eq!(r.wire_error(), wire, "{r:?}");
        }
    }
}
