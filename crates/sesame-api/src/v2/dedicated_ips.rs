//! SES v2 dedicated IPs, pools and warm-up (spec F-54..F-64, F-24; DECISIONS Q-130..Q-133):
//! `CreateDedicatedIpPool`, `GetDedicatedIpPool`, `ListDedicatedIpPools`,
//! `DeleteDedicatedIpPool`, `PutDedicatedIpPoolScalingAttributes`, `GetDedicatedIp`,
//! `GetDedicatedIps`, `PutDedicatedIpInPool`, `PutDedicatedIpWarmupAttributes`,
//! `PutAccountDedicatedIpWarmupAttributes`. The rules live in `sesame_engine::dedicated_ips`.

use sesame_awsproto::generated::sesv2 as w;
use sesame_awsproto::ApiError;
use sesame_engine::dedicated_ips::IpState;
use sesame_engine::{now_ms, EngineError};

use super::{from_wire_tags, SesV2};
use crate::error::v2 as err;
use crate::RequestCtx;

type R<T> = Result<T, ApiError>;

/// Largest `PageSize`, also the default (the model gives none; as `ListConfigurationSets`).
const MAX_PAGE_SIZE: i64 = 1000;

fn page_size(size: Option<i64>) -> R<usize> {
    let size = size.unwrap_or(MAX_PAGE_SIZE);
    if !(0..=MAX_PAGE_SIZE).contains(&size) {
        return Err(err(EngineError::BadRequest(format!(
            "PageSize must be between 0 and {MAX_PAGE_SIZE}."
        ))));
    }
    Ok(size.max(1) as usize)
}

fn to_wire(s: &IpState, now: i64) -> w::DedicatedIp {
    let (status, percentage, pool) = s.wire_at(now);
    w::DedicatedIp {
        ip: s.ip.to_string(),
        warmup_status: status.as_str().to_string(),
        warmup_percentage: percentage,
        pool_name: Some(pool),
    }
}

pub(super) async fn create_pool(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::CreateDedicatedIpPoolRequest,
) -> R<w::CreateDedicatedIpPoolResponse> {
    let tags = from_wire_tags(i.tags).map_err(err)?;
    api.engine
        .create_dedicated_ip_pool(&ctx.scope, &i.pool_name, i.scaling_mode.as_deref(), tags)
        .await
        .map_err(err)?;
    Ok(w::CreateDedicatedIpPoolResponse {})
}

pub(super) async fn get_pool(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetDedicatedIpPoolRequest,
) -> R<w::GetDedicatedIpPoolResponse> {
    let p = api
        .engine
        .get_dedicated_ip_pool(&ctx.scope, &i.pool_name)
        .await
        .map_err(err)?;
    Ok(w::GetDedicatedIpPoolResponse {
        dedicated_ip_pool: Some(w::DedicatedIpPool {
            pool_name: p.name,
            scaling_mode: p.scaling_mode,
        }),
    })
}

const LIST_POOLS: &str = "ListDedicatedIpPools";

pub(super) async fn list_pools(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::ListDedicatedIpPoolsRequest,
) -> R<w::ListDedicatedIpPoolsResponse> {
    let e = &api.engine;
    let size = page_size(i.page_size)?;
    let after = e
        .parse_page_token(&ctx.scope, LIST_POOLS, "", i.next_token.as_deref())
        .map_err(err)?;
    let (names, more) = e
        .list_dedicated_ip_pools(&ctx.scope, after.as_deref(), size)
        .await
        .map_err(err)?;
    Ok(w::ListDedicatedIpPoolsResponse {
        dedicated_ip_pools: Some(names),
        next_token: more.map(|last| e.page_token(&ctx.scope, LIST_POOLS, "", &last)),
    })
}

pub(super) async fn delete_pool(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::DeleteDedicatedIpPoolRequest,
) -> R<w::DeleteDedicatedIpPoolResponse> {
    api.engine
        .delete_dedicated_ip_pool(&ctx.scope, &i.pool_name)
        .await
        .map_err(err)?;
    Ok(w::DeleteDedicatedIpPoolResponse {})
}

