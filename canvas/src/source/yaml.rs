//! A YAML document as a small tree that remembers where each scalar's text
//! starts, built from yaml-rust2's marked events (its own `Yaml` type drops
//! positions, which the explanations need).

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::error::{CanvasError, Result};

#[derive(Clone, Debug, Default)]
pub struct Node {
    pub text: String,
    pub kind: Kind,
    /// 1-based line and column where the scalar's text starts.
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, Default)]
pub enum Kind {
    #[default]
    Scalar,
    Map(Vec<(Node, Node)>),
    Seq(Vec<Node>),
}

impl Node {
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_scalar(&self) -> bool {
        matches!(self.kind, Kind::Scalar)
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }
}

/// Deeper collections are dropped (no app nests near this; hostile input
/// could nest far enough to overflow the stack when the tree is dropped).
const MAX_NESTING: usize = 200;

struct Builder<'a> {
    lines: Vec<&'a str>,
    stack: Vec<Node>,
    done: Option<Node>,
    /// Collections opened past `MAX_NESTING` and not yet closed.
    skipped: usize,
}

impl Builder<'_> {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.done.is_none() {
                    self.done = Some(node);
                }
            }
            Some(parent) => match &mut parent.kind {
                Kind::Seq(s) => s.push(node),
                Kind::Map(m) => {
                    // Keys and values alternate: a pending key has an empty
                    // placeholder value marked by `u32::MAX` line.
                    match m.last_mut() {
                        Some((_, v)) if v.line == usize::MAX => *v = node,
                        _ => m.push((
                            node,
                            Node {
                                line: usize::MAX,
                                ..Node::default()
                            },
                        )),
                    }
                }
                Kind::Scalar => {}
            },
        }
    }

    /// Where a scalar's text starts: block scalars (`|-`) on the next line
    /// at its indentation, quoted ones one column after the quote.
    fn scalar_start(&self, style: TScalarStyle, mark: Marker) -> (usize, usize) {
        let line = mark.line();
        let col = mark.col() + 1;
        match style {
            // yaml-rust2 marks a block scalar where its text starts: on
            // the line after `|-`, maybe before the indentation.
            TScalarStyle::Literal | TScalarStyle::Folded => {
                let text = self
                    .lines
                    .get(line.saturating_sub(1))
                    .copied()
                    .unwrap_or("");
                let indent = text.len() - text.trim_start().len();
                (line, indent + 1)
            }
            TScalarStyle::SingleQuoted | TScalarStyle::DoubleQuoted => (line, col + 1),
            _ => (line, col),
        }
    }
}

impl MarkedEventReceiver for Builder<'_> {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.skipped > 0 || self.stack.len() >= MAX_NESTING {
            match ev {
                Event::MappingStart(..) | Event::SequenceStart(..) => self.skipped += 1,
                Event::MappingEnd | Event::SequenceEnd if self.skipped > 0 => self.skipped -= 1,
                Event::MappingEnd | Event::SequenceEnd => {
                    if let Some(n) = self.stack.pop() {
                        self.push_value(n);
                    }
                }
                _ => {}
            }
            return;
        }
        match ev {
            Event::Scalar(text, style, _, _) => {
                let (line, column) = self.scalar_start(style, mark);
                self.push_value(Node {
                    text,
                    kind: Kind::Scalar,
                    line,
                    column,
                });
            }
            Event::MappingStart(..) => self.stack.push(Node {
                kind: Kind::Map(Vec::new()),
                line: mark.line(),
                column: mark.col() + 1,
                ..Node::default()
            }),
            Event::SequenceStart(..) => self.stack.push(Node {
                kind: Kind::Seq(Vec::new()),
                line: mark.line(),
                column: mark.col() + 1,
                ..Node::default()
            }),
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(n) = self.stack.pop() {
                    self.push_value(n);
                }
            }
            // Aliases are not used by Studio; an alias reads as empty.
            Event::Alias(_) => self.push_value(Node::default()),
            _ => {}
        }
    }
}

/// Parses the first document of `text`; errors name the file, line, column.
pub fn parse(file: &str, text: &str) -> Result<Node> {
    let mut b = Builder {
        lines: text.lines().collect(),
        stack: Vec::new(),
        done: None,
        skipped: 0,
    };
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| CanvasError::Yaml {
        file: file.to_string(),
        line: e.marker().line(),
        column: e.marker().col() + 1,
        message: e.info().to_string(),
    })?;
    Ok(b.done.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_plain_block_and_quoted_scalars() {
        let text = "A As screen:\n    Items: =Filter(T, x)\n    OnSelect: |-\n        =Set(a, 1);\n        Set(b, 2)\n    Text: \"=\\\"a\\\"\"\n";
        let doc = parse("f.yaml", text).unwrap();
        let a = doc.get("A As screen").unwrap();
        let items = a.get("Items").unwrap();
        assert_eq!(
            (items.text.as_str(), items.line, items.column),
            ("=Filter(T, x)", 2, 12)
        );
        let on = a.get("OnSelect").unwrap();
        assert_eq!(
            (on.text.as_str(), on.line, on.column),
            ("=Set(a, 1);\nSet(b, 2)", 4, 9)
        );
        let t = a.get("Text").unwrap();
        assert_eq!((t.text.as_str(), t.line, t.column), ("=\"a\"", 6, 12));
    }

    #[test]
    fn bad_yaml_is_an_error_with_a_position() {
        let e = parse("f.yaml", "a: [1, 2\nb: c\n").unwrap_err().to_string();
        assert!(e.contains("f.yaml:"), "{e}");
    }
}
