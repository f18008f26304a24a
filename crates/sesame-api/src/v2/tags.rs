//! SES v2 `TagResource`, `UntagResource`, `ListTagsForResource` (DECISIONS ).

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;

use super::{from_wire_tags, SesV2};
use crate::error::v2 as err;
use crate::RequestCtx;

pub(super) async fn tag(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::TagResourceRequest,
) -> Result<w::TagResourceResponse, ApiError> {
    let key = api
        .engine
        .resource_for_arn(&ctx.scope, &i.resource_arn)
        .map_err(err)?;
    let tags = from_wire_tags(Some(i.tags)).map_err(err)?;
    api.engine
        .change_tags(&key, &tags, &[])
        .await
        .map_err(err)?;
    Ok(w::TagResourceResponse {})
}

pub(super) async fn untag(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::UntagResourceRequest,
) -> Result<w::UntagResourceResponse, ApiError> {
    let key = api
        .engine
        .resource_for_arn(&ctx.scope, &i.resource_arn)
        .map_err(err)?;
    api.engine
        .change_tags(&key, &[], &i.tag_keys)
        .await
        .map_err(err)?;
    Ok(w::UntagResourceResponse {})
}

pub(super) async fn list(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListTagsForResourceRequest,
) -> Result<w::ListTagsForResourceResponse, ApiError> {
    let key = api
        .engine
        .resource_for_arn(&ctx.scope, &i.resource_arn)
        .map_err(err)?;
    let tags = api.engine.list_tags(&key).await.map_err(err)?;
    Ok(w::ListTagsForResourceResponse {
        tags: tags
            .into_iter()
            .map(|t| w::Tag {
                key: t.key,
                value: t.value,
            })
            .collect(),
    })
}
