//! Which source addresses a message may leave from (spec E-98, E-127; the item 6).

use std::net::IpAddr;

use sesame_model::Scope;

use crate::configuration_sets::ConfigurationSetRecord;
use crate::{Engine, EngineError};

impl Engine {
    /// The source addresses for mail sent with `set` (`DeliveryJob::source_ips`).
    ///
    /// E-98: mail of a configuration set with a `SendingPoolName` leaves only from that pool's
    /// dedicated IPs; other mail from `ses-default-dedicated-pool` (the account's addresses in
    /// no pool). **Dedicated IP pools do not exist yet** (they are being added separately), so
    /// this returns an empty list, which the transport reads as "any configured outbound
    /// address, or the operating system's choice" (see `DeliveryJob::source_ips`). The pool
    /// work replaces this body (and may read the store, hence `async` and `Result`); callers
    /// need no change.
    pub async fn sending_pool_ips(
        &self,
        _scope: &Scope,
        _set: Option<&ConfigurationSetRecord>,
    ) -> Result<Vec<IpAddr>, EngineError> {
        Ok(Vec::new())
    }
}
