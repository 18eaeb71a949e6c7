//! How much of a cluster the human reports show. Every list a person reads is capped here, and
//! what a cap leaves out is counted and named by the machine-readable file that holds all of it
//! (findings.json, the CSVs, access-population.csv.gz). The caps, not the cluster, bound the
//! size of report.html and report.pdf: a list is at most [`LIST`] long, a text at most [`TEXT`]
//! characters, and the few longer tables have their own caps below. A test walks the serialised
//! model and holds every list and text to these numbers, and a property test renders many
//! generated cluster shapes against the page and byte bounds.

/// Findings shown in full (subjects, grants, path, remediation), most severe first: every
/// critical finding up to this many, then the next most severe.
pub const FINDINGS_IN_FULL: usize = 30;

/// Items of each list of a finding shown in full (subjects, objects, grants, path steps,
/// controls).
pub const FINDING_LIST: usize = 10;

/// Findings shown as one line each after those in full, most severe first.
pub const FINDING_ROWS: usize = 200;

/// The bindings and roles that give the most subjects a finding's capability.
pub const CAUSES: usize = 25;

/// Rules in the findings-by-rule table (the catalog has fewer; the cap guards the bound).
pub const RULES: usize = 100;

/// Rows of the privileged access matrix (subjects reaching cluster-admin first).
pub const MATRIX_ROWS: usize = 200;

/// Rows of the other tables that grow with the cluster or its history: system findings, the
/// register, use of access, exceptions, grant and object changes.
pub const TABLE_ROWS: usize = 100;

/// Items of any other list (a control's findings, a campaign's revocations, new findings...).
pub const LIST: usize = 20;

/// Items of each list in a row of the sub-processor register (identities found and missing,
/// certifications, data categories): the register's narrow columns make every item tall.
pub const REGISTER_LIST: usize = 3;

/// The longest item or text in a row of the sub-processor register.
pub const REGISTER_TEXT: usize = 60;

/// Access review campaigns shown.
pub const CAMPAIGNS: usize = 5;

/// The longest sentence a report shows (a finding's title, summary or remediation, a control's
/// reason), in characters; longer text is cut with a note of how much was left out
/// (findings.json or the CSVs hold it whole).
pub const TEXT: usize = 600;

/// The longest item of a list or cell of a table (a grant, a change, an exception's reason).
pub const LINE: usize = 300;

/// The summary of a finding shown in one line.
pub const ROW_TEXT: usize = 240;

/// The longest name a report shows (a subject, an object, a binding): Kubernetes object names
/// are at most 253 characters, but user and group names in bindings are not checked at all.
pub const NAME: usize = 100;

/// The largest list a model may hold anywhere: the longest of the caps above, plus the line
/// that says how many more there are.
pub const MAX_LIST: usize = 1 + max(
    max(
        max(FINDINGS_IN_FULL, FINDING_ROWS),
        max(max(FINDING_LIST, RULES), REGISTER_LIST),
    ),
    max(
        max(CAUSES, MATRIX_ROWS),
        max(max(TABLE_ROWS, LIST), CAMPAIGNS),
    ),
);

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// `text` cut to [`TEXT`] characters, saying how many were left out.
pub fn clip(text: &str) -> String {
    clip_to(text, TEXT)
}

/// A list item or table cell cut to [`LINE`] characters.
pub fn line(text: &str) -> String {
    clip_to(text, LINE)
}

/// A register cell's item cut to [`REGISTER_TEXT`] characters.
pub fn register_text(text: &str) -> String {
    clip_to(text, REGISTER_TEXT)
}

/// A name cut to [`NAME`] characters.
pub fn name(text: &str) -> String {
    clip_to(text, NAME)
}

/// `text` cut to `limit` characters (on a character boundary), saying how many were left out.
pub fn clip_to(text: &str, limit: usize) -> String {
    let total = text.chars().count();
    if total <= limit {
        return text.to_string();
    }
    // Room for the note, so the result stays within the limit.
    let note = format!(" … ({} more characters)", total);
    let keep = limit.saturating_sub(note.chars().count());
    let mut out: String = text.chars().take(keep).collect();
    out.push_str(&format!(" … ({} more characters)", total - keep));
    out
}

/// The first `cap` items, and how many were left out.
pub fn take<T>(items: impl IntoIterator<Item = T>, cap: usize) -> (Vec<T>, usize) {
    let mut shown = Vec::new();
    let mut left = 0;
    for item in items {
        if shown.len() < cap {
            shown.push(item);
        } else {
            left += 1;
        }
    }
    (shown, left)
}

/// The sentence under a capped table: empty when nothing was left out.
pub fn more_note(shown: usize, left: usize, what: &str, file: &str) -> String {
    if left == 0 {
        String::new()
    } else {
        format!(
            "The first {shown} of {} {what} are shown; {file} lists them all.",
            shown + left
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipped_text_stays_within_the_limit_and_counts_what_it_left_out() {
        let long = "é".repeat(5_000);
        let c = clip(&long);
        assert!(c.chars().count() <= TEXT, "{}", c.chars().count());
        let kept = c.chars().take_while(|ch| *ch == 'é').count();
        assert!(c.ends_with(&format!("({} more characters)", 5_000 - kept)));
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn take_keeps_the_first_and_counts_the_rest() {
        let (shown, left) = take(0..10, 3);
        assert_eq!((shown, left), (vec![0, 1, 2], 7));
        assert_eq!(
            more_note(3, 7, "rows", "x.csv"),
            "The first 3 of 10 rows are shown; x.csv lists them all."
        );
        assert_eq!(more_note(3, 0, "rows", "x.csv"), "");
    }
}
