//! The built-in deterministic responder: what the emulated model says.

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) enum Role {
    User,
    Model,
}

/// One conversation turn as text (speech is kept as a `[speech: 1.2 s]` placeholder).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Turn {
    pub(crate) role: Role,
    pub(crate) text: String,
}

/// Placeholder transcript of `secs` seconds of user speech.
pub(crate) fn speech_placeholder(secs: f64) -> String {
    format!("[speech: {secs:.1} s]")
}

/// The seconds of speech a placeholder stands for.
pub(crate) fn speech_secs(text: &str) -> Option<f64> {
    text.strip_prefix("[speech: ")?
        .strip_suffix(" s]")?
        .parse()
        .ok()
}

fn words(s: &str) -> Vec<String> {
    s.split(|c: char| !(c.is_alphanumeric() || c == '\''))
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Words of the user's own text the responder repeats back at most.
const QUOTE_WORDS: usize = 40;

/// `text`, or its first [`QUOTE_WORDS`] words and an ellipsis.
fn quote(text: &str) -> String {
    let mut words = text.split_whitespace();
    let head: Vec<&str> = words.by_ref().take(QUOTE_WORDS).collect();
    let mut q = head.join(" ");
    if words.next().is_some() {
        q.push_str(" ...");
    }
    q
}

fn contains_seq(hay: &[String], needle: &[&str]) -> bool {
    hay.windows(needle.len())
        .any(|w| w.iter().zip(needle).all(|(a, b)| a == b))
}

/// The reply to the latest user turn `user`, given the `history` before it.
pub(crate) fn reply(user: &str, history: &[Turn], video_frames: usize) -> String {
    let user = user.trim();
    if let Some(secs) = speech_secs(user) {
        return format!("I heard {secs:.1} seconds of speech.");
    }
    let w = words(user);
    let prev_user = || {
        history
            .iter()
            .rev()
            .find(|t| t.role == Role::User)
            .map(|t| t.text.trim())
    };
    if contains_seq(&w, &["last", "question"]) || contains_seq(&w, &["previous", "question"]) {
        return match history
            .iter()
            .rev()
            .find(|t| t.role == Role::User && t.text.contains('?'))
        {
            Some(t) => format!("Your last question was: \"{}\"", quote(&t.text)),
            None => "You have not asked me a question before this one.".into(),
        };
    }
    if contains_seq(&w, &["what", "did", "i", "say"])
        || contains_seq(&w, &["my", "last", "message"])
    {
        return match prev_user() {
            Some(t) => format!("You said: \"{}\"", quote(t)),
            None => "You have not said anything before this.".into(),
        };
    }
    if let Some(i) = w.windows(3).position(|x| x == ["my", "name", "is"])
        && let Some(name) = user.split_whitespace().nth(i + 3)
    {
        let name = name.trim_matches(|c: char| !c.is_alphanumeric());
        return format!("Nice to meet you, {name}.");
    }
    if contains_seq(&w, &["what", "is", "my", "name"])
        || contains_seq(&w, &["what's", "my", "name"])
    {
        let known = history
            .iter()
            .rev()
            .filter(|t| t.role == Role::User)
            .find_map(|t| {
                let tw = words(&t.text);
                let i = tw.windows(3).position(|x| x == ["my", "name", "is"])?;
                t.text
                    .split_whitespace()
                    .nth(i + 3)
                    .map(|n| n.trim_matches(|c: char| !c.is_alphanumeric()).to_owned())
            });
        return match known {
            Some(n) => format!("Your name is {n}."),
            None => "You have not told me your name.".into(),
        };
    }
    if let Some(answer) = arithmetic(user) {
        return answer;
    }
    if contains_seq(&w, &["what", "do", "you", "see"]) || contains_seq(&w, &["can", "you", "see"]) {
        return match video_frames {
            0 => "I have not received any video frames.".into(),
            n => format!(
                "I have received {n} video frame{}.",
                if n == 1 { "" } else { "s" }
            ),
        };
    }
    if contains_seq(&w, &["can", "you", "hear", "me"]) || contains_seq(&w, &["are", "you", "there"])
    {
        return "Yes, I can hear you.".into();
    }
    if matches!(w.first().map(String::as_str), Some("hello" | "hi" | "hey")) {
        return "Hello! I am the gemlive emulator. How can I help you today?".into();
    }
    if user.is_empty() {
        return "I am listening.".into();
    }
    format!("You said: {}", quote(user))
}

/// `What is 10 + 10?` -> `10 + 10 is 20.`
fn arithmetic(text: &str) -> Option<String> {
    let spaced: String = text
        .chars()
        .flat_map(|c| {
            if "+*/×x".contains(c) && c != 'x' {
                vec![' ', c, ' ']
            } else {
                vec![c]
            }
        })
        .collect();
    let toks: Vec<&str> = spaced
        .split_whitespace()
        .map(|t| t.trim_end_matches(['?', '.', '!']))
        .collect();
    for win in toks.windows(3) {
        let (Ok(a), Ok(b)) = (win[0].parse::<f64>(), win[2].parse::<f64>()) else {
            continue;
        };
        let (sym, r) = match win[1] {
            "+" | "plus" => ("+", a + b),
            "-" | "minus" => ("-", a - b),
            "*" | "x" | "×" | "times" => ("*", a * b),
            "/" | "over" if b != 0.0 => ("/", a / b),
            _ => continue,
        };
        let fmt = |v: f64| {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                format!("{v}")
            }
        };
        return Some(format!("{} {sym} {} is {}.", fmt(a), fmt(b), fmt(r)));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(t: &str) -> Turn {
        Turn {
            role: Role::User,
            text: t.into(),
        }
    }

    #[test]
    fn answers_from_history() {
        let h = vec![
            user("What is 10 + 10?"),
            Turn {
                role: Role::Model,
                text: "10 + 10 is 20.".into(),
            },
            user("ok"),
        ];
        assert_eq!(
            reply("What was my last question?", &h, 0),
            "Your last question was: \"What is 10 + 10?\""
        );
        assert_eq!(reply("what did I say?", &h, 0), "You said: \"ok\"");
        assert_eq!(
            reply("What was my last question?", &[], 0),
            "You have not asked me a question before this one."
        );
        let h = vec![user("Hi, my name is Ada.")];
        assert_eq!(reply("What is my name?", &h, 0), "Your name is Ada.");
    }

    #[test]
    fn computes_and_greets() {
        assert_eq!(reply("What is 10 + 10?", &[], 0), "10 + 10 is 20.");
        assert_eq!(reply("what is 6 times 7", &[], 0), "6 * 7 is 42.");
        assert_eq!(reply("7/2?", &[], 0), "7 / 2 is 3.5.");
        assert!(reply("Hello", &[], 0).starts_with("Hello!"));
        assert_eq!(
            reply("[speech: 1.5 s]", &[], 0),
            "I heard 1.5 seconds of speech."
        );
        assert_eq!(
            reply("Tell me a story", &[], 0),
            "You said: Tell me a story"
        );
        let long = reply(&"la ".repeat(10_000), &[], 0);
        assert_eq!(long, format!("You said: {}...", "la ".repeat(40)));
        assert_eq!(
            reply("What do you see?", &[], 2),
            "I have received 2 video frames."
        );
    }
}
