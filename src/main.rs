fn main() {
    std::process::exit(courier::main_with_args(std::env::args_os()));
}
