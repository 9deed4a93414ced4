// xtape-gradcheck's command line (CLI11), and the mapping of outcomes to exit statuses.
#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "command_line.hpp"
#include "commands.hpp"
#include "tool_errors.hpp"

namespace xtape::tool {

namespace {

// Options that several subcommands share.
void add_loss_options(CLI::App* app, std::vector<std::string>& options) {
    app->add_option("--opt", options, "a loss option as NAME=VALUE, with Gluon's names (e.g. sparse_label=false)")
        ->allow_extra_args(false)
        ->type_name("NAME=VALUE");
}

void add_inputs(CLI::App* app, std::vector<std::string>& inputs, const char* description) {
    app->add_option("--in", inputs, description)->allow_extra_args(false)->type_name("NAME=FILE");
}

void add_dtype(CLI::App* app, std::string& dtype, const char* description) {
    app->add_option("--dtype", dtype, description)->check(CLI::IsMember({"float64", "float32"}));
}

// One line: messages of the losses are single lines already, but be sure.
std::string one_line(std::string text) {
    std::replace(text.begin(), text.end(), '\n', ' ');
    return text;
}

// `check` is the default subcommand: insert it when the first argument is not
// a subcommand (or a request for help).
std::vector<std::string> arguments_with_default(std::vector<std::string> args) {
    const bool explicit_subcommand =
        !args.empty() && (args[0] == "check" || args[0] == "taylor" || args[0] == "eval" || args[0] == "list" ||
                          args[0] == "graph" || args[0] == "-h" || args[0] == "--help");
    if (!explicit_subcommand) args.insert(args.begin(), "check");
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    return args;
}

}  // namespace

int run_command_line(const std::vector<std::string>& arguments) {
    CLI::App app{
        "Checks xtape's gradients against central differences and by the Taylor test, and evaluates "
        "losses on .npy arrays.",
        "xtape-gradcheck"};
    app.require_subcommand(1, 1);

    CheckCommand check;
    CLI::App* check_app = app.add_subcommand(
        "check",
        "check every loss (or the named ones) over a grid at orders 1 and 2, and a Taylor test per loss (the default)");
    check_app->add_option("loss", check.losses, "loss names or aliases, any case (default: every loss)");
    int order = 1;
    CLI::Option* order_option =
        check_app
            ->add_option("--order", order,
                         "1: gradients; 2: Hessian-vector products (default: both, 1 alone with --dtype float32)")
            ->check(CLI::IsMember({1, 2}));
    add_loss_options(check_app, check.options);
    check_app->add_option("--shape", check.shape, "pred shape, e.g. 4,10 (default: the loss's check shapes)");
    add_inputs(check_app, check.inputs,
               "check at this array, NAME=FILE.npy (one loss; the inputs not given are sampled)");
    std::uint64_t seed = 0;
    CLI::Option* seed_option = check_app->add_option("--seed", seed, "sampling seed (default: 0 and 1)");
    add_dtype(check_app, check.dtype,
              "float64 (the default), or float32 to take the analytic gradients from the float loss");
    check_app->add_option("--eps", check.gradcheck.eps, "central difference step")->check(CLI::PositiveNumber);
    check_app->add_option("--atol", check.gradcheck.atol, "absolute tolerance")->check(CLI::NonNegativeNumber);
    check_app->add_option("--rtol", check.gradcheck.rtol, "relative tolerance")->check(CLI::NonNegativeNumber);
    check_app->add_flag("--fast", check.gradcheck.fast, "compare random directional derivatives only");
    check_app->add_flag("--json", check.json, "print one JSON document instead of the table");
    check_app->add_option("--report", check.report, "also write a self-contained HTML report with plots")
        ->type_name("FILE.html");

    TaylorCommand taylor;
    CLI::App* taylor_app =
        app.add_subcommand("taylor", "the Taylor test of every loss (or the named ones), every step");
    taylor_app->add_option("loss", taylor.losses, "loss names or aliases, any case (default: every loss)");
    taylor_app
        ->add_option("--order", taylor.order,
                     "2 (the default): R0, R1 and R2 from the Hessian-vector product, at steps chosen for R2; 1: R0 "
                     "and R1 at steps chosen for R1, smaller ones that show smaller gradient errors")
        ->check(CLI::IsMember({1, 2}));
    add_loss_options(taylor_app, taylor.options);
    taylor_app->add_option("--shape", taylor.shape, "pred shape, e.g. 4,10 (default: the loss's first check shape)");
    add_inputs(taylor_app, taylor.inputs, "test at this array, NAME=FILE.npy (one loss; the others are sampled)");
    std::uint64_t taylor_seed = 0;
    CLI::Option* taylor_seed_option = taylor_app->add_option(
        "--seed", taylor_seed, "seed of the sampling, the projection and the direction (default 0)");
    taylor_app->add_option("--eps0", taylor.taylor.eps0, "the largest step (default: chosen from the rounding level)")
        ->check(CLI::PositiveNumber);
    taylor_app->add_option("--steps", taylor.taylor.steps, "number of steps, halving each time")
        ->check(CLI::Range(3, 40));
    taylor_app->add_flag("--json", taylor.json, "print one JSON document instead of the tables");

    EvalCommand eval;
    CLI::App* eval_app = app.add_subcommand("eval", "evaluate a loss and its gradients on .npy inputs");
    eval_app->add_option("loss", eval.loss, "loss name or alias")->required();
    add_loss_options(eval_app, eval.options);
    add_dtype(eval_app, eval.dtype, "float64 (the default) or float32: the precision of the evaluation and the files");
    add_inputs(eval_app, eval.inputs, "an input as NAME=FILE.npy (float32/64, int32/64)");
    eval_app->get_option("--in")->required();
    eval_app
        ->add_option("--hvp", eval.directions,
                     "v's block for input NAME, NAME=FILE.npy: also write hvp_NAME.npy, H v for H the Hessian of the "
                     "loss's sum in every differentiable input (other blocks of v zero)")
        ->allow_extra_args(false)
        ->type_name("NAME=FILE");
    eval_app->add_option("--out", eval.out, "directory for loss.npy, grad_NAME.npy and hvp_NAME.npy")->required();

    CLI::App* list_app = app.add_subcommand("list", "list every loss, its inputs, options and defaults");

    GraphCommand graph;
    CLI::App* graph_app = app.add_subcommand("graph", "write the graph a loss records, as Graphviz DOT");
    graph_app->add_option("loss", graph.loss, "loss name or alias")->required();
    add_loss_options(graph_app, graph.options);
    graph_app->add_option("--shape", graph.shape, "pred shape, e.g. 4,10");
    graph_app->add_option("--out", graph.out, "the .dot file to write")->required();
    graph_app->add_flag("--expand", graph.expand,
                        "record the loss as plain primitives, one node per op, rather than as it runs (fused nodes "
                        "drawn as clusters)");

    // The usage help of the subcommand in use, or of the whole tool.
    const auto usage = [&] {
        for (CLI::App* sub : {check_app, taylor_app, eval_app, list_app, graph_app}) {
            if (sub->parsed()) return sub->help();
        }
        return app.help();
    };
    try {
        std::vector<std::string> args = arguments_with_default(arguments);
        app.parse(args);
        if (seed_option->count() > 0) check.seed = seed;
        if (order_option->count() > 0) check.order = order;
        if (taylor_seed_option->count() > 0) taylor.seed = taylor_seed;
        if (check_app->parsed()) return run_check(check);
        if (taylor_app->parsed()) return run_taylor(taylor);
        if (eval_app->parsed()) return run_eval(eval);
        if (list_app->parsed()) return run_list();
        return run_graph(graph);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << "xtape-gradcheck: " << one_line(e.what()) << "\n\n" << usage();
        return exit_usage;
    } catch (const UsageError& e) {
        std::cerr << "xtape-gradcheck: " << one_line(e.what()) << "\n\n" << usage();
        return exit_usage;
    } catch (const DataError& e) {
        std::cerr << "xtape-gradcheck: " << one_line(e.what()) << '\n';
        return exit_data;
    } catch (const std::exception& e) {
        // Anything else (out of memory, a bug) still ends in one line, not a core dump.
        std::cerr << "xtape-gradcheck: internal error: " << one_line(e.what()) << '\n';
        return exit_data;
    }
}

}  // namespace xtape::tool
