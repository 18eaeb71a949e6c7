//! Reading and validating an inventory: every problem in the file is reported at once with its
//! line and column (unknown keys, wrong types, invalid or future review dates, duplicate ids,
//! identities claimed twice, ServiceAccounts without a namespace, unknown access levels).

use super::model::*;
use crate::diag::{Diagnostics, Pos};
use crate::yaml::Node;
use crate::yaml::decode::{Decoder, Fields};
use chrono::NaiveDate;
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot read inventory {path}: {message}")]
    Read { path: String, message: String },
    #[error("cannot read inventory {path}")]
    ReadFile {
        path: String,
        #[source]
        source: crate::input::InputError,
    },
    #[error("invalid inventory:\n{0}")]
    Invalid(Diagnostics),
}

/// Parses and validates inventory text; `origin` names it in messages, `today` is the run's date
/// (review dates after it are errors).
pub fn parse(text: &str, origin: &str, today: NaiveDate) -> Result<Inventory, InventoryError> {
    let mut d = Decoder::new(origin);
    let Some(root) = d.single_document(
        text,
        "the inventory is empty",
        "an inventory file holds one YAML document",
    ) else {
        return Err(InventoryError::Invalid(d.diags));
    };
    let inventory = decode_inventory(&root, &mut d, today);
    match inventory {
        Some(inv) if d.diags.is_empty() => Ok(inv),
        _ => Err(InventoryError::Invalid(d.diags)),
    }
}

/// Reads and validates an inventory file.
pub fn load_file(path: &std::path::Path, today: NaiveDate) -> Result<Inventory, InventoryError> {
    let text = crate::input::read_text(path, crate::input::MAX_WRITTEN_FILE).map_err(|e| {
        InventoryError::ReadFile {
            path: path.display().to_string(),
            source: e,
        }
    })?;
    parse(&text, &path.display().to_string(), today)
}

fn decode_inventory(root: &Node, d: &mut Decoder, today: NaiveDate) -> Option<Inventory> {
    let mut f = d.map(root, "")?;
    let api_version = f
        .required(d, "apiVersion")
        .and_then(|n| d.string(n, "apiVersion"));
    if let Some(v) = &api_version
        && v != API_VERSION
    {
        d.error(
            f.key_pos("apiVersion"),
            format!("`apiVersion` must be `{API_VERSION}`, found `{v}`"),
        );
    }
    let kind = f.required(d, "kind").and_then(|n| d.string(n, "kind"));
    if let Some(k) = &kind
        && k != KIND
    {
        d.error(
            f.key_pos("kind"),
            format!("`kind` must be `{KIND}`, found `{k}`"),
        );
    }
    let settings = f
        .optional("settings")
        .map(|n| decode_settings(n, d))
        .unwrap_or_default();
    let internal = f
        .optional("internal")
        .map(|n| decode_internal(n, d))
        .unwrap_or_default();
    let mut entries = Vec::new();
    let mut positions: Vec<Pos> = Vec::new();
    if let Some(list) = f
        .required(d, "subProcessors")
        .and_then(|n| d.seq(n, "subProcessors"))
    {
        for item in list {
            if let Some(e) = decode_entry(item, d, today) {
                entries.push(e);
                positions.push(item.pos);
            }
        }
    }
    f.finish(d);
    check_uniqueness(root, &entries, &positions, d);
    Some(Inventory {
        api_version: api_version?,
        kind: kind?,
        settings,
        internal,
        sub_processors: entries,
    })
}

fn decode_settings(n: &Node, d: &mut Decoder) -> Settings {
    let mut s = Settings::default();
    if let Some(mut f) = d.map(n, "settings") {
        if let Some(v) = f
            .optional("expiryWarningDays")
            .and_then(|v| d.u64(v, "expiryWarningDays"))
        {
            s.expiry_warning_days = v.min(3650) as u32;
        }
        if let Some(v) = f
            .optional("soc2ReportMaxAgeMonths")
            .and_then(|v| d.u64(v, "soc2ReportMaxAgeMonths"))
        {
            s.soc2_report_max_age_months = v.min(120) as u32;
        }
        f.finish(d);
    }
    s
}

fn strings(f: &mut Fields<'_>, d: &mut Decoder, key: &'static str) -> Vec<String> {
    f.optional(key)
        .and_then(|n| d.string_list(n, key))
        .unwrap_or_default()
}

fn decode_internal(n: &Node, d: &mut Decoder) -> Internal {
    let Some(mut f) = d.map(n, "internal") else {
        return Internal::default();
    };
    let i = Internal {
        users: strings(&mut f, d, "users"),
        groups: strings(&mut f, d, "groups"),
        namespaces: strings(&mut f, d, "namespaces"),
        service_accounts: strings(&mut f, d, "serviceAccounts"),
    };
    f.finish(d);
    i
}

