#pragma once
/// @file
/// The instruction sets strata's compute kernels are compiled for, which of them the CPU running the program
/// supports, and which one the kernels use. Each kernel is compiled once per instruction set with
/// `__attribute__((target(...)))` (so a program built without `-march` flags still runs AVX-512 or AVX2+FMA
/// code on a CPU that has it) and chosen at run time: the best one the CPU supports, unless the environment
/// variable `STRATA_ISA` (`avx512`, `avx2` or `generic`, read once, at the first kernel call) or set_isa()
/// asks for another.

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "strata/core/error.hpp"

/// Defined to 1 when this compiler can build strata's per-instruction-set x86-64 kernels (GCC or Clang on
/// x86-64); otherwise only the portable Eigen kernels exist and every ISA query answers Isa::generic.
#if !defined(STRATA_X86_KERNELS)
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(STRATA_NO_ISA_DISPATCH)
#define STRATA_X86_KERNELS 1
#else
#define STRATA_X86_KERNELS 0
#endif
#endif

#if STRATA_X86_KERNELS
/// The function attribute compiling a function for strata's AVX-512 kernels (whatever the program's flags).
#define STRATA_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512dq,avx512bw,avx2,fma,bmi,bmi2,popcnt,f16c")))
/// The function attribute compiling a function for strata's AVX2+FMA kernels.
#define STRATA_TARGET_AVX2 __attribute__((target("avx2,fma,bmi,bmi2,popcnt,f16c")))
#endif

