//! Segment rules (SPEC.md §5): which (R, F, M) score cell is which segment.
//!
//! A rule covers a box of cells. Where boxes overlap, the rule with the
//! lowest `priority` number wins; two different segments tied for the same
//! cell at the same priority make it ambiguous. A usable rule set maps every
//! one of the 5 × 5 × 5 cells to exactly one segment, reaches every segment
//! it names, and gives each segment one tier.

/// Scores run 1..=SCORE_MAX: the segment grid is a quintile grid.
pub const SCORE_MAX: i32 = 5;

#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub segment: String,
    pub tier: String,
    pub r: (i32, i32),
    pub f: (i32, i32),
    pub m: (i32, i32),
    pub priority: i32,
}

impl Rule {
    fn covers(&self, r: i32, f: i32, m: i32) -> bool {
        let within = |(lo, hi): (i32, i32), v: i32| lo <= v && v <= hi;
        within(self.r, r) && within(self.f, f) && within(self.m, m)
    }
}

/// (segment, tier, r, f, priority) of the spec's grid; every rule spans M 1–5.
const DEFAULT_GRID: [(&str, &str, (i32, i32), (i32, i32)); 10] = [
    ("Champions", "Champions", (5, 5), (4, 5)),
    ("Loyal", "Loyal", (3, 4), (4, 5)),
    ("Potential Loyalist", "Loyal", (4, 5), (2, 3)),
    ("New Customers", "Loyal", (5, 5), (1, 1)),
    ("Promising", "Loyal", (4, 4), (1, 1)),
    ("Need Attention", "Loyal", (3, 3), (3, 3)),
    ("About to Sleep", "At Risk", (3, 3), (1, 2)),
    ("At Risk", "At Risk", (1, 2), (3, 4)),
    ("Can't Lose", "At Risk", (1, 2), (5, 5)),
    ("Hibernating", "Churn Risk", (1, 2), (1, 2)),
];

/// The default rule set, in the spec's order (priority 1..10 = that order).
pub fn default_rules() -> Vec<Rule> {
    DEFAULT_GRID
        .iter()
        .zip(1..)
        .map(|((segment, tier, r, f), priority)| Rule {
            segment: segment.to_string(),
            tier: tier.to_string(),
            r: *r,
            f: *f,
            m: (1, SCORE_MAX),
            priority,
        })
        .collect()
}

/// The default segment of a cell, without allocating.
pub fn default_segment(r: i32, f: i32, m: i32) -> Option<&'static str> {
    if ![r, f, m].iter().all(|s| (1..=SCORE_MAX).contains(s)) {
        return None;
    }
    DEFAULT_GRID
        .iter()
        .find(|(_, _, (r0, r1), (f0, f1))| *r0 <= r && r <= *r1 && *f0 <= f && f <= *f1)
        .map(|(segment, ..)| *segment)
}

/// The default tier of a segment name (None for a name outside the grid).
pub fn default_tier(segment: &str) -> Option<&'static str> {
    DEFAULT_GRID.iter().find(|(s, ..)| *s == segment).map(|(_, tier, ..)| *tier)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// unmapped_cell, ambiguous_cell, unreachable_segment, inconsistent_tier, invalid_range
    pub problem: &'static str,
    pub segment: Option<String>,
    pub cell: Option<(i32, i32, i32)>,
    pub detail: String,
}

/// Every cell resolved to the index of its winning rule (None when unmapped
/// or ambiguous), plus every problem found.
#[derive(Debug, Clone)]
pub struct Resolution {
    pub rules: Vec<Rule>,
    cells: Vec<Option<usize>>,
    pub problems: Vec<Problem>,
}

fn cell_index(r: i32, f: i32, m: i32) -> usize {
    let s = SCORE_MAX as usize;
    ((r - 1) as usize * s + (f - 1) as usize) * s + (m - 1) as usize
}

