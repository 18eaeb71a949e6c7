//! The rule catalog: every rule's stable ID, severity, title, rationale and remediation, defined
//! once here so that `kube-evidence rules list`, the documentation and every report read the same
//! text. IDs never change meaning; a retired rule's ID is never reused.

use crate::finding::Severity;
use crate::snapshot::ResourceKind;
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Dangerous effective permissions.
    Rbac,
    /// RBAC objects that are broken, stale or risky in themselves.
    Hygiene,
    /// Escalation paths.
    Escalation,
    /// The sub-processor register against the cluster.
    SubProcessor,
    /// Use of access, from the API server's audit log.
    Usage,
    /// Access reviews: campaigns, decisions and their follow-up.
    Review,
    /// Change since the previous pack.
    Change,
    /// Exceptions that stopped applying.
    Exception,
    /// The evidence collection itself.
    Collection,
}

pub use crate::rule_id::RuleId;

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RuleDef {
    #[schemars(with = "String")]
    pub id: RuleId,
    pub family: Family,
    pub severity: Severity,
    pub title: &'static str,
    pub rationale: &'static str,
    pub remediation: &'static str,
    /// The CIS Kubernetes Benchmark recommendation it implements, where one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cis: Option<&'static str>,
    /// Resource kinds that must be collected completely for the rule's verdict to count.
    #[serde(serialize_with = "kind_names")]
    #[schemars(with = "Vec<String>")]
    pub requires: &'static [ResourceKind],
    /// Facts other than the cluster the rule needs (`inventory`, `previous-pack`, `period`: see
    /// `controls::basis::REQUIREMENTS`).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub needs: &'static [&'static str],
}

fn kind_names<S: serde::Serializer>(
    kinds: &&'static [ResourceKind],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = s.serialize_seq(Some(kinds.len()))?;
    for k in kinds.iter() {
        seq.serialize_element(k.name())?;
    }
    seq.end()
}

const RBAC: &[ResourceKind] = &[
    ResourceKind::ClusterRole,
    ResourceKind::Role,
    ResourceKind::ClusterRoleBinding,
    ResourceKind::RoleBinding,
];
const RBAC_AND_SA: &[ResourceKind] = &[
    ResourceKind::ClusterRole,
    ResourceKind::Role,
    ResourceKind::ClusterRoleBinding,
    ResourceKind::RoleBinding,
    ResourceKind::ServiceAccount,
];
const ESCALATION: &[ResourceKind] = &[
    ResourceKind::ClusterRole,
    ResourceKind::Role,
    ResourceKind::ClusterRoleBinding,
    ResourceKind::RoleBinding,
    ResourceKind::ServiceAccount,
    ResourceKind::Pod,
];
const SECRETS: &[ResourceKind] = &[ResourceKind::Secret];
const CLUSTER_ROLES: &[ResourceKind] = &[ResourceKind::ClusterRole];
const SUBPROC: &[ResourceKind] = &[
    ResourceKind::ClusterRole,
    ResourceKind::Role,
    ResourceKind::ClusterRoleBinding,
    ResourceKind::RoleBinding,
    ResourceKind::ServiceAccount,
    ResourceKind::Namespace,
    ResourceKind::Pod,
    ResourceKind::MutatingWebhookConfiguration,
    ResourceKind::ValidatingWebhookConfiguration,
    ResourceKind::ApiService,
];
const NONE: &[ResourceKind] = &[];

macro_rules! rule {
    ($id:ident, $fam:ident, $sev:ident, $title:literal, $cis:expr, $req:expr, $needs:expr, $why:literal, $fix:literal) => {
        RuleDef {
            id: RuleId::$id,
            family: Family::$fam,
            severity: Severity::$sev,
            title: $title,
            rationale: $why,
            remediation: $fix,
            cis: $cis,
            requires: $req,
            needs: $needs,
        }
    };
}

