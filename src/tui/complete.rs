//! Tab completion on the command line: the command itself, then its argument.

/// Completes the word being typed as far as the candidates agree. `candidates` is asked
/// with None for the command word, or with the command when its argument is being typed.
pub fn complete(
    text: &str,
    candidates: impl FnOnce(Option<&str>) -> Vec<String>,
) -> Option<String> {
    let (command, word) = match text.split_once(' ') {
        None => (None, text),
        Some((command, arg)) => (Some(command), arg.trim_start()),
    };
    if word.contains(' ') {
        return None;
    }
    let matches: Vec<String> = candidates(command)
        .into_iter()
        .filter(|c| c.starts_with(word))
        .collect();
    let done = common_prefix(&matches)?;
    if done.len() <= word.len() {
        return None;
    }
    Some(match command {
        None => done.to_string(),
        Some(command) => format!("{command} {done}"),
    })
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

    #[test]
    fn completes_a_unique_word_and_a_shared_prefix() {
        assert_eq!(complete("c", words).as_deref(), Some("ctx"));
        assert_eq!(complete("ctx s", words).as_deref(), Some("ctx staging"));
        assert_eq!(complete("ctx p", words).as_deref(), Some("ctx prod-"));
    }

    #[test]
    fn leaves_the_text_when_nothing_more_is_certain() {
        assert_eq!(complete("n", words), None, "nodes and ns share only n");
        assert_eq!(complete("ctx prod-", words), None);
        assert_eq!(complete("ctx x", words), None);
        assert_eq!(complete("quit now", words), None, "no candidates");
    }
}
