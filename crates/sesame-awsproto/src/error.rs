//! AWS error values and the generic codes of DECISIONS.

use crate::{model::model, Service};

/// An error as the client will see it: wire code, message, HTTP status and who is at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} ({status}): {message}")]
pub struct ApiError {
    /// Wire code: v1 `<Code>` (the model's `error.code` or the shape name), v2 `__type`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
    /// HTTP status code.
    pub status: u16,
    /// `Sender` (true) or `Receiver` (false) in v1 error bodies.
    pub sender_fault: bool,
}

impl ApiError {
    /// An arbitrary error.
    pub fn new(
        code: impl Into<String>,
        message: impl Into<String>,
        status: u16,
        sender_fault: bool,
    ) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault,
        }
    }

    /// The error shape `shape_name` of `service`'s model (Q-10: v1 code = `error.code` when
    /// present, else the shape name; status = `error.httpStatusCode`, else 400).
    pub fn from_shape(service: Service, shape_name: &str, message: impl Into<String>) -> Self {
        let info = model(service)
            .shape(shape_name)
            .and_then(|s| s.error.clone());
        let info = info.unwrap_or_default();
        let code = match (service.is_query(), info.code) {
            (true, Some(code)) => code,
            _ => shape_name.to_string(),
        };
        let sender_fault = info
            .sender_fault
            .unwrap_or(info.http_status_code.unwrap_or(400) < 500);
        Self::new(
            code,
            message,
            info.http_status_code.unwrap_or(400),
            sender_fault,
        )
    }

    /// Generic input validation failure.
    pub fn validation(service: Service, message: impl Into<String>) -> Self {
        let code = match service {
            Service::SesV2 => "BadRequestException",
            Service::SesV1 => "InvalidParameterValue",
            Service::Sns => "InvalidParameter",
        };
        Self::new(code, message, 400, true)
    }

    /// A required parameter is missing (v1 `MissingParameter`, otherwise as [`Self::validation`]).
    pub fn missing_parameter(service: Service, message: impl Into<String>) -> Self {
        match service {
            Service::SesV1 => Self::new("MissingParameter", message, 400, true),
            _ => Self::validation(service, message),
        }
    }

    /// The operation exists in the model but this deployment does not implement it.
    pub fn not_implemented(service: Service, operation: &str) -> Self {
        let code = match service {
            Service::SesV2 => "NotImplementedException",
            _ => "NotImplemented",
        };
        let message =
            format!("Operation {operation} is not implemented by this Sesame deployment yet.");
        Self::new(code, message, 501, false)
    }

    /// Our fault; details belong in the log, not the response.
    pub fn internal(_service: Service) -> Self {
        Self::new("InternalFailure", "An internal error occurred.", 500, false)
    }

    /// No operation by that name (v1/SNS `Action`) or no route matched (v2).
    pub fn unknown_operation(service: Service, operation: &str) -> Self {
        match service {
            Service::SesV2 => {
                Self::new("UnknownOperationException", "Unknown operation", 404, true)
            }
            _ => Self::new(
                "InvalidAction",
                format!("Could not find operation {operation} for version 2010-12-01"),
                400,
                true,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_shape_uses_model_code_and_status() {
        let e = ApiError::from_shape(Service::SesV1, "ConfigurationSetDoesNotExistException", "x");
        assert_eq!(
            (e.code.as_str(), e.status, e.sender_fault),
            ("ConfigurationSetDoesNotExist", 400, true)
        );
        let e = ApiError::from_shape(Service::SesV2, "NotFoundException", "x");
        assert_eq!((e.code.as_str(), e.status), ("NotFoundException", 404));
        let e = ApiError::from_shape(Service::SesV2, "AlreadyExistsException", "x");
        assert_eq!(e.status, 400);
    }

    #[test]
    fn generic_codes() {
        assert_eq!(
            ApiError::validation(Service::SesV1, "m").code,
            "InvalidParameterValue"
        );
        assert_eq!(
            ApiError::missing_parameter(Service::SesV1, "m").code,
            "MissingParameter"
        );
        assert_eq!(
            ApiError::missing_parameter(Service::SesV2, "m").code,
            "BadRequestException"
        );
        let e = ApiError::not_implemented(Service::SesV2, "SendEmail");
        assert_eq!(
            (e.code.as_str(), e.status),
            ("NotImplementedException", 501)
        );
        assert_eq!(
            ApiError::unknown_operation(Service::SesV1, "Nope").message,
            "Could not find operation Nope for version 2010-12-01"
        );
        assert_eq!(ApiError::internal(Service::Sns).status, 500);
    }
}