pub fn resolve(rules: Vec<Rule>) -> Resolution {
    let mut problems = Vec::new();
    for rule in &rules {
        for (name, (lo, hi)) in [("r", rule.r), ("f", rule.f), ("m", rule.m)] {
            if !(1 <= lo && lo <= hi && hi <= SCORE_MAX) {
                problems.push(Problem {
                    problem: "invalid_range",
                    segment: Some(rule.segment.clone()),
                    cell: None,
                    detail: format!("{name} range {lo}..{hi} is not within 1..{SCORE_MAX} in ascending order"),
                });
            }
        }
    }
    let mut cells = Vec::with_capacity((SCORE_MAX * SCORE_MAX * SCORE_MAX) as usize);
    let mut reached = vec![false; rules.len()];
    for r in 1..=SCORE_MAX {
        for f in 1..=SCORE_MAX {
            for m in 1..=SCORE_MAX {
                let matching: Vec<usize> = (0..rules.len()).filter(|i| rules[*i].covers(r, f, m)).collect();
                let best = matching.iter().map(|i| rules[*i].priority).min();
                let winners: Vec<usize> =
                    matching.iter().copied().filter(|i| Some(rules[*i].priority) == best).collect();
                let mut segments: Vec<&str> = winners.iter().map(|i| rules[*i].segment.as_str()).collect();
                segments.sort_unstable();
                segments.dedup();
                let cell = Some((r, f, m));
                match segments.len() {
                    0 => {
                        problems.push(Problem {
                            problem: "unmapped_cell",
                            segment: None,
                            cell,
                            detail: format!("no rule covers r={r} f={f} m={m}"),
                        });
                        cells.push(None);
                    }
                    1 => {
                        for i in &winners {
                            reached[*i] = true;
                        }
                        cells.push(Some(winners[0]));
                    }
                    _ => {
                        problems.push(Problem {
                            problem: "ambiguous_cell",
                            segment: None,
                            cell,
                            detail: format!(
                                "r={r} f={f} m={m} is claimed at priority {} by {}",
                                best.unwrap_or_default(),
                                segments.join(", ")
                            ),
                        });
                        cells.push(None);
                    }
                }
            }
        }
    }
    let mut segments: Vec<&str> = rules.iter().map(|r| r.segment.as_str()).collect();
    segments.sort_unstable();
    segments.dedup();
    for segment in segments {
        let of_segment: Vec<usize> = (0..rules.len()).filter(|i| rules[*i].segment == segment).collect();
        if !of_segment.iter().any(|i| reached[*i]) {
            problems.push(Problem {
                problem: "unreachable_segment",
                segment: Some(segment.to_string()),
                cell: None,
                detail: format!("every cell of {segment} goes to another segment or is ambiguous"),
            });
        }
        let mut tiers: Vec<&str> = of_segment.iter().map(|i| rules[*i].tier.as_str()).collect();
        tiers.sort_unstable();
        tiers.dedup();
        if tiers.len() > 1 {
            problems.push(Problem {
                problem: "inconsistent_tier",
                segment: Some(segment.to_string()),
                cell: None,
                detail: format!("{segment} has rules in tiers {}", tiers.join(", ")),
            });
        }
    }
    Resolution { rules, cells, problems }
}

impl Resolution {
    /// The rule a cell resolves to; None outside 1..5 or for a broken cell.
    pub fn rule(&self, r: i32, f: i32, m: i32) -> Option<&Rule> {
        if ![r, f, m].iter().all(|s| (1..=SCORE_MAX).contains(s)) {
            return None;
        }
        self.cells[cell_index(r, f, m)].map(|i| &self.rules[i])
    }

