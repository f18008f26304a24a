//! The one mapping from engine errors to AWS error shapes (STYLE: one mapping per edge).
//! Wire text never leaks internals: `Internal` becomes `InternalFailure` and is logged.

use sesame_awsproto::{ApiError, Service};
use sesame_engine::EngineError;
use sesame_template::TemplateError;

fn internal(service: Service, m: &str) -> ApiError {
    tracing::error!(error = m, "internal error");
    ApiError::internal(service)
}

/// SES v2 (DECISIONS ): model shape names.
pub fn v2(e: EngineError) -> ApiError {
    let s = Service::SesV2;
    match e {
        EngineError::NotFound(m) => ApiError::from_shape(s, "NotFoundException", &m),
        EngineError::AlreadyExists(m) => ApiError::from_shape(s, "AlreadyExistsException", &m),
        EngineError::LimitExceeded(m) => ApiError::from_shape(s, "LimitExceededException", &m),
        EngineError::BadRequest(m) => ApiError::from_shape(s, "BadRequestException", &m),
        EngineError::Conflict(m) => ApiError::from_shape(s, "ConcurrentModificationException", &m),
        // v2 reports every template problem as BadRequestException with the same text.
        EngineError::Template(t) => ApiError::from_shape(s, "BadRequestException", t.to_string()),
        EngineError::Internal(m) => internal(s, &m),
    }
}

/// SES v1: the model's `error.code`; `not_found` names the operation's
/// "does not exist" error shape (e.g. `ConfigurationSetDoesNotExistException`), or `None` when
/// the operation has none (then `InvalidParameterValue`).
pub fn v1(e: EngineError, not_found: Option<&str>) -> ApiError {
    let s = Service::SesV1;
    match e {
        EngineError::NotFound(m) => match not_found {
            Some(shape) => ApiError::from_shape(s, shape, &m),
            None => ApiError::validation(s, &m),
        },
        EngineError::AlreadyExists(m) => ApiError::from_shape(s, "AlreadyExistsException", &m),
        EngineError::LimitExceeded(m) => ApiError::from_shape(s, "LimitExceededException", &m),
        EngineError::BadRequest(m) => ApiError::validation(s, &m),
        EngineError::Conflict(m) => ApiError::new("ConcurrentModification", &m, 400, true),
        EngineError::Template(t) => {
            let shape = match &t {
                TemplateError::InvalidTemplate(_) => "InvalidTemplateException",
                TemplateError::MissingRenderingAttribute(_) => "MissingRenderingAttributeException",
                TemplateError::InvalidRenderingParameter(_) => "InvalidRenderingParameterException",
                TemplateError::TooLarge(m) => return ApiError::validation(s, m),
            };
            ApiError::from_shape(s, shape, t.to_string())
        }
        EngineError::Internal(m) => internal(s, &m),
    }
}
