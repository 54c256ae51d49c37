//! `capstone`: one binary, one role per subcommand. See `capstone --help`.

fn main() -> std::process::ExitCode {
    capstone::cli::main()
}
