//! Enums for the fields whose values come from a fixed list (a goal's status, a participant's
//! role), open to values this build does not know.
//!
//! Another client (a newer tandem, a web app) may write a value that is not in this build's list.
//! Reading keeps such a value as `Unknown(String)` rather than failing or guessing, so the plan
//! still shows and a `--json` export still carries the value as it was stored. Input typed by a
//! person goes through `FromStr`, which accepts only the known values.

/// Defines an open enum: the listed variants, each with its stored name (and any older names a
/// person may still type), plus `Unknown(String)`. It serializes as the stored name, the same
/// lowercase string the document holds.
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $stored:literal $(| $alias:literal)*, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value another client wrote that this build does not know, kept as stored.
            Unknown(String),
        }

        impl $name {
            /// The stored names of the values this build knows, in the order people see them.
            pub const KNOWN: &'static [&'static str] = &[$($stored),+];

            /// The stored form.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $stored, )+
                    Self::Unknown(other) => other,
                }
            }

            /// Read a stored value; reading never fails, since an unknown value is kept as it is.
            pub fn from_stored(stored: &str) -> Self {
                match stored {
                    $( $stored => Self::$variant, )+
                    other => Self::Unknown(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                // `pad` honours width and alignment, so lists can line values up in columns.
                f.pad(self.as_str())
            }
        }

        /// A value typed by a person (or carried in an invite): case and surrounding spaces do
        /// not matter, and only known values are accepted.
        impl std::str::FromStr for $name {
            type Err = crate::Error;
            fn from_str(s: &str) -> crate::Result<Self> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $( $stored $(| $alias)* => Ok(Self::$variant), )+
                    _ => Err(crate::Error::Invalid(format!(
                        "invalid {} '{s}': expected one of {}",
                        $what,
                        Self::KNOWN.join(", ")
                    ))),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let stored = String::deserialize(d)?;
                Ok(Self::from_stored(&stored))
            }
        }
    };
}
