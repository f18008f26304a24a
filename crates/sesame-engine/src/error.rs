//! The engine's error vocabulary; each edge maps it to its protocol (v1, v2, SMTP, CLI).

use sesame_model::StoreError;

#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// The named resource does not exist (v2 `NotFoundException`; v1 per operation).
    #[error("{0}")]
    NotFound(String),
    /// Create of an existing resource (v2 `AlreadyExistsException`, v1 `AlreadyExists`).
    #[error("{0}")]
    AlreadyExists(String),
    /// A per-account limit was reached (v2 `LimitExceededException`, v1 `LimitExceeded`).
    #[error("{0}")]
    LimitExceeded(String),
    /// Input breaks a rule (v2 `BadRequestException`, v1 `InvalidParameterValue`).
    #[error("{0}")]
    BadRequest(String),
    /// Another writer changed the resource first (v2 `ConcurrentModificationException`).
    #[error("{0}")]
    Conflict(String),
    /// A template failed validation or rendering (v1 `InvalidTemplate`,
    /// `MissingRenderingAttribute`, `InvalidRenderingParameter` or `InvalidParameterValue`; v2
    /// `BadRequestException` with the same text, Q-118).
    #[error("{0}")]
    Template(sesame_template::TemplateError),
    /// Storage or another internal failure; never shown verbatim on the wire.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::AlreadyExists => {
                EngineError::AlreadyExists("Resource already exists.".into())
            }
            StoreError::NotFound => EngineError::NotFound("Resource not found.".into()),
            StoreError::Conflict => EngineError::Conflict(
                "The resource is being modified by another operation or thread.".into(),
            ),
            StoreError::Backend(m) => EngineError::Internal(m),
        }
    }
}