    pub fn cells(&self) -> impl Iterator<Item = ((i32, i32, i32), Option<&Rule>)> + '_ {
        (1..=SCORE_MAX).flat_map(move |r| {
            (1..=SCORE_MAX)
                .flat_map(move |f| (1..=SCORE_MAX).map(move |m| ((r, f, m), self.rule(r, f, m))))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grid_is_complete_and_every_segment_reachable() {
        let res = resolve(default_rules());
        assert!(res.problems.is_empty(), "{:?}", res.problems);
        for ((r, f, m), rule) in res.cells() {
            assert_eq!(rule.map(|x| x.segment.as_str()), default_segment(r, f, m));
        }
    }

    #[test]
    fn default_cells_follow_the_spec_table() {
        assert_eq!(default_segment(5, 5, 1), Some("Champions"));
        assert_eq!(default_segment(5, 4, 3), Some("Champions"));
        assert_eq!(default_segment(3, 5, 5), Some("Loyal"));
        assert_eq!(default_segment(4, 2, 2), Some("Potential Loyalist"));
        assert_eq!(default_segment(5, 1, 5), Some("New Customers"));
        assert_eq!(default_segment(4, 1, 5), Some("Promising"));
        assert_eq!(default_segment(3, 3, 1), Some("Need Attention"));
        assert_eq!(default_segment(3, 2, 1), Some("About to Sleep"));
        assert_eq!(default_segment(2, 4, 1), Some("At Risk"));
        assert_eq!(default_segment(1, 5, 1), Some("Can't Lose"));
        assert_eq!(default_segment(2, 2, 5), Some("Hibernating"));
        assert_eq!(default_segment(0, 2, 5), None);
        assert_eq!(default_tier("Can't Lose"), Some("At Risk"));
        assert_eq!(default_tier("Hibernating"), Some("Churn Risk"));
    }

    #[test]
    fn gaps_overlaps_and_shadowed_segments_are_reported() {
        let mut rules = default_rules();
        rules.retain(|r| r.segment != "Promising"); // gap: r=4 f=1
        rules.push(Rule { segment: "VIP".into(), tier: "Champions".into(), r: (5, 5), f: (5, 5), m: (5, 5), priority: 1 });
        rules.push(Rule { segment: "Ghost".into(), tier: "Loyal".into(), r: (3, 3), f: (3, 3), m: (1, 1), priority: 99 });
        let res = resolve(rules);
        let kinds: Vec<(&str, Option<&str>)> =
            res.problems.iter().map(|p| (p.problem, p.segment.as_deref())).collect();
        assert_eq!(res.problems.iter().filter(|p| p.problem == "unmapped_cell").count(), 5);
        // VIP ties Champions at priority 1 on (5,5,5)
        assert!(res.problems.iter().any(|p| p.problem == "ambiguous_cell" && p.cell == Some((5, 5, 5))));
        assert!(kinds.contains(&("unreachable_segment", Some("Ghost"))));
        assert!(kinds.contains(&("unreachable_segment", Some("VIP"))));
        assert!(!kinds.contains(&("unreachable_segment", Some("Champions"))));
    }

    #[test]
    fn lower_priority_number_wins_an_overlap() {
        let mut rules = default_rules();
        rules.push(Rule { segment: "Whales".into(), tier: "Champions".into(), r: (4, 5), f: (4, 5), m: (5, 5), priority: 0 });
        let res = resolve(rules);
        assert!(res.problems.is_empty(), "{:?}", res.problems);
        assert_eq!(res.rule(5, 5, 5).unwrap().segment, "Whales");
        assert_eq!(res.rule(5, 5, 4).unwrap().segment, "Champions");
    }

    #[test]
    fn bad_ranges_and_mixed_tiers_are_reported() {
        let mut rules = default_rules();
        rules[0].r = (5, 6);
        rules.push(Rule { segment: "Loyal".into(), tier: "Gold".into(), r: (3, 3), f: (3, 3), m: (5, 5), priority: 0 });
        let res = resolve(rules);
        assert!(res.problems.iter().any(|p| p.problem == "invalid_range"));
        assert!(res.problems.iter().any(|p| p.problem == "inconsistent_tier"));
    }
}
