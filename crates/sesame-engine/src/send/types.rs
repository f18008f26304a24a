//! Inputs and outcomes of the send pipeline, independent of any wire protocol.

/// Which surface a send came from: it decides size limits, error vocabulary and the
/// `ses:operation` auto-tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Surface {
    V1,
    V2,
    Smtp,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Destination {
    pub to: Vec<String>,
    pub cc: Vec<String>,
    pub bcc: Vec<String>,
}

impl Destination {
    pub fn all(&self) -> Vec<String> {
        self.to
            .iter()
            .chain(&self.cc)
            .chain(&self.bcc)
            .cloned()
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.to.is_empty() && self.cc.is_empty() && self.bcc.is_empty()
    }
}

/// Why a send was refused. Texts are SES's (spec H, DECISIONS Q-20..Q-22, Q-6, Q-244).
#[derive(Clone, Debug, PartialEq)]
pub enum SendError {
    /// `MessageRejected` (content rules, not-verified identities, sandbox).
    Rejected(String),
    /// Parameter problems: v1 `InvalidParameterValue`, v2 `BadRequestException`.
    InvalidParameter(String),
    /// The named configuration set does not exist (v1 `ConfigurationSetDoesNotExist`, v2
    /// `NotFoundException`).
    ConfigurationSetDoesNotExist(String),
    /// An identity's default set was deleted (Q-127: v2 `BadRequestException`, v1
    /// `ConfigurationSetDoesNotExist`).
    DefaultConfigurationSetMissing(String),
    /// `Account is paused` (v1 `AccountSendingPausedException`, v2 `SendingPausedException`).
    AccountPaused,
    /// `Configuration set sending paused` (v1 `ConfigurationSetSendingPausedException`,
    /// v2 `SendingPausedException`).
    ConfigurationSetPaused(String),
    /// `Mail FROM domain is not verified` with `REJECT_MESSAGE`.
    MailFromNotVerified(String),
    /// Template missing (v1 `TemplateDoesNotExist`, v2 `NotFoundException`).
    TemplateDoesNotExist(String),
    /// The contact list (or its topic) named by `ListManagementOptions` or
    /// `X-SES-LIST-MANAGEMENT-OPTIONS` does not exist (Q-199: v2 `NotFoundException`, SMTP
    /// `554 Message rejected`, v1 `MessageRejected`).
    ContactListDoesNotExist(String),
    /// Template rendering failed synchronously (v1 `MissingRenderingAttribute` /
    /// `InvalidRenderingParameter`, v2 `BadRequestException`).
    Rendering { code: &'static str, message: String },
    /// `Daily message quota exceeded.`.
    DailyQuotaExceeded,
    /// `Maximum sending rate exceeded.`.
    RateExceeded,
    /// Storage or another internal failure.
    Internal(String),
}

impl From<crate::EngineError> for SendError {
    fn from(e: crate::EngineError) -> Self {
        match e {
            crate::EngineError::BadRequest(m) => SendError::InvalidParameter(m),
            crate::EngineError::NotFound(m) => SendError::InvalidParameter(m),
            other => SendError::Internal(other.to_string()),
        }
    }
}
