//! Google Search grounding with deterministic local results: with `googleSearch` declared, a turn
//! that asks for a search is answered from three made-up results for its query, with the
//! `groundingMetadata` Google sends (the query, the search widget, the sources and which
//! sentence each supports). Nothing leaves the machine.

use protocol::wire::{
    GroundingChunk, GroundingMetadata, GroundingSupport, SearchEntryPoint, SearchResultMapping,
    Segment, WebChunk,
};

/// Words that ask for a search.
const SEARCH_WORDS: &[&str] = &[
    "search", "google", "news", "latest", "recent", "lookup", "find out", "look up",
];

/// Leading words that are not part of the query.
const PREAMBLE: &[&str] = &[
    "please", "can", "could", "you", "search", "for", "look", "up", "find", "out", "google",
];

/// Whether a user turn asks for a search.
pub(crate) fn wants_search(text: &str) -> bool {
    let lower = text.to_lowercase();
    SEARCH_WORDS.iter().any(|w| {
        lower
            .match_indices(w)
            .any(|(i, _)| !lower[..i].ends_with(char::is_alphanumeric))
    })
}

/// A grounded answer: the query, the sources, and the sentences they support.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Answer {
    pub(crate) query: String,
    sources: Vec<Source>,
    /// The spoken answer, and the byte range of each source's sentence in it.
    pub(crate) text: String,
    supports: Vec<(usize, usize)>,
}

#[derive(Debug, Clone, PartialEq)]
struct Source {
    uri: String,
    title: String,
    domain: String,
    snippet: String,
}

/// "Search for recent news about Google." -> "recent news about Google".
fn query(text: &str) -> String {
    let mut words: Vec<&str> = text.split_whitespace().collect();
    while words.len() > 1
        && PREAMBLE.contains(
            &words[0]
                .trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
                .as_str(),
        )
    {
        words.remove(0);
    }
    let q = words.join(" ");
    q.trim_end_matches(|c: char| !c.is_alphanumeric())
        .to_owned()
}

/// The emulator's answer to a search request.
pub(crate) fn answer(text: &str) -> Answer {
    let query = query(text);
    let slug: String = query
        .to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    let sources: Vec<Source> = [
        ("example.com", "overview"),
        ("example.org", "latest"),
        ("example.net", "background"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (domain, kind))| Source {
        uri: format!("https://{domain}/{slug}/{}", i + 1),
        title: format!("{query}: {kind}"),
        domain: (*domain).to_owned(),
        snippet: format!(
            "A local search result ({kind}) for \"{query}\", made up by the gemlive emulator."
        ),
    })
    .collect();
    let mut text = format!("I searched for {query}.");
    let mut supports = Vec::new();
    for (s, ordinal) in sources.iter().zip(["first", "second", "third"]) {
        text.push(' ');
        let start = text.len();
        text.push_str(&format!(
            "The {ordinal} result, {}, comes from {}.",
            s.title, s.domain
        ));
        supports.push((start, text.len()));
    }
    Answer {
        query,
        sources,
        text,
        supports,
    }
}

fn index(n: usize) -> Option<i32> {
    i32::try_from(n).ok().filter(|&n| n != 0)
}

impl Answer {
    /// The search widget: a chip linking to the query.
    fn entry_point(&self) -> SearchEntryPoint {
        let q: String = url::form_urlencoded::byte_serialize(self.query.as_bytes()).collect();
        SearchEntryPoint {
            rendered_content: Some(format!(
                "<div class=\"container\">\n  <div class=\"carousel\">\n    <a class=\"chip\" href=\"https://www.google.com/search?q={q}\">{}</a>\n  </div>\n</div>\n",
                html_escape(&self.query)
            )),
            ..SearchEntryPoint::default()
        }
    }

    /// One `groundingMetadata` per supported sentence, as the Gemini API sends them after the
    /// answer's audio.
    pub(crate) fn frames(&self) -> Vec<GroundingMetadata> {
        self.sources
            .iter()
            .zip(&self.supports)
            .enumerate()
            .map(|(i, (s, &(start, end)))| GroundingMetadata {
                search_entry_point: Some(self.entry_point()),
                grounding_chunks: Some(vec![GroundingChunk {
                    web: Some(WebChunk {
                        uri: Some(s.uri.clone()),
                        title: Some(s.title.clone()),
                        domain: Some(s.domain.clone()),
                        snippet: Some(s.snippet.clone()),
                        search_result_mapping: Some(SearchResultMapping {
                            result_index: index(i + 1),
                        }),
                    }),
                    reference_id: Some(format!("1.1.{}", i + 1)),
                    ..GroundingChunk::default()
                }]),
                grounding_supports: Some(vec![GroundingSupport {
                    segment: Some(Segment {
                        start_index: index(start),
                        end_index: index(end),
                        text: Some(self.text[start..end].to_owned()),
                        ..Segment::default()
                    }),
                    grounding_chunk_indices: Some(vec![0]),
                    origin: Some("POST_HOC_ANNOTATED".to_owned()),
                    ..GroundingSupport::default()
                }]),
                web_search_queries: Some(vec![self.query.clone()]),
                ..GroundingMetadata::default()
            })
            .collect()
    }

    /// The summary Vertex sends with `turnComplete`.
    pub(crate) fn summary(&self) -> GroundingMetadata {
        GroundingMetadata {
            web_search_queries: Some(vec![self.query.clone()]),
            search_entry_point: Some(self.entry_point()),
            retrieval_metadata: Some(serde_json::json!({})),
            ..GroundingMetadata::default()
        }
    }
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn searches_are_recognized_and_answered_deterministically() {
        assert!(wants_search("Search for recent news about Google."));
        assert!(wants_search("what's the latest on the Mars mission"));
        assert!(!wants_search("What is the weather in Paris?"));
        assert!(!wants_search("researchers say hello"));
        let a = answer("Search for recent news about Google.");
        assert_eq!(a, answer("Search for recent news about Google."));
        assert_eq!(a.query, "recent news about Google");
        let frames = a.frames();
        assert_eq!(frames.len(), 3);
        let support = &frames[1].grounding_supports.as_ref().unwrap()[0];
        let seg = support.segment.as_ref().unwrap();
        let (start, end) = (
            seg.start_index.unwrap() as usize,
            seg.end_index.unwrap() as usize,
        );
        assert_eq!(&a.text[start..end], seg.text.as_deref().unwrap());
        assert!(seg.text.as_deref().unwrap().contains("example.org"));
        let summary = a.summary();
        assert_eq!(
            summary.web_search_queries.as_deref(),
            Some(&["recent news about Google".to_owned()][..])
        );
        assert!(summary.grounding_chunks.is_none());
        assert!(
            summary
                .search_entry_point
                .unwrap()
                .rendered_content
                .unwrap()
                .contains("q=recent+news+about+Google")
        );
    }
}
