#pragma once
// Helpers of the tests of the train_mnist configuration: a value other than a field's given one, for every type a
// TrainConfig field has, so that the tests can change each field of config.hpp's table without naming it.

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "config.hpp"

namespace strata::test {

/// A value other than `v` of its type: strings get a suffix, booleans flip, doubles move to an inexact value
/// in (0, 1] for the defaults (every CLI range accepts it), integers grow by 3, lists gain two epochs.
inline std::string other_value(const std::string& v) { return v + "~x"; }
inline bool other_value(bool v) { return !v; }
inline double other_value(double v) { return v / 3 + 0.0625; }
template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
T other_value(T v) {
    return static_cast<T>(v + 3);
}
inline std::vector<index_t> other_value(std::vector<index_t> v) {
    v.push_back(2);
    v.push_back(7);
    return v;
}

/// The number of members of the aggregate T (counted by brace-initialising it from ever more convertible
/// placeholders): independent of the table, so a member added to TrainConfig by hand shows up.
struct AnyMember {
    template <class T>
    operator T() const;  // declared only: used in unevaluated contexts
};
template <class T, class... Args>
auto brace_init(int) -> decltype(void(T{std::declval<Args>()...}), std::true_type{});
template <class T, class... Args>
std::false_type brace_init(...);
template <class T, std::size_t... I>
constexpr bool brace_init_with(std::index_sequence<I...>) {
    return decltype(brace_init<T, decltype((void)I, AnyMember{})...>(0))::value;
}
template <class T, std::size_t N = 0>
constexpr std::size_t aggregate_member_count() {
    if constexpr (brace_init_with<T>(std::make_index_sequence<N + 1>{}))
        return aggregate_member_count<T, N + 1>();
    else
        return N;
}

}  // namespace strata::test