pub const CATALOG: &[RuleDef] = &[
    rule!(
        Rbac001,
        Rbac,
        Critical,
        "cluster-admin bound to a non-system subject",
        Some("5.1.1"),
        RBAC,
        &[],
        "All verbs on all resources cluster-wide (the cluster-admin ClusterRole or an equivalent wildcard role) bound through a ClusterRoleBinding gives unrestricted control of the cluster, its workloads and every Secret.",
        "Bind cluster-admin only to a break-glass group with an approval trail; give everyone else namespace-scoped roles that list the verbs and resources they need."
    ),
    rule!(
        Rbac002,
        Rbac,
        High,
        "Wildcard verbs, resources or API groups",
        Some("5.1.3"),
        RBAC,
        &[],
        "A `*` grants every verb, resource or API group, including custom resources and verbs added later, so the grant can never be reviewed for least privilege.",
        "Replace `*` with the explicit verbs, resources and API groups the subject needs."
    ),
    rule!(
        Rbac003,
        Rbac,
        High,
        "Read access to Secrets cluster-wide",
        Some("5.1.2"),
        RBAC,
        &[],
        "get, list or watch on Secrets in every namespace exposes every credential, token and key stored in the cluster; list and watch return Secret contents just as get does.",
        "Grant Secret access per namespace and, where possible, per Secret with resourceNames; use a secrets manager integration for workloads that only need their own credentials."
    ),
    rule!(
        Rbac004,
        Rbac,
        Medium,
        "Read access to Secrets in a namespace",
        Some("5.1.2"),
        RBAC,
        &[],
        "get, list or watch on all Secrets of a namespace exposes every credential stored there, including ServiceAccount tokens and TLS keys.",
        "Limit Secret access to the named Secrets the subject needs (resourceNames), or remove it."
    ),
    rule!(
        Rbac005,
        Rbac,
        High,
        "Exec, attach, port-forward or ephemeral containers in pods",
        None,
        RBAC,
        &[],
        "pods/exec, pods/attach, pods/portforward and pods/ephemeralcontainers let the holder run code inside running pods, with their ServiceAccount tokens, mounted Secrets and network position.",
        "Remove interactive pod access from standing roles; grant it temporarily through a break-glass process that is logged."
    ),
    rule!(
        Rbac006,
        Rbac,
        Medium,
        "Create or update pods and workload controllers",
        Some("5.1.4"),
        RBAC,
        &[],
        "Whoever can create a pod (directly or through a Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, CronJob or ReplicationController) can run it as any ServiceAccount of the namespace and mount its Secrets, ConfigMaps and volumes.",
        "Deploy through a pipeline identity scoped to its namespaces; keep people on read-only roles in production."
    ),
    rule!(
        Rbac007,
        Rbac,
        High,
        "bind, escalate, or write access to roles and bindings",
        Some("5.1.8"),
        RBAC,
        &[],
        "bind and escalate bypass the API server's protection against granting permissions one does not hold; write access to roles and bindings lets the holder change who can do what.",
        "Keep RBAC changes in a reviewed GitOps pipeline; remove bind and escalate from everyone but the aggregation controller."
    ),
    rule!(
        Rbac008,
        Rbac,
        High,
        "Impersonation of users, groups or ServiceAccounts",
        Some("5.1.8"),
        RBAC,
        &[],
        "impersonate lets the holder act as another identity, taking on all of its permissions; with a user to impersonate, impersonating any group includes system:masters (groups alone are refused).",
        "Remove impersonate, or restrict it with resourceNames to the identities a tool genuinely needs to act as."
    ),
    rule!(
        Rbac009,
        Rbac,
        High,
        "Creation of ServiceAccount tokens",
        Some("5.1.13"),
        RBAC,
        &[],
        "create on serviceaccounts/token mints credentials for existing ServiceAccounts, taking on their permissions.",
        "Remove serviceaccounts/token create, or restrict it with resourceNames to the ServiceAccounts concerned."
    ),
    rule!(
        Rbac010,
        Rbac,
        High,
        "Access to nodes/proxy (the kubelet API)",
        Some("5.1.10"),
        RBAC,
        &[],
        "nodes/proxy reaches the kubelet API, which runs commands in any pod on the node; such requests bypass API audit logging and admission control, and get alone is enough through websockets.",
        "Scrape node metrics through nodes/metrics and nodes/stats instead; remove nodes/proxy."
    ),
    rule!(
        Rbac011,
        Rbac,
        High,
        "Approval of CertificateSigningRequests",
        Some("5.1.11"),
        RBAC,
        &[],
        "Approving CSRs for the kube-apiserver-client signer issues client certificates with any user and group name, including system:masters.",
        "Leave CSR approval to the controller manager and a dedicated, reviewed approver; remove certificatesigningrequests/approval from other subjects."
    ),
    rule!(
        Rbac012,
        Rbac,
        High,
        "Write access to admission webhook configurations",
        Some("5.1.12"),
        RBAC,
        &[],
        "Whoever controls a mutating or validating webhook configuration sees every admitted object (Secrets included) and can change or reject them.",
        "Keep webhook configurations under change control; limit write access to the operator that owns each configuration, by resourceNames."
    ),
    rule!(
        Rbac013,
        Rbac,
        Medium,
        "Creation of PersistentVolumes",
        Some("5.1.9"),
        RBAC,
        &[],
        "Creating a PersistentVolume with a hostPath gives access to the node's file system.",
        "Let a provisioner create volumes; give people PersistentVolumeClaims only."
    ),
    rule!(
        Rbac014,
        Rbac,
        Medium,
        "Write access to CustomResourceDefinitions",
        None,
        RBAC,
        &[],
        "Changing CRDs alters or removes whole APIs, including the ones security tooling relies on.",
        "Restrict CRD changes to the pipeline that installs operators."
    ),
    rule!(
        Rbac015,
        Rbac,
        Medium,
        "Patching namespaces (Pod Security labels)",
        None,
        RBAC,
        &[],
        "update or patch on namespaces can relax Pod Security Admission labels and NetworkPolicy selectors, undoing workload isolation.",
        "Manage namespace labels in the platform's configuration repository; remove namespace write access from others."
    ),
    rule!(
        Rbac016,
        Rbac,
        Medium,
        "Modifying node, pod or service status",
        None,
        RBAC,
        &[],
        "Writing status subresources lets the holder misreport health and addresses (for example CVE-2020-8554 through service status).",
        "Leave status updates to the controllers that own the objects."
    ),
    rule!(
        Rbac017,
        Rbac,
        Medium,
        "Deleting events or whole collections",
        None,
        RBAC,
        &[],
        "delete on events removes the record of what happened; deletecollection removes every object of a kind at once.",
        "Remove delete on events and deletecollection from standing roles."
    ),
    rule!(
        Rbac018,
        Rbac,
        Critical,
        "Grants to anonymous or unauthenticated users",
        None,
        RBAC,
        &[],
        "A binding to system:anonymous or system:unauthenticated gives its permissions to anyone who can reach the API server over the network.",
        "Delete the binding; if a health endpoint must be public, rely on the default system:public-info-viewer binding only."
    ),
    rule!(
        Rbac019,
        Rbac,
        High,
        "Broad grants to every authenticated user or every ServiceAccount",
        None,
        RBAC,
        &[],
        "A binding to system:authenticated or system:serviceaccounts gives its permissions to every user or every workload of the cluster, beyond Kubernetes' own discovery defaults.",
        "Bind the role to the specific groups or ServiceAccounts that need it."
    ),
    rule!(
        Rbac020,
        Rbac,
        Medium,
        "Binding to system:masters",
        None,
        RBAC,
        &[],
        "Members of system:masters bypass RBAC, so their access cannot be limited or revoked by editing bindings; a binding to the group suggests reliance on it.",
        "Issue no credentials in system:masters except for break-glass; bind people to ordinary groups."
    ),
    rule!(
        Rbac021,
        Hygiene,
        Medium,
        "Default ServiceAccount bound to a role",
        Some("5.1.5"),
        RBAC,
        &[],
        "Every pod that names no ServiceAccount runs as `default`, so a grant to it is shared by all of them and has no owner.",
        "Create a ServiceAccount per workload and bind the role to it; leave `default` without bindings."
    ),
    rule!(
        Rbac022,
        Hygiene,
        Low,
        "Binding to a role that does not exist",
        None,
        RBAC,
        &[],
        "The binding grants nothing today, but whoever creates a role with that name later gives its subjects the new role's permissions at once.",
        "Delete the binding, or create the intended role through review."
    ),
    rule!(
        Rbac023,
        Hygiene,
        Medium,
        "Binding to a ServiceAccount that does not exist",
        None,
        RBAC_AND_SA,
        &[],
        "Whoever creates a ServiceAccount with that name inherits the binding's permissions immediately; the binding outlived the identity it was for.",
        "Delete the binding, as part of removing the identity."
    ),
    rule!(
        Rbac024,
        Hygiene,
        Medium,
        "Legacy ServiceAccount token Secret",
        None,
        SECRETS,
        &[],
        "A Secret of type kubernetes.io/service-account-token holds a token that never expires; anyone who can read the Secret has the ServiceAccount's permissions until it is deleted.",
        "Delete the Secret and use short-lived tokens from the TokenRequest API (projected volumes)."
    ),
    rule!(
        Rbac025,
        Hygiene,
        High,
        "ClusterRole adds sensitive rules to the built-in roles through aggregation labels",
        None,
        CLUSTER_ROLES,
        &[],
        "A ClusterRole labelled rbac.authorization.k8s.io/aggregate-to-admin, -edit or -view silently adds its rules to admin, edit or view, and so to everyone bound to them.",
        "Remove the aggregation label, or remove the sensitive rules from the labelled ClusterRole."
    ),
    rule!(
        Rbac026,
        Escalation,
        Critical,
        "Cluster-admin equivalence through an escalation path",
        None,
        ESCALATION,
        &[],
        "The subject does not hold cluster-admin itself, but can reach it by moves the API server accepts: running pods as another ServiceAccount, reading its token, minting tokens, impersonating, issuing itself a client certificate, or binding and escalating roles (docs/escalation.md). One finding per binding that gives a first step.",
        "Remove the binding named as the cause (or the rule of its role the first step uses) for these subjects; each other way in is a finding of its own. Or move the privileged identity out of reach."
    ),
    rule!(
        Rbac027,
        Hygiene,
        Info,
        "Aggregated ClusterRole differs from its computed aggregation",
        None,
        CLUSTER_ROLES,
        &[],
        "The rules stored on an aggregated ClusterRole are overwritten by the aggregation controller; a difference means the snapshot did not go through the controller or the controller is not running. The tool uses the computed rules.",
        "Check that kube-controller-manager runs the clusterrole-aggregation controller; for dumps of manifests, nothing to do."
    ),
    rule!(
        Rbac028,
        Hygiene,
        Medium,
        "Binding with an unsupported roleRef kind",
        None,
        RBAC,
        &[],
        "roleRef.kind must be Role or ClusterRole (and ClusterRole in a ClusterRoleBinding); the binding grants nothing and indicates a broken or forged object.",
        "Delete the binding and recreate it with a valid roleRef."
    ),
    rule!(
        Sub001,
        SubProcessor,
        High,
        "Third-party access not in the sub-processor register",
        None,
        SUBPROC,
        &["inventory"],
        "An identity, webhook or APIService from outside the cluster's own teams holds cluster-wide or sensitive access, and no inventory entry claims it: a supplier with access that nobody assessed.",
        "Add the sub-processor to the inventory with an owner, purpose and declared access, or remove its access."
    ),
    rule!(
        Sub002,
        SubProcessor,
        Low,
        "Declared sub-processor not found in the cluster",
        None,
        SUBPROC,
        &["inventory"],
        "The register names identities that no longer exist in the cluster: the register is stale.",
        "Remove the entry (off-boarding) or correct its identities."
    ),
    rule!(
        Sub003,
        SubProcessor,
        High,
        "Sub-processor access beyond its declared scope",
        None,
        SUBPROC,
        &["inventory"],
        "The sub-processor's effective permissions (including what it can reach by escalation) exceed what the register declares and the contract allows.",
        "Reduce the grants listed in the finding, or review and update the declared access with the owner."
    ),
    rule!(
        Sub004,
        SubProcessor,
        Medium,
        "Sub-processor can read Secrets",
        None,
        SUBPROC,
        &["inventory"],
        "A third party that can read Secrets can read credentials of other systems; this is surfaced even when declared, because auditors sample it.",
        "Confirm the need with the owner and limit the access to the Secrets concerned."
    ),
    rule!(
        Sub005,
        SubProcessor,
        Medium,
        "Sub-processor certification missing",
        None,
        NONE,
        &["inventory"],
        "No SOC 2 Type II report or ISO 27001 certificate is recorded for the sub-processor, so its controls are unassessed.",
        "Obtain the supplier's current SOC 2 Type II report or ISO 27001 certificate and record it."
    ),
    rule!(
        Sub006,
        SubProcessor,
        High,
        "Sub-processor certification expired",
        None,
        NONE,
        &["inventory"],
        "The recorded ISO 27001 certificate has expired, or the SOC 2 report period ended more than twelve months ago.",
        "Obtain the current certificate or report, review it, and record it."
    ),
    rule!(
        Sub007,
        SubProcessor,
        Low,
        "Sub-processor certification expiring soon",
        None,
        NONE,
        &["inventory"],
        "The recorded certificate expires within the warning window.",
        "Request the renewed certificate from the supplier."
    ),
    rule!(
        Sub008,
        SubProcessor,
        Medium,
        "Sub-processor review overdue",
        None,
        NONE,
        &["inventory"],
        "The last review is older than the entry's review interval.",
        "Review the supplier (access, certifications, incidents) and record the date."
    ),
    rule!(
        Sub009,
        SubProcessor,
        Medium,
        "Sub-processor contract renewal passed",
        None,
        NONE,
        &["inventory"],
        "The recorded contract renewal date has passed: the DPA in force is unknown.",
        "Record the renewed contract, or off-board the supplier."
    ),
    rule!(
        Sub010,
        SubProcessor,
        Low,
        "Sub-processor certification review not recorded",
        None,
        NONE,
        &["inventory"],
        "A SOC 2 report is recorded without the date it was reviewed; auditors expect evidence that the report and its complementary user-entity controls were read.",
        "Review the report and record `reviewed`."
    ),
    rule!(
        Sub011,
        SubProcessor,
        Medium,
        "Sub-processor has no internal owner",
        None,
        NONE,
        &["inventory"],
        "Nobody here is accountable for the supplier: reviews, incidents and off-boarding have no owner.",
        "Record the person or team that owns the relationship."
    ),
    rule!(
        Sub012,
        SubProcessor,
        Medium,
        "No data processing agreement recorded",
        None,
        NONE,
        &["inventory"],
        "No signed DPA or contract date is recorded, so the security terms and the permitted access cannot be checked.",
        "Record the date the DPA was signed and its renewal date."
    ),
    rule!(
        Upd001,
        SubProcessor,
        Low,
        "Sub-processor image run by a mutable tag",
        None,
        NONE,
        &["inventory"],
        "A third party's workload names its image by a tag without a digest: the registry, or whoever controls the vendor's repository, can move the tag to other content, and nodes may run different builds under the same name. Which version of the supplier's software runs is then not recorded by the deployment.",
        "Pin the image by digest (`image@sha256:...`), updating the digest with each release the vendor ships."
    ),
    rule!(
        Upd002,
        SubProcessor,
        Medium,
        "Sub-processor image run by the latest tag",
        None,
        NONE,
        &["inventory"],
        "A third party's workload runs an image by `latest` or with no tag at all: it changes whenever the vendor pushes, with no release anyone approved, and a restart may bring a different build than the one reviewed.",
        "Run a named release of the vendor's image, pinned by digest, and update it through the change process."
    ),
    rule!(
        Upd003,
        SubProcessor,
        Medium,
        "Sub-processor software not updated in the update period",
        None,
        NONE,
        &["inventory", "image-history"],
        "A third party's pods have run the same image digest for longer than the update period (default 180 days), as the chain of packs shows: security fixes the vendor shipped since are not running. The finding is made only once the packs' record covers the whole period.",
        "Update the component to the vendor's current release, or record why this build is still supported (an exception with the vendor's statement)."
    ),
    rule!(
        Use001,
        Usage,
        Medium,
        "Privileged access not used in the usage window",
        None,
        RBAC,
        &["audit-log"],
        "A privileged grant (one a risk rule flags) was not exercised on any day of audit log seen in the usage window: access that is not needed is risk without purpose, and least privilege asks for it to go. The finding states how many days of log the claim rests on.",
        "Remove the binding, or narrow the role to what the subject used (see suggested-roles/ in the pack); if the access is for rare emergencies, record an exception that says so."
    ),
    rule!(
        Use002,
        Usage,
        Low,
        "Sub-processor access not used in the usage window",
        None,
        RBAC,
        &["audit-log", "inventory"],
        "A grant held by a sub-processor's identity was not exercised on any day of audit log seen in the usage window: the third party holds more than it uses.",
        "Ask the vendor which permissions its component needs and narrow its role to them (see suggested-roles/ in the pack)."
    ),
    rule!(
        Use003,
        Usage,
        Medium,
        "Request from a source address new for the subject",
        None,
        NONE,
        &["audit-log"],
        "A non-human identity made requests from an address it was never seen using in its baseline: its credentials may be used from somewhere else.",
        "Check where the address belongs (a new node, a moved workload, or not yours); rotate the identity's tokens if it is not explained."
    ),
    rule!(
        Use004,
        Usage,
        Medium,
        "Request rate far above the subject's baseline",
        None,
        NONE,
        &["audit-log"],
        "A non-human identity made requests at a rate many times its usual daily rate: a changed component, a loop, or someone else using its credentials.",
        "Find what changed (a new version, a configuration) or who else holds the credentials."
    ),
    rule!(
        Use005,
        Usage,
        Medium,
        "Spike of denied requests",
        None,
        NONE,
        &["audit-log"],
        "A non-human identity was denied many more requests than usual: it is probing for access it does not have, or its access was cut while it still needs it.",
        "Find out what it tried to do; if it is not the component's own behaviour, treat its credentials as compromised."
    ),
    rule!(
        Use006,
        Usage,
        High,
        "Secrets read by a sub-processor",
        None,
        NONE,
        &["audit-log", "inventory"],
        "A third party's identity read Secrets: the data the sub-processor agreement must cover, and what an attacker in the vendor's supply chain would want.",
        "Confirm the read is part of the vendor's declared function and covered by its agreement; otherwise remove the access and rotate the Secrets."
    ),
    rule!(
        Use007,
        Usage,
        Medium,
        "Requests by a subject that holds no grant",
        None,
        RBAC,
        &["audit-log"],
        "A non-human identity made requests although no RBAC binding names it or a group of its own: a leftover credential, access through another authorizer, or a grant removed while the component still runs.",
        "Find the component behind the identity; delete the credential if nothing needs it."
    ),
    rule!(
        Use008,
        Usage,
        High,
        "Exec, attach, node proxy, token or impersonation used by a non-human subject",
        None,
        NONE,
        &["audit-log"],
        "A non-human identity used pods/exec, pods/attach, nodes/proxy, serviceaccounts/token or impersonation: each runs as or reaches other identities and workloads, and is rarely part of a component's normal work.",
        "Confirm the use with the component's owner; remove the permission if it is not needed."
    ),
    rule!(
        Use009,
        Usage,
        Medium,
        "Secret reads by a sub-processor denied",
        None,
        NONE,
        &["audit-log", "inventory"],
        "A third party's identity tried to read Secrets and the API server refused: the vendor's software wants data its grants do not give it (probing, a changed agent, or a grant removed while it still needs it), and a denial is where a compromise shows before it succeeds.",
        "Ask the vendor what the read is for; if it is part of the declared function, grant it narrowly and cover it in the agreement, otherwise watch the identity and rotate its credentials."
    ),
    rule!(
        Rev001,
        Review,
        Medium,
        "Privileged access not reviewed in the review period",
        None,
        RBAC,
        &["access-review"],
        "A privileged grant of today's population has no review decision within the review period: periodic review of access is what CC6.2 and A.5.18 ask evidence of.",
        "Include it in the next campaign (`kube-evidence review start`), and have its reviewer decide."
    ),
    rule!(
        Rev002,
        Review,
        High,
        "Revocation not carried out by its deadline",
        None,
        RBAC,
        &["access-review"],
        "A reviewer decided to revoke or reduce a grant, and the grant is still in the cluster after the remediation deadline: the review found access inappropriate and it was not removed.",
        "Remove the binding (or narrow the role) as decided, or record why not in a new decision."
    ),
    rule!(
        Rev003,
        Review,
        Low,
        "Privileged access granted after the last review campaign",
        None,
        RBAC,
        &["access-review"],
        "A privileged grant appeared after the latest campaign froze its population, so no reviewer has seen it yet.",
        "Review it in the next campaign, or start one now if the grant is sensitive."
    ),
    rule!(
        Rev004,
        Review,
        Medium,
        "Access review campaign overdue",
        None,
        NONE,
        &["access-review"],
        "A campaign passed its due date with rows still undecided: the review did not happen in time.",
        "Chase the reviewers named in the finding (`kube-evidence review status`)."
    ),
    rule!(
        Rev005,
        Review,
        High,
        "Access assigned to its own holder for review",
        None,
        NONE,
        &["access-review"],
        "A campaign assigned a person's own access to that person: a review nobody independent performed is no review.",
        "Map the row to another reviewer (the reviewer map's default or a rule) and start a new campaign."
    ),
    rule!(
        Rev006,
        Review,
        Medium,
        "Review campaigns or decisions that do not count, or late decisions",
        None,
        NONE,
        &["access-review"],
        "A campaign in the store does not count (not signed by a key trusted for packs, changed after it started, copied to another place), or a decision file does not count (no signature, a signature that does not verify or is not the assigned reviewer's, rows that do not match the campaign or name another one) or came after the due date. Nothing of what does not count is taken as a review.",
        "For a campaign: find out who wrote it to the store, and start a new one with `kube-evidence review start` (signed with the key that signs packs). For a decision file: have the reviewer sign and submit the decisions again with `kube-evidence review submit`."
    ),
    rule!(
        Chg001,
        Change,
        Medium,
        "New privileged access since the previous pack",
        None,
        RBAC,
        &["period"],
        "A subject gained a privileged permission since the previous pack; each such change should trace to an approved change request.",
        "Reconcile the change with its approval (pull request or ticket), or revert it."
    ),
    rule!(
        Col001,
        Collection,
        High,
        "Collection incomplete",
        None,
        NONE,
        &[],
        "A resource kind the analysis needs was forbidden to the collector, failed, or was absent from the input; every verdict that depends on it is not assessed.",
        "Grant the collector the ClusterRole in deploy/ (get and list on every kind it reads), or dump every kind listed in kube-evidence's docs/cli.md (\"Dumping a cluster\")."
    ),
    rule!(
        Col002,
        Collection,
        Medium,
        "Gap in the evidence series",
        None,
        NONE,
        &["previous-pack"],
        "The previous pack is older than the expected schedule allows: a night (or more) has no evidence, so the period is not covered.",
        "Check the CronJob's history and logs; keep the schedule and the store's retention in line with the audit period."
    ),
    rule!(
        Col003,
        Collection,
        Low,
        "The audit log has gaps, unreadable lines or times ahead of the run",
        None,
        NONE,
        &["audit-log"],
        "Hours without any audit event, malformed lines or a log with no request outcome at all (a policy that omits ResponseComplete) mean the log does not show every request of the period: use may be missing from it, so unused access may be overstated. Events dated after the run mean a clock (an API server's, the log's) disagrees with the run's, or the log was written by hand: they are not used.",
        "Check the API server's audit backend (log rotation, the export to the bucket, the audit policy) for the times named, and the clocks (NTP) of the API servers and of the run for a log named as ahead."
    ),
    rule!(
        Exc001,
        Exception,
        Medium,
        "Exception expired",
        None,
        NONE,
        &[],
        "A risk acceptance passed its expiry date; the findings it covered count again.",
        "Renew the exception through review, or fix the findings."
    ),
    rule!(
        Exc002,
        Exception,
        Low,
        "Exception matches nothing",
        None,
        NONE,
        &[],
        "An exception in force covers no current finding: the register is stale or the exception is mistyped.",
        "Remove the exception or correct its rule and subject."
    ),
];