fn optional_text(f: &mut Fields<'_>, d: &mut Decoder, key: &'static str) -> Option<String> {
    f.optional(key)
        .and_then(|n| d.string(n, key))
        .filter(|s| !s.trim().is_empty())
}

/// A date that must not lie after the run's date (a review cannot have happened yet).
fn past_date(
    f: &mut Fields<'_>,
    d: &mut Decoder,
    key: &'static str,
    today: NaiveDate,
) -> Option<NaiveDate> {
    let n = f.optional(key)?;
    let date = d.date(n, key)?;
    if date > today {
        d.error(
            n.pos,
            format!("`{key}` {date} is in the future (today is {today})"),
        );
    }
    Some(date)
}

fn decode_entry(item: &Node, d: &mut Decoder, today: NaiveDate) -> Option<SubProcessor> {
    let mut f = d.map(item, "subProcessors[]")?;
    let id = f
        .required(d, "id")
        .and_then(|n| d.lowercase_id(n, "id", None));
    let name = f
        .required(d, "name")
        .and_then(|n| d.nonempty_string(n, "name"));
    let vendor = f
        .required(d, "vendor")
        .and_then(|n| d.nonempty_string(n, "vendor"));
    let purpose = optional_text(&mut f, d, "purpose");
    let owner = optional_text(&mut f, d, "owner");
    let data_categories = strings(&mut f, d, "dataCategories");
    let data_residency = match f.optional("dataResidency") {
        Some(n) if n.as_str().is_some() => vec![n.as_str().unwrap_or_default().to_string()],
        Some(n) => d.string_list(n, "dataResidency").unwrap_or_default(),
        None => Vec::new(),
    };
    let contract = f.optional("contract").and_then(|n| {
        let mut c = d.map(n, "contract")?;
        let out = Contract {
            dpa_signed: past_date(&mut c, d, "dpaSigned", today),
            renewal: c.optional("renewal").and_then(|v| d.date(v, "renewal")),
        };
        c.finish(d);
        Some(out)
    });
    let certifications = f
        .optional("certifications")
        .and_then(|n| d.seq(n, "certifications"))
        .map(|items| {
            items
                .iter()
                .filter_map(|c| decode_certification(c, d, today))
                .collect()
        })
        .unwrap_or_default();
    let last_reviewed = past_date(&mut f, d, "lastReviewed", today);
    let review_interval_days = match f.optional("reviewIntervalDays") {
        Some(n) => match d.u64(n, "reviewIntervalDays") {
            Some(0) => {
                d.error(n.pos, "`reviewIntervalDays` must be at least 1");
                365
            }
            Some(v) => v.min(36_500) as u32,
            None => 365,
        },
        None => 365,
    };
    let identities = f
        .required(d, "identities")
        .and_then(|n| decode_identities(n, d));
    let declared_access = f
        .required(d, "declaredAccess")
        .and_then(|n| decode_access(n, d));
    f.finish(d);
    Some(SubProcessor {
        id: id?,
        name: name?,
        vendor: vendor?,
        purpose,
        owner,
        data_categories,
        data_residency,
        contract,
        certifications,
        last_reviewed,
        review_interval_days,
        identities: identities?,
        declared_access: declared_access?,
    })
}

fn decode_certification(n: &Node, d: &mut Decoder, today: NaiveDate) -> Option<Certification> {
    let mut f = d.map(n, "certifications[]")?;
    let cert_type = f
        .required(d, "type")
        .and_then(|v| d.nonempty_string(v, "type"));
    let report_period_end = f
        .optional("reportPeriodEnd")
        .and_then(|v| d.date(v, "reportPeriodEnd"));
    let reviewed = past_date(&mut f, d, "reviewed", today);
    let expires = f.optional("expires").and_then(|v| d.date(v, "expires"));
    let reference = optional_text(&mut f, d, "reference");
    f.finish(d);
    let cert_type = cert_type?;
    if cert_type.starts_with("soc2") && report_period_end.is_none() {
        d.error(
            n.pos,
            format!("a `{cert_type}` certification needs `reportPeriodEnd`"),
        );
    }
    if cert_type.starts_with("iso") && expires.is_none() {
        d.error(
            n.pos,
            format!("an `{cert_type}` certification needs `expires`"),
        );
    }
    Some(Certification {
        cert_type,
        report_period_end,
        reviewed,
        expires,
        reference,
    })
}

fn decode_identities(n: &Node, d: &mut Decoder) -> Option<Identities> {
    let mut f = d.map(n, "identities")?;
    let sa_node = f.optional("serviceAccounts");
    let mut ids = Identities {
        service_accounts: Vec::new(),
        users: strings(&mut f, d, "users"),
        groups: strings(&mut f, d, "groups"),
        namespaces: strings(&mut f, d, "namespaces"),
        images: strings(&mut f, d, "images"),
        webhooks: strings(&mut f, d, "webhooks"),
        api_services: strings(&mut f, d, "apiServices"),
    };
    if let Some(items) = sa_node.and_then(|s| d.seq(s, "serviceAccounts")) {
        for item in items {
            let Some(text) = d.string(item, "serviceAccounts") else {
                continue;
            };
            match text.split_once('/') {
                Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                    ids.service_accounts.push(text)
                }
                _ => d.error(
                    item.pos,
                    format!(
                        "ServiceAccount `{text}` needs its namespace: write `NAMESPACE/{text}`"
                    ),
                ),
            }
        }
    }
    f.finish(d);
    if ids.is_empty() {
        d.error(n.pos, "`identities` names nothing: give at least one ServiceAccount, user, group, namespace, image, webhook or APIService");
    }
    Some(ids)
}

