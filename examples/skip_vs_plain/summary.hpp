#pragma once
/// @file
/// MarkdownTable: a results table rendered as GitHub-flavoured Markdown with padded columns (readable both as
/// plain text on a terminal and rendered), plus number formatting helpers for its cells.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "strata/core/error.hpp"

namespace strata::experiment {

/// A Markdown table: a header row and data rows of the same width; columns left- or right-aligned.
class MarkdownTable {
public:
    /// A table with these column headers. Throws ArgumentError on an empty header.
    /// @throws ArgumentError on an empty header.
    explicit MarkdownTable(std::vector<std::string> header) : header_(std::move(header)), right_(header_.size(), false) {
        check<ArgumentError>(!header_.empty(), "MarkdownTable: needs at least one column");
    }

    /// Right-aligns column `c` (numbers). Throws ArgumentError on a column out of range.
    /// @throws ArgumentError when column `c` does not exist.
    MarkdownTable& align_right(std::size_t c) {
        check<ArgumentError>(c < header_.size(), "MarkdownTable: column ", c, " of ", header_.size());
        right_[c] = true;
        return *this;
    }

    /// Appends a row. Throws ArgumentError unless it has one cell per column.
    /// @throws ArgumentError unless there is one cell per column.
    void add_row(std::vector<std::string> cells) {
        check<ArgumentError>(cells.size() == header_.size(), "MarkdownTable: row of ", cells.size(),
                             " cells for ", header_.size(), " columns");
        rows_.push_back(std::move(cells));
    }

    /// Data rows added so far.
    std::size_t rows() const { return rows_.size(); }
    /// Number of columns.
    std::size_t columns() const { return header_.size(); }

    /// The table as Markdown lines ending in '\n'; '|' inside a cell is escaped as "\|".
    std::string render() const {
        std::vector<std::vector<std::string>> all{escaped(header_)};
        for (const auto& r : rows_) all.push_back(escaped(r));
        std::vector<std::size_t> width(header_.size(), 3);
        for (const auto& r : all)
            for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
        std::string out;
        auto line = [&](const std::vector<std::string>& r) {
            out += "|";
            for (std::size_t c = 0; c < r.size(); ++c) {
                const std::string pad(width[c] - r[c].size(), ' ');
                out += " " + (right_[c] ? pad + r[c] : r[c] + pad) + " |";
            }
            out += "\n";
        };
        line(all[0]);
        out += "|";
        for (std::size_t c = 0; c < width.size(); ++c)
            out += " " + (right_[c] ? std::string(width[c] - 1, '-') + ":" : std::string(width[c], '-')) + " |";
        out += "\n";
        for (std::size_t r = 1; r < all.size(); ++r) line(all[r]);
        return out;
    }

private:
    static std::vector<std::string> escaped(const std::vector<std::string>& cells) {
        std::vector<std::string> out;
        for (const auto& cell : cells) {
            std::string e;
            for (char ch : cell) {
                if (ch == '|') e += '\\';
                e += ch == '\n' ? ' ' : ch;
            }
            out.push_back(e);
        }
        return out;
    }

    std::vector<std::string> header_;
    std::vector<bool> right_;
    std::vector<std::vector<std::string>> rows_;
};

/// `v` with `digits` decimals ("0.831"), or "-" when it is NaN (a value that was not measured) and "inf" /
/// "-inf" when infinite.
inline std::string fixed(double v, int digits = 3) {
    if (std::isnan(v)) return "-";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", digits, v);
    return buf;
}

/// `v` with `digits` significant digits, in scientific notation outside [1e-3, 1e5) ("0.000876" is "8.76e-04"),
/// or "-" when it is NaN.
inline std::string significant(double v, int digits = 3) {
    if (std::isnan(v)) return "-";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    const double a = std::abs(v);
    if (a != 0 && (a < 1e-3 || a >= 1e5))
        std::snprintf(buf, sizeof buf, "%.*e", digits - 1, v);
    else
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

/// A fraction as a percentage with one decimal ("12.3%"), or "-" when it is NaN.
inline std::string percent(double fraction) { return std::isnan(fraction) ? "-" : fixed(100 * fraction, 1) + "%"; }

}  // namespace strata::experiment