pub(super) async fn put_pool_scaling(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutDedicatedIpPoolScalingAttributesRequest,
) -> R<w::PutDedicatedIpPoolScalingAttributesResponse> {
    api.engine
        .put_dedicated_ip_pool_scaling(&ctx.scope, &i.pool_name, &i.scaling_mode)
        .await
        .map_err(err)?;
    Ok(w::PutDedicatedIpPoolScalingAttributesResponse {})
}

pub(super) async fn get_ip(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetDedicatedIpRequest,
) -> R<w::GetDedicatedIpResponse> {
    let s = api
        .engine
        .get_dedicated_ip(&ctx.scope, &i.ip)
        .await
        .map_err(err)?;
    Ok(w::GetDedicatedIpResponse {
        dedicated_ip: Some(to_wire(&s, now_ms())),
    })
}

const LIST_IPS: &str = "GetDedicatedIps";

/// Pages over the address-ordered list; the token carries the last address and is bound to
/// the `PoolName` filter.
pub(super) async fn get_ips(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::GetDedicatedIpsRequest,
) -> R<w::GetDedicatedIpsResponse> {
    let e = &api.engine;
    let size = page_size(i.page_size)?;
    let filter = i.pool_name.clone().unwrap_or_default();
    let after = e
        .parse_page_token(&ctx.scope, LIST_IPS, &filter, i.next_token.as_deref())
        .map_err(err)?
        .map(|a| {
            a.parse::<std::net::IpAddr>()
                .map_err(|_| err(EngineError::BadRequest("Invalid NextToken.".into())))
        })
        .transpose()?;
    let all = e
        .list_dedicated_ips(&ctx.scope, i.pool_name.as_deref().filter(|p| !p.is_empty()))
        .await
        .map_err(err)?;
    let rest: Vec<&IpState> = all
        .iter()
        .filter(|s| after.is_none_or(|a| s.ip > a))
        .collect();
    let now = now_ms();
    let page: Vec<w::DedicatedIp> = rest.iter().take(size).map(|s| to_wire(s, now)).collect();
    let next = (rest.len() > size).then(|| {
        e.page_token(
            &ctx.scope,
            LIST_IPS,
            &filter,
            &rest[size - 1].ip.to_string(),
        )
    });
    Ok(w::GetDedicatedIpsResponse {
        dedicated_ips: Some(page),
        next_token: next,
    })
}

pub(super) async fn put_ip_in_pool(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutDedicatedIpInPoolRequest,
) -> R<w::PutDedicatedIpInPoolResponse> {
    api.engine
        .put_dedicated_ip_in_pool(&ctx.scope, &i.ip, &i.destination_pool_name)
        .await
        .map_err(err)?;
    Ok(w::PutDedicatedIpInPoolResponse {})
}

pub(super) async fn put_ip_warmup(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutDedicatedIpWarmupAttributesRequest,
) -> R<w::PutDedicatedIpWarmupAttributesResponse> {
    api.engine
        .put_dedicated_ip_warmup(&ctx.scope, &i.ip, i.warmup_percentage)
        .await
        .map_err(err)?;
    Ok(w::PutDedicatedIpWarmupAttributesResponse {})
}

/// F-24 / F-63. `AutoWarmupEnabled` absent means `false`, as for the other boolean account
/// switches (`PutAccountSendingAttributes`).
pub(super) async fn put_account_warmup(
    api: &SesV2,
    ctx: &RequestCtx,
    i: w::PutAccountDedicatedIpWarmupAttributesRequest,
) -> R<w::PutAccountDedicatedIpWarmupAttributesResponse> {
    api.engine
        .put_account_dedicated_ip_warmup(&ctx.scope, i.auto_warmup_enabled.unwrap_or(false))
        .await
        .map_err(err)?;
    Ok(w::PutAccountDedicatedIpWarmupAttributesResponse {})
}
