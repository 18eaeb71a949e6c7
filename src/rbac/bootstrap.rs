//! Which bindings are the API server's own bootstrap policy, so that what they grant can be kept
//! apart from what people granted.
//!
//! Trust anchor: the label `kubernetes.io/bootstrapping: rbac-defaults` and a `system:` name are
//! written by whoever can create a binding, so they prove nothing alone. A binding counts as
//! bootstrap only when it is also one the policy creates: the same name, namespace and role, and
//! no subject the policy does not give it. The policy (Kubernetes 1.35,
//! `plugin/pkg/auth/authorizer/rbac/bootstrappolicy`) is written out below; the live test
//! `live_cluster::every_binding_the_api_server_bootstraps_is_recognised` checks it against the
//! bindings the test kube-apiserver creates. A binding the list does not know (a newer release's,
//! or one somebody labelled) is reported like any other: shown, never hidden.

use super::subject::SubjectRef;
use crate::snapshot::{ObjectMeta, RoleRef};

const LABEL: &str = "kubernetes.io/bootstrapping";

/// A subject as the policy writes it: kind, namespace (ServiceAccounts) and name.
type PolicySubject = (&'static str, &'static str, &'static str);

/// One binding of the policy: namespace ("" for a ClusterRoleBinding), name, role kind, role
/// name and subjects.
struct PolicyBinding {
    namespace: &'static str,
    name: &'static str,
    role_kind: &'static str,
    role: &'static str,
    subjects: &'static [PolicySubject],
}

const fn crb(
    name: &'static str,
    role: &'static str,
    subjects: &'static [PolicySubject],
) -> PolicyBinding {
    PolicyBinding {
        namespace: "",
        name,
        role_kind: "ClusterRole",
        role,
        subjects,
    }
}

const fn rb(
    namespace: &'static str,
    name: &'static str,
    role: &'static str,
    subjects: &'static [PolicySubject],
) -> PolicyBinding {
    PolicyBinding {
        namespace,
        name,
        role_kind: "Role",
        role,
        subjects,
    }
}

const KCM: PolicySubject = ("User", "", "system:kube-controller-manager");
const SCHEDULER: PolicySubject = ("User", "", "system:kube-scheduler");
const AUTHENTICATED: PolicySubject = ("Group", "", "system:authenticated");

const POLICY: &[PolicyBinding] = &[
    crb(
        "cluster-admin",
        "cluster-admin",
        &[("Group", "", "system:masters")],
    ),
    crb("system:basic-user", "system:basic-user", &[AUTHENTICATED]),
    crb("system:discovery", "system:discovery", &[AUTHENTICATED]),
    crb(
        "system:kube-controller-manager",
        "system:kube-controller-manager",
        &[KCM],
    ),
    crb(
        "system:kube-dns",
        "system:kube-dns",
        &[("ServiceAccount", "kube-system", "kube-dns")],
    ),
    crb(
        "system:kube-scheduler",
        "system:kube-scheduler",
        &[SCHEDULER],
    ),
    crb(
        "system:monitoring",
        "system:monitoring",
        &[("Group", "", "system:monitoring")],
    ),
    crb("system:node", "system:node", &[]),
    crb(
        "system:node-proxier",
        "system:node-proxier",
        &[("User", "", "system:kube-proxy")],
    ),
    crb(
        "system:public-info-viewer",
        "system:public-info-viewer",
        &[AUTHENTICATED, ("Group", "", "system:unauthenticated")],
    ),
    crb(
        "system:service-account-issuer-discovery",
        "system:service-account-issuer-discovery",
        &[("Group", "", "system:serviceaccounts")],
    ),
    crb(
        "system:volume-scheduler",
        "system:volume-scheduler",
        &[SCHEDULER],
    ),
    rb(
        "kube-public",
        "system:controller:bootstrap-signer",
        "system:controller:bootstrap-signer",
        &[("ServiceAccount", "kube-system", "bootstrap-signer")],
    ),
    rb(
        "kube-system",
        "system::extension-apiserver-authentication-reader",
        "extension-apiserver-authentication-reader",
        &[KCM, SCHEDULER],
    ),
    rb(
        "kube-system",
        "system::leader-locking-kube-controller-manager",
        "system::leader-locking-kube-controller-manager",
        &[
            KCM,
            ("ServiceAccount", "kube-system", "kube-controller-manager"),
            (
                "ServiceAccount",
                "kube-system",
                "leader-election-controller",
            ),
        ],
    ),
    rb(
        "kube-system",
        "system::leader-locking-kube-scheduler",
        "system::leader-locking-kube-scheduler",
        &[
            SCHEDULER,
            ("ServiceAccount", "kube-system", "kube-scheduler"),
        ],
    ),
    rb(
        "kube-system",
        "system:controller:bootstrap-signer",
        "system:controller:bootstrap-signer",
        &[("ServiceAccount", "kube-system", "bootstrap-signer")],
    ),
    rb(
        "kube-system",
        "system:controller:cloud-provider",
        "system:controller:cloud-provider",
        &[("ServiceAccount", "kube-system", "cloud-provider")],
    ),
    rb(
        "kube-system",
        "system:controller:token-cleaner",
        "system:controller:token-cleaner",
        &[("ServiceAccount", "kube-system", "token-cleaner")],
    ),
];

/// The controllers kube-controller-manager runs, each as ServiceAccount `kube-system/NAME` bound
/// by ClusterRoleBinding `system:controller:NAME` to ClusterRole `system:controller:NAME`.
pub const CONTROLLERS: &[&str] = &[
    "attachdetach-controller",
    "certificate-controller",
    "clusterrole-aggregation-controller",
    "cronjob-controller",
    "daemon-set-controller",
    "deployment-controller",
    "device-taint-eviction-controller",
    "disruption-controller",
    "endpoint-controller",
    "endpointslice-controller",
    "endpointslicemirroring-controller",
    "ephemeral-volume-controller",
    "expand-controller",
    "generic-garbage-collector",
    "horizontal-pod-autoscaler",
    "job-controller",
    "legacy-service-account-token-cleaner",
    "namespace-controller",
    "node-controller",
    "persistent-volume-binder",
    "pod-garbage-collector",
    "pv-protection-controller",
    "pvc-protection-controller",
    "replicaset-controller",
    "replication-controller",
    "resource-claim-controller",
    "resourcequota-controller",
    "root-ca-cert-publisher",
    "route-controller",
    "selinux-warning-controller",
    "service-account-controller",
    "service-cidrs-controller",
    "service-controller",
    "statefulset-controller",
    "ttl-after-finished-controller",
    "ttl-controller",
    "validatingadmissionpolicy-status-controller",
    "volumeattributesclass-protection-controller",
];

/// The policy's ClusterRoles that carry an aggregation label themselves (edit into admin, view
/// into edit, and the `system:aggregate-to-*` roles).
const AGGREGATING_ROLES: &[&str] = &[
    "edit",
    "view",
    "system:aggregate-to-admin",
    "system:aggregate-to-edit",
    "system:aggregate-to-view",
];

/// True when the ClusterRole is one the policy creates with an aggregation label: labelled as
/// the policy's, with one of its names (the label alone proves nothing).
pub fn is_policy_aggregating_role(meta: &ObjectMeta) -> bool {
    meta.labels.get(LABEL).map(String::as_str) == Some("rbac-defaults")
        && AGGREGATING_ROLES.contains(&meta.name.as_str())
}

fn policy_subject(s: &PolicySubject) -> SubjectRef {
    let &(kind, namespace, name) = s;
    match kind {
        "User" => SubjectRef::user(name),
        "Group" => SubjectRef::group(name),
        _ => SubjectRef::service_account(namespace, name),
    }
}

/// True when the binding is one the bootstrap policy creates: labelled as such, with the
/// policy's name, namespace and role, and every subject one the policy gives it (an operator
/// may remove subjects; one who adds any makes the binding theirs).
pub fn is_policy_binding(
    meta: &ObjectMeta,
    namespace: Option<&str>,
    role_ref: &RoleRef,
    subjects: &[Option<SubjectRef>],
) -> bool {
    if meta.labels.get(LABEL).map(String::as_str) != Some("rbac-defaults") {
        return false;
    }
    let allowed: Vec<SubjectRef> = match policy_entry(&meta.name, namespace, role_ref) {
        Some(p) => p.subjects.iter().map(policy_subject).collect(),
        None => match controller_binding(&meta.name, namespace, role_ref) {
            Some(controller) => vec![SubjectRef::service_account("kube-system", controller)],
            None => return false,
        },
    };
    subjects.iter().flatten().all(|s| allowed.contains(s))
}

fn policy_entry(
    name: &str,
    namespace: Option<&str>,
    role_ref: &RoleRef,
) -> Option<&'static PolicyBinding> {
    POLICY.iter().find(|p| {
        p.name == name
            && p.namespace == namespace.unwrap_or("")
            && p.role_kind == role_ref.kind
            && p.role == role_ref.name
    })
}

