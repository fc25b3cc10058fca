#pragma once
/// @file
/// add_config_options: registers every TrainConfig field as an option of train_mnist's CLI11 command line,
/// generated from the table STRATA_TRAIN_CONFIG_FIELDS (config.hpp): the names ("--" + key and the short form),
/// the help text, the default --help shows, the CLI11 check, and how the value is given (--key VALUE, a flag,
/// on|off, or a comma-separated list). The options write straight into the TrainConfig.

#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>

#include "config.hpp"

namespace strata::train {

namespace detail {

/// "-d,--data" for the short name "-d" and the key "data"; "--lr" for a field without a short name.
inline std::string cli_names(const ConfigField& f) {
    const std::string short_name = f.short_name;
    return (short_name.empty() ? "" : short_name + ",") + "--" + f.key;
}

/// The --help text of `f`: the table's, after "on | off: " for an on|off option and before ". Default: the
/// model's recipe (below)" for an option the recipe sets.
inline std::string cli_help(const ConfigField& f) {
    std::string help = f.help;
    if (f.form == CliForm::on_off) help = "on | off: " + help;
    if (f.cli_default == CliDefault::recipe) help += ". Default: the model's recipe (below)";
    return help;
}

/// Adds `check` to `opt` unless it is the empty CLI::Validator() (the table's "no check").
inline void add_check(CLI::Option* opt, const CLI::Validator& check) {
    if (!check.get_name().empty() || !check.get_description().empty()) opt->check(check);
}

/// Registers the field `f` (stored in `member`) as the CliForm `Form`.
template <CliForm Form, class T>
CLI::Option* add_config_option(CLI::App& app, const ConfigField& f, T& member, const CLI::Validator& check) {
    const std::string names = cli_names(f), help = cli_help(f);
    CLI::Option* opt = nullptr;
    if constexpr (Form == CliForm::flag) {
        static_assert(std::is_same_v<T, bool>, "a flag field must be a bool");
        return app.add_flag(names, member, help);
    } else if constexpr (Form == CliForm::on_off) {
        static_assert(std::is_same_v<T, bool>, "an on|off field must be a bool");
        opt = app.add_option_function<std::string>(
            names, [&member](const std::string& v) { member = v == "on"; }, help);
        if (f.cli_default == CliDefault::shown) opt->default_str(format_value(member));
        opt->check(CLI::IsMember({"on", "off"}));
    } else if constexpr (Form == CliForm::list) {
        static_assert(std::is_same_v<T, std::vector<index_t>>, "a list field must be a std::vector<index_t>");
        opt = app.add_option(names, member, help)->delimiter(',');
        add_check(opt, check);
        opt->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    } else {
        static_assert(!std::is_same_v<T, bool>, "a bool field is a flag or on|off");
        opt = app.add_option(names, member, help);
        if (f.cli_default == CliDefault::shown) opt->capture_default_str();
        add_check(opt, check);
    }
    return opt;
}

}  // namespace detail

/// Registers every field of `cfg` as an option of `app`, in the table's order, calling `after_each(key)` after
/// each one (so that a program can place its own options among them in --help). The options store into `cfg`,
/// which must outlive the parse.
template <class AfterEach>
void add_config_options(CLI::App& app, TrainConfig& cfg, AfterEach&& after_each) {
    const std::vector<ConfigField>& fields = config_fields();
    std::size_t i = 0;
#define STRATA_X(type, member, default_value, key, short_name, rule, presence, form, shown, check, help) \
    detail::add_config_option<CliForm::form>(app, fields[i++], cfg.member, check);                       \
    after_each(std::string(key));
    STRATA_TRAIN_CONFIG_FIELDS(STRATA_X)
#undef STRATA_X
}

/// Registers every field of `cfg` as an option of `app`; see the overload above.
inline void add_config_options(CLI::App& app, TrainConfig& cfg) {
    add_config_options(app, cfg, [](const std::string&) {});
}

}  // namespace strata::train
