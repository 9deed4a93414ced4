// The bench's smoke test: runs `xtape-bench --quick --json` and checks that the
// JSON parses, has a row for every case of every loss of the registry, for the
// Hessian-vector product of every large case and of CTC's cases, and for every
// training step, with each step's parts, and that xtape and torch (when built)
// computed the same losses, gradients and Hessian-vector products.
#include <cstdio>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "xtape/losses/registry.hpp"

namespace {

std::string run_command(const std::string& command) {
    std::FILE* pipe = popen(command.c_str(), "r");
    if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
    std::string out;
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) out.append(buffer, n);
    if (pclose(pipe) != 0) throw std::runtime_error(command + " failed");
    return out;
}

/// Every problem found in the report, one per line; empty when it is complete.
std::string problems(const nlohmann::json& report) {
    std::string out;
    if (!report.at("threads").is_number_integer()) out += "threads is not an integer\n";
    if (!(report.at("kernels").is_string() && !report.at("kernels").get<std::string>().empty())) {
        out += "kernels is not an instruction set's name\n";
    }
    if (!(report.at("tape_overhead_ns").is_number() && report.at("tape_overhead_ns").get<double>() > 0)) {
        out += "tape_overhead_ns is not a positive number\n";
    }
    if (!(report.at("clock_overhead_ns").is_number() && report.at("clock_overhead_ns").get<double>() >= 0)) {
        out += "clock_overhead_ns is not a number >= 0\n";
    }
    if (!(report.at("malloc") == "tuned" || report.at("malloc") == "default")) {
        out += "malloc is not tuned or default\n";
    }
    const bool with_torch = !report.at("torch").is_null();
    std::set<std::string> seen;
    for (const auto& row : report.at("rows")) {
        const auto name = row.at("case").get<std::string>();
        seen.insert(name);
        if (row.at("dtype") != "float32") out += name + ": dtype is not float32\n";
        if (!(row.at("xtape_us").is_number() && row.at("xtape_us").get<double>() > 0)) {
            out += name + ": xtape_us is not a positive number\n";
        }
        // The peers must compute the same loss: float32 rounding apart, the same sums.
        if (row.at("disagreement").is_number() && !(row.at("disagreement").get<double>() <= 1e-3)) {
            out += fmt::format("{}: xtape and torch disagree by {}\n", name, row.at("disagreement").dump());
        }
        for (const char* field : {"torch_us", "ratio", "disagreement"}) {
            if (row.at(field).is_number() != with_torch) out += fmt::format("{}: {} does not match the peer\n", name, field);
        }
        if (with_torch && !(row.at("torch_us").get<double>() > 0)) out += name + ": torch_us is not positive\n";
        // A training step has its parts, each with times as the whole step has; a loss has none.
        const bool step = name.starts_with("train/");
        const auto& phases = row.at("phases");
        if (phases.is_null() == step) out += fmt::format("{}: phases are given for exactly the training steps\n", name);
        if (step && phases.is_object()) {
            for (const char* part : {"forward", "backward", "optimizer"}) {
                const auto& times = phases.value(part, nlohmann::json());
                if (!(times.is_object() && times.value("xtape_us", nlohmann::json()).is_number() &&
                      times.at("xtape_us").get<double>() > 0)) {
                    out += fmt::format("{}: {}'s xtape_us is not a positive number\n", name, part);
                    continue;
                }
                for (const char* field : {"torch_us", "ratio"}) {
                    if (times.value(field, nlohmann::json()).is_number() != with_torch) {
                        out += fmt::format("{}: {}'s {} does not match the peer\n", name, part, field);
                    }
                }
                if (with_torch && times.at("torch_us").is_number() && !(times.at("torch_us").get<double>() > 0)) {
                    out += fmt::format("{}: {}'s torch_us is not positive\n", name, part);
                }
            }
        }
        // A Hessian-vector product has xtape's gradient time beside it, and torch's method.
        const bool hvp = name.ends_with("/hvp");
        const auto& hvp_times = row.at("hvp");
        if (hvp_times.is_null() == hvp) out += fmt::format("{}: hvp is given for exactly the /hvp rows\n", name);
        if (hvp && hvp_times.is_object()) {
            for (const char* field : {"xtape_gradient_us", "over_gradient"}) {
                const auto& value = hvp_times.value(field, nlohmann::json());
                if (!(value.is_number() && value.get<double>() > 0)) {
                    out += fmt::format("{}: hvp's {} is not a positive number\n", name, field);
                }
            }
            // torch cannot differentiate its CTC's backward (pytorch issue 70108).
            const char* method = name.starts_with("CTCLoss/") ? "central difference" : "double backward";
            const auto& torch_method = hvp_times.value("torch_method", nlohmann::json());
            if (with_torch ? torch_method != method : !torch_method.is_null()) {
                out += fmt::format("{}: hvp's torch_method is {}, not {}\n", name, torch_method.dump(),
                                   with_torch ? method : "null");
            }
        }
        const bool large = name.ends_with("/large") && !name.starts_with("CTCLoss");
        for (const char* field : {"bound_us", "bandwidth_gb_s"}) {
            if (row.at(field).is_number() != large) {
                out += fmt::format("{}: {} is set for exactly the large cases\n", name, field);
            }
        }
    }
    for (const auto& loss : xtape::loss_registry()) {
        for (const char* size : {"small", "large"}) {
            const std::string name = fmt::format("{}/{}", loss.name, size);
            if (!seen.contains(name)) out += "missing case " + name + "\n";
        }
        std::vector<std::string> products{fmt::format("{}/large/hvp", loss.name)};
        if (loss.name == "CTCLoss") products.push_back("CTCLoss/small/hvp");
        for (const auto& name : products) {
            if (!seen.contains(name)) out += "missing Hessian-vector product " + name + "\n";
        }
    }
    for (const char* name : {"train/digits", "train/tiny", "train/wide"}) {
        if (!seen.contains(name)) out += fmt::format("missing training step {}\n", name);
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: check-bench-json <path to xtape-bench>\n";
        return 2;
    }
    try {
        const std::string json = run_command(fmt::format("'{}' --quick --json", argv[1]));
        const std::string found = problems(nlohmann::json::parse(json));
        if (!found.empty()) {
            std::cerr << found << "in:\n" << json;
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "check-bench-json: " << e.what() << "\n";
        return 1;
    }
}
