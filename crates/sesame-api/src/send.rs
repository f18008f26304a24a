//! Shared pieces of the send operations: the one mapping from `SendError` to each API's wire
//! error (DECISIONS) and message-tag validation.

use sesame_awsproto::{ApiError, Service};
use sesame_engine::send::SendError;

/// SES v2 errors of `SendEmail` / `SendBulkEmail`.
pub fn v2_error(e: SendError) -> ApiError {
    let s = Service::SesV2;
    match e {
        SendError::Rejected(m) => ApiError::from_shape(s, "MessageRejected", &m),
        SendError::InvalidParameter(m) | SendError::DefaultConfigurationSetMissing(m) => {
            ApiError::from_shape(s, "BadRequestException", &m)
        }
        SendError::Rendering { message, .. } => {
            ApiError::from_shape(s, "BadRequestException", &message)
        }
        SendError::ConfigurationSetDoesNotExist(m)
        | SendError::TemplateDoesNotExist(m)
        | SendError::ContactListDoesNotExist(m) => ApiError::from_shape(s, "NotFoundException", &m),
        SendError::AccountPaused => {
            ApiError::from_shape(s, "SendingPausedException", "Account is paused")
        }
        SendError::ConfigurationSetPaused(_) => ApiError::from_shape(
            s,
            "SendingPausedException",
            "Configuration set sending paused",
        ),
        SendError::MailFromNotVerified(m) => {
            ApiError::from_shape(s, "MailFromDomainNotVerifiedException", &m)
        }
        SendError::DailyQuotaExceeded => {
            ApiError::from_shape(s, "LimitExceededException", "Daily message quota exceeded.")
        }
        SendError::RateExceeded => ApiError::from_shape(
            s,
            "TooManyRequestsException",
            "Maximum sending rate exceeded.",
        ),
        SendError::Internal(m) => {
            tracing::error!(error = %m, "send failed");
            ApiError::internal(s)
        }
    }
}

/// SES v1 errors of the send operations.
pub fn v1_error(e: SendError) -> ApiError {
    let s = Service::SesV1;
    match e {
        SendError::Rejected(m) => ApiError::from_shape(s, "MessageRejected", &m),
        SendError::InvalidParameter(m) => ApiError::validation(s, &m),
        SendError::Rendering { code, message } => ApiError::new(code, message, 400, true),
        SendError::ConfigurationSetDoesNotExist(m)
        | SendError::DefaultConfigurationSetMissing(m) => {
            ApiError::from_shape(s, "ConfigurationSetDoesNotExistException", &m)
        }
        SendError::TemplateDoesNotExist(m) => {
            ApiError::from_shape(s, "TemplateDoesNotExistException", &m)
        }
        // v1 has no NotFound error; the message is refused as SMTP refuses it.
        SendError::ContactListDoesNotExist(m) => ApiError::from_shape(s, "MessageRejected", &m),
        SendError::AccountPaused => {
            ApiError::from_shape(s, "AccountSendingPausedException", "Account is paused")
        }
        SendError::ConfigurationSetPaused(_) => ApiError::from_shape(
            s,
            "ConfigurationSetSendingPausedException",
            "Configuration set sending paused",
        ),
        SendError::MailFromNotVerified(m) => {
            ApiError::from_shape(s, "MailFromDomainNotVerifiedException", &m)
        }
        SendError::DailyQuotaExceeded => {
            ApiError::new("Throttling", "Daily message quota exceeded.", 400, true)
        }
        SendError::RateExceeded => {
            ApiError::new("Throttling", "Maximum sending rate exceeded.", 400, true)
        }
        SendError::Internal(m) => {
            tracing::error!(error = %m, "send failed");
            ApiError::internal(s)
        }
    }
}

/// Per-destination status of bulk sends, v2 spelling; v1 via [`bulk_status_v1`].
pub fn bulk_status_v2(e: &SendError) -> &'static str {
    match e {
        SendError::Rejected(_) | SendError::ContactListDoesNotExist(_) => "MESSAGE_REJECTED",
        SendError::InvalidParameter(_) | SendError::Rendering { .. } => "INVALID_PARAMETER",
        SendError::ConfigurationSetDoesNotExist(_)
        | SendError::DefaultConfigurationSetMissing(_) => "CONFIGURATION_SET_NOT_FOUND",
        SendError::TemplateDoesNotExist(_) => "TEMPLATE_NOT_FOUND",
        SendError::AccountPaused => "ACCOUNT_SENDING_PAUSED",
        SendError::ConfigurationSetPaused(_) => "CONFIGURATION_SET_SENDING_PAUSED",
        SendError::MailFromNotVerified(_) => "MAIL_FROM_DOMAIN_NOT_VERIFIED",
        SendError::DailyQuotaExceeded => "ACCOUNT_DAILY_QUOTA_EXCEEDED",
        SendError::RateExceeded => "ACCOUNT_THROTTLED",
        SendError::Internal(_) => "TRANSIENT_FAILURE",
    }
}

pub fn bulk_status_v1(e: &SendError) -> &'static str {
    match bulk_status_v2(e) {
        "MESSAGE_REJECTED" => "MessageRejected",
        "INVALID_PARAMETER" => "InvalidParameterValue",
        "CONFIGURATION_SET_NOT_FOUND" => "ConfigurationSetDoesNotExist",
        "TEMPLATE_NOT_FOUND" => "TemplateDoesNotExist",
        "ACCOUNT_SENDING_PAUSED" => "AccountSendingPaused",
        "CONFIGURATION_SET_SENDING_PAUSED" => "ConfigurationSetSendingPaused",
        "MAIL_FROM_DOMAIN_NOT_VERIFIED" => "MailFromDomainNotVerified",
        "ACCOUNT_DAILY_QUOTA_EXCEEDED" => "AccountDailyQuotaExceeded",
        "ACCOUNT_THROTTLED" => "AccountThrottled",
        _ => "TransientFailure",
    }
}

/// The message of a per-destination error.
pub fn error_text(e: &SendError) -> String {
    match e {
        SendError::Rejected(m)
        | SendError::InvalidParameter(m)
        | SendError::ConfigurationSetDoesNotExist(m)
        | SendError::DefaultConfigurationSetMissing(m)
        | SendError::MailFromNotVerified(m)
        | SendError::TemplateDoesNotExist(m)
        | SendError::ContactListDoesNotExist(m) => m.clone(),
        SendError::Rendering { message, .. } => message.clone(),
        SendError::AccountPaused => "Account is paused".into(),
        SendError::ConfigurationSetPaused(_) => "Configuration set sending paused".into(),
        SendError::DailyQuotaExceeded => "Daily message quota exceeded.".into(),
        SendError::RateExceeded => "Maximum sending rate exceeded.".into(),
        SendError::Internal(_) => "Temporary service failure".into(),
    }
}

/// message tag names and values are 1–256 characters of `[A-Za-z0-9_-]` (so a name
/// can never collide with the `ses:` auto tags).
pub fn validate_tags(tags: &[(String, String)]) -> Result<(), SendError> {
    let ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 256
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    for (n, v) in tags {
        if !ok(n) || !ok(v) {
            return Err(SendError::InvalidParameter(format!(
                "Invalid message tag {n}={v}: names and values must be 1-256 characters of letters, digits, '_' and '-'."
            )));
        }
    }
    Ok(())
}

/// An identity ARN given on a send (`FromEmailAddressIdentityArn`, `SourceArn`, …): see
/// `sesame_engine::send::check_identity_arn`.
pub use sesame_engine::send::check_identity_arn;
