//! The template errors, with SES's wording in `Display` so the API edge can copy it verbatim.

/// Why a template could not be accepted or rendered.
///
/// Each variant names the SES v1 exception it maps to (`InvalidTemplateException`,
/// `MissingRenderingAttributeException`, `InvalidRenderingParameterException`); SES v2 reports all
/// of them as `BadRequestException` with the same message. `TooLarge` is a model-limit
/// failure: the API edge maps it to `InvalidParameterValue` (v1) / `BadRequestException` (v2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A part does not compile, refers to an unknown partial or helper, or (from
    /// [`crate::validate_name`]) the template name is malformed. The string is the detail.
    /// Our wording: SES's own text for this exception is not in the spec or the models.
    #[error("Template is invalid: {0}")]
    InvalidTemplate(String),
    /// A `{{name}}` outside a condition has no value. The string is the attribute path as written
    /// in the template (`person.name`). Text from spec G-52 / Q-118.
    #[error("Attribute '{0}' is not present in the rendering data.")]
    MissingRenderingAttribute(String),
    /// `TemplateData` is not valid JSON or not a JSON object. The string is the detail.
    /// Our wording: SES's own text is not in the spec or the models.
    #[error("Invalid rendering parameter: {0}")]
    InvalidRenderingParameter(String),
    /// A size limit was exceeded (B-70 template size, Q-120 `TemplateData` length, name length).
    /// The string is the complete message.
    #[error("{0}")]
    TooLarge(String),
}