namespace strata {

/// A family of compute kernels, one per instruction set, from the most portable to the fastest.
enum class Isa : int {
    generic = 0,  ///< Eigen's kernels, vectorised for whatever the program was compiled for (SSE2 by default)
    avx2 = 1,     ///< strata's kernels for AVX2 + FMA (Intel Haswell, AMD Zen and later)
    avx512 = 2,   ///< strata's kernels for AVX-512 F/VL/DQ/BW (Intel Skylake-SP, AMD Zen 4 and later)
};

/// The lower-case name of `isa` ("generic", "avx2", "avx512"). Does not throw.
inline const char* isa_name(Isa isa) noexcept {
    switch (isa) {
        case Isa::avx2: return "avx2";
        case Isa::avx512: return "avx512";
        default: return "generic";
    }
}

/// Whether the CPU running the program (and its operating system, which must save the wider registers)
/// supports the kernels of `isa`. Isa::generic is always supported. Does not throw.
inline bool cpu_supports(Isa isa) noexcept {
#if STRATA_X86_KERNELS
    switch (isa) {
        case Isa::generic: return true;
        case Isa::avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        case Isa::avx512:
            return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                   __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
                   cpu_supports(Isa::avx2);
    }
    return false;
#else
    return isa == Isa::generic;
#endif
}

/// The fastest kernel family this CPU supports. Does not throw.
inline Isa best_cpu_isa() noexcept {
    if (cpu_supports(Isa::avx512)) return Isa::avx512;
    if (cpu_supports(Isa::avx2)) return Isa::avx2;
    return Isa::generic;
}

/// Parses "avx512", "avx2" or "generic" (as in `STRATA_ISA`).
/// @throws ArgumentError naming the text when it is none of these.
inline Isa parse_isa(const std::string& text) {
    if (text == "avx512") return Isa::avx512;
    if (text == "avx2") return Isa::avx2;
    if (text == "generic") return Isa::generic;
    throw ArgumentError("unknown instruction set '" + text + "' (expected avx512, avx2 or generic)");
}

namespace detail {

/// The ISA named by the environment variable STRATA_ISA, capped at what the CPU supports, or the CPU's best
/// when it is unset or empty. An unknown name is reported on stderr once and ignored (an environment
/// variable cannot throw usefully from the first kernel call). Does not throw.
inline Isa isa_from_environment() noexcept {
    const char* env = std::getenv("STRATA_ISA");
    const Isa best = best_cpu_isa();
    if (env == nullptr || *env == '\0') return best;
    Isa wanted = best;
    if (std::strcmp(env, "avx512") == 0) wanted = Isa::avx512;
    else if (std::strcmp(env, "avx2") == 0) wanted = Isa::avx2;
    else if (std::strcmp(env, "generic") == 0) wanted = Isa::generic;
    else std::fputs("strata: ignoring STRATA_ISA (expected avx512, avx2 or generic)\n", stderr);
    return static_cast<int>(wanted) < static_cast<int>(best) ? wanted : best;
}

/// The active ISA, -1 until first read. One per program (an inline variable).
inline std::atomic<int> active_isa_slot{-1};

}  // namespace detail

/// The kernel family strata's compute kernels use now: set_isa()'s choice, else STRATA_ISA's (capped at what
/// the CPU supports), else best_cpu_isa(). Cheap (one relaxed atomic load after the first call). Does not throw.
inline Isa active_isa() noexcept {
    int isa = detail::active_isa_slot.load(std::memory_order_relaxed);
    if (isa < 0) {
        isa = static_cast<int>(detail::isa_from_environment());
        int expected = -1;
        if (!detail::active_isa_slot.compare_exchange_strong(expected, isa, std::memory_order_relaxed)) isa = expected;
    }
    return static_cast<Isa>(isa);
}

/// Makes the compute kernels use `isa` from now on (e.g. to measure the AVX2 kernels on an AVX-512 CPU, or
/// to compare against the portable kernels). Call it between steps, not while ops run on other threads.
/// Returns the previous choice.
/// @throws ArgumentError naming `isa` when this CPU (or this compiler's build) does not support it.
inline Isa set_isa(Isa isa) {
    check<ArgumentError>(cpu_supports(isa), "set_isa: this CPU does not support the ", isa_name(isa),
                         " kernels (best available: ", isa_name(best_cpu_isa()), ")");
    const Isa previous = active_isa();
    detail::active_isa_slot.store(static_cast<int>(isa), std::memory_order_relaxed);
    return previous;
}

namespace detail {

#if STRATA_X86_KERNELS
/// body() with everything it calls inlined (`flatten`) and compiled for AVX-512: a plain loop in `body` is
/// vectorised with 512-bit registers and FMA by the compiler, whatever flags the program is built with.
template <class Body>
STRATA_TARGET_AVX512 __attribute__((flatten)) void run_compiled_for_avx512(Body& body) {
    body();
}

/// body() inlined and compiled for AVX2+FMA.
template <class Body>
STRATA_TARGET_AVX2 __attribute__((flatten)) void run_compiled_for_avx2(Body& body) {
    body();
}
#endif

/// Runs `body()` (a callable taking nothing, typically a lambda holding a plain elementwise loop over raw
/// pointers) compiled for the active ISA: the lambda is inlined into a copy of a small function per ISA
/// that carries the target attribute, so the compiler vectorises the loop for AVX-512 or AVX2+FMA even in a
/// program built for baseline x86-64, and for the program's own flags on Isa::generic. Write the loop on
/// raw pointers and arithmetic, not Eigen expressions (Eigen picks its packet size from the program's
/// flags, not from the function's target). Results may differ in the last bit between ISAs (FMA
/// contraction). Body must not throw. Put the loop in a function that takes its pointers as parameters and
/// call that from the lambda: a loop written inside a lambda that captures its pointers by reference reloads
/// them through the closure after every store and stays scalar (relu's backward did, at 1/15 of the speed).
template <class Body>
void run_for_active_isa(Body&& body) {
#if STRATA_X86_KERNELS
    switch (active_isa()) {
        case Isa::avx512: run_compiled_for_avx512(body); return;
        case Isa::avx2: run_compiled_for_avx2(body); return;
        default: break;
    }
#endif
    body();
}

}  // namespace detail

}  // namespace strata