/// The catalog entry of a rule. The catalog lists the rules in [`RuleId`] order (a test checks
/// it), so every ID has its entry.
pub fn rule(id: RuleId) -> &'static RuleDef {
    &CATALOG[id as usize]
}

/// SHA-256 of the catalog as published (IDs, severities, texts): recorded in every manifest.
pub fn digest() -> String {
    crate::digest::sha256_hex(&serde_json::to_vec(CATALOG).expect("catalog serialises"))
}

/// The privileged capabilities a subject can hold (the access matrix's columns), each with the
/// rules that state it: two findings of rules of one capability about the same subject say it
/// holds the same thing.
pub const CAPABILITIES: &[(&str, &str, &[RuleId])] = &[
    (
        "clusterAdmin",
        "cluster-admin equivalence",
        &[RuleId::Rbac001, RuleId::Rbac026],
    ),
    (
        "readSecrets",
        "read Secrets",
        &[RuleId::Rbac003, RuleId::Rbac004],
    ),
    ("execAttach", "exec/attach", &[RuleId::Rbac005]),
    ("createWorkloads", "create workloads", &[RuleId::Rbac006]),
    ("rbacWrite", "RBAC write", &[RuleId::Rbac007]),
    ("impersonate", "impersonate", &[RuleId::Rbac008]),
    ("tokenMinting", "token minting", &[RuleId::Rbac009]),
    ("webhookWrite", "webhook write", &[RuleId::Rbac012]),
    ("nodeProxy", "node proxy", &[RuleId::Rbac010]),
];