fn controller_binding(
    name: &str,
    namespace: Option<&str>,
    role_ref: &RoleRef,
) -> Option<&'static str> {
    let controller = name.strip_prefix("system:controller:")?;
    let known = CONTROLLERS.iter().find(|c| **c == controller)?;
    (namespace.is_none() && role_ref.kind == "ClusterRole" && role_ref.name == name)
        .then_some(*known)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, labelled: bool) -> ObjectMeta {
        let mut m = ObjectMeta {
            name: name.to_string(),
            ..Default::default()
        };
        if labelled {
            m.labels
                .insert(LABEL.to_string(), "rbac-defaults".to_string());
        }
        m
    }

    fn role(kind: &str, name: &str) -> RoleRef {
        RoleRef {
            kind: kind.to_string(),
            name: name.to_string(),
            api_group: "rbac.authorization.k8s.io".to_string(),
        }
    }

    #[test]
    fn the_policys_own_bindings_are_bootstrap() {
        let admin = role("ClusterRole", "cluster-admin");
        let masters = [Some(SubjectRef::group("system:masters"))];
        assert!(is_policy_binding(
            &meta("cluster-admin", true),
            None,
            &admin,
            &masters
        ));
        let gc = "system:controller:generic-garbage-collector";
        assert!(is_policy_binding(
            &meta(gc, true),
            None,
            &role("ClusterRole", gc),
            &[Some(SubjectRef::service_account(
                "kube-system",
                "generic-garbage-collector"
            ))],
        ));
        // An operator may take subjects away.
        assert!(is_policy_binding(
            &meta("system:public-info-viewer", true),
            None,
            &role("ClusterRole", "system:public-info-viewer"),
            &[Some(SubjectRef::group("system:authenticated"))],
        ));
    }

    #[test]
    fn a_label_and_a_system_name_prove_nothing_alone() {
        let admin = role("ClusterRole", "cluster-admin");
        let human = [Some(SubjectRef::user("carol@corp.example"))];
        // An added subject on the policy's own binding.
        let masters_and_carol = [
            Some(SubjectRef::group("system:masters")),
            Some(SubjectRef::user("carol@corp.example")),
        ];
        for (name, ns, role_ref, subjects) in [
            ("system:controller:y", None, &admin, &human[..]),
            ("cluster-admin", None, &admin, &masters_and_carol[..]),
            // The policy's name with another role.
            (
                "system:basic-user",
                None,
                &admin,
                &[Some(SubjectRef::group("system:authenticated"))][..],
            ),
            // The policy's name in another namespace.
            (
                "system:controller:token-cleaner",
                Some("default"),
                &role("Role", "system:controller:token-cleaner"),
                &[Some(SubjectRef::service_account(
                    "kube-system",
                    "token-cleaner",
                ))][..],
            ),
            // A controller the policy does not have.
            (
                "system:controller:evil",
                None,
                &role("ClusterRole", "system:controller:evil"),
                &[Some(SubjectRef::service_account("kube-system", "evil"))][..],
            ),
            // A controller binding naming another ServiceAccount.
            (
                "system:controller:job-controller",
                None,
                &role("ClusterRole", "system:controller:job-controller"),
                &[Some(SubjectRef::service_account("kube-system", "default"))][..],
            ),
        ] {
            assert!(
                !is_policy_binding(&meta(name, true), ns, role_ref, subjects),
                "{name} {subjects:?}"
            );
        }
        // Without the label, not even the policy's own.
        assert!(!is_policy_binding(
            &meta("cluster-admin", false),
            None,
            &admin,
            &[Some(SubjectRef::group("system:masters"))],
        ));
    }
}
