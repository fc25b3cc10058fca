#pragma once
/// @file
/// strata's exception hierarchy. Every error a user can cause is one of these, with a message that names the
/// offending values. The kinds derive virtually from Error, so that an error of two kinds (CheckpointMismatch is
/// both a ShapeError and a FormatError) is still caught, unambiguously, as an Error or a std::runtime_error.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace strata {

/// Base of every exception strata throws on bad input or misuse.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Tensor shapes that do not fit an operation (the message names both shapes).
class ShapeError : public virtual Error {
public:
    using Error::Error;
};

/// A file or byte stream whose contents are malformed (bad magic, truncation, checksum, version).
class FormatError : public virtual Error {
public:
    using Error::Error;
};

/// A file that cannot be opened, read, written or renamed.
class IoError : public virtual Error {
public:
    using Error::Error;
};

/// A function argument or option outside its domain (a negative stride, an unknown name, ...).
class ArgumentError : public virtual Error {
public:
    using Error::Error;
};

/// Use of an autograd value outside its lifetime (a Var used after its tape was rewound).
class LifetimeError : public virtual Error {
public:
    using Error::Error;
};

/// A non-finite value (NaN or infinity) where anomaly detection or a training loop checks for one.
class NumericError : public virtual Error {
public:
    using Error::Error;
};

/// A checkpoint (or npz file) that does not match the model or tensors it is loaded into: entries missing,
/// unexpected, or of another shape or dtype. Thrown by io::Checkpoint::load_into and everything built on it,
/// whatever the mix of problems. The message starts with the counts, then lists one problem per line (the first
/// 10 of each kind, then "... and N more"). It is both a FormatError and a ShapeError, so catch sites written for
/// either keep working. The lists hold the targets' names without the section prefix ("fc.weight").
class CheckpointMismatch : public ShapeError, public FormatError {
public:
    CheckpointMismatch(const std::string& message, std::vector<std::string> missing,
                       std::vector<std::string> unexpected, std::vector<std::string> shape_mismatched,
                       std::vector<std::string> dtype_mismatched)
        : Error(message),
          ShapeError(message),
          FormatError(message),
          missing_(std::move(missing)),
          unexpected_(std::move(unexpected)),
          shape_mismatched_(std::move(shape_mismatched)),
          dtype_mismatched_(std::move(dtype_mismatched)) {}

    /// Names the model has but the file lacks.
    const std::vector<std::string>& missing() const { return missing_; }
    /// Names the file has (under the section loaded) but the model lacks.
    const std::vector<std::string>& unexpected() const { return unexpected_; }
    /// Names present in both with different shapes.
    const std::vector<std::string>& shape_mismatched() const { return shape_mismatched_; }
    /// Names present in both with different element types.
    const std::vector<std::string>& dtype_mismatched() const { return dtype_mismatched_; }

private:
    std::vector<std::string> missing_, unexpected_, shape_mismatched_, dtype_mismatched_;
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
