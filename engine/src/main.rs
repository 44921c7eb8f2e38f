fn main() -> std::process::ExitCode {
    entra_onboard::cli::main()
}
