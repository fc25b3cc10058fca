#pragma once
/// @file
/// xml_error(): a small well-formedness check of XML text (enough for the SVG that svg_plot.hpp writes, and for
/// rejecting truncated or hand-broken files): one root element, matching start and end tags, quoted and unique
/// attributes, known entities, comments, processing instructions and CDATA. No DTDs, no namespaces validation.

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace strata::experiment {

namespace detail {

inline bool xml_name_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
inline bool xml_name_char(char c) {
    return xml_name_start(c) || std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.';
}

/// Checks the character data text[b, e): '<' never appears there, '&' only starts a known entity.
inline std::string xml_text_error(const std::string& text, std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
        if (text[i] == '<') return "'<' inside character data at offset " + std::to_string(i);
        if (text[i] != '&') continue;
        const std::size_t semi = text.find(';', i);
        if (semi == std::string::npos || semi >= e) return "unterminated entity at offset " + std::to_string(i);
        const std::string ent = text.substr(i + 1, semi - i - 1);
        bool ok = ent == "amp" || ent == "lt" || ent == "gt" || ent == "quot" || ent == "apos";
        if (!ok && ent.size() > 1 && ent[0] == '#') {
            const bool hex = ent[1] == 'x';
            ok = ent.size() > (hex ? 2u : 1u);
            for (std::size_t k = hex ? 2 : 1; k < ent.size(); ++k)
                ok = ok && (hex ? std::isxdigit(static_cast<unsigned char>(ent[k]))
                                : std::isdigit(static_cast<unsigned char>(ent[k])));
        }
        if (!ok) return "unknown entity '&" + ent + ";' at offset " + std::to_string(i);
        i = semi;
    }
    return "";
}

}  // namespace detail

/// The first well-formedness error of XML `text` as a message naming its byte offset, or "" when the text is
/// well-formed. Does not throw.
inline std::string xml_error(const std::string& text) {
    std::vector<std::string> open;
    std::size_t i = 0, roots = 0;
    const std::size_t n = text.size();
    auto at = [](std::size_t k) { return " at offset " + std::to_string(k); };
    while (i < n) {
        if (text[i] != '<') {
            const std::size_t next = std::min(text.find('<', i), n);
            if (open.empty()) {
                for (std::size_t k = i; k < next; ++k)
                    if (!std::isspace(static_cast<unsigned char>(text[k]))) return "text outside the root element" + at(k);
            } else if (auto e = detail::xml_text_error(text, i, next); !e.empty()) {
                return e;
            }
            i = next;
            continue;
        }
        if (text.compare(i, 4, "<!--") == 0) {
            const std::size_t end = text.find("-->", i + 4);
            if (end == std::string::npos) return "unterminated comment" + at(i);
            i = end + 3;
        } else if (text.compare(i, 9, "<![CDATA[") == 0) {
            if (open.empty()) return "CDATA outside the root element" + at(i);
            const std::size_t end = text.find("]]>", i + 9);
            if (end == std::string::npos) return "unterminated CDATA" + at(i);
            i = end + 3;
        } else if (text.compare(i, 2, "<?") == 0) {
            const std::size_t end = text.find("?>", i + 2);
            if (end == std::string::npos) return "unterminated processing instruction" + at(i);
            i = end + 2;
        } else if (text.compare(i, 2, "<!") == 0) {
            return "DTD declarations are not supported" + at(i);
        } else if (text.compare(i, 2, "</") == 0) {
            std::size_t k = i + 2;
            while (k < n && detail::xml_name_char(text[k])) ++k;
            const std::string name = text.substr(i + 2, k - i - 2);
            while (k < n && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
            if (k >= n || text[k] != '>') return "malformed end tag" + at(i);
            if (open.empty() || open.back() != name)
                return "end tag </" + name + "> does not match " + (open.empty() ? "anything" : "<" + open.back() + ">") + at(i);
            open.pop_back();
            i = k + 1;
        } else {
            std::size_t k = i + 1;
            if (k >= n || !detail::xml_name_start(text[k])) return "malformed start tag" + at(i);
            while (k < n && detail::xml_name_char(text[k])) ++k;
            const std::string name = text.substr(i + 1, k - i - 1);
            if (open.empty() && roots++ > 0) return "a second root element <" + name + ">" + at(i);
            std::set<std::string> attributes;
            for (;;) {
                const std::size_t before = k;
                while (k < n && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
                if (k >= n) return "unterminated start tag <" + name + ">" + at(i);
                if (text[k] == '>' || text.compare(k, 2, "/>") == 0) break;
                if (k == before || !detail::xml_name_start(text[k])) return "malformed attribute in <" + name + ">" + at(k);
                const std::size_t a = k;
                while (k < n && detail::xml_name_char(text[k])) ++k;
                const std::string attr = text.substr(a, k - a);
                if (!attributes.insert(attr).second) return "duplicate attribute '" + attr + "' in <" + name + ">" + at(a);
                while (k < n && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
                if (k >= n || text[k] != '=') return "attribute '" + attr + "' without a value" + at(a);
                ++k;
                while (k < n && std::isspace(static_cast<unsigned char>(text[k]))) ++k;
                if (k >= n || (text[k] != '"' && text[k] != '\'')) return "unquoted value of '" + attr + "'" + at(k);
                const std::size_t close = text.find(text[k], k + 1);
                if (close == std::string::npos) return "unterminated value of '" + attr + "'" + at(k);
                if (auto e = detail::xml_text_error(text, k + 1, close); !e.empty()) return e;
                k = close + 1;
            }
            if (text[k] == '/') {
                i = k + 2;
            } else {
                open.push_back(name);
                i = k + 1;
            }
        }
    }
    if (!open.empty()) return "element <" + open.back() + "> is not closed";
    if (roots == 0) return "no root element";
    return "";
}

}  // namespace strata::experiment
