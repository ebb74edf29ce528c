//! The configuration file, checked before figment reads it.
//!
//! figment treats a file it cannot find as empty and reports a directory or a
//! syntax error as one long message, so a `--config` that points at the wrong thing
//! could start the server on its defaults. Here every way a file can be wrong is an
//! error of its own, and a syntax error says where it is, as `path:line:column`,
//! the form editors and terminals jump to.

use std::io::ErrorKind;
use std::path::Path;

use super::ConfigError;

/// Whether `path` can be used: an existing, readable file of valid TOML.
pub(super) fn check(path: &Path) -> Result<(), ConfigError> {
    let unreadable = |reason: String| ConfigError::UnreadableFile {
        path: path.to_owned(),
        reason,
    };
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        ErrorKind::NotFound => ConfigError::MissingFile(path.to_owned()),
        _ => unreadable(error.to_string()),
    })?;
    if metadata.is_dir() {
        return Err(ConfigError::NotAFile(path.to_owned()));
    }
    let text = std::fs::read_to_string(path).map_err(|error| match error.kind() {
        ErrorKind::InvalidData => unreadable("it is not UTF-8 text".to_owned()),
        _ => unreadable(error.to_string()),
    })?;
    match toml::from_str::<toml::Table>(&text) {
        Ok(_) => Ok(()),
        Err(error) => {
            let (line, column) = error
                .span()
                .map_or((1, 1), |span| line_and_column(&text, span.start));
            Err(ConfigError::Syntax {
                path: path.to_owned(),
                line,
                column,
                // toml's message can span lines ("invalid string\nexpected `\"`");
                // the error stays one line. The offending line itself is not
                // quoted: it may hold a token.
                message: error.message().trim().replace('\n', "; "),
            })
        }
    }
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_lines_and_characters_from_one() {
        let text = "a = 1\n[sérver]\nlisten x";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(line_and_column(text, x), (3, 8));
        assert_eq!(line_and_column(text, text.len() + 5), (3, 9));
        // "é" is two bytes but one column.
        let r = text.find("rver").unwrap();
        assert_eq!(line_and_column(text, r), (2, 4));
    }
}
