#pragma once
/// @file
/// strata's exception hierarchy. Every error a user can cause is one of these, with a message that names the
/// offending values.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace strata {

/// Base of every exception strata throws on bad input or misuse.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Tensor shapes that do not fit an operation (the message names both shapes).
class ShapeError : public Error {
public:
    using Error::Error;
};

/// A file or byte stream whose contents are malformed (bad magic, truncation, checksum, version).
class FormatError : public Error {
public:
    using Error::Error;
};

/// A file that cannot be opened, read, written or renamed.
class IoError : public Error {
public:
    using Error::Error;
};

/// A function argument or option outside its domain (a negative stride, an unknown name, ...).
class ArgumentError : public Error {
public:
    using Error::Error;
};

/// Use of an autograd value outside its lifetime (a Var used after its tape was rewound).
class LifetimeError : public Error {
public:
    using Error::Error;
};

/// A non-finite value (NaN or infinity) where anomaly detection or a training loop checks for one.
class NumericError : public Error {
public:
    using Error::Error;
};

namespace detail {

/// Concatenates its arguments with operator<< into a string.
template <class... Args>
std::string concat(Args&&... args) {
    std::ostringstream out;
    (out << ... << std::forward<Args>(args));
    return out.str();
}

}  // namespace detail

/// Throws `E` with a message built from `args` unless `condition` holds.
/// @throws E (any of the types above) with the concatenated message when `condition` is false.
template <class E = Error, class... Args>
inline void check(bool condition, Args&&... args) {
    if (!condition) throw E(detail::concat(std::forward<Args>(args)...));
}

}  // namespace strata
