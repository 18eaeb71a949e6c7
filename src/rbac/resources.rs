//! What the tool knows about Kubernetes resources without asking an API server: the API group of
//! the common resources (so `who-can get deployments` means `apps`, as kubectl resolves it), and
//! which resources are cluster-scoped (a RoleBinding can never grant those).

/// (resource, API group) of built-in resources.
const KNOWN: &[(&str, &str)] = &[
    ("bindings", ""),
    ("componentstatuses", ""),
    ("configmaps", ""),
    ("endpoints", ""),
    ("events", ""),
    ("limitranges", ""),
    ("namespaces", ""),
    ("nodes", ""),
    ("persistentvolumeclaims", ""),
    ("persistentvolumes", ""),
    ("pods", ""),
    ("podtemplates", ""),
    ("replicationcontrollers", ""),
    ("resourcequotas", ""),
    ("secrets", ""),
    ("serviceaccounts", ""),
    ("services", ""),
    ("users", ""),
    ("groups", ""),
    ("userextras", "authentication.k8s.io"),
    ("uids", "authentication.k8s.io"),
    (
        "mutatingwebhookconfigurations",
        "admissionregistration.k8s.io",
    ),
    (
        "validatingwebhookconfigurations",
        "admissionregistration.k8s.io",
    ),
    (
        "validatingadmissionpolicies",
        "admissionregistration.k8s.io",
    ),
    (
        "validatingadmissionpolicybindings",
        "admissionregistration.k8s.io",
    ),
    ("mutatingadmissionpolicies", "admissionregistration.k8s.io"),
    (
        "mutatingadmissionpolicybindings",
        "admissionregistration.k8s.io",
    ),
    ("customresourcedefinitions", "apiextensions.k8s.io"),
    ("apiservices", "apiregistration.k8s.io"),
    ("controllerrevisions", "apps"),
    ("daemonsets", "apps"),
    ("deployments", "apps"),
    ("replicasets", "apps"),
    ("statefulsets", "apps"),
    ("tokenreviews", "authentication.k8s.io"),
    ("selfsubjectreviews", "authentication.k8s.io"),
    ("localsubjectaccessreviews", "authorization.k8s.io"),
    ("selfsubjectaccessreviews", "authorization.k8s.io"),
    ("selfsubjectrulesreviews", "authorization.k8s.io"),
    ("subjectaccessreviews", "authorization.k8s.io"),
    ("horizontalpodautoscalers", "autoscaling"),
    ("cronjobs", "batch"),
    ("jobs", "batch"),
    ("certificatesigningrequests", "certificates.k8s.io"),
    ("signers", "certificates.k8s.io"),
    ("clustertrustbundles", "certificates.k8s.io"),
    ("leases", "coordination.k8s.io"),
    ("endpointslices", "discovery.k8s.io"),
    ("flowschemas", "flowcontrol.apiserver.k8s.io"),
    (
        "prioritylevelconfigurations",
        "flowcontrol.apiserver.k8s.io",
    ),
    ("ingressclasses", "networking.k8s.io"),
    ("ingresses", "networking.k8s.io"),
    ("networkpolicies", "networking.k8s.io"),
    ("ipaddresses", "networking.k8s.io"),
    ("servicecidrs", "networking.k8s.io"),
    ("runtimeclasses", "node.k8s.io"),
    ("poddisruptionbudgets", "policy"),
    ("clusterrolebindings", "rbac.authorization.k8s.io"),
    ("clusterroles", "rbac.authorization.k8s.io"),
    ("rolebindings", "rbac.authorization.k8s.io"),
    ("roles", "rbac.authorization.k8s.io"),
    ("priorityclasses", "scheduling.k8s.io"),
    ("csidrivers", "storage.k8s.io"),
    ("csinodes", "storage.k8s.io"),
    ("csistoragecapacities", "storage.k8s.io"),
    ("storageclasses", "storage.k8s.io"),
    ("volumeattachments", "storage.k8s.io"),
    ("volumeattributesclasses", "storage.k8s.io"),
    ("deviceclasses", "resource.k8s.io"),
    ("resourceclaims", "resource.k8s.io"),
    ("resourceclaimtemplates", "resource.k8s.io"),
    ("resourceslices", "resource.k8s.io"),
];

