//! Rebuild tandem-server when the web app's built bundle (`web/dist/`) changes: the bundle is
//! embedded at compile time, and a new build adds files with new names, which the compiler
//! alone would not notice.

fn main() {
    println!("cargo:rerun-if-changed=../web/dist");
}
