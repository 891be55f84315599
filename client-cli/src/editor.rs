//! Editing long text in the user's editor.

use anyhow::{bail, Context, Result};
use std::io::Write;

/// Open `editor` (the context's editor command; `vi` when there is none) on `text` and return
/// what the user saved.
///
/// The editor command is run through the shell so that values such as `code --wait` work. A
/// trailing newline the editor adds is dropped when the original text had none, so saving without
/// changes really changes nothing.
pub fn edit(editor: Option<&str>, text: &str, what: &str) -> Result<String> {
    let editor = editor.unwrap_or("vi");
    let mut file = tempfile::Builder::new()
        .prefix("tandem-")
        .suffix(".md")
        .tempfile()
        .context("cannot create a temporary file for the editor")?;
    file.write_all(text.as_bytes())?;
    file.flush()?;
    let path = file.path().to_path_buf();
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(&path)
        .status()
        .with_context(|| format!("cannot start the editor '{editor}'"))?;
    if !status.success() {
        bail!("the editor '{editor}' exited with {status}; {what} left unchanged");
    }
    let mut edited = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read back {}", path.display()))?;
    if !text.ends_with('\n') && edited.ends_with('\n') {
        edited.pop();
        if edited.ends_with('\r') {
            edited.pop();
        }
    }
    Ok(edited)
}
