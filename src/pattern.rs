//! Wildcard patterns (`*`, `?`) as OpenSSH matches principals and namespaces, used wherever a
//! person writes a pattern (allowed signers, reviewer maps): linear, never exponential.

/// `*` and `?` patterns, as OpenSSH matches principals and namespaces.
pub fn pattern_matches(pattern: &str, text: &str) -> bool {
    // Iterative wildcard matching: on a mismatch, only the most recent `*` takes one more
    // character, so the work is at most pattern × text (a recursive matcher is exponential on
    // patterns such as `*a*a*a*a*b` against a long run of `a`).
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}
