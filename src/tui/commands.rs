//! The `:` commands, in one list that the command line runs, completes and the help lists:
//! each registered view's names, then the others (the operations among them go through the
//! same dialog as their keys).

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
    /// An operation, named on the line instead of by the selected row.
    Op(OpCommand),
}

/// The operations the command line names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpCommand {
    Promote,
    Rollback,
    Weights,
    Approve,
    Train,
    Retrain,
    Drain,
    Cordon,
    Uncordon,
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

/// The command of a registered view: the names it declares.
fn view(view: View) -> Command {
    Command {
        names: view.def().commands,
        usage: "",
        run: Run::View(view),
        desc: "",
    }
}

const fn op(
    names: &'static [&'static str],
    usage: &'static str,
    op: OpCommand,
    desc: &'static str,
) -> Command {
    Command {
        names,
        usage,
        run: Run::Op(op),
        desc,
    }
}

/// Every command, in the help's order: the views' first, so that a name both a view and an
/// operation have (`canary`) finds the view when no argument follows.
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
    op(
        &["promote"],
        "MODEL VERSION",
        OpCommand::Promote,
        "Promote a version",
    ),
    op(
        &["rollback"],
        "MODEL",
        OpCommand::Rollback,
        "Roll a model's canary back",
    ),
    op(
        &["canary"],
        "MODEL VERSION=WEIGHT…",
        OpCommand::Weights,
        "Set a model's weights",
    ),
    op(
        &["approve"],
        "MODEL VERSION",
        OpCommand::Approve,
        "Approve a version",
    ),
    op(
        &["train"],
        "MODEL",
        OpCommand::Train,
        "Launch a training run (the form)",
    ),
    op(&["retrain"], "MODEL", OpCommand::Retrain, "Retrain a model"),
    op(&["drain"], "NODE", OpCommand::Drain, "Drain a node"),
    op(&["cordon"], "NODE", OpCommand::Cordon, "Cordon a node"),
    op(
        &["uncordon"],
        "NODE",
        OpCommand::Uncordon,
        "Uncordon a node",
    ),
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
        match also.is_empty() {
            true => desc.to_string(),
            false => format!("{desc} (also :{})", also.join(" :")),
        }
    }
}

/// The command `name` runs, given whether a word follows it: one that fits that first
/// (`:canary` opens the view, `:canary fraud v2=20 v1=80` sets weights), else any.
pub fn find(name: &str, with_argument: bool) -> Option<Command> {
    let named = || all().filter(|c| c.names.contains(&name));
    let fits = |c: &Command| c.usage.is_empty() != with_argument;
    named().find(fits).or_else(|| named().next())
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
            Some(Run::Op(OpCommand::Weights))
        );
        assert_eq!(find("ns", false).map(|c| c.run), Some(Run::Namespace));
        assert_eq!(
            find("gpus", true).map(|c| c.run),
            Some(Run::View(View::Gpus))
        );
        assert!(find("bogus", false).is_none());
    }
}
