//! A small, strict XML tree for SAML messages and metadata, built on quick-xml.
//!
//! Owns: turning untrusted bytes into a tree, refusing what SAML never needs — any DOCTYPE (so
//! no entity expansion, XXE or billion laughs), processing instructions, non-UTF-8 encodings,
//! unknown entity references, unbound prefixes, excessive depth or size.
//! Comments are dropped and the text around them is joined, which is what exclusive XML
//! canonicalization without comments (the transform SAML signatures use) signs: so
//! `victim@corp.com<!---->.evil.com` reads as `victim@corp.com.evil.com`, never as the first
//! text node only.
//! Must not touch: signatures or SAML semantics (see `validate`).

use quick_xml::NsReader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;

/// Nesting deeper than this is refused (real SAML documents are < 15 deep).
pub const MAX_DEPTH: usize = 48;
/// More elements than this are refused.
pub const MAX_ELEMENTS: usize = 20_000;

pub const NS_PROTOCOL: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub const NS_ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub const NS_METADATA: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
pub const NS_XSI: &str = "http://www.w3.org/2001/XMLSchema-instance";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("a DOCTYPE declaration is not allowed")]
    Doctype,
    #[error("processing instructions are not allowed")]
    ProcessingInstruction,
    #[error("only UTF-8 documents are accepted")]
    Encoding,
    #[error("an entity reference other than the predefined ones")]
    Entity,
    #[error("the document is nested too deeply")]
    TooDeep,
    #[error("the document has too many elements")]
    TooLarge,
    #[error("the document has no root element")]
    NoRoot,
    #[error("content after the root element")]
    TrailingContent,
    #[error("an element or attribute uses an undeclared namespace prefix")]
    UnboundPrefix,
    #[error("malformed XML: {0}")]
    Malformed(String),
}

/// The same child element appears more than once where one is allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// An element: namespace URI, local name, attributes (namespace declarations excluded) and
/// children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub ns: Option<String>,
    pub name: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    /// A comment sat directly inside this element (dropped from `children`). Exclusive C14N
    /// without comments leaves comments out of what a signature covers, so `validate` refuses
    /// them inside signed elements.
    pub comments: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub ns: Option<String>,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.name == name
    }

    /// An unqualified attribute (SAML's own attributes carry no prefix).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.name == name)
            .map(|a| a.value.as_str())
    }

    /// A namespaced attribute such as `xsi:type`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.name == name)
            .map(|a| a.value.as_str())
    }

    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(ns, name))
    }

    /// The only child with this name: `Ok(None)` when absent, `Err` when repeated.
    pub fn only_child(&self, ns: &str, name: &str) -> Result<Option<&Element>, Repeated> {
        let mut it = self.elements().filter(|e| e.is(ns, name));
        let first = it.next();
        if it.next().is_some() {
            return Err(Repeated);
        }
        Ok(first)
    }

    /// The element's text: every text child joined (comments were already dropped).
    /// `None` when the element has child elements (mixed content is never a SAML value).
    pub fn text(&self) -> Option<String> {
        let mut out = String::new();
        for c in &self.children {
            match c {
                Node::Text(t) => out.push_str(t),
                Node::Element(_) => return None,
            }
        }
        Some(out)
    }

    /// Every descendant element (self excluded), depth first.
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = Vec::new();
        let mut stack: Vec<&Element> = self.elements().collect();
        stack.reverse();
        while let Some(e) = stack.pop() {
            out.push(e);
            let mut kids: Vec<&Element> = e.elements().collect();
            kids.reverse();
            stack.extend(kids);
        }
        out
    }
}

/// Cheap refusal before any parser sees the bytes: a DOCTYPE or ENTITY declaration anywhere,
/// in any case. (The tree builder refuses them too; this keeps them away from libxml2.)
pub fn refuse_doctype(bytes: &[u8]) -> Result<(), XmlError> {
    const NEEDLES: [&[u8]; 2] = [b"<!doctype", b"<!entity"];
    for w in bytes.windows(9) {
        for n in NEEDLES {
            if w.len() >= n.len() && w[..n.len()].eq_ignore_ascii_case(n) {
                return Err(XmlError::Doctype);
            }
        }
    }
    Ok(())
}

fn ns_of(r: &ResolveResult<'_>) -> Result<Option<String>, XmlError> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(String::from_utf8_lossy(ns.as_ref()).into_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(_) => Err(XmlError::UnboundPrefix),
    }
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

fn push_text(children: &mut Vec<Node>, t: &str) {
    if let Some(Node::Text(prev)) = children.last_mut() {
        prev.push_str(t);
    } else {
        children.push(Node::Text(t.to_owned()));
    }
}

/// A new element from its start tag, with the count and depth limits.
fn open(
    reader: &NsReader<&[u8]>,
    s: &BytesStart<'_>,
    ns: Option<String>,
    count: &mut usize,
    depth: usize,
) -> Result<Element, XmlError> {
    *count += 1;
    if *count > MAX_ELEMENTS {
        return Err(XmlError::TooLarge);
    }
    if depth >= MAX_DEPTH {
        return Err(XmlError::TooDeep);
    }
    let mut attrs = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(malformed)?;
        let key = a.key.as_ref();
        if key == b"xmlns" || key.starts_with(b"xmlns:") {
            continue;
        }
        let (ans, local) = reader.resolver().resolve_attribute(a.key);
        let ans = ns_of(&ans)?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|_| XmlError::Entity)?
            .into_owned();
        attrs.push(Attr {
            ns: ans,
            name: String::from_utf8_lossy(local.as_ref()).into_owned(),
            value,
        });
    }
    Ok(Element {
        ns,
        name: String::from_utf8_lossy(s.local_name().as_ref()).into_owned(),
        attrs,
        children: Vec::new(),
        comments: false,
    })
}

