//! The `postclone` binary: everything happens in `postclone::cli`.

fn main() {
    #[allow(clippy::exit)]
    std::process::exit(postclone::cli::main());
}
