//! API tokens, for scripts and agents: `kmviz_<id>_<secret>`, sent as
//! `Authorization: Bearer …`. The id is public: it names the token in lists and owns the
//! sessions it makes. The store keeps only the SHA-256 of the secret, so a copy of the store
//! gives no token away; the secret has 256 random bits, so a fast hash is enough.

use sha2::{Digest, Sha256};

const PREFIX: &str = "kmviz_";

/// A token as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub id: String,
    /// What the operator called it (`kmviz token create NAME`).
    pub name: String,
    /// Seconds since the Unix epoch.
    pub created: u64,
    /// The secret's SHA-256, in hex.
    pub secret_hash: String,
}

impl Token {
    /// A new token named `name`: the text to give its user (shown once), and what to store.
    pub fn mint(name: &str, created: u64) -> (String, Token) {
        let (id, secret) = (crate::random_hex(6), crate::random_hex(32));
        let token = Token {
            name: name.to_owned(),
            created,
            secret_hash: hash(&secret),
            id: id.clone(),
        };
        (format!("{PREFIX}{id}_{secret}"), token)
    }

    /// Whether `secret` is this token's.
    pub fn opens_with(&self, secret: &str) -> bool {
        crate::api::auth::same_bytes(hash(secret).as_bytes(), self.secret_hash.as_bytes())
    }
}

/// The id and secret of a token's text, if it has a token's shape.
pub fn parse(text: &str) -> Option<(&str, &str)> {
    let (id, secret) = text.strip_prefix(PREFIX)?.split_once('_')?;
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(id) && hex(secret)).then_some((id, secret))
}

fn hash(secret: &str) -> String {
    crate::hex(&Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minted_token_opens_with_its_own_secret_only() {
        let (text, token) = Token::mint("ci", 1);
        let (id, secret) = parse(&text).expect("a token's shape");
        assert_eq!(id, token.id);
        assert!(token.opens_with(secret));
        assert!(!token.opens_with(&secret.replace(&secret[..1], "x")));
        assert!(
            !text.contains(&token.secret_hash),
            "the hash is not the secret"
        );
        let (other, _) = Token::mint("ci", 1);
        assert_ne!(text, other);
        assert_eq!(parse("kmviz_zz_12"), None);
        assert_eq!(parse("bearer-of-nothing"), None);
    }
}