/// The API groups kube-apiserver serves itself in every cluster (Kubernetes 1.35; `""` is the core
/// group). Their APIServices are local: no Service stands behind them.
const BUILT_IN_GROUPS: &[&str] = &[
    "",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
    "apps",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "coordination.k8s.io",
    "discovery.k8s.io",
    "events.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "networking.k8s.io",
    "node.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "resource.k8s.io",
    "scheduling.k8s.io",
    "storage.k8s.io",
    "storagemigration.k8s.io",
];

/// Whether kube-apiserver serves `group` itself in every cluster.
pub fn is_built_in_group(group: &str) -> bool {
    BUILT_IN_GROUPS.contains(&group)
}

/// Whether `group` is Kubernetes' own: one kube-apiserver serves, or one under `k8s.io` or
/// `kubernetes.io`, names reserved to the project's reviewed APIs (`metrics.k8s.io`,
/// `custom.metrics.k8s.io`, `external.metrics.k8s.io`, `snapshot.storage.k8s.io`); the SIGs'
/// unreviewed `x-k8s.io` groups are not.
pub fn is_kubernetes_group(group: &str) -> bool {
    is_built_in_group(group)
        || ["k8s.io", "kubernetes.io"]
            .iter()
            .any(|d| group == *d || group.ends_with(&format!(".{d}")))
}

/// Cluster-scoped built-in resources (top-level names).
const CLUSTER_SCOPED: &[&str] = &[
    "apiservices",
    "certificatesigningrequests",
    "clusterrolebindings",
    "clusterroles",
    "clustertrustbundles",
    "componentstatuses",
    "csidrivers",
    "csinodes",
    "customresourcedefinitions",
    "deviceclasses",
    "flowschemas",
    "groups",
    "ingressclasses",
    "ipaddresses",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
    "mutatingwebhookconfigurations",
    "namespaces",
    "nodes",
    "persistentvolumes",
    "priorityclasses",
    "prioritylevelconfigurations",
    "resourceslices",
    "runtimeclasses",
    "selfsubjectaccessreviews",
    "selfsubjectreviews",
    "selfsubjectrulesreviews",
    "servicecidrs",
    "signers",
    "storageclasses",
    "subjectaccessreviews",
    "tokenreviews",
    "uids",
    "userextras",
    "users",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "validatingwebhookconfigurations",
    "volumeattachments",
    "volumeattributesclasses",
];

/// The API group of a built-in resource, if the tool knows it.
pub fn known_group(resource: &str) -> Option<&'static str> {
    KNOWN.iter().find(|(r, _)| *r == resource).map(|(_, g)| *g)
}

/// True for built-in resources that live outside namespaces (`resource` may carry a
/// `/subresource`). Custom resources are assumed namespaced: a RoleBinding's rule can reach them.
pub fn is_cluster_scoped(resource: &str) -> bool {
    let top = resource.split('/').next().unwrap_or(resource);
    CLUSTER_SCOPED.contains(&top)
}

/// Splits kubectl's `resource[.group][/subresource]` form.
pub fn split_resource_arg(arg: &str) -> (String, Option<String>, String) {
    let (main, sub) = arg.split_once('/').unwrap_or((arg, ""));
    match main.split_once('.') {
        Some((r, g)) => (r.to_string(), Some(g.to_string()), sub.to_string()),
        None => (main.to_string(), None, sub.to_string()),
    }
}

