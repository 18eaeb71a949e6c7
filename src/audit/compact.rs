//! Small sorted collections for the usage record. A record holds one entry per subject and
//! access and per subject and day, each with a few source addresses: a log of a million users is
//! millions of one- or two-element sets, where a B-tree node (eleven slots) costs kilobytes and a
//! sorted vector of exactly the elements costs their size. Serialised as the sets they stand
//! for (sorted, without duplicates); read back sorted and deduplicated whatever the input.

use serde::{Deserialize, Deserializer, Serialize};

/// Room for one more element: exactly one while the vector is small (a vector's first growth
/// would make room for four, and most of these hold one or two), then the usual doubling.
pub fn reserve_small<T>(v: &mut Vec<T>) {
    if v.len() < 4 {
        v.reserve_exact(1);
    } else {
        v.reserve(1);
    }
}

/// A set of strings as a sorted vector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct StringSet(Vec<String>);

impl StringSet {
    pub fn new() -> Self {
        StringSet(Vec::new())
    }

    pub fn contains(&self, value: &str) -> bool {
        self.0.binary_search_by(|v| v.as_str().cmp(value)).is_ok()
    }

    /// Adds `value`; false when it was there already.
    pub fn insert(&mut self, value: &str) -> bool {
        match self.0.binary_search_by(|v| v.as_str().cmp(value)) {
            Ok(_) => false,
            Err(i) => {
                reserve_small(&mut self.0);
                self.0.insert(i, value.to_string());
                true
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a StringSet {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<String> for StringSet {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        let mut v: Vec<String> = iter.into_iter().collect();
        v.sort();
        v.dedup();
        StringSet(v)
    }
}

impl<'de> Deserialize<'de> for StringSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<String>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_set_is_sorted_unique_and_reads_back_as_one() {
        let mut s = StringSet::new();
        assert!(s.insert("b"));
        assert!(s.insert("a"));
        assert!(!s.insert("b"));
        assert!(s.contains("a") && !s.contains("c"));
        assert_eq!(serde_json::to_string(&s).unwrap(), r#"["a","b"]"#);
        let read: StringSet = serde_json::from_str(r#"["b","a","b"]"#).unwrap();
        assert_eq!(read, s);
        // The same JSON as the BTreeSet it replaces.
        let tree: std::collections::BTreeSet<String> = ["b", "a"].map(String::from).into();
        assert_eq!(
            serde_json::to_string(&tree).unwrap(),
            serde_json::to_string(&s).unwrap()
        );
    }
}

/// A map from days to values as a sorted vector of pairs, serialised as the map it stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayMap<V>(Vec<(chrono::NaiveDate, V)>);

impl<V> Default for DayMap<V> {
    fn default() -> Self {
        DayMap(Vec::new())
    }
}

impl<V: Default> DayMap<V> {
    /// The value of `day`, made empty when there is none.
    pub fn entry(&mut self, day: chrono::NaiveDate) -> &mut V {
        let i = match self.0.binary_search_by(|(d, _)| d.cmp(&day)) {
            Ok(i) => i,
            Err(i) => {
                reserve_small(&mut self.0);
                self.0.insert(i, (day, V::default()));
                i
            }
        };
        &mut self.0[i].1
    }
}

impl<V> IntoIterator for DayMap<V> {
    type Item = (chrono::NaiveDate, V);
    type IntoIter = std::vec::IntoIter<(chrono::NaiveDate, V)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<V> DayMap<V> {
    pub fn get(&self, day: &chrono::NaiveDate) -> Option<&V> {
        self.0
            .binary_search_by(|(d, _)| d.cmp(day))
            .ok()
            .map(|i| &self.0[i].1)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&chrono::NaiveDate, &V)> {
        self.0.iter().map(|(d, v)| (d, v))
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&chrono::NaiveDate, &mut V) -> bool) {
        self.0.retain_mut(|(d, v)| keep(d, v));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<V: Serialize> Serialize for DayMap<V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(d, v)| (d, v)))
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for DayMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<chrono::NaiveDate, V>::deserialize(d)?;
        Ok(DayMap(map.into_iter().collect()))
    }
}

#[cfg(test)]
mod day_map_tests {
    use super::*;

    #[test]
    fn a_day_map_reads_and_writes_as_the_map_it_replaces() {
        let day = |d: u32| chrono::NaiveDate::from_ymd_opt(2026, 12, d).unwrap();
        let mut m: DayMap<u64> = DayMap::default();
        *m.entry(day(3)) += 1;
        *m.entry(day(1)) += 2;
        *m.entry(day(3)) += 1;
        assert_eq!(m.get(&day(3)), Some(&2));
        let tree: std::collections::BTreeMap<chrono::NaiveDate, u64> =
            [(day(1), 2), (day(3), 2)].into();
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, serde_json::to_string(&tree).unwrap());
        assert_eq!(serde_json::from_str::<DayMap<u64>>(&json).unwrap(), m);
    }
}
