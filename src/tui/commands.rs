//! The `:` commands, in one list that the command line runs, completes and the help lists:
//! each registered view's names, then the others. Commands not built yet are in it too, so
//! that they say so and what they wait for.

use super::views::View;

/// What a command does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    View(View),
    Namespace,
    Context,
    Theme,
    Help,
    Quit,
    /// Not built yet: the plan it is part of.
    Planned(&'static str),
}

#[derive(Debug, Clone, Copy)]
pub struct Command {
    /// Its name, then shorter or other names that run it too.
    pub names: &'static [&'static str],
    /// What may follow the name, as the help shows it; empty: nothing.
    pub usage: &'static str,
    pub run: Run,
    /// For the help; a view's is its title.
    desc: &'static str,
}

pub const LIFECYCLE: &str = "lifecycle operations";
const TRAINING: &str = "training operations";
const NODES: &str = "node operations";

/// The command of a registered view: the names it declares.
fn view(view: View) -> Command {
    Command {
        names: view.def().commands,
        usage: "",
        run: Run::View(view),
        desc: "",
    }
}

const fn planned(
    names: &'static [&'static str],
    usage: &'static str,
    plan: &'static str,
    desc: &'static str,
) -> Command {
    Command {
        names,
        usage,
        run: Run::Planned(plan),
        desc,
    }
}

/// Every command, in the help's order: the views' first, so that a name both a view and a
/// planned command have (`canary`) finds the view when no argument follows.
pub fn all() -> impl Iterator<Item = Command> {
    View::ALL
        .into_iter()
        .map(view)
        .chain(OTHERS.iter().copied())
}

const OTHERS: &[Command] = &[
    Command {
        names: &["ns"],
        usage: "[NAME|all]",
        run: Run::Namespace,
        desc: "Show one namespace, or all",
    },
    Command {
        names: &["ctx"],
        usage: "[NAME]",
        run: Run::Context,
        desc: "List the contexts, or switch to one",
    },
    Command {
        names: &["theme"],
        usage: "[NAME]",
        run: Run::Theme,
        desc: "List the themes, or use one",
    },
    Command {
        names: &["help"],
        usage: "",
        run: Run::Help,
        desc: "Show this help",
    },
    Command {
        names: &["quit", "q"],
        usage: "",
        run: Run::Quit,
        desc: "Quit mlxp",
    },
    planned(
        &["promote"],
        "MODEL VERSION",
        LIFECYCLE,
        "Promote a version",
    ),
    planned(&["rollback"], "MODEL", LIFECYCLE, "Roll a model back"),
    planned(
        &["canary"],
        "MODEL WEIGHT",
        LIFECYCLE,
        "Set a canary's weight",
    ),
    planned(
        &["approve"],
        "MODEL VERSION",
        LIFECYCLE,
        "Approve a gated step",
    ),
    planned(&["train"], "MODEL", TRAINING, "Launch a training run"),
    planned(&["retrain"], "MODEL", TRAINING, "Retrain a model"),
    planned(&["drain"], "NODE", NODES, "Drain a node"),
    planned(&["cordon"], "NODE", NODES, "Cordon a node"),
];

impl Command {
    pub fn name(&self) -> &'static str {
        self.names[0]
    }

    /// One line for the help.
    pub fn describe(&self) -> String {
        let desc = match self.run {
            Run::View(view) => view.title(),
            _ => self.desc,
        };
        let also = &self.names[1..];
        match (self.run, also.is_empty()) {
            (Run::Planned(_), _) => format!("{desc} (not built yet)"),
            (_, true) => desc.to_string(),
            (_, false) => format!("{desc} (also :{})", also.join(" :")),
        }
    }
}

/// The command `name` runs, given whether a word follows it: one that fits that first
/// (`:canary` opens the view, `:canary fraud 20` is the planned command), else any.
pub fn find(name: &str, with_argument: bool) -> Option<Command> {
    let named = || all().filter(|c| c.names.contains(&name));
    let fits = |c: &Command| c.usage.is_empty() != with_argument;
    named().find(fits).or_else(|| named().next())
}

/// "promote is not built yet (planned: lifecycle operations)"
pub fn not_built_yet(what: &str, plan: &str) -> String {
    format!("{what} is not built yet (planned: {plan})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_view_is_opened_by_its_command_name() {
        for view in View::ALL {
            let command = find(view.command(), false).expect("a command");
            assert_eq!(command.run, Run::View(view));
        }
    }

    #[test]
    fn a_name_with_an_argument_finds_the_command_taking_one() {
        assert_eq!(
            find("canary", false).map(|c| c.run),
            Some(Run::View(View::Serving))
        );
        assert_eq!(
            find("canary", true).map(|c| c.run),
            Some(Run::Planned(LIFECYCLE))
        );
        assert_eq!(find("ns", false).map(|c| c.run), Some(Run::Namespace));
        assert_eq!(
            find("gpus", true).map(|c| c.run),
            Some(Run::View(View::Gpus))
        );
        assert!(find("bogus", false).is_none());
    }
}
