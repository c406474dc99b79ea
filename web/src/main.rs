//! The trunk entry point: everything lives in the library so tests can reach it.

fn main() {
    olive_web::start();
}
