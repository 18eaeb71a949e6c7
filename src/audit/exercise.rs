//! Whether a use of the audit log exercised a grant, as the RBAC authorizer would decide the
//! request it stands for: read by the judging (`assess`) and the suggestions (`suggest`) alike.

use super::event::AccessKey;
use super::usage::Use;
use crate::rbac::index::Grant;
use crate::rbac::{NonResourceRequest, Request, ResourceRequest, rule_allows};

/// Whether an allowed use falls under the grant: in its scope, and allowed by its rule exactly
/// as the authorizer would. The record keeps no object names, so a rule limited to names counts
/// as used when everything else matches (never claiming non-use the log cannot show).
pub fn exercises(u: &Use, g: &Grant) -> bool {
    if u.allowed == 0 {
        return false;
    }
    let a = &u.access;
    if let Some(ns) = &g.namespace
        && a.namespace != **ns
    {
        return false;
    }
    rule_allows(&request_of(a, ""), &g.rule)
        || g.rule
            .resource_names
            .iter()
            .any(|n| rule_allows(&request_of(a, n), &g.rule))
}

/// The authorization request an access stands for.
pub fn request_of(a: &AccessKey, name: &str) -> Request {
    if a.resource.is_empty() {
        Request::NonResource(NonResourceRequest {
            verb: a.verb.clone(),
            path: a.non_resource_url.clone(),
        })
    } else {
        Request::Resource(ResourceRequest {
            verb: a.verb.clone(),
            api_group: a.api_group.clone(),
            resource: a.resource.clone(),
            subresource: a.subresource.clone(),
            namespace: a.namespace.clone(),
            name: name.to_string(),
        })
    }
}