/// Parse a UTF-8 document into its root element.
pub fn parse(input: &str) -> Result<Element, XmlError> {
    refuse_doctype(input.as_bytes())?;
    let mut reader = NsReader::from_str(input);
    reader.config_mut().check_end_names = true;
    reader.config_mut().check_comments = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let (ns, ev) = reader.read_resolved_event().map_err(malformed)?;
        let ns = ns_of(&ns);
        match ev {
            Event::Start(s) => {
                if root.is_some() {
                    return Err(XmlError::TrailingContent);
                }
                let el = open(&reader, &s, ns?, &mut count, stack.len())?;
                stack.push(el);
            }
            Event::Empty(s) => {
                if root.is_some() {
                    return Err(XmlError::TrailingContent);
                }
                let el = open(&reader, &s, ns?, &mut count, stack.len())?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::End(_) => {
                let el = stack.pop().ok_or_else(|| malformed("unmatched end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let t = t.xml10_content().map_err(malformed)?;
                match stack.last_mut() {
                    Some(parent) => push_text(&mut parent.children, &t),
                    None if t.trim().is_empty() => {}
                    None => return Err(malformed("text outside the root element")),
                }
            }
            Event::CData(c) => {
                let t = c.decode().map_err(malformed)?;
                match stack.last_mut() {
                    Some(parent) => push_text(&mut parent.children, &t),
                    None => return Err(malformed("CDATA outside the root element")),
                }
            }
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => {
                        let name = r.decode().map_err(malformed)?;
                        predefined(&name).ok_or(XmlError::Entity)?
                    }
                    Err(_) => return Err(XmlError::Entity),
                };
                let mut buf = [0u8; 4];
                match stack.last_mut() {
                    Some(parent) => push_text(&mut parent.children, ch.encode_utf8(&mut buf)),
                    None => return Err(malformed("reference outside the root element")),
                }
            }
            Event::Comment(_) => {
                if let Some(parent) = stack.last_mut() {
                    parent.comments = true;
                }
            }
            Event::Decl(d) => {
                if let Some(enc) = d.encoding() {
                    let enc = enc.map_err(malformed)?;
                    if !(enc.eq_ignore_ascii_case(b"utf-8") || enc.eq_ignore_ascii_case(b"utf8")) {
                        return Err(XmlError::Encoding);
                    }
                }
            }
            Event::PI(_) => return Err(XmlError::ProcessingInstruction),
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(malformed("unclosed element"));
    }
    root.ok_or(XmlError::NoRoot)
}

/// Escape text for an XML attribute value or element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_join_text_instead_of_truncating_it() {
        let e = parse("<a xmlns=\"urn:x\">victim@corp.com<!---->.evil.com</a>").unwrap();
        assert_eq!(e.text().as_deref(), Some("victim@corp.com.evil.com"));
        // The comment is noted on the element it sat in, and only there.
        assert!(e.comments);
        let e = parse("<a xmlns=\"urn:x\"><!-- c --><b>x</b></a>").unwrap();
        assert!(e.comments && !e.elements().next().unwrap().comments);
        assert!(!parse("<!-- before --><a/>").unwrap().comments);
        let e = parse("<a>x&amp;y&#x41;<![CDATA[<z>]]></a>").unwrap();
        assert_eq!(e.text().as_deref(), Some("x&yA<z>"));
    }

    #[test]
    fn hostile_shapes_are_refused() {
        let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><a>&lol2;</a>";
        assert_eq!(parse(bomb), Err(XmlError::Doctype));
        assert_eq!(refuse_doctype(b"<!dOcTyPe x>"), Err(XmlError::Doctype));
        assert_eq!(parse("<a>&ext;</a>"), Err(XmlError::Entity));
        assert_eq!(parse("<?pi x?><a/>"), Err(XmlError::ProcessingInstruction));
        assert_eq!(
            parse("<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>"),
            Err(XmlError::Encoding)
        );
        assert_eq!(parse("<a/><b/>"), Err(XmlError::TrailingContent));
        assert_eq!(parse("<p:a/>"), Err(XmlError::UnboundPrefix));
        assert_eq!(parse(""), Err(XmlError::NoRoot));
        assert!(parse("<a><b></a>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
    }

    #[test]
    fn namespaces_and_attributes_resolve() {
        let e = parse(
            "<p:R xmlns:p=\"urn:p\" xmlns:x=\"urn:x\" ID=\"i\" x:t=\"v\"><p:C/><q xmlns=\"urn:q\">t</q></p:R>",
        )
        .unwrap();
        assert!(e.is("urn:p", "R"));
        assert_eq!(e.attr("ID"), Some("i"));
        assert_eq!(e.attr_ns("urn:x", "t"), Some("v"));
        assert_eq!(e.attr("t"), None);
        assert_eq!(
            e.only_child("urn:p", "C").unwrap().map(|c| c.name.as_str()),
            Some("C")
        );
        assert_eq!(e.children_named("urn:q", "q").count(), 1);
        assert_eq!(e.descendants().len(), 2);
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&apos;"
        );
    }
}
