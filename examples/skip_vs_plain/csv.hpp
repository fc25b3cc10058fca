#pragma once
/// @file
/// Minimal CSV for experiment records (RFC 4180 quoting): CsvWriter appends rows to a file with a fixed header;
/// read_csv/parse_csv read one back (for checks and tests). Numbers are written with 9 significant digits, so a
/// float survives the round trip; non-finite values are written as nan, inf and -inf.

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "strata/core/error.hpp"

namespace strata::experiment {

/// `field` as one CSV field: quoted (with inner quotes doubled) when it holds a comma, quote, CR or LF.
inline std::string csv_escape(const std::string& field) {
    if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
    std::string out = "\"";
    for (char c : field) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

/// `v` as a CSV number: shortest of %.9g, or nan / inf / -inf.
inline std::string csv_number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.9g", v);
    return buf;
}

namespace detail {
inline std::string csv_field(const std::string& s) { return s; }
inline std::string csv_field(const char* s) { return s; }
template <class V, class = std::enable_if_t<std::is_arithmetic_v<V>>>
std::string csv_field(V v) {
    if constexpr (std::is_integral_v<V>)
        return std::to_string(v);
    else
        return csv_number(static_cast<double>(v));
}
}  // namespace detail

/// Writes a CSV file row by row: the header on construction, then rows of exactly as many fields.
class CsvWriter {
public:
    /// Creates (truncates) `path` and writes `header`. Throws IoError when the file cannot be opened,
    /// ArgumentError on an empty header.
    /// @throws ArgumentError on an empty header; IoError when the file cannot be opened or written.
    CsvWriter(const std::string& path, std::vector<std::string> header) : path_(path), columns_(header.size()) {
        check<ArgumentError>(!header.empty(), "CsvWriter: '", path, "' needs at least one column");
        out_.open(path, std::ios::binary | std::ios::trunc);
        check<IoError>(out_.is_open(), "CsvWriter: cannot open '", path, "' for writing");
        write_fields(header);
    }

    /// Appends one row of already formatted fields (escaped here). Throws ArgumentError when the number of
    /// fields differs from the header's, IoError when the write fails.
    /// @throws ArgumentError when the field count differs from the header's; IoError when writing fails.
    void write_fields(const std::vector<std::string>& fields) {
        check<ArgumentError>(fields.size() == columns_, "CsvWriter: row of ", fields.size(), " fields for the ",
                             columns_, " columns of '", path_, "'");
        for (std::size_t i = 0; i < fields.size(); ++i) out_ << (i ? "," : "") << csv_escape(fields[i]);
        out_ << '\n';
        check<IoError>(out_.good(), "CsvWriter: writing '", path_, "' failed");
        ++rows_;
    }

    /// Appends one row: strings are escaped, integers written exactly, floating-point values with csv_number.
    /// Throws as write_fields does.
    /// @throws ArgumentError when the field count differs from the header's; IoError when writing fails.
    template <class... Fields>
    void row(const Fields&... fields) {
        write_fields(std::vector<std::string>{detail::csv_field(fields)...});
    }

    /// Flushes to disk; throws IoError on failure.
    /// @throws IoError when flushing fails, naming the file.
    void flush() {
        out_.flush();
        check<IoError>(out_.good(), "CsvWriter: flushing '", path_, "' failed");
    }
    /// Data rows written so far (the header not counted).
    std::size_t rows() const { return rows_ - 1; }
    /// The file being written.
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::size_t columns_;
    std::size_t rows_ = 0;
    std::ofstream out_;
};

/// A CSV file read back: the header and the data rows, every row as wide as the header.
struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;

    /// Index of column `name`; throws ArgumentError naming the columns when there is none.
    /// @throws ArgumentError when there is no such column, listing the columns.
    std::size_t column(const std::string& name) const {
        for (std::size_t i = 0; i < header.size(); ++i)
            if (header[i] == name) return i;
        std::string all;
        for (const auto& h : header) all += (all.empty() ? "" : ", ") + h;
        throw ArgumentError("CsvTable: no column '" + name + "' (columns: " + all + ")");
    }
    /// The field of row `r` in column `name` parsed as a number (nan/inf accepted). Throws FormatError when
    /// it is not a number, ArgumentError on an unknown column or a row out of range.
    /// @throws ArgumentError for a row or column out of range; FormatError when the field is not a number.
    double number(std::size_t r, const std::string& name) const {
        check<ArgumentError>(r < rows.size(), "CsvTable: row ", r, " of ", rows.size());
        const std::string& f = rows[r][column(name)];
        std::size_t used = 0;
        double v = 0;
        try {
            v = std::stod(f, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        check<FormatError>(!f.empty() && used == f.size(), "CsvTable: row ", r + 1, " column '", name,
                           "' holds '", f, "', not a number");
        return v;
    }
};

/// Parses CSV text (quoted fields may hold commas, doubled quotes and newlines; a final newline is optional).
/// Throws FormatError naming the line on an unterminated quote, a stray quote, or a row whose width differs
/// from the header's; on empty text.
/// @throws FormatError naming the line on a quoting error, a missing header or a row of another width.
inline CsvTable parse_csv(const std::string& text) {
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    std::string field;
    bool quoted = false, was_quoted = false;
    std::size_t line = 1;
    auto end_field = [&] {
        row.push_back(field);
        field.clear();
        was_quoted = false;
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
                field += '"';
                ++i;
            } else if (c == '"') {
                quoted = false;
            } else {
                if (c == '\n') ++line;
                field += c;
            }
        } else if (c == '"') {
            check<FormatError>(field.empty() && !was_quoted, "parse_csv: stray quote on line ", line);
            quoted = was_quoted = true;
        } else if (c == ',') {
            end_field();
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
            end_field();
            rows.push_back(std::move(row));
            row.clear();
            ++line;
        } else {
            check<FormatError>(!was_quoted, "parse_csv: text after a closing quote on line ", line);
            field += c;
        }
    }
    check<FormatError>(!quoted, "parse_csv: unterminated quoted field starting before line ", line);
    if (!field.empty() || !row.empty() || was_quoted) {
        end_field();
        rows.push_back(std::move(row));
    }
    check<FormatError>(!rows.empty(), "parse_csv: no header line");
    CsvTable table;
    table.header = std::move(rows.front());
    for (std::size_t r = 1; r < rows.size(); ++r) {
        check<FormatError>(rows[r].size() == table.header.size(), "parse_csv: line ", r + 1, " has ",
                           rows[r].size(), " fields but the header has ", table.header.size());
        table.rows.push_back(std::move(rows[r]));
    }
    return table;
}

/// Reads and parses the CSV file at `path`. Throws IoError when it cannot be read, FormatError (prefixed with
/// the path) as parse_csv does.
/// @throws IoError when the file cannot be read; FormatError (prefixed with the path) as parse_csv.
inline CsvTable read_csv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    check<IoError>(in.is_open(), "read_csv: cannot open '", path, "'");
    std::ostringstream text;
    text << in.rdbuf();
    try {
        return parse_csv(text.str());
    } catch (const FormatError& e) {
        throw FormatError("'" + path + "': " + e.what());
    }
}

}  // namespace strata::experiment
