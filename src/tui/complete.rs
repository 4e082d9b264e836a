//! Tab completion on the command line: the command itself, then its argument.

#[derive(Debug, PartialEq, Eq)]
pub enum Completion {
    /// The line completed as far as the candidates agree.
    Done(String),
    /// Nothing more is certain: what the word could become, for the user to read.
    Choices(Vec<String>),
    Nothing,
}

/// Completes the word being typed as far as the candidates agree. `candidates` is asked
/// with None for the command word, or with the command when its argument is being typed.
pub fn complete(text: &str, candidates: impl FnOnce(Option<&str>) -> Vec<String>) -> Completion {
    let (command, word) = match text.split_once(' ') {
        None => (None, text),
        Some((command, arg)) => (Some(command), arg.trim_start()),
    };
    if word.contains(' ') {
        return Completion::Nothing;
    }
    let matches: Vec<String> = candidates(command)
        .into_iter()
        .filter(|c| c.starts_with(word))
        .collect();
    match common_prefix(&matches) {
        None => Completion::Nothing,
        Some(done) if done.len() <= word.len() => Completion::Choices(matches),
        Some(done) => Completion::Done(match command {
            None => done.to_string(),
            Some(command) => format!("{command} {done}"),
        }),
    }
}

fn common_prefix(words: &[String]) -> Option<&str> {
    let (first, rest) = words.split_first()?;
    let len = rest.iter().fold(first.len(), |len, w| {
        first[..len]
            .char_indices()
            .zip(w.chars())
            .find(|((_, a), b)| a != b)
            .map_or(len.min(w.len()), |((i, _), _)| i)
    });
    Some(&first[..len])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(command: Option<&str>) -> Vec<String> {
        let list: &[&str] = match command {
            None => &["nodes", "ns", "ctx"],
            Some("ctx") => &["prod-eu", "prod-us", "staging"],
            _ => &[],
        };
        list.iter().map(|s| s.to_string()).collect()
    }

    fn done(text: &str) -> Completion {
        Completion::Done(text.into())
    }

    fn choices(words: &[&str]) -> Completion {
        Completion::Choices(words.iter().map(|w| w.to_string()).collect())
    }

    #[test]
    fn completes_a_unique_word_and_a_shared_prefix() {
        assert_eq!(complete("c", words), done("ctx"));
        assert_eq!(complete("ctx s", words), done("ctx staging"));
        assert_eq!(complete("ctx p", words), done("ctx prod-"));
    }

    #[test]
    fn lists_the_choices_when_nothing_more_is_certain() {
        assert_eq!(complete("n", words), choices(&["nodes", "ns"]));
        assert_eq!(complete("", words), choices(&["nodes", "ns", "ctx"]));
        assert_eq!(
            complete("ctx prod-", words),
            choices(&["prod-eu", "prod-us"])
        );
        assert_eq!(complete("ctx x", words), Completion::Nothing);
        assert_eq!(
            complete("quit now", words),
            Completion::Nothing,
            "no candidates"
        );
    }
}