fn decode_access(n: &Node, d: &mut Decoder) -> Option<DeclaredAccess> {
    let mut f = d.map(n, "declaredAccess")?;
    let level = f.optional("level").and_then(|v| {
        let s = d.one_of(v, "level", &AccessLevel::names())?;
        AccessLevel::ALL
            .iter()
            .find(|(name, _)| *name == s)
            .map(|(_, l)| *l)
    });
    let rules_node = f.optional("rules");
    let rules: Vec<DeclaredRule> = rules_node
        .and_then(|r| d.seq(r, "rules"))
        .map(|items| items.iter().filter_map(|r| decode_rule(r, d)).collect())
        .unwrap_or_default();
    f.finish(d);
    match (n.key_pos("level").is_some(), rules_node.is_some()) {
        (true, true) => d.error(
            n.pos,
            "`declaredAccess` takes either `level` or `rules`, not both",
        ),
        (false, false) => d.error(
            n.pos,
            format!(
                "`declaredAccess` needs a `level` ({}) or `rules`",
                AccessLevel::names().join(", ")
            ),
        ),
        _ => {}
    }
    Some(DeclaredAccess { level, rules })
}

fn decode_rule(n: &Node, d: &mut Decoder) -> Option<DeclaredRule> {
    let mut f = d.map(n, "rules[]")?;
    let r = DeclaredRule {
        api_groups: strings(&mut f, d, "apiGroups"),
        resources: strings(&mut f, d, "resources"),
        verbs: f
            .required(d, "verbs")
            .and_then(|v| d.string_list(v, "verbs"))
            .unwrap_or_default(),
        non_resource_urls: strings(&mut f, d, "nonResourceURLs"),
        namespaces: strings(&mut f, d, "namespaces"),
    };
    f.finish(d);
    if r.resources.is_empty() && r.non_resource_urls.is_empty() {
        d.error(
            n.pos,
            "a declared rule needs `resources` (with `apiGroups`) or `nonResourceURLs`",
        );
    }
    if !r.resources.is_empty() && r.api_groups.is_empty() {
        d.error(
            n.pos,
            "a declared rule with `resources` needs `apiGroups` (\"\" is the core group)",
        );
    }
    Some(r)
}

/// Duplicate ids, and identities claimed by two entries, reported at the second claim.
fn check_uniqueness(root: &Node, entries: &[SubProcessor], positions: &[Pos], d: &mut Decoder) {
    let entry_nodes: Vec<&Node> = root
        .get("subProcessors")
        .and_then(Node::as_seq)
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let pos_of = |entry_pos: Pos, path: &[&str], value: &str| -> Pos {
        let Some(node) = entry_nodes.iter().find(|n| n.pos == entry_pos) else {
            return entry_pos;
        };
        let mut cur: &Node = node;
        for p in path {
            match cur.get(p) {
                Some(n) => cur = n,
                None => return entry_pos,
            }
        }
        cur.as_seq()
            .and_then(|items| items.iter().find(|i| i.as_str() == Some(value)))
            .map_or(cur.pos, |i| i.pos)
    };
    let mut ids: BTreeMap<&str, usize> = BTreeMap::new();
    let mut claims: BTreeMap<(&str, &str), &str> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        if let Some(first) = ids.insert(&e.id, i) {
            ids.insert(&entries[first].id, first);
            d.error(
                pos_of(positions[i], &["id"], &e.id),
                format!("duplicate sub-processor id `{}`", e.id),
            );
        }
        let lists: [(&str, &'static str, &Vec<String>); 7] = [
            (
                "ServiceAccount",
                "serviceAccounts",
                &e.identities.service_accounts,
            ),
            ("user", "users", &e.identities.users),
            ("group", "groups", &e.identities.groups),
            ("namespace", "namespaces", &e.identities.namespaces),
            ("image pattern", "images", &e.identities.images),
            ("webhook configuration", "webhooks", &e.identities.webhooks),
            ("APIService", "apiServices", &e.identities.api_services),
        ];
        for (what, key, values) in lists {
            for v in values {
                if let Some(other) = claims.insert((what, v), &e.id)
                    && other != e.id
                {
                    d.error(
                        pos_of(positions[i], &["identities", key], v),
                        format!("{what} `{v}` is claimed by both `{other}` and `{}`", e.id),
                    );
                }
            }
        }
    }
}