/// A resource request as a person writes it on the command line, resolved like kubectl does:
/// `resource[.group][/subresource]`, the group from `--api-group`, the name or the built-in table.
/// Returns the request and any warnings for the person (an unknown resource, for example).
/// The verbs the API server authorizes requests with (including the special verbs of RBAC,
/// impersonation, PodSecurityPolicy `use` and certificate signing).
pub const API_VERBS: &[&str] = &[
    "get",
    "list",
    "watch",
    "create",
    "update",
    "patch",
    "delete",
    "deletecollection",
    "impersonate",
    "bind",
    "escalate",
    "use",
    "approve",
    "sign",
    "attest",
    "proxy",
    "*",
];

pub fn resource_request(
    verb: &str,
    resource_arg: &str,
    api_group: Option<&str>,
    namespace: Option<&str>,
    name: Option<&str>,
) -> (super::matching::Request, Vec<String>) {
    let mut warnings = Vec::new();
    if !API_VERBS.contains(&verb) {
        let hint = crate::diag::did_you_mean(verb, API_VERBS)
            .map(|v| format!("; did you mean `{v}`?"))
            .unwrap_or_default();
        warnings.push(format!(
            "`{verb}` is not a verb of the Kubernetes API{hint} (answering for `{verb}` as given: only rules naming it or `*` match)"
        ));
    }
    let (resource, group_in_arg, subresource) = split_resource_arg(resource_arg);
    let group = match (api_group, group_in_arg) {
        (Some(g), _) => g.to_string(),
        (None, Some(g)) => g,
        (None, None) => match known_group(&resource) {
            Some(g) => g.to_string(),
            None => {
                if resource != "*" {
                    let known: Vec<&str> = KNOWN.iter().map(|(r, _)| *r).collect();
                    let hint = crate::diag::did_you_mean(&resource, &known)
                        .map(|r| format!(" Did you mean `{r}`?"))
                        .unwrap_or_default();
                    warnings.push(format!(
                        "`{resource}` is not a built-in resource the tool knows; assuming the core API group (pass --api-group or write `{resource}.GROUP`).{hint}"
                    ));
                }
                String::new()
            }
        },
    };
    // The API server asks `bind` on a ClusterRole in the namespace of the RoleBinding being
    // written, so a RoleBinding there does grant it (the "role-grantor" pattern of the
    // Kubernetes RBAC documentation): that question has an answer in a namespace.
    let checked_in_namespace = (verb == "bind" || verb == "*") && resource == "clusterroles";
    if let Some(ns) = namespace
        && is_cluster_scoped(&resource)
        && !checked_in_namespace
    {
        warnings.push(format!(
            "`{resource}` is cluster-scoped: RoleBindings in namespace {ns} can never grant it"
        ));
    }
    (
        super::matching::Request::Resource(super::matching::ResourceRequest {
            verb: verb.to_string(),
            api_group: group,
            resource,
            subresource,
            namespace: namespace.unwrap_or("").to_string(),
            name: name.unwrap_or("").to_string(),
        }),
        warnings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_scopes() {
        assert_eq!(known_group("deployments"), Some("apps"));
        assert_eq!(known_group("pods"), Some(""));
        assert_eq!(known_group("widgets"), None);
        assert!(is_cluster_scoped("nodes/proxy"));
        assert!(!is_cluster_scoped("pods/exec"));
        assert_eq!(
            split_resource_arg("deployments.apps/scale"),
            ("deployments".into(), Some("apps".into()), "scale".into())
        );
        assert_eq!(
            split_resource_arg("pods"),
            ("pods".into(), None, String::new())
        );
    }

    #[test]
    fn kubernetes_groups() {
        for g in ["", "apps", "rbac.authorization.k8s.io", "metrics.k8s.io"] {
            assert!(is_kubernetes_group(g), "{g}");
        }
        assert!(is_kubernetes_group("external.metrics.k8s.io"));
        assert!(!is_built_in_group("metrics.k8s.io"));
        for g in ["cluster.x-k8s.io", "monitoring.coreos.com", "notk8s.io"] {
            assert!(!is_kubernetes_group(g), "{g}");
        }
    }
}
