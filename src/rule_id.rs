//! Rule IDs: the stable `KE-<FAMILY>-<NNN>` name of every rule, as a type. It sits below the
//! findings and exceptions that carry it, so every stage names a rule by the same value and a
//! mistyped ID does not compile; the catalog (`rules::catalog`) gives each its text.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

macro_rules! rule_ids {
    ($($variant:ident => $text:literal,)*) => {
        /// A rule's stable ID. Code names rules only through these variants, so a mistyped ID
        /// does not compile; IDs read from outside (exceptions, control files, previous packs)
        /// go through [`RuleId::parse`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum RuleId {
            $($variant,)*
        }

        impl RuleId {
            /// Every rule, in catalog order.
            pub const ALL: &'static [RuleId] = &[$(RuleId::$variant,)*];

            /// The ID as published: `KE-<FAMILY>-<NNN>`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(RuleId::$variant => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<RuleId> {
                match text {
                    $($text => Some(RuleId::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

rule_ids! {
    Rbac001 => "KE-RBAC-001",
    Rbac002 => "KE-RBAC-002",
    Rbac003 => "KE-RBAC-003",
    Rbac004 => "KE-RBAC-004",
    Rbac005 => "KE-RBAC-005",
    Rbac006 => "KE-RBAC-006",
    Rbac007 => "KE-RBAC-007",
    Rbac008 => "KE-RBAC-008",
    Rbac009 => "KE-RBAC-009",
    Rbac010 => "KE-RBAC-010",
    Rbac011 => "KE-RBAC-011",
    Rbac012 => "KE-RBAC-012",
    Rbac013 => "KE-RBAC-013",
    Rbac014 => "KE-RBAC-014",
    Rbac015 => "KE-RBAC-015",
    Rbac016 => "KE-RBAC-016",
    Rbac017 => "KE-RBAC-017",
    Rbac018 => "KE-RBAC-018",
    Rbac019 => "KE-RBAC-019",
    Rbac020 => "KE-RBAC-020",
    Rbac021 => "KE-RBAC-021",
    Rbac022 => "KE-RBAC-022",
    Rbac023 => "KE-RBAC-023",
    Rbac024 => "KE-RBAC-024",
    Rbac025 => "KE-RBAC-025",
    Rbac026 => "KE-RBAC-026",
    Rbac027 => "KE-RBAC-027",
    Rbac028 => "KE-RBAC-028",
    Sub001 => "KE-SUB-001",
    Sub002 => "KE-SUB-002",
    Sub003 => "KE-SUB-003",
    Sub004 => "KE-SUB-004",
    Sub005 => "KE-SUB-005",
    Sub006 => "KE-SUB-006",
    Sub007 => "KE-SUB-007",
    Sub008 => "KE-SUB-008",
    Sub009 => "KE-SUB-009",
    Sub010 => "KE-SUB-010",
    Sub011 => "KE-SUB-011",
    Sub012 => "KE-SUB-012",
    Upd001 => "KE-UPD-001",
    Upd002 => "KE-UPD-002",
    Upd003 => "KE-UPD-003",
    Use001 => "KE-USE-001",
    Use002 => "KE-USE-002",
    Use003 => "KE-USE-003",
    Use004 => "KE-USE-004",
    Use005 => "KE-USE-005",
    Use006 => "KE-USE-006",
    Use007 => "KE-USE-007",
    Use008 => "KE-USE-008",
    Use009 => "KE-USE-009",
    Rev001 => "KE-REV-001",
    Rev002 => "KE-REV-002",
    Rev003 => "KE-REV-003",
    Rev004 => "KE-REV-004",
    Rev005 => "KE-REV-005",
    Rev006 => "KE-REV-006",
    Chg001 => "KE-CHG-001",
    Col001 => "KE-COL-001",
    Col002 => "KE-COL-002",
    Col003 => "KE-COL-003",
    Exc001 => "KE-EXC-001",
    Exc002 => "KE-EXC-002",
}

/// IDs sort as their text does, as they always have in every report.
impl Ord for RuleId {
    fn cmp(&self, other: &RuleId) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for RuleId {
    fn partial_cmp(&self, other: &RuleId) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Read back from a pack: an ID this version does not know is refused with its text (a pack
/// made by a newer version, or edited), never read as some other rule.
impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<RuleId, D::Error> {
        let text = String::deserialize(d)?;
        RuleId::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown rule ID {text:?} (a pack made by a newer version of kube-evidence?)"
            ))
        })
    }
}

/// Published as its text.
impl JsonSchema for RuleId {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RuleId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "enum": RuleId::ALL.iter().map(|id| id.as_str()).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_back_as_written_and_unknown_ones_are_refused_by_name() {
        for id in RuleId::ALL {
            let text = serde_json::to_string(id).unwrap();
            assert_eq!(serde_json::from_str::<RuleId>(&text).unwrap(), *id);
        }
        let e = serde_json::from_str::<RuleId>("\"KE-RBAC-999\"").unwrap_err();
        assert!(
            e.to_string().contains("unknown rule ID \"KE-RBAC-999\""),
            "{e}"
        );
    }
}