/// The capability a rule states, if it is one of [`CAPABILITIES`].
pub fn capability_of(rule_id: RuleId) -> Option<&'static str> {
    CAPABILITIES
        .iter()
        .find(|(_, _, rules)| rules.contains(&rule_id))
        .map(|(key, _, _)| *key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_lists_every_rule_once_in_id_order() {
        let ids: Vec<RuleId> = CATALOG.iter().map(|r| r.id).collect();
        assert_eq!(ids, RuleId::ALL);
        for id in RuleId::ALL {
            assert_eq!(rule(*id).id, *id);
            assert_eq!(RuleId::parse(id.as_str()), Some(*id));
        }
        assert_eq!(RuleId::parse("KE-RBAC-999"), None);
    }

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut ids: Vec<&str> = CATALOG.iter().map(|r| r.id.as_str()).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "duplicate rule IDs");
        for r in CATALOG {
            let parts: Vec<&str> = r.id.as_str().split('-').collect();
            assert!(
                parts.len() == 3
                    && parts[0] == "KE"
                    && parts[2].len() == 3
                    && parts[2].chars().all(|c| c.is_ascii_digit()),
                "{}",
                r.id
            );
            assert!(r.title.len() < 100 && !r.rationale.is_empty() && !r.remediation.is_empty());
        }
    }
}
